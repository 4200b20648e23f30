"""Fan-out: a job's inputs split into N parts by a stable hash, part i taken by task i."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator

from consumer.errors import UsageError


def parse_part(text: str | None) -> tuple[int, int]:
    """'i/N' -> (i, N); unset: AWS Batch's array index, else the whole input (0/1).
    A malformed part is a `UsageError` (exit 2), a ValueError too."""
    if not text:
        array_index = os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX")
        parts = os.environ.get("SLUICE_PARTS")
        if array_index is None or not parts:
            return 0, 1
        text = f"{array_index}/{parts}"
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
