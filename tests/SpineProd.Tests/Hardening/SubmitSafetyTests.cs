using System.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Hardening;

/// <summary>
/// A job is submitted once, on the real test cluster, through `dotnet build -t:Submit` as users run
/// it: a site sbatch wrapper that prints banners, a ledger deleted or restored from a backup while
/// jobs run, a Submit killed inside a cleanup job's sbatch, a QOS that refuses the job for good,
/// and Ctrl-C (or a killed build) in the middle of a Submit. Each time, every array is counted on
/// the cluster by its job name.
/// </summary>
[Collection("cluster")]
public sealed class SubmitSafetyTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    private static string UniqueName(string what) => $"safe_{what}_{Guid.NewGuid():N}"[..(what.Length + 17)];

    private static string Which(string program) =>
        ProcessRunner.Instance.Run("bash", ["-c", $"command -v {program}"], TimeSpan.FromSeconds(10)).Stdout.Trim();

    /// <summary>
    /// A site-style wrapper: <c>site-bin/&lt;program&gt;</c>, put first on PATH, running <paramref name="body"/>
    /// with <c>$REAL</c> (the real program), <c>$n</c> (its call number) and <c>$DIR</c> (the production).
    /// </summary>
    private static Dictionary<string, string?> Wrap(ScratchProduction p, string program, string body, Dictionary<string, string?>? env = null)
    {
        var bin = Path.Combine(p.Dir, "site-bin");
        Directory.CreateDirectory(bin);
        var script = Path.Combine(bin, program);
        File.WriteAllText(script, $"""
            #!/bin/bash
            REAL='{Which(program)}'; DIR='{p.Dir}'
            echo "$*" >> "$DIR/{program}-calls"; n=$(wc -l < "$DIR/{program}-calls")
            {body}
            """);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return env ?? new Dictionary<string, string?>
        {
            ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
        };
    }

    private static int Calls(ScratchProduction p, string program)
    {
        var f = Path.Combine(p.Dir, $"{program}-calls");
        return File.Exists(f) ? File.ReadAllLines(f).Length : 0;
    }

    private static Ledger LedgerOf(ScratchProduction p)
    {
        var plan = Plan(p);
        return Ledger.Load(plan.StateDir, plan.ProductionName);
    }

    /// <summary>A job held forever (until scancel): productions made to depend on it stay pending, so nothing runs.</summary>
    private static string HeldJob(string name)
    {
        var r = ProcessRunner.Instance.Run("sbatch", ["--parsable", "--hold", "-J", name, "-A", "ci", "-p", "cpu", "-t", "5", "--mem-per-cpu=50M", "-o", "/dev/null", "--wrap=true"], TimeSpan.FromSeconds(60));
        Assert.True(r.Succeeded, r.Message);
        return r.Stdout.Trim();
    }

    private static void CancelByName(string prefix)
    {
        var q = ProcessRunner.Instance.Run("squeue", ["-h", "-o", "%F|%j"], TimeSpan.FromSeconds(30));
        var ids = q.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|'))
            .Where(f => f.Length == 2 && f[1].StartsWith(prefix, StringComparison.Ordinal)).Select(f => f[0]).Distinct().ToList();
        if (ids.Count > 0) ProcessRunner.Instance.Run("scancel", ids, TimeSpan.FromSeconds(30));
    }

    private static ProcessResult Submit(ScratchProduction p, IReadOnlyDictionary<string, string?>? env = null, params string[] extra) =>
        ClusterFaultTests.Submit(p, env, extra);

    // ------------------------------------------------------------------ item 7: sbatch output

    [Fact]
    public void A_site_sbatch_wrapper_that_prints_banners_gives_every_array_its_job_id_once()
    {
        cluster.Require();
        var jobName = UniqueName("banner");
        var p = Production("banner", 12, failing: [], $"<MaxArraySize>2</MaxArraySize><JobName>{jobName}</JobName>");
        // 1: banner, then "id;cluster"; 2: a bare number in the banner too (two candidates); 3: the id swallowed.
        var env = Wrap(p, "sbatch", """
            echo "==== SiteCluster: fair-share report follows ===="
            [ "$n" -eq 2 ] && echo 2026
            out=$("$REAL" "$@"); rc=$?
            case $n in 1) echo "$out;ci" ;; 2) echo "$out" ;; esac
            echo "Reminder: scratch is purged after 30 days"
            exit $rc
            """);

        var r = Submit(p, env);

        Assert.True(r.ExitCode == 0, r.Stdout);
        Assert.Contains("submitted 6 task(s) in 3 array(s)", r.Stdout);
        Assert.Contains("found it by its comment", r.Stdout);
        var arrays = LedgerOf(p).AllArrays().Select(a => a.Array).ToList();
        Assert.Equal(3, arrays.Select(a => a.JobId).Distinct().Count());
        Assert.All(arrays, a => Assert.Equal(ArraySubmissionState.Submitted, a.State));
        var done = WaitFinished(p);
        Assert.True(done.IsComplete, string.Join("\n", done.Render()));
        Assert.Equal(Enumerable.Range(0, 3).ToDictionary(i => $"{jobName}_{i}", _ => 1), ClusterFaultTests.ArraysByName(jobName, 3));
    }

    [Fact]
    public void An_accepted_array_whose_id_cannot_be_read_nor_looked_up_keeps_its_folder_and_is_never_sent_again()
    {
        cluster.Require();
        var jobName = UniqueName("noid");
        var p = Production("noid", 4, failing: [], $"<JobName>{jobName}</JobName>");
        var env = Wrap(p, "sbatch", """
            "$REAL" "$@" >/dev/null; rc=$?
            echo "Thank you for using SiteCluster"
            exit $rc
            """);
        // the lookup by name fails (a busy controller), the check for live jobs before submitting does not
        Wrap(p, "squeue", """
            case "$*" in *--name=*) echo "slurm_load_jobs error: Socket timed out on send/recv operation" >&2; exit 1 ;; esac
            exec "$REAL" "$@"
            """, env);

        var first = Submit(p, env);

        Assert.NotEqual(0, first.ExitCode);
        Assert.Contains("SPN3011", first.Stdout);
        var entry = LedgerOf(p).AllArrays().Single();
        Assert.Equal(ArraySubmissionState.Submitting, entry.Array.State);
        Assert.True(File.Exists(entry.Array.Script), "the job folder of a job that may be running was deleted");

        var second = Submit(p);

        Assert.True(second.ExitCode == 0, second.Stdout);
        Assert.Contains("was accepted as job", second.Stdout);
        Assert.DoesNotContain("submitted 2 task(s)", second.Stdout);
        WaitFinished(p);
        Assert.Equal(new Dictionary<string, int> { [jobName] = 1 }, ClusterFaultTests.ArraysByName(jobName, 1));
        Assert.Equal(1, Calls(p, "sbatch"));
    }

    // ------------------------------------------------------------------ item 11: permanent rejections

    /// <summary>A QOS whose MaxWall (1 minute) refuses longer jobs at submission (DenyOnLimit), as sites configure them.</summary>
    private static void EnsureDenyingQos()
    {
        var r = ProcessRunner.Instance.Run("bash", [Repo.Path_("tests", "cluster", "qos.sh")], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
    }

    [Fact]
    public void A_QOS_limit_or_an_unknown_account_is_SPN3003_at_once_with_sbatchs_reason_and_leaves_no_trace()
    {
        cluster.Require();
        EnsureDenyingQos();
        var p = Production("deny", 4, failing: []);

        var clock = Stopwatch.StartNew();
        var qos = Submit(p, null, "-p:Qos=spineprod_maxwall");
        var qosTime = clock.Elapsed;
        var account = Submit(p, null, "-p:Account=no_such_account");

        Assert.NotEqual(0, qos.ExitCode);
        Assert.Contains("SPN3003", qos.Stdout);
        Assert.Contains("QOSMaxWallDurationPerJobLimit", qos.Stdout);
        Assert.DoesNotContain("retrying", qos.Stdout);
        Assert.True(qosTime < TimeSpan.FromSeconds(45), $"took {qosTime}");
        Assert.NotEqual(0, account.ExitCode);
        Assert.Contains("SPN3003", account.Stdout);
        Assert.Contains("Invalid account", account.Stdout);
        Assert.DoesNotContain("retrying", account.Stdout);
        Assert.Empty(LedgerOf(p).Submissions);
        Assert.Empty(Directory.GetDirectories(Path.Combine(p.Dir, "jobs"), "*_spine_*"));
    }

    // ------------------------------------------------------------------ item 9: the ledger lost or restored

    [Fact]
    public void A_ledger_deleted_or_restored_from_an_older_backup_while_tasks_run_never_duplicates_them()
    {
        cluster.Require();
        var jobName = UniqueName("ledger");
        var held = HeldJob("hold_" + jobName);
        try
        {
            var p = Production("ledger", 8, failing: [], $"<JobName>{jobName}</JobName><Dependency>afterok:{held}</Dependency>");
            Assert.True(Submit(p).ExitCode == 0);                  // 4 tasks in 1 array, pending behind the held job
            var plan = Plan(p);
            var ledgerFile = Ledger.PathIn(plan.StateDir);
            var backup = File.ReadAllText(ledgerFile);
            Run(p, "Cancel");
            var second = Submit(p);                                 // the cancelled tasks go again: a second array
            Assert.True(second.ExitCode == 0, second.Stdout);
            Assert.Contains("submitted 4 task(s) in 1 array(s)", second.Stdout);
            var live = LedgerOf(p).Submissions[1].Stages.Single().Arrays.Single().JobId;

            File.WriteAllText(ledgerFile, backup);                  // the backup knows only the cancelled array
            var afterRestore = Submit(p);
            Assert.True(afterRestore.ExitCode == 0, afterRestore.Stdout);
            Assert.Contains($"job {live} ({jobName})", afterRestore.Stdout);
            Assert.Contains("Nothing to submit", afterRestore.Stdout);

            File.Delete(ledgerFile);                                // and no ledger at all
            var afterDelete = Submit(p);
            Assert.True(afterDelete.ExitCode == 0, afterDelete.Stdout);
            Assert.Contains("Nothing to submit", afterDelete.Stdout);
            Assert.Equal(live, LedgerOf(p).AllArrays().Single().Array.JobId);

            Assert.Equal(new Dictionary<string, int> { [jobName] = 2 }, ClusterFaultTests.ArraysByName(jobName, 1));
            var cancel = Run(p, "Cancel");                          // and Cancel reaches it again
            Assert.Contains(live!, cancel.Output);
        }
        finally
        {
            CancelByName(jobName);
            CancelByName("hold_" + jobName);
        }
    }

    // ------------------------------------------------------------------ item 10: cleanup jobs

    [Fact]
    public void A_submit_killed_inside_a_cleanup_jobs_sbatch_is_reconciled_then_cancelled_and_never_doubled()
    {
        cluster.Require();
        var name = UniqueName("clean");
        var held = HeldJob(name + "_hold");
        try
        {
            var p = new ScratchProduction("slurm-cleanup-intent");
            var inputs = p.Inputs(2);
            p.List("reco.txt", inputs);
            p.Write($"""
                    <Scheduler>slurm</Scheduler>
                    <SpineCommand>{TestDouble}</SpineCommand>
                    <Dependency>afterok:{held}</Dependency>
                    {ClusterResources()}
                """, $"""
                    <Stage Include="reco" Config="spine.yaml" OutputDir="reco-out" Cleanup="reco-out" JobName="{name}_r" />
                    <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" OutputDir="ana-out" JobName="{name}_a" />
                    <SourceList Include="reco.txt" Stage="reco" />
                """);
            Run(p, "Build");
            var inCleanup = Path.Combine(p.Dir, "in-cleanup-sbatch");
            var env = Wrap(p, "sbatch", $"""
                case "$*" in *--job-name=cleanup_*) "$REAL" "$@" > /dev/null; touch '{inCleanup}'; sleep 300 ;; esac
                exec "$REAL" "$@"
                """);
            var psi = new ProcessStartInfo("dotnet", ["build", p.ProjectFile, "-t:Submit", "-nologo"]) { WorkingDirectory = p.Dir, RedirectStandardOutput = true };
            foreach (var (k, v) in env) psi.Environment[k] = v;
            using (var build = Process.Start(psi)!)
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
                while (!File.Exists(inCleanup) && DateTime.UtcNow < deadline && !build.HasExited) Thread.Sleep(200);
                Assert.True(File.Exists(inCleanup), "the Submit never reached the cleanup job's sbatch");
                build.Kill(entireProcessTree: true);   // SIGKILL: the cleanup job is queued, its id never recorded
                build.WaitForExit();
            }
            var intent = LedgerOf(p).Submissions.Single().Cleanups.Single();
            Assert.Equal((ArraySubmissionState.Submitting, (string?)null), (intent.State, intent.JobId));

            var next = Submit(p);

            Assert.True(next.ExitCode == 0, next.Stdout);
            Assert.Contains($"the cleanup job cleanup_{name}_r from the interrupted submission", next.Stdout);
            Assert.Contains("Nothing to submit", next.Stdout);
            var cleanupId = LedgerOf(p).Submissions.Single().Cleanups.Single().JobId;
            Assert.NotNull(cleanupId);
            Assert.Equal(new Dictionary<string, int> { [$"cleanup_{name}_r"] = 1 }, ClusterFaultTests.ArraysByName($"cleanup_{name}", 1));

            var cancel = Run(p, "Cancel");
            Assert.Contains(cleanupId!, cancel.Output);
            var state = ProcessRunner.Instance.Run("squeue", ["-h", "-t", "all", "-j", cleanupId!, "-o", "%T"], TimeSpan.FromSeconds(30)).Stdout.Trim();
            Assert.Equal("CANCELLED", state);
        }
        finally
        {
            CancelByName(name);
        }
    }

    // ------------------------------------------------------------------ item 12: Ctrl-C, a killed build

    /// <summary>A Submit of 8 one-task arrays through a slow sbatch (1 s a call), all held behind a held job.</summary>
    private (ScratchProduction P, Dictionary<string, string?> Env, string JobName) SlowSubmit(string what, string held)
    {
        var jobName = UniqueName(what);
        var p = Production(what, 8, failing: [], $"<FilesPerTask>1</FilesPerTask><MaxArraySize>1</MaxArraySize><JobName>{jobName}</JobName><Dependency>afterok:{held}</Dependency>");
        Run(p, "Build");
        var env = Wrap(p, "sbatch", """
            touch "$DIR/sbatch-started-$n"; sleep 1
            exec "$REAL" "$@"
            """);
        return (p, env, jobName);
    }

    private static Process StartSubmit(ScratchProduction p, Dictionary<string, string?> env)
    {
        // SIGINT as a terminal leaves it (a test host started in the background inherits it ignored)
        var psi = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet", "build", p.ProjectFile, "-t:Submit", "-nologo"])
            { WorkingDirectory = p.Dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    private static void WaitForFile(string path, Process build)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!File.Exists(path) && DateTime.UtcNow < deadline && !build.HasExited) Thread.Sleep(100);
        Assert.True(File.Exists(path), $"never reached {Path.GetFileName(path)}");
    }

    /// <summary>Every array the ledger records was sent once, nothing is left half-recorded, and the cluster agrees.</summary>
    private static List<ArraySubmission> AssertConsistent(ScratchProduction p, string jobName)
    {
        var arrays = LedgerOf(p).AllArrays().Select(a => a.Array).ToList();
        Assert.All(arrays, a => Assert.Equal(ArraySubmissionState.Submitted, a.State));
        Assert.Equal(Calls(p, "sbatch"), arrays.Count);
        var onCluster = ClusterFaultTests.ArraysByName(jobName, arrays.Count);
        Assert.Equal(arrays.Count, onCluster.Count);
        Assert.All(onCluster.Values, n => Assert.Equal(1, n));
        return arrays;
    }

    [Fact]
    public void Ctrl_C_during_Submit_stops_after_the_array_in_flight_says_what_was_sent_and_the_next_Submit_sends_the_rest()
    {
        cluster.Require();
        var held = HeldJob("safe_sigint_hold");
        string? jobName = null;
        try
        {
            (var p, var env, jobName) = SlowSubmit("sigint", held);
            string output;
            int exit;
            using (var build = StartSubmit(p, env))
            {
                var stdout = build.StandardOutput.ReadToEndAsync();
                WaitForFile(Path.Combine(p.Dir, "sbatch-started-3"), build);
                ProcessRunner.Instance.Run("kill", ["-INT", build.Id.ToString()], TimeSpan.FromSeconds(10));
                Assert.True(build.WaitForExit(60_000), "the Submit did not stop after Ctrl-C");
                output = stdout.Result;
                exit = build.ExitCode;
            }
            Thread.Sleep(2000);   // nothing may be sent after the build ended

            Assert.True(exit != 0, output);
            Assert.Contains("SPN3031", output);
            Assert.Contains("stopped after the array in flight", output);
            var sent = AssertConsistent(p, jobName);
            Assert.InRange(sent.Count, 3, 4);
            Assert.Contains($"{sent.Count} array(s), {sent.Count} task(s), jobs {string.Join(", ", sent.Select(a => a.JobId))}", output);
            Assert.Contains("Ctrl-C", LedgerOf(p).Submissions.Single().Interrupted);

            var rest = Submit(p);
            Assert.True(rest.ExitCode == 0, rest.Stdout);
            Assert.Contains($"submitted {8 - sent.Count} task(s) in {8 - sent.Count} array(s)", rest.Stdout);
            Assert.Equal(Enumerable.Range(0, 8).ToDictionary(i => $"{jobName}_{i}", _ => 1), ClusterFaultTests.ArraysByName(jobName, 8));
        }
        finally
        {
            CancelByName("safe_sigint");
        }
    }

    [Fact]
    public void Ctrl_C_in_a_terminal_reaches_the_whole_process_group_and_the_Submit_still_stops_cleanly()
    {
        cluster.Require();
        var held = HeldJob("safe_pgint_hold");
        string? jobName = null;
        try
        {
            (var p, var env, jobName) = SlowSubmit("pgint", held);
            var psi = new ProcessStartInfo("env", ["--default-signal=INT", "setsid", "dotnet", "build", p.ProjectFile, "-t:Submit", "-nologo"])
                { WorkingDirectory = p.Dir, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var (k, v) in env) psi.Environment[k] = v;
            string output;
            int exit;
            using (var build = Process.Start(psi)!)
            {
                var stdout = build.StandardOutput.ReadToEndAsync();
                WaitForFile(Path.Combine(p.Dir, "sbatch-started-3"), build);
                // as a terminal does: SIGINT to the build, its task host and the sbatch in flight alike
                ProcessRunner.Instance.Run("kill", ["-INT", "--", $"-{build.Id}"], TimeSpan.FromSeconds(10));
                Assert.True(build.WaitForExit(60_000), "the Submit did not stop after Ctrl-C");
                output = stdout.Result;
                exit = build.ExitCode;
            }
            Thread.Sleep(2000);

            Assert.True(exit != 0, output);
            Assert.Contains("SPN3031", output);
            var arrays = LedgerOf(p).AllArrays().Select(a => a.Array).ToList();
            var sent = arrays.Where(a => a.State == ArraySubmissionState.Submitted).ToList();
            Assert.All(arrays.Except(sent), a => Assert.Equal(ArraySubmissionState.Submitting, a.State));   // the one cut short, if any
            Assert.True(arrays.Count <= 4, $"{arrays.Count} arrays after Ctrl-C at the third");

            var rest = Submit(p);
            Assert.True(rest.ExitCode == 0, rest.Stdout);
            Assert.Equal(Enumerable.Range(0, 8).ToDictionary(i => $"{jobName}_{i}", _ => 1), ClusterFaultTests.ArraysByName(jobName, 8));
        }
        finally
        {
            CancelByName("safe_pgint");
        }
    }

    [Fact]
    public void Killing_only_the_dotnet_build_process_stops_its_task_host_after_the_array_in_flight_and_the_ledger_says_so()
    {
        cluster.Require();
        var held = HeldJob("safe_orphan_hold");
        string? jobName = null;
        try
        {
            (var p, var env, jobName) = SlowSubmit("orphan", held);
            using (var build = StartSubmit(p, env))
            {
                WaitForFile(Path.Combine(p.Dir, "sbatch-started-3"), build);
                var nodes = Descendants(build.Id).Where(pid => CommandLine(pid).Contains("nodemode", StringComparison.OrdinalIgnoreCase)).ToList();
                Assert.NotEmpty(nodes);
                ProcessRunner.Instance.Run("kill", ["-KILL", build.Id.ToString()], TimeSpan.FromSeconds(10));
                build.WaitForExit();
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (nodes.Any(Alive) && DateTime.UtcNow < deadline) Thread.Sleep(200);
                Assert.False(nodes.Any(Alive), "the MSBuild node went on after its build process was killed");
            }
            var callsThen = Calls(p, "sbatch");
            Thread.Sleep(2000);
            Assert.Equal(callsThen, Calls(p, "sbatch"));
            Assert.True(callsThen < 8, "the orphaned task host submitted everything");

            AssertConsistent(p, jobName);
            Assert.Contains("is gone", LedgerOf(p).Submissions.Single().Interrupted);
            var rest = Submit(p);
            Assert.True(rest.ExitCode == 0, rest.Stdout);
            Assert.Equal(Enumerable.Range(0, 8).ToDictionary(i => $"{jobName}_{i}", _ => 1), ClusterFaultTests.ArraysByName(jobName, 8));
        }
        finally
        {
            CancelByName("safe_orphan");
        }
    }

    private static IEnumerable<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (!children.TryGetValue(ppid, out var list)) children[ppid] = list = new();
                list.Add(pid);
            }
            catch (IOException) { }
        }
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
            foreach (var c in children.GetValueOrDefault(queue.Dequeue()) ?? [])
            {
                yield return c;
                queue.Enqueue(c);
            }
    }

    private static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
    }

    private static bool Alive(int pid)
    {
        try { return !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "); }
        catch (IOException) { return false; }
    }
}
