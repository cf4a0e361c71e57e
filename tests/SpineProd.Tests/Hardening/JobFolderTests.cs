using System.Diagnostics;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Hardening;

/// <summary>
/// Job folders are built under a hidden temporary name and renamed when complete: a full disk in
/// the middle of the copy leaves nothing that looks like a job folder, and a partial folder left by
/// a killed Submit is removed by the next one. Local scheduler: no cluster needed.
/// </summary>
public sealed class JobFolderTests : EndToEndScenarios
{
    protected override string Scheduler => "local";

    private static ProcessResult Sh(params string[] args) => ProcessRunner.Instance.Run(args[0], args[1..], TimeSpan.FromSeconds(30));

    [Fact]
    public void A_disk_that_fills_up_while_the_job_folder_is_copied_leaves_no_folder_and_no_submission()
    {
        if (Environment.UserName != "root") return;   // mounting a small tmpfs needs root; SubmitterTests covers the seam
        var p = new ScratchProduction("local-full-disk");
        var small = Path.Combine(p.Dir, "small-jobs");
        Directory.CreateDirectory(small);
        var mount = Sh("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small);
        Assert.True(mount.Succeeded, "mount: " + mount.Message);
        try
        {
            // 3000 listed inputs with long names: chunk lists of ~600 KB, more than the 256 KB disk holds
            p.List("inputs.txt", Enumerable.Range(0, 3000).Select(i => $"/data/{new string('x', 180)}/run_{i:D5}.root"));
            p.Write($"""
                    <Scheduler>local</Scheduler>
                    <SpineCommand>{TestDouble}</SpineCommand>
                    <FilesPerTask>1000</FilesPerTask>
                    <JobsDir>{small}/</JobsDir>
                """, "<SourceList Include=\"inputs.txt\" />");

            var r = DotnetBuild.Run(p.ProjectFile, "Submit");

            Assert.False(r.Succeeded, r.Output);
            Assert.Contains("SPN3032", r.Output);
            Assert.Contains("partial copy was removed", r.Output);
            // only the production's state folder (its lock): no job folder, whole or partial
            Assert.Equal([p.StateDirName], Directory.GetDirectories(small).Select(Path.GetFileName));
            var plan = Plan(p);
            Assert.Empty(Ledger.Load(plan.StateDir, plan.ProductionName).Submissions);
        }
        finally
        {
            Sh("umount", small);
        }
    }

    [Fact]
    public void A_partial_job_folder_left_by_a_killed_Submit_is_removed_by_the_next_one_and_another_hosts_is_left_alone()
    {
        var p = Production("orphan-folder", 2, failing: []);
        var jobs = Path.Combine(p.Dir, "jobs");
        int deadPid;
        using (var gone = Process.Start("true")!) { gone.WaitForExit(); deadPid = gone.Id; }
        var orphan = Path.Combine(jobs, $".spineprod-partial_{Environment.MachineName}_{deadPid}_{Guid.NewGuid():N}");
        var foreign = Path.Combine(jobs, $".spineprod-partial_another-login-node_{deadPid}_{Guid.NewGuid():N}");
        foreach (var dir in new[] { orphan, foreign })
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, JobFolders.OwnerMarker), "");
            File.WriteAllText(Path.Combine(dir, "files_chunk_0.txt"), "half a li");
        }

        var r = Run(p, "Submit");

        Assert.False(Directory.Exists(orphan), "the orphaned partial folder is still there");
        Assert.True(Directory.Exists(foreign), "another host's partial folder was touched");
        Assert.Contains("a killed Submit had not finished building", r.Output);
        var folder = Ledger.Load(Plan(p).StateDir, Plan(p).ProductionName).Submissions.Single().Stages.Single().JobFolder;
        Assert.DoesNotContain(".spineprod-partial", folder);
        Assert.True(File.Exists(Path.Combine(folder, JobMetadata.FileName)));
    }
}
