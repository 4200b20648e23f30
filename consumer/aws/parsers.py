"""botocore's JSON response parser with Kinesis GetRecords read in one pass.

botocore parses a response by walking its shape: for a GetRecords response of 1,000
reference events, a handler call per member of every record, after the stdlib's
`json.loads`. That was most of the polling reader's cost per record (12 to 28 µs, more
than validating and writing it). `GetRecordsOutput` bodies are instead loaded with orjson
and each record built directly, with the parser's own timestamp and blob parsers
(`fast_timestamp`, pybase64): the same dict botocore would build, members absent when the
body lacks them. Anything unexpected in a record (a missing or null member, a value of
another type) sends the whole body down botocore's own walk, so the result never differs;
`tests/unit/test_aws_parsers.py` compares both on generated bodies.
"""

from __future__ import annotations

from typing import Any

import orjson
from botocore import parsers
from botocore.model import Shape

_RECORD = ("SequenceNumber", "ApproximateArrivalTimestamp", "Data", "PartitionKey")


class FastJSONParser(parsers.JSONParser):  # type: ignore[misc]  # botocore has no types
    def _handle_json_body(self, raw_body: bytes, shape: Shape) -> Any:
        if shape.name != "GetRecordsOutput" or not raw_body:
            return super()._handle_json_body(raw_body, shape)
        try:
            body = orjson.loads(raw_body)
        except orjson.JSONDecodeError:
            return super()._handle_json_body(raw_body, shape)
        fast = self._get_records(body, shape) if type(body) is dict else None
        return self._parse_shape(shape, body) if fast is None else fast

    def _get_records(self, body: dict[str, Any], shape: Shape) -> dict[str, Any] | None:
        """GetRecords' output as botocore builds it, or None when a record is unusual."""
        records = body.get("Records")
        if type(records) is not list:
            return None
        stamp, blob = self._timestamp_parser, self._blob_parser
        out = []
        for record in records:
            if type(record) is not dict or len(record) != len(_RECORD):
                return None  # EncryptionType, a missing member, an unknown one: botocore's walk
            sequence, arrival, data, key = (record.get(name) for name in _RECORD)
            if not (type(sequence) is str and type(data) is str and type(key) is str):
                return None
            if type(arrival) not in (int, float):
                return None
            out.append(
                {
                    "SequenceNumber": sequence,
                    "ApproximateArrivalTimestamp": stamp(arrival),
                    "Data": blob(data),
                    "PartitionKey": key,
                }
            )
        rest = {name: value for name, value in body.items() if name != "Records"}
        parsed: dict[str, Any] = self._parse_shape(shape, rest) if rest else {}
        parsed["Records"] = out
        return parsed


class ParserFactory(parsers.ResponseParserFactory):  # type: ignore[misc]
    """botocore's factory, with `FastJSONParser` for the JSON protocol."""

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return FastJSONParser(**self._defaults)
        return super().create_parser(protocol_name)
