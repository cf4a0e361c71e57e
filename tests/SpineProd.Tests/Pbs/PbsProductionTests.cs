using SpineProd.Scheduler;
using SpineProd.Scheduler.Pbs;
using SpineProd.Tests.Scenarios;
using Xunit;
using static SpineProd.Tests.Scenarios.ScenarioProduction;

namespace SpineProd.Tests.Pbs;

/// <summary>
/// What only PBS shows, through <c>dotnet build</c> with <c>-p:Scheduler=pbs</c> on the real server
/// (the scenarios every scheduler shares are <see cref="PbsScenarios"/>): the walltime kill and its
/// resubmission with more time, and MaxArraySize read from the server at Build.
/// </summary>
[Collection("pbs")]
public sealed class PbsProductionTests(PbsServerFixture server)
{
    private readonly PbsUnderTest _pbs = new();

    [Fact]
    public void A_task_over_its_walltime_shows_as_timed_out_and_goes_again_alone_with_the_longer_Time_given()
    {
        server.Require();
        var s = new ScenarioProduction(_pbs, "walltime");
        s.Inputs("run_SLEEP60.root", "run_quick.root");
        s.Write("", "<Source Include=\"inputs/*.root\" />", _pbs.Resources(time: "00:00:15"));

        s.Run("Submit");
        var st = s.WaitFinished();

        var slow = Assert.Single(st["problems"]!.AsArray())!;
        Assert.Equal("timeout", (string?)slow["status"]);
        Assert.Contains("run_SLEEP60.root", (string?)slow["inputs"]![0]);
        Assert.Equal(1, Total(st, "completed"));
        Assert.Contains("hit their time limit", s.Run("Status").Output);

        var again = s.Run("Submit", ("Time", "00:05:00")).Output;
        Assert.Contains("1 task(s) timed out", again);
        Assert.Contains("submitted 1 task(s) in 1 array(s)", again);
        // the resubmission's own job folder carries the new limit
        var script = Directory.GetFiles(Path.Combine(s.Dir, "jobs"), "submit_chunk_0.*", SearchOption.AllDirectories)
            .OrderBy(File.GetLastWriteTimeUtc).Last();
        Assert.Contains("#PBS -l walltime=00:05:00", File.ReadAllText(script));
        s.Run("Cancel");
    }

    [Fact]
    public void Build_reads_MaxArraySize_from_the_server_when_the_production_sets_none()
    {
        server.Require();
        var s = new ScenarioProduction(_pbs, "maxarray");
        s.Inputs("run_0000.root", "run_0001.root");
        s.Write("", "<Source Include=\"inputs/*.root\" />");
        var expected = new PbsClient(options: PbsServerFixture.Options).QueryMaxArraySize(TimeSpan.FromSeconds(10), out _);

        s.Run("Build");

        Assert.NotNull(expected);
        Assert.Equal(expected, s.Plan.MaxArraySize);
        Assert.Equal("cluster", s.Plan.MaxArraySizeSource);
    }
}
