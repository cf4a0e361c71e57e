using SpineProd.Layout;
using SpineProd.Planning;
using SpineProd.Scheduler;
using SpineProd.Submission;
using SpineProd.Tests.Cluster;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Status;

/// <summary>
/// The verified-marker index: a Status opens only markers that are new or changed since a Status
/// verified them, and never trusts an entry whose marker file or task inputs changed.
/// </summary>
public sealed class MarkerIndexTests
{
    /// <summary>A minute after now: every marker just written is outside the racy window.</summary>
    private static DateTimeOffset Later => DateTimeOffset.UtcNow.AddMinutes(1);

    private static (ProductionPlan Plan, string Dir, StagePlan Stage) Production(string name, int tasks = 10)
    {
        var (plan, dir) = HandPlan.Create(Repo.Scratch(name), ("reco", tasks * 2, []));
        var stage = plan.Stages[0];
        for (int t = 0; t < stage.TaskCount; t++) FakeScheduler.WriteMarker(plan, "reco", t, HandPlan.TaskInputs(dir, stage, t));
        return (plan, dir, stage);
    }

    private static MarkerVerdicts Check(ProductionPlan plan, string dir, StagePlan stage, DateTimeOffset now) =>
        CompletionMarkers.Check(ProductionLayout.Of(plan), stage, ChunkLists.Open(dir, stage), now);

    [Fact]
    public void A_second_status_trusts_unchanged_markers_without_opening_them()
    {
        var (plan, dir, stage) = Production("midx-trust");

        var first = Check(plan, dir, stage, Later);
        var second = Check(plan, dir, stage, Later);

        Assert.Equal(10, first.Found);
        Assert.Equal(0, first.FromIndex);
        Assert.True(File.Exists(ProductionLayout.Of(plan).MarkerIndex("reco")));
        Assert.Equal(10, second.FromIndex);
        Assert.All(Enumerable.Range(0, 10), t => Assert.True(second.IsValid(t)));
    }

    [Fact]
    public void A_marker_rewritten_with_other_inputs_of_the_same_size_is_read_again_and_does_not_count()
    {
        var (plan, dir, stage) = Production("midx-rewrite");
        Check(plan, dir, stage, Later);
        var marker = ProductionLayout.Of(plan).Marker("reco", 3);
        var text = File.ReadAllText(marker);
        File.WriteAllText(marker, text.Replace("reco_006", "reco_999"));   // same length, other inputs, same inode

        var again = Check(plan, dir, stage, Later);

        Assert.False(again.IsValid(3));
        Assert.Contains("other inputs", again.Problem(3));
        Assert.Equal(9, again.FromIndex);
    }

    [Fact]
    public void A_marker_replaced_by_another_file_is_read_again()
    {
        var (plan, dir, stage) = Production("midx-replace");
        Check(plan, dir, stage, Later);
        var marker = ProductionLayout.Of(plan).Marker("reco", 4);
        File.WriteAllText(marker + ".tmp", "/somewhere/else.root\n");
        File.Move(marker + ".tmp", marker, overwrite: true);

        var again = Check(plan, dir, stage, Later);

        Assert.False(again.IsValid(4));
        Assert.Equal(9, again.FromIndex);
    }

    [Fact]
    public void When_the_sources_change_an_unchanged_marker_no_longer_counts()
    {
        var (plan, dir, stage) = Production("midx-sources");
        Check(plan, dir, stage, Later);
        // task 0's line of the chunk list now names other inputs (a re-plan after the sources changed)
        var list = Path.Combine(dir, "reco", stage.Arrays[0].ChunkFile);
        var lines = File.ReadAllLines(list);
        lines[0] = "/new/a.root,/new/b.root";
        File.WriteAllLines(list, lines);

        var again = Check(plan, dir, stage, Later);

        Assert.False(again.IsValid(0));
        Assert.Contains("other inputs", again.Problem(0));
        Assert.True(again.IsValid(1));
        // the other tasks' lines hash as they did: still trusted without opening their markers
        Assert.Equal(9, again.FromIndex);
    }

    [Fact]
    public void A_marker_written_just_now_is_verified_but_not_recorded()
    {
        var (plan, dir, stage) = Production("midx-racy");

        Check(plan, dir, stage, DateTimeOffset.UtcNow);
        var again = Check(plan, dir, stage, Later);

        Assert.Equal(0, again.FromIndex);
        Assert.All(Enumerable.Range(0, 10), t => Assert.True(again.IsValid(t)));
    }

    [Fact]
    public void A_damaged_index_is_ignored_and_rebuilt()
    {
        var (plan, dir, stage) = Production("midx-damaged");
        Check(plan, dir, stage, Later);
        var index = ProductionLayout.Of(plan).MarkerIndex("reco");
        var bytes = File.ReadAllBytes(index);
        File.WriteAllBytes(index, bytes[..(bytes.Length / 2)]);

        var again = Check(plan, dir, stage, Later);
        var third = Check(plan, dir, stage, Later);

        Assert.Equal(0, again.FromIndex);
        Assert.All(Enumerable.Range(0, 10), t => Assert.True(again.IsValid(t)));
        Assert.Equal(10, third.FromIndex);
    }

    [Fact]
    public void A_deleted_marker_is_forgotten_and_a_new_one_in_its_place_is_read()
    {
        var (plan, dir, stage) = Production("midx-deleted");
        Check(plan, dir, stage, Later);
        var marker = ProductionLayout.Of(plan).Marker("reco", 2);
        File.Delete(marker);

        var gone = Check(plan, dir, stage, Later);
        FakeScheduler.WriteMarker(plan, "reco", 2, ["/not/its/input.root"]);
        var back = Check(plan, dir, stage, Later);

        Assert.False(gone.IsValid(2));
        Assert.Null(gone.Problem(2));
        Assert.False(back.IsValid(2));
        Assert.Equal(9, back.FromIndex);
    }

    [Theory]
    [InlineData("17.done", 17)]
    [InlineData("0.done", 0)]
    [InlineData("017.done", -1)]
    [InlineData("17.done.tmp", -1)]
    [InlineData("-1.done", -1)]
    [InlineData(".done", -1)]
    public void Only_a_task_number_as_Status_writes_it_names_a_marker(string name, int task) =>
        Assert.Equal(task, CompletionMarkers.TaskNumber(name));

    [Fact]
    public void Status_through_ProductionState_uses_the_index_and_stays_correct()
    {
        var (plan, dir, stage) = Production("midx-state", tasks: 12);
        var s = new FakeScheduler();
        var clock = new FixedClock(Later);

        var first = ProductionState.Resolve(plan, dir, new Ledger(), _ => s, clock);
        var second = ProductionState.Resolve(plan, dir, new Ledger(), _ => s, clock);

        Assert.All(second.Stages["reco"], t => Assert.Equal(TaskState.Completed, t.Status));
        Assert.Equal(12, second.Markers["reco"].FromIndex);
        Assert.Equal(HandPlan.TaskInputs(dir, stage, 7), second.Stages["reco"][7].Inputs);
        Assert.Equal(0, first.Markers["reco"].FromIndex);
    }

    private sealed class FixedClock(DateTimeOffset now) : IClock
    {
        public DateTimeOffset UtcNow => now;
        public void Sleep(TimeSpan duration) { }
        public double NextDouble() => 0.5;
    }
}
