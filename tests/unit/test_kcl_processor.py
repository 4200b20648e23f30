"""The KCL shard processor, driven by a fake daemon that sends the MultiLangDaemon's
messages and answers checkpoints the way it does: through sluice's own protocol loop (what
the child runs, consumer/sources/kcl/protocol.py) and through amazon-kclpy's `KCLProcess`,
which must see the same behaviour."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from consumer.aws.clients import AwsClients
from consumer.config import PipelineConfig
from consumer.delivery.hooks import FlushInfo, Hook
from consumer.sinks.memory import ListSink
from consumer.sources.kcl.processor import ShardParts, ShardProcessor, build_parts
from consumer.sources.kcl.protocol import MultiLangSession
from consumer.sources.kinesis import kpl
from tests.conftest import require

SHARD = "shardId-000000000001"
SEQ_A = "49590338271490256608559692538361571095921575989136588801"
SEQ_B = "49590338271490256608559692538361571095921575989136588802"
SEQ_C = "49590338271490256608559692538361571095921575989136588803"
ARRIVAL_MS = 1_795_000_000_000


class Reading(BaseModel):
    type: str
    id: int


def reading_row(reading: Reading) -> dict[str, Any]:
    return {"id": reading.id}


def printing_row(reading: Reading) -> dict[str, Any]:
    print(f"transform saw {reading.id}")  # a stray print in user code
    return {"id": reading.id}


@pytest.fixture(scope="module", params=["sluice", "kclpy"])
def kcl(request: pytest.FixtureRequest) -> Any:
    """The protocol loop: something with a `KCLProcess(processor, input_file=...,
    output_file=..., error_file=...)` whose `run()` serves the daemon."""
    if request.param == "sluice":
        return SimpleNamespace(KCLProcess=MultiLangSession)
    try:
        return importlib.import_module("amazon_kclpy.kcl")
    except ImportError:
        require(False, "amazon_kclpy is not installed (see the KCL notes in the Makefile)")


def pipeline_config(transform: str = "reading_row", **buffer: Any) -> PipelineConfig:
    return PipelineConfig.model_validate(
        {
            "name": "kcl-test",
            "source": {"type": "kinesis", "stream": "events"},
            "routes": [
                {
                    "name": "readings",
                    "record_type": "reading",
                    "schema": f"{__name__}:Reading",
                    "transform": f"{__name__}:{transform}",
                    "sinks": ["lake"],
                }
            ],
            "sinks": {"lake": {"type": "memory"}},
            "quarantine": {"type": "memory"},
            "buffer": {"max_records": 3, "max_age_s": 60.0, **buffer},
            "retry": {"max_attempts": 2, "base_delay_s": 0.001, "max_delay_s": 0.001},
            "metrics": {"sink": "off"},
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder(Hook):
    def __init__(self) -> None:
        self.flushed: list[FlushInfo] = []
        self.failed: list[BaseException] = []

    def on_flushed(self, info: FlushInfo) -> None:
        self.flushed.append(info)

    def on_flush_failed(self, source: str, error: BaseException) -> None:
        self.failed.append(error)


class Shard:
    """Parts with memory sinks, a fake batcher clock and a hook recording flushes."""

    def __init__(self, config: PipelineConfig) -> None:
        self.clock = Clock()
        self.recorder = Recorder()
        self.parts: ShardParts = build_parts(
            config, Path.cwd(), AwsClients(region="us-east-1"), [self.recorder], self.clock
        )

    def sink(self, name: str) -> ListSink:
        sink = self.parts.sinks[name]
        assert isinstance(sink, ListSink)
        return sink

    @property
    def ids(self) -> list[object]:
        return [row["id"] for row in self.sink("lake").rows]


Action = dict[str, Any] | Callable[[], None]


class FakeDaemon:
    """Both ends of the child's protocol: the input kclpy reads, the output it writes.

    Actions are sent one by one; a checkpoint message from the child is answered (with the
    next scripted error, if any) before the next action, as MultiLangProtocol does while
    it waits for the status of the action in flight. A callable action runs between two
    messages (to advance a clock)."""

    def __init__(self, actions: list[Action], checkpoint_errors: Sequence[str | None] = ()) -> None:
        self.actions: deque[Action] = deque(actions)
        self.errors: deque[str | None] = deque(checkpoint_errors)
        self.received: list[dict[str, Any]] = []
        self.raw = ""
        self._answers: deque[str] = deque()
        self._partial = ""

    def write(self, text: str) -> int:
        self.raw += text
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            if not line.strip():
                continue
            message = json.loads(line)
            self.received.append(message)
            if message["action"] == "checkpoint":
                answer = {
                    "action": "checkpoint",
                    "sequenceNumber": message["sequenceNumber"],
                    "subSequenceNumber": message["subSequenceNumber"],
                }
                error = self.errors.popleft() if self.errors else None
                if error is not None:
                    answer["error"] = error
                self._answers.append(json.dumps(answer))
        return len(text)

    def flush(self) -> None:
        return None

    def readline(self) -> str:
        if self._answers:
            return self._answers.popleft() + "\n"
        while self.actions:
            action = self.actions.popleft()
            if callable(action):
                action()
                continue
            return json.dumps(action) + "\n"
        return ""

    @property
    def checkpoints(self) -> list[tuple[str | None, int | None]]:
        return [
            (m["sequenceNumber"], m["subSequenceNumber"])
            for m in self.received
            if m["action"] == "checkpoint"
        ]

    @property
    def statuses(self) -> list[str]:
        return [m["responseFor"] for m in self.received if m["action"] == "status"]


# -- the daemon's messages, as KCL multilang serializes them ---------------------------------
def initialize(sequence: str | None = "TRIM_HORIZON", sub: int | None = 0) -> dict[str, Any]:
    return {
        "action": "initialize",
        "shardId": SHARD,
        "sequenceNumber": sequence,
        "subSequenceNumber": sub,
    }


def record(
    sequence: str, data: bytes, sub: int = 0, key: str = "k", arrival_ms: int = ARRIVAL_MS
) -> dict[str, Any]:
    return {
        "data": base64.b64encode(data).decode(),
        "partitionKey": key,
        "sequenceNumber": sequence,
        "approximateArrivalTimestamp": arrival_ms,
        "subSequenceNumber": sub,
        "action": "record",
    }


def reading(n: int) -> bytes:
    return json.dumps({"type": "reading", "id": n}).encode()


def process_records(*records: dict[str, Any], behind: int = 0) -> dict[str, Any]:
    return {"action": "processRecords", "records": list(records), "millisBehindLatest": behind}


LEASE_LOST = {"action": "leaseLost"}
SHARD_ENDED = {"action": "shardEnded"}
SHUTDOWN_REQUESTED = {"action": "shutdownRequested"}


def run(
    kcl: Any,
    shard: Shard,
    daemon: FakeDaemon,
    errors: list[str] | None = None,
    **options: Any,
) -> ShardProcessor:
    processor = ShardProcessor(shard.parts, sleep=lambda s: None, exit_process=sys.exit, **options)
    error_file = _Lines()
    kcl.KCLProcess(processor, input_file=daemon, output_file=daemon, error_file=error_file).run()
    if errors is not None:
        errors.extend(error_file.lines)
    return processor


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        return None


def test_checkpoints_at_the_last_flushed_record_with_its_sub_sequence_number(kcl: Any) -> None:
    # GIVEN user records of a KPL aggregate (one sequence number, sub-sequence 0..2) and
    # a plain one, with cuts of 3 records
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(
                record(SEQ_A, reading(1), sub=0),
                record(SEQ_A, reading(2), sub=1),
                record(SEQ_A, reading(3), sub=2),
                record(SEQ_B, reading(4)),
            ),
            SHUTDOWN_REQUESTED,
        ]
    )
    # WHEN the daemon delivers them, then asks the worker to shut down
    errors: list[str] = []
    run(kcl, shard, daemon, errors)
    # THEN the first cut is checkpointed at its last user record (sub-sequence included),
    # the rest is flushed and checkpointed on the shutdown request
    assert daemon.checkpoints == [(SEQ_A, 2), (SEQ_B, 0)]
    assert daemon.statuses == ["initialize", "processRecords", "shutdownRequested"]
    assert shard.ids == [1, 2, 3, 4]
    positions = [(b.first_position, b.last_position) for b in shard.sink("lake").batches]
    assert [(str(first), str(last)) for first, last in positions] == [
        (f"{SEQ_A}-0", f"{SEQ_A}-2"),
        (f"{SEQ_B}-0", f"{SEQ_B}-0"),
    ]
    assert errors == []


def test_nothing_is_checkpointed_before_it_is_flushed(kcl: Any) -> None:
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(record(SEQ_A, reading(1)), record(SEQ_B, reading(2))),
            process_records(),
        ]
    )
    run(kcl, shard, daemon)
    assert daemon.checkpoints == [] and shard.ids == []


def test_a_quiet_shard_is_flushed_by_age_on_the_daemons_empty_calls(kcl: Any) -> None:
    # GIVEN one buffered record and buffers that flush after 5 s
    shard = Shard(pipeline_config(max_age_s=5.0))

    def later() -> None:
        shard.clock.now += 6

    daemon = FakeDaemon(
        [
            initialize(),
            process_records(record(SEQ_A, reading(1))),
            process_records(),
            later,
            process_records(),  # an empty call, as with callProcessRecordsEvenForEmptyRecordList
        ]
    )
    # WHEN no more records arrive but the daemon keeps calling
    run(kcl, shard, daemon)
    # THEN the first empty call after the age limit flushes and checkpoints
    assert shard.ids == [1]
    assert daemon.checkpoints == [(SEQ_A, 0)]
    checkpoint_at = daemon.received.index(
        {"action": "checkpoint", "sequenceNumber": SEQ_A, "subSequenceNumber": 0}
    )
    assert daemon.statuses[:3] == ["initialize", "processRecords", "processRecords"]
    assert [m.get("responseFor") for m in daemon.received[:checkpoint_at]].count(
        "processRecords"
    ) == 2


def test_lease_lost_drops_the_buffer_and_never_checkpoints(kcl: Any) -> None:
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(record(SEQ_A, reading(1)), record(SEQ_B, reading(2))),
            LEASE_LOST,
        ]
    )
    processor = run(kcl, shard, daemon)
    assert daemon.checkpoints == []
    assert shard.ids == []
    assert not processor.engine.pending()
    assert daemon.statuses == ["initialize", "processRecords", "leaseLost"]


def test_shard_end_flushes_then_checkpoints_at_shard_end(kcl: Any) -> None:
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(record(SEQ_A, reading(1)), record(SEQ_B, reading(2))),
            SHARD_ENDED,
        ]
    )
    run(kcl, shard, daemon)
    # a checkpoint without a sequence number is SHARD_END for the daemon
    assert daemon.checkpoints == [(None, None)]
    assert shard.ids == [1, 2]
    assert daemon.statuses[-1] == "shardEnded"


def test_a_sink_failing_past_the_budget_exits_non_zero_without_checkpointing(kcl: Any) -> None:
    # GIVEN a lake that fails every write (2 attempts per sink write, 3 per cut)
    shard = Shard(pipeline_config())
    shard.sink("lake").fail_next = 1000
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(*(record(SEQ_A, reading(n), sub=n) for n in range(3))),
            SHUTDOWN_REQUESTED,
        ]
    )
    # WHEN the cut is flushed
    with pytest.raises(SystemExit) as exited:
        run(kcl, shard, daemon, flush_attempts=3)
    # THEN the child exits 1 in the middle of processRecords: no status, no checkpoint,
    # so the daemon stops and the batch is read again from the last checkpoint
    assert exited.value.code == 1
    assert daemon.checkpoints == []
    assert daemon.statuses == ["initialize"]
    assert len(shard.recorder.failed) == 3
    assert shard.sink("lake").fail_next == 1000 - 3 * 2
    assert shard.parts.stats.flushes == 0


def test_a_sink_that_recovers_within_the_budget_writes_the_cut_once(kcl: Any) -> None:
    # GIVEN a lake failing the first two writes: the first whole-cut attempt fails
    shard = Shard(pipeline_config())
    shard.sink("lake").fail_next = 2
    daemon = FakeDaemon(
        [initialize(), process_records(*(record(SEQ_A, reading(n), sub=n) for n in range(3)))]
    )
    run(kcl, shard, daemon)
    assert shard.ids == [0, 1, 2]
    assert daemon.checkpoints == [(SEQ_A, 2)]
    assert len(shard.recorder.failed) == 1
    assert [info.retried_rows for info in shard.recorder.flushed] == [0]


def test_an_unexpected_error_exits_instead_of_being_swallowed_by_kclpy(kcl: Any) -> None:
    shard = Shard(pipeline_config())

    def broken(records: object) -> Any:
        raise RuntimeError("bug")

    shard.parts.pipeline.process_many = broken  # type: ignore[method-assign]
    daemon = FakeDaemon([initialize(), process_records(record(SEQ_A, reading(1)))])
    with pytest.raises(SystemExit) as exited:
        run(kcl, shard, daemon)
    assert exited.value.code == 1 and daemon.checkpoints == []


def test_throttled_checkpoints_are_retried(kcl: Any) -> None:
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [initialize(), process_records(*(record(SEQ_A, reading(n), sub=n) for n in range(3)))],
        checkpoint_errors=["ThrottlingException", "ThrottlingException", None],
    )
    processor = run(kcl, shard, daemon)
    assert daemon.checkpoints == [(SEQ_A, 2)] * 3
    assert processor.checkpointed is not None and str(processor.checkpointed) == f"{SEQ_A}-2"


@pytest.mark.parametrize("error", ["ShutdownException", "InvalidStateException"])
def test_a_refused_checkpoint_is_given_up_without_crashing(kcl: Any, error: str) -> None:
    # GIVEN the daemon refuses the first checkpoint (the lease is moving)
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(*(record(SEQ_A, reading(n), sub=n) for n in range(3))),
            process_records(record(SEQ_B, reading(3))),
            SHUTDOWN_REQUESTED,
        ],
        checkpoint_errors=[error],
    )
    errors: list[str] = []
    processor = run(kcl, shard, daemon, errors)
    # THEN it is not retried at once, processing goes on, the next call tries again and
    # the next flush checkpoints further
    assert daemon.checkpoints == [(SEQ_A, 2), (SEQ_A, 2), (SEQ_B, 0)]
    assert daemon.statuses == [
        "initialize",
        "processRecords",
        "processRecords",
        "shutdownRequested",
    ]
    assert processor.checkpointed is not None and str(processor.checkpointed) == f"{SEQ_B}-0"
    assert errors == []


def test_records_up_to_the_starting_checkpoint_are_skipped(kcl: Any) -> None:
    # GIVEN a shard checkpointed inside an aggregate, at sub-sequence 1
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(SEQ_A, 1),
            process_records(*(record(SEQ_A, reading(n), sub=n) for n in range(4))),
            SHUTDOWN_REQUESTED,
        ]
    )
    run(kcl, shard, daemon)
    assert shard.ids == [2, 3]
    assert daemon.checkpoints == [(SEQ_A, 3)]


def test_bad_records_are_quarantined_and_acked_with_the_cut(kcl: Any) -> None:
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(
                record(SEQ_A, reading(1)), record(SEQ_B, b'{"type": '), record(SEQ_C, reading(3))
            ),
            SHUTDOWN_REQUESTED,
        ]
    )
    run(kcl, shard, daemon)
    assert shard.ids == [1, 3]
    quarantined = shard.sink("quarantine").rows
    assert [(row["stage"], row["error_type"]) for row in quarantined] == [("decode", "InvalidJson")]
    assert daemon.checkpoints == [(SEQ_C, 0)]


def test_an_aggregate_passed_on_whole_is_split_with_the_kcl_numbering(kcl: Any) -> None:
    # GIVEN a KPL aggregate the daemon did not de-aggregate (it normally does)
    pytest.importorskip("aws_kinesis_agg")
    from aws_kinesis_agg.aggregator import RecordAggregator

    aggregator = RecordAggregator()
    for n in range(3):
        aggregator.add_user_record(f"k{n}", reading(n))
    _, _, data = aggregator.clear_and_get().get_contents()
    assert kpl.split(data) is not None
    shard = Shard(pipeline_config())
    daemon = FakeDaemon([initialize(), process_records(record(SEQ_A, data))])
    run(kcl, shard, daemon)
    assert shard.ids == [0, 1, 2]
    assert daemon.checkpoints == [(SEQ_A, 2)]


def test_a_print_in_a_transform_never_reaches_the_protocol_output(
    kcl: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    shard = Shard(pipeline_config(transform="printing_row"))
    daemon = FakeDaemon([initialize(), process_records(record(SEQ_A, reading(7)))])
    run(kcl, shard, daemon)
    assert "transform saw 7" not in daemon.raw
    assert "transform saw 7" in capsys.readouterr().out
    assert all(m["action"] in {"status", "checkpoint"} for m in daemon.received)


class SwitchableFence:
    """A lease whose owner the test changes; the real one reads the lease table."""

    def __init__(self) -> None:
        self.owner = "me"
        self.asked: list[str] = []

    def holds(self, shard: str) -> bool:
        self.asked.append(shard)
        return self.owner == "me"


def test_a_zombie_writes_nothing_once_its_lease_has_another_owner(kcl: Any) -> None:
    # GIVEN a worker whose lease another worker takes after its first cut
    shard = Shard(pipeline_config())
    fence = SwitchableFence()

    def taken() -> None:
        fence.owner = "someone else"

    seq = [str(int(SEQ_A) + n) for n in range(8)]
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(*(record(seq[n], reading(n)) for n in range(3))),
            taken,
            # WHEN its daemon, not yet aware, hands it more records and then the shard's end
            process_records(*(record(seq[n], reading(n)) for n in range(3, 6))),
            process_records(*(record(seq[n], reading(n)) for n in range(6, 8))),
            SHARD_ENDED,
        ]
    )
    run(kcl, shard, daemon, fence=fence)
    # THEN only the first cut was written and checkpointed: nothing after the lease moved,
    # not even SHARD_END, and the lease was asked before each write
    assert shard.ids == [0, 1, 2]
    assert daemon.checkpoints == [(seq[2], 0)]
    assert fence.asked == [SHARD, SHARD]


class Lifecycle:
    """What `sluice kcl run`'s health endpoint hears of the shard; can be told to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[tuple[str, str]] = []
        self.fail = fail

    def started(self, shard: str) -> None:
        self.events.append(("started", shard))
        if self.fail:
            raise RuntimeError("listener down")

    def stopped(self, why: str) -> None:
        self.events.append(("stopped", why))
        if self.fail:
            raise RuntimeError("listener down")


