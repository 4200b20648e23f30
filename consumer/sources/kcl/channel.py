"""The channel from a KCL child to `sluice kcl run`: its log lines, EMF lines and progress.

The MultiLangDaemon treats everything a child writes on stderr as an error: it echoes the
line and logs it again as `ERROR ... DrainChildSTDERRTask ... Received error line`. So
`sluice kcl run` listens on a Unix socket and names it to the daemon's environment
(`SLUICE_KCL_CHANNEL`), which the daemon passes on to every child it starts; a child sends
its output there, and the wrapper writes each line once to its own stdout or stderr.

The socket is `SOCK_SEQPACKET`: one connection per child (its end tells the wrapper the
child is gone, however it died) and messages delivered whole, in order, or not at all, so
a line is never split or interleaved with another child's. A message is one tag byte and
its payload: `1` a line for the wrapper's stdout, `2` a line for its stderr, `p` a progress
report (JSON) the wrapper keeps for its health endpoint and does not print.

A child never blocks for long on the channel: a send waits at most `send_timeout_s` for
room; when it times out, or the wrapper is gone, the line goes to stderr as it would
without the channel, and the channel is tried again after `retry_after_s` (without
waiting, until a send goes through). A heartbeat never waits; one that finds no room is
dropped, and as every report carries the child's whole state, the next one repairs it.
Without `SLUICE_KCL_CHANNEL` there is no channel and a child writes to stderr as before.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

import orjson

CHANNEL_ENV = "SLUICE_KCL_CHANNEL"
STDOUT, STDERR, PROGRESS = b"1", b"2", b"p"
MAX_MESSAGE_BYTES = 64 * 1024
"""A longer line goes to stderr (a message must fit the socket's send buffer whole)."""


class ChannelClient:
    """A child's end of the channel; thread-safe, never raises, never blocks for long."""

    def __init__(
        self,
        path: str,
        *,
        send_timeout_s: float = 2.0,
        retry_after_s: float = 5.0,
        fallback: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.send_timeout_s = send_timeout_s
        self.retry_after_s = retry_after_s
        self.fallback = fallback if fallback is not None else sys.stderr
        self.clock = clock
        self.fallbacks = 0
        """Lines written to the fallback instead: how often the channel failed a child."""
        self.stalls = 0
        """Sends that waited `send_timeout_s` in vain (the wrapper read nothing)."""
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._stalled = False
        self._retry_at = 0.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChannelClient | None:
        path = (os.environ if env is None else env).get(CHANNEL_ENV)
        return cls(path) if path else None

    def line(self, text: str, tag: bytes = STDERR) -> None:
        """Forward one line (no newline inside; `tag` picks the wrapper's stdout or stderr),
        else write it to the fallback stream: either way it is written once, whole."""
        payload = text.rstrip("\n").encode("utf-8", "replace")
        with self._lock:
            if self._send(tag + payload, wait=True):
                return
            self.fallbacks += 1
            try:
                self.fallback.write(text.rstrip("\n") + "\n")
                self.fallback.flush()
            except (OSError, ValueError):
                pass  # nowhere left to write; a log line is not worth a crash

    def progress(self, event: str, *, wait: bool = False, **fields: Any) -> bool:
        """Report progress to the wrapper; False when it was dropped. Without `wait` it
        is sent only if there is room right now (a heartbeat: the next one says the same)."""
        message = PROGRESS + orjson.dumps({"event": event, "pid": os.getpid(), **fields})
        with self._lock:
            return self._send(message, wait=wait)

    def close(self) -> None:
        with self._lock:
            self._disconnect()

    # -- the socket, under the lock --------------------------------------------------------------
    def _send(self, message: bytes, *, wait: bool) -> bool:
        if len(message) > MAX_MESSAGE_BYTES or not self._usable():
            return False
        assert self._sock is not None
        try:
            self._sock.settimeout(self.send_timeout_s if wait and not self._stalled else 0.0)
            self._sock.send(message)
        except (BlockingIOError, TimeoutError):  # the wrapper reads nothing: wait no more
            self.stalls += not self._stalled and wait
            self._stalled = True
            self._retry_at = self.clock() + self.retry_after_s
            return False
        except OSError as exc:
            if exc.errno != errno.EMSGSIZE:  # else too long for this socket: this line only
                self._disconnect()  # the wrapper is gone (EPIPE, ECONNRESET, ...)
                self._retry_at = self.clock() + self.retry_after_s
            return False
        self._stalled = False
        return True

    def _usable(self) -> bool:
        """Connected and not stalled, or time to try again (connecting if need be)."""
        if self._sock is not None and not self._stalled:
            return True
        now = self.clock()
        if now < self._retry_at:
            return False
        if self._sock is None and not self._connect():
            self._retry_at = now + self.retry_after_s
            return False
        return True

    def _connect(self) -> bool:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sock.settimeout(self.send_timeout_s)
        try:
            sock.connect(self.path)
            sock.send(PROGRESS + orjson.dumps({"event": "hello", "pid": os.getpid()}))
        except OSError:
            sock.close()
            return False
        self._sock, self._stalled = sock, False
        return True

    def _disconnect(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock, self._stalled = None, False
