"""The autoscaling simulator on a 10x step: drains, does not oscillate, respects caps."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest

from consumer.capacity.autoscale_sim import SimResult, load_rules, simulate
from consumer.capacity.autoscale_sim_config import SimConfig
from consumer.capacity.load_profiles import LoadProfile

STEP_AT, HOLD = 600.0, 1200.0
DROP = STEP_AT + HOLD
DRAIN_WITHIN_S = 300.0  # issue 21: the backlog gone 5 minutes after the step starts
STEP = LoadProfile(shape="step", rate=1000, factor=10, at_s=STEP_AT, hold_s=HOLD, duration_s=3600)
RULES = replace(load_rules(), max_tasks=10)
SQS = SimConfig(source="sqs", per_task_records_per_s=2000)
KCL = SimConfig(source="kinesis", kinesis_driver="kcl", shards=10)


def _drained_at(result: SimResult) -> float:
    peak = max(result.samples, key=lambda s: s.backlog)
    return next(s.t for s in result.samples if s.t > peak.t and s.backlog < 1)


def _assert_no_oscillation(result: SimResult) -> None:
    ins = result.scale_events("in", after_s=DROP)
    assert not result.scale_events("out", after_s=DROP), result.events
    assert len(ins) <= 1, result.events
    assert all(b - a >= RULES.scale_in_cooldown_s for a, b in pairwise(ins))


@pytest.mark.parametrize("config", [SQS, KCL], ids=["sqs", "kcl-10-shards"])
def test_a_10x_step_drains_within_five_minutes_and_scales_in_once_after_the_drop(
    config: SimConfig,
) -> None:
    # GIVEN 1,000 records/s stepping to 10,000 at 600 s for 20 minutes, one task at first
    result = simulate(STEP, config, RULES)
    # THEN the backlog is gone within 300 s of the step
    assert _drained_at(result) - STEP_AT <= DRAIN_WITHIN_S, result.events
    # AND after the load falls: one scale-in, no scale-out, back to the fewest tasks
    assert len(result.scale_events("in", after_s=DROP)) == 1, result.events
    _assert_no_oscillation(result)
    assert result.samples[-1].tasks == RULES.min_tasks
    assert abs(result.ledger.lost) < 1e-6 * result.ledger.offered


@pytest.mark.parametrize("config", [SQS, KCL], ids=["sqs", "kcl-10-shards"])
def test_the_first_scale_out_comes_within_a_minute_of_the_step(config: SimConfig) -> None:
    result = simulate(STEP, config, RULES)
    first = result.scale_events("out")[0]
    assert first - STEP_AT < 60, result.events  # Kinesis: 10 s datapoints; SQS: one minute
    assert result.causes[0] == "surge"


def test_before_issue_21_the_same_step_waited_three_minutes_and_kcl_grew_on_cpu_alone() -> None:
    sqs = simulate(STEP, replace(SQS, legacy_scaling=True), RULES)
    kcl = simulate(STEP, replace(KCL, legacy_scaling=True), RULES)
    assert sqs.scale_events("out")[0] == kcl.scale_events("out")[0] == STEP_AT + 179
    assert set(kcl.causes[:-1]) == {"cpu"} and len(kcl.scale_events("out")) == 5
    assert _drained_at(sqs) - STEP_AT == 430 and _drained_at(kcl) - STEP_AT == 694


def test_kinesis_kcl_10x_step_never_exceeds_the_shard_cap() -> None:
    config = SimConfig(source="kinesis", kinesis_driver="kcl", shards=8)
    result = simulate(STEP, config, RULES)
    assert max(s.tasks for s in result.samples) == 8  # the surge asks for more: 8 shards cap it
    assert max(s.desired for s in result.samples) <= 8
    assert _drained_at(result) - STEP_AT <= DRAIN_WITHIN_S, result.events
    _assert_no_oscillation(result)


def test_a_kcl_scale_in_hides_the_stopped_workers_shards_until_their_leases_move() -> None:
    # GIVEN ten KCL workers on ten shards under a steady 1,000 records/s: one would do
    steady = LoadProfile(rate=1000, duration_s=1800)
    result = simulate(steady, replace(KCL, initial_tasks=10), RULES)
    (scale_in,) = result.scale_events("in")
    stopped = scale_in + 1
    takeover = stopped + KCL.lease_takeover_s
    # THEN the nine stopped workers' shards pile up records until their leases are taken
    hidden = [s.backlog for s in result.samples if stopped <= s.t < takeover]
    assert hidden == sorted(hidden) and hidden[-1] == pytest.approx(0.9 * 1000 * 20, rel=0.1)
    # AND the one worker left works them off: no scale-out (the surge threshold is far
    # above a lease hand-over's backlog), nothing lost
    after = [s for s in result.samples if s.t >= takeover]
    assert not result.scale_events("out") and after[-1].backlog == 0
    assert abs(result.ledger.lost) < 1e-6 * result.ledger.offered


def test_polling_reader_is_one_task_and_a_10x_step_outruns_it() -> None:
    config = SimConfig(source="kinesis", kinesis_driver="polling", shards=8)
    result = simulate(STEP, config, RULES)
    assert {s.tasks for s in result.samples} == {1}
    assert result.samples[-1].backlog > 1_000_000  # one task cannot drain 10x: it shows


def test_new_tasks_wait_for_their_start_up_delay() -> None:
    slow = simulate(STEP, SimConfig(startup_s=240), RULES)
    fast = simulate(STEP, SimConfig(startup_s=30), RULES)
    assert max(s.backlog for s in slow.samples) > max(s.backlog for s in fast.samples)
    first_out = slow.scale_events("out")[0]
    ready = next(s.t for s in slow.samples if s.tasks > 1)
    assert ready - first_out == 240


def test_cost_accrues_with_task_time() -> None:
    steady = LoadProfile(rate=100, duration_s=3600)
    result = simulate(steady, SimConfig(), RULES)
    one_task_hour = 1 * 0.04048 + 2 * 0.004445
    assert abs(result.samples[-1].cost_usd - one_task_hour) < 1e-6
    assert not result.events
