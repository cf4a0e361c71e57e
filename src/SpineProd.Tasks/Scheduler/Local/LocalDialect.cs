using System.Globalization;
using SpineProd.Scheduler.Slurm;

namespace SpineProd.Scheduler.Local;

/// <summary>
/// How the local scheduler names things: job ids are counters in its state file, a task is
/// <c>&lt;job&gt;_&lt;index&gt;</c>, and it runs the SLURM-flavoured job scripts (their #SBATCH lines are
/// read for the limits and log files), so a request is recorded as the sbatch line it stands for.
/// </summary>
public sealed class LocalDialect : ISchedulerDialect
{
    public static readonly LocalDialect Instance = new();

    public string Name => "local";
    public string SubmitCommand => "local";
    public string CancelCommand => "local";
    public string ScriptExtension => "sbatch";
    public string ArrayIndexVariable => "SLURM_ARRAY_TASK_ID";
    public string TaskId(string jobId, int index) => $"{jobId}_{index.ToString(CultureInfo.InvariantCulture)}";
    // It reads the SLURM job template's #SBATCH lines for its log files.
    public string? DirectivePrefix => SlurmDialect.Instance.DirectivePrefix;
    public (string? Long, string Short) LogOption(bool error) => SlurmDialect.Instance.LogOption(error);
    public bool LogDirectiveFindsLogs(string value, string? jobName, bool error) => SlurmDialect.Instance.LogDirectiveFindsLogs(value, jobName, error);
    public string LogDirectiveExample(string? jobName, bool error) => SlurmDialect.Instance.LogDirectiveExample(jobName, error);
    public string Time(TimeSpan limit) => SlurmDialect.Time(limit);
    public string Memory(long bytes) => SlurmDialect.Memory(bytes);
    /// <summary>SLURM's syntax on its own job ids, all of them (<c>,</c>): it waits on afterok and afternotok and takes the others as met, with no either-or (<c>?</c>).</summary>
    public DependencyProblem? CheckDependency(string dependency, bool alsoAfterOk) =>
        dependency.Contains('?')
            ? new("SPN1024", $"Dependency '{dependency}' is an either-or (?) dependency, which the local scheduler does not run; use ',' (all of)")
            : SlurmDialect.CheckDependency(dependency, alsoAfterOk);
    public string? Dependency(JobRequest request) => SlurmDialect.Dependency(request);
    public string LogFile(string jobName, string jobId, int index, bool error) => SlurmDialect.Instance.LogFile(jobName, jobId, index, error);
    public IReadOnlyList<string> CommandLine(JobRequest request) => ["local", .. SlurmDialect.SbatchArgs(request)];
    /// <summary>sbatch's options: the local scheduler reads them over the script's #SBATCH lines.</summary>
    public IReadOnlyList<string> RaisedLimitOptions(ResourceRequest raised) => SlurmDialect.Instance.RaisedLimitOptions(raised);
}
