"""The MultiLangDaemon's protocol, spoken by sluice's KCL child itself.

The daemon and its child exchange one JSON object a line (stdin: the daemon's actions and
its answers to checkpoints; stdout: the child's checkpoint requests and the status that
ends each action). amazon-kclpy's `KCLProcess` speaks it with the stdlib's `json` and
turns every record of a processRecords line into an object (`object_hook`), whose
`binary_data` decodes its base64 on each access. sluice reads the line with orjson
instead and hands the record messages to `ShardProcessor.process_messages`, which builds
its own `Record`s straight from them, their data decoded by pybase64 (`b64decode`): no
per-record objects in between (the KCL group of `make bench`, docs/performance.md).

Everything else is kclpy's behaviour, so the daemon sees no difference:

- each action is answered by ``{"action": "status", "responseFor": <action>}`` on a line
  of its own, written between newlines as kclpy writes it, and flushed;
- a checkpoint writes ``{"action": "checkpoint", "sequenceNumber", "subSequenceNumber"}``
  and reads the daemon's answer on the next line: an ``error`` in it (or an answer that is
  not a checkpoint) raises `CheckpointError` with the error's name as its `value`, as
  kclpy's does, and the processor decides (retry, give up);
- an exception out of the processor is written to the error stream and the action still
  reported done (the processor itself exits instead, `ShardProcessor._or_exit`);
- a line that is not JSON, or whose action is unknown, ends the loop with an exception
  (the child exits non-zero); end of input ends it cleanly.

The actions are initialize, processRecords, leaseLost, shardEnded and shutdownRequested
(KCL 2.x), and the older shutdown with its reason (TERMINATE: the shard ended; anything
else: the lease went to another worker), which kclpy would not read.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import IO, Any, Protocol

import orjson


def _stdlib_json(line: str) -> Any:
    """The line as kclpy reads it (the stdlib's `json`), or a `ProtocolError`."""
    try:
        return json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not a JSON line from the daemon: {line[:200]!r}") from exc


class ProtocolError(Exception):
    """A line from the daemon that is not an action of the protocol."""


class CheckpointError(Exception):
    """The daemon refused a checkpoint; `value` names why (e.g. ``ThrottlingException``),
    as kclpy's `CheckpointError` does."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


@dataclass(frozen=True, slots=True)
class InitializeInput:
    shard_id: str
    sequence_number: str | None
    sub_sequence_number: int | None


@dataclass(frozen=True, slots=True)
class CheckpointingInput:
    """shardEnded and shutdownRequested: a checkpointer, nothing else."""

    checkpointer: Checkpointer


class MessageProcessor(Protocol):
    """What the loop drives: `ShardProcessor`'s v3 methods and `process_messages`."""

    def initialize(self, initialize_input: InitializeInput) -> None: ...

    def process_messages(
        self,
        messages: Sequence[Mapping[str, Any]],
        millis_behind: int | None,
        checkpointer: Checkpointer,
    ) -> None: ...

    def lease_lost(self, lease_lost_input: object) -> None: ...

    def shard_ended(self, shard_ended_input: CheckpointingInput) -> None: ...

    def shutdown_requested(self, shutdown_requested_input: CheckpointingInput) -> None: ...


class Checkpointer:
    """Checkpoint requests to the daemon, each answered before the call returns."""

    def __init__(self, session: MultiLangSession) -> None:
        self.session = session

    def checkpoint(
        self, sequence_number: str | None = None, sub_sequence_number: int | None = None
    ) -> None:
        """At the given record, or (no arguments) at the end of what the daemon delivered:
        SHARD_END on shardEnded."""
        self.session.write(
            {
                "action": "checkpoint",
                "sequenceNumber": sequence_number,
                "subSequenceNumber": sub_sequence_number,
            }
        )
        answer = self.session.read()
        if answer is None or answer.get("action") != "checkpoint":
            raise CheckpointError("InvalidStateException")
        error = answer.get("error")
        if error is not None:
            raise CheckpointError(str(error))


class MultiLangSession:
    """Reads the daemon's actions until end of input and dispatches each to `processor`."""

    def __init__(
        self,
        processor: MessageProcessor,
        input_file: IO[str],
        output_file: IO[str],
        error_file: IO[str],
    ) -> None:
        self.processor = processor
        self.input_file = input_file
        self.output_file = output_file
        self.error_file = error_file
        self.checkpointer = Checkpointer(self)

    def run(self) -> None:
        while (message := self.read()) is not None:
            action = message["action"]
            call = self._call(action, message)  # a malformed message ends the loop
            try:
                call()
            except Exception as exc:  # kclpy's rule: report, and answer the action anyway
                self.error_file.write(f"Caught exception from action dispatch: {exc}")
                traceback.print_exc(file=self.error_file)
                self.error_file.flush()
            self.write({"action": "status", "responseFor": action})

    def _call(self, action: object, message: dict[str, Any]) -> Callable[[], None]:
        """The processor's method for `action`, with its input read from `message`."""
        processor, checkpointing = self.processor, CheckpointingInput(self.checkpointer)
        if action == "processRecords":
            records, behind = message["records"], message["millisBehindLatest"]
            return partial(processor.process_messages, records, behind, self.checkpointer)
        if action == "initialize":
            start = InitializeInput(
                message["shardId"], message["sequenceNumber"], message["subSequenceNumber"]
            )
            return partial(processor.initialize, start)
        if action == "shutdown":  # before KCL 2.x: the reason says which of the two
            action = "shardEnded" if message.get("reason") == "TERMINATE" else "leaseLost"
        if action == "shutdownRequested":
            return partial(processor.shutdown_requested, checkpointing)
        if action == "leaseLost":
            return partial(processor.lease_lost, message)
        if action == "shardEnded":
            return partial(processor.shard_ended, checkpointing)
        raise ProtocolError(f"unknown action from the daemon: {action!r}")

    # -- lines --------------------------------------------------------------------------------
    def read(self) -> dict[str, Any] | None:
        """The daemon's next message; None at end of input. Blank lines are skipped."""
        while line := self.input_file.readline():
            if line.isspace():
                continue
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                message = _stdlib_json(line)  # what orjson refuses (an integer past 64 bits)
            if not isinstance(message, dict) or "action" not in message:
                raise ProtocolError(f"not an action from the daemon: {line[:200]!r}")
            return message
        return None

    def write(self, message: Mapping[str, Any]) -> None:
        """One message on a line of its own (between newlines, as kclpy writes it, so a
        stray partial line from elsewhere could not join it), flushed."""
        self.output_file.write("\n" + orjson.dumps(message).decode() + "\n")
        self.output_file.flush()
