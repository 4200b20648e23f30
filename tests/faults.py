"""Fault injection around real components: the calls still go to the emulator over HTTP,
but chosen calls fail first, as they do against AWS under load or at the worst moment."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from consumer.flow import Position
from consumer.sources.kinesis.checkpoints import CheckpointStore, ShardCheckpoint


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler in sluice catches it."""


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)


class FaultyClient:
    """Proxy of a boto3 client; `faults[operation]` decides per call whether to fail."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.faults: dict[str, Callable[[int], str | None]] = {}
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            count = self.calls.get(name, 0) + 1
            self.calls[name] = count
            decide = self.faults.get(name)
            code = decide(count) if decide else None
            if code:
                raise client_error(code, name)
            return target(*args, **kwargs)

        return call


class CrashingCheckpoints:
    """Wraps a checkpoint store; dies right before the Nth commit (after the sinks wrote)."""

    def __init__(self, inner: CheckpointStore, crash_before_commit: int) -> None:
        self.inner = inner
        self.crash_before_commit = crash_before_commit
        self.commits = 0

    def load(self, shard: str) -> ShardCheckpoint:
        return self.inner.load(shard)

    def commit(self, shard: str, end: Position) -> None:
        self.commits += 1
        if self.commits == self.crash_before_commit:
            raise Crash(f"crash before committing {shard} at {end}")
        self.inner.commit(shard, end)

    def end_shard(self, shard: str) -> None:
        self.inner.end_shard(shard)


class TcpOutage:
    """A loopback TCP proxy in front of a real server that can go down and come back.

    Down, it closes every open connection and refuses new ones (nothing listens on its
    port), which is what a client sees when the server restarts or the network drops.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._listener: Any = None
        self._conns: list[Any] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone leaves it bound
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            # shutdown first: close alone leaves a socket another thread is blocked in
            # recv() on open in the kernel, so the peer would never see the link go
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()

    def refuses(self) -> bool:
        """Whether a new connection is refused now, as it is during an outage."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        return False

    def _accept(self, listener: Any) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: the outage began
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: Any, target: Any) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.close()
