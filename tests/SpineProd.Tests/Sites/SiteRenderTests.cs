using System.Text.Json.Nodes;
using SpineProd.Planning;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sites;

/// <summary>
/// Each site's job and cleanup scripts as a production renders them with the SDK's own profiles,
/// switched with the one property <c>Site</c>, and the mistakes a site makes possible, each an SPN
/// error at the line to fix.
/// </summary>
[Collection("msbuild")]
public sealed class SiteRenderTests
{
    /// <summary>A production of two inputs with the SDK's defaults (container and all), plus <paramref name="properties"/>.</summary>
    internal static ScratchProduction Production(string name, string properties, string? config = null)
    {
        var p = new ScratchProduction(name);
        p.Inputs(2);
        // the container is the site's (ScratchProduction's default is none)
        p.Write($"""
                <Container></Container>
                {(config is null ? "" : $"<SpineConfig>{config}</SpineConfig>")}
                {properties}
            """, "<Source Include=\"inputs/*.root\" />");
        return p;
    }

    /// <summary>The first array's script, named as the site's scheduler names scripts (.sbatch, .pbs).</summary>
    private static string Script(ScratchProduction p) => File.ReadAllText(Assert.Single(Directory.GetFiles(p.StageDir, "submit_chunk_0.*")));

    private static (ScratchProduction P, string Script) Built(string name, string properties, string? config = null)
    {
        var p = Production(name, properties, config);
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        return (p, Script(p));
    }

    /// <summary>The build fails with <paramref name="code"/> only, at the line of the .spineproj that sets <paramref name="at"/> (when given).</summary>
    private static void Refused(string name, string properties, string code, string words, string? at = null)
    {
        var p = Production(name, properties);
        var outcome = p.Build();
        Assert.False(outcome.Succeeded);
        var e = Assert.Single(outcome.Errors, e => e.Code == code);
        Assert.Contains(words, e.Message);
        Assert.Equal(p.ProjectFile, e.File);
        if (at is not null)
            Assert.Equal(Array.FindIndex(File.ReadAllLines(p.ProjectFile), l => l.Contains($"<{at}>")) + 1, e.LineNumber);
        Assert.DoesNotContain("   at ", e.Message);
        Assert.False(File.Exists(Path.Combine(p.PlanDir, "plan.json")), "a refused production leaves no plan");
    }

