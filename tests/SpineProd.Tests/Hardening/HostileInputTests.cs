using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Hardening;

/// <summary>
/// Inputs named with spaces, quotes, $(...), backticks, ;, * and non-ASCII letters go through the
/// real cluster end to end: the stand-in SPINE receives exactly those files, and nothing in their
/// names is ever run.
/// </summary>
[Collection("cluster")]
public sealed class HostileInputTests(ClusterFixture cluster) : EndToEndScenarios
{
    protected override string Scheduler => "slurm";

    public static readonly string[] HostileNames =
    [
        "with space.root", "it's quoted.root", "double\"quote.root", "$(touch PWNED).root", "`touch PWNED`.root",
        "semi;colon.root", "star*.root", "naïve-Ünïcödé.root", "dollar$HOME.root", "back\\slash.root",
    ];

    [Fact]
    public void Hostile_file_names_reach_SPINE_exactly_on_the_real_cluster()
    {
        cluster.Require();
        var p = new ScratchProduction("hostile");
        var dir = Path.Combine(p.Dir, "in ${x} 'dir'");
        Directory.CreateDirectory(dir);
        var inputs = HostileNames.Select(n => Path.Combine(dir, n)).ToList();
        inputs.ForEach(f => File.WriteAllText(f, ""));
        p.List("inputs.txt", inputs);
        p.Write($"""
                <Scheduler>slurm</Scheduler>
                <SpineCommand>{TestDouble}</SpineCommand>
                <FilesPerTask>3</FilesPerTask>
                {ClusterResources()}
                <OutputDir>out 'q' $x</OutputDir>
            """, "<SourceList Include=\"inputs.txt\" />");

        Run(p, "Submit");
        var report = WaitFinished(p);

        Assert.True(report.IsComplete, string.Join("\n", report.Render()));
        var stage = Plan(p).Stages.Single();
        foreach (var input in inputs)
        {
            var output = Path.Combine(stage.OutputDir, $"{Path.GetFileNameWithoutExtension(input)}_{Path.GetFileNameWithoutExtension(stage.Output)}.h5");
            Assert.True(File.Exists(output), $"no output for {input}");
            Assert.Contains($"input={input}\n", File.ReadAllText(output));
        }
        Assert.Empty(Directory.GetFiles(p.Dir, "PWNED", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(p.Dir, "PWNED")));
    }

    [Fact]
    public void A_name_with_a_newline_is_refused_at_build_time_and_nothing_is_submitted()
    {
        var p = new ScratchProduction("newline");
        Directory.CreateDirectory(Path.Combine(p.Dir, "inputs"));
        File.WriteAllText(Path.Combine(p.Dir, "inputs", "line\nbreak.root"), "");
        p.Write($"<Scheduler>slurm</Scheduler><SpineCommand>{TestDouble}</SpineCommand>", "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Submit");

        Assert.False(r.Succeeded);
        Assert.Contains("SPN1017", r.Output);
        Assert.False(Directory.Exists(Path.Combine(p.Dir, "jobs")) && Directory.EnumerateFileSystemEntries(Path.Combine(p.Dir, "jobs")).Any(),
            "a refused production must leave no job folder");
    }
}
