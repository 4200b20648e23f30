"""Pointing sluice at LocalStack through localstack-client, LocalStack's own client library.

localstack-client resolves where LocalStack listens (`AWS_ENDPOINT_URL` when set, else
`LOCALSTACK_HOST`, default `localhost:4566`, https with `USE_SSL`) and which dummy
credentials to send. `AwsClients` (consumer/aws/clients.py, where every client is built)
uses it in LocalStack mode; `use_localstack` (`sluice --localstack`) turns that mode on for
this process and, through the environment, for the processes sluice starts: a KCL daemon
(Java: it reads `AWS_ENDPOINT_URL`), its children, local ECS tasks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.credentials import Credentials

LOCALSTACK_ENV = "SLUICE_LOCALSTACK"
_TRUE = {"1", "true", "yes", "on"}


def localstack_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """True when `SLUICE_LOCALSTACK` asks for LocalStack mode."""
    return environ.get(LOCALSTACK_ENV, "").strip().lower() in _TRUE


def localstack_endpoint(service: str = "s3", host: str | None = None) -> str:
    """LocalStack's endpoint for `service`, as localstack-client resolves it:
    `AWS_ENDPOINT_URL` when set, else `host` or `LOCALSTACK_HOST` (`localhost:4566`)."""
    from localstack_client.config import get_service_endpoint

    endpoint: str | None = get_service_endpoint(service, localstack_host=host)
    if endpoint is None:
        raise ValueError(f"localstack-client knows no endpoint for the service {service!r}")
    return endpoint


def localstack_credentials() -> Credentials:
    """The dummy credentials localstack-client's sessions use (LocalStack accepts any)."""
    from localstack_client.session import Session

    credentials: Credentials = Session().get_credentials()
    return credentials


def use_localstack(host: str | None = None) -> str:
    """Point this process and the processes it starts at LocalStack: LocalStack mode on,
    `AWS_ENDPOINT_URL` at the endpoint localstack-client resolves, its credentials and a
    region where none are set (all in `os.environ`). Returns the endpoint."""
    endpoint = localstack_endpoint(host=host)
    environ = os.environ
    environ[LOCALSTACK_ENV] = "1"
    environ["AWS_ENDPOINT_URL"] = endpoint
    if not environ.get("AWS_ACCESS_KEY_ID"):
        credentials = localstack_credentials()
        environ["AWS_ACCESS_KEY_ID"] = credentials.access_key
        environ["AWS_SECRET_ACCESS_KEY"] = credentials.secret_key
        environ["AWS_SESSION_TOKEN"] = credentials.token or ""
    if not (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")):
        environ["AWS_REGION"] = "us-east-1"
    return endpoint
