using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sdk;

/// <summary>
/// A no-op rebuild costs what an empty project costs (bench/RESULTS.md): with nothing changed, a
/// `dotnet build` as the README asks users to run it (node reuse and the MSBuild server off) starts
/// no task host; where a node may outlive the build, the tasks still run in one (never stale code).
/// </summary>
public sealed class NoOpBuildTests
{
    private static string Build(ScratchProduction p, bool reuseOff)
    {
        var env = new Dictionary<string, string?>
        {
            ["MSBUILDDISABLENODEREUSE"] = reuseOff ? "1" : null,
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = reuseOff ? "0" : null,
            ["MSBUILDUSESERVER"] = null,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        // -nr:false keeps this test from leaving worker nodes behind either way.
        var r = ProcessRunner.Instance.Run("dotnet", ["build", p.ProjectFile, "-nologo", "-v:diag", "-nr:false"], TimeSpan.FromMinutes(3), p.Dir, env);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        return r.Stdout;
    }

    [Fact]
    public void A_no_op_rebuild_starts_no_task_host_when_no_node_outlives_it()
    {
        var p = new ScratchProduction("noop");
        p.Inputs(3);
        p.Write("<Scheduler>local</Scheduler><MaxArraySize>10</MaxArraySize>", "<Source Include=\"inputs/*.root\" />");
        Build(p, reuseOff: true);

        var again = Build(p, reuseOff: true);
        Assert.Contains("Skipping target \"SpineProdPlan\"", again);
        Assert.DoesNotContain("ran in TaskHost process", again);

        // Without the environment that rules out reused nodes, the same checks run in a task host.
        var reusable = Build(p, reuseOff: false);
        Assert.Contains("Task \"CheckOptions\" ran in TaskHost process", reusable);
    }
}
