"""`sluice cost`: sizing rules, prices applied per line, the rendered table."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from consumer.capacity.cost import (
    HOURS_PER_MONTH,
    PRICES,
    PRICES_AS_OF,
    CostEstimate,
    Prices,
    Shape,
    configure_parser,
    estimate,
    from_args,
    render,
    shards_for,
    tasks_for,
)
from consumer.cli.main import main


def _line(result: CostEstimate, service: str, item: str) -> float:
    matches = [x.usd_per_month for x in result.lines if x.service == service and x.item == item]
    assert len(matches) == 1, (service, item, result.lines)
    return matches[0]


def test_shards_follow_the_tighter_of_the_record_and_byte_limits() -> None:
    assert shards_for(700, 100, 0.7) == 1  # 700 of 700 records/s a shard may take
    assert shards_for(701, 100, 0.7) == 2
    # 512 records/s x 10 KiB = 5 MiB/s: bytes dominate, 5 / 0.7 = 7.1 -> 8 shards
    assert shards_for(512, 10 * 1024, 0.7) == 8


def test_tasks_use_one_core_each_at_the_target_utilization() -> None:
    shape = Shape(target_utilization=0.5)
    assert tasks_for(10_000, 30_000, shape) == 1
    assert tasks_for(15_001, 30_000, shape) == 2
    # more vCPUs per task do not raise a task's throughput: one Python process
    assert tasks_for(15_001, 30_000, Shape(task_vcpu=4, target_utilization=0.5)) == 2


def test_fargate_line_is_tasks_times_hourly_price() -> None:
    result = estimate(1000, 500, 27_000, Shape(task_vcpu=1, task_memory_gb=2))
    hourly = PRICES.fargate_vcpu_hour + 2 * PRICES.fargate_gb_hour
    assert result.tasks == 1
    assert _line(result, "Fargate", "consumer tasks") == pytest.approx(hourly * HOURS_PER_MONTH)


def test_spot_share_discounts_that_share_of_task_hours() -> None:
    on_demand = estimate(1000, 500, 27_000)
    half_spot = estimate(1000, 500, 27_000, Shape(spot_share=0.5))
    ratio = _line(half_spot, "Fargate", "consumer tasks") / _line(
        on_demand, "Fargate", "consumer tasks"
    )
    assert ratio == pytest.approx(1 - 0.5 * PRICES.fargate_spot_discount)


def test_kinesis_lines_price_shards_and_put_units() -> None:
    result = estimate(2000, 30 * 1024, 27_000, Shape(kinesis_driver="kcl"))
    # 2000 x 30 KiB = 58.6 MiB/s -> 84 shards at 70 %; 30 KiB records are 2 PUT units
    assert result.shards == math.ceil(2000 * 30 * 1024 / (1024 * 1024 * 0.7))
    shard_cost = result.shards * PRICES.kinesis_shard_hour * HOURS_PER_MONTH
    assert _line(result, "Kinesis", "shard-hours") == pytest.approx(shard_cost)
    units = 2000 * 2 * HOURS_PER_MONTH * 3600
    expected = units / 1e6 * PRICES.kinesis_put_units_per_million
    assert _line(result, "Kinesis", "PUT payload units") == pytest.approx(expected)


def test_sqs_source_has_no_kinesis_or_checkpoint_lines() -> None:
    result = estimate(500, 1000, 27_000, Shape(source="sqs"))
    services = {line.service for line in result.lines}
    assert "SQS" in services
    assert "Kinesis" not in services
    assert "checkpoint writes" not in {line.item for line in result.lines}
    # DynamoDB only for the exactly-once ledger (tests/unit/test_cost_ledger.py)
    assert {line.item for line in result.lines if line.service == "DynamoDB"} == {
        "SQS ledger writes (claims, cuts)",
        "SQS ledger storage (5 days of items)",
        "SQS ledger point-in-time recovery",
    }
    assert result.shards == 0


def test_polling_reader_warns_when_one_task_is_not_enough() -> None:
    result = estimate(50_000, 200, 27_000)
    assert result.tasks == 3
    assert any("polling reader runs exactly one" in text for text in result.warnings)
    assert estimate(50_000, 200, 27_000, Shape(source="sqs")).warnings == ()


def test_kcl_raises_shards_to_the_task_count_and_says_so() -> None:
    # 5,000 records/s need 8 shards (700 a shard) but 15 tasks at 500 records/s a core
    result = estimate(5_000, 10, 500, Shape(kinesis_driver="kcl"))
    assert result.tasks == 15
    assert shards_for(5_000, 10, 0.7) == 8
    assert result.shards == 15
    assert any("shards were raised to 15" in text for text in result.warnings)


def test_min_shards_keeps_shards_the_load_does_not_need() -> None:
    result = estimate(1000, 800, 27_000, Shape(kinesis_driver="kcl", min_shards=10))
    assert result.shards == 10
    cost = 10 * PRICES.kinesis_shard_hour * HOURS_PER_MONTH
    assert _line(result, "Kinesis", "shard-hours") == pytest.approx(cost)
    assert not any("raised" in text for text in result.warnings)


def test_total_is_the_sum_of_the_lines() -> None:
    result = estimate(5000, 800, 30_000)
    assert result.total_usd_per_month == pytest.approx(sum(x.usd_per_month for x in result.lines))
    assert result.total_usd_per_month > 0


def test_prices_are_injectable() -> None:
    free = Prices(**{name: 0.0 for name in Prices.__dataclass_fields__})
    assert estimate(5000, 800, 30_000, prices=free).total_usd_per_month == 0


@pytest.mark.parametrize(
    ("records", "size", "per_core", "shape"),
    [
        (0, 100, 1000, Shape()),
        (10, 0, 1000, Shape()),
        (10, 100, 0, Shape()),
        (10, 100, 1000, Shape(target_utilization=0)),
        (10, 100, 1000, Shape(spot_share=1.5)),
        (10, 100, 1000, Shape(routes=0)),
        (10, 100, 1000, Shape(network="vpn")),  # type: ignore[arg-type]
        (10, 100, 1000, Shape(efs_ia_share=1.5)),
        (10, 100, 1000, Shape(availability_zones=0)),
        (10, 100, 1000, Shape(efs_gb=-1)),
    ],
)
def test_invalid_inputs_are_refused(
    records: float, size: int, per_core: float, shape: Shape
) -> None:
    with pytest.raises(ValueError):
        estimate(records, size, per_core, shape)


def test_render_prints_table_total_and_assumptions() -> None:
    result = estimate(50_000, 200, 27_000)
    text = render(result)
    lines = text.splitlines()
    assert lines[0].startswith("sluice cost estimate: 50,000 records/s x 200 bytes from kinesis")
    assert any(line.startswith("Fargate") for line in lines)
    total = next(line for line in lines if line.startswith("total"))
    assert total.endswith(f"{result.total_usd_per_month:,.2f}")
    assert "assumptions:" in lines
    assert PRICES_AS_OF in text
    assert "warnings:" in lines


def test_cli_arguments_build_the_same_estimate() -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    args = parser.parse_args(
        ["--records-per-s", "2000", "--record-bytes", "700", "--source", "sqs", "--routes", "2"]
    )
    result = from_args(args)
    assert result == estimate(2000, 700, 27_000, Shape(source="sqs", routes=2))


DOC_EXAMPLES = [
    ["--records-per-s", "1000", "--record-bytes", "800"],
    [
        "--records-per-s",
        "1000",
        "--record-bytes",
        "800",
        "--source",
        "sqs",
        "--network",
        "nat",
        "--efs-gb",
        "20",
        "--efs-ia-share",
        "0.5",
    ],
]


@pytest.mark.parametrize("argv", DOC_EXAMPLES, ids=["default", "sqs-nat-efs"])
def test_docs_show_the_current_output(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """docs/cost.md quotes these runs of `sluice cost`, table and total as printed."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cost.md").read_text(encoding="utf-8")
    assert main(["cost", *argv]) == 0
    table = capsys.readouterr().out.split("\nassumptions:")[0]
    assert "sluice cost " + " ".join(argv) in doc
    assert table in doc


