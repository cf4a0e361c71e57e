using System.Globalization;

namespace SpineProd.Scheduler.Slurm;

/// <summary>
/// Reads <c>sacct -P -n</c> rows of a whole production, steps included, as a stream: one row per
/// array task (its state, exit code, name and comment, elapsed and CPU time, what it was allocated)
/// and one per step (<c>12_3.batch</c>, <c>12_3.0</c>): the steps carry the peak memory (MaxRSS), which
/// the task's own row leaves empty. A million tasks are three million rows, so a row is cut into
/// fields without splitting it, and the strings repeated across rows (state, name, comment, node)
/// are kept once.
/// </summary>
public sealed class SacctRows
{
    /// <summary>The columns asked for. The comment is last: it is the only one that may hold a '|'.</summary>
    public const string Format = "JobID,JobIDRaw,State,ExitCode,Reason,JobName,ElapsedRaw,TotalCPU,MaxRSS,ReqMem,TimelimitRaw,NCPUS,AllocTRES,NodeList,Start,End,Comment";

    private const int ColJobId = 0, ColJobIdRaw = 1, ColState = 2, ColExit = 3, ColReason = 4, ColName = 5, ColElapsed = 6, ColTotalCpu = 7,
        ColMaxRss = 8, ColReqMem = 9, ColTimelimit = 10, ColNcpus = 11, ColAllocTres = 12, ColNodeList = 13, ColStart = 14, ColEnd = 15, ColComment = 16;

    private readonly Dictionary<(string JobId, int Index), SchedulerTask> _tasks;
    /// <summary>Steps whose task's row was not the one just read (sacct lists a task's steps right after it: rarely used).</summary>
    private readonly Dictionary<(string JobId, int Index), (long PeakMemory, double CpuSeconds)> _steps = new();
    private readonly StringPool _pool = new();
    // The task row read last, and what its steps added so far: merged once, when the next task row comes.
    private (string JobId, int Index)? _lastKey;
    private long _lastPeak;
    private double _lastCpu;
    private bool _lastHasSteps;

    public SacctRows(int expectedTasks = 0) => _tasks = new(Math.Max(0, expectedTasks));

    /// <summary>How many tasks were read.</summary>
    public int Count => _tasks.Count;

    /// <summary>Reads one row (blank and unreadable rows are skipped).</summary>
    public void Add(string line)
    {
        Span<Range> f = stackalloc Range[ColComment + 1];
        var row = line.AsSpan().TrimEnd('\r');
        // the comment takes the rest of the row, '|' and all
        int n = row.Split(f, '|');
        if (n < 4) return;
        var jobId = row[f[ColJobId]].Trim();
        if (jobId.IsEmpty) return;
        int dot = jobId.IndexOf('.');
        if (dot >= 0)
        {
            // a step: 12_3.batch, 12_3.extern, 12_3.0, or 15.batch for a job that is not an array
            if (!TaskKey(jobId[..dot], out var stepKey)) return;
            long stepPeak = ParseSize(Get(f, row, n, ColMaxRss)) ?? 0;
            double stepCpu = ParseCpuTime(Get(f, row, n, ColTotalCpu))?.TotalSeconds ?? 0;
            if (_lastKey == stepKey)
            {
                _lastPeak = Math.Max(_lastPeak, stepPeak);
                _lastCpu += stepCpu;
                _lastHasSteps = true;
                return;
            }
            var (peak, cpu) = _steps.GetValueOrDefault(stepKey);
            _steps[stepKey] = (Math.Max(peak, stepPeak), cpu + stepCpu);
            return;
        }
        MergeLast();

        var state = _pool.Get(Get(f, row, n, ColState));
        var exit = n > ColExit ? _pool.Get(Get(f, row, n, ColExit)) : null;
        var reasonText = Get(f, row, n, ColReason);
        string? reason = n > ColReason && reasonText.Length > 0 && !reasonText.SequenceEqual("None") ? _pool.Get(reasonText) : null;
        string? name = n > ColName ? _pool.Get(row[f[ColName]]) : null;
        string? comment = null;
        if (n > ColComment)
        {
            var c = row[f[ColComment].Start..];
            comment = c.SequenceEqual("(null)") ? "" : _pool.Get(c);
        }
        var usage = n > ColElapsed ? ReadUsage(f, row, n) : null;

        int us = jobId.IndexOf('_');
        if (us < 0)
        {
            // a job that is not an array (a cleanup job): task 0 of itself
            var id = jobId.ToString();
            _tasks[(id, 0)] = SlurmDialect.Task(id, 0, state, exit, reason, id, name, comment) with { Usage = usage };
            return;
        }
        var arrayId = _pool.Get(jobId[..us]);
        var rest = jobId[(us + 1)..];
        if (rest.StartsWith('['))
        {
            // a pending array: 12_[3-9%2]
            if (!ArraySpec.TryParse(rest.Trim("[]").ToString(), out var spec)) return;
            foreach (var i in spec.Indices)
                _tasks[(arrayId, i)] = SlurmDialect.Task(arrayId, i, state, exit, reason, null, name, comment) with { Usage = usage };
        }
        else if (int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            // (JobIDRaw is not kept as the task's own id: a million distinct strings that nothing reads for SLURM)
            _tasks[(arrayId, index)] = SlurmDialect.Task(arrayId, index, state, exit, reason, null, name, comment) with { Usage = usage };
            _lastKey = (arrayId, index);
        }
    }

