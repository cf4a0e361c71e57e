using System.Globalization;
using SpineProd.Diagnostics;

namespace SpineProd.Submission;

/// <summary>
/// Job folders (<c>&lt;JobsDir&gt;/&lt;time&gt;_&lt;job name&gt;/</c>) are built under a hidden temporary name in
/// the same folder and renamed when complete, so a full disk or a killed build never leaves a
/// half-copied folder that looks like a job folder. A failed build removes its partial copy; one
/// left by a killed process (its host and pid are in the name) is removed by the next Submit.
/// </summary>
public static class JobFolders
{
    /// <summary>Written first into every folder SpineProd builds: only folders carrying it are ever deleted by it.</summary>
    public const string OwnerMarker = Layout.ProductionLayout.Job.FolderMarker;
    private const string PartialPrefix = ".spineprod-partial_";

    /// <summary>
    /// Builds a folder with <paramref name="fill"/> under a temporary name, then renames it to
    /// <paramref name="baseName"/> (or <c>baseName_2</c>, ... when taken: never shared).
    /// </summary>
    public static string Create(string jobsDir, string baseName, Action<string> fill, string? productionFile)
    {
        var partial = Path.Combine(jobsDir, $"{PartialPrefix}{Environment.MachineName}_{Environment.ProcessId}_{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(partial);
            File.WriteAllText(Path.Combine(partial, OwnerMarker), baseName + "\n");
            fill(partial);
            for (int n = 1; ; n++)
            {
                var folder = Path.Combine(jobsDir, n == 1 ? baseName : $"{baseName}_{n}");
                if (Directory.Exists(folder) || File.Exists(folder)) continue;
                try
                {
                    Directory.Move(partial, folder);   // rename(2): the folder appears complete, or not at all
                    return folder;
                }
                catch (IOException) when (Directory.Exists(folder) || File.Exists(folder)) { } // taken in the same instant
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(partial);
            throw new SpineProdException("SPN3032",
                $"the job folder {Path.Combine(jobsDir, baseName)} could not be built ({e.Message}); its partial copy was removed and nothing was submitted from it. " +
                "Free space or fix permissions in JobsDir, then Submit again.", productionFile);
        }
    }

    /// <summary>
    /// Removes partial folders that a killed Submit on this host left behind (its process is gone).
    /// Those of other hosts (a shared file system) or of live processes are left alone: they are
    /// hidden, never in a ledger, and never read as job folders.
    /// </summary>
    public static void RemoveOrphans(string jobsDir, Action<string> log)
    {
        if (!Directory.Exists(jobsDir)) return;
        foreach (var dir in Directory.EnumerateDirectories(jobsDir, PartialPrefix + "*"))
        {
            // <host>_<pid>_<guid>; a host name may itself hold '_'
            var parts = Path.GetFileName(dir)[PartialPrefix.Length..].Split('_');
            if (parts.Length < 3 || string.Join('_', parts[..^2]) != Environment.MachineName) continue;
            if (!int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || IsAlive(pid)) continue;
            if (!File.Exists(Path.Combine(dir, OwnerMarker))) continue;
            TryDelete(dir);
            log($"removed {dir}, a job folder a killed Submit had not finished building");
        }
    }

    private static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
