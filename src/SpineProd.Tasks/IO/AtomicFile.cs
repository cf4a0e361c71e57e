using System.Text;

namespace SpineProd.IO;

/// <summary>
/// Every file SpineProd writes goes through here: written to a temporary file beside the target and
/// renamed over it, so a crash never leaves a half-written script, list or state file; and, for
/// plan outputs, not rewritten when the bytes are the same, so incremental builds keep timestamps.
/// </summary>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(false);

    /// <summary>
    /// Writes <paramref name="content"/> atomically unless the file already has exactly it (returns
    /// false then). For files that can be made again (the plan): not forced to disk.
    /// </summary>
    public static bool WriteIfChanged(string path, string content) => WriteIfChanged(path, Utf8NoBom.GetBytes(content));

    public static bool WriteIfChanged(string path, byte[] content)
    {
        if (File.Exists(path))
        {
            var info = new FileInfo(path);
            if (info.Length == content.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(content))
                return false;
        }
        Write(path, content, durable: false);
        return true;
    }

    /// <summary>
    /// Writes atomically. <paramref name="durable"/> (the default, for state such as job ids) also
    /// forces the bytes to disk before the rename, so a crash leaves the old file or the new one.
    /// </summary>
    public static void Write(string path, string content, bool durable = true) => Write(path, Utf8NoBom.GetBytes(content), durable);

    public static void Write(string path, byte[] content, bool durable = true) => Write(path, fs => fs.Write(content), durable);

    /// <summary>Writes atomically what <paramref name="write"/> streams (a file too large to build in memory first).</summary>
    public static void Write(string path, Action<Stream> write, bool durable = true)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: durable);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The system's words do not always name the file (EACCES on a rename, ENOSPC): SPN0001 always does.
            throw new Diagnostics.SpineProdException("SPN0001", $"{path} could not be written: {e.Message}", path, inner: e);
        }
        finally
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
