using SpineProd.Diagnostics;
using SpineProd.Profiles;
using SpineProd.Sites;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sites;

/// <summary>The SDK's profiles file: spine-prod v0.8's profiles, detectors and the three sites, read as the planner reads them.</summary>
public sealed class ProfilesFileTests
{
    private static readonly ProfileCatalog Sdk = ProfileCatalog.Load(Repo.Path_("templates", "profiles.yaml"));

    [Fact]
    public void Every_profile_of_spine_prod_v08_is_there_with_its_site()
    {
        var expected = new Dictionary<string, string>
        {
            ["s3df_hopper"] = "s3df", ["s3df_ampere"] = "s3df", ["s3df_turing"] = "s3df", ["s3df_milano"] = "s3df", ["s3df_roma"] = "s3df",
            ["nersc_gpu"] = "perlmutter", ["nersc_gpu_80gb"] = "perlmutter", ["nersc_cpu"] = "perlmutter",
            ["nersc_gpu_exclusive"] = "perlmutter", ["nersc_gpu_exclusive_80gb"] = "perlmutter", ["nersc_cpu_exclusive"] = "perlmutter",
            ["anl_polaris_capacity"] = "polaris", ["anl_polaris_debug"] = "polaris",
        };
        Assert.Equal(expected.Keys.Order(), Sdk.Profiles.Keys.Order());
        foreach (var (name, site) in expected) Assert.Equal(site, Sdk.Profiles[name].Site);
        Assert.Equal("turing", Sdk.Profiles["s3df_turing"].Partition);          // v0.8 lost it
        Assert.Equal("gpu&hbm80g", Sdk.Profiles["nersc_gpu_80gb"].Constraint);
        Assert.Equal("0", Sdk.Profiles["nersc_cpu_exclusive"].Mem);
        var polaris = Sdk.Profiles["anl_polaris_capacity"];
        Assert.Equal(("14453", "capacity", "polaris", "scatter", "home:grand:eagle", 32, 1),
            (polaris.Account, polaris.Partition, polaris.System, polaris.Place, polaris.Filesystems, polaris.CpusPerTask, polaris.Gpus));
    }

    [Theory]
    [InlineData("/sdf/group/neutrino/spine-prod/config/infer/protodune-vd/latest", "protodune-vd", "neutrino:dune-ml")]
    [InlineData("/sdf/group/neutrino/spine-prod/config/infer/protodune-sp/latest", "protodune-sp", "neutrino:dune-ml")]
    [InlineData("/sdf/group/neutrino/spine-prod/config/infer/dune10kt-1x2x6/latest_data", "dune10kt-1x2x6", "neutrino:dune-ml")]
    [InlineData("infer/2x2/latest", "2x2", "neutrino:dune-ml")]
    [InlineData("infer/icarus/latest", "icarus", "neutrino:icarus-ml")]
    public void Newer_detectors_are_detected_from_their_config_folder_with_their_account(string config, string detector, string account)
    {
        Assert.Equal(detector, Sdk.DetectDetector(config));
        var d = Sdk.Detector(detector)!;
        Assert.Equal(account, d.AccountAt("s3df"));
        Assert.Equal($"infer/{detector}", d.ConfigsDir);
        Assert.Null(d.AccountAt("perlmutter"));   // an S3DF account is not a NERSC project
    }

    [Fact]
    public void Each_site_has_its_scheduler_container_and_default_profiles_and_auto_follows_the_site()
    {
        Assert.Equal(["perlmutter", "polaris", "s3df"], Sdk.Sites.Keys.Order());
        Assert.Equal(("slurm", "singularity"), (Sdk.Sites["s3df"].Scheduler, Sdk.Sites["s3df"].Container));
        Assert.Equal(("slurm", "shifter"), (Sdk.Sites["perlmutter"].Scheduler, Sdk.Sites["perlmutter"].Container));
        Assert.Equal(("pbs", "apptainer"), (Sdk.Sites["polaris"].Scheduler, Sdk.Sites["polaris"].Container));
        Assert.Equal("/sdf/data/neutrino/images/spine_v0-17-1.sif", Sdk.Sites["s3df"].ImageFor(Sdk.DefaultSpineVersion!));
        Assert.Equal("docker:ghcr.io/deeplearnphysics/spine:0.18.0", Sdk.Sites["perlmutter"].ImageFor("0.18.0"));
        Assert.Null(Sdk.Sites["polaris"].ImageFor("0.17.1"));

        Assert.Equal("s3df_ampere", Sdk.Resolve("auto", "icarus", Sdk.Sites["s3df"]).Name);
        Assert.Equal("nersc_gpu", Sdk.Resolve("auto", "icarus", Sdk.Sites["perlmutter"]).Name);
        Assert.Equal("nersc_cpu", Sdk.Resolve("auto", "common", Sdk.Sites["perlmutter"]).Name);
        Assert.Equal("anl_polaris_capacity", Sdk.Resolve("auto", "sbnd", Sdk.Sites["polaris"]).Name);
        var e = Assert.Throws<SpineProdException>(() => Sdk.Resolve("s3df_ampere", "icarus", Sdk.Sites["polaris"]));
        Assert.Equal("SPN1121", e.Code);
        Assert.Equal("perlmutter", SiteDefinition.Canonical("NERSC"));
        Assert.Equal("polaris", SiteDefinition.Canonical("anl"));
    }
}
