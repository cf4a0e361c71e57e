using System.Net;
using SpineProd.Planning;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.V08;

/// <summary>
/// What a spine-prod v0.8 user has, as a production (built and submitted to the local scheduler, the
/// SPINE test double recording the arguments it got): --set, SPINE's output options, config-owned
/// inputs, one task here and now, and !download preloaded on the submit host.
/// </summary>
[Collection("msbuild")]
public sealed class SpineProdV08Tests
{
    private static readonly string TestDouble = Repo.Path_("tests", "doubles", "spine-test-double.sh");

    private static ScratchProduction Production(string name, string properties, int inputs = 3, string? items = null)
    {
        var p = new ScratchProduction("v08-" + name);
        if (inputs > 0) p.Inputs(inputs);
        p.Write($"<Scheduler>local</Scheduler><SpineCommand>{TestDouble}</SpineCommand>{properties}", items ?? (inputs > 0 ? "<Source Include=\"inputs/*.root\" />" : ""));
        return p;
    }

    private static string OutputOf(ScratchProduction p, string relative) => File.ReadAllText(Path.Combine(p.StateDir, "output", relative));

    [Fact]
    public void SpineSet_reaches_SPINE_and_the_recorded_config_and_an_unknown_key_is_a_warning_at_its_line()
    {
        var p = Production("set", "<SpineSet>io.loader.batch_size=4;base.iterations=10;io.loader.shufle=false</SpineSet>");

        var outcome = p.Build("Submit");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var w = Assert.Single(outcome.Warnings, w => w.Code == "SPN2071");
        Assert.Contains("io.loader.shufle", w.Message);
        Assert.Equal((p.ProjectFile, 8), (w.File, w.LineNumber));
        var resolved = File.ReadAllText(Path.Combine(p.StageDir, "config", "resolved.yaml"));
        Assert.Contains("batch_size: 4", resolved);
        Assert.Contains("iterations: 10", resolved);
        var output = OutputOf(p, "run_0000_spine_generic_spine.h5");
        Assert.Contains("set=io.loader.batch_size=4\nset=base.iterations=10\nset=io.loader.shufle=false", output);
        Assert.Contains("--set io.loader.batch_size=4 --set base.iterations=10", output);
        var metadata = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(p.Dir, "jobs"), "job_metadata.json", SearchOption.AllDirectories).Single()))!;
        Assert.Equal(3, metadata["set_overrides"]!.AsArray().Count);
    }

    [Theory]
    [InlineData("io.loader.batch_size", "Expected KEY=VALUE")]
    [InlineData("base.log_dir=a'b", "Whitespace and quotes")]
    public void A_SpineSet_entry_spine_prod_refuses_is_SPN2070_and_nothing_runs(string entry, string words)
    {
        var p = Production("set-bad", $"<SpineSet>{entry}</SpineSet>");
        using var tripwire = Tripwire.Install(p.Dir);

        var outcome = p.Build("Submit");

        var e = Assert.Single(outcome.Errors);
        Assert.Equal(("SPN2070", p.ProjectFile, 8), (e.Code, e.File, e.LineNumber));
        Assert.Contains(words, e.Message);
        Assert.False(Directory.Exists(p.StateDir) && Directory.EnumerateFiles(p.StateDir, "*", SearchOption.AllDirectories).Any(f => f.EndsWith(".h5")));
    }

    [Fact]
    public void The_task_layout_gives_each_task_its_folder_with_output_logs_and_inputs_as_spine_prod_v08()
    {
        var p = Production("task-layout", "<OutputLayout>task</OutputLayout><FilesPerTask>2</FilesPerTask>");

        var outcome = p.Build("Submit");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var task1 = Path.Combine(p.StateDir, "output", "task_1");
        var output = File.ReadAllText(Path.Combine(task1, "output", "run_0002_spine.h5"));   // suffix: the config's stem
        Assert.Contains($"--output-dir {task1}/output --output-suffix spine --log-dir {task1}/logs", output);
        Assert.True(File.Exists(Path.Combine(task1, "logs", "spine-test-double.log")));
        Assert.Equal([Path.Combine(p.Dir, "inputs", "run_0002.root")], File.ReadAllLines(Path.Combine(task1, "inputs.txt")));
        Assert.True(File.Exists(Path.Combine(p.StateDir, "output", "task_0", "output", "run_0001_spine.h5")));
        Assert.Contains("All tasks complete", string.Join("\n", p.Build("Status").Messages));
    }

    [Fact]
    public void The_folder_layout_passes_output_dir_and_suffix_and_a_downstream_stage_reads_the_planned_names()
    {
        var p = new ScratchProduction("v08-folder");
        p.Inputs(2);
        p.Write($"<Scheduler>local</Scheduler><SpineCommand>{TestDouble}</SpineCommand><OutputLayout>folder</OutputLayout>", """
            <Stage Include="reco" OutputDir="reco" OutputSuffix="reco" />
            <Stage Include="ana" InputsFrom="reco" OutputDir="ana" />
            <Source Include="inputs/*.root" Stage="reco" />
            """);

        var outcome = p.Build("Submit");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var reco = File.ReadAllText(Path.Combine(p.StateDir, "reco", "run_0001_reco.h5"));
        Assert.Contains($"--output-dir {p.StateDir}/reco --output-suffix reco --log-dir ", reco);
        Assert.Contains($"input={p.StateDir}/reco/run_0001_reco.h5", File.ReadAllText(Path.Combine(p.StateDir, "ana", "run_0001_reco_spine.h5")));
    }

    [Fact]
    public void A_pipeline_stage_takes_set_and_output_options_and_a_bad_entry_is_at_its_YAML_line()
    {
        var p = new ScratchProduction("v08-pipeline");
        p.Inputs(2);
        var rel = p.RepoRelativeDir;
        p.Write($"<Scheduler>local</Scheduler><SpineCommand>{TestDouble}</SpineCommand>", "");
        var yaml = p.Pipeline($"""
            stages:
              - name: reco
                config: {rel}/spine.yaml
                files: [{rel}/inputs/*.root]
                set: [io.loader.batch_size=2, base.iterations=5]
                output_layout: folder
                output_suffix: reco
            """);

        var outcome = p.BuildWithPipeline(yaml);

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var stage = Assert.Single(ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json")).Stages);
        Assert.Equal(["io.loader.batch_size=2", "base.iterations=5"], stage.SpineSet);
        Assert.Equal(("folder", "reco"), (stage.OutputLayout, stage.OutputSuffix));

        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("base.iterations=5", "base.iterations"));
        var e = Assert.Single(p.BuildWithPipeline(yaml).Errors);
        Assert.Equal(("SPN2070", yaml, 5), (e.Code, e.File, e.LineNumber));
    }

    [Theory]
    [InlineData("<OutputLayout>tasks</OutputLayout>", "SPN1150")]
    [InlineData("<OutputLayout>task</OutputLayout><OutputFile>x.h5</OutputFile>", "SPN1152")]
    [InlineData("<OutputSuffix>reco</OutputSuffix>", "SPN1152")]
    [InlineData("<OutputLayout>folder</OutputLayout><OutputSuffix>a/b</OutputSuffix>", "SPN1151")]
    [InlineData("<Preload>maybe</Preload>", "SPN2081")]
    public void Output_option_mistakes_are_errors_at_their_line(string properties, string code)
    {
        var p = Production("outopt-" + code, properties);
        var outcome = p.Build("Build");
        var e = Assert.Single(outcome.Errors);
        Assert.Equal((code, p.ProjectFile), (e.Code, e.File));
        Assert.True(code == "SPN2081" ? e.LineNumber == 0 || e.LineNumber >= 8 : e.LineNumber >= 8, e.Message);
    }

    [Fact]
    public void A_production_without_sources_runs_the_inputs_its_config_names_as_one_task()
    {
        var p = Production("config-inputs", "", inputs: 0);
        var inputs = p.Inputs(2);
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"),
            $"base:\n  iterations: -1\nio:\n  loader:\n    dataset:\n      file_keys: [{inputs[0]}, {inputs[1]}]\n  writer:\n    file_name: {p.Dir}/out/reco.h5\n");
        Directory.CreateDirectory(Path.Combine(p.Dir, "out"));

        var outcome = p.Build("Submit");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var plan = ProductionPlan.Load(Path.Combine(p.PlanDir, "plan.json"));
        Assert.Equal((1, true), (plan.Stages[0].TaskCount, plan.Stages[0].InputsFromConfig));
        var written = File.ReadAllText(Path.Combine(p.Dir, "out", "run_0001_reco.h5"));
        Assert.DoesNotContain(" -S ", written);
        Assert.DoesNotContain(" -o ", written);
        Assert.Contains("All tasks complete", string.Join("\n", p.Build("Status").Messages));
    }

    [Theory]
    [InlineData("<FilesPerTask>2</FilesPerTask>", "SPN1153")]
    [InlineData("<Ntasks>2</Ntasks>", "SPN1153")]
    [InlineData("<OutputFile>x.h5</OutputFile>", "SPN1154")]
    public void Cutting_or_naming_outputs_of_config_owned_inputs_is_refused_as_spine_prod_refuses_it(string properties, string code)
    {
        var p = Production("config-refusal-" + code, properties, inputs: 0);
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), "io:\n  loader:\n    dataset:\n      file_keys: [/data/a.root]\n");
        var e = Assert.Single(p.Build("Build").Errors);
        Assert.Equal((code, p.ProjectFile, 8), (e.Code, e.File, e.LineNumber));
        Assert.Contains("without --source/--source-list", e.Message);
    }

    [Fact]
    public void A_source_glob_that_matches_nothing_never_falls_back_to_the_config_inputs()
    {
        var p = Production("config-glob", "", inputs: 0, items: "<Source Include=\"nothing/*.root\" />");
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), "io:\n  loader:\n    dataset:\n      file_keys: [/data/a.root]\n");
        Assert.Contains(p.Build("Build").Errors, e => e.Code == "SPN1010");
    }

    [Fact]
    public void RunTask_runs_one_task_here_in_its_own_folder_and_leaves_the_production_untouched()
    {
        var p = Production("runtask", "<OutputLayout>task</OutputLayout>");

        var outcome = p.Build("RunTask", new Dictionary<string, string> { ["TaskId"] = "2" });

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var messages = string.Join("\n", outcome.Messages);
        Assert.Contains("spine-test-double: wrote 1 output(s)", messages);   // SPINE's output, streamed
        var run = Assert.Single(Directory.GetDirectories(Path.Combine(p.Dir, "jobs"), "*_interactive_spine_generic_spine_task2"));
        Assert.Contains($"input={p.Dir}/inputs/run_0002.root", File.ReadAllText(Path.Combine(run, "output", "task_2", "output", "run_0002_spine.h5")));
        Assert.False(Directory.Exists(Path.Combine(p.StateDir, "markers")));
        Assert.False(File.Exists(Path.Combine(p.StateDir, "submissions.json")));
        Assert.Contains("finished (exit status 0)", messages);
    }

    [Theory]
    [InlineData("3", "SPN1155", "tasks 0-2")]
    [InlineData("-1", "SPN1155", "tasks 0-2")]
    [InlineData("", "SPN1155", "-p:TaskId=N")]
    public void RunTask_refuses_a_task_outside_the_plan_with_the_valid_range(string id, string code, string words)
    {
        var p = Production("runtask-range", "");
        var e = Assert.Single(p.Build("RunTask", new Dictionary<string, string> { ["TaskId"] = id }).Errors);
        Assert.Equal(code, e.Code);
        Assert.Contains(words, e.Message);
    }

    [Fact]
    public void RunTask_returns_SPINE_s_exit_status()
    {
        var p = new ScratchProduction("v08-runtask-fail");
        File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(p.Dir, "inputs")).FullName, "run_FAIL.root"), "");
        p.Write($"<Scheduler>local</Scheduler><SpineCommand>{TestDouble}</SpineCommand>", "<Source Include=\"inputs/*.root\" />");

        var outcome = p.Build("RunTask", new Dictionary<string, string> { ["TaskId"] = "0" });

        var e = Assert.Single(outcome.Errors);
        Assert.Equal("SPN1157", e.Code);
        Assert.Contains("SPINE exited with status 1", e.Message);
        Assert.Contains("failing on purpose", string.Join("\n", outcome.Messages));
    }

    [Fact]
    public void Submit_preloads_downloads_into_a_verified_cache_once_and_the_job_finds_them_there()
    {
        var weights = System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000);
        using var server = new FileServer(weights);
        var url = server.Url("w.ckpt");
        var p = Production("preload", "<DownloadCacheDir>cache</DownloadCacheDir>");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(weights));
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), $"io:\n  loader:\n    batch_size: 1\nmodel:\n  weight_path: !download {{url: \"{url}\", hash: {sha}}}\n");

        var first = p.Build("Submit");

        Assert.True(first.Succeeded, first.ErrorText);
        var cached = Path.Combine(p.Dir, "cache", SpineProd.Downloads.ConfigDownloads.CachedName(url));
        Assert.Equal(weights, File.ReadAllBytes(cached));
        Assert.Equal(1, server.Requests);
        Assert.Contains($"cache={p.Dir}/cache", OutputOf(p, "run_0000_spine_generic_spine.h5"));

        // Incremental: a second Submit (and RunTask) neither fetches nor re-reads a verified file.
        File.SetLastAccessTimeUtc(cached, DateTime.UtcNow.AddDays(-1));
        Assert.True(p.Build("Submit").Succeeded);
        Assert.True(p.Build("RunTask", new Dictionary<string, string> { ["TaskId"] = "0" }).Succeeded);
        Assert.Equal(1, server.Requests);

        // A corrupted cache file is fetched again and verified.
        File.WriteAllBytes(cached, [1, 2, 3]);
        Assert.True(p.Build("RunTask", new Dictionary<string, string> { ["TaskId"] = "1" }).Succeeded);
        Assert.Equal(2, server.Requests);
        Assert.Equal(weights, File.ReadAllBytes(cached));
    }

    [Fact]
    public void Run_preloads_before_it_submits_as_Submit_does()
    {
        var weights = System.Security.Cryptography.RandomNumberGenerator.GetBytes(10_000);
        using var server = new FileServer(weights);
        var p = Production("preload-run", "<DownloadCacheDir>cache</DownloadCacheDir>");
        File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"), $"io:\n  loader:\n    batch_size: 1\nmodel:\n  weight_path: !download {server.Url("w.ckpt")}\n");

        var outcome = p.Build("Run");

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        Assert.Equal(1, server.Requests);
        Assert.Contains($"cache={p.Dir}/cache", OutputOf(p, "run_0002_spine_generic_spine.h5"));
    }

    [Fact]
    public void A_wrong_checksum_or_an_unreachable_URL_is_an_SPN_error_before_anything_is_submitted()
    {
        using var server = new FileServer([1, 2, 3]);
        var p = Production("preload-bad", "<DownloadCacheDir>cache</DownloadCacheDir>");
        void Config(string url, string hash) => File.WriteAllText(Path.Combine(p.Dir, "spine.yaml"),
            $"io:\n  loader:\n    batch_size: 1\nmodel:\n  weight_path: !download {{url: \"{url}\", hash: \"{hash}\"}}\n");

        Config(server.Url("w.ckpt"), new string('0', 64));
        var wrong = Assert.Single(p.Build("Submit").Errors);
        Assert.Equal("SPN2083", wrong.Code);
        Assert.Contains("has sha256 039058c6", wrong.Message);
        Assert.False(File.Exists(Path.Combine(p.StateDir, "submissions.json")));
        Assert.Empty(Directory.Exists(Path.Combine(p.Dir, "cache")) ? Directory.GetFiles(Path.Combine(p.Dir, "cache")) : []);

        Config(server.Url("missing.ckpt"), new string('0', 64));
        Assert.Equal("SPN2082", Assert.Single(p.Build("Submit").Errors).Code);
        Config("http://127.0.0.1:1/w.ckpt", new string('0', 64));
        Assert.Equal("SPN2082", Assert.Single(p.Build("Submit").Errors).Code);
        Assert.False(File.Exists(Path.Combine(p.StateDir, "submissions.json")));

        // Build and Preview never fetch.
        Config(server.Url("w.ckpt"), new string('0', 64));
        Assert.True(p.Build("Preview").Succeeded);
    }

    /// <summary>An HTTP server on 127.0.0.1 serving one file (any path ending in w.ckpt), counting requests.</summary>
    internal sealed class FileServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly byte[] _content;
        private int _requests;
        public int Port { get; }
        public int Requests => Volatile.Read(ref _requests);

        public FileServer(byte[] content)
        {
            _content = content;
            for (int attempt = 0; ; attempt++)
            {
                Port = Random.Shared.Next(20000, 60000);
                _listener.Prefixes.Clear();
                _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
                try { _listener.Start(); break; }
                catch (HttpListenerException) when (attempt < 20) { }
            }
            _ = Task.Run(Serve);
        }

        public string Url(string name) => $"http://127.0.0.1:{Port}/weights/{name}";

        private async Task Serve()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                Interlocked.Increment(ref _requests);
                if (ctx.Request.Url!.AbsolutePath.EndsWith("/w.ckpt", StringComparison.Ordinal))
                {
                    ctx.Response.ContentLength64 = _content.Length;
                    await ctx.Response.OutputStream.WriteAsync(_content);
                }
                else ctx.Response.StatusCode = 404;
                ctx.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
        }
    }
}
