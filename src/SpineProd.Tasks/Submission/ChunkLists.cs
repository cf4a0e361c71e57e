using SpineProd.IO;
using SpineProd.Planning;

namespace SpineProd.Submission;

/// <summary>
/// A stage's chunk lists (line i of array a: the inputs of task a.FirstTask + i, comma-separated),
/// read only when a task's inputs are needed: a Status of a million complete tasks whose markers
/// were verified before reads none of them. An array's list is read whole the first time one of its
/// tasks asks, and kept as one string per task until a caller splits it.
/// </summary>
public sealed class ChunkLists
{
    private readonly StagePlan _stage;
    private readonly string[] _files;
    private readonly string[]?[] _lines;

    /// <summary>Each array's chunk list as it is now (null: not a Linux file system; then nothing is trusted from an index).</summary>
    public IReadOnlyList<FileIdentity?> Identities { get; }

    private ChunkLists(StagePlan stage, string[] files, FileIdentity?[] identities)
    {
        _stage = stage;
        _files = files;
        _lines = new string[]?[files.Length];
        Identities = identities;
    }

    /// <summary>The chunk list of each array (position in <see cref="StagePlan.Arrays"/>).</summary>
    public string File(int arrayPosition) => _files[arrayPosition];

    /// <summary>Names every chunk list of the stage; a missing one is SPN3015 (the plan folder was damaged).</summary>
    public static ChunkLists Open(string planDir, StagePlan stage)
    {
        var files = new string[stage.Arrays.Count];
        var ids = new FileIdentity?[files.Length];
        for (int a = 0; a < files.Length; a++)
        {
            var file = files[a] = Path.Combine(planDir, stage.Name, stage.Arrays[a].ChunkFile);
            ids[a] = SafeFile.Identify(file);
            if (ids[a] is null && !System.IO.File.Exists(file))
                throw new Diagnostics.SpineProdException("SPN3015", $"the plan names {file}, which does not exist; build the production again (-t:Build)", file);
        }
        return new ChunkLists(stage, files, ids);
    }

    /// <summary>The position in <see cref="StagePlan.Arrays"/> of the array that holds <paramref name="task"/> (-1: none).</summary>
    public int ArrayOf(int task)
    {
        var arrays = _stage.Arrays;
        int lo = 0, hi = arrays.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (task < arrays[mid].FirstTask) hi = mid - 1;
            else if (task >= arrays[mid].FirstTask + arrays[mid].TaskCount) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    /// <summary>The task's line of its chunk list, as written ("" when the list is shorter than the array).</summary>
    public string Line(int task)
    {
        int a = ArrayOf(task);
        if (a < 0) return "";
        var lines = _lines[a] ??= Read(a);
        int i = task - _stage.Arrays[a].FirstTask;
        return i < lines.Length ? lines[i] : "";
    }

    /// <summary>Lets go of an array's lines (a first Status reads every list once to check the markers: a million lines are not kept).</summary>
    public void Release(int arrayPosition) => _lines[arrayPosition] = null;

    /// <summary>The task's inputs, in order.</summary>
    public IReadOnlyList<string> Inputs(int task) => Split(Line(task));

    public static string[] Split(string line) => line.TrimEnd('\r').Split(',', StringSplitOptions.RemoveEmptyEntries);

    private string[] Read(int a)
    {
        var array = _stage.Arrays[a];
        var lines = new List<string>(array.TaskCount);
        try
        {
            foreach (var line in System.IO.File.ReadLines(_files[a]))
            {
                if (lines.Count == array.TaskCount) break;
                lines.Add(line);
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new Diagnostics.SpineProdException("SPN3015", $"the plan names {_files[a]}, which does not exist; build the production again (-t:Build)", _files[a]);
        }
        return lines.ToArray();
    }
}
