namespace SpineProd.Planning;

/// <summary>
/// The order stages are planned in: every stage after the stages it waits for (DependsOn) or reads
/// from (InputsFrom), otherwise in declaration order. Two stages of one name, an unknown upstream
/// name and a cycle are errors at the stage that has them.
/// </summary>
public static class StageOrder
{
    /// <summary>The stages a stage waits for: its DependsOn and its InputsFrom (reading a stage's outputs means waiting for it).</summary>
    public static List<string> Upstream(StageRequest stage) =>
        StageSettings.SplitList(stage.Metadata.GetValueOrDefault("DependsOn"))
            .Union(StageSettings.SplitList(stage.Metadata.GetValueOrDefault("InputsFrom"))).ToList();

    public static List<StageRequest> Of(IReadOnlyList<StageRequest> stages, PlanProblems problems)
    {
        var byName = new Dictionary<string, StageRequest>(StringComparer.Ordinal);
        foreach (var s in stages)
            if (!byName.TryAdd(s.Name, s))
                problems.Stop("SPN4004", $"Two stages are named '{s.Name}'.", s.File, s.Line);
        foreach (var s in stages)
            foreach (var u in Upstream(s))
                if (!byName.ContainsKey(u))
                    problems.Stop("SPN4005", $"Stage '{s.Name}' depends on '{u}', which is not a stage. Stages: {string.Join(", ", byName.Keys)}.", s.File, s.Line);

        var order = new List<StageRequest>();
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false = visiting, true = done
        var path = new List<string>();
        void Visit(StageRequest s)
        {
            if (state.TryGetValue(s.Name, out bool done))
            {
                if (done) return;
                problems.Stop("SPN4006", $"Stages depend on each other in a cycle: {string.Join(" -> ", path.SkipWhile(n => n != s.Name).Append(s.Name))}.", s.File, s.Line);
            }
            state[s.Name] = false;
            path.Add(s.Name);
            foreach (var u in Upstream(s)) Visit(byName[u]);
            path.RemoveAt(path.Count - 1);
            state[s.Name] = true;
            order.Add(s);
        }
        foreach (var s in stages) Visit(s);
        return order;
    }

    /// <summary>Every stage that depends on <paramref name="name"/>, directly or through others, in plan order.</summary>
    public static List<string> Downstream(string name, IReadOnlyList<StagePlan> stages)
    {
        var found = new HashSet<string>(StringComparer.Ordinal) { name };
        bool grew = true;
        while (grew)
        {
            grew = false;
            foreach (var s in stages)
                if (!found.Contains(s.Name) && s.DependsOn.Any(found.Contains))
                    grew = found.Add(s.Name) | grew;
        }
        return stages.Select(s => s.Name).Where(n => n != name && found.Contains(n)).ToList();
    }
}
