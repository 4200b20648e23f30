"""`sluice cost` and `sluice plan`: the SQS source's exactly-once ledger is priced for SQS
only, scales with the messages, cuts and retention it is billed on, and is gone with
`--no-sqs-ledger` (docs/cost.md, "SQS ledger")."""

from __future__ import annotations

import argparse
from dataclasses import replace

import orjson
import pytest

from consumer.capacity.cost import (
    PRICES,
    SECONDS_PER_MONTH,
    CostEstimate,
    Shape,
    configure_parser,
    estimate,
    from_args,
)
from consumer.capacity.cost.ledger_lines import (
    CLAIM_ITEM_BYTES,
    ITEM_OVERHEAD_BYTES,
    write_units_per_cut,
)
from consumer.cli.main import main

WRITES = ("DynamoDB", "SQS ledger writes (claims, cuts)")
STORAGE = ("DynamoDB", "SQS ledger storage (5 days of items)")
PITR = ("DynamoDB", "SQS ledger point-in-time recovery")
REQUESTS = ("S3", "SQS ledger requests (COPY, LIST, DeleteObjects)")
STAGED = ("S3", "SQS ledger staged copies (1.5 days)")
SQS = Shape(source="sqs")


def _line(result: CostEstimate, service: str, item: str) -> float:
    matches = [x.usd_per_month for x in result.lines if x.service == service and x.item == item]
    assert len(matches) == 1, (service, item, result.lines)
    return matches[0]


def _ledger(result: CostEstimate) -> list[str]:
    return [line.item for line in result.lines if line.item.startswith("SQS ledger")]


def test_the_ledger_is_priced_for_an_sqs_source_only() -> None:
    # GIVEN the same load from SQS and from Kinesis
    sqs = estimate(1000, 800, 27_000, SQS)
    kinesis = estimate(1000, 800, 27_000, Shape(source="kinesis"))
    # THEN only SQS has the ledger's five lines
    assert len(_ledger(sqs)) == 5
    assert _ledger(kinesis) == []
    assert all(_line(sqs, *item) > 0 for item in (WRITES, STORAGE, PITR, REQUESTS, STAGED))


def test_no_sqs_ledger_removes_every_ledger_line_and_its_cost() -> None:
    on = estimate(1000, 800, 27_000, SQS)
    off = estimate(1000, 800, 27_000, Shape(source="sqs", sqs_ledger=False))
    assert _ledger(off) == []
    assert "DynamoDB" not in {line.service for line in off.lines}
    ledger_usd = sum(x.usd_per_month for x in on.lines if x.item.startswith("SQS ledger"))
    assert on.total_usd_per_month - off.total_usd_per_month == pytest.approx(ledger_usd)
    assert any("SQS ledger: off" in text for text in off.assumptions)


def test_cli_option_turns_the_ledger_off() -> None:
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    base = ["--records-per-s", "1000", "--record-bytes", "800", "--source", "sqs"]
    assert from_args(parser.parse_args(base)) == estimate(1000, 800, 27_000, SQS)
    off = from_args(parser.parse_args([*base, "--no-sqs-ledger"]))
    assert off == estimate(1000, 800, 27_000, Shape(source="sqs", sqs_ledger=False))
    longer = from_args(parser.parse_args([*base, "--sqs-retention-days", "14"]))
    assert longer.shape.sqs_retention_days == 14


def test_writes_are_one_unit_a_claim_plus_three_a_cut() -> None:
    # 1,000 messages/s in cuts of 500 (buffer.max_records): 2 cuts a second
    result = estimate(1000, 800, 27_000, SQS)
    assert result.flushes_per_s == 2
    # a claim is a conditional PutItem of a small item; a cut is created, renewed, committed
    assert write_units_per_cut() == 3
    units = (1000 * 1 + 2 * 3) * SECONDS_PER_MONTH
    assert _line(result, *WRITES) == pytest.approx(units / 1e6 * PRICES.dynamodb_writes_per_million)
    assert _line(result, *WRITES) == pytest.approx(1652.36, abs=0.01)


def test_ledger_scales_with_the_messages() -> None:
    one = estimate(1000, 800, 27_000, SQS)
    three = estimate(3000, 800, 27_000, SQS)
    # cuts by size: three times the messages, three times the cuts of the same size
    assert three.flushes_per_s == 3 * one.flushes_per_s
    for item in (WRITES, STORAGE, PITR, REQUESTS, STAGED):
        assert _line(three, *item) == pytest.approx(3 * _line(one, *item)), item


def test_bigger_cuts_mean_fewer_cut_writes_and_requests() -> None:
    small = estimate(1000, 800, 27_000, Shape(source="sqs", buffer_max_records=100))
    large = estimate(1000, 800, 27_000, Shape(source="sqs", buffer_max_records=1000))
    assert _line(large, *REQUESTS) == pytest.approx(_line(small, *REQUESTS) / 10)
    assert _line(large, *WRITES) < _line(small, *WRITES)
    # the claims, a unit a message, are the floor
    claims = 1000 * SECONDS_PER_MONTH / 1e6 * PRICES.dynamodb_writes_per_million
    assert claims < _line(large, *WRITES) < 1.05 * claims


