using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Sdk;

/// <summary>Every mistake a user can make in a production is an SPN code at the line to fix, and leaves no plan behind.</summary>
[Collection("msbuild")]
public sealed class ValidationTests
{
    public static TheoryData<string, string, string, bool> Mistakes => new()
    {
        // properties, items, expected code, is it an error (else a warning)
        { "<FilesPerTask>0</FilesPerTask>", "<Source Include=\"inputs/*.root\" />", "SPN1020", true },
        { "<Time>2 hours</Time>", "<Source Include=\"inputs/*.root\" />", "SPN1021", true },
        { "<MemPerCpu>lots</MemPerCpu>", "<Source Include=\"inputs/*.root\" />", "SPN1025", true },
        { "<MaxRunningTasks>-1</MaxRunningTasks>", "<Source Include=\"inputs/*.root\" />", "SPN1022", true },
        { "<MaxArraySize>zero</MaxArraySize>", "<Source Include=\"inputs/*.root\" />", "SPN1023", true },
        { "<Dependency>after ok 12</Dependency>", "<Source Include=\"inputs/*.root\" />", "SPN1024", true },
        // each scheduler's own syntax: SLURM's task id is not a PBS job; the local scheduler runs no either-or
        { "<Scheduler>pbs</Scheduler><Dependency>afterok:12_3</Dependency>", "<Source Include=\"inputs/*.root\" />", "SPN1024", true },
        { "<Scheduler>local</Scheduler><Dependency>afterok:1?afterok:2</Dependency>", "<Source Include=\"inputs/*.root\" />", "SPN1024", true },
        { "<JobName>a;rm -rf /</JobName>", "<Source Include=\"inputs/*.root\" />", "SPN1025", true },
        { "<Account>ml`id`</Account>", "<Source Include=\"inputs/*.root\" />", "SPN1025", true },
        { "<Profile>s3df_nonesuch</Profile>", "<Source Include=\"inputs/*.root\" />", "SPN1305", true },
        { "", "<Sourc Include=\"inputs/*.root\" />", "SPN1001", true },
        { "", "<Source Include=\"inputs/*.root\" Stgae=\"x\" />", "SPN1002", true },
        { "<FilesPerTsk>2</FilesPerTsk>", "<Source Include=\"inputs/*.root\" />", "SPN1003", false },
        { "", "", "SPN1010", true },
        { "", "<Source Include=\"inputs/missing.root\" />", "SPN1011", true },
        { "", "<Source Include=\"inputs/*.root\" /><Source Include=\"nothing/*.root\" />", "SPN1012", false },
        { "", "<SourceList Include=\"nosuch.txt\" />", "SPN1013", true },
        { "", "<SourceList Include=\"inputs\" />", "SPN1014", true },
        { "", "<SourceList Include=\"dup.txt\" />", "SPN1015", false },
        { "", "<SourceList Include=\"samename.txt\" />", "SPN1016", true },
        { "", "<SourceList Include=\"comma.txt\" />", "SPN1017", true },
        { "<Scheduler>htcondor</Scheduler>", "<Source Include=\"inputs/*.root\" />", "SPN1030", true },
        { "<Container>docker</Container>", "<Source Include=\"inputs/*.root\" />", "SPN1029", true },
        { "<ProfilesFile>bad-profiles.yaml</ProfilesFile>", "<Source Include=\"inputs/*.root\" />", "SPN1302", true },
        { "<ProfilesFile>incomplete-profiles.yaml</ProfilesFile>", "<Source Include=\"inputs/*.root\" />", "SPN1303", true },
        { "<SpineConfig>not-yaml.yaml</SpineConfig>", "<Source Include=\"inputs/*.root\" />", "SPN2001", true },
        { "", "<SourceList Include=\"binary.txt\" />", "SPN1014", true },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_mistake_gives_its_code_at_the_file_to_fix(string properties, string items, string code, bool isError)
    {
        var p = new ScratchProduction("bad-" + code);
        var inputs = p.Inputs(2);
        p.List("dup.txt", [inputs[0], inputs[1], inputs[0]]);
        Directory.CreateDirectory(Path.Combine(p.Dir, "other"));
        File.WriteAllText(Path.Combine(p.Dir, "other", "run_0000.root"), "");
        p.List("samename.txt", [inputs[0], Path.Combine(p.Dir, "other", "run_0000.root")]);
        p.List("comma.txt", [inputs[0], Path.Combine(p.Dir, "inputs", "a,b.root")]);
        File.WriteAllText(Path.Combine(p.Dir, "bad-profiles.yaml"), "profiles:\n  s3df_ampere: [unclosed\n");
        File.WriteAllText(Path.Combine(p.Dir, "incomplete-profiles.yaml"), "profiles:\n  s3df_ampere:\n    partition: ampere\n    gpus: 1\n");
        File.WriteAllText(Path.Combine(p.Dir, "not-yaml.yaml"), "base: {\n  world_size: [1, 2\n");
        File.WriteAllBytes(Path.Combine(p.Dir, "binary.txt"), [0x7f, (byte)'E', (byte)'L', (byte)'F', 0, 0, 0xff, 0xfe, (byte)'\n']);
        p.Write(properties, items);
        // Submit, with a tripwire sbatch first on PATH: a refused production must never reach it.
        var tripwire = Tripwire.Install(p.Dir);

        var outcome = p.Build("Submit");

        if (isError)
        {
            Assert.False(outcome.Succeeded);
            var error = Assert.Single(outcome.Errors, e => e.Code == code);
            Assert.True(error.File.EndsWith(".spineproj") || error.File.EndsWith(".txt") || error.File.EndsWith(".yaml"), $"{code} points at {error.File}");
            Assert.True(error.File.EndsWith(".spineproj") || error.LineNumber > 0, $"{code} names no line of {error.File}");
            Assert.False(File.Exists(Path.Combine(p.PlanDir, "plan.json")), "a failed build must leave no plan");
            Assert.DoesNotContain(outcome.Errors, e => e.Code is "MSB4018" or "MSB4181");
            Assert.False(Directory.Exists(Path.Combine(p.Dir, "jobs")), "a refused production must leave no job folder");
            Assert.False(tripwire.WasCalled, "a refused production must never call sbatch");
        }
        else
        {
            Assert.Contains(outcome.Warnings, w => w.Code == code);
        }
        tripwire.Dispose();
    }

    [Fact]
    public void A_bad_property_points_at_its_line()
    {
        var p = new ScratchProduction("line");
        p.Inputs(1);
        p.Write("<FilesPerTask>zero</FilesPerTask>", "<Source Include=\"inputs/*.root\" />");

        var error = Assert.Single(p.Build().Errors);

        Assert.Equal("SPN1020", error.Code);
        Assert.Equal(p.ProjectFile, error.File);
        var lines = File.ReadAllLines(p.ProjectFile);
        Assert.Contains("<FilesPerTask>zero", lines[error.LineNumber - 1]);
    }

    [Fact]
    public void A_duplicate_in_a_source_list_points_at_the_list_line()
    {
        var p = new ScratchProduction("dupline");
        var inputs = p.Inputs(2);
        p.List("list.txt", ["# header", inputs[0], "", inputs[1], inputs[0]]);
        p.Write("", "<SourceList Include=\"list.txt\" />");

        var warning = Assert.Single(p.Build().Warnings, w => w.Code == "SPN1015");

        Assert.Equal(Path.Combine(p.Dir, "list.txt"), warning.File);
        Assert.Equal(5, warning.LineNumber);
    }
}
