using System.Globalization;
using Microsoft.Build.Framework;
using SpineProd.Audit;
using SpineProd.Diagnostics;
using SpineProd.Report;
using SpineProd.Run;
using SpineProd.Scheduler;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>
/// -t:Run: Submit, wait with a line per poll, resubmit what ran out of memory or time with more of
/// it (RetryMaxAttempts, RetryMemoryFactor, RetryTimeFactor, RetryFailedAttempts, RetryMaxTime,
/// RetryMaxMemPerCpu), then write the report and print its summary. Fails (SPN5030) when tasks are
/// left that did not succeed, naming why each was not retried.
/// </summary>
public sealed class RunProduction : SpineProdTask, ICancelableTask
{
    private volatile BuildInterruption? _interruption;

    [Required] public string PlanFile { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";
    public string? SdkVersion { get; set; }
    public string? RepositoryRoot { get; set; }
    public string? LocalParallelism { get; set; }
    public string? SubmitRetries { get; set; }
    public string? WaitTimeout { get; set; }
    public string? PollInterval { get; set; }
    public string? RetryMaxAttempts { get; set; }
    public string? RetryMemoryFactor { get; set; }
    public string? RetryTimeFactor { get; set; }
    public string? RetryFailedAttempts { get; set; }
    public string? RetryMaxTime { get; set; }
    public string? RetryMaxMemPerCpu { get; set; }
    public string? ReportFile { get; set; }

    [Output] public string WrittenReport { get; private set; } = "";

    public void Cancel() => _interruption?.Cancel("Run was cancelled (Ctrl-C)");

    public override bool Execute()
    {
        using var interruption = _interruption = new BuildInterruption();
        try { return Run(interruption); }
        finally { _interruption = null; }
    }

    private bool Run(BuildInterruption interruption) => Log.Run(ProjectFile, () =>
    {
        var globals = CheckOptions.GlobalProperties(BuildEngine);
        var xml = Planning.ProductionFile.Load(ProjectFile);
        var options = new Options.RunOptions(ProjectFile, globals, xml);
        var settings = new RetrySettings
        {
            MaxAttempts = options.Count("RetryMaxAttempts", RetryMaxAttempts, 3, min: 1),
            FailedAttempts = options.Count("RetryFailedAttempts", RetryFailedAttempts, 1, min: 1),
            MemoryFactor = Factor("RetryMemoryFactor", RetryMemoryFactor, xml, globals),
            TimeFactor = Factor("RetryTimeFactor", RetryTimeFactor, xml, globals),
            MaxTime = string.IsNullOrWhiteSpace(RetryMaxTime) ? null : options.Duration("RetryMaxTime", RetryMaxTime, TimeSpan.Zero),
            MaxMemPerCpuBytes = string.IsNullOrWhiteSpace(RetryMaxMemPerCpu) ? null
                : Options.SettingValues.ParseMemory(RetryMaxMemPerCpu) is long m && m > 0 ? m
                : throw Invalid("RetryMaxMemPerCpu", RetryMaxMemPerCpu, "is not a memory size (8g, 4000M)", xml, globals),
        };
        int retries = options.Count("SubmitRetries", SubmitRetries, 5), parallelism = options.Count("LocalParallelism", LocalParallelism, 0);
        var timeout = options.Duration("WaitTimeout", WaitTimeout, TimeSpan.FromHours(24));
        var poll = options.Duration("PollInterval", PollInterval, TimeSpan.FromSeconds(30));

        var plan = ClusterTaskSupport.LoadPlan(PlanFile, ProjectFile);
        var planDir = Path.GetDirectoryName(Path.GetFullPath(PlanFile))!;
        var gitCommit = ClusterTaskSupport.GitCommit(RepositoryRoot);
        var schedulers = Schedulers.Factory(new SchedulerSettings
        {
            StateDir = plan.StateDir, Log = m => Quietly(() => Report(m)), MaxAttempts = retries + 1,
            LocalParallelism = parallelism, Stop = interruption.Token, StopReason = () => interruption.Reason,
        }, ProjectFile);

        void Send(RunSubmit group)
        {
            var context = new SubmitContext
            {
                SdkVersion = SdkVersion ?? "",
                GitCommit = gitCommit,
                Command = ClusterTaskSupport.CommandLine(BuildEngine, ProjectFile, "Run"),
                Resubmit = ResubmitMode.Missing,
                Log = (level, message) => Quietly(() => ClusterTaskSupport.Log(Log, level, message, UnderTerminalLogger)),
                Warn = (code, message) => Quietly(() => Log.LogWarning(null, code, null, ProjectFile, 0, 0, 0, 0, "{0}", message)),
                Cancellation = interruption.Token,
                CancellationReason = () => interruption.Reason,
                Only = t => t.Stage.Name == group.Stage.Name && group.Tasks.Contains(t.Task),
                ExtraOptions = group.Limits.IsNone ? null : Schedulers.Dialect(plan.Scheduler).RaisedLimitOptions(group.Limits.Request(group.Stage.Resources)),
            };
            var before = Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner);
            // One audit record per Submit: History lists every attempt, retries as "Retry".
            void Audit(Exception? error)
            {
                var record = AuditRecords.ForSubmit(plan, before, Ledger.Load(plan.StateDir, plan.ProductionName, plan.Owner), gitCommit, error, Guid.NewGuid().ToString("N"));
                if (record is null) return;
                if (group.IsRetry) record.Action = "Retry";
                record.Record(Log);
            }
            try { new Submitter(schedulers, context).Submit(plan, planDir); }
            catch (Exception e) when (e is SpineProdException or IOException) { Audit(e); throw; }
            Audit(null);
        }

        var runner = new ProductionRunner
        {
            Plan = plan, PlanDir = planDir, Schedulers = schedulers, Submit = Send,
            Policy = new RetryPolicy(settings, SlurmPartitionLimits.Asking(ProcessRunner.Instance, plan.Scheduler)),
            Progress = m => Quietly(() => Report(m)),
            FirstPoll = poll, Timeout = timeout, Stop = interruption.Token,
        };
        var outcome = runner.Run();

        var model = ProductionReport.Make(plan, planDir, schedulers, gitCommit, e =>
            Log.LogWarning(null, "SPN3023", null, Layout.ProductionLayout.Of(plan).StatusFile, 0, 0, 0, 0,
                "status.json could not be written ({0}); the report is written all the same.", e.Message), outcome.Status);
        var file = string.IsNullOrEmpty(ReportFile) ? Layout.ProductionLayout.Of(plan).ReportFile : Path.GetFullPath(ReportFile, Path.GetDirectoryName(ProjectFile)!);
        HtmlReport.Write(model, file);
        WrittenReport = file;
        Report($"{plan.ProductionName}: run finished after {outcome.Submits} submission(s) in {outcome.Rounds} round(s)");
        foreach (var line in model.Summary(file)) Report(line);
        if (outcome.GaveUp.Count > 0)
        {
            Report($"{outcome.GaveUp.Count} task(s) left as they are:");
            foreach (var d in outcome.GaveUp.Take(50)) Report($"  {d.Task.Stage.Name} task {d.Task.Task}: {d.Why}");
            if (outcome.GaveUp.Count > 50) Report($"  ... and {outcome.GaveUp.Count - 50} more (status.json lists them)");
        }
        if (!model.Status.IsComplete)
            throw new SpineProdException("SPN5030",
                $"{model.Status.Totals.Total - model.Status.Totals.Completed} task(s) of {plan.ProductionName} did not succeed after retries " +
                $"({string.Join("; ", outcome.GaveUp.GroupBy(d => Submitter.ReasonLabel(d.Task)).Select(g => $"{g.Count()} {g.Key}"))}); see the list above and {file}",
                ProjectFile);
    });

    /// <summary>A retry factor: a number above 1 (2 doubles the memory or time of each retry).</summary>
    private double Factor(string name, string? value, Planning.ProductionFile xml, ISet<string> globals)
    {
        if (string.IsNullOrWhiteSpace(value)) return 2;
        if (double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f > 1 && f <= 100) return f;
        throw Invalid(name, value, "is not a factor above 1 (e.g. 2, 1.5)", xml, globals);
    }

    private SpineProdException Invalid(string name, string value, string what, Planning.ProductionFile xml, ISet<string> globals)
    {
        bool cli = globals.Contains(name);
        int line = cli ? 0 : xml.PropertyLine(name);
        return new SpineProdException("SPN5031", $"{name} '{value}' {what} (from {(cli ? $"-p:{name} on the command line" : $"<{name}>")}).", ProjectFile, line, line > 0 ? 1 : 0);
    }

    private static void Quietly(Action log)
    {
        try { log(); }
        catch (Exception e) when (e is InvalidOperationException or IOException) { }
    }
}
