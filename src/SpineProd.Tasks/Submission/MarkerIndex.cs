using System.Security.Cryptography;
using System.Text;
using SpineProd.IO;
using SpineProd.Planning;

namespace SpineProd.Submission;

/// <summary>
/// The completion markers of one stage that a Status already opened and found to list exactly the
/// task's inputs (<c>&lt;state dir&gt;/markers/&lt;stage&gt;.verified</c>, binary, written whole and
/// atomically). Per marker it keeps the file's identity (inode, size, modification and change time
/// in nanoseconds) and a hash of the chunk-list line it was checked against; per array, the identity
/// of that chunk list. A later Status trusts an entry only while the marker file is unchanged and
/// the task's inputs are the ones checked (its chunk list unchanged, or its line hashing the same):
/// anything else reads the marker again. A marker changed less than <see cref="RacyWindow"/> before
/// it was looked at is not recorded (a rewrite within the file system's time resolution would keep
/// its identity), and an index that cannot be read is ignored: it only ever saves work.
/// </summary>
public sealed class MarkerIndex
{
    private static readonly byte[] Magic = "SPNMIDX1"u8.ToArray();
    private static readonly byte[] End = "SPNMEND1"u8.ToArray();
    /// <summary>How recent a marker's change may be for its verification to be recorded.</summary>
    public static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);

    private struct Entry
    {
        public bool Set;
        public ulong Inode;
        public long Size, MtimeNs, CtimeNs;
        public ulong InputsHash;
    }

    private readonly record struct ChunkId(int FirstTask, int TaskCount, ulong PathHash, FileIdentity File);

    private Entry[] _entries;
    private readonly ChunkId?[] _chunksThen;
    private readonly ChunkId?[] _chunksNow;
    private readonly long _nowNs;
    private int _loaded, _kept;

    public bool Changed { get; private set; }
    /// <summary>Entries trusted without opening the marker (for the phase log and tests).</summary>
    public int Trusted;

    private MarkerIndex(int tasks, ChunkId?[] then, ChunkId?[] now, DateTimeOffset clock)
    {
        _entries = new Entry[tasks];
        _chunksThen = then;
        _chunksNow = now;
        _nowNs = (clock.UtcTicks - DateTime.UnixEpoch.Ticks) * 100;
    }

    /// <summary>The index of <paramref name="stage"/> at <paramref name="path"/> against its chunk lists as they are now (an empty one when there is none or it is unreadable).</summary>
    public static MarkerIndex Load(string path, StagePlan stage, ChunkLists inputs, DateTimeOffset now)
    {
        int tasks = stage.Arrays.Count == 0 ? 0 : stage.Arrays.Max(a => a.FirstTask + a.TaskCount);
        var current = new ChunkId?[stage.Arrays.Count];
        for (int a = 0; a < current.Length; a++)
            if (inputs.Identities[a] is { } id)
                current[a] = new ChunkId(stage.Arrays[a].FirstTask, stage.Arrays[a].TaskCount, PathHash(inputs.File(a)), id);
        var then = new ChunkId?[current.Length];
        var index = new MarkerIndex(tasks, then, current, now);
        try
        {
            if (File.Exists(path)) index.Read(path, then);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentException)
        {
            index._entries = new Entry[tasks];
            Array.Clear(then);
            index._loaded = 0;
            index.Changed = true;
        }
        return index;
    }

    private void Read(string path, ChunkId?[] then)
    {
        using var fs = SafeFile.OpenRead(path);
        using var r = new BinaryReader(new BufferedStream(fs, 1 << 16));
        if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic)) throw new FormatException("not a marker index");
        int arrays = r.ReadInt32();
        for (int i = 0; i < arrays; i++)
        {
            int position = r.ReadInt32();
            var id = new ChunkId(r.ReadInt32(), r.ReadInt32(), r.ReadUInt64(),
                new FileIdentity(r.ReadUInt32(), r.ReadUInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64()));
            if (position >= 0 && position < then.Length) then[position] = id;
        }
        int n = r.ReadInt32();
        for (int i = 0; i < n; i++)
        {
            int task = r.ReadInt32();
            var e = new Entry { Set = true, Inode = r.ReadUInt64(), Size = r.ReadInt64(), MtimeNs = r.ReadInt64(), CtimeNs = r.ReadInt64(), InputsHash = r.ReadUInt64() };
            if (task >= 0 && task < _entries.Length) { _entries[task] = e; _loaded++; }
        }
        if (!r.ReadBytes(End.Length).AsSpan().SequenceEqual(End)) throw new FormatException("marker index cut short");
    }

    /// <summary>
    /// Whether the marker of <paramref name="task"/> (in array <paramref name="array"/>, now
    /// <paramref name="file"/>) was verified against the inputs it has now. The task's chunk-list
    /// line is read from <paramref name="inputs"/> only when that list changed since.
    /// </summary>
    public bool IsVerified(int task, int array, FileIdentity file, ChunkLists inputs)
    {
        ref var e = ref _entries[task];
        if (!e.Set || !file.IsRegularFile || e.Inode != file.Inode || e.Size != file.Size || e.MtimeNs != file.MtimeNs || e.CtimeNs != file.CtimeNs)
            return false;
        var now = _chunksNow[array];
        if (now is null) return false;
        if (_chunksThen[array] != now && e.InputsHash != Hash(inputs.Line(task))) return false;
        Interlocked.Increment(ref Trusted);
        return true;
    }

    /// <summary>Records that the marker <paramref name="file"/> of <paramref name="task"/> lists exactly the inputs of <paramref name="line"/>.</summary>
    public void Verified(int task, FileIdentity file, string line)
    {
        ref var e = ref _entries[task];
        bool racy = _nowNs - file.MtimeNs < RacyWindow.Ticks * 100 || _nowNs - file.CtimeNs < RacyWindow.Ticks * 100;
        if (racy || !file.IsRegularFile) { Forget(task); return; }
        e = new Entry { Set = true, Inode = file.Inode, Size = file.Size, MtimeNs = file.MtimeNs, CtimeNs = file.CtimeNs, InputsHash = Hash(line) };
        Changed = true;
    }

    /// <summary>The marker is gone, changed or wrong: nothing about it is kept.</summary>
    public void Forget(int task)
    {
        if (!_entries[task].Set) return;
        _entries[task] = default;
        Changed = true;
    }

    /// <summary>Keeps only the tasks in <paramref name="present"/> (markers that exist now).</summary>
    public void KeepOnly(Func<int, bool> present)
    {
        _kept = 0;
        for (int t = 0; t < _entries.Length; t++)
        {
            if (!_entries[t].Set) continue;
            if (present(t)) _kept++;
            else { _entries[t] = default; Changed = true; }
        }
        if (_kept != _loaded) Changed = true;
        for (int a = 0; a < _chunksNow.Length; a++) if (_chunksThen[a] != _chunksNow[a]) Changed = true;
    }

    /// <summary>Writes the index (atomically); a state folder this user may only read keeps none.</summary>
    public void Save(string path)
    {
        try
        {
            AtomicFile.Write(path, stream =>
            {
                // the buffer is flushed, never disposed: AtomicFile closes the stream itself
                var buffered = new BufferedStream(stream, 1 << 16);
                var w = new BinaryWriter(buffered, Encoding.UTF8, leaveOpen: true);
                w.Write(Magic);
                int arrays = _chunksNow.Count(c => c is not null);
                w.Write(arrays);
                for (int a = 0; a < _chunksNow.Length; a++)
                {
                    if (_chunksNow[a] is not { } c) continue;
                    w.Write(a); w.Write(c.FirstTask); w.Write(c.TaskCount); w.Write(c.PathHash);
                    w.Write(c.File.Type); w.Write(c.File.Inode); w.Write(c.File.Size); w.Write(c.File.MtimeNs); w.Write(c.File.CtimeNs);
                }
                int n = 0;
                foreach (var e in _entries) if (e.Set) n++;
                w.Write(n);
                for (int t = 0; t < _entries.Length; t++)
                {
                    ref var e = ref _entries[t];
                    if (!e.Set) continue;
                    w.Write(t); w.Write(e.Inode); w.Write(e.Size); w.Write(e.MtimeNs); w.Write(e.CtimeNs); w.Write(e.InputsHash);
                }
                w.Write(End);
                w.Flush();
                buffered.Flush();
            }, durable: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The first 8 bytes of the SHA-256 of a chunk-list line (without its line break).</summary>
    public static ulong Hash(string line)
    {
        line = line.TrimEnd('\r');
        Span<byte> digest = stackalloc byte[32];
        int max = Encoding.UTF8.GetMaxByteCount(line.Length);
        byte[]? rented = max > 1024 ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> bytes = rented ?? stackalloc byte[1024];
        int n = Encoding.UTF8.GetBytes(line, bytes);
        SHA256.HashData(bytes[..n], digest);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        return BitConverter.ToUInt64(digest);
    }

    private static ulong PathHash(string path) => Hash(Path.GetFullPath(path));
}
