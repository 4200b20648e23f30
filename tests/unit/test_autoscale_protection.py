"""The autoscaling simulator's scale-in protection and SIGTERM drain: ECS never stops a
protected task, a stopped task flushes its cut within the stop timeout (or its records come
back later, never lost), the legacy stream protection blocks scale-in under steady load,
the new default scales in, and a job runner is protected exactly while its job runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from consumer.capacity.autoscale_sim import SimResult, load_rules, simulate
from consumer.capacity.autoscale_sim_config import SimConfig
from consumer.capacity.autoscale_sim_tasks import Fleet, SimTask
from consumer.capacity.autoscale_sim_work import StreamWork
from consumer.capacity.load_profiles import LoadProfile
from load_tests.run import main as run_main

RULES = replace(load_rules(), max_tasks=10)
STEADY = LoadProfile(rate=1000, duration_s=7200)  # 1,000 records/s for two hours
STEP = LoadProfile(shape="step", rate=1000, factor=10, at_s=600, hold_s=1200, duration_s=3600)
DROP_S = 1800.0
CAP_S = min(SimConfig().shutdown_timeout_s, RULES.stop_timeout_s)


def _assert_nothing_lost(result: SimResult) -> None:
    assert result.ledger.offered > 0
    assert abs(result.ledger.lost) < 1e-6 * result.ledger.offered, result.ledger


# -- ECS: which tasks a scale-in stops ---------------------------------------------------------


def test_ecs_never_stops_a_protected_task_until_its_protection_ends_or_expires() -> None:
    # GIVEN three ready tasks, two of them protected (one for 60 s more, one until released)
    fleet = Fleet(startup_s=60)
    fleet.start(3, ready_at=0.0)
    free, expiring, held = fleet.tasks
    expiring.hold(100.0, expires_s=60)
    held.hold(100.0, expires_s=600)
    # WHEN the desired count drops to zero
    stopped = fleet.reconcile(0, 100.0)
    # THEN only the unprotected task gets SIGTERM; the others keep running above desired
    assert stopped == [free]
    assert fleet.active() == [expiring, held]
    assert fleet.reconcile(0, 159.0) == []  # still protected
    assert fleet.reconcile(0, 160.0) == [expiring]  # ExpiresInMinutes lapsed
    held.release()
    assert fleet.reconcile(0, 161.0) == [held]
    assert fleet.active() == []


def test_ecs_cancels_starting_tasks_before_it_stops_ready_ones() -> None:
    fleet = Fleet(startup_s=60)
    fleet.start(2, ready_at=0.0)
    fleet.reconcile(4, 10.0)  # two more, ready at 70 s
    assert len(fleet.active()) == 4
    assert fleet.reconcile(2, 20.0) == []  # the two starting ones go; no SIGTERM needed
    assert [task.ready_at for task in fleet.tasks] == [0.0, 0.0]


# -- the drain ----------------------------------------------------------------------------------


def test_a_stopped_task_flushes_its_buffered_cut_within_the_stop_timeout() -> None:
    # GIVEN an SQS task holding 300 processed records not yet flushed
    work = StreamWork(SimConfig(source="sqs"), CAP_S)
    task = SimTask(ready_at=0.0, buffered=300.0)
    # WHEN it gets SIGTERM at 100 s
    work.stop(task, 100.0)
    # THEN its final flush is acked after drain_flush_s and it exits after the receivers'
    # long poll, within the cap; nothing is delayed
    work.drain(task, 100.0)
    assert task.buffered == 300.0  # the flush takes its second
    work.drain(task, 101.0)
    work.exited(task, 121.0)
    assert (work.ledger.drain_flushed, work.ledger.done, task.buffered) == (300.0, 300.0, 0.0)
    assert task.exits_at == 121.0 <= 100.0 + CAP_S
    assert work.ledger.drain_delayed == 0


def test_scale_in_drains_the_stopped_tasks_and_loses_no_record() -> None:
    result = simulate(STEP, SimConfig(source="sqs"), RULES)
    ledger = result.ledger
    assert result.scale_events("in") and ledger.drains == 9  # 10 -> 1
    assert ledger.drain_flushed > 0  # they held records, and flushed them
    assert ledger.drain_delayed == 0
    assert 0 < ledger.longest_drain_s <= CAP_S
    _assert_nothing_lost(result)
    assert ledger.done == ledger.offered  # every record acked by the end


def test_a_flush_slower_than_the_stop_timeout_delays_its_records_and_loses_none() -> None:
    # GIVEN a sink so slow that the final flush needs 40 s, past shutdown.timeout_s (25 s)
    # (the policies before issue 21 scale in once, 10 -> 1: one drain to account for)
    config = SimConfig(source="sqs", drain_flush_s=40.0, legacy_scaling=True)
    result = simulate(STEP, config, RULES)
    ledger = result.ledger
    # THEN the stopped tasks' cuts are not acked: delayed, then processed again
    assert ledger.drain_flushed == 0 and ledger.drain_delayed > 0
    assert ledger.longest_drain_s == CAP_S
    _assert_nothing_lost(result)
    assert ledger.done == ledger.offered
    # AND they come back when the visibility timeout lapses after the process ended
    stop = result.scale_events("in")[0] + 1
    back = stop + CAP_S + config.visibility_timeout_s
    waiting = [s for s in result.samples if stop <= s.t < back]
    assert all(s.processed == s.offered and s.backlog == 0 for s in waiting)
    sample = next(s for s in result.samples if s.t == back)
    assert sample.processed + sample.backlog == pytest.approx(sample.offered + ledger.drain_delayed)


# -- protection under load ----------------------------------------------------------------------


def test_legacy_stream_protection_blocks_scale_in_under_steady_load() -> None:
    config = SimConfig(initial_tasks=10, protection="stream")
    result = simulate(STEADY, config, RULES)
    assert result.scale_events("in") == [899.0]  # target tracking asks for 1 task...
    assert result.samples[-1].desired == 1
    assert {s.running for s in result.samples} == {10}  # ...and none is ever stopped
    assert result.scaled_in_at() is None
    assert result.protected_share() == 1.0
    assert result.ledger.drains == 0


def test_the_new_default_scales_in_under_the_same_steady_load() -> None:
    result = simulate(STEADY, SimConfig(initial_tasks=10), RULES)
    assert result.scale_events("in") == [899.0]
    scaled_in = result.scaled_in_at()
    assert scaled_in is not None and scaled_in - 899.0 <= CAP_S + 1
    assert result.samples[-1].running == 1
    assert result.protected_share() == 0.0
    _assert_nothing_lost(result)
    legacy = simulate(STEADY, SimConfig(initial_tasks=10, protection="stream"), RULES)
    assert result.task_hours() < legacy.task_hours() / 4


def test_legacy_protection_lets_go_only_once_the_load_stops() -> None:
    result = simulate(STEP, SimConfig(protection="stream"), RULES, tail_s=600)
    during_load = [s for s in result.samples if DROP_S + 300 <= s.t < STEP.duration_s]
    assert all(s.running == 10 and s.desired == 1 for s in during_load)
    released = SimConfig().idle_release_s
    scaled_in = result.scaled_in_at()
    assert scaled_in is not None
    assert STEP.duration_s + released <= scaled_in <= STEP.duration_s + released + CAP_S + 1


def test_a_job_runner_is_protected_exactly_while_its_jobs_run() -> None:
    jobs = LoadProfile(shape="step", rate=0.01, factor=3, at_s=1800, hold_s=3600, duration_s=10_800)
    config = SimConfig(workload="jobs", protection="jobs", job_duration_s=300)
    result = simulate(jobs, config, RULES, tail_s=3600)
    assert result.ledger.done == result.ledger.offered > 0  # every job ran to its end
    assert result.ledger.jobs_interrupted == 0
    protected_s = sum(s.protected for s in result.samples)
    assert protected_s == result.ledger.done * config.job_duration_s
    assert result.scale_events("in") and result.samples[-1].running == 1
    # without protection the same scale-ins stop runners mid-job: those jobs run again
    bare = simulate(jobs, replace(config, protection="none"), RULES, tail_s=3600)
    assert bare.ledger.jobs_interrupted > 0
    _assert_nothing_lost(bare)


def test_protection_must_fit_the_workload() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        simulate(STEP, SimConfig(protection="jobs"), RULES)
    with pytest.raises(ValueError, match="does not fit"):
        simulate(STEP, SimConfig(workload="jobs", protection="stream"), RULES)


def test_the_cli_reports_scale_in_with_and_without_legacy_protection(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib is not installed (the load extra)")
    figures = {}
    for protection in ("none", "stream"):
        out = tmp_path / protection
        args = ["simulate", "--shape", "steady", "--duration-s", "3600", "--max-tasks", "10"]
        run_main([*args, "--initial-tasks", "10", "--protection", protection, "--out", str(out)])
        figures[protection] = orjson.loads((out / "simulation.json").read_bytes())["summary"]
    assert figures["none"]["first_scale_in_asked_at_s"] == 899.0
    assert figures["none"]["running_tasks_at_end"] == 1
    assert figures["stream"]["running_down_to_desired_at_s"] == "never"
    assert figures["stream"]["running_tasks_at_end"] == 10
    assert figures["stream"]["protected_share_of_task_time"] == 1.0
