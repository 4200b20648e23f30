"""Running the MultiLangDaemon: its process group, its output, its children's channel and
the task's health endpoint.

The daemon runs in its own process group with its children; SIGTERM/SIGINT are forwarded
to it (its shutdown hook asks every child to flush and checkpoint), and when it has
exited, children still alive have no one to talk to and are killed, so a stop leaves no
stray process. Its stdout and stderr are read through pipes and printed by the wrapper
line by line, with the children's lines from the channel (`relay`), so nothing the task
prints is split or interleaved. With `health.port` set, `/healthz` and `/readyz` answer
for the daemon and its children (`watch`). With metrics on, the task's KinesisRecordsBehind
(the sum of what its children report) is printed every `metrics.records_behind_interval_s`
(consumer/runtime/records_behind.py).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from consumer.logs import JsonFormatter
from consumer.runtime.health import HealthConfig, HealthServer
from consumer.runtime.metrics import EmfWriter, MetricsConfig
from consumer.runtime.records_behind import RecordsBehindEmitter
from consumer.sources.kcl.channel import CHANNEL_ENV, STDERR, STDOUT
from consumer.sources.kcl.outputs import OutputEmfWriter
from consumer.sources.kcl.relay import Output, OutputLogHandler, Relay
from consumer.sources.kcl.watch import Watch

log = logging.getLogger(__name__)

_MAX_SOCKET_PATH = 100
"""AF_UNIX paths hold 107 bytes on Linux (103 on macOS)."""


def run_daemon(
    command: Sequence[str],
    children_grace_s: float = 5.0,
    env: Mapping[str, str] | None = None,
    health: HealthConfig | None = None,
    output: Output | None = None,
    metrics: MetricsConfig | None = None,
    service: str = "sluice",
) -> int:
    """Run the daemon; forward SIGTERM/SIGINT; clean its process group up when it ends.

    A daemon stopped on request exits 0 here (the JVM reports 143 after its shutdown
    hook ran); any other exit is passed on, so ECS restarts a task whose child failed.
    """
    output = output or Output()
    daemon: list[subprocess.Popen[bytes]] = []
    watch = Watch(health or HealthConfig(), lambda: bool(daemon) and daemon[0].poll() is None)
    with _channel_folder() as folder, _logging_through(output):
        relay = Relay(str(Path(folder, "channel.sock")), output, watch)
        relay.start()
        server: HealthServer | None = None
        emitter = _records_behind(watch, output, metrics, service)
        try:
            server = _health_server(watch, health)
            if emitter is not None:
                emitter.start()
            # preexec_fn only makes one prctl call through a libc handle loaded beforehand.
            proc = subprocess.Popen(
                list(command),
                env={**(os.environ if env is None else env), CHANNEL_ENV: relay.path},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent_hook(),  # noqa: PLW1509
            )
            daemon.append(proc)
            assert proc.stdout is not None and proc.stderr is not None
            pumps = [
                output.pump(proc.stdout, STDOUT, "daemon-stdout"),
                output.pump(proc.stderr, STDERR, "daemon-stderr"),
            ]
            code, stopping = _wait(proc, children_grace_s)
            for pump in pumps:
                pump.join(timeout=2.0)
        finally:
            if emitter is not None:
                emitter.stop()
            relay.stop()
            if server is not None:
                server.stop()
        log.info("daemon ended", extra={"exit_code": code, **relay.counts})
    if stopping and code in (0, 128 + signal.SIGTERM, -signal.SIGTERM):
        return 0
    return code if code >= 0 else 128 - code


def _wait(proc: subprocess.Popen[bytes], children_grace_s: float) -> tuple[int, bool]:
    """The daemon's exit code, and whether it was asked to stop; its group ends after it."""
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        with suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        end_process_group(proc.pid, children_grace_s)
    return code, bool(stopping)


def _records_behind(
    watch: Watch, output: Output, metrics: MetricsConfig | None, service: str
) -> RecordsBehindEmitter | None:
    """The task's KinesisRecordsBehind emitter: its children's reports, summed, printed
    through `output` like their own EMF lines (or to the file or agent configured)."""
    if metrics is None or metrics.sink == "off" or not metrics.records_behind_interval_s:
        return None
    if metrics.sink in ("stdout", "stderr"):
        writer: EmfWriter = OutputEmfWriter(output, metrics.sink)
    else:
        writer = EmfWriter(metrics)
    return RecordsBehindEmitter(
        watch.records_behind,
        writer,
        metrics.namespace,
        metrics.service or service,
        metrics.records_behind_interval_s,
    )


def _health_server(watch: Watch, health: HealthConfig | None) -> HealthServer | None:
    if health is None or health.port is None:
        return None
    server = HealthServer(watch, health)
    server.start()
    log.info("health endpoint", extra={"port": server.port})
    return server


@contextmanager
def _channel_folder() -> Iterator[str]:
    """A private folder (mode 0700) for the channel's socket, with a path short enough."""
    base = None if len(tempfile.gettempdir()) < _MAX_SOCKET_PATH - 40 else "/tmp"
    with tempfile.TemporaryDirectory(prefix="sluice-kcl-", dir=base) as folder:
        yield folder


@contextmanager
def _logging_through(output: Output) -> Iterator[None]:
    """The wrapper's own log lines through `output`, for as long as the daemon runs."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = OutputLogHandler(output)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    try:
        yield
    finally:
        root.handlers[:] = saved


def _die_with_parent_hook() -> Callable[[], None] | None:
    """Linux: the daemon gets SIGTERM (a graceful stop) if this process dies first, so a
    SIGKILLed `sluice kcl run` outside a container leaves no daemon behind."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:  # pragma: no cover - runs in the forked child
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return hook


def end_process_group(pgid: int, grace_s: float) -> None:
    """Give the daemon's children `grace_s` to exit on their own, then kill what is left."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if os.getpid() == 1:  # orphaned children are ours to reap
            with suppress(ChildProcessError):
                os.waitpid(-1, os.WNOHANG)
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.1)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
