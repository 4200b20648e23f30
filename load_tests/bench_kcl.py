"""Records per second through a KCL child, one process, on the multilang protocol itself.

An in-memory daemon feeds amazon-kclpy's `KCLProcess` the lines the MultiLangDaemon sends
(processRecords with 500 base64 reference events each, checkpoint answers). The baseline
is the cheapest v3 processor that still reads every record and checkpoints each batch:
the protocol's own cost (JSON lines, base64, kclpy's dispatch). sluice's figure is its
shard processor with the reference route, validated, encoded and flushed to a memory sink
per 500 records, checkpointed after each flush.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections import deque
from pathlib import Path
from typing import Any

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.sources.kcl.processor import ShardProcessor, build_parts
from load_tests.reference import events, order_route
from load_tests.timing import interleaved_us

BATCH, BATCHES = 500, 20
SHARD = "shardId-000000000000"


class Daemon:
    """Scripted daemon lines in; checkpoint requests answered as the daemon does."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = deque(lines)
        self.answers: deque[str] = deque()

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if '"checkpoint"' in line:
                message = json.loads(line)
                answer = {
                    "action": "checkpoint",
                    "sequenceNumber": message["sequenceNumber"],
                    "subSequenceNumber": message["subSequenceNumber"],
                }
                self.answers.append(json.dumps(answer) + "\n")
        return len(text)

    def flush(self) -> None:
        return None

    def readline(self) -> str:
        if self.answers:
            return self.answers.popleft()
        return self.lines.popleft() if self.lines else ""


def _lines() -> list[str]:
    data = events(BATCH * BATCHES)
    base = 49_650_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000
    first = {"action": "initialize", "shardId": SHARD}
    lines = [json.dumps({**first, "sequenceNumber": None, "subSequenceNumber": None})]
    for batch in range(BATCHES):
        records = [
            {
                "data": base64.b64encode(raw).decode(),
                "partitionKey": f"c{index % 97}",
                "sequenceNumber": str(base + index),
                "subSequenceNumber": 0,
                "approximateArrivalTimestamp": 1_795_000_000_000,
                "action": "record",
            }
            for index, raw in enumerate(data[batch * BATCH : (batch + 1) * BATCH], batch * BATCH)
        ]
        lines.append(
            json.dumps({"action": "processRecords", "records": records, "millisBehindLatest": 0})
        )
    lines.append(json.dumps({"action": "shutdownRequested"}))
    return [line + "\n" for line in lines]


def _config() -> PipelineConfig:
    return PipelineConfig.model_validate(
        {
            "name": "bench-kcl",
            "source": {"type": "kinesis", "stream": "orders"},
            "routes": [order_route()],
            "sinks": {"lake": {"type": "memory"}},
            "quarantine": {"type": "memory"},
            "buffer": {"max_records": BATCH, "max_age_s": 600.0},
            "metrics": {"sink": "off"},
        }
    )


class Reader:
    """The baseline processor: reads each record's bytes, checkpoints each batch."""

    version = 3

    def initialize(self, initialize_input: Any) -> None:
        return None

    def process_records(self, process_records_input: Any) -> None:
        last = None
        for record in process_records_input.records:
            record.binary_data  # noqa: B018 - the base64 decode every processor pays
            last = record
        if last is not None:
            process_records_input.checkpointer.checkpoint(
                last.sequence_number, last.sub_sequence_number
            )

    def lease_lost(self, lease_lost_input: Any) -> None:
        return None

    def shard_ended(self, shard_ended_input: Any) -> None:
        shard_ended_input.checkpointer.checkpoint()

    def shutdown_requested(self, shutdown_requested_input: Any) -> None:
        return None


def run() -> list[tuple[str, float]]:
    try:
        kcl = importlib.import_module("amazon_kclpy.kcl")
    except ImportError:
        print("kcl group skipped: amazon_kclpy is not installed (requirements/kcl-test.txt)")
        return []
    lines = _lines()
    config = _config()

    def drive(processor: Any) -> None:
        daemon = Daemon(list(lines))
        kcl.KCLProcess(
            processor, input_file=daemon, output_file=daemon, error_file=sys.stderr
        ).run()

    def sluice() -> None:
        parts = build_parts(config, Path.cwd(), AwsClients(region="us-east-1"))
        processor = ShardProcessor(parts, exit_process=sys.exit)
        drive(processor)
        parts.close()

    return interleaved_us(
        [
            (
                "kclpy protocol, a processor that only reads and checkpoints (baseline)",
                lambda: drive(Reader()),
            ),
            ("sluice shard processor: validate, encode, flush, checkpoint", sluice),
        ],
        BATCH * BATCHES,
        rounds=5,
    )
