using SpineProd.Scheduler;

namespace SpineProd.Tests.Infrastructure;

/// <summary>
/// Debian's chromium, headless, as a person's browser opening a file: the DOM after the page has
/// rendered (<c>--dump-dom</c>) and a screenshot. No network is needed or allowed, each run has a
/// fresh profile folder, and nothing phones home (--disable-background-networking and friends).
/// </summary>
public static class HeadlessChromium
{
    public static string Executable => new[] { "chromium", "chromium-browser" }
        .Select(n => ProcessRunner.Instance.Run("sh", ["-c", $"command -v {n}"], TimeSpan.FromSeconds(5)).Stdout.Trim())
        .FirstOrDefault(p => p.Length > 0)
        ?? throw new InvalidOperationException("chromium is not installed (apt-get install chromium); .ci/run installs it");

    private static List<string> Args(string profile) =>
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions", $"--user-data-dir={profile}",
    ];

    /// <summary>The page's DOM as the browser built it.</summary>
    public static string DumpDom(string htmlFile) => Run(["--dump-dom", new Uri(htmlFile).AbsoluteUri]);

    /// <summary>A PNG of the page, <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    public static void Screenshot(string htmlFile, string png, int width = 1280, int height = 2400)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(png)!);
        Run([$"--window-size={width},{height}", $"--screenshot={png}", new Uri(htmlFile).AbsoluteUri]);
        if (!File.Exists(png) || new FileInfo(png).Length == 0) throw new InvalidOperationException($"chromium wrote no screenshot to {png}");
    }

    private static string Run(List<string> extra)
    {
        var profile = Directory.CreateTempSubdirectory("spineprod-chromium-").FullName;
        try
        {
            var r = ProcessRunner.Instance.Run(Executable, [.. Args(profile), .. extra], TimeSpan.FromMinutes(2));
            if (!r.Succeeded) throw new InvalidOperationException($"chromium failed (exit {r.ExitCode}, timed out: {r.TimedOut}): {r.Stderr}");
            return r.Stdout;
        }
        finally { try { Directory.Delete(profile, recursive: true); } catch (IOException) { } }
    }
}
