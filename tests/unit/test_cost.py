"""`sluice cost`: sizing rules, prices applied per line, the rendered table."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from consumer.cost import (
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
    assert "DynamoDB" not in services
    assert result.shards == 0


def test_polling_reader_warns_when_one_task_is_not_enough() -> None:
    result = estimate(50_000, 200, 27_000)
    assert result.tasks == 3
    assert any("polling reader runs exactly one" in text for text in result.warnings)
    assert estimate(50_000, 200, 27_000, Shape(source="sqs")).warnings == ()


def test_kcl_raises_shards_to_the_task_count() -> None:
    result = estimate(50_000, 10, 5_000, Shape(kinesis_driver="kcl"))
    assert result.tasks == 15
    assert result.shards == max(15, shards_for(50_000, 10, 0.7))


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


def test_docs_show_the_current_output() -> None:
    """docs/cost.md quotes `sluice cost --records-per-s 1000 --record-bytes 800`."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cost.md").read_text(encoding="utf-8")
    table = render(estimate(1000, 800, 27_000)).split("\nassumptions:")[0]
    assert table in doc
