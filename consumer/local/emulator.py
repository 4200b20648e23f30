"""The embedded AWS emulator: a moto server on a free loopback port, in this process.

It answers the real AWS HTTP APIs, so the consumer talks to it exactly as it talks to AWS
or LocalStack; only the endpoint differs. `provision` creates what a pipeline config
names: the stream or queue, the checkpoint or ledger table, the buckets and the DynamoDB
sinks' tables. `sluice emulator start` keeps one up for a local dev loop (docs/tutorial.md).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from typing import Any, get_args

import orjson
from botocore.exceptions import ClientError

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.errors import EtlError
from consumer.loading import load_object
from consumer.local import emulator_reshard, emulator_sfn
from consumer.local.emulator_ecs import hold_tasks_running
from consumer.sinks.dynamodb import DynamoDbSinkConfig
from consumer.sinks.s3 import S3SinkConfig
from consumer.sources.kinesis.checkpoints import create_table
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.ledger import create_table as create_ledger_table

log = logging.getLogger(__name__)

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@contextmanager
def embedded_emulator(port: int = 0) -> Iterator[str]:
    """Start moto's server on 127.0.0.1 (`port`, or a free one) and yield its endpoint URL."""
    if port:
        _check_free(port)
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("the embedded emulator needs moto: pip install 'sluice[local]'") from exc
    for key, value in _FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    emulator_reshard.install()
    hold_tasks_running()  # ECS tasks run until stopped, as on ECS (consumer/local/emulator_ecs.py)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    emulator_sfn.install(port)  # state machines run (consumer/local/emulator_sfn.py)
    endpoint = f"http://{host}:{port}"
    log.info("emulator started", extra={"endpoint": endpoint})
    try:
        yield endpoint
    finally:
        server.stop()


def _check_free(port: int) -> None:
    """moto's server would wait forever for a port it cannot bind: refuse it here."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise EtlError(
                f"port {port} on 127.0.0.1 is in use ({exc.strerror}): is an emulator or "
                "LocalStack already running there? Use it, or pass --port N"
            ) from None


def provision(config: PipelineConfig, aws: AwsClients) -> list[str]:
    """Create what the config names, if missing: the stream and checkpoint table, or the
    queue (with its DLQ and redrive policy) and its ledger table, the buckets and the
    DynamoDB sinks' tables. Returns what it made sure exists, for the user to read."""
    source = config.source
    made: list[str] = []
    if isinstance(source, SqsSourceConfig):
        create_queue(aws.client("sqs"), source, config.emulator.max_receive_count)
        made.append(f"queue {source.queue}" + (f" (DLQ {source.dlq})" if source.dlq else ""))
        if source.exactly_once:
            create_ledger_table(aws.client("dynamodb"), source.ledger_table)
            made.append(f"table {source.ledger_table} (the SQS ledger)")
    else:
        kinesis = aws.client("kinesis")
        if source.stream not in kinesis.list_streams().get("StreamNames", []):
            kinesis.create_stream(StreamName=source.stream, ShardCount=config.emulator.shard_count)
            kinesis.get_waiter("stream_exists").wait(StreamName=source.stream)
        made.append(f"stream {source.stream}")
        create_table(aws.client("dynamodb"), source.checkpoint_table)
        made.append(f"table {source.checkpoint_table} (checkpoints)")
    s3 = aws.client("s3")
    for bucket in sorted(_buckets(config)):
        _create_bucket(s3, bucket, aws.region)
        made.append(f"bucket {bucket}")
    for table, keys in sorted(dynamodb_tables(config).items()):
        _create_dynamodb_table(aws.client("dynamodb"), table, keys)
        made.append(f"table {table}")
    return made


def create_queue(sqs: Any, source: SqsSourceConfig, max_receive_count: int) -> str:
    """The source queue, and its DLQ wired by a redrive policy when the config names one."""
    fifo = {"FifoQueue": "true"} if source.fifo else {}
    attributes: dict[str, str] = {**fifo, "VisibilityTimeout": str(source.visibility_timeout_s)}
    if source.dlq:
        dlq_url = sqs.create_queue(QueueName=source.dlq, Attributes=fifo)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes["RedrivePolicy"] = orjson.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
        ).decode()
    url: str = sqs.create_queue(QueueName=source.queue, Attributes=attributes)["QueueUrl"]
    return url


def _buckets(config: PipelineConfig) -> set[str]:
    sinks = [*config.sinks.values(), config.quarantine]
    return {sink.bucket for sink in sinks if isinstance(sink, S3SinkConfig)}


def _create_bucket(s3: Any, bucket: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    with suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(**kwargs)


def dynamodb_tables(config: PipelineConfig) -> dict[str, list[tuple[str, str]]]:
    """The DynamoDB sinks' tables: name -> [(key attribute, S or N)], hash key first."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for route in config.routes:
        for name in route.sinks:
            sink = config.sinks[name]
            if isinstance(sink, DynamoDbSinkConfig) and route.key:
                table = route.table or sink.table or route.name
                types = _output_types(route.output_model)
                tables[table] = [(k, _attribute_type(types.get(k))) for k in route.key[:2]]
    return tables


def _output_types(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    model = load_object(path, "output_model")
    fields = getattr(model, "model_fields", {})
    return {name: info.annotation for name, info in fields.items()}


def _attribute_type(annotation: Any) -> str:
    numbers = (int, float, Decimal)
    kinds = (annotation, *get_args(annotation))
    number = any(isinstance(k, type) and issubclass(k, numbers) for k in kinds)
    text = any(k is str for k in kinds)
    return "N" if number and not text else "S"


def _create_dynamodb_table(client: Any, table: str, keys: list[tuple[str, str]]) -> None:
    try:
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t in keys],
            KeySchema=[
                {"AttributeName": k, "KeyType": kind}
                for (k, _), kind in zip(keys, ("HASH", "RANGE"), strict=False)
            ],
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
