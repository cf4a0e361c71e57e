using SpineProd.Tests.Pbs;
using Xunit;

namespace SpineProd.Tests.Scenarios;

/// <summary>The scenarios on the real OpenPBS test server (run under flock /tmp/spineprod-pbs-tests.lock).</summary>
[Collection("pbs")]
public sealed class PbsScenarios(PbsServerFixture server) : ProductionScenarios
{
    private readonly PbsServerFixture _server = server;
    protected override SchedulerUnderTest Under { get; } = new PbsUnderTest();

    [Fact] public void Pbs_submit_status_and_resubmission_of_failed_and_missing_tasks() { _server.Require(); Submit_then_status_then_resubmission_of_the_failed_and_the_missing_tasks(); }
    [Fact] public void Pbs_cancel_in_the_middle_of_a_run() { _server.Require(); Cancel_in_the_middle_of_a_run_cancels_running_and_queued_tasks(); }
    [Fact] public void Pbs_pipeline_with_cleanup() { _server.Require(); A_pipeline_with_cleanup_waits_for_a_failed_task_then_finishes_and_removes_the_intermediate_files(); }
    [Fact] public void Pbs_server_down_before_a_submit() { _server.Require(); With_the_server_down_Submit_fails_at_once_with_one_error_and_submits_everything_once_when_it_is_back(); }
    [Fact] public void Pbs_server_down_during_a_submit() { _server.Require(); The_server_lost_between_two_arrays_then_back_each_array_is_submitted_exactly_once(); }
    [Fact] public void Pbs_lost_reply() { _server.Require(); A_submission_whose_reply_is_lost_is_found_on_the_server_and_not_sent_again(); }
    [Fact] public void Pbs_max_array_size_from_the_server() { _server.Require(); Build_takes_MaxArraySize_from_the_scheduler_when_the_production_sets_none(); }
    [Fact] public void Pbs_unanswered_submit_that_cannot_be_checked() { _server.Require(); An_unanswered_submission_that_cannot_be_checked_is_looked_up_by_the_next_Submit_and_never_sent_twice(); }
}