    [Fact]
    public void S3DF_is_the_default_site_with_a_versioned_SIF_and_the_detector_account()
    {
        var (p, s) = Built("site-s3df", "");
        Assert.StartsWith("#!/bin/bash\n", s);
        Assert.Contains("#SBATCH --account=neutrino:ml-dev\n", s);   // the generic detector's account
        Assert.Contains("#SBATCH --partition=ampere\n", s);
        Assert.Contains("#SBATCH --gpus=1\n", s);
        Assert.Contains("#SBATCH --mem-per-cpu=8G\n", s);
        Assert.DoesNotContain("--qos", s);
        Assert.DoesNotContain("--constraint", s);
        Assert.DoesNotContain("--gpus-per-node", s);
        Assert.DoesNotContain("srun", s);
        Assert.Contains("command=(singularity exec --bind \"/sdf/,/fs/\" --nv \"/sdf/data/neutrino/images/spine_v0-17-1.sif\" bash -c \"${setup}\"'exec \"$@\"' spine \"${spine[@]}\")", s);
        Assert.Contains("spine=(\"spine\" -S", s);
        Assert.Contains("site s3df, SPINE 0.17.1", s);
        var stage = Assert.Single(ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json")).Stages);
        Assert.Equal("s3df", stage.Site);
        Assert.Equal("0.17.1", stage.Runtime!.SpineVersion);
        Assert.Equal("/sdf/data/neutrino/images/spine_v0-17-1.sif", stage.Runtime.ContainerImage);
    }

    [Fact]
    public void Perlmutter_asks_for_a_QOS_a_constraint_one_node_and_GPUs_per_node_and_runs_Shifter_under_srun()
    {
        var (_, s) = Built("site-perlmutter", "<Site>perlmutter</Site><Account>m1234</Account><Cvmfs>true</Cvmfs>");
        Assert.Contains("#SBATCH --account=m1234\n", s);
        Assert.Contains("#SBATCH --qos=shared\n", s);
        Assert.Contains("#SBATCH --constraint=gpu\n", s);
        Assert.Contains("#SBATCH --nodes=1\n", s);
        Assert.Contains("#SBATCH --gpus-per-node=1\n", s);
        Assert.Contains("#SBATCH --cpus-per-task=16\n", s);
        Assert.Contains("#SBATCH --mem=54G\n", s);
        Assert.DoesNotContain("--partition", s);
        Assert.DoesNotContain("--mem-per-cpu", s);
        Assert.DoesNotContain("#SBATCH --gpus=", s);
        Assert.Contains("command=(srun -n 1 shifter --module=gpu,cvmfs \"--image=docker:ghcr.io/deeplearnphysics/spine:0.17.1\" bash -c", s);

        // the exclusive 80 GB profile, a constraint with '&', the whole node's memory
        var (_, x) = Built("site-perlmutter-x", "<Site>nersc</Site><Account>m1234</Account><Profile>nersc_gpu_exclusive_80gb</Profile><SpineVersion>v0.18.0</SpineVersion>");
        Assert.Contains("#SBATCH --qos=regular\n", x);
        Assert.Contains("#SBATCH --constraint=gpu&hbm80g\n", x);
        Assert.Contains("#SBATCH --gpus-per-node=4\n", x);
        Assert.Contains("#SBATCH --mem=0\n", x);
        Assert.Contains("\"--image=docker:ghcr.io/deeplearnphysics/spine:0.18.0\"", x);
        Assert.DoesNotContain("cvmfs", x);

        // a CPU profile: no GPU option, no gpu module
        var (_, c) = Built("site-perlmutter-cpu", "<Site>perlmutter</Site><Account>m1234</Account><Profile>nersc_cpu</Profile>");
        Assert.Contains("#SBATCH --constraint=cpu\n", c);
        Assert.DoesNotContain("--gpus", c);
        Assert.Contains("command=(srun -n 1 shifter \"--image=", c);
    }

    [Fact]
    public void Polaris_renders_PBS_select_place_walltime_filesystems_modules_and_apptainer_with_fakeroot()
    {
        var (p, s) = Built("site-polaris", "<Site>polaris</Site><ContainerImage>/lus/eagle/projects/neutrino/spine_v0-17-1.sif</ContainerImage><Cvmfs>true</Cvmfs>");
        Assert.StartsWith("#!/bin/bash -l\n", s);
        Assert.Contains("#PBS -A 14453\n", s);
        Assert.Contains("#PBS -q capacity\n", s);
        Assert.Contains("#PBS -l select=1:system=polaris:ncpus=32:ngpus=1\n", s);
        Assert.Contains("#PBS -l place=scatter\n", s);
        Assert.Contains("#PBS -l walltime=02:00:00\n", s);
        Assert.Contains("#PBS -l filesystems=home:grand:eagle\n", s);
        Assert.DoesNotContain("#SBATCH", s);
        Assert.Contains("cd \"${PBS_O_WORKDIR:?", s);
        Assert.Contains("module use /soft/modulefiles ||", s);
        Assert.Contains("module load spack-pe-base apptainer ||", s);
        Assert.Contains("command=(apptainer exec --fakeroot --bind \"/lus/grand/,/lus/eagle/,/cvmfs\" --nv \"/lus/eagle/projects/neutrino/spine_v0-17-1.sif\" bash -c", s);
        Assert.Contains("PBS_ARRAY_INDEX", s);
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        Assert.Equal("pbs", plan.Scheduler);

        // the debug queue, and no modules when a site has its own set-up
        var (_, d) = Built("site-polaris-debug", "<Site>anl</Site><Profile>anl_polaris_debug</Profile><ContainerImage>/x.sif</ContainerImage><Modules>none</Modules>");
        Assert.Contains("#PBS -q debug\n", d);
        Assert.Contains("#PBS -l walltime=01:00:00\n", d);
        Assert.StartsWith("#!/bin/bash\n", d);
        Assert.DoesNotContain("module ", d);
    }

    [Fact]
    public void A_local_SPINE_checkout_runs_its_own_spine_and_is_bound_with_OpT0Finder_and_LArCV()
    {
        var p = Production("site-spine-path", "");
        var spine = Path.Combine(p.Dir, "spine-checkout");
        Directory.CreateDirectory(Path.Combine(spine, "bin"));
        File.WriteAllText(Path.Combine(spine, "bin", "run.py"), "");
        var flash = Path.Combine(p.Dir, "OpT0Finder");
        var larcv = Path.Combine(p.Dir, "larcv2");
        foreach (var d in new[] { flash, larcv }) { Directory.CreateDirectory(d); File.WriteAllText(Path.Combine(d, "configure.sh"), ""); }
        p.Write($"""
                <Container></Container>
                <SpinePath>spine-checkout</SpinePath>
                <FlashmatchPath>OpT0Finder</FlashmatchPath>
                <LarcvBaseDir>larcv2</LarcvBaseDir>
                <ContainerBindPaths>/sdf/</ContainerBindPaths>
            """, "<Source Include=\"inputs/*.root\" />");
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var s = Script(p);
        Assert.Contains($"spine=(\"python3\" \"{spine}/bin/run.py\" -S", s);
        Assert.Contains($"--bind \"/sdf/,{spine},{larcv},{flash}\" --nv", s);
        Assert.Contains($"export SPINEPROD_FLASHMATCH_PATH=\"{flash}\"", s);
        Assert.Contains("setup='unset which; source \"${SPINEPROD_LARCV_BASEDIR}/configure.sh\"; source \"${SPINEPROD_FLASHMATCH_PATH}/configure.sh\"; '", s);

        // a checkout with bin/spine runs that
        File.WriteAllText(Path.Combine(spine, "bin", "spine"), "");
        Assert.True(p.Build().Succeeded);
        Assert.Contains($"spine=(\"{spine}/bin/spine\" -S", Script(p));
    }

    [Fact]
    public void A_groups_own_profiles_file_without_sites_takes_the_SDKs_sites_and_one_with_sites_its_own()
    {
        // spine-prod v0.8's own file: gpus_per_node, no sites:, a NERSC profile with its account
        var p = Production("site-own-profiles", "");
        File.WriteAllText(Path.Combine(p.Dir, "v08-profiles.yaml"), """
            profiles:
              nersc_gpu:
                site: nersc
                qos: shared
                constraint: gpu
                gpus_per_node: 1
                cpus_per_task: 16
                mem: 54g
                time: "2:00:00"
                account: m4321
                description: "spine-prod's"
            detectors:
              generic:
                default_profile: nersc_gpu
                configs_dir: infer/generic
                account: "neutrino:ml-dev"
            defaults:
              account: "neutrino:ml-dev"
              max_array_size: 99
            """);
        p.Write("<Container></Container><ProfilesFile>v08-profiles.yaml</ProfilesFile><Site>perlmutter</Site>", "<Source Include=\"inputs/*.root\" />");
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var s = Script(p);
        Assert.Contains("#SBATCH --account=m4321\n", s);
        Assert.Contains("#SBATCH --gpus-per-node=1\n", s);
        Assert.Contains("srun -n 1 shifter --module=gpu", s);

        // a file with its own site: the image naming and binds are the group's
        File.WriteAllText(Path.Combine(p.Dir, "group-profiles.yaml"), """
            profiles:
              cpu:
                site: s3df
                partition: milano
                gpus: 0
                cpus_per_task: 1
                mem_per_cpu: 2g
                time: "1:00:00"
            detectors:
              generic:
                default_profile: cpu
                account: "neutrino:group"
            sites:
              s3df:
                container: apptainer
                image: "/sdf/group/neutrino/images/spine-{version}.sif"
                bind_paths: "/sdf/group/"
            defaults:
              spine_version: "0.16.2"
            """);
        p.Write("<Container></Container><ProfilesFile>group-profiles.yaml</ProfilesFile>", "<Source Include=\"inputs/*.root\" />");
        outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        s = Script(p);
        Assert.Contains("#SBATCH --account=neutrino:group\n", s);
        Assert.Contains("command=(apptainer exec --bind \"/sdf/group/\" --nv \"/sdf/group/neutrino/images/spine-0.16.2.sif\"", s);
    }

    [Fact]
    public void Detector_accounts_apply_at_their_site_and_cleanup_jobs_use_the_sites_cleanup_profile()
    {
        // spine-prod v0.8 rendered --account=neutrino:ml-dev for ICARUS (defaults merged into every profile)
        var (_, s) = Built("site-account", "<Detector>icarus</Detector>");
        Assert.Contains("#SBATCH --account=neutrino:icarus-ml\n", s);
        var (_, vd) = Built("site-account-vd", "<Detector>protodune-vd</Detector>");
        Assert.Contains("#SBATCH --account=neutrino:dune-ml\n", vd);

        // a two-stage pipeline with cleanup at Perlmutter: the cleanup job is a NERSC CPU job with the stage's account
        var p = new ScratchProduction("site-cleanup");
        p.Inputs(2);
        p.Write("<Site>perlmutter</Site><Account>m1234</Account>", """
            <Stage Include="reco" Config="spine.yaml" OutputDir="out_reco" Cleanup="out_reco" />
            <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" OutputDir="out_ana" Profile="nersc_cpu" />
            <Source Include="inputs/*.root" Stage="reco" />
            """);
        var outcome = p.Build();
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var cleanup = File.ReadAllText(Path.Combine(p.PlanDir, "reco", "cleanup_reco.sbatch"));
        Assert.Contains("#SBATCH --account=m1234\n", cleanup);
        Assert.Contains("#SBATCH --qos=shared\n", cleanup);
        Assert.Contains("#SBATCH --constraint=cpu\n", cleanup);
        Assert.DoesNotContain("--partition", cleanup);
        Assert.DoesNotContain("milano", cleanup);
    }

    [Fact]
    public void Site_mistakes_are_SPN_errors_at_the_line_that_made_them()
    {
        Refused("site-unknown", "<Site>cori</Site>", "SPN1110", "Sites: s3df, perlmutter, polaris", "Site");
        Refused("site-profile", "<Profile>nersc_gpu</Profile>", "SPN1121", "Set <Site>perlmutter</Site>", "Profile");
        Refused("site-account-missing", "<Site>perlmutter</Site>", "SPN1115", "NERSC project");
        Refused("site-no-image", "<Site>polaris</Site>", "SPN1113", "set <ContainerImage>");
        Refused("site-scheduler", "<Site>polaris</Site><ContainerImage>/x.sif</ContainerImage><Scheduler>slurm</Scheduler>", "SPN1118", "Site polaris runs pbs");
        Refused("site-version", "<SpineVersion>latest</SpineVersion>", "SPN1112", "not a SPINE release", "SpineVersion");
        Refused("site-spine-path", "<SpinePath>/nonexistent/spine</SpinePath>", "SPN1114", "neither bin/spine nor bin/run.py", "SpinePath");
        Refused("site-flash", "<FlashmatchPath>/nonexistent/OpT0Finder</FlashmatchPath>", "SPN1117", "has no configure.sh", "FlashmatchPath");
        Refused("site-mem", "<MemPerCpu>4g</MemPerCpu><MemPerNode>54g</MemPerNode>", "SPN1116", "set one of them", "MemPerNode");
        Refused("site-cvmfs", "<Cvmfs>yes</Cvmfs>", "SPN1120", "true or false", "Cvmfs");
        Refused("site-modules", "<Modules>apptainer;bad name!</Modules>", "SPN1119", "not a module name", "Modules");
        Refused("site-constraint", "<Constraint>gpu;rm</Constraint>", "SPN1025", "Constraint", "Constraint");
    }

    [Fact]
    public void Every_site_mistake_is_named_in_one_build_once_with_the_plans_other_problems_and_nothing_is_written()
    {
        // three runtime values of the production and a missing input, in a two-stage pipeline: each named once, at its line
        var p = new ScratchProduction("site-all-mistakes");
        p.Inputs(2);
        p.Write("""
                <SpineVersion>latest</SpineVersion>
                <Cvmfs>yes</Cvmfs>
                <Modules>apptainer;bad name!</Modules>
            """, """
                <Stage Include="reco" Config="spine.yaml" OutputDir="out_reco" />
                <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" OutputDir="out_ana" />
                <Source Include="inputs/*.root" Stage="reco" />
                <Source Include="inputs/gone.root" Stage="reco" />
            """);
        var outcome = p.Build();
        Assert.False(outcome.Succeeded);
        var lines = File.ReadAllLines(p.ProjectFile);
        int Line(string text) => Array.FindIndex(lines, l => l.Contains(text)) + 1;
        Assert.Equal(
            new[] { ("SPN1011", Line("gone.root")), ("SPN1112", Line("<SpineVersion>")), ("SPN1119", Line("<Modules>")), ("SPN1120", Line("<Cvmfs>")) },
            outcome.Errors.Select(e => (e.Code, e.LineNumber)).OrderBy(e => e.Code).ToArray());
        Assert.All(outcome.Errors, e => Assert.Equal(p.ProjectFile, e.File));
        Assert.All(outcome.Errors, e => Assert.DoesNotContain("   at ", e.Message));
        Assert.False(File.Exists(Path.Combine(p.PlanDir, "plan.json")), "a refused production leaves no plan");
        Assert.False(Directory.Exists(Path.Combine(p.PlanDir, "reco")), "nor any stage's scripts");
    }

    [Fact]
    public void A_site_change_is_a_new_plan_and_the_runtime_is_recorded_for_job_metadata()
    {
        var p = Production("site-switch", "");
        Assert.True(p.Build().Succeeded);
        var before = Script(p);
        var outcome = p.Build("Build", new Dictionary<string, string> { ["Site"] = "perlmutter", ["Account"] = "m1234" });
        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var after = Script(p);
        Assert.NotEqual(before, after);
        Assert.Contains("shifter", after);
        var plan = JsonNode.Parse(File.ReadAllText(Path.Combine(p.PlanDir, "plan.json")))!;
        var runtime = plan["Stages"]![0]!["Runtime"]!;
        Assert.Equal("shifter", (string?)runtime["Container"]);
        Assert.Equal("docker:ghcr.io/deeplearnphysics/spine:0.17.1", (string?)runtime["ContainerImage"]);
        Assert.Equal("perlmutter", (string?)plan["Stages"]![0]!["Site"]);
    }
}
