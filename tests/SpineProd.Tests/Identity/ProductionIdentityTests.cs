using System.Text.Json.Nodes;
using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Identity;

/// <summary>A production is one production: state keyed on its identity, ledgers of others refused, first-version folders adopted only when provably ours.</summary>
[Collection("msbuild")]
public sealed class ProductionIdentityTests
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    /// <summary>A production named test.spineproj in its own folder, sharing <paramref name="jobsDir"/> with others, run by the local scheduler.</summary>
    private static ScratchProduction SameNamed(string label, string jobsDir, int inputs = 4)
    {
        var p = new ScratchProduction(label);
        p.List("inputs.txt", p.Inputs(inputs));
        p.Write($"""
                <JobsDir>{jobsDir}</JobsDir>
                <Scheduler>local</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <FilesPerTask>2</FilesPerTask>
                <MaxArraySize>5</MaxArraySize>
            """, "<SourceList Include=\"inputs.txt\" />");
        return p;
    }

    private static ProductionPlan Plan(ScratchProduction p) => ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));

    private static DotnetBuild.Result Run(ScratchProduction p, string target, params (string, string)[] props) =>
        DotnetBuild.Run(p.ProjectFile, target, props.ToDictionary(x => x.Item1, x => x.Item2));

    [Fact]
    public void Two_productions_with_the_same_file_name_in_different_folders_never_share_state()
    {
        var jobs = Repo.Scratch("sharedjobs");
        var a = SameNamed("same-a", jobs);
        var b = SameNamed("same-b", jobs);

        var ra = Run(a, "Submit");
        Assert.True(ra.Succeeded, ra.Output);
        var rb = Run(b, "Submit");
        Assert.True(rb.Succeeded, rb.Output);

        var (pa, pb) = (Plan(a), Plan(b));
        Assert.NotEqual(pa.StateDir, pb.StateDir);
        Assert.Equal(Path.Combine(jobs, a.StateDirName) + "/", pa.StateDir);
        Assert.StartsWith(pa.StateDir, pa.Stages[0].OutputDir);            // default output folder follows the identity
        Assert.StartsWith(pb.StateDir, pb.Stages[0].OutputDir);
        // b's Submit ran all of b's tasks: a's markers, ledger and lock are not b's
        Assert.DoesNotContain("Nothing to submit", rb.Output);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(pa.StateDir, "markers", "test"), "*.done").Length);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(pb.StateDir, "markers", "test"), "*.done").Length);
        var la = Ledger.Load(pa.StateDir, "test");
        var lb = Ledger.Load(pb.StateDir, "test");
        Assert.Equal((pa.Identity, a.ProjectFile), (la.Identity, la.ProductionFile));
        Assert.Equal((pb.Identity, b.ProjectFile), (lb.Identity, lb.ProductionFile));
        Assert.All(la.AllArrays(), x => Assert.StartsWith($"spineprod:{pa.Identity}:", x.Array.Comment));
        Assert.True(File.Exists(Path.Combine(pa.StateDir, "submit.lock")) && File.Exists(Path.Combine(pb.StateDir, "submit.lock")));
        Assert.False(Directory.Exists(Path.Combine(jobs, "test")));          // nothing in the first version's shared folder

        // A ledger copied from the other production is refused, at the ledger, by Status, Submit and Cancel.
        File.Copy(Ledger.PathIn(pa.StateDir), Ledger.PathIn(pb.StateDir), overwrite: true);
        foreach (var target in new[] { "Status", "Submit", "Cancel" })
        {
            var r = Run(b, target);
            Assert.False(r.Succeeded, r.Output);
            Assert.Contains($"{Ledger.PathIn(pb.StateDir)} : error SPN3021", r.Output);
            Assert.Contains(a.ProjectFile, r.Output);
        }
    }

    [Fact]
    public void A_first_version_state_folder_is_kept_only_when_its_job_folders_show_it_is_this_production()
    {
        var jobs = Repo.Scratch("legacyjobs");
        var mine = SameNamed("legacy-mine", jobs);
        var other = SameNamed("legacy-other", jobs);
        var legacy = Path.Combine(jobs, "test");
        WriteFirstVersionState(legacy, Path.Combine(jobs, "20260101_000000_spine_generic_spine"), mine.ProjectFile);

        var own = mine.Build();
        Assert.True(own.Succeeded, own.ErrorText);
        Assert.Equal(legacy + "/", Plan(mine).StateDir);                  // running jobs keep writing there
        Assert.True(Plan(mine).StateDirAcceptsUnownedLedger);
        Assert.StartsWith(legacy + "/", Plan(mine).Stages[0].OutputDir);

        var theirs = other.Build();                                       // same name, another folder: not adopted
        Assert.True(theirs.Succeeded, theirs.ErrorText);
        Assert.Equal(Path.Combine(jobs, other.StateDirName) + "/", Plan(other).StateDir);
        Assert.Empty(theirs.Warnings);

        // A first-version folder nothing proves is ours: not adopted, and the build says how to adopt it.
        var jobs2 = Repo.Scratch("legacyjobs2");
        var unproven = SameNamed("legacy-unproven", jobs2);
        WriteFirstVersionState(Path.Combine(jobs2, "test"), Path.Combine(jobs2, "gone"), null);
        var outcome = unproven.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.Equal(Path.Combine(jobs2, unproven.StateDirName) + "/", Plan(unproven).StateDir);
        var warning = Assert.Single(outcome.Warnings);
        Assert.Equal("SPN3022", warning.Code);
        Assert.Contains("-p:SpineProdStateDir=", warning.Message);

        // Naming it explicitly adopts it.
        var named = unproven.Build(properties: new Dictionary<string, string> { ["SpineProdStateDir"] = Path.Combine(jobs2, "test") });
        Assert.True(named.Succeeded, named.ErrorText);
        Assert.Equal(Path.Combine(jobs2, "test"), Plan(unproven).StateDir.TrimEnd('/'));
    }

    /// <summary>A ledger as SpineProd's first version wrote it (no owner), with one job folder whose metadata names <paramref name="productionFile"/>.</summary>
    private static void WriteFirstVersionState(string stateDir, string jobFolder, string? productionFile)
    {
        Directory.CreateDirectory(stateDir);
        File.WriteAllText(Path.Combine(stateDir, "submissions.json"), $$"""
            { "Format": 1, "Production": "test", "Submissions": [ { "Id": "20260101_000000", "Time": "2026-01-01T00:00:00+00:00", "Scheduler": "local",
              "Stages": [ { "Stage": "test", "JobFolder": "{{jobFolder}}", "Arrays": [ { "Array": 0, "JobName": "spine_generic_spine", "State": "submitted", "JobId": "1",
                "ArraySpec": "0-1", "Tasks": "0-1", "Comment": "spineprod:test:test:0:20260101_000000" } ] } ] } ] }
            """);
        if (productionFile is null) return;
        Directory.CreateDirectory(jobFolder);
        File.WriteAllText(Path.Combine(jobFolder, "job_metadata.json"), new JsonObject { ["production_file"] = productionFile }.ToJsonString());
    }
}

