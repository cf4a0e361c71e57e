namespace SpineProd.Tests.Infrastructure;

/// <summary>
/// A production written for one test into a scratch folder inside the repository (so the SDK
/// resolves as it does for users), with a minimal SPINE config and real input files.
/// </summary>
public sealed class ScratchProduction
{
    public string Dir { get; }
    public string ProjectFile { get; }

    /// <param name="throughSymlink">Reach the production through a symbolic link to its folder, as
    /// HPC home and group folders often are (/home/u -> /sdf/home/u/u): every path MSBuild and the
    /// jobs see goes through the link.</param>
    public ScratchProduction(string name, bool throughSymlink = false)
    {
        Dir = Repo.Scratch(name);
        if (throughSymlink)
        {
            var link = Dir + "-link";
            File.CreateSymbolicLink(link, Dir);
            Dir = link;
        }
        ProjectFile = Path.Combine(Dir, "test.spineproj");
        File.WriteAllText(Path.Combine(Dir, "spine.yaml"), "base:\n  iterations: -1\nio:\n  loader:\n    batch_size: 1\n");
    }

    /// <summary>Creates <paramref name="count"/> input files under inputs/ and returns their paths.</summary>
    public List<string> Inputs(int count, string prefix = "run")
    {
        var dir = Path.Combine(Dir, "inputs");
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var f = Path.Combine(dir, $"{prefix}_{i:D4}.root");
            File.WriteAllText(f, "");
            files.Add(f);
        }
        return files;
    }

    /// <summary>Empty input files with these names under inputs/ (names ask the SPINE test double to misbehave: FAIL, SLEEPn, OOMn); returns their paths.</summary>
    public List<string> NamedInputs(IEnumerable<string> names)
    {
        var dir = Path.Combine(Dir, "inputs");
        Directory.CreateDirectory(dir);
        var files = names.Select(n => Path.Combine(dir, n)).ToList();
        foreach (var f in files) File.WriteAllText(f, "");
        return files;
    }

    public string List(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Writes the .spineproj: properties then items, as XML fragments.</summary>
    public ScratchProduction Write(string properties, string items)
    {
        File.WriteAllText(ProjectFile, $"""
            <Project Sdk="SpineProd.Sdk">
              <PropertyGroup>
                <SpineConfig>spine.yaml</SpineConfig>
                <Container>none</Container>
                <JobsDir>jobs</JobsDir>
                <!-- each test files its own audit binlogs, never the repository's jobs/.binlogs -->
                <SpineProdBinlogStagingDir>$(MSBuildProjectDirectory)/.binlogs/</SpineProdBinlogStagingDir>
            {properties}
              </PropertyGroup>
              <ItemGroup>
            {items}
              </ItemGroup>
            </Project>
            """);
        return this;
    }

    public string PlanDir => Path.Combine(Dir, "obj", "test");
    /// <summary>The default state folder's name: the production's identity (name and hash of its path in the repository).</summary>
    public string StateDirName => IdentityOf(ProjectFile);
    public string StateDir => Path.Combine(Dir, "jobs", StateDirName);

    public static string IdentityOf(string projectFile) =>
        Path.GetFileNameWithoutExtension(projectFile) + "-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(Path.GetRelativePath(Repo.Root, projectFile).Replace('\\', '/'))))[..8];
    public string StageDir => Path.Combine(PlanDir, "test");

    /// <summary>The production's folder relative to the repository root, as spine-prod's pipeline
    /// YAML writes paths (relative to the repository, not to the YAML file).</summary>
    public string RepoRelativeDir => Path.GetRelativePath(Repo.Root, Dir);

    /// <summary>Writes pipeline.yaml beside the production and returns its path.</summary>
    public string Pipeline(string yaml)
    {
        var path = Path.Combine(Dir, "pipeline.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Builds with <c>-p:PipelineFile=</c>, as a user runs a spine-prod pipeline on a production.</summary>
    public BuildOutcome BuildWithPipeline(string pipelineFile, string target = "Build") =>
        Build(target, new Dictionary<string, string> { ["PipelineFile"] = pipelineFile });

    public BuildOutcome Build(string target = "Build", IDictionary<string, string>? properties = null) =>
        ProductionBuild.Run(ProjectFile, target, properties);
}
