using System.Text;
using System.Text.RegularExpressions;
using SpineProd.Submission;

namespace SpineProd.Usage;

/// <summary>Unsuccessful tasks that share a cause: the same state, exit code and last line of their error log.</summary>
public sealed record FailureGroup(TaskState Status, string? ExitCode, string Message, List<TaskInfo> Tasks);

/// <summary>
/// Sorts the tasks that did not succeed into what a person does about them: failures (grouped by
/// cause, with the last lines of each one's error log), tasks a person or a stopped Submit
/// cancelled (nothing to fix: Submit again), and tasks that never ran because an upstream task
/// failed. Logs are read from their end, and only for the first <c>maxLogs</c> failures (a
/// million failed tasks on a parallel file system are not opened one by one); the others are
/// grouped by state and exit code alone.
/// </summary>
public sealed partial class FailureDigest
{
    public List<FailureGroup> Groups { get; } = new();
    public List<TaskInfo> Cancelled { get; } = new();
    /// <summary>Pending or cancelled because a task they wait for did not succeed.</summary>
    public List<TaskInfo> Blocked { get; } = new();
    public Dictionary<TaskInfo, IReadOnlyList<string>> Tails { get; } = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<TaskInfo> _cancelled = new(ReferenceEqualityComparer.Instance), _blocked = new(ReferenceEqualityComparer.Instance);

    /// <summary>"failed", "cancelled" or "blocked": what status.json calls the task's cause.</summary>
    public string Cause(TaskInfo t) => _cancelled.Contains(t) ? "cancelled" : _blocked.Contains(t) ? "blocked" : "failed";

    public static FailureDigest Build(IEnumerable<TaskInfo> problems, int tailLines = 5, int maxLogs = 1000)
    {
        var d = new FailureDigest();
        var groups = new Dictionary<(TaskState, string?, string), FailureGroup>();
        int read = 0;
        foreach (var t in problems)
        {
            if (t.IsBlocked || (t.Status == TaskState.Cancelled && t.Scheduler?.Reason == "DependencyNeverSatisfied")) { d.Blocked.Add(t); d._blocked.Add(t); continue; }
            if (t.Status == TaskState.Cancelled) { d.Cancelled.Add(t); d._cancelled.Add(t); continue; }
            string message;
            if (read < maxLogs && t.LogPath(error: true) is string log)
            {
                read++;
                var tail = Tail(log, tailLines);
                if (tail.Count > 0) d.Tails[t] = tail;
                message = tail.Count > 0 ? tail[^1] : t.Detail;
            }
            else message = read >= maxLogs ? "(log not read)" : t.Detail;
            var key = (t.Status, t.Scheduler?.ExitCode, Normalise(message));
            if (!groups.TryGetValue(key, out var g)) groups[key] = g = new FailureGroup(t.Status, t.Scheduler?.ExitCode, message, new());
            g.Tasks.Add(t);
        }
        d.Groups.AddRange(groups.Values.OrderByDescending(g => g.Tasks.Count));
        return d;
    }

    /// <summary>Numbers (job ids, times, sizes, task numbers) differ between tasks with one cause.</summary>
    public static string Normalise(string message) => Digits().Replace(message.Trim(), "#");

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();

    /// <summary>The last <paramref name="lines"/> non-blank lines of a log, read from its end (at most 16 KB), each at most 300 characters.</summary>
    public static List<string> Tail(string path, int lines, int maxBytes = 16 * 1024)
    {
        try
        {
            // a log is a regular file (a FIFO in its place would hang Status): any size, only its end is read
            using var fs = IO.SafeFile.OpenRead(path);
            if (!fs.CanSeek) return [];
            long start = Math.Max(0, fs.Length - maxBytes);
            fs.Seek(start, SeekOrigin.Begin);
            var buffer = new byte[fs.Length - start];
            int n = fs.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            var text = Encoding.UTF8.GetString(buffer, 0, n);
            var all = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
            if (start > 0 && all.Count > 0) all.RemoveAt(0); // cut mid-line
            return all.TakeLast(lines).Select(l => l.Length > 300 ? l[..300] + "..." : l).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}
