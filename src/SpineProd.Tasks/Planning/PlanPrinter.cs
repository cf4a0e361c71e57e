using System.Text;

namespace SpineProd.Planning;

/// <summary>The text Preview prints: what Submit would do, array by array, and the first script in full.</summary>
public static class PlanPrinter
{
    public static string Format(ProductionPlan plan, string intermediateDir, bool includeFirstScript = true, bool includeArrays = true)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"SpineProd plan for {Path.GetFileName(plan.ProductionFile)} (dry run: nothing is submitted)");
        sb.AppendLine($"  scheduler {plan.Scheduler}, MaxArraySize {plan.MaxArraySize} ({plan.MaxArraySizeSource}), jobs folder {plan.JobsDir}");
        if (plan.Stages.Count > 1)
        {
            sb.AppendLine($"  stage graph (also {Path.Combine(intermediateDir, "stages.mmd")} and stages.dot):");
            sb.Append(StageGraph.Text(plan));
        }
        var dialect = Scheduler.Schedulers.Dialect(plan.Scheduler);
        foreach (var s in plan.Stages)
        {
            var r = s.Resources;
            sb.AppendLine();
            sb.AppendLine($"Stage {s.Name}: job {s.JobName}, detector {s.Detector}");
            sb.AppendLine($"  config    {s.Config}{(s.ApplyMods.Count > 0 ? " + mods " + string.Join(", ", s.ApplyMods) : "")} -> -c {s.ConfigArgument}{(s.ConfigSha256 is null ? "" : $" (sha256 {s.ConfigSha256[..12]})")}");
            sb.AppendLine($"  profile   {s.Profile}{(s.Profile != s.ResolvedProfile ? $" = {s.ResolvedProfile}" : "")}{(r.Description is null ? "" : $" ({r.Description})")}");
            sb.AppendLine($"  resources account={r.Account} partition={r.Partition ?? "(default)"}{(r.Qos is null ? "" : $" qos={r.Qos}")} gpus={r.Gpus} cpus-per-task={r.CpusPerTask} mem-per-cpu={(r.MemPerCpuBytes is long bytes ? dialect.Memory(bytes) : "")}{(r.MemPerNodeBytes is long node ? $" mem={(node == 0 ? "0 (the whole node)" : dialect.Memory(node))}" : "")} time={(r.Walltime is TimeSpan t ? dialect.Time(t) : "")}");
            sb.AppendLine($"  inputs    {s.FileCount} file(s), {s.FilesPerTask} per task -> {s.TaskCount} task(s) in {s.Arrays.Count} array(s){(s.MaxRunningTasks is int m ? $", at most {m} running per array" : "")}");
            sb.AppendLine($"  output    -o {s.Output}");
            if (s.Dependency is not null) sb.AppendLine($"  dependency {s.Dependency}");
            if (s.DependsOn.Count > 0) sb.AppendLine($"  waits on  afterok: every array of {string.Join(", ", s.DependsOn)}");
            if (s.InputsFrom.Count > 0) sb.AppendLine($"  reads     the planned outputs of {string.Join(", ", s.InputsFrom)}");
            if (s.Cleanup is { } c) sb.AppendLine($"  cleanup   job {c.JobName} removes {string.Join(", ", c.Paths)} after {string.Join(", ", c.AfterStages)} ({Path.Combine(intermediateDir, s.Name, c.Script)})");
            if (!includeArrays) continue;
            const int shown = 20;
            sb.AppendLine($"  {"array",-6} {"job name",-32} {"--array",-14} {"tasks",7} {"files",8}  script");
            foreach (var a in s.Arrays.Take(shown))
                sb.AppendLine($"  {a.Index,-6} {a.JobName,-32} {a.ArraySpec,-14} {a.TaskCount,7} {a.FileCount,8}  {Path.Combine(intermediateDir, s.Name, a.Script)}");
            if (s.Arrays.Count > shown)
                sb.AppendLine($"  ... {s.Arrays.Count - shown} more array(s), {s.Arrays.Skip(shown).Sum(a => a.TaskCount)} task(s)");
        }
        if (includeFirstScript && plan.Stages.FirstOrDefault()?.Arrays.FirstOrDefault() is { } first)
        {
            var path = Path.Combine(intermediateDir, plan.Stages[0].Name, first.Script);
            sb.AppendLine();
            sb.AppendLine($"First script ({path}):");
            sb.AppendLine(new string('-', 72));
            sb.Append(File.ReadAllText(path));
            sb.AppendLine(new string('-', 72));
        }
        return sb.ToString();
    }
}
