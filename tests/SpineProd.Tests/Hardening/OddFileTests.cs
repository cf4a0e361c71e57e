using System.Diagnostics;
using System.Text;
using SpineProd.Config;
using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Profiles;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Hardening;

/// <summary>
/// Odd files fail fast, at the line, with bounded memory: FIFOs (made with mkfifo), devices, huge
/// files, byte-order marks inside a list, deep nesting. Every test that could hang has a timeout,
/// so a hang fails instead of blocking the suite.
/// </summary>
public sealed class OddFileTests
{
    private static string Fifo(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        using var mkfifo = Process.Start("mkfifo", [path]);
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    /// <summary>Runs <paramref name="action"/> on a pool thread so the test's own timeout can fail a hang.</summary>
    private static Task<T> Off<T>(Func<T> action) => Task.Run(action);

    [Theory(Timeout = 30_000)]
    [InlineData("fifo", "a FIFO")]
    [InlineData("/dev/zero", "a character device")]
    [InlineData("huge", "larger than the 16 MB")]
    public async Task A_config_include_of_a_FIFO_a_device_or_a_huge_file_is_refused_at_the_include_line(string what, string reason)
    {
        var dir = Repo.Scratch("odd-include");
        var target = what switch
        {
            "fifo" => Fifo(dir, "piped.yaml"),
            "huge" => Path.Combine(dir, "huge.yaml"),
            _ => what,
        };
        if (what == "huge")
            using (var f = File.Create(target)) f.SetLength(3L << 30);   // 3 GB, sparse: costs no disk
        var top = Path.Combine(dir, "top.yaml");
        File.WriteAllText(top, $"base:\n  iterations: 1\ninclude: {target}\n");

        var e = await Assert.ThrowsAsync<SpineProdException>(() => Off(() => new SpineConfigLoader().LoadFile(top)));

        Assert.Equal(("SPN2050", top, 3), (e.Code, e.File, e.Line));
        Assert.Contains(reason, e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_source_list_that_is_a_FIFO_or_a_device_is_refused_without_reading_it()
    {
        var dir = Repo.Scratch("odd-list");
        foreach (var list in new[] { Fifo(dir, "list.txt"), "/dev/zero" })
        {
            var store = new InputStore();
            var e = await Assert.ThrowsAsync<SpineProd.IO.FileRefusedException>(() => Off(() => store.ReadList(list, dir, store.FileId(list))));
            Assert.Contains("not a regular file", e.Reason);
        }
    }

    [Fact]
    public void A_byte_order_mark_starting_a_line_of_a_list_is_dropped_and_one_inside_a_path_is_an_error_at_its_line()
    {
        var dir = Repo.Scratch("odd-bom");
        var joined = Path.Combine(dir, "joined.txt");
        // `cat a.txt b.txt > joined.txt`, both written by an editor that starts files with a BOM
        File.WriteAllText(joined, "\uFEFF/data/a.root\n\uFEFF/data/b.root\n  \uFEFF  /data/c.root\n", new UTF8Encoding(false));
        var store = new InputStore();

        Assert.Null(store.ReadList(joined, dir, store.FileId(joined)));
        Assert.Equal(["/data/a.root", "/data/b.root", "/data/c.root"], Enumerable.Range(0, store.Count).Select(i => store[i]));

        var inside = Path.Combine(dir, "inside.txt");
        File.WriteAllText(inside, "/data/a.root\n/data/x\uFEFFy.root\n", new UTF8Encoding(false));
        var other = new InputStore();
        Assert.Equal(("a byte-order mark (U+FEFF) is inside a path", 2), other.ReadList(inside, dir, other.FileId(inside)));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_completion_marker_that_is_a_FIFO_or_a_device_is_an_SPN_error_not_a_hang()
    {
        var dir = Repo.Scratch("odd-marker");
        foreach (var marker in new[] { Fifo(dir, "0.done"), "/dev/zero" })
        {
            var e = await Assert.ThrowsAsync<SpineProdException>(() => Off(() => ProductionState.CheckMarker(marker, ["/data/a.root"])));
            Assert.Equal(("SPN3041", marker), (e.Code, e.File));
        }
    }

    [Theory]
    [InlineData("scheduler: lsf", 6, 16)]
    [InlineData("container: docker", 6, 16)]
    public void A_bad_site_value_is_reported_at_the_value_itself(string field, int line, int column)
    {
        var profiles = Path.Combine(Repo.Scratch("odd-site-field"), "profiles.yaml");
        File.WriteAllText(profiles, $"profiles:\n  gpu: {{gpus: 1, cpus_per_task: 4, time: \"1:00:00\"}}\nsites:\n  mycluster:\n    image: x.sif\n    {field}\n");
        var e = Assert.Throws<SpineProdException>(() => ProfileCatalog.Load(profiles));
        Assert.Equal(("SPN1302", profiles, line, column), (e.Code, e.File, e.Line, e.Column));
    }

    [Fact(Timeout = 60_000)]
    public async Task Profiles_and_pipelines_nested_too_deep_are_refused_at_the_line_without_overflowing_the_stack()
    {
        var dir = Repo.Scratch("odd-nesting");
        // 201 levels is one too many (the config loader's limit); 200,000 would overflow a recursive reader
        foreach (var depth in new[] { 201, 200_000 })
        {
            var profiles = Path.Combine(dir, $"profiles-{depth}.yaml");
            File.WriteAllText(profiles, "profiles:\n  deep: " + new string('[', depth) + new string(']', depth) + "\n");
            var e = await Assert.ThrowsAsync<SpineProdException>(() => Off(() => ProfileCatalog.Load(profiles)));
            Assert.Equal(("SPN1302", profiles, 2), (e.Code, e.File, e.Line));
            Assert.Contains("nested deeper than 200", e.Message);

            var pipeline = Path.Combine(dir, $"pipeline-{depth}.yaml");
            File.WriteAllText(pipeline, "stages:\n  - name: a\n    files: " + new string('[', depth) + new string(']', depth) + "\n");
            e = await Assert.ThrowsAsync<SpineProdException>(() => Off(() => PipelineFile.Read(pipeline, dir)));
            Assert.Equal(("SPN4011", pipeline, 3), (e.Code, e.File, e.Line));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_profiles_file_a_pipeline_or_a_job_template_that_is_a_FIFO_is_refused()
    {
        var dir = Repo.Scratch("odd-profiles");
        var reads = new Func<string, object>[]
        {
            f => ProfileCatalog.Load(f),
            f => PipelineFile.Read(f, dir),
            f => new SpineProd.Rendering.JobScriptRenderer(f),
        };
        foreach (var (read, i) in reads.Select((r, i) => (r, i)))
        {
            var fifo = Fifo(dir, $"fifo{i}");
            var e = await Assert.ThrowsAsync<SpineProdException>(() => Off(() => read(fifo)));
            Assert.Equal("SPN1045", e.Code);
            Assert.Contains("a FIFO", e.Message);
        }
    }

    // ---- as the user meets it: `dotnet build`, with a timeout so that a hang fails

    [Fact] // DotnetBuild.Run's own timeout fails a hang
    public void Dotnet_build_with_a_FIFO_as_an_include_and_as_a_SourceList_fails_at_once_at_the_line()
    {
        var p = new ScratchProduction("odd-build");
        p.Inputs(2);
        Fifo(p.Dir, "piped.yaml");
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), "include: piped.yaml\nbase:\n  iterations: -1\n");
        p.Write("<Scheduler>local</Scheduler>", "<Source Include=\"inputs/*.root\" />");

        var include = DotnetBuild.Run(p.ProjectFile, "Build", timeout: TimeSpan.FromMinutes(5));

        Assert.NotEqual(-1, include.ExitCode);   // -1: timed out, i.e. hung
        Assert.False(include.Succeeded);
        Assert.Contains($"spine.yaml(1,", include.Output);
        Assert.Contains("error SPN2050", include.Output);
        Assert.DoesNotContain("MSB4018", include.Output);

        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), "base:\n  iterations: -1\n");
        Fifo(p.Dir, "inputs.txt");
        p.Write("<Scheduler>local</Scheduler>", "<SourceList Include=\"inputs.txt\" />");

        var list = DotnetBuild.Run(p.ProjectFile, "Build", timeout: TimeSpan.FromMinutes(5));

        Assert.NotEqual(-1, list.ExitCode);
        Assert.False(list.Succeeded);
        Assert.Contains("test.spineproj(", list.Output);
        Assert.Contains("error SPN1045", list.Output);
        Assert.DoesNotContain("MSB4018", list.Output);
    }

    [Fact] // DotnetBuild.Run's own timeout fails a hang
    public void Dotnet_build_of_lists_joined_with_cat_plans_clean_paths()
    {
        var p = new ScratchProduction("odd-cat");
        var inputs = p.Inputs(2);
        File.WriteAllText(Path.Combine(p.Dir, "a.txt"), inputs[0] + "\n", new UTF8Encoding(true));
        File.WriteAllText(Path.Combine(p.Dir, "b.txt"), inputs[1] + "\n", new UTF8Encoding(true));
        using (var cat = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "cat a.txt b.txt > joined.txt"]) { WorkingDirectory = p.Dir })!)
            cat.WaitForExit();
        p.Write("<Scheduler>local</Scheduler>", "<SourceList Include=\"joined.txt\" />");

        var build = DotnetBuild.Run(p.ProjectFile, "Build", timeout: TimeSpan.FromMinutes(5));

        Assert.True(build.Succeeded, build.Output);
        var chunks = Directory.GetFiles(p.StageDir, "*.txt", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains(".root")).SelectMany(File.ReadAllLines).SelectMany(l => l.Split(',')).ToList();
        Assert.Equal(inputs, chunks.Order());
        Assert.DoesNotContain(chunks, c => c.Contains('\uFEFF'));
    }
}
