"""The autoscaling simulator on a 10x step: drains, does not oscillate, respects caps."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from consumer.capacity.autoscale_sim import SimResult, load_rules, simulate
from consumer.capacity.autoscale_sim_config import SimConfig
from consumer.capacity.load_profiles import LoadProfile

STEP_AT, HOLD = 600.0, 1200.0
DROP = STEP_AT + HOLD
DRAIN_WITHIN_S = 900.0  # the stated bound: backlog gone 15 minutes after the step starts
STEP = LoadProfile(shape="step", rate=1000, factor=10, at_s=STEP_AT, hold_s=HOLD, duration_s=3600)
RULES = replace(load_rules(), max_tasks=10)


def _drained_at(result: SimResult) -> float:
    peak = max(result.samples, key=lambda s: s.backlog)
    return next(s.t for s in result.samples if s.t > peak.t and s.backlog < 1)


def _assert_no_oscillation(result: SimResult) -> None:
    ins = result.scale_events("in", after_s=DROP)
    assert not result.scale_events("out", after_s=DROP), result.events
    assert len(ins) <= 1, result.events
    assert all(b - a >= RULES.scale_in_cooldown_s for a, b in pairwise(ins))


def test_sqs_10x_step_drains_in_time_and_scales_in_once() -> None:
    result = simulate(STEP, SimConfig(source="sqs", per_task_records_per_s=2000), RULES)
    assert _drained_at(result) - STEP_AT <= DRAIN_WITHIN_S, result.events
    _assert_no_oscillation(result)
    assert result.samples[-1].tasks == RULES.min_tasks  # back down after the drop


def test_kinesis_kcl_10x_step_never_exceeds_the_shard_cap() -> None:
    config = SimConfig(source="kinesis", kinesis_driver="kcl", shards=8)
    result = simulate(STEP, config, RULES)
    assert max(s.tasks for s in result.samples) == 8  # it needs 10 but 8 shards cap it
    assert max(s.desired for s in result.samples) <= 8
    assert _drained_at(result) - STEP_AT <= DRAIN_WITHIN_S, result.events
    _assert_no_oscillation(result)


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
