"""KinesisRecordsBehind on the emulator: the polling reader's estimate from real
GetRecords responses, and `sluice run` emitting it as high-resolution EMF."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.runtime.metrics import CONTRACT
from consumer.sources.kinesis.checkpoints import DynamoCheckpointStore
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.reader import KinesisSource
from tests.integration.harness import Harness, reading

pytestmark = pytest.mark.integration


def put_over(harness: Harness, batches: int, size: int, every_s: float) -> int:
    """`batches` puts of `size` readings, `every_s` apart: records arriving over time."""
    for batch in range(batches):
        harness.put([reading(batch * size + i) for i in range(size)])
        time.sleep(every_s)
    return batches * size


def test_the_polling_reader_knows_how_far_behind_it_is(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN 300 readings that arrived over about 3 s on two shards
    harness = Harness.create(aws, unique, tmp_path)
    total = put_over(harness, batches=30, size=10, every_s=0.1)
    assert isinstance(harness.config.source, KinesisSourceConfig)
    config = harness.config.source.model_copy(update={"max_records_per_call": 30})
    checkpoints = DynamoCheckpointStore(
        aws.client("dynamodb"), config.checkpoint_table, harness.config.name, harness.stream
    )
    source = KinesisSource(config, aws.client("kinesis"), checkpoints)
    source.sync_shards()
    # WHEN it has read three calls of 30 records per shard
    read = sum(len(unit.records) for _ in range(3) for unit in source.read())
    # THEN its estimate of the records ahead (MillisBehindLatest x the rate they arrived
    # at) is the right size: what is left to read, within a factor of two
    left = total - read
    estimate = source.records_behind()
    print(f"\nread {read} of {total}: {left} left, estimated {estimate:.0f}")
    assert left > 0 and left / 2 <= estimate <= left * 2
    # AND once it has read everything it is 0 behind
    while not source.caught_up():
        list(source.read())
    assert source.records_behind() == 0


def test_sluice_run_emits_kinesis_records_behind_at_high_resolution(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a consumer emitting KinesisRecordsBehind every 0.2 s
    harness = Harness.create(aws, unique, tmp_path)
    metrics = harness.config.metrics.model_copy(update={"records_behind_interval_s": 0.2})
    harness.config = harness.config.model_copy(update={"metrics": metrics})
    put_over(harness, batches=10, size=20, every_s=0.05)
    # WHEN it consumes the stream for 3 s (about a second of it caught up)
    service = harness.service()
    try:
        service.run(max_runtime_s=3)
    finally:
        service.close()
    # THEN the records are EMF lines of the contract: service dimension only, stored at
    # high (1 s) resolution, never negative, 0 at the end
    lines = [orjson.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    behind = [line for line in lines if "KinesisRecordsBehind" in line]
    assert behind, "no KinesisRecordsBehind emitted"
    unit, dimension_sets = CONTRACT["KinesisRecordsBehind"]
    for line in behind:
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert tuple(directive["Dimensions"][0]) in dimension_sets
        assert directive["Metrics"] == [
            {"Name": "KinesisRecordsBehind", "Unit": unit, "StorageResolution": 1}
        ]
        assert line["service"] == harness.config.name and "source" not in line
        assert line["KinesisRecordsBehind"] >= 0
    assert len(behind) >= 10 and behind[-1]["KinesisRecordsBehind"] == 0
