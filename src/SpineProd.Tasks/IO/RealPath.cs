namespace SpineProd.IO;

/// <summary>
/// Paths as the file system sees them. HPC home and group folders are often reached through a
/// symbolic link (/home/u -> /sdf/home/u/u), so two spellings of one folder compare equal only
/// once both are resolved: every comparison that decides what may be deleted goes through here.
/// </summary>
public static class RealPath
{
    /// <summary>The full path with every existing symbolic link on it resolved (a missing tail is kept as written).</summary>
    public static string Of(string path)
    {
        var parts = Path.GetFullPath(path).Split('/', StringSplitOptions.RemoveEmptyEntries);
        string current = "/";
        for (int i = 0; i < parts.Length; i++)
        {
            string next = Path.Combine(current, parts[i]);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true);
                next = target is null ? next : Path.TrimEndingDirectorySeparator(Of(target.FullName));
            }
            else if (!info.Exists)
                return Path.Combine([next, .. parts[(i + 1)..]]);
            current = next;
        }
        return current;
    }

    /// <summary>Is <paramref name="dir"/> the folder <paramref name="path"/>, or a folder above it? (Paths as given; resolve them first.)</summary>
    public static bool IsSameOrAncestor(string dir, string path)
    {
        dir = Path.TrimEndingDirectorySeparator(dir);
        path = Path.TrimEndingDirectorySeparator(path);
        return dir == path || dir == "/" || path.StartsWith(dir + "/", StringComparison.Ordinal);
    }
}
