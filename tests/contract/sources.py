"""One harness per source, so that every source runs the same contract
(tests/contract/test_sources.py): put records, consume them with a fresh consumer (a new
process, as after a crash or a deployment), and ask the source what it acked and what a
new consumer would be handed now.

Kinesis and SQS run against the embedded emulator over HTTP; the KCL shard processor gets
its calls as the MultiLangDaemon makes them (initialize, processRecords, shutdown), with a
checkpointer that remembers; a bounded input is a batch job's cursor over its records.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from consumer.aws.clients import AwsClients
from consumer.delivery.assembly import Assembly
from consumer.delivery.engine import Engine
from consumer.delivery.hooks import Hooks
from consumer.delivery.retry import RetryConfig
from consumer.delivery.stats import Stats
from consumer.flow import Position
from consumer.runtime.workers import Assignment
from consumer.sources.base import Source
from consumer.sources.bounded import BoundedSource
from consumer.sources.kcl.processor import ShardParts, ShardProcessor
from consumer.sources.kinesis.checkpoints import DynamoCheckpointStore, create_table
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.kinesis.reader import KinesisSource
from consumer.sources.objects import ObjectReader
from consumer.sources.sqs.config import SqsSourceConfig
from consumer.sources.sqs.cuts import ledger_cuts
from consumer.sources.sqs.reader import SqsSource
from tests.contract.parts import CrashBeforeAck


class Harness(Protocol):
    name: str
    positional_keys: bool
    """Replays rebuild the same S3 keys (positions are ordered and stable)."""
    can_rewind: bool

    def source_config(self) -> dict[str, Any]: ...

    def put(self, payloads: Sequence[bytes]) -> None: ...

    def consume(self, parts: Assembly, crash: bool = False) -> None:
        """A fresh consumer, until nothing is left; raises when it stops abnormally."""

    def acked(self) -> int:
        """Records the source was told it may let go of."""

    def available(self) -> int:
        """Records a new consumer would be handed right now."""

    def rewind(self) -> None:
        """Forget every ack: the next consumer reads everything again."""


def _engine(source: Source, parts: Assembly, crash: bool) -> Engine:
    wrapped: Any = CrashBeforeAck(source) if crash else source
    return Engine(wrapped, parts.pipeline, parts.flusher, parts.batcher)


class KinesisHarness:
    name, positional_keys, can_rewind = "kinesis", True, True

    def __init__(self, aws: AwsClients, unique: str) -> None:
        self.aws, self.unique = aws, unique
        self.stream, self.table = f"contract-{unique}", f"contract-ckpt-{unique}"
        self.application = "contract"
        kinesis = aws.client("kinesis")
        kinesis.create_stream(StreamName=self.stream, ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName=self.stream)
        create_table(aws.client("dynamodb"), self.table)
        self.sent: list[tuple[str, int]] = []  # (shard, sequence) of every record put

    def source_config(self) -> dict[str, Any]:
        return {
            "type": "kinesis",
            "stream": self.stream,
            "checkpoint_table": self.table,
            "idle_poll_interval_s": 0.2,
        }

    def _store(self) -> DynamoCheckpointStore:
        dynamodb = self.aws.client("dynamodb")
        return DynamoCheckpointStore(
            dynamodb, self.table, self.application, self.stream, RetryConfig()
        )

    def put(self, payloads: Sequence[bytes]) -> None:
        entries = [
            {"Data": data, "PartitionKey": f"pk{len(self.sent) + i}"}
            for i, data in enumerate(payloads)
        ]
        answer = self.aws.client("kinesis").put_records(StreamName=self.stream, Records=entries)
        self.sent += [(r["ShardId"], int(r["SequenceNumber"])) for r in answer["Records"]]

    def source(self, parts: Assembly, worker: Assignment | None = None) -> Source:
        config = KinesisSourceConfig.model_validate(self.source_config())
        owns = None if worker is None else worker.owns
        return KinesisSource(config, self.aws.client("kinesis"), self._store(), owns=owns)

    def consume(self, parts: Assembly, crash: bool = False) -> None:
        _engine(self.source(parts), parts, crash).run(until_idle=True, max_runtime_s=60)

    def acked(self) -> int:
        store = self._store()
        at = {shard: store.load(shard).position for shard, _ in self.sent}
        done = {
            shard: -1 if position is None else position.sequence for shard, position in at.items()
        }
        return sum(1 for shard, seq in self.sent if seq <= done[shard])

    def available(self) -> int:
        return len(self.sent) - self.acked()

    def rewind(self) -> None:
        self.application += "-again"  # a new application: no checkpoints yet


class SqsHarness:
    """The SQS source as `sluice run` builds it, with its ledger (exactly_once): a
    redelivered message never rides a second committed cut, so the lake's objects hold
    each message once even though SQS gives no order to derive keys from."""

    name, positional_keys, can_rewind = "sqs", True, False

    def __init__(self, aws: AwsClients, unique: str) -> None:
        self.aws = aws
        self.queue = f"contract-{unique}"
        self.ledger = f"contract-ledger-{unique}"
        sqs = aws.client("sqs")
        # A long visibility: what a stopped consumer held comes back only if it was released.
        attributes = {"VisibilityTimeout": "60"}
        self.url = sqs.create_queue(QueueName=self.queue, Attributes=attributes)["QueueUrl"]
        self.sent = 0

    def source_config(self) -> dict[str, Any]:
        return {
            "type": "sqs",
            "queue": self.queue,
            "wait_time_s": 0,
            "receivers": 1,
            "visibility_timeout_s": 60,
            "idle_flush_s": 0.5,
            "ledger_table": self.ledger,
            "create_ledger_table": True,
        }

    def put(self, payloads: Sequence[bytes]) -> None:
        sqs = self.aws.client("sqs")
        for start in range(0, len(payloads), 10):
            chunk = payloads[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": data.decode()} for i, data in enumerate(chunk)]
            assert not sqs.send_message_batch(QueueUrl=self.url, Entries=entries).get("Failed")
        self.sent += len(payloads)

    def source(self, parts: Assembly, worker: Assignment | None = None) -> Source:
        """A worker's source is the same: its own receive loops and ledger owner."""
        config = SqsSourceConfig.model_validate(self.source_config())
        objects = ObjectReader(self.aws.client("s3"), parts.pipeline.decoder.config, 1 << 20)
        cuts = ledger_cuts(config, self.aws, parts.sinks, RetryConfig(max_attempts=1))
        return SqsSource(config, self.aws.client("sqs"), objects, cuts=cuts)

    def consume(self, parts: Assembly, crash: bool = False) -> None:
        _engine(self.source(parts), parts, crash).run(until_idle=True, max_runtime_s=60)

    def _counts(self) -> tuple[int, int]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.aws.client("sqs").get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        values = found["Attributes"]
        return int(values[names[0]]), int(values[names[1]])

    def acked(self) -> int:
        return self.sent - sum(self._counts())

    def available(self) -> int:
        return self._counts()[0]

    def rewind(self) -> None:
        raise NotImplementedError("SQS cannot rewind: a deleted message is gone")


