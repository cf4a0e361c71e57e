using System.Text.Json;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>
/// The local scheduler's own job script, as a user meets it (`dotnet build -t:Submit` with
/// Scheduler=local, then Status): a plain bash `.sh` with no directive line, which still ends a task
/// at the plan's time limit and leaves each task's logs where Status shows them.
/// </summary>
public sealed class LocalTemplateTests
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    [Fact(Timeout = 300_000)]
    public async Task A_local_job_script_has_no_SBATCH_line_and_still_honours_its_time_limit_and_log_files()
    {
        await Task.Yield();
        var p = new ScratchProduction("local-template");
        // the second input makes the SPINE stand-in sleep far past the 3 s limit
        p.NamedInputs(["run_0000.root", "run_0001_SLEEP60.root"]);
        p.Write($"<Scheduler>local</Scheduler><SpineCommand>{TestDouble}</SpineCommand><FilesPerTask>1</FilesPerTask><Time>0:00:03</Time>",
            "<Source Include=\"inputs/*.root\" />");

        var submit = DotnetBuild.Run(p.ProjectFile, "Submit");
        Assert.True(submit.Succeeded, submit.Output);

        // The script Submit ran: the local scheduler's name for it, and not one directive line.
        var script = Assert.Single(Directory.GetFiles(Path.Combine(p.Dir, "jobs"), "submit_chunk_0.*", SearchOption.AllDirectories));
        Assert.Equal("submit_chunk_0.sh", Path.GetFileName(script));
        var jobFolder = Path.GetDirectoryName(script)!;
        var lines = File.ReadAllLines(script);
        Assert.Equal("#!/bin/bash", lines[0]);
        Assert.DoesNotContain(lines, l => l.StartsWith("#SBATCH", StringComparison.Ordinal) || l.StartsWith("#PBS", StringComparison.Ordinal));

        // The time limit came from the plan: the sleeper was ended at about 3 s, TIMEOUT.
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(p.StateDir, "local-scheduler.json")));
        var job = Assert.Single(state.RootElement.GetProperty("Jobs").EnumerateArray());
        var jobId = job.GetProperty("Id").GetString()!;
        var jobName = job.GetProperty("Name").GetString()!;
        Assert.Contains("--time=0:00:03", job.GetProperty("Options").EnumerateArray().Select(o => o.GetString()));
        var tasks = job.GetProperty("Tasks").EnumerateArray().ToDictionary(t => t.GetProperty("Index").GetInt32());
        Assert.Equal("COMPLETED", tasks[0].GetProperty("State").GetString());
        Assert.Equal("TIMEOUT", tasks[1].GetProperty("State").GetString());
        var ran = tasks[1].GetProperty("End").GetDateTimeOffset() - tasks[1].GetProperty("Start").GetDateTimeOffset();
        Assert.InRange(ran, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30));   // 3 s, then SIGTERM: never the 60 s it asked for

        // The logs are where the local scheduler's dialect, and so Status, names them.
        string Log(int index, string extension) => Path.Combine(jobFolder, "logs", $"{jobName}_{jobId}_{index}.{extension}");
        Assert.Contains("SPINE Production Job", File.ReadAllText(Log(0, "out")));
        Assert.Contains("spine-test-double: list=", File.ReadAllText(Log(1, "out")));
        Assert.Contains("DUE TO TIME LIMIT", File.ReadAllText(Log(1, "err")));

        var status = DotnetBuild.Run(p.ProjectFile, "Status");
        Assert.True(status.Succeeded, status.Output);
        Assert.Contains(Log(1, "err"), status.Output);
    }
}
