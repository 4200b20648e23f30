"""`sluice validate --connect`: before a first run, ask every resource the pipeline names.

The source (stream or queue, its checkpoint or ledger table, the DLQ), every bucket (a
probe object under `<prefix>/_sluice_probe/` is written and deleted, so "writable" is an
answer, not a guess), every DynamoDB sink table and its key schema, and the databases
(consumer/sinks/preflight_db.py). Each answer is one `Check` line naming the field to
change; a failure found here is one a flush would otherwise find, after the first records
were read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.pipeline.route import Route
from consumer.sinks import preflight_db
from consumer.sinks.dynamodb import DynamoDbSinkConfig
from consumer.sinks.postgres import PostgresSinkConfig
from consumer.sinks.preflight_db import Check
from consumer.sinks.s3 import S3SinkConfig
from consumer.sinks.sqlite import SqliteSinkConfig
from consumer.sinks.tables import TableUse, table_uses
from consumer.sources.sqs.config import SqsSourceConfig

Explain = Callable[[BaseException], str]


def preflight(
    config: PipelineConfig, routes: Sequence[Route], aws: AwsClients, base: Path, explain: Explain
) -> list[Check]:
    checks = _source(config, aws, explain)
    checks += _buckets(config, aws, explain)
    uses = table_uses(config, routes)
    for name, sink in config.sinks.items():
        mine = [use for use in uses if use.sink == name]
        if not mine:
            continue
        if isinstance(sink, PostgresSinkConfig):
            checks += preflight_db.postgres(name, sink, mine)
        elif isinstance(sink, SqliteSinkConfig):
            checks += preflight_db.sqlite(name, sink, mine, base)
        elif isinstance(sink, DynamoDbSinkConfig):
            checks += [_dynamodb(aws, use, explain) for use in mine]
    return checks


def _ask(field: str, what: str, call: Callable[[], str], explain: Explain) -> Check:
    try:
        return Check(field, what, True, call())
    except Exception as exc:
        return Check(field, what, False, explain(exc))


def _source(config: PipelineConfig, aws: AwsClients, explain: Explain) -> list[Check]:
    source = config.source
    dynamodb = aws.client("dynamodb")
    if isinstance(source, SqsSourceConfig):
        sqs = aws.client("sqs")
        checks = [_ask("source.queue", f"queue {source.queue}", _queue(sqs, source.queue), explain)]
        if source.dlq:
            checks.append(
                _ask("source.dlq", f"queue {source.dlq}", _queue(sqs, source.dlq), explain)
            )
        if source.exactly_once:
            checks.append(
                _table_check(
                    dynamodb,
                    "source.ledger_table",
                    source.ledger_table,
                    source.create_ledger_table,
                    explain,
                )
            )
        return checks
    kinesis = aws.client("kinesis")

    def stream() -> str:
        summary = kinesis.describe_stream_summary(StreamName=source.stream)
        found = summary["StreamDescriptionSummary"]
        return f"{found['StreamStatus']}, {found['OpenShardCount']} open shard(s)"

    return [
        _ask("source.stream", f"stream {source.stream}", stream, explain),
        _table_check(
            dynamodb,
            "source.checkpoint_table",
            source.checkpoint_table,
            source.create_checkpoint_table,
            explain,
        ),
    ]


def _queue(sqs: Any, queue: str) -> Callable[[], str]:
    def ask() -> str:
        url = queue if queue.startswith(("http://", "https://")) else None
        url = url or sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return "exists"

    return ask


def _table_check(dynamodb: Any, field: str, table: str, created: bool, explain: Explain) -> Check:
    what = f"table {table}"
    try:
        dynamodb.describe_table(TableName=table)
        return Check(field, what, True, "exists")
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code == "ResourceNotFoundException" and created:
            return Check(field, what, True, "missing; created on start (create_* = true)")
        return Check(field, what, False, explain(exc))


def _buckets(config: PipelineConfig, aws: AwsClients, explain: Explain) -> list[Check]:
    s3 = aws.client("s3")
    sinks = [(f"sinks.{n}.bucket", s) for n, s in config.sinks.items()]
    sinks.append(("quarantine.bucket", config.quarantine))
    seen: set[str] = set()
    checks = []
    for field, sink in sinks:
        if not isinstance(sink, S3SinkConfig) or sink.bucket in seen:
            continue
        seen.add(sink.bucket)
        checks.append(_ask(field, f"bucket {sink.bucket}", _probe(s3, sink), explain))
    return checks


def _probe(s3: Any, sink: S3SinkConfig) -> Callable[[], str]:
    def ask() -> str:
        s3.list_objects_v2(Bucket=sink.bucket, MaxKeys=1)  # HeadBucket's errors have no body
        key = "/".join(p for p in (sink.prefix.strip("/"), "_sluice_probe", uuid.uuid4().hex) if p)
        s3.put_object(Bucket=sink.bucket, Key=key, Body=b"sluice validate --connect")
        s3.delete_object(Bucket=sink.bucket, Key=key)
        return "exists and is writable (a probe object was written and deleted)"

    return ask


def _dynamodb(aws: AwsClients, use: TableUse, explain: Explain) -> Check:
    what = f"table {use.table} (route {use.route.name})"

    def ask() -> str:
        found = aws.client("dynamodb").describe_table(TableName=use.table)["Table"]
        schema = [k["AttributeName"] for k in found["KeySchema"]]
        key = list(use.route.config.key)
        if key and schema != key[: len(schema)]:
            raise _KeyMismatch(
                f"its key is ({', '.join(schema)}), the route's ({', '.join(key)}): the "
                "route's key must be the table's key"
            )
        return f"exists, key ({', '.join(schema)})"

    return _ask(
        use.table_field,
        what,
        ask,
        lambda exc: str(exc) if isinstance(exc, _KeyMismatch) else explain(exc),
    )


class _KeyMismatch(Exception):
    pass
