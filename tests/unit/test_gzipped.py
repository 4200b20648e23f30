"""Lake objects' gzip: ISA-L for levels 1 to 3, zlib above; standard gzip either way, the
same bytes on every run."""

from __future__ import annotations

import gzip
import zlib

import pytest

from consumer.sinks.gzipped import gzip_bytes
from load_tests.reference import events

BODY = b"\n".join(events(200)) + b"\n"


@pytest.mark.parametrize("level", range(1, 10))
def test_every_level_writes_standard_gzip_the_same_bytes_each_time(level: int) -> None:
    out = gzip_bytes(BODY, level)
    assert gzip.decompress(out) == BODY
    assert zlib.decompress(out, wbits=31) == BODY  # a plain zlib reader too
    assert out == gzip_bytes(BODY, level)
    assert out[4:8] == b"\0\0\0\0"  # mtime 0: a rerun writes the same object


def test_isal_levels_are_smaller_than_zlibs_same_level() -> None:
    for level in (1, 2, 3):
        assert len(gzip_bytes(BODY, level)) < len(gzip.compress(BODY, level, mtime=0))
