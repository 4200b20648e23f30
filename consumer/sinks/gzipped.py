"""gzip for lake objects: ISA-L's deflate (the `isal` package) at levels 1 to 3, zlib's
above.

On JSON Lines of the 1.2 KB reference event, ISA-L level 1 takes about 0.45 µs a record
where zlib's level 1 takes 3.0, and its output is smaller (47.5 against 51.2 KB per 500
events); its levels 2 and 3 are likewise faster and smaller than zlib's. ISA-L has no
levels past 3, so 4 to 9 stay zlib's (docs/performance.md). Either way the output is
standard gzip (RFC 1952) that every reader inflates, with mtime 0 so that a rerun writes
the same bytes.
"""

from __future__ import annotations

import gzip

from isal import igzip

ISAL_MAX_LEVEL = 3


def gzip_bytes(data: bytes, level: int = 1) -> bytes:
    """`data` as one gzip member at `level` (1 to 9)."""
    if level <= ISAL_MAX_LEVEL:
        return igzip.compress(data, level, mtime=0)
    return gzip.compress(data, level, mtime=0)
