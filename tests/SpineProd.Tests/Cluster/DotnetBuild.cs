using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;

namespace SpineProd.Tests.Cluster;

/// <summary>
/// `dotnet build x.spineproj -t:... -p:...` as a user runs it, in a child process: the cluster tests
/// then run beside the in-process builds of the "msbuild" collection without sharing BuildManager.
/// </summary>
public static class DotnetBuild
{
    public sealed record Result(int ExitCode, string Output)
    {
        public bool Succeeded => ExitCode == 0;
    }

    /// <param name="environment">Extra variables of the build process (e.g. a PATH with a scheduler's commands).</param>
    public static Result Run(string projectFile, string target, IDictionary<string, string>? properties = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var args = new List<string> { "build", projectFile, $"-t:{target}", "-nologo", "-v:n", "-clp:NoSummary" };
        foreach (var (k, v) in properties ?? new Dictionary<string, string>()) args.Add($"-p:{k}={v}");
        var env = new Dictionary<string, string?>
        {
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            // a test host may run under SLURM itself; the job scripts must not inherit its ids
            ["SLURM_JOB_ID"] = null, ["SLURM_ARRAY_TASK_ID"] = null, ["SLURM_ARRAY_JOB_ID"] = null,
        };
        foreach (var (k, v) in environment ?? new Dictionary<string, string?>()) env[k] = v;
        var r = ProcessRunner.Instance.Run("dotnet", args, timeout ?? TimeSpan.FromMinutes(3), Path.GetDirectoryName(projectFile), env);
        return new Result(r.TimedOut ? -1 : r.ExitCode, r.Stdout + r.Stderr);
    }
}
