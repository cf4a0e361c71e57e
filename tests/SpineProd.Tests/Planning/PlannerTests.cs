using SpineProd.IO;
using SpineProd.Planning;
using Xunit;

namespace SpineProd.Tests.Planning;

public sealed class PlannerTests
{
    [Theory]
    [InlineData(1, null, "0")]
    [InlineData(10, null, "0-9")]
    [InlineData(10, 50, "0-9")]
    [InlineData(99, 50, "0-98%50")]
    public void Array_spec_is_zero_based_with_a_throttle_only_when_it_limits(int tasks, int? throttle, string expected) =>
        Assert.Equal(expected, Chunking.ArraySpec(tasks, throttle));

    [Fact]
    public void Arrays_never_exceed_max_array_size_and_cover_every_task_once()
    {
        var stage = new StagePlan { JobName = "j", FileCount = 2051, FilesPerTask = 2 };

        Chunking.Chunk(stage, 1000, SpineProd.Scheduler.Slurm.SlurmDialect.Instance);

        Assert.Equal(1026, stage.TaskCount);
        Assert.Equal([1000, 26], stage.Arrays.Select(a => a.TaskCount));
        Assert.Equal([0, 1000], stage.Arrays.Select(a => a.FirstTask));
        Assert.Equal([2000, 51], stage.Arrays.Select(a => a.FileCount));
        Assert.Equal(["j_0", "j_1"], stage.Arrays.Select(a => a.JobName));
    }

    [Fact]
    public void The_largest_settings_do_not_overflow()
    {
        var stage = new StagePlan { JobName = "j", FileCount = 10, FilesPerTask = int.MaxValue };
        Chunking.Chunk(stage, int.MaxValue, SpineProd.Scheduler.Slurm.SlurmDialect.Instance);
        Assert.Equal(1, stage.TaskCount);
        Assert.Equal(10, Assert.Single(stage.Arrays).FileCount);
    }

    [Fact]
    public void A_single_array_keeps_the_plain_job_name()
    {
        var stage = new StagePlan { JobName = "spine_icarus_latest", FileCount = 3, FilesPerTask = 1 };
        Chunking.Chunk(stage, 1000, SpineProd.Scheduler.Slurm.SlurmDialect.Instance);
        Assert.Equal("spine_icarus_latest", Assert.Single(stage.Arrays).JobName);
    }
}

public sealed class ShellQuoteTests
{
    [Theory]
    [InlineData("plain/path.root", "plain/path.root")]
    [InlineData("with space", "'with space'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("$(rm -rf /)", "'$(rm -rf /)'")]
    [InlineData("", "''")]
    public void Literal_quotes_everything_that_is_not_plainly_safe(string value, string expected) =>
        Assert.Equal(expected, ShellQuote.Literal(value));

    [Theory]
    [InlineData("${SPINE_BASEDIR}/bin/run.py", "\"${SPINE_BASEDIR}/bin/run.py\"")]
    [InlineData("$HOME/x", "\"$HOME/x\"")]
    [InlineData("$(reboot)", "\"\\$(reboot)\"")]
    [InlineData("`id`", "\"\\`id\\`\"")]
    [InlineData("a\"b", "\"a\\\"b\"")]
    public void AllowingEnvironment_expands_only_variables(string value, string expected) =>
        Assert.Equal(expected, ShellQuote.AllowingEnvironment(value));

    [Fact]
    public void SplitWords_honours_quotes()
    {
        Assert.Equal(["python3", "/a b/run.py", "--x=1"], ShellQuote.SplitWords("python3 '/a b/run.py' --x=1"));
        Assert.Equal(["a\"b", "c"], ShellQuote.SplitWords("\"a\\\"b\" c"));
    }

    [Fact]
    public void A_quoted_word_survives_bash_unchanged()
    {
        foreach (var value in new[] { "sp ace", "quo'te", "dq\"uote", "$(date)", "`id`", "semi;colon", "star*", "naïve", "back\\slash" })
        {
            var psi = new System.Diagnostics.ProcessStartInfo("bash", ["-c", "printf '%s' " + ShellQuote.Literal(value)]) { RedirectStandardOutput = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(value, output);
        }
    }
}
