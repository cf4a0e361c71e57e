using SpineProd.Scheduler;

namespace SpineProd.Tests.Infrastructure;

/// <summary>
/// A `git clone` of this repository into a temporary folder outside it, checked out at the working
/// tree's state (uncommitted edits of tracked files included, via `git stash create`): what a new
/// user has before the first build, with no obj/, artifacts/ or jobs/.
/// </summary>
public static class FreshClone
{
    public static string Create(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"spineprod-{name}-{Guid.NewGuid():N}"[..40]);
        Git(Repo.Root, "clone", "--quiet", "--shared", "--no-checkout", Repo.Root, dir);
        var state = Git(Repo.Root, "stash", "create").Trim();
        Git(dir, "checkout", "--quiet", state.Length > 0 ? state : Git(Repo.Root, "rev-parse", "HEAD").Trim());
        return dir;
    }

    private static string Git(string cwd, params string[] args)
    {
        var r = ProcessRunner.Instance.Run("git", args, TimeSpan.FromMinutes(2), cwd);
        if (!r.Succeeded) throw new InvalidOperationException($"git {string.Join(' ', args)}: {r.Message}");
        return r.Stdout;
    }
}
