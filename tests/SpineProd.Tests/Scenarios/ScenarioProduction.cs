using System.Text.Json.Nodes;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Scenarios;

/// <summary>
/// A production of a scenario, driven as a user drives it: <c>dotnet build -t:Submit|Status|Cancel</c>
/// in a child process with the scheduler's commands on PATH. Waiting is one batched status query a
/// second in this process (what <c>-t:Status -p:Wait=true</c> does, without a build per poll), read
/// through the same JSON a user's script reads (status.json's shape).
/// </summary>
public sealed class ScenarioProduction
{
    public static readonly string TestDouble = TestDoubles.Spine;
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    public ScratchProduction P { get; }
    public SchedulerUnderTest Under { get; }
    public string Dir => P.Dir;
    public string InputDir => Path.Combine(P.Dir, "inputs");

    public ScenarioProduction(SchedulerUnderTest under, string name, bool throughSymlink = false)
    {
        Under = under;
        P = new ScratchProduction($"{under.Name}-{name}", throughSymlink);
        Directory.CreateDirectory(InputDir);
    }

    /// <summary>Empty input files under inputs/ (their names ask the test double to misbehave: FAIL, SLEEPn).</summary>
    public List<string> Inputs(params string[] names) => P.NamedInputs(names);

    /// <summary>Writes the .spineproj: the scheduler, the test double as SPINE, the scheduler's resources, then the given XML.</summary>
    public ScenarioProduction Write(string properties, string items, string? resources = null)
    {
        P.Write($"""
                <Scheduler>{Under.Name}</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                {resources ?? Under.Resources()}
                {properties}
            """, items);
        return this;
    }

    /// <summary>The test double's FAIL inputs in this folder succeed from now on.</summary>
    public void Fix(string? folder = null) => File.WriteAllText(Path.Combine(folder ?? InputDir, "spine-test-double.fixed"), "");

    public sealed record Result(int ExitCode, string Output)
    {
        public bool Succeeded => ExitCode == 0;
    }

    /// <summary><c>dotnet build test.spineproj -t:Target -p:...</c> as a user types it.</summary>
    public Result Build(string target, IEnumerable<(string, string)>? props = null, string? shimDir = null)
    {
        var args = new List<string> { "build", P.ProjectFile, $"-t:{target}", "-nologo", "-v:n", "-clp:NoSummary" };
        foreach (var (k, v) in props ?? []) args.Add($"-p:{k}={v}");
        var r = ProcessRunner.Instance.Run("dotnet", args, TimeSpan.FromMinutes(4), P.Dir, Under.Environment(shimDir));
        return new Result(r.TimedOut ? -1 : r.ExitCode, r.Stdout + r.Stderr);
    }

    /// <summary>A build that must succeed.</summary>
    public Result Run(string target, params (string, string)[] props)
    {
        var r = Build(target, props);
        Assert.True(r.Succeeded, $"dotnet build -t:{target} (-p:Scheduler={Under.Name}) failed:\n{r.Output}");
        return r;
    }

    /// <summary>A build that must fail with one SPN error, never a stack trace; returns the output.</summary>
    public Result Fails(string target, string? shimDir = null, params (string, string)[] props)
    {
        var r = Build(target, props, shimDir);
        Assert.False(r.Succeeded, $"dotnet build -t:{target} succeeded but should have failed:\n{r.Output}");
        Assert.Matches(@"error SPN\d{4}", r.Output);
        Assert.DoesNotMatch(@"\n\s+at [A-Za-z]+\.", r.Output);
        return r;
    }

    public ProductionPlan Plan => ProductionPlan.Load(Path.Combine(P.PlanDir, "plan.json"));

    /// <summary>One batched status query, as status.json writes it.</summary>
    public JsonNode Status() => Report().ToJson();

    /// <summary>One batched status query, as Status computes it (with the neutral state of cleanup jobs).</summary>
    public StatusReport Report()
    {
        var plan = Plan;
        return StatusReport.Create(plan, P.PlanDir, Schedulers.Factory(plan.StateDir));
    }

    /// <summary>The production's ledger: what was submitted, as SpineProd recorded it.</summary>
    public Ledger Ledger
    {
        get
        {
            var plan = Plan;
            return Ledger.Load(plan.StateDir, plan.ProductionName);
        }
    }

    /// <summary>Asks once a second until <paramref name="done"/> holds; fails with the last answer at the deadline.</summary>
    public JsonNode WaitUntil(Func<JsonNode, bool> done, string what)
    {
        var end = DateTime.UtcNow + Deadline;
        while (true)
        {
            var s = Status();
            if (done(s)) return s;
            Assert.True(DateTime.UtcNow < end, $"{what}: not by the deadline ({Under.Name}):\n{s.ToJsonString(new() { WriteIndented = true })}");
            Thread.Sleep(1000);
        }
    }

    /// <summary>Like <see cref="WaitUntil"/>, asking Status as it computes (cleanup jobs' neutral states).</summary>
    public StatusReport WaitUntilReport(Func<StatusReport, bool> done, string what)
    {
        var end = DateTime.UtcNow + Deadline;
        while (true)
        {
            var r = Report();
            if (done(r)) return r;
            Assert.True(DateTime.UtcNow < end, $"{what}: not by the deadline ({Under.Name}):\n{string.Join("\n", r.Render())}");
            Thread.Sleep(1000);
        }
    }

    /// <summary>Until nothing is pending or running and every unsuccessful task has its exit code (sacct lags squeue).</summary>
    public JsonNode WaitFinished() => WaitUntil(s => (bool)s["finished"]! &&
        s["problems"]!.AsArray().All(t => (string?)t!["status"] is not ("failed" or "timeout" or "out_of_memory") || t["exit_code"] is not null), "finished");

    public static int Total(JsonNode s, string what) => (int)s["totals"]![what]!;
    public static JsonNode Stage(JsonNode s, string name) => s["stages"]!.AsArray().Single(x => (string?)x!["name"] == name)!;
    public static int InStage(JsonNode s, string stage, string what) => (int)Stage(s, stage)[what]!;

    public static string Dump(JsonNode s) => s.ToJsonString(new() { WriteIndented = true });
}