    /// <summary>The tasks read, each with its steps' peak memory (and their CPU time, where its own row has none).</summary>
    public IEnumerable<SchedulerTask> Tasks()
    {
        MergeLast();
        foreach (var (key, task) in _tasks)
            yield return _steps.TryGetValue(key, out var step) ? WithSteps(task, step.PeakMemory, step.CpuSeconds) : task;
    }

    /// <summary>Folds the steps read after the last task row into it.</summary>
    private void MergeLast()
    {
        if (_lastKey is { } key && _lastHasSteps && _tasks.TryGetValue(key, out var task))
        {
            if (_steps.Remove(key, out var more)) { _lastPeak = Math.Max(_lastPeak, more.PeakMemory); _lastCpu += more.CpuSeconds; }
            _tasks[key] = WithSteps(task, _lastPeak, _lastCpu);
        }
        _lastKey = null;
        _lastPeak = 0;
        _lastCpu = 0;
        _lastHasSteps = false;
    }

    private static SchedulerTask WithSteps(SchedulerTask task, long peak, double cpuSeconds) =>
        task.Usage is not { } u ? task : task with
        {
            Usage = u with
            {
                PeakMemoryBytes = peak > 0 || u.PeakMemoryBytes is null ? peak : u.PeakMemoryBytes,
                CpuTime = u.CpuTime is { } c && c > TimeSpan.Zero ? c : TimeSpan.FromSeconds(cpuSeconds),
            },
        };

