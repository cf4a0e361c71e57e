using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SpineProd.IO;

/// <summary>A file a user named that SpineProd will not read: not a regular file, or too large.</summary>
public sealed class FileRefusedException(string path, string reason) : IOException($"{path}: {reason}")
{
    public string Path { get; } = path;
    /// <summary>Why, as the end of a sentence: "it is a FIFO (named pipe), not a regular file".</summary>
    public string Reason { get; } = reason;
}

/// <summary>One version of a file (<see cref="SafeFile.Identify"/>): a file rewritten, replaced or touched has another.</summary>
public readonly record struct FileIdentity(uint Type, ulong Inode, long Size, long MtimeNs, long CtimeNs)
{
    public bool IsRegularFile => Type == 0x8000;
}

/// <summary>
/// The one way SpineProd opens a file a user named (configs and their includes, profiles, pipelines,
/// source lists, completion markers): regular files only, checked before opening and again on what
/// was opened, opened without blocking (a FIFO with no writer would hang the build), and read to
/// at most a size cap (a device such as /dev/zero, or a 2 GB file, never fills memory).
/// </summary>
public static class SafeFile
{
    /// <summary>The cap for YAML the build reads whole: configs, includes, profiles, pipelines (SPINE's own are kilobytes).</summary>
    public const long YamlMaxBytes = 16L << 20;
    /// <summary>The cap for a completion marker (the paths of one task's inputs).</summary>
    public const long MarkerMaxBytes = 16L << 20;

    /// <summary>Opens <paramref name="path"/> for reading, or throws <see cref="FileRefusedException"/> (or the usual IOException).</summary>
    public static FileStream OpenRead(string path, long maxBytes = long.MaxValue)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Elsewhere: what .NET can see. Directories and sizes are refused; devices are bounded by the cap.
            var info = new FileInfo(path);
            if (Directory.Exists(path)) throw new FileRefusedException(path, "it is a folder, not a regular file");
            if (info.Exists && info.Length > maxBytes) throw TooLarge(path, info.Length, maxBytes);
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        // Before opening: opening a device can itself do something.
        if (Stat(path, -100 /* AT_FDCWD */, 0) is { } before) Refuse(path, before, maxBytes);
        int fd = open(path, OpenReadOnly | OpenNonBlocking | OpenCloseOnExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == 2 /* ENOENT */) throw new FileNotFoundException($"Could not find file '{path}'.", path);
            if (errno == 20 /* ENOTDIR */) throw new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
            if (errno is 1 or 13 /* EPERM, EACCES */) throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.");
            throw new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            // Again on what was opened: the path may have been replaced in between.
            if (Stat("", fd, 0x1000 /* AT_EMPTY_PATH */) is { } opened) Refuse(path, opened, maxBytes);
            return new FileStream(handle, FileAccess.Read, 1);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The whole file as text, at most <paramref name="maxBytes"/> of it (more is refused).</summary>
    public static string ReadAllText(string path, long maxBytes, Encoding? encoding = null)
    {
        using var stream = OpenRead(path, maxBytes);
        var bytes = ReadBounded(stream, path, maxBytes);
        encoding ??= new UTF8Encoding(false, throwOnInvalidBytes: true);
        var preamble = encoding.GetPreamble();
        int skip = preamble.Length > 0 && bytes.AsSpan().StartsWith(preamble) ? preamble.Length : 0;
        if (skip == 0 && bytes.AsSpan().StartsWith("\uFEFF"u8)) skip = 3; // UTF-8 BOM, as File.ReadAllText skips it
        return encoding.GetString(bytes, skip, bytes.Length - skip);
    }

    private static byte[] ReadBounded(Stream stream, string path, long maxBytes)
    {
        var buffer = new MemoryStream();
        // a rented chunk: a Status reads a million small markers through here
        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int n;
            while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > maxBytes) throw TooLarge(path, null, maxBytes);
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(chunk); }
        return buffer.ToArray();
    }

    private static void Refuse(string path, (uint Type, ulong Size) stat, long maxBytes)
    {
        var kind = stat.Type switch
        {
            0x8000 => null,                               // S_IFREG
            0x4000 => "a folder",                         // S_IFDIR
            0x1000 => "a FIFO (named pipe)",              // S_IFIFO
            0x2000 => "a character device",               // S_IFCHR
            0x6000 => "a block device",                   // S_IFBLK
            0xC000 => "a socket",                         // S_IFSOCK
            _ => "not a regular file",
        };
        if (kind is not null) throw new FileRefusedException(path, $"it is {kind}, not a regular file");
        if (stat.Size > (ulong)maxBytes) throw TooLarge(path, (long)Math.Min(stat.Size, long.MaxValue), maxBytes);
    }

    private static FileRefusedException TooLarge(string path, long? size, long maxBytes) =>
        new(path, $"it is {(size is { } s ? Megabytes(s) : "more than " + Megabytes(maxBytes))}, larger than the {Megabytes(maxBytes)} such a file may be");

    private static string Megabytes(long bytes) => bytes >= 1 << 20
        ? (bytes / (double)(1 << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";

    // ---------------------------------------------------------------- Linux system calls

    private const int OpenReadOnly = 0, OpenNonBlocking = 0x800, OpenCloseOnExec = 0x80000;

    /// <summary>statx (one layout on every Linux architecture): file type bits and size, or null if statx is unavailable.</summary>
    private static (uint Type, ulong Size)? Stat(string path, int dirFd, int flags)
    {
        try
        {
            var buffer = new byte[256];
            if (statx(dirFd, path, flags, 0x201 /* STATX_TYPE | STATX_SIZE */, buffer) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == 38 /* ENOSYS */) return null;
                return null; // missing or unreadable: open reports it precisely
            }
            uint mode = BitConverter.ToUInt16(buffer, 28);
            return (mode & 0xF000, BitConverter.ToUInt64(buffer, 40));
        }
        catch (EntryPointNotFoundException) { return null; }
    }

    /// <summary>
    /// What tells one version of a file from another without reading it: its type, inode, size and
    /// modification and change times (nanoseconds). Null when it does not exist, cannot be stat'ed,
    /// or this is not Linux (callers then read the file). Follows symbolic links, as opening does.
    /// </summary>
    public static FileIdentity? Identify(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var b = new StatxBuffer();
            // STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE
            if (statx(-100 /* AT_FDCWD */, path, 0, 0x3C3, ref b) != 0) return null;
            return new FileIdentity((uint)(b.Mode & 0xF000), b.Inode, (long)b.Size,
                b.MtimeSec * 1_000_000_000 + b.MtimeNsec, b.CtimeSec * 1_000_000_000 + b.CtimeNsec);
        }
        catch (EntryPointNotFoundException) { return null; }
    }

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(96)] public long CtimeSec;
        [FieldOffset(104)] public uint CtimeNsec;
        [FieldOffset(112)] public long MtimeSec;
        [FieldOffset(120)] public uint MtimeNsec;
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "statx")]
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, ref StatxBuffer buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
}
