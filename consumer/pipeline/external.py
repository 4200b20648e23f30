"""A route's transform as an external command, in any language (docs/external-transforms.md).

The command is started once and kept warm. It first writes a handshake line,
`{"protocol": "sluice-transform", "version": 1}`. Then for each batch sluice writes one
line per record to its stdin (the validated record as JSON, what an identity route would
write) and reads exactly one line per record from its stdout, in order:
`{"ok": [row, ...]}` (zero or more output rows) or `{"error": "reason"}`, optionally with
`"error_type": "Name"` (this record is quarantined with them). Its stderr is kept (the
last lines) for error messages.

A command that exits, answers garbage, or misses the per-batch time limit is killed and
started again, and the batch is sent again, up to `max_attempts` times. A batch that still
fails is split into single records, each with its own attempts, so one record that
crashes the command is quarantined alone (with the command's stderr tail) and the others
go through: nothing is lost and nothing waits forever.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import subprocess
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.errors import EtlError

log = logging.getLogger(__name__)
PROTOCOL, VERSION = "sluice-transform", 1
FAILED = "ExternalTransformError"
"""The error type of a record the command could not answer, or rejected without a type."""


@dataclass(frozen=True)
class Rejected:
    reason: str
    error_type: str = FAILED


Outcome = list[dict[str, Any]] | Rejected
"""Per record: its output rows, or why it failed."""


class ExternalTransformConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command: tuple[str, ...] = Field(min_length=1, description="argv; run from the config's folder")
    timeout_s: float = Field(10.0, gt=0, description="time limit for one batch")
    startup_timeout_s: float = Field(10.0, gt=0, description="time limit for the handshake")
    max_attempts: int = Field(3, ge=1, description="tries per batch before it is split")
    stderr_lines: int = Field(20, ge=1, description="stderr lines kept for error messages")


class TransformFailed(EtlError):
    """The command died, hung or broke the protocol; it is restarted."""


class ExternalTransform:
    def __init__(self, config: ExternalTransformConfig, name: str, cwd: str | None = None) -> None:
        self.config = config
        self.name = name
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_tail: deque[str] = deque(maxlen=config.stderr_lines)
        self.restarts = 0
        self._buffer = b""

    # -- the batch API ----------------------------------------------------------------------
    def run(self, payloads: Sequence[bytes]) -> list[Outcome]:
        """One outcome per payload, in order; never raises for a failing command."""
        if not payloads:
            return []
        try:
            return self._with_attempts(payloads)
        except TransformFailed as exc:
            if len(payloads) == 1:
                return [Rejected(f"{exc}; stderr: {self.stderr()}")]
        # Split: one record crashing the command must not take the others with it.
        return [outcome for payload in payloads for outcome in self.run([payload])]

    def stderr(self) -> str:
        return " | ".join(self.stderr_tail) or "(empty)"

    def close(self) -> None:
        self._kill()

    # -- attempts -----------------------------------------------------------------------------
    def _with_attempts(self, payloads: Sequence[bytes]) -> list[Outcome]:
        last: TransformFailed | None = None
        for attempt in range(self.config.max_attempts):
            try:
                return self._exchange(self._process(), payloads)
            except TransformFailed as exc:
                last = exc
                self._kill()
                self.restarts += 1
                log.warning(
                    "external transform failed; restarting it",
                    extra={
                        "route": self.name,
                        "attempt": attempt + 1,
                        "records": len(payloads),
                        "error": str(exc),
                        "stderr": self.stderr(),
                    },
                )
        assert last is not None
        raise last

    def _process(self) -> subprocess.Popen[bytes]:
        if self.proc is not None and self.proc.poll() is None:
            return self.proc
        self._kill()
        self._buffer = b""
        self.proc = subprocess.Popen(
            list(self.config.command),
            cwd=self.cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True).start()
        line = self._read_lines(self.proc, 1, time.monotonic() + self.config.startup_timeout_s)[0]
        try:
            hello = orjson.loads(line)
        except orjson.JSONDecodeError:
            hello = None
        if not (
            isinstance(hello, dict)
            and hello.get("protocol") == PROTOCOL
            and hello.get("version") == VERSION
        ):
            raise TransformFailed(
                f"bad handshake {line[:200]!r}, expected protocol {PROTOCOL} v{VERSION}"
            )
        return self.proc

    def _exchange(self, proc: subprocess.Popen[bytes], payloads: Sequence[bytes]) -> list[Outcome]:
        deadline = time.monotonic() + self.config.timeout_s
        body = b"".join(payload.rstrip(b"\n") + b"\n" for payload in payloads)
        writer = threading.Thread(target=self._write, args=(proc, body), daemon=True)
        writer.start()  # a separate writer: a large batch must not deadlock on full pipes
        lines = self._read_lines(proc, len(payloads), deadline)
        writer.join(timeout=max(0.0, deadline - time.monotonic()))
        return [self._outcome(line) for line in lines]

    @staticmethod
    def _outcome(line: bytes) -> Outcome:
        try:
            answer = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise TransformFailed(f"answer is not JSON: {line[:200]!r}") from exc
        if isinstance(answer, dict) and isinstance(answer.get("ok"), list):
            rows: list[dict[str, Any]] = answer["ok"]
            if all(isinstance(row, dict) for row in rows):
                return rows
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            error_type = answer.get("error_type")
            if not (isinstance(error_type, str) and error_type.isidentifier()):
                error_type = FAILED
            return Rejected(answer["error"] or "error", error_type)
        raise TransformFailed(f"answer is neither ok rows nor an error: {line[:200]!r}")

    # -- pipes --------------------------------------------------------------------------------
    @staticmethod
    def _write(proc: subprocess.Popen[bytes], body: bytes) -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(body)
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader sees the exit

    def _read_lines(
        self, proc: subprocess.Popen[bytes], count: int, deadline: float
    ) -> list[bytes]:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        lines: list[bytes] = []
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self._buffer and len(lines) < count:
                    line, self._buffer = self._buffer.split(b"\n", 1)
                    lines.append(line)
                if len(lines) == count:
                    return lines
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TransformFailed(
                        f"no answer within {self.config.timeout_s:g} s "
                        f"({len(lines)} of {count} lines)"
                    )
                if not selector.select(timeout=min(remaining, 0.5)):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    code = proc.wait(timeout=5)
                    raise TransformFailed(
                        f"the command exited with code {code} ({len(lines)} of {count} lines)"
                    )
                self._buffer += chunk

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            self.stderr_tail.append(raw.decode("utf-8", "replace").rstrip()[:500])

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
