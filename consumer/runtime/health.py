"""Liveness and readiness over HTTP, for the container health check and probes.

`/healthz` (liveness) fails when the consumer stops making progress: its reader loop has
not gone round for `max_poll_gap_s` outside a flush, or a flush has been running (retries
included) for longer than `max_flush_s`, as when a sink hangs. A SIGSTOPped process
answers nothing, which `sluice health` counts as a failure too. An idle consumer keeps
turning its loop and stays live. `/readyz` is 200 once the source has polled, the oldest
unflushed work is younger than `max_flush_age_s` and the last flush did not fail. Both
answer JSON with the details. `sluice health` turns `/healthz` (or `--ready`: `/readyz`)
into an exit code for the image's HEALTHCHECK and the task definition's healthCheck.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field

from consumer.delivery.hooks import FlushInfo, Hook


class HealthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int | None = Field(
        None, ge=0, le=65535, description="HTTP port; off when unset (the image sets 8080)"
    )
    host: str = Field("127.0.0.1", description="0.0.0.0 for Kubernetes probes")
    max_poll_gap_s: float = Field(
        60.0, gt=0, description="liveness: longest the reader loop may stand still, flushes aside"
    )
    max_flush_s: float = Field(
        300.0,
        gt=0,
        description="liveness: longest one flush may run, retries included; keep it above "
        "the sinks' retry budget",
    )
    max_flush_age_s: float = Field(300.0, gt=0, description="readiness: oldest unflushed work")


class HealthState(Hook):
    def __init__(self, config: HealthConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.started = clock()
        self.last_poll: float | None = None
        self.last_turn: float | None = None
        self.flushing_since: float | None = None
        self.last_flush: float | None = None
        self.busy_since: float | None = None
        self.last_error: str | None = None

    def on_poll(self, source: str) -> None:
        self.last_poll = self.clock()

    def on_turn(self, source: str) -> None:
        self.last_turn = self.clock()

    def on_flush_started(self, source: str) -> None:
        self.flushing_since = self.clock()

    def on_buffering(self, source: str) -> None:
        if self.busy_since is None:
            self.busy_since = self.clock()

    def on_idle(self, source: str) -> None:
        self.busy_since = None

    def on_flushed(self, info: FlushInfo) -> None:
        self.last_flush = self.clock()
        self.flushing_since = None
        self.last_error = None

    def on_flush_failed(self, source: str, error: BaseException) -> None:
        self.flushing_since = None
        self.last_error = repr(error)

    def live(self) -> tuple[bool, dict[str, Any]]:
        now = self.clock()
        turned = self.started if self.last_turn is None else self.last_turn
        flushing = None if self.flushing_since is None else now - self.flushing_since
        if flushing is not None:
            ok = flushing <= self.config.max_flush_s
        else:
            ok = now - turned <= self.config.max_poll_gap_s
        return ok, {
            "seconds_since_loop_turned": round(now - turned, 3),
            "seconds_flushing": None if flushing is None else round(flushing, 3),
        }

    def ready(self) -> tuple[bool, dict[str, Any]]:
        now = self.clock()
        alive, detail = self.live()
        waiting = 0.0 if self.busy_since is None else now - self.busy_since
        since_flush = None if self.last_flush is None else round(now - self.last_flush, 3)
        ok = (
            alive
            and self.last_poll is not None
            and waiting <= self.config.max_flush_age_s
            and self.last_error is None
        )
        return ok, {
            **detail,
            "polled": self.last_poll is not None,
            "seconds_waiting_for_flush": round(waiting, 3),
            "seconds_since_flush": since_flush,
            "last_error": self.last_error,
        }


class Probes(Protocol):
    """What the health server asks: each answers (ok, details as JSON fields)."""

    def live(self) -> tuple[bool, dict[str, Any]]: ...

    def ready(self) -> tuple[bool, dict[str, Any]]: ...


class HealthServer:
    """`/healthz` and `/readyz` over HTTP for any `Probes` (the consumer's `HealthState`,
    the KCL wrapper's state of its daemon and children)."""

    def __init__(self, state: Probes, config: HealthConfig) -> None:
        self.state = state
        handler = _handler(state)
        self.server = ThreadingHTTPServer((config.host, config.port or 0), handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="health", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(state: Probes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            checks = {"/healthz": state.live, "/readyz": state.ready}
            check = checks.get(self.path)
            if check is None:
                self.send_error(404)
                return
            ok, detail = check()
            body = orjson.dumps({"ok": ok, **detail})
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def default_url(ready: bool = False, env: Mapping[str, str] | None = None) -> str:
    """The endpoint `sluice health` asks when given no URL: this container's own port
    (`SLUICE__HEALTH__PORT`, as the image and task definition set it, else 8080)."""
    env = os.environ if env is None else env
    port = env.get("SLUICE__HEALTH__PORT") or "8080"
    return f"http://127.0.0.1:{port}/{'readyz' if ready else 'healthz'}"


def probe(url: str, timeout_s: float = 3.0) -> tuple[bool, str]:
    """GET `url`; healthy when it answers 200."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200, response.read().decode()
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode()
    except OSError as exc:
        return False, str(exc)