@pytest.mark.parametrize(
    ("last", "why"),
    [(LEASE_LOST, "lease lost"), (SHARD_ENDED, "shard ended"),
     (SHUTDOWN_REQUESTED, "shutdown requested")],
)  # fmt: skip
def test_the_lifecycle_hears_when_the_shard_starts_and_stops_here(
    kcl: Any, last: dict[str, Any], why: str
) -> None:
    # GIVEN a shard the daemon starts, feeds, then stops calling for `why`
    shard = Shard(pipeline_config())
    lifecycle = Lifecycle()
    daemon = FakeDaemon([initialize(), process_records(record(SEQ_A, reading(1))), last])
    # WHEN the processor runs, THEN the listener hears the start and the stop, once each
    run(kcl, shard, daemon, lifecycle=lifecycle)
    assert lifecycle.events == [("started", SHARD), ("stopped", why)]


def test_a_failing_lifecycle_listener_never_stops_the_shard(kcl: Any) -> None:
    shard = Shard(pipeline_config())
    daemon = FakeDaemon(
        [
            initialize(),
            process_records(record(SEQ_A, reading(1)), record(SEQ_B, reading(2))),
            SHUTDOWN_REQUESTED,
        ]
    )
    run(kcl, shard, daemon, lifecycle=Lifecycle(fail=True))
    assert daemon.statuses == ["initialize", "processRecords", "shutdownRequested"]
    assert daemon.checkpoints == [(SEQ_B, 0)] and shard.ids == [1, 2]


def test_the_shard_knows_how_many_records_it_is_behind(kcl: Any) -> None:
    # GIVEN a shard whose records arrive 2 a second (one every 500 ms)
    shard = Shard(pipeline_config())
    calls = [
        process_records(
            record(SEQ_A, reading(1), arrival_ms=ARRIVAL_MS),
            record(SEQ_B, reading(2), arrival_ms=ARRIVAL_MS + 500),
            record(SEQ_C, reading(3), arrival_ms=ARRIVAL_MS + 1000),
            behind=60_000,
        ),
    ]
    # WHEN the daemon hands them over 60 s behind the tip
    processor = run(kcl, shard, FakeDaemon([initialize(), *calls, SHUTDOWN_REQUESTED]))
    # THEN the shard is 3 records / 1 s x 60 s = 180 records behind: what its progress
    # reports carry to `sluice kcl run` for KinesisRecordsBehind
    assert processor.source.lag_ms() == 60_000
    assert processor.source.records_behind() == pytest.approx(180)
