using System.IO.Compression;
using System.Text.RegularExpressions;
using SpineProd.Scheduler;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Package;

/// <summary>
/// SpineProd as a user outside this repository meets it: `dotnet pack sdk` once per test run, a
/// folder outside the repository with a nuget.config that knows only that feed (and its own NuGet
/// cache, so no stale copy elsewhere is used), `dotnet new install` of the template package, then
/// `dotnet new spineprod` and `dotnet build -t:...` in the new productions' folders.
/// </summary>
public sealed class PackedSdk : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"spineprod-package-{Guid.NewGuid():N}"[..30]);
    public string Feed => Path.Combine(Root, "feed");
    public string Packages => Path.Combine(Root, "nuget-packages");
    public string Hive => Path.Combine(Root, "template-hive");
    public string Version { get; }
    public string SdkPackage => Path.Combine(Feed, $"SpineProd.Sdk.{Version}.nupkg");
    public string TemplatePackage => Path.Combine(Feed, $"SpineProd.Templates.{Version}.nupkg");

    public PackedSdk()
    {
        Version = Regex.Match(File.ReadAllText(Repo.Path_("sdk", "SpineProd.Sdk", "build", "SpineProd.Version.props")),
            "<SpineProdVersion>([^<]+)</SpineProdVersion>").Groups[1].Value;
        Directory.CreateDirectory(Root);
        // The one command of the README, run in the repository (its restore may use the usual cache).
        var pack = Dotnet(Repo.Root, null, "pack", "sdk", "-o", Feed, "-nologo");
        Assert.True(pack.ExitCode == 0, "dotnet pack sdk failed:\n" + pack.Stdout + pack.Stderr);
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="spineprod" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
        var install = Dotnet(Root, Packages, "new", "install", TemplatePackage, "--debug:custom-hive", Hive);
        Assert.True(install.ExitCode == 0, "dotnet new install failed:\n" + install.Stdout + install.Stderr);
    }

    /// <summary>`dotnet ...` in <paramref name="dir"/>, with <paramref name="nugetPackages"/> as NuGet's cache if given.</summary>
    public static ProcessResult Dotnet(string dir, string? nugetPackages, params string[] args)
    {
        var env = new Dictionary<string, string?>
        {
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["SLURM_JOB_ID"] = null, ["SLURM_ARRAY_TASK_ID"] = null, ["SLURM_ARRAY_JOB_ID"] = null,
        };
        if (nugetPackages is not null) env["NUGET_PACKAGES"] = nugetPackages;
        return ProcessRunner.Instance.Run("dotnet", args, TimeSpan.FromMinutes(5), dir, env);
    }

    /// <summary>`dotnet new spineprod -n name -o dir ...` (the user's command).</summary>
    public string NewProduction(string folder, string name, params string[] options)
    {
        var dir = Path.Combine(Root, folder, name);
        var r = Dotnet(Root, Packages, ["new", "spineprod", "-n", name, "-o", dir, "--debug:custom-hive", Hive, .. options]);
        Assert.True(r.ExitCode == 0, "dotnet new spineprod failed:\n" + r.Stdout + r.Stderr);
        return dir;
    }

    /// <summary>`dotnet build &lt;name&gt;.spineproj -t:target` in the production's folder; asserts success.</summary>
    public string Build(string productionDir, string target, params string[] properties)
    {
        var r = Dotnet(productionDir, Packages, ["build", $"-t:{target}", "-nologo", "-v:n", "-clp:NoSummary", .. properties.Select(p => "-p:" + p)]);
        Assert.True(r.ExitCode == 0, $"dotnet build -t:{target} in {productionDir} failed:\n{r.Stdout}{r.Stderr}");
        return r.Stdout;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[Collection("cluster")]
public sealed class PackageTests(PackedSdk sdk, ClusterFixture cluster) : IClassFixture<PackedSdk>
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    [Fact]
    public void The_package_holds_exactly_the_in_place_sdk_files_and_the_task_assembly()
    {
        using var zip = ZipFile.OpenRead(sdk.SdkPackage);
        var entries = zip.Entries.ToDictionary(e => e.FullName);
        var inPlace = new Dictionary<string, string>();
        var sdkDir = Repo.Path_("sdk", "SpineProd.Sdk");
        foreach (var folder in new[] { "Sdk", "build", "schema" })
            foreach (var f in Directory.EnumerateFiles(Path.Combine(sdkDir, folder))) inPlace[$"{folder}/{Path.GetFileName(f)}"] = f;
        foreach (var f in Directory.EnumerateFiles(Repo.Path_("templates"))) inPlace[$"templates/{Path.GetFileName(f)}"] = f;

        var packed = entries.Keys.Where(k => Regex.IsMatch(k, "^(Sdk|build|schema|templates)/")).Order().ToList();
        Assert.Equal(inPlace.Keys.Order().ToList(), packed);
        foreach (var (name, file) in inPlace)
        {
            using var s = entries[name].Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(m.ToArray()), $"{name} in the package differs from {file}");
        }

        var tasks = entries.Keys.Where(k => k.StartsWith("tasks/net10.0/", StringComparison.Ordinal)).Select(Path.GetFileName).ToList();
        Assert.Contains("SpineProd.Tasks.dll", tasks);
        Assert.Contains("YamlDotNet.dll", tasks);
        Assert.Contains("Scriban.Signed.dll", tasks);
        Assert.Contains("StructuredLogger.dll", tasks);
        Assert.DoesNotContain(tasks, t => t!.StartsWith("Microsoft.Build", StringComparison.Ordinal));

        using var nuspec = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var spec = nuspec.ReadToEnd();
        Assert.Contains($"<version>{sdk.Version}</version>", spec);
        Assert.Contains("MSBuildSdk", spec);
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$", sdk.Version);   // SemVer

        // The template carries the SDK's editor schema, byte for byte, and names this version.
        using var templates = ZipFile.OpenRead(sdk.TemplatePackage);
        using var xsd = templates.GetEntry("content/spineprod/.vscode/spineproj.xsd")!.Open();
        using var xsdCopy = new MemoryStream();
        xsd.CopyTo(xsdCopy);
        Assert.Equal(File.ReadAllBytes(Path.Combine(sdkDir, "schema", "spineproj.xsd")), xsdCopy.ToArray());
        using var proj = new StreamReader(templates.GetEntry("content/spineprod/MyProduction.spineproj")!.Open());
        Assert.Contains($"Sdk=\"SpineProd.Sdk/{sdk.Version}\"", proj.ReadToEnd());
    }

    [Fact]
    public void Dotnet_new_productions_outside_the_repository_plan_preview_submit_locally_and_keep_their_state_beside_them()
    {
        var alpha = sdk.NewProduction("group", "alpha", "--detector", "icarus");
        var beta = sdk.NewProduction("group", "beta");
        Assert.True(File.Exists(Path.Combine(alpha, "alpha.spineproj")));
        Assert.True(File.Exists(Path.Combine(alpha, ".vscode", "settings.json")));
        Assert.Contains("<Detector>icarus</Detector>", File.ReadAllText(Path.Combine(alpha, "alpha.spineproj")));
        Assert.DoesNotContain("<Detector>", File.ReadAllText(Path.Combine(beta, "beta.spineproj")));

        // Previews as created, with no edit.
        var preview = sdk.Build(alpha, "Preview");
        Assert.Contains("account=neutrino:icarus-ml", preview);   // the icarus detector's account, from the packaged profiles.yaml

        // A Directory.Build.props above both sets the group's account (and what the test machine needs).
        File.WriteAllText(Path.Combine(sdk.Root, "group", "Directory.Build.props"), $"""
            <Project>
              <PropertyGroup>
                <Account>ci</Account>
                <Container>none</Container>
                <SpineCommand>{TestDouble}</SpineCommand>
              </PropertyGroup>
            </Project>
            """);
        Assert.Contains("account=ci ", sdk.Build(alpha, "Preview"));
        Assert.Contains("account=ci ", sdk.Build(beta, "Preview"));
        // The production's own property beats it, and -p: beats both.
        var betaProject = Path.Combine(beta, "beta.spineproj");
        File.WriteAllText(betaProject, File.ReadAllText(betaProject).Replace("<FilesPerTask>", "<Account>own</Account><FilesPerTask>"));
        Assert.Contains("account=own ", sdk.Build(beta, "Preview"));
        Assert.Contains("account=mine ", sdk.Build(beta, "Preview", "Account=mine"));

        // The user lists real inputs, submits on this machine, asks Status and History.
        var inputs = Inputs(alpha, 3);
        var packageFiles = Snapshot(sdk.Packages);
        Assert.Contains("submitted 3 task(s)", sdk.Build(alpha, "Submit", "Scheduler=local"));
        Assert.Contains("All tasks complete.", sdk.Build(alpha, "Status"));
        var history = sdk.Build(alpha, "History");
        Assert.Contains("Submit", history);

        // State, jobs, outputs and audit binlogs beside the production; nothing in the SDK's package folder or this repository.
        var state = StateDir(alpha, "alpha");
        Assert.True(File.Exists(Path.Combine(state, "submissions.json")));
        Assert.Equal(3, Outputs(state).Length);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(state, "binlogs"), "*.binlog"));
        Assert.Equal(packageFiles, Snapshot(sdk.Packages));
        Assert.False(Directory.Exists(Repo.Path_("jobs")) && Directory.GetDirectories(Repo.Path_("jobs"), "alpha*").Length > 0);
        Assert.DoesNotContain(inputs, i => !File.Exists(i));
    }

    [Fact]
    public void A_dotnet_new_production_outside_the_repository_runs_on_the_test_cluster()
    {
        cluster.Require();
        var gamma = sdk.NewProduction("site", "gamma", "--config", "spine.yaml");
        File.WriteAllText(Path.Combine(sdk.Root, "site", "Directory.Build.props"), $"""
            <Project>
              <PropertyGroup>
                <Account>ci</Account><Partition>cpu</Partition><Gpus>0</Gpus><CpusPerTask>1</CpusPerTask>
                <MemPerCpu>200M</MemPerCpu><Time>0:05:00</Time>
                <Container>none</Container>
                <SpineCommand>{TestDouble}</SpineCommand>
              </PropertyGroup>
            </Project>
            """);
        Inputs(gamma, 2);
        Assert.Contains("submitted 2 task(s)", sdk.Build(gamma, "Submit"));
        Assert.Contains("All tasks complete.", sdk.Build(gamma, "Status", "Wait=true", "PollInterval=1", "WaitTimeout=120"));
        Assert.Contains("Submit", sdk.Build(gamma, "History"));
        var state = StateDir(gamma, "gamma");
        Assert.True(File.Exists(Path.Combine(state, "submissions.json")));
        Assert.Equal(2, Outputs(state).Length);
    }

    [Fact]
    public void A_fresh_clone_previews_with_the_sdk_in_place_and_no_set_up()
    {
        // The README's first command, in a clone of what is committed: the SDK resolves from sdk/packages
        // (global.json + nuget.config) and its task assembly builds itself from source.
        var clone = Path.Combine(sdk.Root, "clone");
        var git = ProcessRunner.Instance.Run("git", ["clone", "-q", "--no-hardlinks", Repo.Root, clone], TimeSpan.FromMinutes(2));
        Assert.True(git.Succeeded, git.Message);
        var r = PackedSdk.Dotnet(clone, null, "build", "productions/icarus.spineproj", "-t:Preview", "-nologo", "-clp:NoSummary");
        Assert.True(r.ExitCode == 0, "dotnet build productions/icarus.spineproj -t:Preview failed in a fresh clone:\n" + r.Stdout + r.Stderr);
        Assert.Contains("#SBATCH --account=neutrino:icarus-ml", r.Stdout);
        Assert.True(File.Exists(Path.Combine(clone, "artifacts", "tasks", "Release", "SpineProd.Tasks.dll")));   // built from source, in the clone
    }

    /// <summary>Creates <paramref name="count"/> empty inputs in data/ and lists them in inputs.txt, as the user would.</summary>
    private static List<string> Inputs(string productionDir, int count)
    {
        var data = Path.Combine(productionDir, "data");
        Directory.CreateDirectory(data);
        var files = Enumerable.Range(0, count).Select(i => Path.Combine(data, $"run_{i:D4}.root")).ToList();
        foreach (var f in files) File.WriteAllText(f, "");
        File.WriteAllLines(Path.Combine(productionDir, "inputs.txt"), files.Select(f => "data/" + Path.GetFileName(f)));
        return files;
    }

    /// <summary>The production's state folder: jobs/&lt;name&gt;-&lt;identity hash&gt;/ beside it.</summary>
    private static string StateDir(string productionDir, string name) =>
        Assert.Single(Directory.GetDirectories(Path.Combine(productionDir, "jobs"), name + "-*"));

    /// <summary>SPINE's outputs in the default output folder (not the job's `.spineprod-owner` record).</summary>
    private static string[] Outputs(string stateDir) =>
        Directory.GetFiles(Path.Combine(stateDir, "output")).Where(f => !Path.GetFileName(f).StartsWith('.')).ToArray();

    private static List<string> Snapshot(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
            .Select(p => $"{p}|{(File.Exists(p) ? new FileInfo(p).Length : -1)}|{File.GetLastWriteTimeUtc(p):O}").Order().ToList();
}
