"""The simulator's scaling policies one by one and together: the surge step policy's bands
and cooldown, target tracking's alarm counts at 60 s and 20 s periods, memory that only
scales out, scale-in agreed by every policy that scales in, and the metric delay."""

from __future__ import annotations

from consumer.capacity.autoscale_sim_alarms import (
    StepScaling,
    TargetTracking,
    percent_change,
)
from consumer.capacity.autoscale_sim_policy import Policies

T = 1000.0  # surge threshold of these tests


def test_percent_change_rounds_down_and_adds_at_least_one_task() -> None:
    assert percent_change(1, 100) == 2
    assert percent_change(3, 100) == 6
    assert percent_change(1, 700) == 8
    assert percent_change(2, 30) == 3  # 0.6 rounds down to 0, but at least one task


def test_surge_bands_double_quadruple_or_multiply_by_eight() -> None:
    surge = StepScaling(T, period_s=10, cooldown_s=60)
    assert surge.percent(T - 1) is None
    assert [surge.percent(v) for v in (T, 1.99 * T, 2 * T, 3.9 * T, 4 * T, 100 * T)] == [
        100,
        100,
        300,
        300,
        700,
        700,
    ]


def test_in_its_cooldown_the_surge_adds_only_what_its_last_scale_out_did_not() -> None:
    surge = StepScaling(T, period_s=10, cooldown_s=60)
    assert surge.wish(0.0, 1.5 * T, current=1) == 2  # doubles
    assert surge.wish(10.0, 1.5 * T, current=2) is None  # the same band: nothing more
    assert surge.wish(20.0, 5 * T, current=2) == 8  # a higher band: 1 x 8, not 2 x 8
    assert surge.wish(30.0, 5 * T, current=8) is None
    assert surge.wish(60.0, 1.0 * T, current=8) == 16  # cooldown over: from the current count


def test_target_tracking_scales_out_after_three_datapoints_and_in_after_fifteen_minutes() -> None:
    for period, in_points in ((60, 15), (20, 45)):
        policy = TargetTracking("cpu", 70.0, period)
        for _ in range(2):
            policy.observe(100.0)
        assert not policy.wants_out()
        policy.observe(100.0)
        assert policy.wants_out() and policy.wish(2) == 3  # ceil(2 x 100 / 70)
        for _ in range(in_points - 1):
            policy.observe(10.0)
        assert not policy.wants_in()
        policy.observe(10.0)
        assert policy.wants_in() and policy.wish(10) == 2


def test_a_policy_without_scale_in_never_wants_in() -> None:
    memory = TargetTracking("memory", 80.0, scale_in=False)
    for _ in range(100):
        memory.observe(1.0)
    assert not memory.wants_in()


def _policies(delay_s: float = 0.0) -> Policies:
    return Policies(
        [
            ("cpu", TargetTracking("cpu", 70.0)),
            ("memory", TargetTracking("memory", 80.0, scale_in=False)),
        ],
        None,
        (60.0, 300.0),
        (1, 10),
        delay_s,
    )


def _run(policies: Policies, seconds: int, cpu: float, memory: float, desired: int) -> int:
    for t in range(seconds):
        desired, _ = policies.second(float(t), {"cpu": cpu, "memory": memory}, desired)
    return desired


def test_memory_scales_out_when_high_and_never_holds_a_scale_in_back() -> None:
    # GIVEN 4 tasks idling (CPU 5 %) at 40 % memory (below the 80 % target: it wishes 2)
    policies = _policies()
    # WHEN 15 minutes pass: CPU asks for 1 task and memory has no say in scale-in
    assert _run(policies, 900, cpu=5.0, memory=40.0, desired=4) == 1
    assert policies.causes == ["all"]
    # AND memory above its target for three minutes scales out, whatever CPU says
    policies = _policies()
    assert _run(policies, 180, cpu=5.0, memory=95.0, desired=4) == 5  # ceil(4 x 95 / 80)
    assert policies.causes == ["memory"]


def test_a_metric_delay_postpones_every_decision() -> None:
    prompt = _policies()
    late = _policies(delay_s=30.0)
    _run(prompt, 400, cpu=100.0, memory=30.0, desired=1)
    _run(late, 400, cpu=100.0, memory=30.0, desired=1)
    assert prompt.events[0][0] == 179.0  # the third datapoint
    assert late.events[0][0] == 209.0
