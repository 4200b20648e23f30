"""Fan-out: a job's inputs split into N parts by a stable hash, part i taken by task i.

Without `--part`, the launcher's index names the part: `AWS_BATCH_JOB_ARRAY_INDEX` (an AWS
Batch array job's child) or `JOB_COMPLETION_INDEX` (a pod of a Kubernetes indexed Job),
with `SLUICE_PARTS=N`, which neither launcher sets by itself. An index without
`SLUICE_PARTS` is refused: taking the whole input in every one of N tasks would be
correct (outputs are idempotent) but N times the work.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Mapping

from consumer.errors import UsageError

INDEX_VARIABLES = ("AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX")


def parse_part(text: str | None, env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """'i/N' -> (i, N); unset: the launcher's index with SLUICE_PARTS, else the whole input
    (0/1). A malformed part is a `UsageError` (exit 2), a ValueError too."""
    if not text:
        env = os.environ if env is None else env
        found = [(name, env[name]) for name in INDEX_VARIABLES if env.get(name)]
        if not found:
            return 0, 1
        name, index_value = found[0]
        parts = env.get("SLUICE_PARTS")
        if not parts:
            raise UsageError(
                f"{name} is {index_value} but SLUICE_PARTS is not set: how many parts?"
            )
        text = f"{index_value}/{parts}"
    index_text, _, size_text = text.partition("/")
    try:
        index, size = int(index_text), int(size_text)
    except ValueError:
        raise UsageError(f"--part {text}: write it as i/N, e.g. 0/4") from None
    if not 0 <= index < size:
        raise UsageError(
            f"--part {text}: need 0 <= i < N (parts are numbered from 0: 0/{size} to "
            f"{max(size - 1, 0)}/{size})"
        )
    return index, size


def parse_params(items: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` arguments (`--param`) as a dict."""
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {item}: write it as KEY=VALUE")
        params[key] = value
    return params


def belongs(name: str, index: int, size: int) -> bool:
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8]) % size == index


def select(names: Iterable[str], index: int, size: int) -> Iterator[str]:
    return (name for name in names if belongs(name, index, size))
