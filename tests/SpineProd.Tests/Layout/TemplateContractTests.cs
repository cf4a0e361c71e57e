using System.Text.RegularExpressions;
using SpineProd.Diagnostics;
using SpineProd.Layout;
using SpineProd.Planning;
using SpineProd.Rendering;
using SpineProd.Scheduler;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Layout;

/// <summary>
/// The contract between the job templates and the code that reads what jobs leave behind: the shipped
/// templates, run as SLURM runs them, leave the completion marker and the logs exactly where
/// <see cref="ProductionLayout"/> (Status, resubmission) looks; and a site's template that moves or
/// drops one of them fails the build at the template, with its SPN code, before anything is submitted.
/// </summary>
public sealed class TemplateContractTests
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    /// <summary>A one-stage, one-array plan of two tasks (the second fails), in a scratch folder.</summary>
    private sealed class Fixture
    {
        public string Dir { get; } = Repo.Scratch("template-contract");
        public ProductionPlan Plan { get; }
        public StagePlan Stage => Plan.Stages[0];
        public ArrayPlan Array => Stage.Arrays[0];
        public string[] Inputs { get; }
        public JobRuntime Runtime { get; } = new([TestDouble], "none", "", "", null, false);

        public Fixture(bool cleanup = false, string scheduler = "slurm")
        {
            var production = Path.Combine(Dir, "prod.spineproj");
            File.WriteAllText(production, "<Project />");
            File.WriteAllText(Path.Combine(Dir, "spine.yaml"), "base: {}\n");
            Directory.CreateDirectory(Path.Combine(Dir, "in"));
            Inputs = [Path.Combine(Dir, "in", "a.root"), Path.Combine(Dir, "in", "b_FAIL.root")];
            foreach (var i in Inputs) File.WriteAllText(i, "");
            var state = Path.Combine(Dir, "jobs", "prod-0123abcd");
            var layout = new ProductionLayout(state);
            var output = layout.DefaultOutputDir(null);
            Plan = new ProductionPlan
            {
                ProductionFile = production, ProductionName = "prod", StateDir = state, JobsDir = Path.Combine(Dir, "jobs"), Scheduler = scheduler,
                OutputOwner = OwnedFolder.OwnerLine(production),
                Stages =
                [
                    new StagePlan
                    {
                        Name = "reco", JobName = "spine_reco", ConfigArgument = Path.Combine(Dir, "spine.yaml"),
                        OutputDir = output, Output = Path.Combine(output, "spine_reco.h5"), FileCount = 2, TaskCount = 2, ArraySize = 2,
                        Resources = new Resources { Account = "ci", Partition = "cpu", MemPerCpuBytes = 200L << 20, Walltime = TimeSpan.FromMinutes(5) },
                        Arrays = [new ArrayPlan { JobName = "spine_reco", TaskCount = 2, FileCount = 2, ArraySpec = "0-1",
                                                  Script = ProductionLayout.Job.Script(0, SpineProd.Scheduler.Slurm.SlurmDialect.Instance), ChunkFile = ProductionLayout.Job.ChunkFile(0) }],
                        Cleanup = cleanup ? new CleanupPlan { JobName = "cleanup_spine_reco", Script = ProductionLayout.Job.CleanupScript("reco", SpineProd.Scheduler.Slurm.SlurmDialect.Instance),
                                                              Paths = [output], AfterStages = ["ana"], Account = "ci" } : null,
                    },
                ],
            };
        }

        public string Template(string name, Func<string, string>? edit = null)
        {
            var text = File.ReadAllText(Repo.Path_("templates", name));
            var path = Path.Combine(Dir, "site-" + name);
            File.WriteAllText(path, edit is null ? text : edit(text));
            return path;
        }

        public string RenderJob(string template) => new JobScriptRenderer(template).Render(Plan, Stage, Array, Runtime);
        public string RenderCleanup(string template) => new JobScriptRenderer(template).RenderCleanup(Plan, Stage, Stage.Cleanup!);
    }

    [Fact]
    public void The_shipped_SLURM_job_template_leaves_marker_and_logs_where_the_layout_reads_them()
    {
        var f = new Fixture();
        var layout = ProductionLayout.Of(f.Plan);
        // The job folder as Submit builds it: the stage's files and an empty logs/.
        var job = Path.Combine(f.Plan.JobsDir, "20260101_000000_spine_reco");
        Directory.CreateDirectory(Path.Combine(job, ProductionLayout.Job.Logs));
        var script = Path.Combine(job, f.Array.Script);
        File.WriteAllText(script, f.RenderJob(Repo.Path_("templates", "job.sbatch.scriban")));
        File.WriteAllLines(Path.Combine(job, f.Array.ChunkFile), f.Inputs);

        // Run each task as sbatch --chdir=<job folder> does: its #SBATCH --output/--error, %A and %a expanded.
        string Directive(string name) => Regex.Match(File.ReadAllText(script), $@"^#SBATCH --{name}=(\S+)$", RegexOptions.Multiline).Groups[1].Value;
        const string jobId = "4711";
        for (int index = 0; index < 2; index++)
        {
            string Expand(string pattern) => Path.Combine(job, pattern.Replace("%A", jobId).Replace("%a", index.ToString()));
            var r = ProcessRunner.Instance.Run("bash", ["-c", "exec bash \"$0\" >\"$1\" 2>\"$2\"", script, Expand(Directive("output")), Expand(Directive("error"))],
                TimeSpan.FromSeconds(60), job,
                new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = index.ToString(), ["SLURM_ARRAY_JOB_ID"] = jobId, ["SLURM_JOB_ID"] = null });
            Assert.Equal(index == 0 ? 0 : 1, r.ExitCode);
        }

        // Task 0 succeeded: its marker, where Status reads it, lists its inputs; task 1 failed: none.
        Assert.Equal([f.Inputs[0]], File.ReadAllLines(layout.Marker("reco", 0)));
        Assert.False(File.Exists(layout.Marker("reco", 1)));
        Assert.Equal([layout.Marker("reco", 0)], Directory.GetFiles(layout.MarkerDir("reco"), "*" + ProductionLayout.MarkerSuffix));
        // The logs Status names for each task are the ones the scheduler wrote.
        Assert.Contains("SPINE Production Job", File.ReadAllText(ProductionLayout.Job.TaskLog(job, f.Array.JobName, jobId, 0, "out")));
        Assert.Contains("failing on purpose", File.ReadAllText(ProductionLayout.Job.TaskLog(job, f.Array.JobName, jobId, 1, "err")));
        // The output folder carries the record its Cleanup will ask for.
        Assert.True(OwnedFolder.IsOwnedBy(f.Stage.OutputDir, f.Plan.OutputOwner));
    }

    [Theory]
    [InlineData("slurm", "job.sbatch.scriban", "cleanup.sbatch.scriban")]
    [InlineData("pbs", "job.pbs.scriban", "cleanup.pbs.scriban")]
    [InlineData("local", "job.local.scriban", "cleanup.local.scriban")]
    public void Every_shipped_template_keeps_the_contract(string scheduler, string jobTemplate, string cleanupTemplate)
    {
        var f = new Fixture(cleanup: true, scheduler);
        var job = f.RenderJob(Repo.Path_("templates", jobTemplate));
        var cleanup = f.RenderCleanup(Repo.Path_("templates", cleanupTemplate));
        Assert.Contains(ProductionLayout.Of(f.Plan).MarkerDir("reco"), job);
        Assert.Contains(OwnedFolder.RecordName, cleanup);
        // each scheduler's scripts carry its own directives only; the local scheduler's none at all
        var prefixes = new[] { "#SBATCH", "#PBS" };
        foreach (var script in new[] { job, cleanup })
            Assert.All(script.Split('\n').Where(l => prefixes.Any(p => l.StartsWith(p, StringComparison.Ordinal))),
                l => Assert.StartsWith(Schedulers.Dialect(scheduler).DirectivePrefix ?? "(none)", l));
    }

    public static TheoryData<string, string, string, string> JobBreaches => new()
    {
        // code, what the site's template changed (from, to), the template text the error points at
        { "SPN0040", "readonly marker_dir={{ marker_dir_q }}", "readonly marker_dir=\"$HOME/done\"", "" },
        { "SPN0041", "#SBATCH --output={{ log_output }}", "#SBATCH --output=slurm-%A_%a.out", "#SBATCH --output" },
        { "SPN0041", "#SBATCH --error={{ log_error }}", "#SBATCH -e logs/%x-%A_%a.err", "" },
        { "SPN0041", "#SBATCH --output={{ log_output }}\n", "", "" },
        { "SPN0042", "readonly chunk_file={{ chunk_file_q }}", "readonly chunk_file=files.txt", "" },
        { "SPN0043", "/{{ owner_record }}", "/.mine", "" },
    };

    [Theory]
    [MemberData(nameof(JobBreaches))]
    public void A_site_job_template_that_breaks_the_contract_fails_at_the_template(string code, string from, string to, string at)
    {
        var f = new Fixture(cleanup: true);
        var template = f.Template("job.sbatch.scriban", t => { Assert.Contains(from, t); return t.Replace(from, to); });
        var e = Assert.Throws<SpineProdException>(() => f.RenderJob(template));
        Assert.Equal(code, e.Code);
        Assert.Equal(template, e.File);
        Assert.DoesNotContain('\n', e.Message);
        if (at.Length > 0)
            Assert.Equal(Array.FindIndex(File.ReadAllLines(template), l => l.StartsWith(at, StringComparison.Ordinal)) + 1, e.Line);
    }

    [Fact]
    public void SLURM_log_names_may_spell_the_job_name_as_percent_x()
    {
        var f = new Fixture();
        f.RenderJob(f.Template("job.sbatch.scriban", t => t.Replace("#SBATCH --output={{ log_output }}", "#SBATCH -o ./logs/%x_%A_%a.out")));
    }

    [Fact]
    public void The_ownership_record_is_required_only_of_stages_with_a_Cleanup()
    {
        var f = new Fixture(cleanup: false);
        f.RenderJob(f.Template("job.sbatch.scriban", t => t.Replace("/{{ owner_record }}", "/.mine")));
    }

    [Fact]
    public void A_site_cleanup_template_that_does_not_check_the_ownership_record_fails_at_the_template()
    {
        var f = new Fixture(cleanup: true);
        var template = f.Template("cleanup.sbatch.scriban", t => t.Replace("{{ owner_record }}", ".spineprod-own"));
        Assert.Equal("SPN0044", Assert.Throws<SpineProdException>(() => f.RenderCleanup(template)).Code);
        var logs = f.Template("cleanup.sbatch.scriban", t => t.Replace("#SBATCH --output={{ log_output }}", "#SBATCH --output=/tmp/cleanup.out"));
        Assert.Equal("SPN0041", Assert.Throws<SpineProdException>(() => f.RenderCleanup(logs)).Code);
    }

    [Fact]
    public void A_PBS_template_must_send_its_logs_to_the_job_folders_logs()
    {
        var f = new Fixture(scheduler: "pbs");
        var template = f.Template("job.pbs.scriban", t => t.Replace("#PBS -o logs/", "#PBS -o /home/me/"));
        var e = Assert.Throws<SpineProdException>(() => f.RenderJob(template));
        Assert.Equal("SPN0041", e.Code);
        Assert.Contains("#PBS -o logs/", e.Message);
    }

    /// <summary>The scheduler's dialect says which directives count: #SBATCH lines are comments to qsub, #PBS lines to sbatch.</summary>
    [Theory]
    [InlineData("pbs", "job.sbatch.scriban", "#PBS -o logs/")]
    [InlineData("slurm", "job.pbs.scriban", "#SBATCH --output=logs/spine_reco_%A_%a.out")]
    public void A_template_of_another_scheduler_sends_its_logs_nowhere_Status_looks(string scheduler, string template, string advice)
    {
        var f = new Fixture(scheduler: scheduler);
        var e = Assert.Throws<SpineProdException>(() => f.RenderJob(Repo.Path_("templates", template)));
        Assert.Equal("SPN0041", e.Code);
        Assert.Contains(advice, e.Message);
    }

    /// <summary>
    /// As a user meets it: a production whose site template sends the logs elsewhere; Submit stops at
    /// the template's line with SPN0041 and sends nothing (no job folder, no ledger).
    /// </summary>
    [Fact]
    public void Submit_with_a_site_template_that_breaks_the_contract_stops_at_the_template_line()
    {
        var p = new ScratchProduction("template-contract-submit");
        p.Inputs(2);
        var template = Path.Combine(p.Dir, "site.sbatch.scriban");
        File.WriteAllText(template, File.ReadAllText(Repo.Path_("templates", "job.sbatch.scriban"))
            .Replace("#SBATCH --output={{ log_output }}", "#SBATCH --output=slurm-%A_%a.out"));
        int line = Array.FindIndex(File.ReadAllLines(template), l => l.StartsWith("#SBATCH --output", StringComparison.Ordinal)) + 1;
        // (SLURM reads the #SBATCH lines; the local scheduler reads none, so there it would be no breach)
        p.Write($"<Scheduler>slurm</Scheduler><SpineCommand>{TestDouble}</SpineCommand><JobTemplate>site.sbatch.scriban</JobTemplate>",
            "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Submit");
        Assert.False(r.Succeeded, r.Output);
        Assert.Contains($"site.sbatch.scriban({line},1): error SPN0041: The template site.sbatch.scriban sends the output log to slurm-%A_%a.out", r.Output);
        var jobs = Path.Combine(p.Dir, "jobs");
        Assert.Empty(Directory.Exists(jobs) ? Directory.GetFileSystemEntries(jobs, "*", SearchOption.AllDirectories) : System.Array.Empty<string>());
        Assert.False(File.Exists(Path.Combine(p.PlanDir, "plan.json")), "no plan is left to submit");
    }
}
