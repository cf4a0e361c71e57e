using System.Text.RegularExpressions;

namespace SpineProd.Planning;

/// <summary>
/// Clean: removes the files a plan wrote into its intermediate folder (plan.json and the build's
/// own bookkeeping beside it; per stage the chunk lists, scripts and the configs the plan names),
/// then the folders that this leaves empty. Anything else stays, and so does the folder holding it:
/// <c>SpineProdIntermediateDir</c> may name a folder that is not only the plan's.
/// </summary>
public static partial class PlanCleaner
{
    /// <summary>Files of the plan (and of the targets that make it) at the top of the intermediate folder.</summary>
    public static readonly string[] TopLevelFiles = ["plan.json", "plan.stamp", "inputs.cache", "plan.dependencies", "stages.mmd", "stages.dot"];

    public sealed record Result(int Removed, IReadOnlyList<string> Left);

    public static Result Clean(string intermediateDir)
    {
        intermediateDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(intermediateDir));
        if (!Directory.Exists(intermediateDir)) return new(0, []);
        var plan = TryLoad(Path.Combine(intermediateDir, "plan.json"));
        int removed = 0;
        void Remove(string file)
        {
            var info = new FileInfo(file);
            if (!info.Exists || info.LinkTarget is not null) return;   // the plan writes regular files only
            info.Delete();
            removed++;
        }

        foreach (var name in TopLevelFiles) Remove(Path.Combine(intermediateDir, name));
        foreach (var stageDir in Directory.EnumerateDirectories(intermediateDir).ToList())
            removed += CleanStageFolder(stageDir, plan?.Stages.FirstOrDefault(s => s.Name == Path.GetFileName(stageDir)));
        RemoveIfEmpty(intermediateDir);
        var left = Directory.Exists(intermediateDir)
            ? Directory.EnumerateFileSystemEntries(intermediateDir, "*", SearchOption.AllDirectories).Take(4).ToList()
            : [];
        return new(removed, left);
    }

    /// <summary>The folder and the folders under it that are (or become) empty, deepest first.</summary>
    private static void RemoveEmptyFolders(string dir)
    {
        if (!Directory.Exists(dir) || new DirectoryInfo(dir).LinkTarget is not null) return;
        foreach (var sub in Directory.EnumerateDirectories(dir).ToList()) RemoveEmptyFolders(sub);
        RemoveIfEmpty(dir);
    }

    /// <summary>
    /// Removes a stage folder's plan files (those <paramref name="stage"/> names; for a stage no
    /// longer planned, the planner's own file names), then the folder if that emptied it. A folder
    /// that is not a stage folder (no chunk list and script of the planner's) is left alone.
    /// </summary>
    public static int CleanStageFolder(string stageDir, StagePlan? stage)
    {
        if (new DirectoryInfo(stageDir).LinkTarget is not null) return 0;
        if (stage is null && !(File.Exists(Path.Combine(stageDir, Layout.ProductionLayout.Job.ChunkFile(0))) && Layout.ProductionLayout.Job.FirstScripts.Any(s => File.Exists(Path.Combine(stageDir, s)))))
            return 0;
        var files = new HashSet<string>(StringComparer.Ordinal);
        if (stage is not null)
        {
            foreach (var a in stage.Arrays) files.UnionWith(new[] { a.Script, a.ChunkFile, a.TasksFile }.Where(f => f.Length > 0));
            if (stage.Cleanup is { } c) files.Add(c.Script);
            files.UnionWith(stage.ConfigFiles);
        }
        // Chunk lists and scripts of an earlier, larger plan: the planner's own names, top level only.
        files.UnionWith(Directory.EnumerateFiles(stageDir).Select(Path.GetFileName).Where(f => Layout.ProductionLayout.Job.PlanFileName().IsMatch(f!))!);
        int removed = 0;
        foreach (var file in files)
        {
            var info = new FileInfo(Path.Combine(stageDir, file));
            if (!info.Exists || info.LinkTarget is not null) continue;   // the plan writes regular files only
            info.Delete();
            removed++;
        }
        RemoveEmptyFolders(Path.Combine(stageDir, Layout.ProductionLayout.Job.Config));
        RemoveIfEmpty(stageDir);
        return removed;
    }

    private static void RemoveIfEmpty(string dir)
    {
        if (Directory.Exists(dir) && new DirectoryInfo(dir).LinkTarget is null && !Directory.EnumerateFileSystemEntries(dir).Any())
            Directory.Delete(dir);
    }

    private static ProductionPlan? TryLoad(string planFile)
    {
        try
        {
            var info = new FileInfo(planFile);
            return info.Exists && info.Length > 0 ? ProductionPlan.Load(planFile) : null;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            return null;   // a damaged plan: only the planner's own file names are removed
        }
    }
}
