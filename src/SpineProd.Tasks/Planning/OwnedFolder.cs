using SpineProd.IO;

namespace SpineProd.Planning;

/// <summary>
/// The record of a folder this production created. The job that creates a stage's output folder
/// (with <c>mkdir</c>, which only one task can win) writes <c>.spineprod-owner</c> into it, atomically,
/// naming the production; a folder that existed before is never recorded. A Cleanup removes only
/// recorded folders: the build refuses the others (SPN4015) and the cleanup job checks again.
/// </summary>
public static class OwnedFolder
{
    public const string RecordName = ".spineprod-owner";
    private const int MaxRecordBytes = 64 * 1024;

    /// <summary>The record's first line: the production, by the real path of its .spineproj (one production, however it is reached).</summary>
    public static string OwnerLine(string productionFile) => "production=" + RealPath.Of(productionFile);

    /// <summary>Does <paramref name="folder"/> carry a record whose first line is <paramref name="ownerLine"/>? (A regular file, not a link, size-capped.)</summary>
    public static bool IsOwnedBy(string folder, string ownerLine)
    {
        var record = Path.Combine(folder, RecordName);
        if (new FileInfo(record).LinkTarget is not null) return false;
        try
        {
            using var reader = new StringReader(SafeFile.ReadAllText(record, MaxRecordBytes));
            return reader.ReadLine() == ownerLine;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.DecoderFallbackException)
        {
            return false;   // missing, a FIFO or device, too large, unreadable: not a record
        }
    }
}
