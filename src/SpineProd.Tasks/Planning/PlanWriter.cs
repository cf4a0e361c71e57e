using SpineProd.IO;
using SpineProd.Rendering;

namespace SpineProd.Planning;

/// <summary>
/// The writing step: per stage, the chunk lists, job scripts, cleanup script and config files, then
/// the stage graph and plan.json, each written only when its bytes change (so an unchanged
/// production leaves every timestamp alone); files a previous, larger plan left are removed (only
/// the plan's own file patterns, only in the plan's folder).
/// </summary>
internal sealed class PlanWriter
{
    private readonly string _intermediateDir;
    private readonly List<string> _dependencies;
    private readonly Dictionary<string, JobScriptRenderer> _renderers = new(StringComparer.Ordinal);
    private int _written, _unchanged;

    /// <param name="dependencies">Templates read, for the next build's up-to-date check.</param>
    public PlanWriter(string intermediateDir, List<string> dependencies)
    {
        _intermediateDir = intermediateDir;
        _dependencies = dependencies;
    }

    public int FilesWritten => _written;
    public int FilesUnchanged => _unchanged;

    public void Write(ProductionPlan plan, IReadOnlyList<PlannedStage> stages)
    {
        Directory.CreateDirectory(_intermediateDir);
        foreach (var stage in stages)
        {
            var renderer = Renderer(stage.Template);
            string dir = Path.Combine(_intermediateDir, stage.Plan.Name);
            Directory.CreateDirectory(dir);
            var expected = new HashSet<string>(StringComparer.Ordinal);
            // Arrays are independent files: written in parallel (the comparison with what is on
            // disk dominates for large productions).
            Parallel.ForEach(stage.Plan.Arrays, array =>
            {
                // A stage whose config names its inputs has one task with no inputs of ours: an empty line.
                var chunk = stage.Plan.InputsFromConfig ? "\n"u8.ToArray() : stage.Inputs.ChunkList(array.FirstTask * stage.Plan.FilesPerTask, array.FileCount, stage.Plan.FilesPerTask);
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, array.ChunkFile), chunk));
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, array.Script), renderer.Render(plan, stage.Plan, array, stage.Runtime)));
            });
            foreach (var array in stage.Plan.Arrays)
            {
                expected.Add(array.ChunkFile);
                expected.Add(array.Script);
            }
            if (stage.Plan.Cleanup is { } cleanup)
            {
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, cleanup.Script), Renderer(stage.CleanupTemplate).RenderCleanup(plan, stage.Plan, cleanup)));
                expected.Add(cleanup.Script);
            }
            foreach (var (relative, content) in stage.Config.FilesToWrite)
            {
                Count(AtomicFile.WriteIfChanged(Path.Combine(dir, Layout.ProductionLayout.Job.Config, relative), content));
                expected.Add(Layout.ProductionLayout.Job.ConfigFile(relative));
            }
            RemoveStale(dir, expected);
        }
        // Folders of stages that no longer exist: their plan files only (the folder may hold others').
        foreach (var old in Directory.EnumerateDirectories(_intermediateDir).ToList())
            if (!stages.Any(s => s.Plan.Name == Path.GetFileName(old)))
                PlanCleaner.CleanStageFolder(old, null);
        if (plan.Stages.Count > 1)
        {
            Count(AtomicFile.WriteIfChanged(Path.Combine(_intermediateDir, "stages.mmd"), StageGraph.Mermaid(plan)));
            Count(AtomicFile.WriteIfChanged(Path.Combine(_intermediateDir, "stages.dot"), StageGraph.Dot(plan)));
        }
        Count(plan.Save(Path.Combine(_intermediateDir, "plan.json")));
    }

    /// <summary>One renderer per template file (parsed once), which the next build also watches.</summary>
    private JobScriptRenderer Renderer(string template)
    {
        if (!_renderers.TryGetValue(template, out var renderer))
        {
            _renderers[template] = renderer = new JobScriptRenderer(template);
            _dependencies.Add(template);
        }
        return renderer;
    }

    /// <summary>Deletes plan files a previous, larger plan left (only our own file patterns, only in our folder).</summary>
    private static void RemoveStale(string dir, HashSet<string> expected)
    {
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(dir, file).Replace('\\', '/');
            bool ours = Layout.ProductionLayout.Job.PlanFileName().IsMatch(rel) || rel.StartsWith(Layout.ProductionLayout.Job.Config + "/", StringComparison.Ordinal);
            if (ours && !expected.Contains(rel)) File.Delete(file);
        }
    }

    private void Count(bool written)
    {
        if (written) Interlocked.Increment(ref _written); else Interlocked.Increment(ref _unchanged);
    }
}
