"""sluice's own reading of the MultiLangDaemon's protocol (consumer/sources/kcl/protocol.py):
the same lines out as amazon-kclpy's `KCLProcess` for the same daemon, and what kclpy
leaves out (the older shutdown action) or does its own way (a malformed line)."""

from __future__ import annotations

import base64
import importlib
from collections import deque
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.aws.blobs import b64decode
from consumer.sources.kcl.processor import ShardProcessor
from consumer.sources.kcl.protocol import (
    CheckpointError,
    MultiLangSession,
    ProtocolError,
)
from consumer.sources.kinesis import kpl
from tests.conftest import require
from tests.unit.test_kcl_processor import (
    SEQ_A,
    SEQ_B,
    SEQ_C,
    SHARD_ENDED,
    SHUTDOWN_REQUESTED,
    Action,
    FakeDaemon,
    Shard,
    _Lines,
    initialize,
    pipeline_config,
    process_records,
    reading,
    record,
)


def _script() -> list[Action]:
    """A shard's life with every kind of record: user records of an aggregate, an
    aggregate passed on whole, a record that is no JSON, a throttled checkpoint."""
    aggregate = kpl.aggregate([("k", reading(5)), ("k", reading(6))])
    return [
        initialize(SEQ_A, 0),
        process_records(
            record(SEQ_A, reading(1), sub=0),  # at the checkpoint: skipped
            record(SEQ_A, reading(2), sub=1),
            record(SEQ_A, reading(3), sub=2),
        ),
        process_records(record(SEQ_B, b"not json"), record(SEQ_C, aggregate), behind=1200),
        process_records(),
        SHARD_ENDED,
    ]


def _drive(loop: Any) -> tuple[FakeDaemon, Shard]:
    shard = Shard(pipeline_config(max_records=2))
    daemon = FakeDaemon(_script(), checkpoint_errors=["ThrottlingException"])
    processor = ShardProcessor(shard.parts, sleep=lambda s: None, exit_process=_no_exit)
    loop(processor, input_file=daemon, output_file=daemon, error_file=_Lines()).run()
    return daemon, shard


def _no_exit(code: int) -> Any:
    raise AssertionError(f"the processor exited {code}")


def test_the_daemon_sees_the_same_lines_as_from_kclpy() -> None:
    try:
        kclpy = importlib.import_module("amazon_kclpy.kcl")
    except ImportError:
        require(False, "amazon_kclpy is not installed (see the KCL notes in the Makefile)")
    # GIVEN one script of the daemon's messages, played to kclpy's loop and to sluice's
    theirs, their_shard = _drive(kclpy.KCLProcess)
    ours, our_shard = _drive(MultiLangSession)
    # THEN the child's answers, the rows written and the quarantine are the same
    assert ours.received == theirs.received
    assert ours.statuses == ["initialize", *["processRecords"] * 3, "shardEnded"]
    assert our_shard.ids == their_shard.ids == [2, 3, 5, 6]
    ours_q, theirs_q = (
        [
            {k: v for k, v in row.items() if k != "quarantined_at"}
            for row in s.sink("quarantine").rows
        ]
        for s in (our_shard, their_shard)
    )
    assert ours_q == theirs_q
    assert [(row["sequence_number"], row["error_type"]) for row in ours_q] == [
        (SEQ_B, "InvalidJson")
    ]
    assert ours.checkpoints[-1] == (None, None)  # SHARD_END


