"""base64 as the stdlib decodes it, at SIMD speed: record data from Kinesis (botocore's
blob parser, consumer/aws/clients.py) and from the KCL daemon (consumer/sources/kcl/
protocol.py)."""

from __future__ import annotations

import base64

from pybase64 import b64decode as _b64decode


def b64decode(data: str) -> bytes:
    """``data`` as `base64.b64decode` decodes it, by pybase64's SIMD decoder, several
    times faster on a 1 KB event (0.5 to 0.9 µs against 3.5). pybase64 reads strict
    base64 only (what Kinesis and the daemon's Java encoder write), where the two agree;
    anything else (line breaks, stray characters, data after padding) goes to the stdlib,
    so the result, or the error, is always the stdlib's."""
    try:
        decoded: bytes = _b64decode(data, validate=True)
    except ValueError:
        return base64.b64decode(data)
    return decoded
