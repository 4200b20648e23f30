"""LocalStack without Docker: started from its own virtual environment, on loopback.

`make localstack-venv` builds that environment (Python 3.13, the pins of
`tools/localstack/requirements.txt`, the DynamoDB plugin of `tools/localstack/plugin`,
kinesis-local installed beforehand); this module starts LocalStack from it, waits until it
answers, and stops it: SIGTERM, then SIGKILL when it has not exited within the grace
period (once in a while it hangs on shutdown), and SIGKILL to any process it started that
outlived it.

Each instance gets a state folder of its own (`FILESYSTEM_ROOT`: LocalStack would
otherwise write under system folders, since this machine looks like a container to it),
sharing only the installed engines. Settings, and why each one (docs/decisions.md,
"LocalStack without Docker"):

- `GATEWAY_SERVER=hypercorn`: the default server ignores the host of `GATEWAY_LISTEN`;
- `SQS_ENDPOINT_STRATEGY=path`: queue URLs on the gateway's own host and port;
- `PROVIDER_OVERRIDE_DYNAMODB=moto`: the plugin's DynamoDB (the built-in engines download
  Java and DynamoDB Local at run time);
- `NODE_OPTIONS=--require loopback.cjs`: kinesis-local listens on every interface;
- `DNS_ADDRESS=0`, `DISABLE_EVENTS=1`, `SKIP_SSL_CERT_DOWNLOAD=1`, `PERSISTENCE=0`,
  `KINESIS_PERSISTENCE=0`, `KINESIS_LATENCY=0`: no DNS server, no telemetry, nothing
  fetched or kept, streams active at once;
- `EAGER_SERVICE_LOADING=1`: every service is up when the health check says ready;
- `KINESIS_SHARD_LIMIT=10000`: kinesis-local refuses a stream past 100 open shards in
  the account, which a test session (a stream or two per test, never deleted) exceeds.

`python -m consumer.local.localstack` runs one in the foreground until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import orjson

REPO = Path(__file__).resolve().parents[2]
SUPPORT = REPO / "tools" / "localstack"
DEFAULT_VENV = REPO / ".venv-localstack"
DEFAULT_PORT = 4566
# The services sluice uses; docker-compose.localstack.yml starts the same.
SERVICES = "kinesis,sqs,s3,dynamodb,cloudwatch"
# kinesis-local (kinesis-mock) on npm, the version localstack-core 2026.3.0 asks for.
KINESIS_MOCK_VERSION = "0.5.2"
STOP_GRACE_S = 10.0
READY_TIMEOUT_S = 60.0
# Variables of the caller's process that must not leak into LocalStack's interpreter or
# confuse its configuration.
_DROPPED = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "AWS_ENDPOINT_URL", "SERVICES", "DEBUG")


class LocalStackError(RuntimeError):
    """LocalStack cannot be started here (no environment) or did not become ready."""


def engines_dir(venv: Path) -> Path:
    """Where the environment keeps the engines LocalStack installs (kinesis-local)."""
    return venv / "filesystem" / "var" / "lib" / "localstack" / "lib"


def server_environment(
    root: Path, port: int, base: Mapping[str, str], support: Path = SUPPORT
) -> dict[str, str]:
    """LocalStack's environment: the caller's (PATH, CA bundles for npm) with the settings
    above; `root` is the instance's state folder."""
    env = {key: value for key, value in base.items() if key not in _DROPPED}
    preload = f"--require {support / 'loopback.cjs'}"
    node_options = f"{env.get('NODE_OPTIONS', '')} {preload}".strip()
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(root),
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",
            "SERVICES": SERVICES,
            "PROVIDER_OVERRIDE_DYNAMODB": "moto",
            "SQS_ENDPOINT_STRATEGY": "path",
            "KINESIS_MOCK_VERSION": KINESIS_MOCK_VERSION,
            "KINESIS_LATENCY": "0",
            "KINESIS_SHARD_LIMIT": "10000",
            "KINESIS_PERSISTENCE": "0",
            "PERSISTENCE": "0",
            "DNS_ADDRESS": "0",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "EAGER_SERVICE_LOADING": "1",
            "NODE_OPTIONS": node_options,
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def is_ready(endpoint: str) -> bool:
    """True when LocalStack's health endpoint answers with every service sluice uses."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        with direct.open(f"{endpoint}/_localstack/health", timeout=2) as response:
            services = orjson.loads(response.read()).get("services", {})
    except (OSError, ValueError):
        return False
    wanted = SERVICES.split(",")
    return all(services.get(name) in ("available", "running") for name in wanted)


class LocalStack:
    """One LocalStack process and the processes it starts (kinesis-local)."""

    def __init__(
        self,
        venv: Path = DEFAULT_VENV,
        port: int = 0,
        log: IO[bytes] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        venv = venv.absolute()
        self.python = venv / "bin" / "python"
        if not self.python.exists():
            raise LocalStackError(
                f"no LocalStack environment at {venv}: `make localstack-venv` creates it "
                "(Python 3.13 needed)"
            )
        self.venv = venv
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.root: Path | None = None  # the instance's state folder, while it runs
        self._log = log
        self._environ = dict(os.environ if environ is None else environ)
        self.process: subprocess.Popen[bytes] | None = None
        self.forced = False  # the last stop needed SIGKILL

    def start(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Start it and wait until it answers; returns the seconds that took."""
        if not port_free(self.port):
            raise LocalStackError(f"127.0.0.1:{self.port} is in use (another LocalStack?)")
        self.root = root = Path(tempfile.mkdtemp(prefix="sluice-localstack-"))
        libs = root / "var" / "lib" / "localstack" / "lib"
        libs.parent.mkdir(parents=True)
        engines = engines_dir(self.venv)
        engines.mkdir(parents=True, exist_ok=True)
        libs.symlink_to(engines, target_is_directory=True)
        started = time.monotonic()
        self.process = subprocess.Popen(
            [str(self.python), "-m", "localstack.runtime.main"],
            env=server_environment(root, self.port, self._environ),
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log is not None else None,
            start_new_session=True,  # a Ctrl-C at the terminal reaches us, not it: we stop it
        )
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise LocalStackError(f"LocalStack exited with {self.process.returncode}")
            if is_ready(self.endpoint):
                return time.monotonic() - started
            time.sleep(0.2)
        self.stop()
        raise LocalStackError(f"LocalStack not ready at {self.endpoint} after {timeout_s:.0f} s")

    def stop(self, grace_s: float = STOP_GRACE_S) -> float:
        """SIGTERM, then SIGKILL after `grace_s`; whatever it started and left behind is
        killed too (LocalStack starts kinesis-local in a session of its own, so only its
        process id, taken before the stop, finds it). Returns the seconds the stop took."""
        started = time.monotonic()
        process, self.process = self.process, None
        if process is not None:
            family = descendants(process.pid)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(grace_s)
                except subprocess.TimeoutExpired:
                    self.forced = True
                    _kill(process.pid)
                    process.wait()
            for pid, start_time in family:
                if _start_time(pid) == start_time:  # still that process, not a reused id
                    _kill(pid)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        return time.monotonic() - started


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields and fields[0] != "Z" else None


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, start time) of every live process below `pid`, from /proc (Linux; elsewhere
    none are found and only LocalStack itself is stopped)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else ():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[tuple[int, int]] = []
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        start_time = _start_time(child)
        if start_time is not None:
            found.append((child, start_time))
        pending.extend(children.get(child, []))
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_localstack(
    venv: Path = DEFAULT_VENV, port: int = 0, log: IO[bytes] | None = None
) -> Iterator[LocalStack]:
    """A started LocalStack, stopped on exit."""
    server = LocalStack(venv, port, log)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m consumer.local.localstack",
        description="Run LocalStack without Docker on loopback until SIGINT or SIGTERM.",
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="its environment")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gateway port")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server = LocalStack(args.venv, args.port)
    except LocalStackError as exc:
        print(f"localstack: {exc}", file=sys.stderr)
        return 1
    try:
        ready_s = server.start()
    except LocalStackError as exc:
        server.stop()
        print(f"localstack: {exc}", file=sys.stderr)
        return 1
    _say({"localstack": "ready", "endpoint": server.endpoint, "ready_s": round(ready_s, 1)})
    _say({"hint": f"AWS_ENDPOINT_URL={server.endpoint} sluice ... (or sluice --localstack ...)"})
    while not stop.wait(1.0):
        if server.process is not None and server.process.poll() is not None:
            _say({"localstack": "exited", "code": server.process.returncode})
            server.stop()
            return 1
    stop_s = server.stop()
    _say({"localstack": "stopped", "stop_s": round(stop_s, 1), "sigkill": server.forced})
    return 0


def _say(event: dict[str, object]) -> None:
    sys.stdout.write(orjson.dumps(event).decode() + "\n")
    sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