/// <summary>The owner check itself: moved checkouts keep their state, copies and other productions do not.</summary>
public sealed class LedgerOwnerTests
{
    private static Ledger Owned(string key, string file)
    {
        var l = new Ledger { Production = "x", Identity = key, ProductionFile = file };
        l.Submissions.Add(new SubmissionRecord { Id = "1" });
        return l;
    }

    [Fact]
    public void A_moved_checkout_keeps_its_ledger_and_a_copy_of_the_checkout_does_not()
    {
        var dir = Repo.Scratch("owner");
        var here = Path.Combine(dir, "new", "productions", "x.spineproj");
        Directory.CreateDirectory(Path.GetDirectoryName(here)!);
        File.WriteAllText(here, "<Project />");
        var id = new ProductionIdentity("x", "x-12345678", here, "productions/x.spineproj");

        // written by the same file reached another way (a symlinked folder)
        var link = Path.Combine(dir, "link");
        Directory.CreateSymbolicLink(link, Path.Combine(dir, "new"));
        id.CheckOwner(Owned("x-12345678", Path.Combine(link, "productions", "x.spineproj")), "/l");
        // the checkout was moved: the old file is gone
        id.CheckOwner(Owned("x-12345678", Path.Combine(dir, "old", "productions", "x.spineproj")), "/l");

        // a copy of the checkout: the other file still exists
        var copy = Path.Combine(dir, "copy", "productions", "x.spineproj");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.WriteAllText(copy, "<Project />");
        Assert.Equal("SPN3021", Assert.Throws<SpineProdException>(() => id.CheckOwner(Owned("x-12345678", copy), "/l")).Code);
        // another production altogether
        var e = Assert.Throws<SpineProdException>(() => id.CheckOwner(Owned("x-87654321", copy), "/state/submissions.json"));
        Assert.Equal(("SPN3021", "/state/submissions.json"), (e.Code, e.File));
        // a first-version ledger (no owner) only where the state folder accepts one
        var unowned = new Ledger { Production = "x", Submissions = { new SubmissionRecord { Id = "1" } } };
        Assert.Equal("SPN3021", Assert.Throws<SpineProdException>(() => id.CheckOwner(unowned, "/l")).Code);
        (id with { AcceptsUnownedLedger = true }).CheckOwner(unowned, "/l");
    }
}
