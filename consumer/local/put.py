"""`sluice put`: the lines of a JSON Lines file onto the pipeline's source, as they are.

Each line is one record, sent byte for byte, so bad records (truncated JSON, invalid
UTF-8, a field of the wrong type) can be put too and watched landing in the quarantine.
Kinesis: PutRecords in chunks of 500, the partition key taken from a top-level field of
the record, or a digest of the line when it has none. SQS: SendMessageBatch in chunks of
ten; the field names the message group of a FIFO queue. SQS bodies are text: a line that
is not UTF-8 cannot be sent there and is reported, not dropped silently.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.errors import EtlError, UsageError
from consumer.local.producer import put_all
from consumer.sources.sqs import queues
from consumer.sources.sqs.config import SqsSourceConfig

SQS_BATCH = 10


@dataclass
class PutResult:
    target: str
    sent: int = 0
    not_sent: list[str] = field(default_factory=list)  # why each unsendable line was skipped

    def summary(self) -> dict[str, Any]:
        return {"target": self.target, "sent": self.sent, "not_sent": self.not_sent}


def read_lines(path: str) -> list[bytes]:
    """The file's non-empty lines (`-`: standard input), without their line ends."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a JSON Lines file") from None
    return [line.rstrip(b"\r") for line in data.split(b"\n") if line.strip()]


def partition_key(line: bytes, key_field: str | None) -> str:
    """The record's `key_field` value as text; without one, a digest of the line: spread
    over the shards as a random key would be, but the same line always lands on the same
    shard, so a run can be repeated exactly."""
    if key_field:
        try:
            value = orjson.loads(line).get(key_field)
        except (orjson.JSONDecodeError, AttributeError):
            value = None
        if value is not None and str(value):
            return str(value)[:256]
    return hashlib.sha256(line).hexdigest()[:32]


def put(
    config: PipelineConfig, aws: AwsClients, lines: list[bytes], key_field: str | None
) -> PutResult:
    source = config.source
    if isinstance(source, SqsSourceConfig):
        return _send(aws, source, lines, key_field)
    result = PutResult(f"stream {source.stream}")
    records = [(partition_key(line, key_field), line) for line in lines]
    result.sent = put_all(aws.client("kinesis"), source.stream, records)
    return result


def _send(
    aws: AwsClients, source: SqsSourceConfig, lines: list[bytes], key_field: str | None
) -> PutResult:
    sqs = aws.client("sqs")
    url = queues.queue_url(sqs, source.queue)
    result = PutResult(f"queue {source.queue}")
    bodies: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        try:
            bodies.append((number, line.decode("utf-8")))
        except UnicodeDecodeError:
            result.not_sent.append(f"line {number}: not UTF-8 (SQS bodies are text)")
    for start in range(0, len(bodies), SQS_BATCH):
        chunk = bodies[start : start + SQS_BATCH]
        entries = [
            _entry(str(i), body, source.fifo, key_field) for i, (_, body) in enumerate(chunk)
        ]
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        for failed in response.get("Failed", []):
            number = chunk[int(failed["Id"])][0]
            result.not_sent.append(f"line {number}: {failed.get('Code')}: {failed.get('Message')}")
        result.sent += len(response.get("Successful", []))
    if result.sent == 0 and lines:
        raise EtlError(f"nothing could be sent to queue {source.queue}: {result.not_sent[0]}")
    return result


def _entry(entry_id: str, body: str, fifo: bool, key_field: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": body}
    if fifo:
        entry["MessageGroupId"] = partition_key(body.encode(), key_field)
        entry["MessageDeduplicationId"] = uuid.uuid4().hex  # put twice, sent twice
    return entry
