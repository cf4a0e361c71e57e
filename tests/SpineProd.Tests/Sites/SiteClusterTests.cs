using System.Text.Json.Nodes;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sites;

/// <summary>
/// The SLURM sites end to end on the real test cluster, through `dotnet build -t:Submit` as a user
/// runs it: each site's own script, its container started as the site starts it (the container test
/// double stands in for Singularity and Shifter, the SPINE test double for SPINE), outputs, and
/// what job_metadata.json and History record of the site and the SPINE version.
/// </summary>
[Collection("cluster")]
public sealed class SiteClusterTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    private static ScratchProduction SiteProduction(string name, string properties, int inputs = 3)
    {
        var p = new ScratchProduction(name);
        p.Inputs(inputs);
        p.Write($"""
                <Container></Container>
                <SpineCommand>{TestDouble}</SpineCommand>
                <ContainerCommand>{TestDoubles.Container}</ContainerCommand>
                {properties}
            """, "<Source Include=\"inputs/*.root\" />");
        return p;
    }

    private static string[] ContainerArgs(string jobFolder) =>
        Directory.GetFiles(jobFolder, "container-args_*.txt").Order().Select(File.ReadAllText).ToArray();

    [Fact]
    public void S3DF_jobs_run_SPINE_in_the_sites_Singularity_with_its_binds_and_image()
    {
        cluster.Require();
        var image = Repo.Scratch("site-e2e-images") + "/spine_v0-17-1.sif";
        File.WriteAllText(image, "");
        var p = SiteProduction("site-e2e-s3df", $"<Site>s3df</Site><ContainerImage>{image}</ContainerImage><Cvmfs>true</Cvmfs>" + ClusterResources());

        Run(p, "Submit");
        var report = WaitFinished(p);
        Assert.Equal(3, report.Totals.Completed);
        var plan = Plan(p);
        var stage = Assert.Single(plan.Stages);
        Assert.Equal(3, Directory.GetFiles(stage.OutputDir, "*.h5").Length);

        var folder = Assert.Single(Ledger.Load(plan.StateDir, plan.ProductionName).Submissions).Stages.Single().JobFolder;
        var args = ContainerArgs(folder);
        Assert.Equal(3, args.Length);
        foreach (var a in args)
            Assert.StartsWith($"exec\n--bind\n/sdf/,/fs/,/cvmfs\n--nv\n{image}\nbash\n-c\n", a);
        Assert.Contains($"\nspine\n{TestDouble}\n-S\n", args[0]);

        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, JobMetadata.FileName)))!;
        Assert.Equal("s3df", (string?)meta["site"]);
        Assert.Equal("0.17.1", (string?)meta["spine_version"]);
        Assert.Equal(image, (string?)meta["container_image"]);
        Assert.Equal("singularity", (string?)meta["container"]);
        Assert.True((bool)meta["cvmfs"]!);
        Assert.Equal(["/sdf/", "/fs/", "/cvmfs"], meta["bind_paths"]!.AsArray().Select(x => (string?)x));

        var history = Run(p, "History");
        Assert.Contains("@ s3df, SPINE 0.17.1", history.Output);
    }

    [Fact]
    public void Perlmutter_jobs_run_Shifter_as_a_job_step_with_GPUs_per_node_from_a_groups_own_v08_profiles_file()
    {
        cluster.Require();
        // a spine-prod v0.8 profiles file (no sites:): the SDK's perlmutter site is used with it.
        // QOS normal and no constraint: the test cluster's, where Perlmutter has shared and gpu.
        var profiles = Repo.Scratch("site-e2e-profiles") + "/profiles.yaml";
        File.WriteAllText(profiles, """
            profiles:
              ci_shared_gpu:
                site: nersc
                qos: normal
                gpus_per_node: 1
                cpus_per_task: 1
                mem: 300M
                time: "0:05:00"
                account: ci
                description: "a quarter of a test-cluster node"
            detectors:
              generic:
                default_profile: ci_shared_gpu
                configs_dir: infer/generic
                account: "neutrino:ml-dev"
            defaults:
              max_array_size: 99
            """);
        var p = SiteProduction("site-e2e-perlmutter", $"<Site>perlmutter</Site><ProfilesFile>{profiles}</ProfilesFile><SpineVersion>0.18.0</SpineVersion>", inputs: 2);

        Run(p, "Submit");
        var report = WaitFinished(p);
        Assert.Equal(2, report.Totals.Completed);
        var plan = Plan(p);
        var folder = Assert.Single(Ledger.Load(plan.StateDir, plan.ProductionName).Submissions).Stages.Single().JobFolder;
        var script = File.ReadAllText(Path.Combine(folder, "submit_chunk_0.sbatch"));
        Assert.Contains("#SBATCH --qos=normal\n#SBATCH --nodes=1\n", script);
        Assert.Contains("#SBATCH --gpus-per-node=1\n", script);
        Assert.Contains("#SBATCH --mem=300M\n", script);

        foreach (var a in ContainerArgs(folder))
            Assert.StartsWith("--module=gpu\n--image=docker:ghcr.io/deeplearnphysics/spine:0.18.0\nbash\n-c\n", a);
        // srun made it a job step, and SLURM gave the task its GPU
        foreach (var env in Directory.GetFiles(folder, "container-env_*.txt").Select(File.ReadAllLines))
        {
            Assert.Matches(@"^SLURM_STEP_ID=\d+$", env[0]);
            Assert.Matches(@"^CUDA_VISIBLE_DEVICES=\d", env[1]);
        }
        var meta = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, JobMetadata.FileName)))!;
        Assert.Equal("perlmutter", (string?)meta["site"]);
        Assert.Equal("docker:ghcr.io/deeplearnphysics/spine:0.18.0", (string?)meta["container_image"]);
        Assert.Equal("ci", (string?)meta["profile_config"]!["account"]);
        Assert.Contains("ci_shared_gpu @ perlmutter, SPINE 0.18.0", Run(p, "History").Output);
    }
}
