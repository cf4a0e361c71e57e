using System.Runtime.CompilerServices;
using System.Diagnostics;

namespace SpineProd.Tests.Infrastructure;

/// <summary>
/// Builds the SDK's task assembly once, before any test runs. On a fresh clone every first
/// `dotnet build x.spineproj` compiles src/SpineProd.Tasks itself (as a user's first build does);
/// tests in parallel collections would otherwise start several such compiles of the same project
/// into the same folder at once, and one of them reads a half-written assembly.
/// </summary>
internal static class TasksAssembly
{
    [ModuleInitializer]
    internal static void BuildOnce()
    {
        // Plain Process, not the tasks' ProcessRunner: nothing may load MSBuild's assemblies before
        // MSBuildSetup registers the Locator. -noAutoResponse: productions/Directory.Build.rsp would
        // leave an audit binlog of this build.
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Repo.Root, UseShellExecute = false,
            RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "build", Repo.Path_("productions", "icarus.spineproj"), "-t:SpineProdBuildTasks", "-nologo", "-v:q", "-noAutoResponse" })
            start.ArgumentList.Add(a);
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var build = Process.Start(start)!;
        _ = build.StandardError.ReadToEndAsync();
        build.StandardOutput.ReadToEnd();
        // A failure here shows again, with its words, in the first test that builds a production.
        build.WaitForExit(TimeSpan.FromMinutes(10));
    }
}
