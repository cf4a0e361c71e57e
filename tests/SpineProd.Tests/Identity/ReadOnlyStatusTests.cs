using SpineProd.Scheduler;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Identity;

/// <summary>
/// A colleague with read-only access runs Status on someone's production. The tests run as root,
/// and root ignores file permissions: the colleague is the unprivileged user `nobody`, for whom the
/// production's files (root's, 644/755) are readable and nothing is writable.
/// </summary>
public sealed class ReadOnlyStatusTests
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    private static DotnetBuild.Result AsNobody(string projectFile, string target, params string[] extra)
    {
        var home = Path.Combine(Path.GetTempPath(), "spineprod-nobody-home");
        Directory.CreateDirectory(home);
        ProcessRunner.Instance.Run("chown", ["nobody", home], TimeSpan.FromSeconds(10));
        var r = ProcessRunner.Instance.Run("runuser", ["-u", "nobody", "--", "env", $"HOME={home}", "DOTNET_CLI_HOME=" + home,
            "MSBUILDDISABLENODEREUSE=1", "DOTNET_CLI_USE_MSBUILD_SERVER=0", "DOTNET_NOLOGO=1", "DOTNET_CLI_TELEMETRY_OPTOUT=1",
            "dotnet", "build", projectFile, $"-t:{target}", "-nologo", "-v:n", "-clp:NoSummary", .. extra], TimeSpan.FromMinutes(10), Path.GetDirectoryName(projectFile));
        return new DotnetBuild.Result(r.TimedOut ? -1 : r.ExitCode, r.Stdout + r.Stderr);
    }

    [Fact]
    public void A_colleague_who_may_only_read_gets_the_status_and_a_warning_that_status_json_was_not_written()
    {
        Assert.True(Environment.UserName == "root" || !OperatingSystem.IsLinux(), "this test makes its reader another user, which needs root");
        var p = new ScratchProduction("readonly");
        p.List("inputs.txt", p.Inputs(4));
        p.Write($"<Scheduler>local</Scheduler><SpineCommand>{TestDouble}</SpineCommand><FilesPerTask>2</FilesPerTask>", "<SourceList Include=\"inputs.txt\" />");
        var submit = DotnetBuild.Run(p.ProjectFile, "Submit");
        Assert.True(submit.Succeeded, submit.Output);
        var statusJson = Path.Combine(p.StateDir, "status.json");
        Assert.False(File.Exists(statusJson));
        Directory.CreateDirectory(Path.Combine(p.Dir, ".binlogs"));   // a staging folder the reader may not write either

        var status = AsNobody(p.ProjectFile, "Status");

        Assert.True(status.Succeeded, status.Output);
        Assert.Contains("2 of 2 task(s) complete", status.Output);
        Assert.Contains("warning SPN3023", status.Output);
        Assert.Contains(statusJson, status.Output);
        Assert.DoesNotContain("MSB4018", status.Output);
        Assert.False(File.Exists(statusJson));

        // What needs writing says which path it could not write.
        var submitAsReader = AsNobody(p.ProjectFile, "Submit");
        Assert.False(submitAsReader.Succeeded);
        Assert.Contains("error SPN0001", submitAsReader.Output);
        Assert.Contains(Path.Combine(p.StateDir, "submit.lock"), submitAsReader.Output);

        // A production whose Directory.Build.rsp writes binlogs (as productions/ does) into a folder the
        // reader may not write: MSBuild itself cannot open the binlog, so the reader skips the response file.
        File.WriteAllText(Path.Combine(p.Dir, "Directory.Build.rsp"), "-bl:%MSBuildThisFileDirectory%.binlogs/{}.binlog\n");
        status = AsNobody(p.ProjectFile, "Status", "-noAutoResponse");
        Assert.True(status.Succeeded, status.Output);
        Assert.Contains("2 of 2 task(s) complete", status.Output);
    }
}
