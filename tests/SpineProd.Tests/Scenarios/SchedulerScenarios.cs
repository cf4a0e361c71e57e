using SpineProd.Tests.Cluster;
using Xunit;

namespace SpineProd.Tests.Scenarios;

/// <summary>The scenarios on the real SLURM test cluster (run under flock /tmp/spineprod-cluster-tests.lock).</summary>
[Collection("cluster")]
public sealed class SlurmScenarios(ClusterFixture cluster) : ProductionScenarios
{
    protected override SchedulerUnderTest Under { get; } = new SlurmUnderTest();

    [Fact] public void Slurm_submit_status_and_resubmission_of_failed_and_missing_tasks() { cluster.Require(); Submit_then_status_then_resubmission_of_the_failed_and_the_missing_tasks(); }
    [Fact] public void Slurm_cancel_in_the_middle_of_a_run() { cluster.Require(); Cancel_in_the_middle_of_a_run_cancels_running_and_queued_tasks(); }
    [Fact] public void Slurm_pipeline_with_cleanup() { cluster.Require(); A_pipeline_with_cleanup_waits_for_a_failed_task_then_finishes_and_removes_the_intermediate_files(); }
    [Fact] public void Slurm_server_down_before_a_submit() { cluster.Require(); With_the_server_down_Submit_fails_at_once_with_one_error_and_submits_everything_once_when_it_is_back(); }
    [Fact] public void Slurm_server_down_during_a_submit() { cluster.Require(); The_server_lost_between_two_arrays_then_back_each_array_is_submitted_exactly_once(); }
    [Fact] public void Slurm_lost_reply() { cluster.Require(); A_submission_whose_reply_is_lost_is_found_on_the_server_and_not_sent_again(); }
    [Fact] public void Slurm_unanswered_submit_that_cannot_be_checked() { cluster.Require(); An_unanswered_submission_that_cannot_be_checked_is_looked_up_by_the_next_Submit_and_never_sent_twice(); }
    [Fact] public void Slurm_max_array_size_from_the_cluster() { cluster.Require(); Build_takes_MaxArraySize_from_the_scheduler_when_the_production_sets_none(); }
    [Fact] public void Slurm_cancel_of_tasks_waiting_on_a_users_dependency() { cluster.Require(); Cancel_cancels_tasks_waiting_on_a_users_dependency(); }
    [Fact] public void Slurm_cleanup_refuses_a_folder_it_did_not_create() { cluster.Require(); A_cleanup_job_never_removes_a_folder_its_production_did_not_create(); }

    [Fact]
    public void Slurm_out_of_memory_then_again_alone_with_more()
    {
        cluster.Require();
        if (!Under.EnforcesMemory) return;   // SPINEPROD_CLUSTER_CGROUP=0: the cluster enforces no memory
        A_task_over_its_memory_shows_as_out_of_memory_and_goes_again_alone_with_a_larger_limit();
    }
}

/// <summary>
/// The scenarios with -p:Scheduler=local. The tasks run during Submit on this machine, so there is
/// no server to lose (the fault scenarios do not apply) and nothing is left running to cancel: a
/// Cancel after a local run says so. A Submit interrupted mid-run is LocalSchedulerKillTests.
/// </summary>
public sealed class LocalScenarios : ProductionScenarios
{
    protected override SchedulerUnderTest Under { get; } = new LocalUnderTest();

    [Fact] public void Local_submit_status_and_resubmission_of_failed_and_missing_tasks() => Submit_then_status_then_resubmission_of_the_failed_and_the_missing_tasks();
    [Fact] public void Local_pipeline_with_cleanup() => A_pipeline_with_cleanup_waits_for_a_failed_task_then_finishes_and_removes_the_intermediate_files();
    [Fact] public void Local_max_array_size_never_asks_a_cluster() => Build_takes_MaxArraySize_from_the_scheduler_when_the_production_sets_none();
    [Fact] public void Local_cleanup_refuses_a_folder_it_did_not_create() => A_cleanup_job_never_removes_a_folder_its_production_did_not_create();

    [Fact]
    public void Local_cancel_after_a_run_has_nothing_to_cancel()
    {
        var s = new ScenarioProduction(Under, "cancel");
        s.Inputs("run_0000.root", "run_0001.root");
        s.Write("", "<Source Include=\"inputs/*.root\" />");
        s.Run("Submit");
        Assert.True((bool)s.Status()["complete"]!);
        Assert.Contains("nothing to cancel", s.Run("Cancel").Output);
    }
}
