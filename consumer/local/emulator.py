"""The embedded AWS emulator: a moto server on a free loopback port, in this process.

It answers the real AWS HTTP APIs, so the consumer talks to it exactly as it talks to AWS
or LocalStack; only the endpoint differs. `provision` creates what a pipeline config
names: the stream, the checkpoint table and the buckets.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import orjson

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.local import emulator_reshard, emulator_sfn
from consumer.local.emulator_ecs import hold_tasks_running
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
def embedded_emulator() -> Iterator[str]:
    """Start moto's server on 127.0.0.1 and yield its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("the embedded emulator needs moto: pip install 'sluice[local]'") from exc
    for key, value in _FAKE_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    emulator_reshard.install()
    hold_tasks_running()  # ECS tasks run until stopped, as on ECS (consumer/local/emulator_ecs.py)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    emulator_sfn.install(port)  # state machines run (consumer/local/emulator_sfn.py)
    endpoint = f"http://{host}:{port}"
    log.info("emulator started", extra={"endpoint": endpoint})
    try:
        yield endpoint
    finally:
        server.stop()


def provision(config: PipelineConfig, aws: AwsClients) -> None:
    """Create what the config names, if missing: the stream and checkpoint table, or the
    queue (with its DLQ and redrive policy) and its ledger table, and the buckets."""
    source = config.source
    if isinstance(source, SqsSourceConfig):
        create_queue(aws.client("sqs"), source, config.emulator.max_receive_count)
        if source.exactly_once:
            create_ledger_table(aws.client("dynamodb"), source.ledger_table)
    else:
        kinesis = aws.client("kinesis")
        if source.stream not in kinesis.list_streams().get("StreamNames", []):
            kinesis.create_stream(StreamName=source.stream, ShardCount=config.emulator.shard_count)
            kinesis.get_waiter("stream_exists").wait(StreamName=source.stream)
        create_table(aws.client("dynamodb"), source.checkpoint_table)
    s3 = aws.client("s3")
    for bucket in sorted(_buckets(config)):
        _create_bucket(s3, bucket, aws.region)


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
