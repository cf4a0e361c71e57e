using System.Globalization;
using SpineProd.Scheduler.Slurm;

namespace SpineProd.Scheduler.Local;

/// <summary>
/// How the local scheduler names things: job ids are counters in its state file, a task is
/// <c>&lt;job&gt;_&lt;index&gt;</c>, and its scripts are plain bash (<c>.sh</c>, from
/// templates/job.local.scriban) with no directives. It takes a job's limits from the request
/// (<see cref="LocalLimits"/>) and writes each task's logs itself, where <see cref="LogFile"/> says;
/// a request is recorded as a command line in sbatch's words, limits included. Its tasks see
/// SLURM's array environment, so a script written for sbatch also runs.
/// </summary>
public sealed class LocalDialect : ISchedulerDialect
{
    public static readonly LocalDialect Instance = new();

    public string Name => "local";
    public string SubmitCommand => "local";
    public string CancelCommand => "local";
    public string ScriptExtension => "sh";
    public string ArrayIndexVariable => "SLURM_ARRAY_TASK_ID";
    public string TaskId(string jobId, int index) => $"{jobId}_{index.ToString(CultureInfo.InvariantCulture)}";
    /// <summary>None: the local scheduler reads no line of a script. A script's #SBATCH lines (a site's sbatch template) are comments to it.</summary>
    public string? DirectivePrefix => null;
    // With no directives there is no log option to check: the local scheduler itself opens the files LogFile names.
    public (string? Long, string Short) LogOption(bool error) => (null, error ? "stderr" : "stdout");
    public bool LogDirectiveFindsLogs(string value, string? jobName, bool error) => true;
    public string LogDirectiveExample(string? jobName, bool error) => $"(none: the local scheduler writes {Layout.ProductionLayout.Job.Logs}/<job name>_<job id>_<index>.{(error ? "err" : "out")} itself)";
    public string Time(TimeSpan limit) => SlurmDialect.Time(limit);
    public string Memory(long bytes) => SlurmDialect.Memory(bytes);
    /// <summary>SLURM's syntax on its own job ids, all of them (<c>,</c>): it waits on afterok and afternotok and takes the others as met, with no either-or (<c>?</c>).</summary>
    public DependencyProblem? CheckDependency(string dependency, bool alsoAfterOk) =>
        dependency.Contains('?')
            ? new("SPN1024", $"Dependency '{dependency}' is an either-or (?) dependency, which the local scheduler does not run; use ',' (all of)")
            : SlurmDialect.CheckDependency(dependency, alsoAfterOk);
    public string? Dependency(JobRequest request) => SlurmDialect.Dependency(request);
    public string LogFile(string jobName, string jobId, int index, bool error) => SlurmDialect.Instance.LogFile(jobName, jobId, index, error);
    /// <summary>What the local scheduler runs a request with: the plan's limits, then the request's own options (a retry's raised limits), which win.</summary>
    public IReadOnlyList<string> CommandLine(JobRequest request) =>
        ["local", .. SlurmDialect.SbatchArgs(request with { ExtraOptions = LocalLimits.Options(request) })];
    /// <summary>sbatch's options: the local scheduler reads them after the plan's limits, so they win (<see cref="LocalLimits.Read"/>).</summary>
    public IReadOnlyList<string> RaisedLimitOptions(ResourceRequest raised) => SlurmDialect.Instance.RaisedLimitOptions(raised);
}
