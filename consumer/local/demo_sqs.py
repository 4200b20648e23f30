"""The demo's SQS phase: the same pipeline fed from a queue, and a job message sent twice.

SQS bodies are text, so events whose bytes are not UTF-8 (gzip, invalid UTF-8) are only
sent through Kinesis. The job (`summarize-lake`) writes one summary object to the lake;
sending its message twice shows the idempotency ledger at work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from batch_jobs.messages.runner import JobRunner
from batch_jobs.messages.spec import JobLedger, create_ledger_table
from batch_jobs.registry import jobs_with
from consumer.aws.clients import AwsClients
from consumer.config import load_config
from consumer.local.emulator import provision
from consumer.runtime.service import build_service
from consumer.sinks.s3 import S3SinkConfig
from consumer.sources.sqs import queues
from consumer.sources.sqs.config import SqsSourceConfig

LEDGER_TABLE = "sluice-demo-jobs"


def sendable(events: Sequence[Any]) -> list[Any]:
    out = []
    for event in events:
        try:
            event.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(event)
    return out


def send(aws: AwsClients, queue: str, events: Sequence[Any]) -> None:
    sqs = aws.client("sqs")
    url = queues.queue_url(sqs, queue)
    for start in range(0, len(events), 10):
        entries = [
            {
                "Id": str(i),
                "MessageBody": e.data.decode(),
                "MessageAttributes": {"event_key": {"DataType": "String", "StringValue": e.key}},
            }
            for i, e in enumerate(events[start : start + 10])
        ]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")
        if failed:
            raise RuntimeError(f"{len(failed)} messages could not be sent to {queue}")


def run_sqs_phase(
    aws: AwsClients,
    config_path: Path,
    events: Sequence[Any],
    say: Callable[[str], None],
    max_runtime_s: float,
) -> dict[str, int]:
    config = load_config(config_path)
    source = config.source
    assert isinstance(source, SqsSourceConfig)
    provision(config, aws)
    send(aws, source.queue, events)
    say(f"sent {len(events)} messages to SQS queue {source.queue}")
    service = build_service(config, Path.cwd(), aws)
    try:
        service.run(until_idle=True, max_runtime_s=max_runtime_s)
    finally:
        service.close()
    say(f"SQS queue drained: {service.stats.records_in} records")
    return run_summary_job(aws, config, source) | {"sqs_records_sent": len(events)}


def run_summary_job(aws: AwsClients, config: Any, source: SqsSourceConfig) -> dict[str, int]:
    lake = next(s for s in config.sinks.values() if isinstance(s, S3SinkConfig))
    s3 = aws.client("s3")

    def summarize_lake(params: dict[str, Any]) -> None:
        listed = s3.list_objects_v2(Bucket=lake.bucket, Prefix=params["prefix"] + "/")
        summary = {"objects": listed.get("KeyCount", 0), "at": time.time()}
        s3.put_object(
            Bucket=lake.bucket, Key="reports/lake-summary.json", Body=orjson.dumps(summary)
        )

    create_ledger_table(aws.client("dynamodb"), LEDGER_TABLE)
    job = orjson.dumps(
        {
            "job": "summarize-lake",
            "params": {"prefix": lake.prefix},
            "idempotency_key": f"summary-{int(time.time())}",
        }
    ).decode()
    sqs = aws.client("sqs")
    jobs_queue = queues.queue_url(sqs, sqs.create_queue(QueueName="sluice-demo-jobs")["QueueUrl"])
    for _ in range(2):
        sqs.send_message(QueueUrl=jobs_queue, MessageBody=job)
    runner = JobRunner(
        sqs,
        jobs_queue,
        None,
        JobLedger(aws.client("dynamodb"), LEDGER_TABLE),
        jobs=jobs_with({"summarize-lake": summarize_lake}),
        wait_time_s=1,
    )
    counts = runner.run(until_idle=True)
    return {"jobs_run": counts.ran, "job_duplicates_skipped": counts.skipped_done}
