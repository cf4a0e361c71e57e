using System.Text.Json.Nodes;
using SpineProd.Scheduler;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Audit;

/// <summary>
/// The audit trail as a user gets it: plain `dotnet build -t:Submit|Cancel` on the real cluster
/// leave binlogs through a Directory.Build.rsp (as productions/ has), and -t:History reads them back.
/// </summary>
[Collection("cluster")]
public sealed class HistoryTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    [Fact]
    public void Two_submits_and_a_cancel_give_three_history_rows_and_a_damaged_binlog_is_skipped()
    {
        cluster.Require();
        var hold = ProcessRunner.Instance.Run("sbatch", ["--parsable", "--hold", "--account=ci", "--job-name=spineprod-test-hold", "--output=/dev/null", "--wrap=true"], TimeSpan.FromSeconds(30));
        Assert.True(hold.Succeeded, hold.Message);
        var holdId = hold.Stdout.Trim();
        var submitted = new List<string>();
        try
        {
            var p = Production("history", 4, failing: [], $"<Dependency>afterok:{holdId}</Dependency><SpineProdBinlogStagingDir>{Path.Combine("$(MSBuildProjectDirectory)", "jobs", ".binlogs")}</SpineProdBinlogStagingDir>");
            // What productions/Directory.Build.rsp does for the shipped productions.
            File.WriteAllText(Path.Combine(p.Dir, "Directory.Build.rsp"), "-bl:%MSBuildThisFileDirectory%jobs/.binlogs/{}.binlog\n");

            Run(p, "Submit");                 // 2 tasks, pending behind the held job
            Run(p, "Cancel");                 // cancels them
            Run(p, "Submit");                 // resubmits the 2 cancelled tasks
            var plan = Plan(p);
            var ledger = SpineProd.Submission.Ledger.Load(plan.StateDir, plan.ProductionName);
            submitted.AddRange(ledger.AllArrays().Select(a => a.Array.JobId!));
            Assert.Equal(2, submitted.Count);

            var json = Run(p, "History", ("HistoryFormat", "json")).Output;
            var rows = JsonNode.Parse(json[json.IndexOf('[')..(json.LastIndexOf(']') + 1)])!.AsArray();
            Assert.Equal(["Resubmit", "Cancel", "Submit"], rows.Select(r => (string)r!["action"]!));
            Assert.Equal([submitted[1]], rows[0]!["stages"]![0]!["job_ids"]!.AsArray().Select(x => (string)x!));
            Assert.Equal([submitted[0]], rows[2]!["stages"]![0]!["job_ids"]!.AsArray().Select(x => (string)x!));
            Assert.Equal([submitted[0]], rows[1]!["stages"]![0]!["job_ids"]!.AsArray().Select(x => (string)x!));
            Assert.All(rows, r => Assert.Equal(Environment.UserName, (string)r!["user"]!));
            Assert.Contains("--parsable", rows[2]!["commands"]![0]!["argv"]!.AsArray().Select(x => (string)x!));

            // A damaged binlog is reported and skipped, not fatal.
            var binlogs = Directory.GetFiles(Path.Combine(plan.StateDir, "binlogs"), "*.binlog").Order().ToList();
            Assert.Equal(3, binlogs.Count);
            var bytes = File.ReadAllBytes(binlogs[0]);
            File.WriteAllBytes(Path.Combine(plan.StateDir, "binlogs", "damaged.binlog"), bytes[..(bytes.Length / 3)]);
            var table = Run(p, "History").Output;
            Assert.Contains("SPN5002", table);
            Assert.Contains("3 build(s) that changed something on the cluster", table);
        }
        finally
        {
            ProcessRunner.Instance.Run("scancel", [holdId, .. submitted], TimeSpan.FromSeconds(30));
        }
    }
}
