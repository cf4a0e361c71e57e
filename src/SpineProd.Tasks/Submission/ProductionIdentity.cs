using SpineProd.Diagnostics;
using SpineProd.IO;

namespace SpineProd.Submission;

/// <summary>
/// Who a production is. Two productions with the same file name in different folders are different
/// productions, so state is keyed on <see cref="Key"/>: the name plus a short hash of the production
/// file's path relative to its repository root (computed at evaluation, SpineProd.State.targets). A
/// moved or symlinked checkout keeps its key; a second same-named production gets another. The key
/// names the default state folder (<c>jobs/&lt;Key&gt;/</c>) and is carried in every job's <c>--comment</c>.
/// </summary>
public sealed record ProductionIdentity(string Name, string Key, string ProductionFile, string RelativePath)
{
    /// <summary>The state folder is one SpineProd's first version used or the user named: a ledger with no owner recorded is accepted there.</summary>
    public bool AcceptsUnownedLedger { get; init; }

    /// <summary>The prefix of this production's job comments: <c>spineprod:&lt;key&gt;:</c>.</summary>
    public string CommentPrefix => $"spineprod:{CommentWord(Key)}:";

    /// <summary>What SpineProd's first version put in comments (the bare name); accepted only in state it proved is ours.</summary>
    public string LegacyCommentPrefix => $"spineprod:{CommentWord(Name)}:";

    /// <summary>A word that survives squeue/sacct output and shells: no blanks, '|' or quotes.</summary>
    public static string CommentWord(string s) => new(s.Select(c => char.IsWhiteSpace(c) || c is '|' or '"' or '\'' ? '_' : c).ToArray());

    /// <summary>
    /// Whether a production file recorded in state (a ledger, a job folder's metadata) is this one:
    /// the same file through symbolic links, or a file no longer there that had this production's
    /// place in its checkout (the checkout was moved).
    /// </summary>
    public bool IsThis(string? recordedFile)
    {
        if (string.IsNullOrEmpty(recordedFile)) return false;
        if (RealPath.Same(recordedFile, ProductionFile)) return true;
        return !File.Exists(recordedFile) && !Path.IsPathRooted(RelativePath)
            && recordedFile.Replace('\\', '/').EndsWith("/" + RelativePath, StringComparison.Ordinal);
    }

    /// <summary>Refuses (SPN3021) a ledger that another production wrote; see the README ("A production is one production").</summary>
    public void CheckOwner(Ledger ledger, string ledgerPath)
    {
        if (string.IsNullOrEmpty(ledger.Identity))
        {
            if (AcceptsUnownedLedger || ledger.Submissions.Count == 0) return;
            throw new SpineProdException("SPN3021",
                $"the ledger records no owner, so it was not written here for {Key}: it is a first-version ledger copied or restored into this production's state folder. " +
                $"Move {Path.GetDirectoryName(ledgerPath)} away to start this production afresh, or name the folder it came from with -p:SpineProdStateDir=... if it is this production's.",
                ledgerPath);
        }
        if (ledger.Identity != Key)
            throw new SpineProdException("SPN3021",
                $"the ledger belongs to production {ledger.Identity} ({ledger.ProductionFile}), not to {Key} ({ProductionFile}); it was copied or restored here, or SpineProdStateDir names another production's folder. " +
                $"Its jobs are not this production's: move {Path.GetDirectoryName(ledgerPath)} away (or point SpineProdStateDir elsewhere).",
                ledgerPath);
        if (!string.IsNullOrEmpty(ledger.ProductionFile) && !IsThis(ledger.ProductionFile))
            throw new SpineProdException("SPN3021",
                $"the ledger was written by {ledger.ProductionFile}, another production file with the same name and place in its checkout (a copy of this checkout?); its jobs are not this production's. " +
                $"Move {Path.GetDirectoryName(ledgerPath)} away to start this copy afresh, or give it its own JobsDir.",
                ledgerPath);
    }
}

/// <summary>Where a production keeps its state, and why there.</summary>
public sealed record StateFolderChoice(string Dir, ProductionIdentity Identity, string? Note, bool NoteIsWarning);

/// <summary>
/// Chooses the state folder when the user set no <c>SpineProdStateDir</c>:
/// <c>&lt;JobsDir&gt;&lt;Key&gt;/</c>, unless only a first-version folder <c>&lt;JobsDir&gt;&lt;name&gt;/</c> exists and its
/// ledger and job folders show it is this production's (then that one is kept: running jobs write
/// their markers and outputs there). A first-version folder that could be another same-named
/// production's is never adopted.
/// </summary>
public static class StateFolder
{
    public static StateFolderChoice Resolve(ProductionIdentity id, string jobsDir)
    {
        var keyed = WithSlash(Path.Combine(jobsDir, id.Key));
        var legacy = WithSlash(Path.Combine(jobsDir, id.Name));
        if (Directory.Exists(keyed) || !File.Exists(Ledger.PathIn(legacy))) return new StateFolderChoice(keyed, id, null, false);
        var (ours, why) = LegacyIsOurs(legacy, id);
        if (ours)
            return new StateFolderChoice(legacy, id with { AcceptsUnownedLedger = true },
                $"{id.Name}: keeping its state in {legacy} (SpineProd's first layout; {why})", false);
        return new StateFolderChoice(keyed, id,
            $"{legacy} holds state of a production named {id.Name} that is not shown to be this one ({why}); this production keeps its own in {keyed}. " +
            $"If that folder is this production's, set -p:SpineProdStateDir={legacy}", !why.StartsWith("submitted by ", StringComparison.Ordinal));
    }

    private static string WithSlash(string dir) => Path.TrimEndingDirectorySeparator(dir) + "/";

    /// <summary>Whether a first-version state folder is this production's: its ledger's job folders all say they were submitted from this file.</summary>
    private static (bool Ours, string Why) LegacyIsOurs(string legacy, ProductionIdentity id)
    {
        Ledger ledger;
        try { ledger = Ledger.Load(legacy, id.Name); }
        catch (Exception e) when (e is SpineProdException or IOException or UnauthorizedAccessException) { return (false, $"its ledger is unreadable: {e.Message}"); }
        if (!string.IsNullOrEmpty(ledger.Identity))
            return ledger.Identity == id.Key && (string.IsNullOrEmpty(ledger.ProductionFile) || id.IsThis(ledger.ProductionFile))
                ? (true, "its ledger names this production") : (false, $"submitted by {ledger.ProductionFile}");
        int proofs = 0;
        var folders = ledger.Submissions.SelectMany(s => s.Stages.Select(st => st.JobFolder).Concat(s.Cleanups.Select(c => c.JobFolder)));
        foreach (var folder in folders.Where(f => !string.IsNullOrEmpty(f)).Distinct())
        {
            var recorded = JobMetadata.ReadProductionFile(folder);
            if (recorded is null) continue;
            if (!id.IsThis(recorded)) return (false, $"submitted by {recorded}");
            proofs++;
        }
        return proofs > 0 ? (true, $"its {proofs} job folder(s) were submitted from this file") : (false, "no job folder of its ledger says which production submitted it");
    }
}
