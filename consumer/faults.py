"""Fault-injection points for the reliability suite, inert unless asked for.

`SLUICE_CRASH_AT=after_write_before_ack:N` makes the process die (os._exit, like
SIGKILL: no cleanup, no flush) at the Nth flush, after every sink confirmed it and before
the source is acked (Kinesis checkpoint, SQS delete): the window in which a crash must
lose nothing and duplicate nothing. Read once at start; costs one comparison per flush.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)
_POINT, _, _COUNT = os.environ.get("SLUICE_CRASH_AT", "").partition(":")
_hits = {"after_write_before_ack": 0}


def crash_point(name: str) -> None:
    if name != _POINT:
        return
    _hits[name] += 1
    if _hits[name] >= int(_COUNT or 1):
        log.warning("injected crash", extra={"point": name, "flush": _hits[name]})
        os._exit(137)
