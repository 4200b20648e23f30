"""Messages per second from SQS on the embedded emulator: sluice's reader (decode, validate,
transform, buffer, write to a memory sink, delete after the flush) beside a plain boto3
loop that receives, parses and deletes, measured in the same run on the same emulator.

The emulator serializes SQS calls, so both figures are bound by it; the ratio shows what
sluice's guarantees cost on top of the calls any consumer must make.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from consumer.aws.clients import AwsClients
from consumer.config import parse_config
from consumer.local.emulator import embedded_emulator
from consumer.runtime.service import build_service

MESSAGES = 300


def _body(i: int) -> str:
    return orjson.dumps(
        {"type": "reading", "id": f"r{i}", "key": f"k{i % 7}", "seq": i, "value": i / 3}
    ).decode()


def _fill(sqs: Any, url: str) -> None:
    for start in range(0, MESSAGES, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": _body(start + i)} for i in range(10)],
        )


def _plain_loop(sqs: Any, url: str) -> float:
    started, done = time.perf_counter(), 0
    while done < MESSAGES:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            orjson.loads(message["Body"])
        if messages:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
            done += len(messages)
    return MESSAGES / (time.perf_counter() - started)


def _sluice(aws: AwsClients, queue: str) -> float:
    raw = {
        "name": "bench-sqs",
        "source": {
            "type": "sqs",
            "queue": queue,
            "receivers": 1,
            "wait_time_s": 0,
            "idle_flush_s": 0.5,
        },
        "routes": [
            {
                "name": "readings",
                "record_type": "reading",
                "schema": "tests.integration.harness:Reading",
                "transform": "tests.integration.harness:reading_row",
                "sinks": ["mem"],
            }
        ],
        "sinks": {"mem": {"type": "memory"}},
        "quarantine": {"type": "memory"},
        "buffer": {"max_records": 100, "max_age_s": 0.5},
        "metrics": {"sink": "off"},
    }
    service = build_service(parse_config(raw, "bench"), Path.cwd(), aws)
    started = time.perf_counter()
    service.run(until_idle=True, max_runtime_s=300)
    # The idle wait at the end is not work: take it out of the measured time.
    elapsed = time.perf_counter() - started - 0.5
    service.close()
    if service.stats.records_in != MESSAGES:
        raise RuntimeError(f"sluice read {service.stats.records_in} of {MESSAGES} messages")
    return MESSAGES / elapsed


def run() -> list[tuple[str, float]]:
    with embedded_emulator() as endpoint:
        aws = AwsClients(endpoint_url=endpoint)
        sqs = aws.client("sqs")
        plain_url = sqs.create_queue(QueueName="bench-plain")["QueueUrl"]
        _fill(sqs, plain_url)
        plain = _plain_loop(sqs, plain_url)
        sqs.create_queue(QueueName="bench-sluice")
        _fill(sqs, sqs.get_queue_url(QueueName="bench-sluice")["QueueUrl"])
        ours = _sluice(aws, "bench-sluice")
    return [
        ("sqs: plain boto3 receive/parse/delete loop (baseline)", plain),
        ("sqs: sluice reader, pipeline, memory sink, delete after flush", ours),
    ]
