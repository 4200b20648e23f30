"""Worker processes: every vCPU of a task used by one `sluice run`.

The polling Kinesis reader is one task by design and Python runs one core per process, so
`sluice run` with `workers = N` (default: the task's vCPUs) is a parent that starts N
worker processes, `sluice run --worker i/N`, each one source and one delivery engine:

- Kinesis: worker i reads the shards whose owner (`shard_owner`, a stable function of the
  shard id) is i; a reshard's children are placed by the same function, and a child whose
  parent another worker reads starts once the parent's checkpoint says it ended.
- SQS: each worker runs its own receive loops on the same queue, with its own ledger owner.

Checkpoints, deletes and the ledger are unchanged: each worker acks its own cuts, as
separate tasks would. The parent owns what exists once per task: the health endpoint
(live only while every worker is alive and reports progress), ECS scale-in protection
(held while any worker wants it; workers never call the agent), the metrics that drive
scaling (`BacklogPerTask` once, `KinesisRecordsBehind` summed over the workers), SIGTERM
fan-out and the drain, and the output: the workers' stdout and stderr pass through the
parent line by line, so an EMF record or a log line is never split or interleaved.

A worker that exits non-zero takes the task down: the others are stopped (SIGTERM, their
drain) and the parent exits with the worker's code, so ECS replaces the task and the
crash is seen (docs/decisions.md, "Worker processes"). A worker dies with its parent
(PR_SET_PDEATHSIG, and a status pipe that breaks).

`workers = 1` is today's single process, exactly: no parent, no pipes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from consumer.delivery.hooks import Hook
from consumer.errors import ConfigError
from consumer.runtime.health import HealthConfig

log = logging.getLogger(__name__)

STATUS_FD_ENV = "SLUICE_WORKER_STATUS_FD"
PARENT_ENV = "SLUICE_WORKER_PARENT"
MAX_WORKERS = 64


# -- how many ------------------------------------------------------------------------------------
def task_vcpus(
    env: Mapping[str, str] | None = None,
    root: Path = Path("/"),
    fetch: Callable[[str], bytes] | None = None,
) -> int:
    """Whole vCPUs this task may use: the ECS task's CPU limit (task metadata v4), else
    the cgroup CPU quota, else the CPUs this process may run on; at least 1."""
    env = os.environ if env is None else env
    visible = _visible_cpus()
    for found in (_ecs_task_cpus(env, fetch), _cgroup_cpus(root)):
        if found is not None:
            return max(1, min(visible, math.floor(found)))
    return max(1, visible)


def _visible_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _ecs_task_cpus(env: Mapping[str, str], fetch: Callable[[str], bytes] | None) -> float | None:
    """`Limits.CPU` of the task (vCPUs) from `$ECS_CONTAINER_METADATA_URI_V4/task`."""
    uri = env.get("ECS_CONTAINER_METADATA_URI_V4")
    if not uri:
        return None

    def get(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: bytes = response.read()
            return body

    try:
        task = orjson.loads((fetch or get)(f"{uri}/task"))
        cpu = task.get("Limits", {}).get("CPU")
        return float(cpu) if cpu else None
    except (OSError, ValueError, AttributeError, TypeError):
        log.warning("task metadata unreadable; workers from the cgroup or the CPUs")
        return None


def _cgroup_cpus(root: Path) -> float | None:
    """The CPU quota of this process's cgroup (v2 `cpu.max`, v1 cfs quota / period)."""
    try:
        quota, period = (root / "sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        v1 = root / "sys/fs/cgroup/cpu"
        quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
        period_us = int((v1 / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def resolve_workers(setting: int | str, env: Mapping[str, str] | None = None) -> int:
    """The `workers` setting as a count: an integer as given, "auto" the task's vCPUs."""
    if setting == "auto":
        return task_vcpus(env)
    if isinstance(setting, int) and 1 <= setting <= MAX_WORKERS:
        return setting
    raise ConfigError(f"workers: {setting!r} is not 'auto' or a count from 1 to {MAX_WORKERS}")


# -- who reads what ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Assignment:
    """This process is worker `index` of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Assignment:
        """`i/N`, as `sluice run --worker` takes it."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ConfigError(f"--worker {text!r}: expected i/N, e.g. 0/2") from None
        if not (1 <= count <= MAX_WORKERS and 0 <= index < count):
            raise ConfigError(f"--worker {text!r}: i must be in 0..N-1, N in 1..{MAX_WORKERS}")
        return cls(index, count)

    def owns(self, shard_id: str) -> bool:
        return shard_owner(shard_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_owner(shard_id: str, count: int) -> int:
    """Which of `count` workers reads the shard: its number modulo `count` for Kinesis'
    `shardId-000000000007` (consecutive shards, a reshard's children included, spread
    evenly), else a CRC-32 of the id. Stable: the same shard always has the same owner."""
    digits = shard_id.rsplit("-", 1)[-1]
    number = int(digits) if digits.isdigit() else zlib.crc32(shard_id.encode())
    return number % count


# -- the worker's side: status to the parent ----------------------------------------------------
class StatusReporter(Hook):
    """In a worker: its health, whether it holds buffered work (scale-in protection), its
    records behind and counters, as one JSON line on the status pipe every `interval_s`
    and at once when the protection it wants changes. A broken pipe (the parent is gone)
    ends the worker."""

    def __init__(
        self,
        fd: int,
        probe: Callable[[], dict[str, Any]],
        interval_s: float = 0.5,
        on_parent_gone: Callable[[], None] | None = None,
    ) -> None:
        self.fd = fd
        self.probe = probe
        self.interval_s = interval_s
        self.on_parent_gone = on_parent_gone or (lambda: os._exit(70))
        self.busy = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-status", daemon=True)

    @classmethod
    def from_env(
        cls, probe: Callable[[], dict[str, Any]], env: Mapping[str, str] | None = None
    ) -> StatusReporter | None:
        fd = (os.environ if env is None else env).get(STATUS_FD_ENV)
        return cls(int(fd), probe) if fd else None

    def on_buffering(self, source: str) -> None:
        if not self.busy:
            self.busy = True
            self.send()

    def on_idle(self, source: str) -> None:
        if self.busy:
            self.busy = False
            self.send()

    def send(self, final: bool = False) -> None:
        report = {**self.probe(), "busy": self.busy, "final": final, "pid": os.getpid()}
        line = orjson.dumps(report, default=str) + b"\n"
        with self._lock:
            try:
                os.write(self.fd, line)  # one write under PIPE_BUF: whole, never split
            except BrokenPipeError:
                self.on_parent_gone()
            except OSError:
                pass

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.send(final=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.send()
            except Exception:
                log.exception("worker status not sent")


def die_with_parent(env: Mapping[str, str] | None = None) -> None:
    """A worker is SIGKILLed when its parent dies, however it died (Linux prctl); if the
    parent is gone already, exit now."""
    env = os.environ if env is None else env
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    parent = env.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):
        os._exit(70)


# -- the parent's side ---------------------------------------------------------------------------
@dataclass
class Worker:
    index: int
    process: subprocess.Popen[bytes]
    status: dict[str, Any] = field(default_factory=dict)
    reported_at: float | None = None
    exit_code: int | None = None
    failure_line: bytes = b""


class WorkerPool:
    """Starts `count` workers (`command(i, count)`), relays their output, reads their
    status, and ends with them: `run` returns the task's exit code."""

    def __init__(
        self,
        count: int,
        command: Callable[[int, int], Sequence[str]],
        *,
        health: HealthConfig | None = None,
        stop: threading.Event | None = None,
        shutdown_timeout_s: float = 25.0,
        env: Mapping[str, str] | None = None,
        on_busy: Callable[[bool], None] | None = None,
        output: Any = None,
        clock: Callable[[], float] = time.monotonic,
        stale_s: float = 5.0,
    ) -> None:
        from consumer.sources.kcl.relay import Output

        self.count = count
        self.command = command
        self.health = health or HealthConfig()
        self.stop = stop or threading.Event()
        self.shutdown_timeout_s = shutdown_timeout_s
        self.env = dict(os.environ if env is None else env)
        self.on_busy = on_busy or (lambda busy: None)
        self.output = output if output is not None else Output()
        self.clock = clock
        self.stale_s = max(stale_s, 0.0)
        self.started = clock()
        self.workers: list[Worker] = []
        self.failed: Worker | None = None
        self._busy = False
        self._lock = threading.Lock()
        self._busy_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- start and end -------------------------------------------------------------------------
    def start(self) -> None:
        from consumer.sources.kcl.channel import STDOUT

        for index in range(self.count):
            read_fd, write_fd = os.pipe()
            env = {**self.env, STATUS_FD_ENV: str(write_fd), PARENT_ENV: str(os.getpid())}
            process = subprocess.Popen(
                list(self.command(index, self.count)),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
            )
            os.close(write_fd)
            worker = Worker(index, process)
            self.workers.append(worker)
            assert process.stdout is not None and process.stderr is not None
            self._threads += [
                self.output.pump(process.stdout, STDOUT, f"worker-{index}-stdout"),
                self._pump_stderr(worker, process.stderr),
                self._read_status(worker, os.fdopen(read_fd, "rb")),
            ]
        log.info("workers started", extra={"workers": self.count})

    def run(self, max_wait_s: float | None = None) -> int:
        """Wait until every worker has ended (0) or one failed (its code; the others are
        stopped), or the task is asked to stop (SIGTERM fanned out, their drain awaited)."""
        deadline = None if max_wait_s is None else self.clock() + max_wait_s
        while True:
            if self.stop.is_set():
                break
            if self._reap() or all(w.exit_code is not None for w in self.workers):
                break
            if deadline is not None and self.clock() >= deadline:
                break
            self.stop.wait(0.1)
        self.terminate()
        if self.failed is not None:
            code = self.failed.exit_code
            # a diagnosed failure (its one line follows) is no error of the task's own
            level = logging.INFO if self.failed.failure_line else logging.ERROR
            log.log(
                level,
                "a worker exited; the task stopped",
                extra={"worker": self.failed.index, "exit_code": code},
            )
            return code if code else 1
        return next((w.exit_code for w in self.workers if w.exit_code), 0) or 0

    def _reap(self) -> bool:
        """Note the workers that exited; True when one failed (non-zero)."""
        for worker in self.workers:
            if worker.exit_code is None and (code := worker.process.poll()) is not None:
                worker.exit_code = code
                if code != 0 and self.failed is None and not self.stop.is_set():
                    self.failed = worker
                    return True
        return False

    def terminate(self) -> None:
        """SIGTERM to every worker still running, their drain awaited up to the shutdown
        bound (each keeps it itself too), then SIGKILL."""
        running = [w for w in self.workers if w.process.poll() is None]
        for worker in running:
            with contextlib.suppress(ProcessLookupError):
                worker.process.send_signal(signal.SIGTERM)
        end = time.monotonic() + self.shutdown_timeout_s + 2.0
        for worker in running:
            try:
                worker.process.wait(timeout=max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker did not stop in time; killed", extra={"worker": worker.index})
                worker.process.kill()
                worker.process.wait()
        for worker in self.workers:
            if worker.exit_code is None:
                worker.exit_code = worker.process.returncode
        for thread in self._threads:
            thread.join(timeout=2.0)

    def _pump_stderr(self, worker: Worker, pipe: IO[bytes]) -> threading.Thread:
        """The worker's stderr through the output, but its failure line (`sluice: ...`,
        the CLI's one-line diagnosis) kept for the task's own last line: a task prints
        one, however many workers failed alike."""
        from consumer.sources.kcl.channel import STDERR

        def run() -> None:
            with pipe:
                for raw in iter(pipe.readline, b""):
                    line = raw.rstrip(b"\n")
                    if line.startswith(b"sluice: "):
                        worker.failure_line = line
                    else:
                        self.output.line(STDERR, line)

        thread = threading.Thread(target=run, name=f"worker-{worker.index}-stderr", daemon=True)
        thread.start()
        return thread

    def repeat_failure(self) -> None:
        """After a failed worker took the task down: its diagnosis as the task's last
        line on stderr, where the CLI's callers read it."""
        from consumer.sources.kcl.channel import STDERR

        failed = [self.failed] if self.failed is not None else []
        for worker in failed + [w for w in self.workers if w.exit_code]:
            if worker.failure_line:
                self.output.line(STDERR, worker.failure_line)
                return

    # -- status -----------------------------------------------------------------------------
    def _read_status(self, worker: Worker, pipe: IO[bytes]) -> threading.Thread:
        def run() -> None:
            with pipe:
                for line in iter(pipe.readline, b""):
                    try:
                        report = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    with self._lock:
                        worker.status, worker.reported_at = report, self.clock()
                    self._busy_changed()

        thread = threading.Thread(target=run, name=f"worker-{worker.index}-status", daemon=True)
        thread.start()
        return thread

    def _busy_changed(self) -> None:
        """Tell `on_busy` when the first worker starts or the last stops holding buffered
        work; serialized, so two workers' reports never reach it out of order."""
        with self._busy_lock:
            with self._lock:
                busy = any(w.status.get("busy") for w in self.workers if w.exit_code is None)
            if busy != self._busy:
                self._busy = busy
                self.on_busy(busy)

    def wait_reported(self, timeout_s: float) -> bool:
        """Until every worker has reported once (it is reading), one has exited, or
        `timeout_s` passed; True when all reported."""
        end = self.clock() + timeout_s
        while self.clock() < end and not self.stop.is_set():
            with self._lock:
                if all(w.reported_at is not None for w in self.workers):
                    return True
            if any(w.process.poll() is not None for w in self.workers):
                return False
            time.sleep(0.05)
        return False

    def records_behind(self) -> float | None:
        """The task's `KinesisRecordsBehind`: the sum of what its workers report."""
        with self._lock:
            values = [w.status.get("behind") for w in self.workers]
        known = [float(v) for v in values if v is not None]
        return sum(known) if known else None

    def stats(self) -> dict[str, int]:
        """Counters summed over the workers' latest reports."""
        total: dict[str, int] = {}
        with self._lock:
            for worker in self.workers:
                for key, value in worker.status.get("stats", {}).items():
                    total[key] = total.get(key, 0) + int(value)
        return total

    # -- the health endpoint's probes ----------------------------------------------------------
    def live(self) -> tuple[bool, dict[str, Any]]:
        return self._probe("live")

    def ready(self) -> tuple[bool, dict[str, Any]]:
        return self._probe("ready")

    def _probe(self, which: str) -> tuple[bool, dict[str, Any]]:
        """Every worker running, reporting (within `stale_s`, or still starting within
        `max_poll_gap_s`) and saying so itself. The answer's top level is the first
        failing worker's own (`seconds_flushing`, ...; the worst loop gap when all are
        fine), as one process answers; `workers` has each one's."""
        now, ok, details = self.clock(), bool(self.workers), []
        worst: dict[str, Any] = {}
        with self._lock:
            for worker in self.workers:
                alive = worker.process.poll() is None
                age = None if worker.reported_at is None else now - worker.reported_at
                if age is None:
                    fresh = which == "live" and now - self.started <= self.health.max_poll_gap_s
                else:
                    fresh = age <= self.stale_s
                says = bool(worker.status.get(which, False)) if age is not None else fresh
                good = alive and fresh and says
                own = worker.status.get("health", {})
                gap = own.get("seconds_since_loop_turned") or 0
                if (ok and not good) or (ok and gap >= worst.get("seconds_since_loop_turned", 0)):
                    worst = own
                ok = ok and good
                details.append(
                    {
                        "worker": worker.index,
                        "ok": good,
                        "alive": alive,
                        "seconds_since_report": None if age is None else round(age, 3),
                        **own,
                    }
                )
        return ok, {**worst, "workers": details}
