"""Records per second through a KCL child, one process, on the multilang protocol itself.

An in-memory daemon feeds the child's protocol loop the lines the MultiLangDaemon sends
(processRecords with 500 base64 reference events each, checkpoint answers). The rows:

- kclpy's `KCLProcess` with the cheapest v3 processor that still reads every record
  (`binary_data`) and checkpoints each batch: the protocol's cost the way kclpy pays it
  (stdlib JSON, one object per record, base64);
- sluice's protocol loop (consumer/sources/kcl/protocol.py, what the child runs) with a
  processor doing the same (`Counter`: each record decoded into a sluice `Record`, a
  checkpoint per batch): the protocol's cost in the child;
- **the group's baseline**: sluice's core on the same events, route and sink, without
  the protocol: the delivery engine of the shard processor's own assembly, fed the
  records as `Record`s built beforehand (as the reference group's core row is), each
  batch of 500 one unit;
- sluice's shard processor through its protocol loop, same route and sink: the KCL
  child's whole path. Its ratio is what the target reads (within 1.3x the core);
- the same processor with the memory sink, as this group measured before: that sink keeps
  every row as a dict (`reads_rows`), so the route cannot stay line-only and each record's
  line is parsed back into a row, which the S3 sink never needs.

The sink of the core row and of the first KCL row is sluice's S3 sink (gzip JSON Lines,
level 1, as the reference group's gzip) with an S3 client that keeps each object's size in
memory: no network, everything the sink does up to its PUT.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections import deque
from pathlib import Path
from typing import Any

from consumer.aws.blobs import b64decode
from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.delivery.engine import Engine
from consumer.flow import Position, Record
from consumer.sources.base import Unit
from consumer.sources.kcl.processor import ShardProcessor, build_parts
from consumer.sources.kcl.protocol import MultiLangSession
from load_tests.reader_loop import BenchSource
from load_tests.reference import events, order_route
from load_tests.timing import interleaved_us

BATCH, BATCHES = 500, 20
CORE, CORE_AT = "baseline", 2
"""The core row is the group's baseline: its ratio column is each row's time over the core's."""
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


class MemoryS3:
    """An S3 client that keeps the size of each object put: the sink's work without a
    network."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.sizes[Key] = len(Body)
        return {}


class BenchClients(AwsClients):
    """boto3's clients, but S3 is `MemoryS3`."""

    def __init__(self) -> None:
        super().__init__(region="us-east-1")
        self.s3 = MemoryS3()

    def client(self, service: str) -> Any:
        return self.s3 if service == "s3" else super().client(service)


def _config(sink: str = "s3") -> PipelineConfig:
    lake = {"type": "s3", "bucket": "bench-lake"} if sink == "s3" else {"type": "memory"}
    return PipelineConfig.model_validate(
        {
            "name": "bench-kcl",
            "source": {"type": "kinesis", "stream": "orders"},
            "routes": [order_route()],
            "sinks": {"lake": lake},
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


class Counter:
    """sluice's loop with the baseline's work: each record's bytes decoded (a `Record`
    built), a checkpoint per batch."""

    def __init__(self) -> None:
        self.records = 0

    def initialize(self, initialize_input: Any) -> None:
        return None

    def process_messages(self, messages: Any, millis_behind: Any, checkpointer: Any) -> None:
        last = None
        for message in messages:
            last = Record(
                "orders",
                SHARD,
                Position(int(message["sequenceNumber"]), message["subSequenceNumber"] or 0),
                message["partitionKey"],
                message["approximateArrivalTimestamp"] / 1000,
                b64decode(message["data"]),
            )
            self.records += 1
        if last is not None:
            checkpointer.checkpoint(str(last.position.sequence), last.position.sub)

    def lease_lost(self, lease_lost_input: Any) -> None:
        return None

    def shard_ended(self, shard_ended_input: Any) -> None:
        shard_ended_input.checkpointer.checkpoint()

    def shutdown_requested(self, shutdown_requested_input: Any) -> None:
        return None


def _records(lines: list[str]) -> list[list[Record]]:
    """The processRecords lines' records as sluice `Record`s, one list per call."""
    batches = []
    for line in lines:
        message = json.loads(line)
        if message["action"] == "processRecords":
            batches.append(
                [
                    Record(
                        "orders",
                        SHARD,
                        Position(int(entry["sequenceNumber"]), entry["subSequenceNumber"]),
                        entry["partitionKey"],
                        entry["approximateArrivalTimestamp"] / 1000,
                        base64.b64decode(entry["data"]),
                    )
                    for entry in message["records"]
                ]
            )
    return batches


def run() -> list[tuple[str, float]]:
    try:
        kcl = importlib.import_module("amazon_kclpy.kcl")
    except ImportError:
        print("kcl group skipped: amazon_kclpy is not installed (requirements/kcl-test.txt)")
        return []
    lines = _lines()
    batches = _records(lines)
    s3_config, memory_config = _config("s3"), _config("memory")
    clients = BenchClients()  # one boto3 session for every run, as a child has

    def kclpy() -> None:
        daemon = Daemon(list(lines))
        kcl.KCLProcess(Reader(), input_file=daemon, output_file=daemon, error_file=sys.stderr).run()

    def protocol() -> None:
        daemon = Daemon(list(lines))
        MultiLangSession(Counter(), daemon, daemon, sys.stderr).run()  # type: ignore[arg-type]

    def core() -> None:
        parts = build_parts(s3_config, Path.cwd(), clients)
        engine = Engine(BenchSource("orders"), parts.pipeline, parts.flusher, parts.new_batcher)
        for batch in batches:
            engine.take(Unit(SHARD, batch))
            engine.flush_due()
        engine.flush_due(force=True)
        parts.close()

    def child(config: PipelineConfig) -> None:
        parts = build_parts(config, Path.cwd(), clients)
        processor = ShardProcessor(parts, exit_process=sys.exit)
        daemon = Daemon(list(lines))
        MultiLangSession(processor, daemon, daemon, sys.stderr).run()  # type: ignore[arg-type]
        parts.close()

    return interleaved_us(
        [
            ("kclpy protocol, a processor that only reads and checkpoints", kclpy),
            ("sluice protocol loop, a processor that only reads and checkpoints", protocol),
            (f"sluice core, same events and route, S3 sink in memory ({CORE})", core),
            ("sluice KCL shard processor, S3 sink in memory", lambda: child(s3_config)),
            ("sluice KCL shard processor, memory sink (rows kept)", lambda: child(memory_config)),
        ],
        BATCH * BATCHES,
        baseline=CORE_AT,
    )
