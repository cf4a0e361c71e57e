using System.Text;

namespace SpineProd.Planning;

/// <summary>The stage graph of a plan, for people: Mermaid (GitHub renders it) and Graphviz DOT.</summary>
public static class StageGraph
{
    public static string Mermaid(ProductionPlan plan)
    {
        var sb = new StringBuilder("flowchart TD\n");
        foreach (var s in plan.Stages)
            sb.AppendLine($"  {Id(s.Name)}[\"{s.Name}<br/>{s.TaskCount} task(s), {s.Arrays.Count} array(s)<br/>{s.ResolvedProfile}\"]");
        foreach (var s in plan.Stages)
        {
            foreach (var up in s.DependsOn)
                sb.AppendLine($"  {Id(up)} -->|afterok| {Id(s.Name)}");
            if (s.Cleanup is { } c)
            {
                sb.AppendLine($"  {Id(c.JobName)}([\"cleanup {s.Name}\"])");
                foreach (var after in c.AfterStages) sb.AppendLine($"  {Id(after)} -.->|afterok| {Id(c.JobName)}");
            }
        }
        return sb.ToString();
    }

    public static string Dot(ProductionPlan plan)
    {
        var sb = new StringBuilder("digraph stages {\n  rankdir=TB;\n");
        foreach (var s in plan.Stages)
            sb.AppendLine($"  \"{s.Name}\" [shape=box, label=\"{s.Name}\\n{s.TaskCount} task(s)\\n{s.ResolvedProfile}\"];");
        foreach (var s in plan.Stages)
        {
            foreach (var up in s.DependsOn)
                sb.AppendLine($"  \"{up}\" -> \"{s.Name}\" [label=afterok];");
            if (s.Cleanup is { } c)
            {
                sb.AppendLine($"  \"{c.JobName}\" [shape=ellipse, style=dashed, label=\"cleanup {s.Name}\"];");
                foreach (var after in c.AfterStages) sb.AppendLine($"  \"{after}\" -> \"{c.JobName}\" [style=dashed];");
            }
        }
        return sb.Append("}\n").ToString();
    }

    /// <summary>Text for Preview: one line per stage with what it waits on.</summary>
    public static string Text(ProductionPlan plan)
    {
        var sb = new StringBuilder();
        foreach (var s in plan.Stages)
        {
            var waits = s.DependsOn.ToList();
            sb.AppendLine($"    {s.Name}{(waits.Count > 0 ? "  <- afterok " + string.Join(", ", waits) : "")}{(s.InputsFrom.Count > 0 ? "  (reads the outputs of " + string.Join(", ", s.InputsFrom) + ")" : "")}");
            if (s.Cleanup is { } c)
                sb.AppendLine($"    {c.JobName}  <- afterok {string.Join(", ", c.AfterStages)}  (removes {c.Paths.Count} path(s))");
        }
        return sb.ToString();
    }

    private static string Id(string name) => "s_" + new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
}
