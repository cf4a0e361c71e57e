using System.Runtime.InteropServices;

namespace SpineProd.IO;

/// <summary>
/// Paths with every symbolic link resolved (POSIX realpath), so one file reached through two paths
/// (a symlinked home or group folder) is recognised as one. A path that does not exist yet keeps its
/// missing tail under its deepest existing folder, resolved.
/// </summary>
public static class RealPath
{
    public static string Of(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (OperatingSystem.IsWindows()) return full;
        var tail = new Stack<string>();
        var existing = full;
        while (!File.Exists(existing) && !Directory.Exists(existing))
        {
            var parent = Path.GetDirectoryName(existing);
            if (parent is null) return full;
            tail.Push(Path.GetFileName(existing));
            existing = parent;
        }
        var resolved = Resolve(existing) ?? existing;
        while (tail.Count > 0) resolved = Path.Combine(resolved, tail.Pop());
        return resolved;
    }

    public static bool Same(string a, string b) => string.Equals(Of(a), Of(b), StringComparison.Ordinal);

    /// <summary>Is <paramref name="dir"/> the folder <paramref name="path"/>, or a folder above it? (Compares as given: resolve both first.)</summary>
    public static bool IsSameOrAncestor(string dir, string path)
    {
        dir = Path.TrimEndingDirectorySeparator(dir);
        path = Path.TrimEndingDirectorySeparator(path);
        return dir == path || dir == "/" || path.StartsWith(dir + "/", StringComparison.Ordinal);
    }

    private static string? Resolve(string path)
    {
        var p = realpath(path, IntPtr.Zero);
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { free(p); }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr p);
}
