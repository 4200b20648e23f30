"""Fault-injection points for the reliability suite, inert unless asked for.

`SLUICE_CRASH_AT=after_write_before_ack:N` makes the process die (os._exit, like
SIGKILL: no cleanup, no flush) at the Nth flush, after every sink confirmed it and before
the source is acked (Kinesis checkpoint, SQS delete): the window in which a crash must
lose nothing and duplicate nothing. `before_sink_write_NAME:N` and
`after_sink_write_NAME:N` die at the Nth write of sink NAME, just before it starts or just
after it confirmed, while the cut's other sinks write in parallel: between one sink's
effect and another's. Read once at start; costs one comparison per point.

`SLUICE_HOLD_FILE=PATH` makes a consumer wait at a hold point, for as long as PATH exists
(at most five minutes), after creating `PATH.held` to say it is waiting: the zombie tests
freeze a worker that way with a cut in hand, let another worker take it over, then let it
go on. `SLUICE_HOLD_AT` names the point: `before_write` (the default: before a cut is
written, where a KCL child checks its lease) or `before_commit` (an SQS cut written to
staging, not committed in the ledger yet).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)
_POINT, _, _COUNT = os.environ.get("SLUICE_CRASH_AT", "").partition(":")
_hits: dict[str, int] = {}
_HOLD = os.environ.get("SLUICE_HOLD_FILE")
_HOLD_AT = os.environ.get("SLUICE_HOLD_AT", "before_write")


def crash_point(name: str) -> None:
    if name != _POINT:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(_COUNT or 1):
        log.warning("injected crash", extra={"point": name, "flush": _hits[name]})
        os._exit(137)


def hold_point(name: str = "before_write", limit_s: float = 300.0) -> None:
    """Wait while the hold file exists (only when `SLUICE_HOLD_FILE` is set and
    `SLUICE_HOLD_AT` names this point)."""
    if _HOLD is None or name != _HOLD_AT or not os.path.exists(_HOLD):
        return
    Path(_HOLD + ".held").touch()
    log.warning("holding", extra={"hold_file": _HOLD, "point": name})
    deadline = time.monotonic() + limit_s
    while os.path.exists(_HOLD) and time.monotonic() < deadline:
        time.sleep(0.05)