    private TaskUsage ReadUsage(Span<Range> f, ReadOnlySpan<char> row, int n)
    {
        var tres = Get(f, row, n, ColAllocTres);
        int? cpus = int.TryParse(Get(f, row, n, ColNcpus), NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c > 0 ? c : null;
        var node = Get(f, row, n, ColNodeList);
        return new TaskUsage
        {
            Elapsed = long.TryParse(Get(f, row, n, ColElapsed), NumberStyles.None, CultureInfo.InvariantCulture, out var e) ? TimeSpan.FromSeconds(e) : null,
            CpuTime = ParseCpuTime(Get(f, row, n, ColTotalCpu)),
            PeakMemoryBytes = ParseSize(Get(f, row, n, ColMaxRss)),
            // what was allocated says it best; ReqMem's meaning changed across versions (per CPU "c", per node "n")
            RequestedMemoryBytes = ParseSize(TresValue(tres, "mem")) ?? ParseReqMem(Get(f, row, n, ColReqMem), cpus),
            RequestedTime = long.TryParse(Get(f, row, n, ColTimelimit), NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m > 0 ? TimeSpan.FromMinutes(m) : null,
            Cpus = cpus,
            Gpus = tres.IsEmpty ? null : int.TryParse(TresValue(tres, "gres/gpu"), NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : 0,
            Node = node.IsEmpty || node.StartsWith("None") ? null : _pool.Get(node),
            Start = ParseTime(Get(f, row, n, ColStart)),
            End = ParseTime(Get(f, row, n, ColEnd)),
        };
    }

    private static ReadOnlySpan<char> Get(Span<Range> f, ReadOnlySpan<char> row, int n, int i) => i < n ? row[f[i]].Trim() : default;

    private bool TaskKey(ReadOnlySpan<char> jobId, out (string, int) key)
    {
        key = default;
        int us = jobId.IndexOf('_');
        if (us < 0) { key = (jobId.ToString(), 0); return true; }
        if (!int.TryParse(jobId[(us + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int index)) return false;
        key = (_pool.Get(jobId[..us]), index);
        return true;
    }

    /// <summary>The value of <c>key=</c> in a TRES list (<c>billing=1,cpu=2,gres/gpu=1,mem=8G,node=1</c>).</summary>
    public static ReadOnlySpan<char> TresValue(ReadOnlySpan<char> tres, string key)
    {
        foreach (var part in tres.Split(','))
        {
            var p = tres[part];
            if (p.Length > key.Length && p[key.Length] == '=' && p.StartsWith(key, StringComparison.Ordinal)) return p[(key.Length + 1)..];
        }
        return default;
    }

    /// <summary>A SLURM size as sacct prints it (<c>1204K</c>, <c>3.50M</c>, <c>8G</c>, <c>0</c>; K = 1024 bytes; no unit = bytes), or null.</summary>
    public static long? ParseSize(ReadOnlySpan<char> s)
    {
        s = s.Trim();
        if (s.IsEmpty) return null;
        double factor = char.ToUpperInvariant(s[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, 'P' => 1L << 50, _ => 1 };
        if (factor != 1 || !char.IsAsciiDigit(s[^1])) s = s[..^1];
        return double.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) && v >= 0 ? (long)(v * factor) : null;
    }

    /// <summary>ReqMem: <c>4000M</c> (the job's, 21.08 and later), <c>4000Mc</c> (per CPU) or <c>4000Mn</c> (per node) before.</summary>
    private static long? ParseReqMem(ReadOnlySpan<char> s, int? cpus)
    {
        if (s.IsEmpty) return null;
        if (s[^1] is 'c' or 'n') return ParseSize(s[..^1]) is long v ? (s[^1] == 'c' ? v * (cpus ?? 1) : v) : null;
        return ParseSize(s);
    }

    /// <summary>sacct's TotalCPU: <c>[D-][HH:]MM:SS[.mmm]</c>.</summary>
    public static TimeSpan? ParseCpuTime(ReadOnlySpan<char> s)
    {
        s = s.Trim();
        if (s.IsEmpty) return null;
        double days = 0;
        int dash = s.IndexOf('-');
        if (dash >= 0)
        {
            if (!int.TryParse(s[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var d)) return null;
            days = d;
            s = s[(dash + 1)..];
        }
        double seconds = 0;
        foreach (var part in s.Split(':'))
        {
            if (!double.TryParse(s[part], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v)) return null;
            seconds = seconds * 60 + v;
        }
        return TimeSpan.FromSeconds(days * 86400 + seconds);
    }

    /// <summary>sacct's Start/End: local time, <c>2026-11-29T11:26:32</c>; <c>Unknown</c> or <c>None</c> when there is none.</summary>
    public static DateTimeOffset? ParseTime(ReadOnlySpan<char> s)
    {
        // by hand: two a task, six million times at a million tasks (TryParseExact is the slow part of a row)
        if (s.Length != 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return null;
        int year = Digits(s[..4]), month = Digits(s[5..7]), day = Digits(s[8..10]), hour = Digits(s[11..13]), minute = Digits(s[14..16]), second = Digits(s[17..19]);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
        return new DateTimeOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Local));
    }

    /// <summary>A run of ASCII digits as a number, or -1.</summary>
    private static int Digits(ReadOnlySpan<char> s)
    {
        int n = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c)) return -1;
            n = n * 10 + (c - '0');
        }
        return n;
    }
}

/// <summary>Keeps one copy of strings that repeat across many rows (states, names, comments, nodes).</summary>
internal sealed class StringPool
{
    private readonly Dictionary<string, string> _strings = new();
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StringPool() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Get(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return "";
        if (_lookup.TryGetValue(s, out var found)) return found;
        // only short, repeating values are worth keeping (a pool of a million distinct ids is no saving)
        var str = s.ToString();
        if (_strings.Count < 100_000) _strings[str] = str;
        return str;
    }
}