def test_worked_example_figures() -> None:
    """The docs' first example, its new lines worked by hand (docs/cost.md, "Worked example")."""
    result = estimate(1000, 800, 27_000)
    # 12 interface endpoints x 2 AZs x 730 h x 0.01 USD
    assert _line(result, "VPC", "interface endpoints") == pytest.approx(175.20)
    # 1,000 records/s x (800 x 4/3 + 190) bytes + 2 flushes/s x 2,000 bytes of logs,
    # for 2,628,000 s: 3,302.5 + 10.5 GB at 0.01 USD
    assert _line(result, "VPC", "interface endpoint data processed") == pytest.approx(
        33.13, abs=0.005
    )
    # (12 cluster + 15 service + 10 task family metrics) x 0.30 USD
    assert _line(
        result, "Container Insights", "metrics (cluster, services, task families)"
    ) == pytest.approx(11.10)
    # (1,400 + 750 + 550 + 400) bytes a minute x 43,800 minutes = 0.136 GB at 0.50 USD
    assert _line(result, "Container Insights", "performance log events") == pytest.approx(
        0.0679, abs=0.0001
    )
    # 30 images x 0.14 GB x 0.10 USD
    assert _line(result, "ECR", "image storage") == pytest.approx(0.42)
    assert round(result.total_usd_per_month, 2) == 372.46
