using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Terminal;

/// <summary>Issue 11 item 7 (part): one error is one line, and an unwritable obj/ is SPN0001 naming it.</summary>
[Collection("msbuild")]
public sealed class OneLineErrorTests
{
    [Fact]
    public void A_missing_include_is_one_SPN2003_line_with_where_it_looked()
    {
        var p = new ScratchProduction("one-line");
        p.Inputs(1);
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), "include: nowhere.yaml\nbase:\n  iterations: -1\n");
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");

        var outcome = p.Build();

        var error = Assert.Single(outcome.Errors);
        Assert.Equal("SPN2003", error.Code);
        Assert.DoesNotContain("\n", error.Message);
        Assert.Contains("nowhere.yaml", error.Message);
    }

    [Fact]
    public void An_unwritable_obj_folder_is_SPN0001_naming_it_not_a_stack_trace()
    {
        var p = new ScratchProduction("ro-obj");
        p.Inputs(1);
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");
        var obj = Path.Combine(p.Dir, "obj");
        Directory.CreateDirectory(obj);
        // Read-only for everyone, root included (the suite runs as root on CI): the immutable flag.
        var locked = ProcessRunner.Instance.Run("chattr", ["+i", obj], TimeSpan.FromSeconds(10)).Succeeded;
        if (!locked) File.SetUnixFileMode(obj, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var outcome = p.Build();

            Assert.False(outcome.Succeeded);
            var error = Assert.Single(outcome.Errors);
            Assert.Equal("SPN0001", error.Code);
            Assert.Contains(Path.Combine(obj, "test"), error.Message);
            Assert.DoesNotContain("\n", error.Message);
            Assert.DoesNotContain(outcome.Errors, e => e.Code == "MSB4018");
        }
        finally
        {
            if (locked) ProcessRunner.Instance.Run("chattr", ["-i", obj], TimeSpan.FromSeconds(10));
            else File.SetUnixFileMode(obj, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
