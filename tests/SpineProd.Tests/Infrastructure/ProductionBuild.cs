using Microsoft.Build.Evaluation;
using Microsoft.Build.Execution;
using Microsoft.Build.Framework;
using Microsoft.Build.Logging;
using Microsoft.Build.Logging.StructuredLogger;
using Xunit;

namespace SpineProd.Tests.Infrastructure;

/// <summary>MSBuild allows one in-process build at a time: every class that builds joins this collection.</summary>
[CollectionDefinition("msbuild", DisableParallelization = true)]
public sealed class MSBuildCollection;

/// <summary>The outcome of one in-process build: result, errors and warnings, and the binlog read back.</summary>
public sealed record BuildOutcome(bool Succeeded, IReadOnlyList<BuildErrorEventArgs> Errors, IReadOnlyList<BuildWarningEventArgs> Warnings, IReadOnlyList<string> Messages, string BinlogPath)
{
    private Build? _log;
    public Build Log => _log ??= BinaryLog.ReadBuild(BinlogPath);

    public IEnumerable<Microsoft.Build.Logging.StructuredLogger.Target> Targets(string name) =>
        Log.FindChildrenRecursive<Microsoft.Build.Logging.StructuredLogger.Target>(t => t.Name == name);

    public string ErrorText => string.Join("\n", Errors.Select(e => $"{e.File}({e.LineNumber}): {e.Code}: {e.Message}"));
}

/// <summary>Builds a .spineproj in-process (Locator + BuildManager), with a binlog per build.</summary>
public static class ProductionBuild
{
    private static readonly string[] ToxicVariables = ["SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_JOB_ID", "SBATCH_ACCOUNT", "SBATCH_PARTITION"];

    public static BuildOutcome Run(string projectFile, string target = "Build", IDictionary<string, string>? properties = null)
    {
        var globals = new Dictionary<string, string>(properties ?? new Dictionary<string, string>());
        foreach (var v in ToxicVariables) Environment.SetEnvironmentVariable(v, null);
        // Beside scratch productions, or (for shipped ones) in the scratch area, never in productions/.
        var folder = projectFile.StartsWith(Repo.Path_("artifacts"), StringComparison.Ordinal) ? Path.GetDirectoryName(projectFile)! : Repo.Scratch("binlogs");
        var binlog = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(projectFile)}.{target.Replace(';', '+')}.{Guid.NewGuid():N}.binlog");
        var collector = new CollectingLogger();
        using var collection = new ProjectCollection(globals);
        var parameters = new BuildParameters(collection)
        {
            Loggers = [new Microsoft.Build.Logging.BinaryLogger { Parameters = binlog }, collector],
            DisableInProcNode = false,
            EnableNodeReuse = false,
        };
        var request = new BuildRequestData(projectFile, globals, null, target.Split(';'), null);
        var result = BuildManager.DefaultBuildManager.Build(parameters, request);
        return new BuildOutcome(result.OverallResult == BuildResultCode.Success, collector.Errors, collector.Warnings, collector.Messages, binlog);
    }

    private sealed class CollectingLogger : ILogger
    {
        public List<BuildErrorEventArgs> Errors { get; } = new();
        public List<BuildWarningEventArgs> Warnings { get; } = new();
        public List<string> Messages { get; } = new();
        public LoggerVerbosity Verbosity { get; set; } = LoggerVerbosity.Normal;
        public string? Parameters { get; set; }

        public void Initialize(IEventSource eventSource)
        {
            eventSource.ErrorRaised += (_, e) => { lock (Errors) Errors.Add(e); };
            eventSource.WarningRaised += (_, e) => { lock (Warnings) Warnings.Add(e); };
            eventSource.MessageRaised += (_, e) => { if (e.Importance == MessageImportance.High) lock (Messages) Messages.Add(e.Message ?? ""); };
        }

        public void Shutdown() { }
    }
}
