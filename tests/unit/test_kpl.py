"""The KPL codec against the reference implementation (aws-kinesis-agg), both ways."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from consumer.sources.kinesis import kpl

RECORDS = [
    ("pk-a", b'{"n": 1}'),
    ("pk-b", b""),
    ("pk-a", bytes(range(256))),
    ("\u00fcnic\u00f8de", b"x" * 5000),
]


def test_our_aggregates_split_back_exactly() -> None:
    users = kpl.split(kpl.aggregate(RECORDS))
    assert users is not None
    assert [(u.partition_key, u.data) for u in users] == RECORDS


def test_reference_aggregates_decode_with_ours() -> None:
    aggregator = pytest.importorskip("aws_kinesis_agg.aggregator")
    collector = aggregator.RecordAggregator()
    for key, data in RECORDS:
        collector.add_user_record(key, data, explicit_hash_key="12345")
    _, _, blob = collector.clear_and_get().get_contents()
    users = kpl.deaggregate(blob)
    assert [(u.partition_key, u.data) for u in users] == RECORDS
    assert {u.explicit_hash_key for u in users} == {"12345"}


def test_our_aggregates_decode_with_the_reference() -> None:
    deaggregator = pytest.importorskip("aws_kinesis_agg.deaggregator")
    entry = {
        "Data": kpl.aggregate(RECORDS),
        "PartitionKey": "pk-a",
        "SequenceNumber": "1",
        "ApproximateArrivalTimestamp": datetime.now(UTC),
        "EncryptionType": "NONE",
    }
    users = list(deaggregator.iter_deaggregate_records([entry], data_format="Boto3"))
    decoded = [
        (u["kinesis"]["partitionKey"], base64.b64decode(u["kinesis"]["data"])) for u in users
    ]
    assert decoded == RECORDS
    assert [u["kinesis"]["subSequenceNumber"] for u in users] == [0, 1, 2, 3]


def test_a_malformed_body_with_a_valid_digest_is_an_error() -> None:
    body = b"\x1a\xff"
    with pytest.raises(kpl.KplFormatError):
        kpl.split(kpl.MAGIC + body + hashlib.md5(body, usedforsecurity=False).digest())
