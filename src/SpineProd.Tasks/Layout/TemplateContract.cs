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

    /// <summary>Throws the first breach of the contract by <paramref name="script"/>, rendered from the template at <paramref name="templatePath"/>.</summary>
    public static void CheckJob(string script, JobExpectations expect, string templatePath, string templateText)
    {
        if (!Mentions(script, expect.MarkerDir) || !script.Contains(ProductionLayout.MarkerSuffix, StringComparison.Ordinal))
            throw Breach("SPN0040", templatePath, templateText, "marker_dir",
                $"writes no completion marker where Status reads it ({expect.MarkerDir}/<task>{ProductionLayout.MarkerSuffix}, listing the task's inputs, when SPINE exits 0): " +
                "Status would count no task done and every Submit would send every task again. Use {{ marker_dir_q }} as templates/job.sbatch.scriban does");
        if (!Mentions(script, expect.ChunkFile))
            throw Breach("SPN0042", templatePath, templateText, "chunk_file",
                $"does not read the task's inputs from the plan's chunk list ({expect.ChunkFile}, one line per array index): " +
                "the tasks Status and resubmission track would not be the ones that ran. Use {{ chunk_file_q }} as templates/job.sbatch.scriban does");
        CheckLogs(script, templatePath, templateText, expect.JobName,
            ProductionLayout.Job.SlurmTaskLog(expect.JobName, "out"), ProductionLayout.Job.SlurmTaskLog(expect.JobName, "err"), exact: true);
        if (expect.OwnerLine is { } owner && !(script.Contains(Planning.OwnedFolder.RecordName, StringComparison.Ordinal) && Mentions(script, owner)))
            throw Breach("SPN0043", templatePath, templateText, "owner_record",
                $"does not record that the stage's jobs created its output folder ({Planning.OwnedFolder.RecordName} naming the production), and the stage has a Cleanup: " +
                "the cleanup job would refuse the folder. Write the record with {{ owner_record }} and {{ owner_q }} as templates/job.sbatch.scriban does");
    }

    /// <summary>Throws the first breach of the contract by a rendered cleanup script.</summary>
    public static void CheckCleanup(string script, string ownerLine, string templatePath, string templateText)
    {
        if (!(script.Contains(Planning.OwnedFolder.RecordName, StringComparison.Ordinal) && Mentions(script, ownerLine)))
            throw Breach("SPN0044", templatePath, templateText, "owner_record",
                $"does not check the ownership record ({Planning.OwnedFolder.RecordName} naming the production) before it removes a folder: " +
                "it could remove a folder this production did not create. Check {{ owner_record }} against {{ owner_q }} as templates/cleanup.sbatch.scriban does");
        CheckLogs(script, templatePath, templateText, null, ProductionLayout.Job.Logs + "/", ProductionLayout.Job.Logs + "/", exact: false);
    }

    /// <summary>
    /// The scheduler's log directives: SLURM's <c>#SBATCH --output/--error</c> (also what the local
    /// scheduler reads), or PBS's <c>#PBS -o/-e</c> when the script has PBS directives. Exact: the
    /// task logs' names Status prints (SLURM's <c>%x</c> is the job name, so it may stand for it);
    /// otherwise a folder they must be in.
    /// </summary>
    private static void CheckLogs(string script, string templatePath, string templateText, string? jobName, string output, string error, bool exact)
    {
        var directives = Directives(script);
        bool pbs = directives.Any(d => d.Prefix == "#PBS") && !directives.Any(d => d.Prefix == "#SBATCH");
        foreach (var (stream, expected, long_, short_) in new[] { ("output", output, "--output", "-o"), ("error", error, "--error", "-e") })
        {
            string? value = null;
            foreach (var d in directives.Where(d => d.Prefix == (pbs ? "#PBS" : "#SBATCH")))
                value = OptionValue(d.Words, pbs ? null : long_, short_) ?? value;
            if (value is not null && value.StartsWith("./", StringComparison.Ordinal)) value = value[2..];
            if (value is not null && !pbs && jobName is not null) value = value.Replace("%x", jobName, StringComparison.Ordinal);
            bool ok = pbs ? value is not null && value.StartsWith(ProductionLayout.Job.Logs + "/", StringComparison.Ordinal)
                : exact ? value == expected : value is not null && value.StartsWith(expected, StringComparison.Ordinal);
            if (ok) continue;
            string want = pbs ? $"#PBS {short_} {ProductionLayout.Job.Logs}/" : exact ? $"#SBATCH {long_}={expected}" : $"#SBATCH {long_}={expected}<name>";
            throw Breach("SPN0041", templatePath, templateText, pbs ? $"#PBS {short_}" : long_,
                $"sends the {stream} log {(value is null ? "nowhere SpineProd looks (the scheduler's default)" : $"to {value}")}, not where Status finds it: " +
                $"write {want} (the job folder's {ProductionLayout.Job.Logs}/ folder; templates/job.sbatch.scriban and job.pbs.scriban show it)");
        }
    }

    private sealed record Directive(string Prefix, IReadOnlyList<string> Words);

    /// <summary>The scheduler directives of a script: its #SBATCH or #PBS lines before the first command (as sbatch and qsub read them).</summary>
    private static List<Directive> Directives(string script)
    {
        var found = new List<Directive>();
        foreach (var raw in script.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length > 0 && !line.StartsWith('#')) break;
            foreach (var prefix in new[] { "#SBATCH", "#PBS" })
                if (line.StartsWith(prefix + " ", StringComparison.Ordinal) || line.StartsWith(prefix + "\t", StringComparison.Ordinal))
                {
                    try { found.Add(new Directive(prefix, ShellQuote.SplitWords(line[prefix.Length..]))); }
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
