using Microsoft.Build.Logging.StructuredLogger;

namespace SpineProd.Audit;

/// <summary>One build that changed something on the cluster, as History shows it.</summary>
public sealed record HistoryRow(string? Binlog, AuditRecord Record);

/// <summary>
/// The audit trail. Every command-line build of a production leaves a binlog in the staging
/// folder (productions/Directory.Build.rsp: <c>-bl:…/jobs/.binlogs/{}.binlog</c>). Filing keeps the
/// binlogs of builds that changed something on the cluster (they carry an <see cref="AuditRecord"/>)
/// in their production's <c>binlogs/</c> folder, and deletes the others (plans and previews).
/// </summary>
public static class BinlogArchive
{
    public sealed record FilingResult(List<string> Filed, int Deleted, List<(string File, string Problem)> Damaged);

    public static FilingResult File(string stagingDir)
    {
        var result = new FilingResult(new(), 0, new());
        if (!Directory.Exists(stagingDir)) return result;
        // Builds of several productions share the staging folder: one files at a time (an OS lock,
        // gone with its process), and a binlog another one already filed is simply no longer there.
        FileStream? filing;
        try { filing = LockFiling(stagingDir); }
        catch (UnauthorizedAccessException) { return result; }   // a colleague who may only read files nothing
        using var _ = filing;
        if (filing is null) return result;
        int deleted = 0;
        foreach (var binlog in Directory.EnumerateFiles(stagingDir, "*.binlog").Order(StringComparer.Ordinal).ToList())
        {
            // A build still running (this one, or another at the same time) is still writing its
            // binlog: MSBuild names it <time>--<pid>--<random>, so a live pid means "not yet".
            if (WriterIsAlive(binlog) || !System.IO.File.Exists(binlog)) continue;
            try
            {
                var (records, problem) = Read(binlog);
                if (problem is not null)
                {
                    // A writer that died without finishing, or a damaged file: kept aside, reported once.
                    var damagedDir = Path.Combine(stagingDir, "damaged");
                    Directory.CreateDirectory(damagedDir);
                    System.IO.File.Move(binlog, Path.Combine(damagedDir, Path.GetFileName(binlog)), overwrite: true);
                    result.Damaged.Add((binlog, problem));
                    continue;
                }
                var first = records.FirstOrDefault();
                if (first is null || first.StateDir.Length == 0)
                {
                    System.IO.File.Delete(binlog);
                    deleted++;
                    continue;
                }
                var dir = new Layout.ProductionLayout(first.StateDir).Binlogs;
                Directory.CreateDirectory(dir);
                var name = $"{first.Time.UtcDateTime:yyyyMMdd_HHmmss}_{string.Join("+", records.Select(r => r.Action).Distinct())}";
                var target = Path.Combine(dir, name + ".binlog");
                for (int n = 2; System.IO.File.Exists(target); n++) target = Path.Combine(dir, $"{name}_{n}.binlog");
                System.IO.File.Move(binlog, target);
                result.Filed.Add(target);
            }
            catch (FileNotFoundException)
            {
                // Filed meanwhile by a build that does not take the lock (an older SpineProd).
            }
            catch (UnauthorizedAccessException)
            {
                // Another user's binlog, or a state folder this user may not write: left for its owner.
            }
        }
        return result with { Deleted = deleted };
    }

    /// <summary>The filing lock, or null when another build holds it past a short wait (it is filing for us).</summary>
    private static FileStream? LockFiling(string stagingDir)
    {
        var path = Path.Combine(stagingDir, ".filing.lock");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    private static bool WriterIsAlive(string binlog)
    {
        var match = System.Text.RegularExpressions.Regex.Match(Path.GetFileName(binlog), @"--(\d+)--");
        return match.Success && Directory.Exists($"/proc/{match.Groups[1].Value}");
    }

    /// <summary>The audit records of one binlog, or why it cannot be read.</summary>
    public static (List<AuditRecord> Records, string? Problem) Read(string binlog)
    {
        // The reader returns what it can of a truncated log without complaint, so check first that
        // the log is whole: a binlog is one gzip stream, whose trailer holds its CRC-32 and length.
        if (GzipProblem(binlog) is { } damaged) return ([], damaged);
        Build build;
        try
        {
            build = BinaryLog.ReadBuild(binlog);
        }
        catch (Exception e)
        {
            return ([], $"{e.GetType().Name}: {e.Message}");
        }
        var records = new List<AuditRecord>();
        foreach (var message in build.FindChildrenRecursive<Message>(m => m.Text?.StartsWith(AuditRecord.MessagePrefix, StringComparison.Ordinal) == true))
        {
            AuditRecord? record;
            try { record = AuditRecord.FromMessage(message.Text); }
            catch (System.Text.Json.JsonException e) { return ([], $"an audit record is not valid JSON ({e.Message})"); }
            if (record is not null) records.Add(record);
        }
        return (records, null);
    }

    private static string? GzipProblem(string path)
    {
        try
        {
            using var file = System.IO.File.OpenRead(path);
            if (file.Length < 18) return "the binlog is truncated";
            var trailer = new byte[8];
            file.Seek(-8, SeekOrigin.End);
            file.ReadExactly(trailer);
            file.Seek(0, SeekOrigin.Begin);
            using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
            var buffer = new byte[1 << 16];
            uint crc = 0xFFFFFFFF;
            long length = 0;
            int n;
            while ((n = gzip.Read(buffer, 0, buffer.Length)) > 0)
            {
                length += n;
                for (int i = 0; i < n; i++) crc = CrcTable[(crc ^ buffer[i]) & 0xFF] ^ (crc >> 8);
            }
            crc ^= 0xFFFFFFFF;
            return BitConverter.ToUInt32(trailer, 0) == crc && BitConverter.ToUInt32(trailer, 4) == (uint)length
                ? null : "the binlog is truncated or damaged (its gzip checksum does not match)";
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return $"the binlog is damaged ({e.Message})";
        }
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The production's history, newest first; unreadable or foreign binlogs are reported, not fatal.</summary>
    public static (List<HistoryRow> Rows, List<(string File, string Problem)> Skipped) History(string stateDir)
    {
        var rows = new List<HistoryRow>();
        var skipped = new List<(string, string)>();
        var dir = new Layout.ProductionLayout(stateDir).Binlogs;
        if (!Directory.Exists(dir)) return (rows, skipped);
        foreach (var binlog in Directory.EnumerateFiles(dir, "*.binlog"))
        {
            var (records, problem) = Read(binlog);
            if (problem is not null) { skipped.Add((binlog, problem)); continue; }
            var foreign = records.Where(r => r.Format != AuditRecord.CurrentFormat).ToList();
            if (foreign.Count > 0)
                skipped.Add((binlog, $"written by another SpineProd version (audit format {foreign[0].Format}, this one reads {AuditRecord.CurrentFormat})"));
            rows.AddRange(records.Where(r => r.Format == AuditRecord.CurrentFormat).Select(r => new HistoryRow(binlog, r)));
            if (records.Count == 0) skipped.Add((binlog, "it records no submission or cancellation"));
        }
        rows.Sort((a, b) => b.Record.Time.CompareTo(a.Record.Time));
        return (rows, skipped);
    }
}
