namespace SpineProd.Planning;

/// <summary>The chunking step: a stage's inputs cut into tasks, and its tasks into arrays no larger than the scheduler allows.</summary>
public static class Chunking
{
    /// <summary>Cuts a stage's tasks into arrays of at most <paramref name="maxArraySize"/> tasks, each indexed 0..N-1.</summary>
    public static void Chunk(StagePlan stage, int maxArraySize, Scheduler.ISchedulerDialect scheduler)
    {
        // In long: FilesPerTask and MaxArraySize may be as large as int allows.
        // A stage whose config names its inputs is one task.
        stage.TaskCount = stage.InputsFromConfig ? 1 : (int)(((long)stage.FileCount + stage.FilesPerTask - 1) / stage.FilesPerTask);
        stage.ArraySize = maxArraySize;
        int arrays = (int)(((long)stage.TaskCount + maxArraySize - 1) / maxArraySize);
        stage.Arrays = new List<ArrayPlan>(arrays);
        for (int a = 0; a < arrays; a++)
        {
            int first = a * maxArraySize;
            int count = Math.Min(maxArraySize, stage.TaskCount - first);
            int firstFile = first * stage.FilesPerTask;
            int files = (int)Math.Min((long)count * stage.FilesPerTask, stage.FileCount - firstFile);
            stage.Arrays.Add(new ArrayPlan
            {
                Index = a,
                JobName = arrays > 1 ? $"{stage.JobName}_{a}" : stage.JobName,
                FirstTask = first,
                TaskCount = count,
                FileCount = files,
                ArraySpec = ArraySpec(count, stage.MaxRunningTasks),
                Script = Layout.ProductionLayout.Job.Script(a, scheduler),
                ChunkFile = Layout.ProductionLayout.Job.ChunkFile(a),
            });
        }
    }

    /// <summary>TaskCount (spine-prod ≥ 0.6's "--ntasks N" alone): the files per task that make at most N roughly even tasks.</summary>
    public static int FilesPerTaskFor(int files, int taskCount) => files == 0 ? 1 : (int)(((long)files + taskCount - 1) / taskCount);

    /// <summary>"0-(n-1)", with the %throttle only when it limits anything (as spine-prod).</summary>
    public static string ArraySpec(int count, int? maxRunning) =>
        (count == 1 ? "0" : $"0-{count - 1}") + (maxRunning is int m && m < count ? $"%{m}" : "");
}
