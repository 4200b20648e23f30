"""The contract every source keeps with the delivery engine, run over every source
(tests/contract/sources.py lists them): acked only after every sink confirmed, a crash
between write and ack replayed without a duplicate effect, a poison record quarantined
with its stage, nothing read harmless, a stop releasing what it held, a replay idempotent.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.errors import SinkError
from tests.contract.parts import Crashed, bodies, build, config, object_ids, row_ids, sink
from tests.contract.sources import HARNESSES, ChildExited, Harness

pytestmark = pytest.mark.integration
STOPPED = (SinkError, Crashed, ChildExited)
"""How a consumer stops abnormally: a sink past its budget, a crash, a KCL child's exit."""


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, aws: AwsClients, unique: str) -> Harness:
    return HARNESSES[request.param](aws, unique)


def _ids(count: int) -> set[str]:
    return {f"i{i}" for i in range(count)}


def test_acks_only_after_every_sink_confirmed(
    harness: Harness, aws: AwsClients, tmp_path: Path
) -> None:
    # GIVEN 12 records and a database sink that fails every write
    harness.put(bodies(12))
    parts = build(config(harness.source_config()), aws, tmp_path)
    sink(parts, "db").fail_next = 1_000_000

    # WHEN a consumer runs, THEN it stops with nothing acked, although the lake wrote
    with pytest.raises(STOPPED):
        harness.consume(parts)
    assert harness.acked() == 0
    lake = sink(parts, "lake")
    assert lake.batches or lake.staged, "the lake's write went ahead of the database's"

    # WHEN the database is back and a new consumer runs, THEN all is delivered once
    sink(parts, "db").fail_next = 0
    harness.consume(parts)
    assert harness.acked() == 12
    assert row_ids(parts) == _ids(12)
    assert set(object_ids(parts)) == _ids(12)


def test_a_crash_between_write_and_ack_replays_without_a_duplicate_effect(
    harness: Harness, aws: AwsClients, tmp_path: Path
) -> None:
    # GIVEN 12 records, cut every 5, and a consumer that dies before its first ack
    harness.put(bodies(12))
    parts = build(config(harness.source_config()), aws, tmp_path)
    with pytest.raises(STOPPED):
        harness.consume(parts, crash=True)
    assert harness.acked() == 0 and row_ids(parts)  # written, never acked

    # WHEN a new consumer runs
    harness.consume(parts)

    # THEN every record has exactly one effect in the database ...
    assert harness.acked() == 12
    assert row_ids(parts) == _ids(12)
    # ... and, where positions are stable, in the lake's objects too (the replayed cut
    # rebuilds the same keys and overwrites them)
    if harness.positional_keys:
        assert object_ids(parts) == {i: 1 for i in _ids(12)}


def test_a_poison_record_is_quarantined_with_its_stage(
    harness: Harness, aws: AwsClients, tmp_path: Path
) -> None:
    # GIVEN good records around a non-JSON one and one that breaks the schema
    schema_broken = orjson.dumps({"type": "item", "id": "bad", "n": "not a number"})
    harness.put([*bodies(2), b"{not json", schema_broken, *bodies(2, start=2)])
    parts = build(config(harness.source_config()), aws, tmp_path)

    # WHEN a consumer runs
    harness.consume(parts)

    # THEN the good ones are written, the bad ones quarantined with their stage, all acked
    assert row_ids(parts) == _ids(4)
    stages = sorted(str(row["stage"]) for row in sink(parts, "quarantine").rows)
    assert stages == ["decode", "validate"]
    assert harness.acked() == 6


def test_a_source_with_nothing_to_read_is_harmless(
    harness: Harness, aws: AwsClients, tmp_path: Path
) -> None:
    parts = build(config(harness.source_config()), aws, tmp_path)
    harness.consume(parts)
    assert harness.acked() == 0 and harness.available() == 0
    assert all(not sink(parts, name).batches for name in ("lake", "db", "quarantine"))


def test_a_stop_releases_what_it_held(harness: Harness, aws: AwsClients, tmp_path: Path) -> None:
    # GIVEN 8 records and a consumer that stops abnormally with them buffered
    harness.put(bodies(8))
    parts = build(config(harness.source_config(), max_records=100), aws, tmp_path)
    sink(parts, "db").fail_next = 1_000_000
    with pytest.raises(STOPPED):
        harness.consume(parts)

    # THEN a new consumer is handed all of them at once (an SQS visibility of 60 s
    # would otherwise hold them), and delivers them
    assert harness.available() == 8
    sink(parts, "db").fail_next = 0
    harness.consume(parts)
    assert row_ids(parts) == _ids(8) and harness.acked() == 8


def test_a_replayed_cut_is_idempotent(harness: Harness, aws: AwsClients, tmp_path: Path) -> None:
    if not harness.can_rewind:
        pytest.skip(f"{harness.name} cannot be read again; its redelivery is the crash test")
    # GIVEN 12 records delivered
    harness.put(bodies(12))
    parts = build(config(harness.source_config()), aws, tmp_path)
    harness.consume(parts)
    first = object_ids(parts)

    # WHEN the source is read again from its start (checkpoints lost, a job rerun)
    harness.rewind()
    harness.consume(parts)

    # THEN the effect is the same: the same objects, each record once
    assert object_ids(parts) == first == {i: 1 for i in _ids(12)}
    assert row_ids(parts) == _ids(12)
