"""Failures are data, and sink failures hold the ack: through the reader, into real S3."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.errors import SinkError
from consumer.pipeline.quarantine import original_bytes
from tests.faults import FaultyClient
from tests.integration.harness import Harness, kinesis_reader, reading

pytestmark = pytest.mark.integration

BAD_INPUTS: dict[str, tuple[bytes, str, str]] = {
    "too-large": (
        orjson.dumps({"type": "reading", "pad": "x" * 300_000}),
        "decode",
        "RecordTooLarge",
    ),
    "too-deep": (
        b'{"type": "reading", "v": ' + b"[" * 40 + b"]" * 40 + b"}",
        "decode",
        "NestingTooDeep",
    ),
    "bad-utf8": (b'{"type": "reading", "id": "\xff\xfe"}', "decode", "InvalidUtf8"),
    "bad-json": (b'{"type": "reading", "id": ', "decode", "InvalidJson"),
    "bad-gzip": (gzip.compress(b'{"type": "reading"}')[:-6], "decode", "InvalidGzip"),
    "no-route": (b'{"type": "unknown"}', "route", "UnknownRoute"),
    "schema": (
        b'{"type": "reading", "id": "x", "key": "k", "seq": -1, "value": 1}',
        "validate",
        "SchemaViolation",
    ),
}


def _name(envelope: dict[str, object]) -> str:
    """The bad record's name: its partition key (streamed) or its object `in/NAME.jsonl`."""
    return str(envelope["partition_key"]).removeprefix("in/").removesuffix(".jsonl")


def test_every_kind_of_bad_record_is_quarantined_with_its_stage(
    aws: AwsClients, unique: str, tmp_path: Path, transform: str, mode: str
) -> None:
    # GIVEN one record of each bad kind between good ones (decode limits: 256 KiB, depth 32)
    harness = Harness.create(aws, unique, tmp_path, transform=transform)
    records = [reading(i) for i in range(20)]
    records += [(name, data) for name, (data, _, _) in BAD_INPUTS.items()]

    # WHEN consumed, streamed or as a batch job
    harness.deliver(records, mode)

    # THEN each bad record is in the quarantine once, with its stage, type and exact bytes
    # (a gzip object that cannot be inflated is quarantined whole in a batch job: the same)
    envelopes = {_name(row): row for row in harness.quarantine_rows()}
    assert set(envelopes) == set(BAD_INPUTS)
    for name, (data, stage, error_type) in BAD_INPUTS.items():
        envelope = envelopes[name]
        assert (envelope["stage"], envelope["error_type"]) == (stage, error_type), name
        assert envelope["source"] == harness.stream and envelope["message"]
        if mode == "stream":
            assert original_bytes(envelope) == data
            assert envelope["partition"].startswith("shardId-")
            assert int(envelope["sequence_number"]) > 0
        elif name != "bad-gzip":  # a whole object's envelope names the object
            assert original_bytes(envelope) == data
            assert envelope["partition"] == f"in/{name}.jsonl"
    assert envelopes["schema"]["route"] == "readings"
    assert len(harness.lake_ids()) == 20
    assert harness.db_ids() == {f"r{i}": 1 for i in range(20)}


def test_retriable_sink_errors_are_retried_until_they_pass(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN an S3 client whose first three PutObject calls fail with a 500
    harness = Harness.create(aws, unique, tmp_path)
    harness.put([reading(i) for i in range(100)])
    service = harness.service()
    lake = service.sinks["lake"]
    faulty = FaultyClient(lake.client)  # type: ignore[attr-defined]
    faulty.faults["put_object"] = lambda n: "InternalError" if n <= 3 else None
    lake.client = faulty  # type: ignore[attr-defined]

    # WHEN consumed
    service.run(until_idle=True, max_runtime_s=60)
    service.close()

    # THEN all records landed once
    assert faulty.calls["put_object"] > 3
    lake_ids = harness.lake_ids()
    assert len(lake_ids) == 100 and max(lake_ids.values()) == 1


def test_a_sink_that_stays_down_holds_the_checkpoint_and_fails_loudly(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN an S3 sink that keeps failing, and a small retry budget
    harness = Harness.create(aws, unique, tmp_path)
    harness.config = harness.config.model_copy(
        update={
            "retry": harness.config.retry.model_copy(
                update={"max_attempts": 3, "base_delay_s": 0.01}
            )
        }
    )
    harness.put([reading(i) for i in range(60)])
    service = harness.service()
    lake = service.sinks["lake"]
    faulty = FaultyClient(lake.client)  # type: ignore[attr-defined]
    faulty.faults["put_object"] = lambda n: "ServiceUnavailable"
    lake.client = faulty  # type: ignore[attr-defined]

    # WHEN consumed
    with pytest.raises(SinkError, match="gave up after 3 attempts"):
        service.run(until_idle=True, max_runtime_s=60)
    service.close()

    # THEN no checkpoint moved, and a healthy restart delivers everything once
    checkpoints = kinesis_reader(service).checkpoints
    assert all(checkpoints.load(s).position is None for s in kinesis_reader(service).active)
    restarted = harness.run()
    assert restarted.stats.records_in == 60
    lake_ids = harness.lake_ids()
    assert len(lake_ids) == 60 and max(lake_ids.values()) == 1
