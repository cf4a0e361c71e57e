using Microsoft.Build.Framework;
using SpineProd.Diagnostics;

namespace SpineProd.Tasks;

/// <summary>
/// Creates the production's intermediate folder and proves it writable before anything is written
/// there, so a read-only or full obj/ is SPN0001 naming the folder, not a task's stack trace.
/// </summary>
public sealed class PrepareIntermediateDir : Microsoft.Build.Utilities.Task
{
    [Required] public string Directory { get; set; } = "";
    [Required] public string ProjectFile { get; set; } = "";

    public override bool Execute()
    {
        var probe = Path.Combine(Directory, $".spineprod-write-test-{Environment.ProcessId}");
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && File.Exists(Path.Combine(Directory, "plan.json")))
        {
            // A colleague who may only read the production: an up-to-date plan needs no writing
            // (Status), and a stale one fails where it is written, with SPN0001 naming the file.
            Log.LogMessage(MessageImportance.Low, "SpineProd: {0} is not writable ({1}); the plan there is used as long as it is up to date.", Directory, TaskLogging.OneLine(e.Message));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogError(null, "SPN0001", null, ProjectFile, 0, 0, 0, 0, "{0}",
                $"Cannot write the plan into '{Directory}': {TaskLogging.OneLine(e.InnerException?.Message ?? e.Message)} ({e.GetType().Name}). Make the folder writable, or set SpineProdIntermediateDir to one that is.");
        }
        return !Log.HasLoggedErrors;
    }
}
