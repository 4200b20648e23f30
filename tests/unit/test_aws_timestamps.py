"""The fast timestamp parser every sluice client uses gives botocore's instants."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.utils import parse_timestamp

from consumer.aws.clients import AwsClients, fast_timestamp


@pytest.mark.parametrize(
    "value",
    [
        1795000000.123,  # Kinesis ApproximateArrivalTimestamp (JSON number)
        1795000000,
        0,
        "2026-11-22T10:11:12.345Z",  # S3, DynamoDB streams, CloudWatch (ISO 8601)
        "2026-11-22T10:11:12+02:00",
        "Sun, 22 Nov 2026 10:11:12 GMT",  # RFC 822 (HTTP headers: Last-Modified)
        "2026-11-22T10:11:12",  # no zone: botocore's own rule decides
        "1795000000.5",  # epoch as a string
    ],
)
def test_the_same_instant_as_botocore(value: Any) -> None:
    ours, theirs = fast_timestamp(value), parse_timestamp(value)
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()


def test_clients_parse_with_it() -> None:
    # GIVEN sluice's clients, WHEN a Kinesis client's parser is built
    kinesis = AwsClients(region="us-east-1", endpoint_url="http://127.0.0.1:9").client("kinesis")
    parser = kinesis._endpoint._response_parser_factory.create_parser("json")
    # THEN it uses the fast parser, not botocore's default
    assert parser._timestamp_parser is fast_timestamp
