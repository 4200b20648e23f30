"""One place that builds boto3 clients, so every client honours the same endpoint and region.

`AWS_ENDPOINT_URL` (read natively by boto3) points every client at LocalStack or the
embedded emulator; `endpoint_url` here overrides it for one process, which is what the
emulator and the tests use. An endpoint without a scheme is a configuration error here,
not a ValueError inside botocore; a failed call names its resource
(consumer/aws/resources.py).

LocalStack mode (`sluice --localstack`, `SLUICE_LOCALSTACK=1`, or `localstack=True`) builds
sessions and clients the way LocalStack's own client library does: localstack-client
resolves each service's endpoint (`LOCALSTACK_HOST`, default `localhost:4566`, `USE_SSL`;
`AWS_ENDPOINT_URL` when set) and gives the dummy credentials LocalStack accepts (unless
`AWS_ACCESS_KEY_ID` is set: LocalStack derives the account from it), so nothing needs
configuring but where LocalStack listens (consumer/aws/localstack.py).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.utils import parse_timestamp

from consumer.aws import resources
from consumer.aws.blobs import b64decode
from consumer.aws.localstack import (
    localstack_credentials,
    localstack_endpoint,
    localstack_requested,
)
from consumer.aws.parsers import ParserFactory
from consumer.errors import ConfigError


def fast_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, fast for what AWS sends most: epoch numbers (Kinesis
    `ApproximateArrivalTimestamp`, about 60 percent of botocore's GetRecords parsing) and
    ISO 8601 with a zone. Anything else (RFC 822 headers, zone-less strings) goes to
    botocore's own parser, so results are the same instants either way."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        slow: datetime = parse_timestamp(value)
        return slow
    return parsed


decode_blob = b64decode
"""The clients' parser of base64 blobs (Kinesis record data): pybase64's SIMD decoder,
about 0.9 µs for a 1.2 KB record where botocore's `base64.b64decode` takes 3.7; the same
bytes, and the same errors, for any input (consumer/aws/blobs.py)."""


def check_endpoint(url: str | None) -> str | None:
    """The endpoint, refused early when botocore would refuse it deep in a call stack."""
    if url is None:
        return None
    scheme, _, rest = url.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise ConfigError(
            f"AWS_ENDPOINT_URL {url!r} is not an http(s) URL: write it as "
            f"http://{url.split('://')[-1]} (or unset it to use AWS)"
        )
    return url


class AwsClients:
    """Caches one boto3 client per service; clients are thread-safe, sessions are not.

    `localstack` (default: `SLUICE_LOCALSTACK`) builds them for LocalStack through
    localstack-client; an explicit `endpoint_url` still wins."""

    def __init__(
        self,
        region: str | None = None,
        endpoint_url: str | None = None,
        localstack: bool | None = None,
    ) -> None:
        self.region = (
            region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        )
        self.localstack = localstack_requested() if localstack is None else localstack
        self._explicit_endpoint = endpoint_url
        if self.localstack and not endpoint_url:
            endpoint_url = localstack_endpoint()
        self.endpoint_url = check_endpoint(
            endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        )
        self._session = self._new_session()
        resources.register(self._session.events)  # failed calls name their resource
        factory = ParserFactory()  # GetRecords in one pass (consumer/aws/parsers.py)
        factory.set_parser_defaults(timestamp_parser=fast_timestamp, blob_parser=decode_blob)
        self._session._session.register_component("response_parser_factory", factory)
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _new_session(self) -> boto3.session.Session:
        if not self.localstack or os.environ.get("AWS_ACCESS_KEY_ID"):
            return boto3.session.Session(region_name=self.region)
        credentials = localstack_credentials()
        return boto3.session.Session(
            region_name=self.region,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            aws_session_token=credentials.token,
        )

    def endpoint_for(self, service: str) -> str | None:
        """The endpoint `client(service)` uses: in LocalStack mode the service's own, as
        localstack-client resolves it (one edge port today, but it is the library's call)."""
        if self.localstack and not self._explicit_endpoint:
            return localstack_endpoint(service)
        return self.endpoint_url

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service,
                    endpoint_url=self.endpoint_for(service),
                    config=BotoConfig(
                        retries={"max_attempts": 3, "mode": "standard"},
                        max_pool_connections=32,
                        connect_timeout=5,
                        read_timeout=30,
                    ),
                )
            return self._clients[service]