@dataclass
class _Checkpointer:
    saved: list[Position | None] = field(default_factory=list)

    def checkpoint(
        self, sequence_number: str | None = None, sub_sequence_number: int | None = None
    ) -> None:
        if sequence_number is None:
            self.saved.append(None)
        else:
            self.saved.append(Position(int(sequence_number), int(sub_sequence_number or 0)))


@dataclass
class _Init:
    shard_id: str
    sequence_number: str | None
    sub_sequence_number: int | None


@dataclass
class _Checkpointing:
    checkpointer: _Checkpointer


class ChildExited(Exception):
    """The KCL child called exit: the daemon would stop and the lease would move."""


def _exit(code: int) -> NoReturn:
    raise ChildExited(code)


class KclHarness:
    """The daemon's calls, in its order, against a checkpoint that outlives the child; its
    records as the child's protocol loop hands them over (`process_messages`)."""

    name, positional_keys, can_rewind = "kcl", True, True
    shard = "shardId-000000000000"

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.checkpoint: Position | None = None

    def source_config(self) -> dict[str, Any]:
        return {"type": "kinesis", "stream": "contract"}

    def put(self, payloads: Sequence[bytes]) -> None:
        base = 49_000_000_000_000_000_000_000 + len(self.records) * 1000
        self.records += [
            {
                "data": base64.b64encode(data).decode(),
                "partitionKey": f"pk{i}",
                "sequenceNumber": str(base + i * 1000),
                "subSequenceNumber": 0,
                "approximateArrivalTimestamp": 1_765_000_000_000,
                "action": "record",
            }
            for i, data in enumerate(payloads)
        ]

    def consume(self, parts: Assembly, crash: bool = False) -> None:
        shard_parts = ShardParts(
            "contract", parts, parts.batcher, Hooks(), Stats(), RetryConfig(max_attempts=1)
        )
        processor = ShardProcessor(
            shard_parts, flush_attempts=1, sleep=lambda s: None, exit_process=_exit
        )
        if crash:
            crashing: Any = CrashBeforeAck(processor.source)
            processor.engine.source = crashing
        at = self.checkpoint
        processor.initialize(
            _Init(
                self.shard, None if at is None else str(at.sequence), None if at is None else at.sub
            )
        )
        checkpointer = _Checkpointer()
        try:
            for start in range(0, len(self.records), 7):
                processor.process_messages(self.records[start : start + 7], 0, checkpointer)
            processor.shutdown_requested(_Checkpointing(checkpointer))
        finally:
            saved = [p for p in checkpointer.saved if p is not None]
            if saved:
                self.checkpoint = saved[-1]

    def acked(self) -> int:
        at = self.checkpoint
        return sum(
            1 for r in self.records if at is not None and int(r["sequenceNumber"]) <= at.sequence
        )

    def available(self) -> int:
        return len(self.records) - self.acked()

    def rewind(self) -> None:
        self.checkpoint = None


