using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;

namespace SpineProd.Planning;

/// <summary>
/// A stage's input paths, in order, as UTF-8 bytes in one buffer, each with the file and line it
/// came from. A million inputs as .NET strings cost ~250 MB (UTF-16 plus object headers and a hash
/// set); here they cost their UTF-8 length plus 12 bytes each, and the chunk lists are written
/// straight from the buffer. Strings are made only for the few inputs a diagnostic names.
/// </summary>
internal sealed class InputStore
{
    private byte[] _bytes;
    private int _length;
    private int[] _starts;   // _starts[i]..(_starts[i + 1] or _length) is input i
    private int[] _fileIds;
    private int[] _lines;

    public InputStore(int expectedBytes = 4096, int expectedCount = 64)
    {
        _bytes = new byte[Math.Max(expectedBytes, 16)];
        _starts = new int[Math.Max(expectedCount, 4)];
        _fileIds = new int[_starts.Length];
        _lines = new int[_starts.Length];
    }

    public int Count { get; private set; }
    /// <summary>The files inputs came from (a .spineproj, a source list, a pipeline YAML), by id.</summary>
    public List<string> Files { get; } = new();

    public int FileId(string file)
    {
        int i = Files.IndexOf(file);
        if (i >= 0) return i;
        Files.Add(file);
        return Files.Count - 1;
    }

    public void Add(string path, int fileId, int line)
    {
        int max = Encoding.UTF8.GetMaxByteCount(path.Length);
        EnsureBytes(max);
        int written = Encoding.UTF8.GetBytes(path, _bytes.AsSpan(_length));
        Append(written, fileId, line);
    }

    /// <summary>Adds an input given as UTF-8 bytes (already validated by the caller).</summary>
    public void Add(ReadOnlySpan<byte> utf8, int fileId, int line)
    {
        EnsureBytes(utf8.Length);
        utf8.CopyTo(_bytes.AsSpan(_length));
        Append(utf8.Length, fileId, line);
    }

    private void Append(int length, int fileId, int line)
    {
        if (Count == _starts.Length) EnsureCount(Count);
        _starts[Count] = _length;
        _fileIds[Count] = fileId;
        _lines[Count] = line;
        _length += length;
        Count++;
    }

    private void EnsureCount(int more)
    {
        if (Count + more <= _starts.Length) return;
        int n = Math.Max(_starts.Length * 2, Count + more);
        Array.Resize(ref _starts, n);
        Array.Resize(ref _fileIds, n);
        Array.Resize(ref _lines, n);
    }

    private static int CountLines(Stream stream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int lines = 1, n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) lines += buffer.AsSpan(0, n).Count((byte)'\n');
            return lines;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void EnsureBytes(int more)
    {
        if (_length + more <= _bytes.Length) return;
        long wanted = Math.Max((long)_bytes.Length * 3 / 2, (long)_length + more);
        if (wanted > Array.MaxLength) throw new OutOfMemoryException("more than 2 GB of input paths in one stage");
        Array.Resize(ref _bytes, (int)wanted);
    }

    public ReadOnlySpan<byte> Bytes(int i) => _bytes.AsSpan(_starts[i], End(i) - _starts[i]);
    private int End(int i) => i + 1 < Count ? _starts[i + 1] : _length;

    public string this[int i] => Encoding.UTF8.GetString(Bytes(i));

    public (string File, int Line) Origin(int i) => (Files[_fileIds[i]], _lines[i]);

    /// <summary>The file name part (after the last '/').</summary>
    public ReadOnlySpan<byte> FileName(int i)
    {
        var b = Bytes(i);
        return b[(b.LastIndexOf((byte)'/') + 1)..];
    }

    /// <summary>Keeps the inputs whose flag is set, in order, in place.</summary>
    public void Compact(bool[] keep)
    {
        int to = 0, write = 0;
        for (int i = 0; i < Count; i++)
        {
            if (!keep[i]) continue;
            int start = _starts[i], length = End(i) - start;
            if (write != start) Buffer.BlockCopy(_bytes, start, _bytes, write, length);
            _starts[to] = write;
            _fileIds[to] = _fileIds[i];
            _lines[to] = _lines[i];
            write += length;
            to++;
        }
        Count = to;
        _length = write;
    }

    /// <summary>
    /// Writes inputs [first, first + count) as lines of up to <paramref name="perLine"/> comma-joined
    /// paths: the chunk-list format.
    /// </summary>
    public byte[] ChunkList(int first, int count, int perLine)
    {
        int end = first + count;
        int size = (count == 0 ? 0 : End(end - 1)) - (count == 0 ? 0 : _starts[first]) + count; // paths + one separator each
        var result = new byte[size];
        int at = 0;
        for (int i = first; i < end; i++)
        {
            var b = Bytes(i);
            b.CopyTo(result.AsSpan(at));
            at += b.Length;
            result[at++] = (i - first) % perLine == perLine - 1 || i == end - 1 ? (byte)'\n' : (byte)',';
        }
        return result;
    }

