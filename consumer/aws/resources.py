"""Which AWS resource a failed call was about, carried on its error.

AWS error messages often omit the resource ("Requested resource not found", "The specified
queue does not exist"), so a one-line explanation could not name it. Two botocore event
handlers, registered on every client `AwsClients` builds, remember the resource a call
names (its `StreamName`, `QueueUrl`, `TableName`, `Bucket`, ...) and, when the call fails,
put it into the error response as `Error.SluiceResource` (and the operation's service as
`Error.SluiceService`). `consumer/cli/failures.py` reads them.
"""

from __future__ import annotations

from typing import Any

RESOURCE_FIELD = "SluiceResource"
SERVICE_FIELD = "SluiceService"

# (request parameter, what it names), the first present wins
_PARAMETERS: tuple[tuple[str, str], ...] = (
    ("StreamName", "stream"),
    ("StreamARN", "stream"),
    ("QueueUrl", "queue"),
    ("QueueName", "queue"),
    ("TableName", "table"),
    ("Bucket", "bucket"),
    ("SecretId", "secret"),
    ("TopicArn", "topic"),
    ("cluster", "cluster"),
    ("taskDefinition", "task definition"),
)
_CONTEXT_KEY = "sluice_resource"


def describe(params: dict[str, Any]) -> str | None:
    """'stream clicks', 'queue jobs', 's3://bucket/key' from a call's parameters."""
    for name, kind in _PARAMETERS:
        value = params.get(name)
        if not isinstance(value, str) or not value:
            continue
        if name == "Bucket":
            key = params.get("Key")
            return f"s3://{value}/{key}" if isinstance(key, str) else f"bucket {value}"
        if name in ("QueueUrl", "StreamARN", "TopicArn"):
            value = value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return f"{kind} {value}"
    return None


def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """`provide-client-params` handler: note the resource the call names."""
    resource = describe(params)
    if resource is not None:
        context[_CONTEXT_KEY] = resource


def tag_error(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    """`after-call` handler: on an error response, name the resource and the service."""
    error = parsed.get("Error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return
    if _CONTEXT_KEY in context:
        error.setdefault(RESOURCE_FIELD, context[_CONTEXT_KEY])
    error.setdefault(SERVICE_FIELD, str(model.service_model.service_id))


def register(events: Any) -> None:
    events.register("provide-client-params", remember, unique_id="sluice-remember-resource")
    events.register("after-call", tag_error, unique_id="sluice-tag-error")
