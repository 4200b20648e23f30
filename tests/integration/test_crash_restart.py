"""A crash between the sink writes and the checkpoint loses and duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from tests.faults import Crash, CrashingCheckpoints
from tests.integration.harness import Harness, kinesis_reader, reading

pytestmark = pytest.mark.integration

BAD = b'{"type": "reading", "id": "broken'


def _records() -> list[tuple[str, bytes]]:
    records = [reading(i) for i in range(600)]
    records[17] = ("bad-17", BAD)
    records[333] = ("bad-333", b"\xff\xfe not utf-8")
    return records


@pytest.mark.parametrize("crash_at_commit", [1, 4, 9])
def test_crash_after_sink_write_before_checkpoint(
    aws: AwsClients, unique: str, tmp_path: Path, transform: str, crash_at_commit: int
) -> None:
    # GIVEN 600 records, two of them bad, and a consumer that dies right after the sinks
    # confirmed a flush but before its checkpoint is stored
    harness = Harness.create(aws, unique, tmp_path, transform=transform)
    harness.put(_records())
    first = harness.service()
    crashing = CrashingCheckpoints(
        kinesis_reader(first).checkpoints, crash_before_commit=crash_at_commit
    )
    kinesis_reader(first).checkpoints = crashing
    with pytest.raises(Crash):
        first.run(until_idle=True, max_runtime_s=60)
    first.close()
    assert crashing.commits == crash_at_commit

    # WHEN a new consumer starts from the stored checkpoints with different buffer sizes,
    # so its cuts fall elsewhere than the crashed run's
    harness.config = harness.config.model_copy(
        update={"buffer": harness.config.buffer.model_copy(update={"max_records": 23})}
    )
    harness.run()

    # THEN every record is in the lake or the quarantine exactly once, and in the database
    lake, quarantine = harness.lake_ids(), harness.quarantine_keys()
    good = {f"r{i}" for i in range(600)} - {"r17", "r333"}
    assert set(lake) == good
    assert max(lake.values()) == 1, [k for k, n in lake.items() if n > 1][:5]
    assert quarantine == {"bad-17": 1, "bad-333": 1}
    assert set(harness.db_ids()) == good