    /// <summary>Feeds every input, each ended by '\n', to a hash.</summary>
    public void HashInto(System.Security.Cryptography.IncrementalHash hash)
    {
        for (int i = 0; i < Count; i++)
        {
            hash.AppendData(Bytes(i));
            hash.AppendData("\n"u8);
        }
    }

    /// <summary>
    /// Reads a source list: one path a line, blank lines and # comments skipped, whitespace trimmed,
    /// relative paths made absolute against <paramref name="baseDir"/>. Streams the file, so its
    /// size does not matter. Returns an error (and the line) for a file that is not UTF-8 text.
    /// A byte-order mark starting any line (lists joined with <c>cat</c>) is dropped; one inside a
    /// path is an error at its line. A FIFO or a device is an <see cref="IO.FileRefusedException"/>.
    /// </summary>
    public (string Problem, int Line)? ReadList(string path, string baseDir, int fileId)
    {
        using var stream = IO.SafeFile.OpenRead(path);
        // Sized once from the file (bytes) and a first pass counting its lines (entries), so that a
        // million inputs do not leave a trail of outgrown arrays behind.
        EnsureBytes((int)Math.Min(stream.Length, Array.MaxLength / 2));
        EnsureCount(CountLines(stream));
        stream.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int carry = 0, lineNo = 0;
            bool first = true;
            while (true)
            {
                int read = stream.Read(buffer, carry, buffer.Length - carry);
                int filled = carry + read;
                bool eof = read == 0;
                var data = buffer.AsSpan(0, filled);
                if (first && data.StartsWith("\uFEFF"u8)) { data = data[3..]; }
                first = false;
                int consumed = 0;
                while (true)
                {
                    int nl = data[consumed..].IndexOf((byte)'\n');
                    if (nl < 0 && !eof) break;
                    var line = nl < 0 ? data[consumed..] : data.Slice(consumed, nl);
                    consumed += nl < 0 ? line.Length : nl + 1;
                    if (nl < 0 && line.IsEmpty) break;
                    lineNo++;
                    var entry = line.Trim(" \t\r\f\v"u8);
                    while (entry.StartsWith(ByteOrderMark)) entry = entry[ByteOrderMark.Length..].Trim(" \t\r\f\v"u8);
                    if (entry.IsEmpty || entry[0] == (byte)'#') { if (nl < 0) break; continue; }
                    if (entry.IndexOf(ByteOrderMark) >= 0)
                        return ("a byte-order mark (U+FEFF) is inside a path", lineNo);
                    if (entry.IndexOf((byte)0) >= 0)
                        return ("it contains NUL bytes", lineNo);
                    if (!Utf8.IsValid(entry))
                        return ("it is not UTF-8 text", lineNo);
                    if (entry[0] == (byte)'/') Add(entry, fileId, lineNo);
                    else Add(Path.GetFullPath(Encoding.UTF8.GetString(entry), baseDir), fileId, lineNo);
                    if (nl < 0) break;
                }
                if (eof) return null;
                // Keep the unfinished line for the next read (the BOM, if any, is already behind us).
                int offset = filled - data.Length;
                carry = filled - (offset + consumed);
                if (carry == buffer.Length)
                    return ("a line is longer than 1 MB", lineNo + 1);
                Buffer.BlockCopy(buffer, offset + consumed, buffer, 0, carry);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ReadOnlySpan<byte> ByteOrderMark => "\uFEFF"u8;

    /// <summary>An index of file names: finds the first input with a given file name.</summary>
    public sealed class NameIndex
    {
        private readonly InputStore _store;
        private readonly int[] _slots; // input index + 1; 0 = empty
        private readonly int _mask;

        public NameIndex(InputStore store)
        {
            _store = store;
            int size = 16;
            while (size < store.Count * 2) size <<= 1;
            _slots = new int[size];
            _mask = size - 1;
        }

        /// <summary>Returns the earlier input with the same file name as input <paramref name="i"/>, or adds it and returns -1.</summary>
        public int FindOrAdd(int i)
        {
            var name = _store.FileName(i);
            var h = new HashCode();
            h.AddBytes(name);
            int slot = h.ToHashCode() & _mask;
            while (_slots[slot] != 0)
            {
                int other = _slots[slot] - 1;
                if (_store.FileName(other).SequenceEqual(name)) return other;
                slot = (slot + 1) & _mask;
            }
            _slots[slot] = i + 1;
            return -1;
        }
    }
}
