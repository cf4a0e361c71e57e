using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.V08;

/// <summary>
/// spine-prod v0.8's features end to end on the real test cluster, through `dotnet build` as a user
/// runs them: --set, the per-task output layout and preloaded weights in one Submit; one task run
/// here with RunTask; a production whose config names its inputs. The SPINE test double records the
/// arguments and SPINE_CACHE_DIR it got in every output.
/// </summary>
[Collection("cluster")]
public sealed class SpineProdV08ClusterTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    [Fact]
    public void SpineSet_task_layout_and_preloaded_weights_run_on_slurm_and_RunTask_runs_one_task_here()
    {
        cluster.Require();
        var weights = System.Security.Cryptography.RandomNumberGenerator.GetBytes(50_000);
        using var server = new SpineProdV08Tests.FileServer(weights);
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(weights));
        var p = Production("v08", 4, failing: [],
            "<OutputLayout>task</OutputLayout><SpineSet>io.loader.batch_size=8</SpineSet><DownloadCacheDir>cache</DownloadCacheDir>");
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"),
            $"io:\n  loader:\n    batch_size: 1\nmodel:\n  weight_path: !download {{url: \"{server.Url("w.ckpt")}\", hash: \"{sha}\"}}\n");

        var submit = Run(p, "Submit");

        Assert.Contains("preload: 1 file(s) fetched", submit.Output);
        var report = WaitFinished(p);
        Assert.Equal(2, report.Totals.Completed);
        var stage = Assert.Single(Plan(p).Stages);
        var task1 = Path.Combine(stage.OutputDir, "task_1");
        var output = File.ReadAllText(Path.Combine(task1, "output", "run_0003_spine.h5"));
        Assert.Contains($"--output-dir {task1}/output --output-suffix spine --log-dir {task1}/logs", output);
        Assert.Contains("set=io.loader.batch_size=8", output);
        Assert.Contains($"cache={p.Dir}/cache", output);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(p.Dir, "cache", SpineProd.Downloads.ConfigDownloads.CachedName(server.Url("w.ckpt")))));

        // One task here: streamed, its own folder; the cache is not fetched again.
        var run = Run(p, "RunTask", ("TaskId", "1"));
        Assert.Contains("spine-test-double: wrote 2 output(s)", run.Output);
        Assert.Contains("finished (exit status 0)", run.Output);
        Assert.Equal(1, server.Requests);
        Assert.Single(Directory.GetDirectories(Path.Combine(p.Dir, "jobs"), "*_interactive_*_task1"));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(stage.OutputDir, "..", "markers", stage.Name)).Length);

        var outside = DotnetBuild.Run(p.ProjectFile, "RunTask", new Dictionary<string, string> { ["TaskId"] = "2" });
        Assert.False(outside.Succeeded);
        Assert.Contains("error SPN1155: Task ID 2 out of range: stage 'test' has tasks 0-1", outside.Output);
    }

    [Fact]
    public void A_production_without_sources_runs_its_config_inputs_as_one_task_on_slurm()
    {
        cluster.Require();
        var p = new ScratchProduction("slurm-v08-config-inputs");
        var inputs = p.Inputs(3);
        Directory.CreateDirectory(Path.Combine(p.Dir, "out"));
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"),
            $"io:\n  loader:\n    dataset:\n      file_keys: [{string.Join(", ", inputs)}]\n  writer:\n    file_name: {p.Dir}/out/reco.h5\n");
        p.Write($"<Scheduler>slurm</Scheduler><SpineCommand>{TestDouble}</SpineCommand>{ClusterResources()}", "");

        Assert.Contains("submitted 1 task(s) in 1 array(s)", Run(p, "Submit").Output);

        Assert.Equal(1, WaitFinished(p).Totals.Completed);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(p.Dir, "out"), "run_*_reco.h5").Length);
        Assert.DoesNotContain(" -S ", File.ReadAllText(Path.Combine(p.Dir, "out", "run_0000_reco.h5")));
    }
}
