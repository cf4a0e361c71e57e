using System.Text.RegularExpressions;

namespace SpineProd.Layout;

/// <summary>
/// Where SpineProd keeps a production's files, in one place. The state folder
/// (<c>jobs/&lt;production&gt;-&lt;hash&gt;/</c>, <see cref="StateDir"/>) holds what outlives one job: the
/// ledger, the lock, the completion markers, status.json, the audit journal and binlogs, the local
/// scheduler's states, default outputs. A job folder (<c>jobs/&lt;time&gt;_&lt;job name&gt;/</c>, see
/// <see cref="Job"/>) holds one submission of a stage: the plan's scripts and chunk lists, config/,
/// logs/, job_metadata.json. C# reads and writes these paths from here, and the renderer hands them to
/// the job templates (<see cref="TemplateContract"/> checks that a template's scripts use them), so a
/// site's own template and Status can never disagree about where a task's marker or log is.
/// </summary>
public sealed record ProductionLayout(string StateDir)
{
    public static ProductionLayout Of(Planning.ProductionPlan plan) => new(plan.StateDir);

    // ------------------------------------------------------------ the state folder

    public const string LedgerFileName = "submissions.json";
    public const string AuditJournalFileName = "audit.jsonl";
    public const string MarkerSuffix = ".done";

    /// <summary>Every submission of the production (<see cref="Submission.Ledger"/>).</summary>
    public string Ledger => In(LedgerFileName);
    /// <summary>One Submit or Cancel at a time (<see cref="Submission.SubmitLock"/>).</summary>
    public string SubmitLock => In("submit.lock");
    /// <summary>Completion markers, one folder per stage.</summary>
    public string Markers => In("markers");
    /// <summary>Where the job script of <paramref name="stage"/> writes <c>&lt;task&gt;.done</c> when SPINE exits 0.</summary>
    public string MarkerDir(string stage) => Path.Combine(Markers, stage);
    /// <summary>The marker of one task: it lists the task's inputs, one a line.</summary>
    public string Marker(string stage, int task) => Path.Combine(MarkerDir(stage), task + MarkerSuffix);
    /// <summary>The stage's markers that a Status verified, and unchanged since (<see cref="Submission.MarkerIndex"/>); beside the stage's marker folder, so it goes with the markers.</summary>
    public string MarkerIndex(string stage) => Path.Combine(Markers, stage + ".verified");
    /// <summary>The last Status, as JSON.</summary>
    public string StatusFile => In("status.json");
    /// <summary>One row per task attempt, finished jobs' rows written once, the others by every Status (<see cref="Usage.TraceFile"/>).</summary>
    public string TraceFile => In("trace.tsv");
    /// <summary>Finished jobs' final rows and settled stages, never asked about again (<see cref="Submission.SettledState"/>).</summary>
    public string SettledFile => In("settled.bin");
    /// <summary>The audit journal (<see cref="Audit.AuditLog"/>).</summary>
    public string AuditJournal => In(AuditJournalFileName);
    /// <summary>The binlogs of builds that changed the cluster, filed by <see cref="Audit.BinlogArchive"/>.</summary>
    public string Binlogs => In("binlogs");
    /// <summary>-t:Report's page, unless ReportFile names another place.</summary>
    public string ReportFile => In("report.html");
    /// <summary>The local scheduler's job states (<c>-p:Scheduler=local</c>).</summary>
    public string LocalSchedulerState => In("local-scheduler.json");
    /// <summary>The default output folder: one per production, or per stage when there are several.</summary>
    public string DefaultOutputDir(string? stage) => Path.Combine(In("output"), stage ?? "");
    /// <summary>Folders of the state a cleanup job never removes anything inside.</summary>
    public IReadOnlyList<string> Bookkeeping => [Markers, Binlogs];

    private string In(string name) => Path.Combine(StateDir, name);

    // ------------------------------------------------------------ a job folder

    /// <summary>
    /// What a job folder holds, relative to it (a job script runs in its job folder, so these are also
    /// the paths the script uses). The stage's plan folder (<c>obj/&lt;production&gt;/&lt;stage&gt;/</c>) holds
    /// the same scripts, chunk lists and config/ and is copied into it.
    /// </summary>
    public static class Job
    {
        /// <summary>The scheduler's logs of every task, and each task's list of inputs.</summary>
        public const string Logs = "logs";
        /// <summary>Configs the job carries (a composite, resolved.yaml, sources.sha256).</summary>
        public const string Config = "config";
        /// <summary>sha256 of every config file SPINE reads; the job checks it before it starts SPINE.</summary>
        public const string ConfigSources = Config + "/" + ConfigSourcesName;
        public const string ConfigSourcesName = "sources.sha256";
        public const string Metadata = "job_metadata.json";
        /// <summary>Written first into every job folder SpineProd builds: only folders carrying it are ever deleted by it.</summary>
        public const string FolderMarker = ".spineprod-job-folder";

        public static string ChunkFile(int array) => $"files_chunk_{array}.txt";
        /// <summary>The job script of an array, named as its scheduler names scripts (<c>submit_chunk_0.sbatch</c>, <c>.pbs</c>).</summary>
        public static string Script(int array, Scheduler.ISchedulerDialect scheduler) => $"submit_chunk_{array}.{scheduler.ScriptExtension}";
        public static string CleanupScript(string stage, Scheduler.ISchedulerDialect scheduler) => $"cleanup_{stage}.{scheduler.ScriptExtension}";
        /// <summary>The first array's script under any scheduler's name (a stage folder of the planner's, whichever scheduler planned it).</summary>
        public static IEnumerable<string> FirstScripts => Scheduler.Schedulers.Dialects.Select(d => Script(0, d)).Distinct();

        /// <summary>
        /// Scripts and chunk lists by the names above, under every scheduler's extension (a plan's own
        /// files, also those of an earlier, larger plan or of a plan for another scheduler).
        /// </summary>
        public static Regex PlanFileName() => _planFileName.Value;
        private static readonly Lazy<Regex> _planFileName = new(() =>
        {
            var extensions = string.Join('|', Scheduler.Schedulers.Dialects.Select(d => Regex.Escape(d.ScriptExtension)).Distinct());
            return new Regex($@"^(files_chunk_\d+\.txt|submit_chunk_\d+\.({extensions})|cleanup_.*\.({extensions}))$", RegexOptions.CultureInvariant);
        });

        /// <summary>A path under a job folder's config/ (<paramref name="relative"/> as the config resolver names it).</summary>
        public static string ConfigFile(string relative) => Config + "/" + relative.Replace('\\', '/');

        /// <summary>
        /// The SLURM log of a task: <c>logs/&lt;array job name&gt;_%A_%a.out</c> as the script's
        /// <c>#SBATCH --output/--error</c> name it (<see cref="SlurmTaskLog"/>), for job <paramref name="jobId"/>.
        /// </summary>
        public static string TaskLog(string jobFolder, string arrayJobName, string jobId, int index, string extension) =>
            Path.Combine(jobFolder, Logs, $"{arrayJobName}_{jobId}_{index}.{extension}");

        /// <summary>The <c>#SBATCH --output</c> (extension out) or <c>--error</c> (err) value that names the files <see cref="TaskLog"/> finds.</summary>
        public static string SlurmTaskLog(string arrayJobName, string extension) => $"{Logs}/{arrayJobName}_%A_%a.{extension}";

        /// <summary>The <c>#SBATCH --output/--error</c> value of a cleanup job (one job, no array).</summary>
        public static string SlurmCleanupLog(string jobName, string extension) => $"{Logs}/{jobName}_%j.{extension}";
    }
}
