using SpineProd.Options;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.CommandLine;

/// <summary>Mistakes typed on the command line, as the user types them: a real `dotnet build` with -p:.</summary>
public sealed class CommandLineMistakesTests
{
    [Fact]
    public void A_near_miss_property_name_on_the_command_line_is_named()
    {
        var p = new ScratchProduction("cli-nearmiss");
        p.Inputs(4);
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Build", new Dictionary<string, string> { ["FilesPerTsk"] = "5", ["WaitTimeout"] = "4:00:00" });

        Assert.True(r.Succeeded, r.Output);
        Assert.Contains("warning SPN1060: -p:FilesPerTsk on the command line is not a SpineProd property and is ignored; did you mean -p:FilesPerTask?", r.Output);
        Assert.DoesNotContain("SPN1061", r.Output); // 4:00:00 is four hours, and accepted
    }

    [Fact]
    public void Every_bad_run_time_value_is_an_SPN_error_and_nothing_falls_back_silently()
    {
        var p = new ScratchProduction("cli-badvalues");
        p.Inputs(2);
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Status", new Dictionary<string, string>
        {
            ["FailOnProblems"] = "1x", ["Wait"] = "maybe", ["WaitTimeout"] = "4 hours", ["PollInterval"] = "0",
            ["ClusterQueryTimeout"] = "abc", ["LocalParallelism"] = "-1", ["SubmitRetries"] = "five",
        });

        Assert.False(r.Succeeded);
        Assert.DoesNotContain("MSB4030", r.Output);
        foreach (var (code, name) in new[] { ("SPN1063", "FailOnProblems '1x'"), ("SPN1063", "Wait 'maybe'"), ("SPN1061", "WaitTimeout '4 hours'"),
                     ("SPN1061", "PollInterval '0'"), ("SPN1061", "ClusterQueryTimeout 'abc'"), ("SPN1062", "LocalParallelism '-1'"), ("SPN1062", "SubmitRetries 'five'") })
            Assert.Contains($"error {code}: {name}", r.Output);
        Assert.False(File.Exists(Path.Combine(p.PlanDir, "plan.json")), "a refused command line plans nothing");
    }

    [Fact]
    public void A_bad_value_in_the_production_is_named_at_its_line()
    {
        var p = new ScratchProduction("cli-fileline");
        p.Inputs(2);
        p.Write("<Scheduler>local</Scheduler>\n    <WaitTimeout>4h30</WaitTimeout>", "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Build");

        Assert.False(r.Succeeded);
        Assert.Matches(@"test\.spineproj\(\d+,1\): error SPN1061: WaitTimeout '4h30' .*\(from <WaitTimeout>\)", r.Output);
    }

    [Theory]
    [InlineData("90", 90)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("4h", 14400)]
    [InlineData("4:00:00", 14400)]
    [InlineData("1-00:00:00", 86400)]
    [InlineData("2d", 172800)]
    public void Durations_are_read_in_the_units_the_README_names(string text, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), new RunOptions("x.spineproj").Duration("WaitTimeout", text, TimeSpan.Zero));
    }

    [Theory]
    [InlineData("4:00")]      // minutes:seconds or hours:minutes? ambiguous: refused
    [InlineData("4 hours")]
    [InlineData("-5")]
    [InlineData("400d")]
    public void Ambiguous_or_absurd_durations_are_refused(string text)
    {
        var e = Assert.Throws<SpineProd.Diagnostics.SpineProdException>(() => new RunOptions("x.spineproj").Duration("WaitTimeout", text, TimeSpan.Zero));
        Assert.Equal("SPN1061", e.Code);
    }
}

/// <summary>Errors that read well: a config not found names the near names; a YAML error is at the line to fix.</summary>
public sealed class ReadableErrorTests
{
    [Fact]
    public void A_config_not_found_suggests_the_name_with_the_other_extension()
    {
        var p = new ScratchProduction("cli-config-near");
        p.Inputs(1);
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Build", new Dictionary<string, string> { ["SpineConfig"] = "spine.cfg" });

        Assert.False(r.Succeeded);
        Assert.Contains("error SPN2040: SpineConfig 'spine.cfg' not found; did you mean 'spine.yaml'?", r.Output);
    }

    [Fact]
    public void An_unclosed_bracket_in_a_config_is_reported_at_the_line_where_it_opened()
    {
        var p = new ScratchProduction("cli-yaml-bracket");
        p.Inputs(1);
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), "base:\n  iterations: -1\nio:\n  loader:\n    batch_size: [1, 2\n    shuffle: false\n\n\n");
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");

        var r = DotnetBuild.Run(p.ProjectFile, "Build");

        Assert.False(r.Succeeded);
        Assert.Matches(@"spine\.yaml\(5,17\): error SPN2001: Error loading .*while parsing a flow sequence opened at line 5, column 17", r.Output);
    }
}
