"""`sluice plan`: sizing, targets and cost from the cost model and the simulator."""

from __future__ import annotations

import argparse
import re

import orjson
import pytest

from consumer.capacity.cost import HOURS_PER_MONTH, PRICES, Shape, estimate
from consumer.capacity.plan import configure_parser, make_plan, render
from consumer.cli.main import main


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    return parser.parse_args(list(argv))


def test_sqs_plan_sizes_from_steady_and_peak_and_sets_the_backlog_target() -> None:
    plan = make_plan(
        _args(
            "--source",
            "sqs",
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
    shards = [x for x in plan.cost_lines if x.item == "shard-hours"]
    assert shards[0].quantity == "36 shard(s)"
    assert shards[0].usd_per_month == round(36 * PRICES.kinesis_shard_hour * HOURS_PER_MONTH, 2)
    steady = estimate(
        5000, 1000, 2000, Shape(kinesis_driver="kcl", buffer_max_age_s=15, min_shards=36)
    )
    assert plan.monthly_usd_steady == round(steady.total_usd_per_month, 2)


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


def test_plan_breaks_its_cost_down_with_the_deployment_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["plan", "--rate", "1000", "--record-bytes", "800", "--network", "nat"]
    argv += ["--efs-gb", "10", "--json"]
    assert main(argv) == 0
    plan = orjson.loads(capsys.readouterr().out)
    items = {(line["service"], line["item"]) for line in plan["cost_lines"]}
    assert ("VPC", "NAT gateways") in items
    assert ("VPC", "interface endpoints") not in items
    assert ("Container Insights", "performance log events") in items
    assert ("ECR", "image storage") in items
    assert ("EFS", "storage, Standard") in items
    total = sum(line["usd_per_month"] for line in plan["cost_lines"])
    assert total == pytest.approx(plan["monthly_usd_steady"], abs=0.01 * len(items))


def test_plan_text_shows_the_cost_table() -> None:
    plan = make_plan(_args("--rate", "1000", "--record-bytes", "800", "--network", "endpoints"))
    text = render(plan)
    rows = [re.split(r"\s{2,}", line) for line in text.splitlines() if line.startswith("VPC ")]
    assert any("interface endpoints" in row for row in rows)
    total = next(line for line in text.splitlines() if line.startswith("total"))
    assert total.endswith(f"{plan.monthly_usd_steady:,.2f}")


def test_plan_prints_the_scaling_policies_with_their_periods_and_alarms() -> None:
    # GIVEN a KCL plan at 2,000 records/s a task and a 60 s latency target
    argv = ["--rate", "1000", "--record-bytes", "500", "--source", "kinesis"]
    plan = make_plan(_args(*argv, "--per-task-records-per-s", "2000"))
    # THEN the targets follow the rules: 60 s of a task's work for the backlog, a surge
    # threshold of twice that (above 30 s of work), on 10 s datapoints for Kinesis
    assert plan.backlog_per_task_target == 120_000
    assert plan.backlog_surge_per_task == 240_000
    assert (plan.surge_period_s, plan.utilization_period_s) == (10, 60)
    assert (plan.cpu_target_percent, plan.memory_target_percent) == (70, 80)
    assert plan.peak_first_scale_out_s is not None and plan.peak_first_scale_out_s < 60
    text = render(plan)
    assert "KinesisRecordsBehind per task (KCL) 120,000, 60 s datapoints" in text
    assert "memory 80 % (scale-out only)" in text
    assert "out after 3 datapoints above target, in after 15 min below 90%" in text
    assert "backlog per task >= 240,000 in one 10 s datapoint: +100/+300/+700 % at 1x/2x/4x" in text
    # AND an SQS plan's surge waits for one minute of queue depth
    sqs = make_plan(_args("--rate", "1000", "--record-bytes", "500", "--source", "sqs"))
    assert sqs.surge_period_s == 60 and "BacklogPerTask (visible messages" in render(sqs)


def test_a_step_the_tasks_keep_up_with_says_no_backlog_not_drained_in_0_s() -> None:
    # GIVEN a load one task carries even at 10x
    plan = make_plan(_args("--rate", "50", "--record-bytes", "1000"))
    # WHEN it is rendered THEN it says nothing queued, not "drained in 0 s"
    text = render(plan)
    assert plan.peak_drain_s == 0 and "no backlog (the tasks keep up with it)" in text
    assert "drained in 0 s" not in text
    assert plan.source == "kinesis"  # the default, as for sluice cost