class Calls:
    """A processor that records its calls; `fail` makes process_messages raise."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def initialize(self, initialize_input: Any) -> None:
        self.calls.append(f"initialize {initialize_input.shard_id}")

    def process_messages(self, messages: Any, millis_behind: Any, checkpointer: Any) -> None:
        if self.fail:
            raise RuntimeError("boom")
        self.calls.append(f"records {len(messages)}")
        try:
            checkpointer.checkpoint("1", 0)
        except CheckpointError as exc:
            self.calls.append(f"refused {exc.value}")

    def lease_lost(self, lease_lost_input: Any) -> None:
        self.calls.append("lease lost")

    def shard_ended(self, shard_ended_input: Any) -> None:
        self.calls.append("shard ended")
        shard_ended_input.checkpointer.checkpoint()

    def shutdown_requested(self, shutdown_requested_input: Any) -> None:
        self.calls.append("shutdown requested")


def _session(
    processor: Calls, *actions: dict[str, Any], errors: _Lines | None = None
) -> FakeDaemon:
    daemon = FakeDaemon([*actions])
    MultiLangSession(processor, daemon, daemon, errors or _Lines()).run()  # type: ignore[arg-type]
    return daemon


@pytest.mark.parametrize(
    ("reason", "calls", "checkpoints"),
    [("TERMINATE", ["shard ended"], [(None, None)]), ("ZOMBIE", ["lease lost"], [])],
)
def test_the_older_shutdown_action_is_read_by_its_reason(
    reason: str, calls: list[str], checkpoints: list[Any]
) -> None:
    processor = Calls()
    daemon = _session(processor, {"action": "shutdown", "reason": reason})
    assert processor.calls == calls
    assert daemon.checkpoints == checkpoints
    assert daemon.statuses == ["shutdown"]


class WrongAnswers(FakeDaemon):
    """Answers each checkpoint request with a shutdownRequested."""

    def write(self, text: str) -> int:
        written = super().write(text)
        self._answers = deque('{"action": "shutdownRequested"}' for _ in self._answers)
        return written


def test_an_answer_that_is_no_checkpoint_refuses_the_checkpoint() -> None:
    # GIVEN a daemon that answers a checkpoint request with another action
    processor = Calls()
    daemon = WrongAnswers([process_records(record(SEQ_A, reading(1)))])
    MultiLangSession(processor, daemon, daemon, _Lines()).run()  # type: ignore[arg-type]
    # THEN the processor hears InvalidStateException, as from kclpy
    assert processor.calls == ["records 1", "refused InvalidStateException"]


def test_an_exception_of_the_processor_is_reported_and_the_action_answered() -> None:
    errors = _Lines()
    daemon = _session(Calls(fail=True), process_records(), SHUTDOWN_REQUESTED, errors=errors)
    assert daemon.statuses == ["processRecords", "shutdownRequested"]
    assert "boom" in "".join(errors.lines)


@pytest.mark.parametrize("line", ['{"action": "dance"}', "not json", "[1]", '{"records": []}'])
def test_a_line_that_is_no_action_of_the_protocol_ends_the_loop(line: str) -> None:
    processor = Calls()
    daemon = FakeDaemon([initialize()])
    daemon._answers.append(line)
    with pytest.raises(ProtocolError):
        MultiLangSession(processor, daemon, daemon, _Lines()).run()  # type: ignore[arg-type]
    assert processor.calls == []


def test_a_line_orjson_refuses_is_read_as_kclpy_reads_it() -> None:
    # GIVEN a processRecords line with an integer past 64 bits, which the stdlib reads
    processor = Calls()
    daemon = FakeDaemon([])
    daemon._answers.append(
        f'{{"action": "processRecords", "records": [], "millisBehindLatest": {2**70}}}'
    )
    MultiLangSession(processor, daemon, daemon, _Lines()).run()  # type: ignore[arg-type]
    assert processor.calls == ["records 0"]
    assert daemon.statuses == ["processRecords"]


def test_blank_lines_are_skipped_and_messages_written_between_newlines() -> None:
    processor = Calls()
    daemon = FakeDaemon([initialize()])
    daemon._answers.append("   ")
    MultiLangSession(processor, daemon, daemon, _Lines()).run()  # type: ignore[arg-type]
    assert processor.calls == ["initialize shardId-000000000001"]
    assert daemon.raw == '\n{"action":"status","responseFor":"initialize"}\n'


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
        st.text(alphabet="ABCab01+/=\n -_!", max_size=24),
    )
)
def test_record_data_decodes_as_the_stdlib_decodes_it(data: str) -> None:
    try:
        expected: bytes | type[Exception] = base64.b64decode(data)
    except ValueError as exc:
        expected = type(exc)
    try:
        got: bytes | type[Exception] = b64decode(data)
    except ValueError as exc:
        got = type(exc)
    assert got == expected
