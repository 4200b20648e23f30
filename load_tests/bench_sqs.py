"""Messages per second from SQS on the embedded emulator: sluice's source (decode,
validate, transform, buffer, write to an S3 lake on the emulator, delete after the flush),
without and with its exactly-once ledger (claims in DynamoDB, staged objects published
after the commit), beside a plain boto3 loop that receives, parses and deletes; the two
sluice rows run interleaved, three times each, on the same emulator.

The emulator serializes SQS calls, so every figure is bound by it; the ratios show what
sluice's guarantees cost on top of the calls any consumer must make.
"""

from __future__ import annotations

import time
from pathlib import Path
from statistics import median
from typing import Any

import orjson

from consumer.aws.clients import AwsClients
from consumer.config import parse_config
from consumer.local.emulator import embedded_emulator
from consumer.runtime.service import build_service
from consumer.sources.sqs.ledger import create_table as create_ledger_table

MESSAGES = 300
ROUNDS = 3
LEDGER, BUCKET = "bench-sqs-ledger", "bench-sqs-lake"


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


def _sluice(aws: AwsClients, queue: str, exactly_once: bool) -> float:
    raw = {
        "name": "bench-sqs",
        "source": {
            "type": "sqs",
            "queue": queue,
            "receivers": 1,
            "wait_time_s": 0,
            "idle_flush_s": 0.5,
            "exactly_once": exactly_once,
            "ledger_table": LEDGER,
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
        "sinks": {"mem": {"type": "s3", "bucket": BUCKET, "prefix": f"lake/{queue}"}},
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
        create_ledger_table(aws.client("dynamodb"), LEDGER)
        aws.client("s3").create_bucket(Bucket=BUCKET)
        rates: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(ROUNDS):
            for once in (False, True) if round_ % 2 == 0 else (True, False):
                name = f"bench-sluice-{round_}-{'once' if once else 'plain'}"
                _fill(sqs, sqs.create_queue(QueueName=name)["QueueUrl"])
                rates[once].append(_sluice(aws, name, once))
    return [
        ("sqs: plain boto3 receive/parse/delete loop (baseline)", plain),
        ("sqs: sluice, S3 lake, delete after flush (exactly_once = false)", median(rates[False])),
        ("sqs: sluice, S3 lake, exactly once (ledger claims, staged objects)", median(rates[True])),
    ]
