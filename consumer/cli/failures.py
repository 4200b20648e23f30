"""Expected failures as one line each, with the README's exit codes.

A missing stream, an endpoint nobody listens on, denied access or expired credentials are
not bugs: the user should read what is missing and what to do, not a traceback.
`explain` turns such an exception (anywhere in its cause chain) into a `Failure`: one line
naming the resource and a hint, and the exit code (2 for configuration and arguments, 1
for runtime failures). Anything it does not recognise is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from consumer.aws.resources import RESOURCE_FIELD, SERVICE_FIELD
from consumer.errors import ConfigError, EtlError, UsageError

CONFIG, RUNTIME = 2, 1

_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NoSuchBucket",
        "NoSuchKey",
        "404",
        "NotFound",
        "ClusterNotFoundException",
        "TableNotFoundException",
        "NoSuchEntity",
    }
)
_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AllAccessDisabled",
        "403",
        "Forbidden",
    }
)
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
_BAD_CREDENTIALS = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
        "AuthFailure",
    }
)


@dataclass(frozen=True)
class Failure:
    code: int
    line: str


def one_line(text: str) -> str:
    return " ".join(text.split())


def explain(exc: BaseException) -> Failure | None:
    """The one-line explanation of an expected failure; None for a bug."""
    if isinstance(exc, UsageError):
        return Failure(CONFIG, f"invalid argument: {one_line(str(exc))}")
    if isinstance(exc, ConfigError):  # several fields may fail at once: a line each
        return Failure(CONFIG, f"configuration error: {str(exc).strip()}")
    for cause in causes(exc):
        for explainer in _EXPLAINERS:
            failure = explainer(cause)
            if failure is not None:
                return failure
    if isinstance(exc, EtlError):
        return Failure(RUNTIME, one_line(str(exc)))
    return None


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and what caused it, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None


def _local() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL") or None


def _missing_hint() -> str:
    if _local():
        return (
            "create it, or run `sluice emulator start --config FILE`, which creates what "
            "the pipeline names"
        )
    return "create it (infra/terraform) or fix its name; AWS_ENDPOINT_URL is unset, so this is AWS"


def _client_error(exc: BaseException) -> Failure | None:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "?"))
    service = str(error.get(SERVICE_FIELD) or "AWS")
    resource = error.get(RESOURCE_FIELD)
    if code == "NoSuchBucket" and error.get("BucketName"):
        resource = f"bucket {error['BucketName']}"
    what = f"{service} {resource}" if resource else service
    call = f"({exc.operation_name})"
    message = one_line(str(error.get("Message") or code))
    if code in _NOT_FOUND and resource is None:
        line = f"{service} {call}: not found: {message}: {_missing_hint()}"
    elif code in _NOT_FOUND:
        line = f"{what} does not exist {call}: {_missing_hint()}"
    elif code in _DENIED:
        line = (
            f"access denied to {what} {call}: grant {service.lower()}:{exc.operation_name}"
            f"{' on it' if resource else ''} to the identity in use "
            "(`aws sts get-caller-identity` names it)"
        )
    elif code in _EXPIRED:
        line = (
            f"the AWS credentials have expired {call} on {what}: refresh them "
            "(`aws sso login`, new session credentials) and run again"
        )
    elif code in _BAD_CREDENTIALS:
        hint = "check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" + (
            f" (AWS_ENDPOINT_URL is {_local()})" if _local() else ""
        )
        line = f"{service} rejected the credentials ({code}) {call}: {hint}"
    else:
        line = f"{what} {call} failed: {code}: {message}"
    return Failure(RUNTIME, line)


def _botocore_error(exc: BaseException) -> Failure | None:
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        where = (
            "for the emulator any value works, e.g. `testing`"
            if _local()
            else "AWS_ENDPOINT_URL is unset, so this is AWS; for the emulator, export the "
            "lines `sluice emulator start` printed"
        )
        return Failure(
            RUNTIME,
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY ({where})",
        )
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOError):
        return Failure(RUNTIME, f"the AWS credentials have expired: {one_line(str(exc))}")
    if isinstance(exc, bx.NoRegionError):
        return Failure(CONFIG, "no AWS region: set AWS_REGION (e.g. us-east-1)")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "?")
        hint = (
            "start it (`sluice emulator start`) or fix AWS_ENDPOINT_URL"
            if _local()
            else "check the network path to AWS (VPC endpoints, NAT) and AWS_REGION"
        )
        return Failure(RUNTIME, f"cannot reach {_host(url)}: nothing answers there: {hint}")
    if isinstance(exc, bx.ReadTimeoutError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "?")
        return Failure(RUNTIME, f"{_host(url)} did not answer in time: is it overloaded?")
    return None


def _host(url: str) -> str:
    match = re.match(r"^(https?://[^/]+)", url)
    return match.group(1) if match else url


def _postgres_error(exc: BaseException) -> Failure | None:
    try:
        import psycopg
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    hint = "check the sink's url (or the PG* variables) and that the server runs"
    if isinstance(exc, PoolTimeout):
        return Failure(RUNTIME, f"no PostgreSQL connection in time: {hint}")
    if isinstance(exc, psycopg.OperationalError) and "connection" in str(exc):
        first = one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return Failure(RUNTIME, f"cannot connect to PostgreSQL: {first}: {hint}")
    return None


def _file_error(exc: BaseException) -> Failure | None:
    if isinstance(exc, OSError) and exc.filename is not None:
        return Failure(RUNTIME, f"{exc.filename}: {exc.strerror or exc}")
    return None


_EXPLAINERS: tuple[Callable[[BaseException], Failure | None], ...] = (
    _client_error,
    _botocore_error,
    _postgres_error,
    _file_error,
)
