"""Every bad input of the reliability issue lands in the quarantine with its reason, and
the pipeline keeps going; hostile partition values stay under their prefix."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from consumer.aws.clients import AwsClients
from consumer.sinks.s3 import iter_objects
from consumer.sources.kinesis import kpl
from tests.integration.harness import Harness, reading

pytestmark = pytest.mark.integration

BAD: dict[str, tuple[bytes, str, str]] = {
    "nan": (
        b'{"type": "reading", "id": "n", "key": "k", "seq": 1, "value": NaN}',
        "decode",
        "InvalidJson",
    ),
    "infinity": (
        b'{"type": "reading", "id": "i", "key": "k", "seq": 1, "value": Infinity}',
        "decode",
        "InvalidJson",
    ),
    "deep": (b"[" * 100_000 + b"]" * 100_000, "decode", "NestingTooDeep"),
    "not-json": (b"hello, I am not JSON", "decode", "InvalidJson"),
    # Magic but a wrong checksum: a plain record to KCL too, and its bytes are not UTF-8.
    "bad-kpl": (kpl.MAGIC + b"\x1a\x05hello" + b"\x00" * 16, "decode", "InvalidUtf8"),
}


def test_bad_inputs_are_quarantined_and_hostile_values_are_stored_safely(
    aws: AwsClients, unique: str, tmp_path: Path
) -> None:
    # GIVEN a route partitioned by `key`, hostile keys, and every bad input between good ones
    harness = Harness.create(aws, unique, tmp_path)
    route = harness.config.routes[0].model_copy(
        update={
            "partition": harness.config.routes[0].partition.model_copy(update={"fields": ("key",)})
        }
    )
    harness.config = harness.config.model_copy(update={"routes": (route,)})
    hostile = [
        "../../etc",
        "%2e%2e",
        "a/b",
        "nul\x00byte",
        "x" * 5_000,
        "\u0440\u0430\u0443\u0440\u0430l",  # Cyrillic look-alikes of "paypal"
        "'; DROP TABLE readings; --",
    ]
    good = [
        (
            f"g{i}",
            orjson.dumps({"type": "reading", "id": f"g{i}", "key": key, "seq": i, "value": 1.5}),
        )
        for i, key in enumerate(hostile)
    ]
    harness.put(
        [reading(i) for i in range(10)]
        + good
        + [(name, data) for name, (data, _, _) in BAD.items()]
    )

    # WHEN consumed
    service = harness.run()

    # THEN each bad one is quarantined with its stage and type; good ones are all written
    envelopes = {row["partition_key"]: row for row in harness.quarantine_rows()}
    assert {k: (e["stage"], e["error_type"]) for k, e in envelopes.items()} == {
        name: (stage, kind) for name, (_, stage, kind) in BAD.items()
    }
    assert set(harness.lake_ids()) == {f"r{i}" for i in range(10)} | {
        f"g{i}" for i in range(len(hostile))
    }
    assert set(harness.db_ids()) >= {f"g{i}" for i in range(len(hostile))}
    assert service.stats.records_in == 10 + len(hostile) + len(BAD)
    # AND every key stays under its prefix, short enough for S3, one partition per value
    bucket = f"lake-{unique}"
    keys = [key for key, _ in iter_objects(aws.client("s3"), bucket, "lake")]
    assert all(k.startswith("lake/readings/dt=") and len(k.encode()) < 1024 for k in keys)
    assert all(".." not in k.split("/") and "\x00" not in k for k in keys)
    assert len({k.split("/")[4] for k in keys if "/key=" in k}) == len(set(hostile)) + 10
