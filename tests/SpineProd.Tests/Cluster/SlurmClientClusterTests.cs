using SpineProd.Scheduler;
using SpineProd.Scheduler.Local;
using SpineProd.Scheduler.Slurm;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Cluster;

/// <summary>The SLURM client against the real cluster, where a fake could only guess what SLURM says.</summary>
[Collection("cluster")]
public sealed class SlurmClientClusterTests(ClusterFixture cluster)
{
    private static string Script(string dir)
    {
        var path = Path.Combine(dir, "job.sbatch");
        File.WriteAllText(path, "#!/bin/bash\n#SBATCH --account=ci\n#SBATCH --output=/dev/null\nsleep 30\n");
        return path;
    }

    [Fact]
    public void An_sbatch_that_was_accepted_but_answered_with_a_socket_timeout_is_found_and_not_submitted_again()
    {
        cluster.Require();
        var dir = Repo.Scratch("lost-reply");
        // sbatch as seen through a flaky network: the real sbatch accepts the job, the reply is lost.
        var shim = Path.Combine(dir, "sbatch-lost-reply");
        File.WriteAllText(shim, "#!/bin/bash\nsbatch \"$@\" >/dev/null\necho 'sbatch: error: Batch job submission failed: Socket timed out on send/recv operation' >&2\nexit 1\n");
        File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var name = $"spineprod-lost-{Guid.NewGuid():N}"[..30];
        var clock = new FakeClock();
        var client = new SlurmClient(clock: clock, options: new SlurmOptions { Sbatch = shim });

        var result = client.Submit(new JobRequest(Script(dir), dir, name, ArraySpec.Parse("0-1"), [], $"spineprod:test:{name}"));
        try
        {
            Assert.True(result.Reconciled);
            Assert.Equal(1, client.Calls[shim]);                       // sbatch ran once: no duplicate
            var listed = ProcessRunner.Instance.Run("squeue", ["-h", "-t", "all", $"--name={name}", "-o", "%F"], TimeSpan.FromSeconds(30));
            Assert.Equal([result.JobId], listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).Distinct());
        }
        finally
        {
            client.Cancel([result.JobId]);
        }
    }

    [Fact]
    public void A_request_the_cluster_cannot_satisfy_is_rejected_at_once_with_sbatchs_words()
    {
        cluster.Require();
        var dir = Repo.Scratch("rejected");
        var clock = new FakeClock();
        var client = new SlurmClient(clock: clock);

        var e = Assert.Throws<SpineProd.Diagnostics.SpineProdException>(() =>
            client.Submit(new JobRequest(Script(dir), dir, "spineprod-rejected", ArraySpec.Parse("0"), [], "c", ExtraOptions: ["--partition=nosuch"])));

        Assert.Equal("SPN3003", e.Code);
        Assert.Contains("Invalid partition", e.Message);
        Assert.Empty(clock.Sleeps);
    }

    [Fact]
    public void Query_and_cancel_of_real_arrays_take_one_call_each()
    {
        cluster.Require();
        var dir = Repo.Scratch("query");
        var client = new SlurmClient();
        var held = new[] { "--hold" };
        var a = client.Submit(new JobRequest(Script(dir), dir, "spineprod-query-a", ArraySpec.Parse("0-2"), [], "a", ExtraOptions: held)).JobId;
        var b = client.Submit(new JobRequest(Script(dir), dir, "spineprod-query-b", ArraySpec.Parse("0-1%1"), [], "b", ExtraOptions: held)).JobId;
        client.Calls.Clear();

        var snap = client.Query([a, b]);
        client.Cancel([a, b]);
        var after = client.Query([a, b]);

        Assert.Equal(5, snap.Tasks.Count);
        Assert.All(snap.Tasks.Values, t => Assert.Equal(TaskStateKind.Pending, t.Kind));
        Assert.Equal(2, client.Calls["sacct"]);
        Assert.InRange(client.Calls["squeue"], 1, 2);      // not needed once sacct shows nothing live
        Assert.Equal(1, client.Calls["scancel"]);
        Assert.All(after.Tasks.Values, t => Assert.Equal(TaskStateKind.Cancelled, t.Kind));
    }
}
