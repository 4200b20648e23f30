"""`sluice kcl run`'s side of the children's channel, and its own output.

Everything the task prints passes through one `Output`: the children's lines from the
channel, the daemon's stdout and stderr (read from pipes), the wrapper's own log. Each
line is written whole under one lock, so no line is ever split by or interleaved with
another, whatever its length (a pipe only keeps writes of up to 4 KiB whole), and awslogs
makes exactly one log event of it.

The `Relay` accepts the children's connections on the channel's Unix socket and reads
them on one thread: lines go to the `Output`, progress reports to the `Watch` behind the
health endpoint; a closed connection is a child gone. The thread only reads and writes
lines, so it keeps up with any number of children; if the task's own output blocks, the
children's sends time out and they fall back to their stderr (`channel`).
"""

from __future__ import annotations

import logging
import selectors
import socket
import sys
import threading
import time
from collections import Counter
from typing import IO, BinaryIO

import orjson

from consumer.sources.kcl.channel import MAX_MESSAGE_BYTES, PROGRESS, STDERR, STDOUT
from consumer.sources.kcl.watch import Watch

log = logging.getLogger(__name__)

_READS_PER_WAKEUP = 64


class Output:
    """The wrapper's stdout and stderr, written one whole line at a time under one lock."""

    def __init__(self, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None) -> None:
        self.streams = {
            STDOUT: stdout if stdout is not None else sys.stdout.buffer,
            STDERR: stderr if stderr is not None else sys.stderr.buffer,
        }
        self._lock = threading.Lock()

    def line(self, tag: bytes, data: bytes) -> None:
        """Write `data` and a newline to stdout (`STDOUT`) or stderr (`STDERR`); a newline
        inside `data` becomes a space, so one call is one line (one log event)."""
        stream = self.streams.get(tag)
        if stream is None:
            return
        if b"\n" in data:
            data = data.replace(b"\n", b" ")
        with self._lock:
            try:
                stream.write(data + b"\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # the output is gone (a closed pipe): nothing left to tell

    def pump(self, pipe: IO[bytes], tag: bytes, name: str) -> threading.Thread:
        """Forward `pipe` (the daemon's stdout or stderr) line by line until it closes."""

        def run() -> None:
            with pipe:
                for line in iter(pipe.readline, b""):
                    self.line(tag, line.rstrip(b"\n"))

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread


class OutputLogHandler(logging.Handler):
    """The wrapper's own log lines, through the same lock as everything else it prints."""

    def __init__(self, output: Output) -> None:
        super().__init__()
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.output.line(STDERR, self.format(record).encode("utf-8", "replace"))
        except Exception:
            self.handleError(record)


class Relay:
    """Reads the children's channel: lines to the `Output`, progress to the `Watch`."""

    def __init__(self, path: str, output: Output, watch: Watch) -> None:
        self.path = path
        self.output = output
        self.watch = watch
        self.counts: Counter[str] = Counter()
        """Lines forwarded by stream, progress reports, connections: for tests and logs."""
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.listener.bind(path)
        self.listener.listen(128)
        self.listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ)
        self._stopping = threading.Event()
        self._drain_s = 2.0
        self._thread = threading.Thread(target=self._run, name="kcl-channel", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_s: float = 2.0) -> None:
        """Stop accepting, forward what connected children still have to say (at most
        `drain_s`: the daemon's children have exited by now), then close."""
        self._drain_s = drain_s
        self._stopping.set()
        self._thread.join(timeout=drain_s + 1.0)

    def _run(self) -> None:
        deadline: float | None = None
        try:
            while True:
                if self._stopping.is_set() and deadline is None:
                    deadline = time.monotonic() + self._drain_s
                    self._selector.unregister(self.listener)
                    self.listener.close()
                connections = len(self._selector.get_map())
                if deadline is not None and (connections == 0 or time.monotonic() > deadline):
                    return
                for key, _ in self._selector.select(timeout=0.2):
                    if key.fileobj is self.listener:
                        self._accept()
                    else:
                        self._read(key.fileobj)  # type: ignore[arg-type]
        except Exception:
            log.exception("the children's channel failed; children fall back to stderr")
        finally:
            for key in list(self._selector.get_map().values()):
                self._drop(key.fileobj)  # type: ignore[arg-type]
            self._selector.close()
            if deadline is None:
                self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            self._selector.register(conn, selectors.EVENT_READ)
            self.watch.connected(conn.fileno())
            self.counts["connections"] += 1

    def _read(self, conn: socket.socket) -> None:
        for _ in range(_READS_PER_WAKEUP):
            try:
                message = conn.recv(MAX_MESSAGE_BYTES + 1)
            except BlockingIOError:
                return
            except OSError:
                message = b""
            if not message:  # the child closed its end: it exited
                self._drop(conn)
                return
            self._handle(conn.fileno(), message[:1], message[1:])

    def _handle(self, key: int, tag: bytes, payload: bytes) -> None:
        if tag == PROGRESS:
            try:
                report = orjson.loads(payload)
            except orjson.JSONDecodeError:
                return
            if isinstance(report, dict):
                self.watch.report(key, report)
                self.counts["progress"] += 1
        elif tag in (STDOUT, STDERR):
            self.output.line(tag, payload)
            self.counts["stdout" if tag == STDOUT else "stderr"] += 1

    def _drop(self, conn: socket.socket) -> None:
        key = conn.fileno()
        self._selector.unregister(conn)
        conn.close()
        self.watch.disconnected(key)
        self.counts["disconnections"] += 1
