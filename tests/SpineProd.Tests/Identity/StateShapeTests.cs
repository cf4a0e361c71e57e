using SpineProd.Diagnostics;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Scheduler.Local;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Identity;

/// <summary>State files that are valid JSON of the wrong shape: SPN3005 naming the file, never a stack trace.</summary>
public sealed class StateShapeTests
{
    [Theory]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("""{ "Submissions": null }""")]
    [InlineData("""{ "Submissions": [ null ] }""")]
    [InlineData("""{ "Submissions": [ { "Id": "1", "Stages": null } ] }""")]
    [InlineData("""{ "Submissions": [ { "Id": "1", "Stages": [ { "Stage": "s", "Arrays": [ null ] } ] } ] }""")]
    [InlineData("""{ "Submissions": [ { "Id": "1", "Stages": [ { "Stage": "s", "Arrays": [ { "JobId": 5 } ] } ] } ] }""")]
    [InlineData("""{ "Submissions": [ { "Id": "1", "Stages": [ { "Stage": "s", "Arrays": [ { "Argv": [ null ] } ] } ] } ] }""")]
    [InlineData("""{ "Submissions": [ { "Id": "1", "Time": "yesterday" } ] }""")]
    [InlineData("""{ "Submissions": [ { "Id": "1", "Cleanups": [ null ] } ] }""")]
    [InlineData("""{ "Production": 3 }""")]
    public void A_ledger_of_the_wrong_shape_is_SPN3005_naming_it(string json)
    {
        var dir = Repo.Scratch("ledgershape");
        File.WriteAllText(Ledger.PathIn(dir), json);

        var e = Assert.Throws<SpineProdException>(() => Ledger.Load(dir, "x"));

        Assert.Equal(("SPN3005", Ledger.PathIn(dir)), (e.Code, e.File));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("""{ "Jobs": null }""")]
    [InlineData("""{ "Jobs": [ null ] }""")]
    [InlineData("""{ "Jobs": [ { "Id": "1", "Tasks": null } ] }""")]
    [InlineData("""{ "Jobs": [ { "Id": "1", "Tasks": [ { "Index": "zero" } ] } ] }""")]
    public void A_local_scheduler_state_of_the_wrong_shape_is_SPN3005_naming_it(string json)
    {
        var dir = Repo.Scratch("localshape");
        var local = new LocalScheduler(dir);
        File.WriteAllText(local.StateFile, json);

        var e = Assert.Throws<SpineProdException>(() => local.Query(["1"]));

        Assert.Equal(("SPN3005", local.StateFile), (e.Code, e.File));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("""{ "Stages": null }""")]
    [InlineData("""{ "Stages": [ { "Name": "s", "Arrays": [ null ] } ] }""")]
    public void A_plan_of_the_wrong_shape_is_not_a_plan(string json) =>
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => ProductionPlan.FromJson(json));

    [Theory]
    [InlineData("""{ "production_file": 5 }""")]
    [InlineData("""[ "production_file" ]""")]
    [InlineData("""{ "production_file": null }""")]
    [InlineData("not json")]
    public void Job_metadata_of_the_wrong_shape_names_no_production(string json)
    {
        var dir = Repo.Scratch("metashape");
        File.WriteAllText(Path.Combine(dir, JobMetadata.FileName), json);
        Assert.Null(JobMetadata.ReadProductionFile(dir));
    }
}

/// <summary>Through the build, as the user meets it: one SPN line at the file, no MSB4018.</summary>
[Collection("msbuild")]
public sealed class StateShapeBuildTests
{
    [Theory]
    [InlineData("submissions.json", """{ "Format": 1, "Production": "test", "Submissions": null }""")]
    [InlineData("local-scheduler.json", """{ "NextId": 2, "Jobs": [ { "Id": "1", "Tasks": null } ] }""")]
    public void Status_over_a_state_file_of_the_wrong_shape_is_SPN3005_at_that_file(string file, string json)
    {
        var p = new ScratchProduction("shape-" + file[..5]);
        p.List("inputs.txt", p.Inputs(2));
        p.Write("<Scheduler>local</Scheduler>", "<SourceList Include=\"inputs.txt\" />");
        Directory.CreateDirectory(p.StateDir);
        if (file == "local-scheduler.json")
            File.WriteAllText(Path.Combine(p.StateDir, Ledger.FileName), $$"""
                { "Production": "test", "Identity": "{{p.StateDirName}}", "ProductionFile": "{{p.ProjectFile}}", "Submissions": [ { "Id": "1", "Scheduler": "local",
                  "Stages": [ { "Stage": "test", "Arrays": [ { "Array": 0, "JobName": "j", "State": "submitted", "JobId": "1", "ArraySpec": "0", "Tasks": "0",
                  "Comment": "spineprod:{{p.StateDirName}}:test:0:1" } ] } ] } ] }
                """);
        File.WriteAllText(Path.Combine(p.StateDir, file), json);

        var outcome = p.Build("Status");

        var error = Assert.Single(outcome.Errors);
        Assert.Equal(("SPN3005", Path.Combine(p.StateDir, file)), (error.Code, error.File));
    }
}
