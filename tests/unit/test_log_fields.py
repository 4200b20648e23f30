"""No log call may pass an `extra` key that LogRecord reserves: logging raises KeyError
for it at run time, only when that level is enabled (it once crashed `sluice run`)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
PACKAGE = Path(__file__).resolve().parents[2] / "consumer"


def test_no_log_call_uses_a_reserved_extra_key() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for match in re.finditer(r"extra=\{([^}]*)\}", path.read_text(), re.S):
            keys = re.findall(r'"([A-Za-z_]+)":', match.group(1))
            offenders += [f"{path.name}: {key}" for key in keys if key in RESERVED]
    assert offenders == []
