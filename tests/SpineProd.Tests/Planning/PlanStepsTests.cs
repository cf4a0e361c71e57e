using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Profiles;
using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Planning;

/// <summary>A production in a scratch folder, planned in-process: the planner's steps one at a time, and whole.</summary>
internal sealed class PlanFixture
{
    public string Dir { get; } = Repo.Scratch("plan-steps");
    public Dictionary<string, string> Settings { get; } = new(StringComparer.OrdinalIgnoreCase);
    public HashSet<string> Globals { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<StageRequest> Stages { get; } = new();
    public List<SourceItem> Sources { get; } = new();
    public string ProductionFile => Path.Combine(Dir, "prod.spineproj");
    public string Profiles => Path.Combine(Dir, "profiles.yaml");

    public PlanFixture()
    {
        File.WriteAllText(ProductionFile, "<Project Sdk=\"SpineProd.Sdk\" />\n");
        File.WriteAllText(Profiles, """
            profiles:
              cpu:
                partition: cpu
                gpus: 0
                cpus_per_task: 2
                mem_per_cpu: 2g
                time: "1:30:00"
              broken:
                partition: cpu
                gpus: 0
                cpus_per_task: 1
                mem_per_cpu: lots
                time: "1:00:00"
            detectors:
              icarus:
                default_profile: cpu
                account: "neutrino:icarus"
            defaults:
              account: "neutrino:ml"
              max_array_size: 1000
            """);
        File.WriteAllText(Path.Combine(Dir, "config.yaml"), "base:\n  iterations: -1\n");
        Settings["SpineConfig"] = Path.Combine(Dir, "config.yaml");
        Settings["Detector"] = "icarus";
        Settings["Profile"] = "cpu";
        Settings["ProfilesFile"] = Profiles;
        Settings["SpineCommand"] = "python3 run.py";
        Settings["Container"] = "none";
        Settings["JobTemplate"] = Repo.Path_("templates", "job.sbatch.scriban");
        Settings["CleanupTemplate"] = Repo.Path_("templates", "cleanup.sbatch.scriban");
    }

    public string Input(string name)
    {
        string path = Path.Combine(Dir, "data", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        return path;
    }

    public string List(string name, params string[] lines)
    {
        string path = Path.Combine(Dir, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    public PlanRequest Request() => new()
    {
        ProductionFile = ProductionFile,
        // The SDK's sites: this profiles file, as spine-prod's, has none.
        SdkProfilesFile = Repo.Path_("templates", "profiles.yaml"),
        RepoRoot = Dir,
        Settings = Settings,
        GlobalProperties = Globals,
        Stages = Stages,
        Sources = Sources,
        JobsDir = Path.Combine(Dir, "jobs") + "/",
        StateDir = Path.Combine(Dir, "jobs", "prod") + "/",
        IntermediateDir = Path.Combine(Dir, "obj") + "/",
    };

    public ProfileCatalog Catalog() => ProfileCatalog.Load(Profiles);
}

public sealed class StageOrderTests
{
    private static StageRequest Stage(string name, string? dependsOn = null, string? inputsFrom = null, int line = 1)
    {
        var m = new Dictionary<string, string>();
        if (dependsOn is not null) m["DependsOn"] = dependsOn;
        if (inputsFrom is not null) m["InputsFrom"] = inputsFrom;
        return new StageRequest(name, m, "p.spineproj", line);
    }

    [Fact]
    public void Upstream_stages_come_first_and_declaration_order_is_kept_where_free()
    {
        var problems = new PlanProblems();
        var order = StageOrder.Of([Stage("ana", dependsOn: "reco"), Stage("reco", inputsFrom: "sim"), Stage("sim"), Stage("other")], problems);
        Assert.Equal(["sim", "reco", "ana", "other"], order.Select(s => s.Name));
        Assert.Empty(problems.All);
    }

    [Theory]
    [InlineData("SPN4004", "a", "a")]
    [InlineData("SPN4005", "a", "b", "zzz")]
    [InlineData("SPN4006", "a", "b", "b", "a")]
    public void Two_names_an_unknown_upstream_and_a_cycle_stop_at_the_stage(string code, string first, string second, string? firstDependsOn = null, string? secondDependsOn = null)
    {
        var problems = new PlanProblems();
        Assert.Throws<PlanProblems.Stopped>(() => StageOrder.Of([Stage(first, firstDependsOn, line: 3), Stage(second, secondDependsOn, line: 7)], problems));
        var d = Assert.Single(problems.All);
        Assert.Equal(code, d.Code);
        Assert.True(d.IsError);
        Assert.Contains(d.Line, new[] { 3, 7 });
    }

    [Fact]
    public void Downstream_is_transitive_and_in_plan_order()
    {
        var plans = new List<StagePlan>
        {
            new() { Name = "sim" }, new() { Name = "reco", DependsOn = ["sim"] }, new() { Name = "ana", DependsOn = ["reco"] }, new() { Name = "side" },
        };
        Assert.Equal(["reco", "ana"], StageOrder.Downstream("sim", plans));
        Assert.Empty(StageOrder.Downstream("ana", plans));
    }
}

public sealed class StageSettingsTests
{
    [Fact]
    public void The_command_line_beats_the_stage_which_beats_the_property()
    {
        var f = new PlanFixture();
        f.Settings["Time"] = "1:00:00";
        f.Settings["Gpus"] = "1";
        f.Settings["Account"] = "from-cli";
        f.Globals.Add("Account");
        var stage = new StageRequest("reco", new Dictionary<string, string> { ["Time"] = "3:00:00", ["Account"] = "from-stage", ["Config"] = "c.yaml", ["Ntasks"] = "5" }, "p.spineproj", 4);
        var s = new StageSettings(f.Request(), stage);

        Assert.Equal("3:00:00", s["Time"].Value);
        Assert.Equal("Time of stage 'reco'", s["Time"].Origin);
        Assert.Equal("1", s["Gpus"].Value);
        Assert.Equal("<Gpus>", s["Gpus"].Origin);
        Assert.Equal("from-cli", s["Account"].Value);
        Assert.Equal("-p:Account on the command line", s["Account"].Origin);
        Assert.Equal("c.yaml", s["SpineConfig"].Value);      // the stage's alias Config
        Assert.Equal("5", s["MaxRunningTasks"].Value);        // spine-prod's alias Ntasks
        Assert.False(s["InputsFrom"].IsSet);
    }

    [Fact]
    public void A_single_stage_production_reads_no_stage_metadata_and_a_name_outside_the_catalogue_is_a_bug()
    {
        var f = new PlanFixture();
        f.Settings["Time"] = "1:00:00";
        var s = new StageSettings(f.Request(), null);
        Assert.Equal("1:00:00", s["Time"].Value);
        Assert.Throws<ArgumentException>(() => s["Tme"]);
        Assert.Throws<ArgumentException>(() => s["Resubmit"]); // a run-time property, not the planner's
    }
}

public sealed class StageResourcesTests
{
    [Theory]
    [InlineData("90", 90 * 60)]             // SLURM: a bare number is minutes
    [InlineData("90:30", 90 * 60 + 30)]     // MM:SS
    [InlineData("4:00:00", 4 * 3600)]
    [InlineData("100:00:00", 100 * 3600)]
    [InlineData("2-12", 60 * 3600)]          // D-HH
    [InlineData("1-00:30", 86400 + 1800)]
    [InlineData("1-00:30:15", 86400 + 1800 + 15)]
    [InlineData("90m", 90 * 60)]
    [InlineData("4h", 4 * 3600)]
    [InlineData("1.5h", 5400)]
    [InlineData("2d", 2 * 86400)]
    [InlineData("45s", 45)]
    [InlineData(" 4 H ", 4 * 3600)]
    public void Time_limits_in_SLURM_s_forms_and_with_units(string text, long seconds)
    {
        Assert.True(SpineProd.Options.SettingValues.TryParseTimeLimit(text, out var t), text);
        Assert.Equal(TimeSpan.FromSeconds(seconds), t);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0:00:00")]
    [InlineData("400d")]
    [InlineData("UNLIMITED")]
    [InlineData("2 hours")]
    [InlineData("4:00:00:00")]
    [InlineData("-1")]
    public void Not_a_time_limit(string text) => Assert.False(SpineProd.Options.SettingValues.TryParseTimeLimit(text, out _), text);

    [Theory]
    [InlineData("4g", 4L << 30)]
    [InlineData("4000M", 4000L << 20)]
    [InlineData("512", 512L << 20)]        // SLURM's default unit is MB
    [InlineData("8GB", 8L << 30)]
    [InlineData("100k", 100L << 10)]
    [InlineData("1T", 1L << 40)]
    [InlineData("x", null)]
    [InlineData("0", null)]
    [InlineData("99999999999T", null)]
    public void Memory_sizes_become_bytes(string text, long? bytes) =>
        Assert.Equal(bytes, SpineProd.Options.SettingValues.TryParseMemory(text, out long b) ? b : null);

    /// <summary>The default site, as a profiles file without <c>sites:</c> leaves it: the detector's and defaults' accounts apply.</summary>
    private static readonly SpineProd.Sites.SiteDefinition S3df = new("s3df", null, "slurm", null, null, null, "singularity", null, null, null, null, null, null, null, false, "", 0);

    [Fact]
    public void Settings_beat_the_profile_and_the_detector_gives_the_account()
    {
        var f = new PlanFixture();
        f.Settings["Time"] = "4h";
        var problems = new PlanProblems();
        var catalog = f.Catalog();
        var r = StageResources.Resolve(new StageSettings(f.Request(), null), catalog.Profiles["cpu"], S3df, catalog, "icarus", problems);
        Assert.Equal(TimeSpan.FromHours(4), r.Walltime);
        Assert.Equal(2L << 30, r.MemPerCpuBytes);
        Assert.Equal(2, r.CpusPerTask);
        Assert.Equal("cpu", r.Partition);
        Assert.Equal("neutrino:icarus", r.Account);
        Assert.Empty(problems.All);
        Assert.Equal(new ResourceRequest { Walltime = TimeSpan.FromHours(4), MemoryBytes = 4L << 30, Cpus = 2, Gpus = 0, Account = "neutrino:icarus", Queue = "cpu" },
            ResourceValues.FromPlan(r));
    }

    [Fact]
    public void A_bad_value_is_an_error_at_the_line_that_set_it()
    {
        var f = new PlanFixture();
        var catalog = f.Catalog();

        // From the profiles file: at the profile's line there.
        var problems = new PlanProblems();
        Assert.Throws<PlanProblems.Stopped>(() => StageResources.Resolve(new StageSettings(f.Request(), null), catalog.Profiles["broken"], S3df, catalog, "icarus", problems));
        var d = Assert.Single(problems.All);
        Assert.Equal(("SPN1025", f.Profiles), (d.Code, d.File));
        Assert.Equal(catalog.Profiles["broken"].Line, d.Line);
        Assert.Contains("profile 'broken'", d.Message);

        // From a stage: at the stage's line.
        problems = new PlanProblems();
        var stage = new StageRequest("reco", new Dictionary<string, string> { ["Time"] = "2 hours" }, f.ProductionFile, 9);
        Assert.Throws<PlanProblems.Stopped>(() => StageResources.Resolve(new StageSettings(f.Request(), stage), catalog.Profiles["cpu"], S3df, catalog, "icarus", problems));
        d = Assert.Single(problems.All);
        Assert.Equal(("SPN1021", 9), (d.Code, d.Line));
        Assert.Contains("Time of stage 'reco'", d.Message);
    }
}

public sealed class StageInputsTests
{
    [Fact]
    public void Duplicates_are_kept_once_and_name_collisions_and_commas_are_errors_at_their_list_lines()
    {
        var f = new PlanFixture();
        string a = f.Input("a.root"), b = f.Input("b.root"), other = f.Input("x/a.root"), comma = f.Input("c,d.root");
        var list = f.List("inputs.txt", a, b, a, other, comma);
        f.Sources.Add(new SourceItem(list, null, SourceKind.List, f.ProductionFile, 5));
        var problems = new PlanProblems();
        var deps = new List<string>();
        var step = new StageInputs(f.Request(), problems, deps);
        var stage = new StageRequest("prod", new Dictionary<string, string>(), f.ProductionFile, 0);

        var inputs = step.Check("prod", step.Read(stage, [stage], false, new Dictionary<string, PlannedStage>()));

        Assert.Equal(2, inputs.Count);
        Assert.Equal([a, b], new[] { inputs[0], inputs[1] });
        Assert.Equal([("SPN1015", 3, false), ("SPN1016", 4, true), ("SPN1017", 5, true)],
            problems.All.Select(d => (d.Code, d.Line, d.IsError)));
        Assert.All(problems.All, d => Assert.Equal(list, d.File));
        Assert.Equal([list], deps);
    }

    [Fact]
    public void A_missing_source_is_an_error_and_reading_goes_on_a_missing_list_stops()
    {
        var f = new PlanFixture();
        string a = f.Input("a.root");
        f.Sources.Add(new SourceItem(Path.Combine(f.Dir, "gone.root"), null, SourceKind.File, f.ProductionFile, 3));
        f.Sources.Add(new SourceItem(a, null, SourceKind.File, f.ProductionFile, 4));
        var problems = new PlanProblems();
        var step = new StageInputs(f.Request(), problems, new List<string>());
        var stage = new StageRequest("prod", new Dictionary<string, string>(), f.ProductionFile, 0);
        Assert.Equal(1, step.Read(stage, [stage], false, new Dictionary<string, PlannedStage>()).Count);
        Assert.Equal([("SPN1011", 3)], problems.All.Select(d => (d.Code, d.Line)));

        f.Sources.Add(new SourceItem(Path.Combine(f.Dir, "gone.txt"), null, SourceKind.List, f.ProductionFile, 6));
        Assert.Throws<PlanProblems.Stopped>(() => new StageInputs(f.Request(), problems, new List<string>()).Read(stage, [stage], false, new Dictionary<string, PlannedStage>()));
        Assert.Contains(problems.All, d => d is { Code: "SPN1013", Line: 6 });
    }
}

public sealed class CleanupPolicyTests
{
    [Fact]
    public void Only_the_stage_s_own_new_output_folder_may_be_cleaned()
    {
        var f = new PlanFixture();
        var request = f.Request();
        var policy = new CleanupPolicy(request, new PlanProblems());
        string outputs = Path.Combine(f.Dir, "jobs", "prod", "output");
        var sim = new StagePlan { Name = "sim", OutputDir = Path.Combine(outputs, "sim") };
        var reco = new StagePlan { Name = "reco", OutputDir = Path.Combine(outputs, "sim", "reco") };
        var ana = new StagePlan { Name = "ana", OutputDir = Path.Combine(outputs, "ana") };
        var stages = new[] { sim, reco, ana };

        Assert.Null(policy.Refusal("output/ana", ana.OutputDir, ana, stages));
        Assert.Equal("SPN4008", policy.Refusal("output/../output/ana", ana.OutputDir, ana, stages)?.Code);
        Assert.Equal("SPN4008", policy.Refusal("output/sim", sim.OutputDir, ana, stages)?.Code);
        Assert.Equal("SPN4013", policy.Refusal("output/sim", sim.OutputDir, sim, stages)?.Code);

        Directory.CreateDirectory(ana.OutputDir); // there before the production: not its to remove
        Assert.Equal("SPN4015", policy.Refusal("output/ana", ana.OutputDir, ana, stages)?.Code);
        File.WriteAllText(Path.Combine(ana.OutputDir, OwnedFolder.RecordName), OwnedFolder.OwnerLine(f.ProductionFile) + "\n");
        Assert.Null(policy.Refusal("output/ana", ana.OutputDir, ana, stages));

        var state = new StagePlan { Name = "state", OutputDir = Path.TrimEndingDirectorySeparator(request.StateDir) };
        Assert.Equal("SPN4014", policy.Refusal("x", state.OutputDir, state, [state])?.Code);
    }
}

public sealed class PlannerTests_OneChannel
{
    [Fact]
    public void A_mistake_is_a_diagnostic_never_an_exception_and_nothing_is_written()
    {
        var f = new PlanFixture();
        f.Settings.Remove("SpineConfig");
        f.Sources.Add(new SourceItem(f.Input("a.root"), null, SourceKind.File, f.ProductionFile, 3));
        var planner = new Planner(f.Request());

        Assert.Null(planner.Plan());
        Assert.Equal("SPN1027", Assert.Single(planner.Diagnostics).Code);
        Assert.False(Directory.Exists(Path.Combine(f.Dir, "obj")));
    }

    [Fact]
    public void Errors_that_leave_something_to_check_are_all_reported_at_once()
    {
        var f = new PlanFixture();
        string a = f.Input("a.root");
        f.Sources.Add(new SourceItem(f.List("l.txt", a, f.Input("x/a.root"), Path.Combine(f.Dir, "data", "b,c.root")), null, SourceKind.List, f.ProductionFile, 3));
        var planner = new Planner(f.Request());
        Assert.Null(planner.Plan());
        Assert.Equal(["SPN1016", "SPN1017"], planner.Diagnostics.Where(d => d.IsError).Select(d => d.Code));
    }

    [Fact]
    public void A_production_is_planned_and_written_with_its_resources_as_values()
    {
        var f = new PlanFixture();
        f.Settings["FilesPerTask"] = "2";
        f.Settings["MemPerCpu"] = "1500M";
        f.Sources.Add(new SourceItem(f.List("l.txt", f.Input("a.root"), f.Input("b.root"), f.Input("c.root")), null, SourceKind.List, f.ProductionFile, 3));
        var planner = new Planner(f.Request());

        var plan = planner.Plan();

        Assert.Empty(planner.Diagnostics);
        var stage = Assert.Single(plan!.Stages);
        Assert.Equal((3, 2, 1), (stage.FileCount, stage.TaskCount, stage.Arrays.Count));
        Assert.Equal(TimeSpan.FromMinutes(90), stage.Resources.Walltime);
        Assert.Equal(1500L << 20, stage.Resources.MemPerCpuBytes);
        string script = File.ReadAllText(Path.Combine(f.Dir, "obj", "prod", "submit_chunk_0.sbatch"));
        Assert.Contains("#SBATCH --time=1:30:00", script);
        Assert.Contains("#SBATCH --mem-per-cpu=1500M", script);
        var saved = ProductionPlan.Load(Path.Combine(f.Dir, "obj", "plan.json"));
        Assert.Equal(TimeSpan.FromMinutes(90), saved.Stages[0].Resources.Walltime);
        Assert.Equal(3, saved.Format);

        // Planned again unchanged: nothing is rewritten.
        var again = new Planner(f.Request());
        again.Plan();
        Assert.Equal(0, again.FilesWritten);
        Assert.True(again.FilesUnchanged >= 3);
    }
}
