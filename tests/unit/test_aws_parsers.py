"""GetRecords read in one pass (consumer/aws/parsers.py) gives exactly what botocore's own
shape walk gives, with the same timestamp and blob parsers, for any body: ordinary
records, optional and unknown members, nulls, wrong types, empty and odd bodies."""

from __future__ import annotations

import base64
from typing import Any

import botocore.session
import orjson
from botocore import parsers
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.aws.clients import decode_blob, fast_timestamp
from consumer.aws.parsers import FastJSONParser, ParserFactory

SHAPE = (
    botocore.session.get_session()
    .get_service_model("kinesis")
    .operation_model("GetRecords")
    .output_shape
)
DEFAULTS = {"timestamp_parser": fast_timestamp, "blob_parser": decode_blob}

ODD = st.one_of(
    st.none(), st.integers(-5, 5), st.text(max_size=3), st.just([]), st.just({}), st.booleans()
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {
        "SequenceNumber": str(draw(st.integers(0, 10**40))),
        "ApproximateArrivalTimestamp": draw(
            st.one_of(st.integers(0, 2_000_000_000), st.floats(0, 2e9, allow_nan=False))
        ),
        "Data": base64.b64encode(draw(st.binary(max_size=40))).decode(),
        "PartitionKey": draw(st.text(min_size=1, max_size=8)),
    }
    if draw(st.integers(0, 9)) == 0:
        record["EncryptionType"] = draw(st.sampled_from(["NONE", "KMS"]))
    if draw(st.integers(0, 9)) == 0:
        record[draw(st.sampled_from([*record, "Unknown"]))] = draw(ODD)
    if draw(st.integers(0, 19)) == 0:
        record.pop(draw(st.sampled_from(list(record))))
    return record


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"Records": draw(st.lists(records(), max_size=6))}
    if draw(st.booleans()):
        body["NextShardIterator"] = "AAAA" * draw(st.integers(1, 5))
    if draw(st.booleans()):
        body["MillisBehindLatest"] = draw(st.integers(0, 10**9))
    if draw(st.integers(0, 4)) == 0:
        body["ChildShards"] = [
            {
                "ShardId": "shardId-000000000001",
                "ParentShards": ["shardId-000000000000"],
                "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "9"},
            }
        ]
    if draw(st.integers(0, 9)) == 0:
        body["Records"] = draw(ODD)
    return body


def _parse(parser: Any, raw: bytes) -> Any:
    """The parsed response, or the error's type where botocore itself fails."""
    try:
        return parser.parse({"status_code": 200, "headers": {}, "body": raw}, SHAPE)
    except Exception as exc:  # botocore's walk fails on some odd bodies; so must ours
        return type(exc)


def _both(raw: bytes) -> tuple[Any, Any]:
    return _parse(parsers.JSONParser(**DEFAULTS), raw), _parse(FastJSONParser(**DEFAULTS), raw)


@settings(max_examples=300, deadline=None)
@given(bodies())
def test_getrecords_in_one_pass_equals_botocores_walk(body: dict[str, Any]) -> None:
    plain, fast = _both(orjson.dumps(body))
    assert fast == plain


def test_odd_bodies_equal_botocores_walk_too() -> None:
    for raw in (b"", b"{}", b"[]", b"null", b"not json", b'{"Records": null}', b'{"Records": 3}'):
        plain, fast = _both(raw)
        assert fast == plain, raw


def test_the_factory_gives_the_fast_parser_for_json_only() -> None:
    factory = ParserFactory()
    factory.set_parser_defaults(**DEFAULTS)
    assert type(factory.create_parser("json")) is FastJSONParser
    assert type(factory.create_parser("query")) is parsers.QueryParser


def test_ordinary_bodies_take_the_one_pass() -> None:
    record = {
        "SequenceNumber": "49650000000000000000",
        "ApproximateArrivalTimestamp": 1_795_000_000.125,
        "Data": base64.b64encode(b'{"a": 1}').decode(),
        "PartitionKey": "k",
    }
    body = {"Records": [record] * 3, "NextShardIterator": "AAAA", "MillisBehindLatest": 0}
    parsed = FastJSONParser(**DEFAULTS)._get_records(body, SHAPE)
    assert parsed is not None
    assert parsed["Records"][0]["Data"] == b'{"a": 1}'
    assert parsed["MillisBehindLatest"] == 0
