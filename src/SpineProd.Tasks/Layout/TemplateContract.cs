using SpineProd.Diagnostics;
using SpineProd.IO;

namespace SpineProd.Layout;

/// <summary>
/// What a job or cleanup template must do for Status, resubmission and Cleanup to see its work, checked
/// on every script the build renders. A site's own template that breaks it fails the build at the
/// template (SPN0040–SPN0044), instead of Status silently never counting a task done or pointing at
/// logs that are not there. The checks read the rendered script for the paths the renderer handed
/// the template (<see cref="ProductionLayout"/>): they catch a template that leaves out or moves a
/// path; the contract tests run the shipped templates to show the paths are also written.
/// </summary>
public static class TemplateContract
{
    /// <summary>What a job script must contain, as the renderer handed it to the template.</summary>
    public sealed record JobExpectations(
        string MarkerDir,      // the stage's marker folder (ProductionLayout.MarkerDir)
        string ChunkFile,      // the array's chunk list, relative to the job folder
        string JobName,        // the array's job name, in its SLURM log names
        string? OwnerLine);    // set when the stage has a Cleanup: the output folder's ownership record must be written

    /// <summary>Throws the first breach of the contract by <paramref name="script"/>, rendered from the template at <paramref name="templatePath"/> for <paramref name="scheduler"/>.</summary>
    public static void CheckJob(string script, JobExpectations expect, Scheduler.ISchedulerDialect scheduler, string templatePath, string templateText)
    {
        if (!Mentions(script, expect.MarkerDir) || !script.Contains(ProductionLayout.MarkerSuffix, StringComparison.Ordinal))
            throw Breach("SPN0040", templatePath, templateText, "marker_dir",
                $"writes no completion marker where Status reads it ({expect.MarkerDir}/<task>{ProductionLayout.MarkerSuffix}, listing the task's inputs, when SPINE exits 0): " +
                "Status would count no task done and every Submit would send every task again. Use {{ marker_dir_q }} as the SDK's templates/job.*.scriban do");
        if (!Mentions(script, expect.ChunkFile))
            throw Breach("SPN0042", templatePath, templateText, "chunk_file",
                $"does not read the task's inputs from the plan's chunk list ({expect.ChunkFile}, one line per array index): " +
                "the tasks Status and resubmission track would not be the ones that ran. Use {{ chunk_file_q }} as the SDK's templates/job.*.scriban do");
        CheckLogs(script, scheduler, templatePath, templateText, expect.JobName);
        if (expect.OwnerLine is { } owner && !(script.Contains(Planning.OwnedFolder.RecordName, StringComparison.Ordinal) && Mentions(script, owner)))
            throw Breach("SPN0043", templatePath, templateText, "owner_record",
                $"does not record that the stage's jobs created its output folder ({Planning.OwnedFolder.RecordName} naming the production), and the stage has a Cleanup: " +
                "the cleanup job would refuse the folder. Write the record with {{ owner_record }} and {{ owner_q }} as the SDK's templates/job.*.scriban do");
    }

    /// <summary>Throws the first breach of the contract by a rendered cleanup script.</summary>
    public static void CheckCleanup(string script, string ownerLine, Scheduler.ISchedulerDialect scheduler, string templatePath, string templateText)
    {
        if (!(script.Contains(Planning.OwnedFolder.RecordName, StringComparison.Ordinal) && Mentions(script, ownerLine)))
            throw Breach("SPN0044", templatePath, templateText, "owner_record",
                $"does not check the ownership record ({Planning.OwnedFolder.RecordName} naming the production) before it removes a folder: " +
                "it could remove a folder this production did not create. Check {{ owner_record }} against {{ owner_q }} as the SDK's templates/cleanup.*.scriban do");
        CheckLogs(script, scheduler, templatePath, templateText, null);
    }

    /// <summary>
    /// The scheduler's log directives (its <see cref="Scheduler.ISchedulerDialect.DirectivePrefix"/> lines:
    /// SLURM's <c>--output/--error</c>, PBS's <c>-o/-e</c>) send the logs where Status finds them: the
    /// dialect says what it names (an array's task logs: <paramref name="jobName"/>; a cleanup job: null).
    /// A scheduler whose scripts carry no directives names its logs itself: nothing to check.
    /// </summary>
    private static void CheckLogs(string script, Scheduler.ISchedulerDialect scheduler, string templatePath, string templateText, string? jobName)
    {
        if (scheduler.DirectivePrefix is not { } prefix) return;
        var directives = Directives(script, prefix);
        foreach (var error in new[] { false, true })
        {
            var (long_, short_) = scheduler.LogOption(error);
            string? value = null;
            foreach (var words in directives)
                value = OptionValue(words, long_, short_) ?? value;
            if (value is not null && value.StartsWith("./", StringComparison.Ordinal)) value = value[2..];
            if (value is not null && scheduler.LogDirectiveFindsLogs(value, jobName, error)) continue;
            throw Breach("SPN0041", templatePath, templateText, long_ ?? $"{prefix} {short_}",
                $"sends the {(error ? "error" : "output")} log {(value is null ? "nowhere SpineProd looks (the scheduler's default)" : $"to {value}")}, not where Status finds it: " +
                $"write {scheduler.LogDirectiveExample(jobName, error)} (the job folder's {ProductionLayout.Job.Logs}/ folder; the SDK's templates/job.{scheduler.ScriptExtension}.scriban shows it)");
        }
    }

    /// <summary>The words of a script's directives with <paramref name="prefix"/>, before the first command (as sbatch and qsub read them).</summary>
    private static List<IReadOnlyList<string>> Directives(string script, string prefix)
    {
        var found = new List<IReadOnlyList<string>>();
        foreach (var raw in script.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length > 0 && !line.StartsWith('#')) break;
            if (line.StartsWith(prefix + " ", StringComparison.Ordinal) || line.StartsWith(prefix + "\t", StringComparison.Ordinal))
            {
                try { found.Add(ShellQuote.SplitWords(line[prefix.Length..])); }
                catch (FormatException) { }   // unbalanced quotes: the scheduler refuses the line too
            }
        }
        return found;
    }

    /// <summary>The value of <c>--name=V</c>, <c>--name V</c>, <c>-x V</c> or <c>-xV</c> in one directive's words (the last one wins).</summary>
    private static string? OptionValue(IReadOnlyList<string> words, string? longName, string shortName)
    {
        string? value = null;
        for (int i = 0; i < words.Count; i++)
        {
            var w = words[i];
            if (longName is not null && w.StartsWith(longName + "=", StringComparison.Ordinal)) value = w[(longName.Length + 1)..];
            else if ((w == longName || w == shortName) && i + 1 < words.Count) value = words[++i];
            else if (w.StartsWith(shortName, StringComparison.Ordinal) && w.Length > shortName.Length && !w.StartsWith("--", StringComparison.Ordinal)) value = w[shortName.Length..];
        }
        return value;
    }

    /// <summary>The script names the path, as the renderer quotes it for bash or as it is.</summary>
    private static bool Mentions(string script, string value) =>
        script.Contains(ShellQuote.Literal(value), StringComparison.Ordinal) || script.Contains(value, StringComparison.Ordinal);

    private static SpineProdException Breach(string code, string templatePath, string templateText, string near, string what)
    {
        int line = 0;
        var lines = templateText.Split('\n');
        for (int i = 0; i < lines.Length && line == 0; i++)
            if (lines[i].Contains(near, StringComparison.Ordinal)) line = i + 1;
        return new SpineProdException(code, $"The template {Path.GetFileName(templatePath)} {what}.", templatePath, line, line > 0 ? 1 : 0);
    }
}
