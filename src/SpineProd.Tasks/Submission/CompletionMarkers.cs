using System.IO.Enumeration;
using SpineProd.Layout;
using SpineProd.Planning;

namespace SpineProd.Submission;

/// <summary>What the completion markers of a stage say: per task, none, valid, or a marker that does not count (and why).</summary>
public sealed class MarkerVerdicts
{
    internal const byte None = 0, Valid = 1, Invalid = 2;
    private readonly byte[] _verdicts;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> _problems = new();

    internal MarkerVerdicts(int tasks) => _verdicts = new byte[tasks];

    /// <summary>Markers found, and of those, trusted from the index without being opened.</summary>
    public int Found { get; internal set; }
    public int FromIndex { get; internal set; }

    public bool IsValid(int task) => task >= 0 && task < _verdicts.Length && _verdicts[task] == Valid;
    /// <summary>Why the task's marker does not count (null: it has none, or it is valid).</summary>
    public string? Problem(int task) => _problems.GetValueOrDefault(task);

    internal void Set(int task, string? problem)
    {
        _verdicts[task] = problem is null ? Valid : Invalid;
        if (problem is not null) _problems[task] = problem;
    }
}

/// <summary>
/// Checks a stage's completion markers (<c>&lt;state dir&gt;/markers/&lt;stage&gt;/&lt;task&gt;.done</c>, each
/// listing its task's inputs): a marker counts only when it lists exactly the task's current inputs.
/// A marker the <see cref="MarkerIndex"/> shows unchanged since it was verified against these inputs
/// is not opened again, so a Status of a million finished tasks stats the markers but reads none;
/// the others are read (on every core) and the index is brought up to date.
/// </summary>
public static class CompletionMarkers
{
    public static MarkerVerdicts Check(ProductionLayout layout, StagePlan stage, ChunkLists inputs, DateTimeOffset now)
    {
        int tasks = stage.Arrays.Count == 0 ? 0 : stage.Arrays.Max(a => a.FirstTask + a.TaskCount);
        var verdicts = new MarkerVerdicts(tasks);
        var dir = layout.MarkerDir(stage.Name);
        var present = Present(dir, tasks);
        var index = MarkerIndex.Load(layout.MarkerIndex(stage.Name), stage, inputs, now);
        Exception? failure = null;
        Parallel.For(0, stage.Arrays.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, (a, loop) =>
        {
            try
            {
                var array = stage.Arrays[a];
                for (int task = array.FirstTask; task < array.FirstTask + array.TaskCount; task++)
                {
                    if (!present[task]) continue;
                    var path = layout.Marker(stage.Name, task);
                    // identity before contents: a marker replaced while it is read is not recorded as this version
                    var file = IO.SafeFile.Identify(path);
                    if (file is { } f && index.IsVerified(task, a, f, inputs))
                    {
                        verdicts.Set(task, null);
                        continue;
                    }
                    var line = inputs.Line(task);
                    var problem = ProductionState.CheckMarker(path, ChunkLists.Split(line));
                    verdicts.Set(task, problem);
                    if (problem is null && file is { } ok) index.Verified(task, ok, line);
                    else index.Forget(task);
                }
                inputs.Release(a);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
                loop.Stop();
            }
        });
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        index.KeepOnly(t => present[t]);
        if (index.Changed) index.Save(layout.MarkerIndex(stage.Name));
        verdicts.Found = present.Count(p => p);
        verdicts.FromIndex = index.Trusted;
        return verdicts;
    }

    /// <summary>The tasks that have a marker file, from the folder's listing alone (no file is opened or stat'ed here).</summary>
    private static bool[] Present(string dir, int tasks)
    {
        var present = new bool[tasks];
        if (!Directory.Exists(dir)) return present;
        var names = new FileSystemEnumerable<int>(dir, (ref FileSystemEntry e) => TaskNumber(e.FileName),
            new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = 0, IgnoreInaccessible = true })
        {
            ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory,
        };
        foreach (var task in names)
            if (task >= 0 && task < tasks) present[task] = true;
        return present;
    }

    /// <summary>The task of a marker's file name (<c>17.done</c>: 17), or -1 (other files; <c>017.done</c> is not task 17's marker).</summary>
    internal static int TaskNumber(ReadOnlySpan<char> name)
    {
        if (!name.EndsWith(ProductionLayout.MarkerSuffix, StringComparison.Ordinal)) return -1;
        var digits = name[..^ProductionLayout.MarkerSuffix.Length];
        if (digits.IsEmpty || digits.Length > 9 || (digits.Length > 1 && digits[0] == '0')) return -1;
        int n = 0;
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c)) return -1;
            n = n * 10 + (c - '0');
        }
        return n;
    }
}
