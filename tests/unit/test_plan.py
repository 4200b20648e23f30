"""`sluice plan`: sizing, targets and cost from the cost model and the simulator."""

from __future__ import annotations

import argparse

import orjson
import pytest

from consumer.cli import main
from consumer.cost import HOURS_PER_MONTH, PRICES, Shape, estimate
from consumer.plan import configure_parser, make_plan


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return parser.parse_args(list(argv))


def test_sqs_plan_sizes_from_steady_and_peak_and_sets_the_backlog_target() -> None:
    plan = make_plan(
        _args(
            "--rate",
            "5000",
            "--record-bytes",
            "1000",
            "--per-task-records-per-s",
            "2000",
            "--latency-target",
            "60",
        )
    )
    assert (plan.min_tasks, plan.max_tasks) == (4, 36)  # 5000 and 50000 at 70 % of 2000
    assert plan.backlog_per_task_target == 60 * 2000
    assert plan.buffer_max_age_s == 15
    assert plan.sqs_visibility_timeout_s == 90
    shape = Shape(source="sqs", kinesis_driver="kcl", buffer_max_age_s=15)
    assert plan.monthly_usd_steady == round(
        estimate(5000, 1000, 2000, shape).total_usd_per_month, 2
    )


def test_kinesis_plan_gives_every_task_a_shard_and_prices_them() -> None:
    plan = make_plan(
        _args(
            "--rate",
            "5000",
            "--record-bytes",
            "1000",
            "--source",
            "kinesis",
            "--per-task-records-per-s",
            "2000",
        )
    )
    assert plan.shards == plan.max_tasks == plan.peak_tasks == 36
    steady = estimate(5000, 1000, 2000, Shape(kinesis_driver="kcl", buffer_max_age_s=15))
    extra = (36 - steady.shards) * PRICES.kinesis_shard_hour * HOURS_PER_MONTH
    assert plan.monthly_usd_steady == pytest.approx(steady.total_usd_per_month + extra, abs=0.01)


def test_a_spike_faster_than_start_up_misses_a_tight_latency_target() -> None:
    tight = make_plan(
        _args(
            "--rate",
            "5000",
            "--record-bytes",
            "500",
            "--per-task-records-per-s",
            "2000",
            "--latency-target",
            "20",
        )
    )
    loose = make_plan(
        _args(
            "--rate",
            "5000",
            "--record-bytes",
            "500",
            "--per-task-records-per-s",
            "2000",
            "--latency-target",
            "600",
        )
    )
    assert not tight.meets_latency_target and tight.warnings
    assert loose.meets_latency_target
    assert loose.peak_drain_s is not None and loose.peak_drain_s > 0


def test_cli_prints_the_plan_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "--rate", "1000", "--record-bytes", "200", "--json"])
    plan = orjson.loads(capsys.readouterr().out)
    assert code == 0 and plan["rate"] == 1000 and plan["min_tasks"] == 1
