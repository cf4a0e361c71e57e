using SpineProd.Scheduler;
using Xunit;

namespace SpineProd.Tests.Scheduler;

/// <summary>The real runner hands a command's output over line by line (sacct's million rows), and every line arrives.</summary>
public sealed class ProcessRunnerLinesTests
{
    [Fact]
    public void Every_line_arrives_whole_across_read_blocks_including_long_and_unterminated_ones()
    {
        // 100,000 short lines, one line longer than the reader's block, then a last line with no line break
        const string script = """
            for ((i = 0; i < 100000; i++)); do echo "row $i|COMPLETED|0:0"; done
            head -c 200000 /dev/zero | tr '\0' x; echo
            printf 'last|no newline'
            """;
        var lines = new List<string>();
        var r = ProcessRunner.Instance.RunLines("bash", ["-c", script], TimeSpan.FromMinutes(2), l => lines.Add(l.ToString()));

        Assert.True(r.Succeeded, r.Message);
        Assert.Equal("", r.Stdout);
        Assert.Equal(100_002, lines.Count);
        Assert.Equal("row 0|COMPLETED|0:0", lines[0]);
        Assert.Equal("row 99999|COMPLETED|0:0", lines[99_999]);
        Assert.Equal(new string('x', 200_000), lines[100_000]);
        Assert.Equal("last|no newline", lines[^1]);
    }

    [Fact]
    public void A_command_that_fails_says_so_with_its_error_output()
    {
        var lines = new List<string>();
        var r = ProcessRunner.Instance.RunLines("bash", ["-c", "echo one; echo broken >&2; exit 3"], TimeSpan.FromMinutes(1), l => lines.Add(l.ToString()));

        Assert.Equal(3, r.ExitCode);
        Assert.Contains("broken", r.Stderr);
        Assert.Equal(["one"], lines);
    }

    [Fact]
    public void A_command_that_outlives_its_time_is_a_timeout_not_a_short_answer()
    {
        var r = ProcessRunner.Instance.RunLines("bash", ["-c", "echo first; sleep 30"], TimeSpan.FromSeconds(1), _ => { });

        Assert.True(r.TimedOut);
        Assert.False(r.Succeeded);
    }
}