def test_storage_follows_the_queue_retention() -> None:
    four = estimate(1000, 800, 27_000, SQS)
    fourteen = estimate(1000, 800, 27_000, Shape(source="sqs", sqs_retention_days=14))
    stored = ("DynamoDB", "SQS ledger storage (15 days of items)")
    # items live retention + 1 day: 5 days, or 15
    assert _line(fourteen, *stored) == pytest.approx(3 * _line(four, *STORAGE))
    assert _line(fourteen, *PITR) == pytest.approx(3 * _line(four, *PITR))
    assert _line(fourteen, *WRITES) == _line(four, *WRITES)


def test_storage_counts_claims_and_cut_items_with_their_overhead() -> None:
    result = estimate(1000, 800, 27_000, SQS)
    per_s = 1000 * (CLAIM_ITEM_BYTES + ITEM_OVERHEAD_BYTES) + 2 * (150 + ITEM_OVERHEAD_BYTES)
    gb = per_s * 5 * 86_400 / 1e9  # 86.6 GB
    assert _line(result, *STORAGE) == pytest.approx(gb * PRICES.dynamodb_gb_month)
    assert _line(result, *PITR) == pytest.approx(gb * PRICES.dynamodb_pitr_gb_month)


def test_s3_requests_are_a_copy_per_object_and_a_list_and_delete_per_cut() -> None:
    result = estimate(1000, 800, 27_000, Shape(source="sqs", routes=2))
    # two routes: cuts of 2 x 500 records, one cut a second, two objects each
    assert result.flushes_per_s == 1
    requests = 1 * (2 + 2) * SECONDS_PER_MONTH
    expected = requests / 1000 * PRICES.s3_puts_per_thousand
    assert _line(result, *REQUESTS) == pytest.approx(expected)
    staged_gb = 1000 * 800 * 0.25 * 1.5 * 86_400 / 1e9
    assert _line(result, *STAGED) == pytest.approx(staged_gb * PRICES.s3_gb_month)


def test_a_retention_sqs_cannot_have_is_refused() -> None:
    with pytest.raises(ValueError):
        estimate(1000, 800, 27_000, Shape(source="sqs", sqs_retention_days=15))
    with pytest.raises(ValueError):
        estimate(1000, 800, 27_000, Shape(source="sqs", sqs_retention_days=0))


def test_plan_prices_the_ledger_and_leaves_it_out_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["plan", "--rate", "1000", "--record-bytes", "800", "--source", "sqs", "--json"]
    assert main(argv) == 0
    with_ledger = orjson.loads(capsys.readouterr().out)
    assert main([*argv, "--no-sqs-ledger"]) == 0
    without = orjson.loads(capsys.readouterr().out)
    items = [line["item"] for line in with_ledger["cost_lines"]]
    assert sum(item.startswith("SQS ledger") for item in items) == 5
    assert not [x for x in without["cost_lines"] if x["item"].startswith("SQS ledger")]
    assert with_ledger["monthly_usd_steady"] > without["monthly_usd_steady"]


def test_plan_cuts_follow_its_buffer_max_records(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--rate", "1000", "--record-bytes", "800", "--source", "sqs", "--json"]
    requests = []
    for records in ("250", "1000"):
        assert main([*argv, "--buffer-max-records", records]) == 0
        plan = orjson.loads(capsys.readouterr().out)
        (line,) = [x for x in plan["cost_lines"] if x["item"] == REQUESTS[1]]
        requests.append(line["usd_per_month"])
    # 4 cuts a second against 1: a COPY, a LIST and a DeleteObjects each
    assert requests[0] == pytest.approx(4 * requests[1], rel=0.01)
    assert requests[1] == pytest.approx(3 * SECONDS_PER_MONTH / 1000 * 0.005, abs=0.01)


def test_worked_example_of_the_docs() -> None:
    """docs/cost.md, "Worked example": the SQS run's ledger lines and their total."""
    shape = Shape(source="sqs", network="nat", efs_gb=20, efs_ia_share=0.5)
    result = estimate(1000, 800, 27_000, shape)
    figures = [round(_line(result, *item), 2) for item in (WRITES, STORAGE, PITR, REQUESTS, STAGED)]
    assert figures == [1652.36, 21.65, 17.32, 78.84, 0.60]
    without = estimate(1000, 800, 27_000, replace(shape, sqs_ledger=False))
    assert round(without.total_usd_per_month, 2) == 685.81
    assert round(result.total_usd_per_month - without.total_usd_per_month, 2) == 1770.77
