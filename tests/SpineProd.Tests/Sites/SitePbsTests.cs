using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Tests.Infrastructure;
using SpineProd.Tests.Pbs;
using Xunit;

namespace SpineProd.Tests.Sites;

/// <summary>
/// Polaris's job script as a production renders it (<c>Site=polaris</c>), run on the real PBS test
/// server: <c>-l select=…:system=polaris</c>, <c>-l place</c>, <c>-l filesystems</c>, Apptainer with
/// <c>--fakeroot --nv</c> (the container test double stands in for it, the SPINE test double for SPINE).
/// The test server is not Polaris: its queue is workq, its node has 2 CPUs and no GPU, and it has no
/// module system, so those three are overridden; it is given Polaris's two custom resources.
/// </summary>
[Collection("pbs")]
public sealed class SitePbsTests(PbsServerFixture server)
{
    /// <summary>Polaris's custom resources (a string resource per chunk, and a job-wide one), as ALCF defines them.</summary>
    private static void DefinePolarisResources()
    {
        var qmgr = Path.Combine(PbsServerFixture.BinDir, "qmgr");
        foreach (var (name, type) in new[] { ("system", "type=string,flag=h"), ("filesystems", "type=string") })
            if (!ProcessRunner.Instance.Run(qmgr, ["-c", $"list resource {name}"], TimeSpan.FromSeconds(15)).Succeeded)
                Assert.True(ProcessRunner.Instance.Run(qmgr, ["-c", $"create resource {name} {type}"], TimeSpan.FromSeconds(15)).Succeeded);
    }

    [Fact]
    public void A_Polaris_job_runs_SPINE_in_Apptainer_on_the_real_PBS_server()
    {
        server.Require();
        DefinePolarisResources();
        var p = new ScratchProduction("site-polaris-pbs");
        p.Inputs(2);
        var image = Path.Combine(p.Dir, "spine_v0-17-1.sif");
        File.WriteAllText(image, "");
        p.Write($"""
                <Site>polaris</Site>
                <Container></Container>
                <ContainerImage>{image}</ContainerImage>
                <ContainerCommand>{TestDoubles.Container}</ContainerCommand>
                <SpineCommand>{TestDoubles.Spine}</SpineCommand>
                <Modules>none</Modules>
                <Partition>workq</Partition>
                <CpusPerTask>1</CpusPerTask>
                <Gpus>0</Gpus>
            """, "<Source Include=\"inputs/*.root\" />");
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        Assert.Equal("pbs", plan.Scheduler);
        var stage = Assert.Single(plan.Stages);
        var array = Assert.Single(stage.Arrays);
        var script = File.ReadAllText(Path.Combine(p.StageDir, array.Script));
        Assert.Contains("#PBS -A 14453\n#PBS -q workq\n#PBS -l select=1:system=polaris:ncpus=1\n#PBS -l place=scatter\n#PBS -l walltime=02:00:00\n#PBS -l filesystems=home:grand:eagle\n", script);

        // the job folder as Submit makes it: the stage's files and an empty logs/
        var jobDir = Path.Combine(p.Dir, "jobs", "polaris-job");
        Directory.CreateDirectory(Path.Combine(jobDir, "logs"));
        ProcessRunner.Instance.Run("cp", ["-r", p.StageDir + "/.", jobDir], TimeSpan.FromSeconds(30));
        var client = new PbsClient(options: PbsServerFixture.Options);
        var job = Assert.Single(client.Submit(new JobRequest(Path.Combine(jobDir, array.Script), jobDir, array.JobName,
            ArraySpec.Parse(array.ArraySpec), [], $"spineprod:test:{Guid.NewGuid():N}"))).JobId;
        SchedulerSnapshot snap;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        do { Thread.Sleep(300); snap = client.Query([job]); }
        while ((snap.Tasks.Count < 2 || snap.Tasks.Values.Any(t => t.IsLive)) && DateTime.UtcNow < deadline);

        Assert.Equal([TaskStateKind.Completed, TaskStateKind.Completed], Enumerable.Range(0, 2).Select(i => snap.Find(job, i)?.Kind));
        Assert.Equal(2, Directory.GetFiles(stage.OutputDir, "*.h5").Length);
        var args = Directory.GetFiles(jobDir, "container-args_*.txt").Select(File.ReadAllText).ToList();
        Assert.Equal(2, args.Count);
        Assert.All(args, a => Assert.StartsWith($"exec\n--fakeroot\n--bind\n/lus/grand/,/lus/eagle/\n--nv\n{image}\nbash\n-c\n", a));
    }
}