class BoundedHarness:
    """A batch job's input with a cursor stored after each acked cut, as extracts do."""

    name, positional_keys, can_rewind = "bounded", True, True

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.cursor = 0  # records before it are committed

    def source_config(self) -> dict[str, Any]:
        return {"type": "kinesis", "stream": "contract"}  # unused by a batch job

    def put(self, payloads: Sequence[bytes]) -> None:
        self.payloads += payloads

    def _records(self) -> Iterator[Any]:
        from consumer.flow import Record

        for index in range(self.cursor, len(self.payloads)):
            yield Record(
                "job", "input", Position(index), str(index), 1_765_000_000.0, self.payloads[index]
            )

    def consume(self, parts: Assembly, crash: bool = False) -> None:
        def commit(cut: Any) -> None:
            self.cursor = cut.last.sequence + 1

        source = BoundedSource("job", "input", self._records(), commit, chunk=4)
        _engine(source, parts, crash).run(until_idle=True)

    def acked(self) -> int:
        return self.cursor

    def available(self) -> int:
        return len(self.payloads) - self.cursor

    def rewind(self) -> None:
        self.cursor = 0


class TwoWorkers:
    """A `sluice run` task of two worker processes (consumer/runtime/workers.py) as the
    contract sees it: two sources of `inner`'s kind, each worker `i/2`'s share (Kinesis:
    its shards; SQS: its own receive loops on the queue), each with its own engine, side by
    side over the same sinks. A worker that stops abnormally takes the task down: the other
    is stopped, and the first failure is the task's."""

    def __init__(self, inner: KinesisHarness | SqsHarness) -> None:
        self.inner = inner
        self.name = f"{inner.name}-2-workers"
        self.positional_keys, self.can_rewind = inner.positional_keys, inner.can_rewind

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def consume(self, parts: Assembly, crash: bool = False) -> None:
        engines = [
            _engine(self.inner.source(parts, Assignment(i, 2)), parts, crash) for i in range(2)
        ]
        failures: list[BaseException] = []

        def work(engine: Engine) -> None:
            try:
                engine.run(until_idle=True, max_runtime_s=60)
            except BaseException as exc:
                failures.append(exc)
                for other in engines:
                    other.stop.set()

        threads = [threading.Thread(target=work, args=(engine,)) for engine in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        if failures:
            raise failures[0]


HarnessFactory = Callable[[AwsClients, str], Harness]
HARNESSES: dict[str, HarnessFactory] = {
    "kinesis": KinesisHarness,
    "kcl": lambda aws, unique: KclHarness(),
    "sqs": SqsHarness,
    "bounded": lambda aws, unique: BoundedHarness(),
    "kinesis-2-workers": lambda aws, unique: TwoWorkers(KinesisHarness(aws, unique)),
    "sqs-2-workers": lambda aws, unique: TwoWorkers(SqsHarness(aws, unique)),
}
"""Every source sluice has. A new source gets the contract by being listed here."""
