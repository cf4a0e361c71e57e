using System.Text.Json.Nodes;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Identity;

/// <summary>
/// On the real cluster, through `dotnet build -t:...`: two productions with the same file name in two
/// folders (sharing a JobsDir), a ledger restored from a backup whose job id the cluster has given to
/// someone else's job, and a ledger copied from the other production. Cancel touches only its own jobs.
/// </summary>
[Collection("cluster")]
public sealed class IdentityClusterTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    private static string Sbatch(params string[] args)
    {
        var r = ProcessRunner.Instance.Run("sbatch", ["--parsable", "--account=ci", "--output=/dev/null", .. args], TimeSpan.FromSeconds(30));
        Assert.True(r.Succeeded, r.Message);
        return r.Stdout.Trim().Split(';')[0];
    }

    private static string StateOf(string jobId)
    {
        var r = ProcessRunner.Instance.Run("squeue", ["-h", "-j", jobId, "-o", "%T"], TimeSpan.FromSeconds(30));
        return r.Succeeded ? r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "gone" : "gone";
    }

    [Fact]
    public void Cancel_of_one_same_named_production_leaves_the_others_jobs_and_a_reused_id_alone()
    {
        cluster.Require();
        var hold = Sbatch("--hold", "--job-name=spineprod-test-hold", "--wrap=true");
        // someone else's job, which got an id a restored ledger of b still names
        var unrelated = Sbatch("--hold", "--job-name=someone-else", "--comment=not-spineprod", "--wrap=true");
        var all = new List<string> { hold, unrelated };
        try
        {
            var jobs = Repo.Scratch("cluster-samename");
            string extra = $"<Dependency>afterok:{hold}</Dependency><JobsDir>{jobs}</JobsDir>";
            var a = Production("same-a", 4, failing: [], extra);
            var b = Production("same-b", 4, failing: [], extra);
            var c = Production("same-c", 4, failing: [], extra);
            Run(a, "Submit");
            Run(b, "Submit");
            Run(c, "Build");
            var (pa, pb, pc) = (Plan(a), Plan(b), Plan(c));
            Assert.Equal(3, new[] { pa.StateDir, pb.StateDir, pc.StateDir }.Distinct().Count());
            var idsA = Ledger.Load(pa.StateDir, "test").AllArrays().Select(x => x.Array.JobId!).ToList();
            var idsB = Ledger.Load(pb.StateDir, "test").AllArrays().Select(x => x.Array.JobId!).ToList();
            all.AddRange(idsA.Concat(idsB));
            Assert.All(idsA.Concat(idsB), id => Assert.Equal("PENDING", StateOf(id)));

            // b's ledger as restored from a backup: an earlier submission whose job id is now the unrelated job's
            var ledgerB = JsonNode.Parse(File.ReadAllText(Ledger.PathIn(pb.StateDir)))!;
            var old = JsonNode.Parse(ledgerB["Submissions"]![0]!.ToJsonString())!;
            old["Id"] = "20250101_000000";
            var arr = old["Stages"]![0]!["Arrays"]![0]!;
            arr["JobId"] = unrelated;
            arr["Comment"] = $"spineprod:{pb.Identity}:test:0:20250101_000000";
            ledgerB["Submissions"]!.AsArray().Insert(0, old);
            File.WriteAllText(Ledger.PathIn(pb.StateDir), ledgerB.ToJsonString());

            var status = Run(b, "Status").Output;
            Assert.Contains("not this production's jobs", status);
            Assert.Contains($"job {unrelated} (", status);
            var cancelB = Run(b, "Cancel").Output;
            Assert.Contains($"job {unrelated} of the ledger was left alone", cancelB);
            Assert.All(idsB, id => Assert.NotEqual("PENDING", StateOf(id)));
            Assert.Equal("PENDING", StateOf(unrelated));
            Assert.All(idsA, id => Assert.Equal("PENDING", StateOf(id)));   // the same-named production's jobs untouched

            // a's ledger copied into c's state folder (as is, and with its owner stripped as a first-version ledger)
            Directory.CreateDirectory(pc.StateDir);
            File.Copy(Ledger.PathIn(pa.StateDir), Ledger.PathIn(pc.StateDir));
            var refused = DotnetBuild.Run(c.ProjectFile, "Cancel");
            Assert.False(refused.Succeeded, refused.Output);
            Assert.Contains("error SPN3021", refused.Output);
            var stripped = JsonNode.Parse(File.ReadAllText(Ledger.PathIn(pa.StateDir)))!.AsObject();
            stripped.Remove("Identity");
            stripped.Remove("ProductionFile");
            File.WriteAllText(Ledger.PathIn(pc.StateDir), stripped.ToJsonString());
            refused = DotnetBuild.Run(c.ProjectFile, "Cancel");
            Assert.False(refused.Succeeded, refused.Output);
            Assert.Contains("error SPN3021", refused.Output);
            Assert.All(idsA, id => Assert.Equal("PENDING", StateOf(id)));

            Run(a, "Cancel");
            Assert.All(idsA, id => Assert.NotEqual("PENDING", StateOf(id)));
            Assert.Equal("PENDING", StateOf(unrelated));
        }
        finally
        {
            ProcessRunner.Instance.Run("scancel", all, TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public void A_submit_killed_part_way_is_in_history_with_the_arrays_it_sent()
    {
        cluster.Require();
        var hold = Sbatch("--hold", "--job-name=spineprod-test-hold", "--wrap=true");
        var all = new List<string> { hold };
        try
        {
            var p = Production("killed", 12, failing: [], $"<Dependency>afterok:{hold}</Dependency><FilesPerTask>1</FilesPerTask><MaxArraySize>1</MaxArraySize>" +
                $"<SpineProdBinlogStagingDir>{Path.Combine("$(MSBuildProjectDirectory)", "jobs", ".binlogs")}</SpineProdBinlogStagingDir>");
            File.WriteAllText(Path.Combine(p.Dir, "Directory.Build.rsp"), "-bl:%MSBuildThisFileDirectory%jobs/.binlogs/{}.binlog\n");
            Run(p, "Build");
            var ledgerFile = Ledger.PathIn(Plan(p).StateDir);

            // `dotnet build -t:Submit` in its own process group, killed (SIGKILL, every process of it) once two arrays are in.
            var psi = new System.Diagnostics.ProcessStartInfo("setsid", ["dotnet", "build", p.ProjectFile, "-t:Submit", "-nologo"])
                { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = p.Dir };
            psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
            psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
            using var submit = System.Diagnostics.Process.Start(psi)!;
            submit.OutputDataReceived += (_, _) => { };
            submit.ErrorDataReceived += (_, _) => { };
            submit.BeginOutputReadLine();
            submit.BeginErrorReadLine();
            var end = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (true)
            {
                Assert.True(DateTime.UtcNow < end && !submit.HasExited, "the Submit did not send two arrays in time (or finished first)");
                try
                {
                    if (File.Exists(ledgerFile) && Ledger.Load(Plan(p).StateDir, "test").AllArrays().Count(x => x.Array.JobId is not null) >= 2) break;
                }
                catch (SpineProd.Diagnostics.SpineProdException) { }
                Thread.Sleep(100);
            }
            ProcessRunner.Instance.Run("kill", ["-KILL", "--", $"-{submit.Id}"], TimeSpan.FromSeconds(10));
            submit.WaitForExit();
            var sent = Ledger.Load(Plan(p).StateDir, "test").AllArrays().Where(x => x.Array.JobId is not null).Select(x => x.Array.JobId!).ToList();
            all.AddRange(sent);
            Assert.InRange(sent.Count, 2, 11);

            var json = Run(p, "History", ("HistoryFormat", "json")).Output;
            // the JSON line (the killed build's truncated binlog is reported as a warning before it)
            var rows = JsonNode.Parse(json.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("[{", StringComparison.Ordinal)))!.AsArray();
            var row = Assert.Single(rows)!;
            Assert.Equal("Submit", (string)row["action"]!);
            Assert.False((bool)row["succeeded"]!);
            Assert.Equal(sent, row["stages"]![0]!["job_ids"]!.AsArray().Select(x => (string)x!));

            Run(p, "Cancel");
            var table = Run(p, "History").Output;
            Assert.Contains("2 build(s) that changed something on the cluster", table);
            Assert.Contains("interrupted", table);
        }
        finally
        {
            ProcessRunner.Instance.Run("scancel", all, TimeSpan.FromSeconds(30));
        }
    }
}
