"""The Kinesis Producer Library aggregation format, read and written without protobuf.

An aggregated record is ``F3 89 9A C2`` + protobuf ``AggregatedRecord`` + MD5 of the
protobuf bytes. Like the KCL, `split` treats data whose magic matches but whose digest
does not as a plain record (a producer may legitimately send such bytes); only a blob with
a valid digest and a malformed body is an error. `aggregate` writes the same format, for
the demo, the tests and the load generator.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

from consumer.errors import EtlError

MAGIC = b"\xf3\x89\x9a\xc2"
_DIGEST = 16


class KplFormatError(EtlError, ValueError):
    """A blob with a valid KPL digest whose protobuf body cannot be read."""


class UserRecord(NamedTuple):
    partition_key: str
    explicit_hash_key: str | None
    data: bytes


def is_aggregated(data: bytes) -> bool:
    return len(data) >= len(MAGIC) + _DIGEST and data[:4] == MAGIC


def split(data: bytes) -> list[UserRecord] | None:
    """The user records of an aggregate, or None when `data` is not a valid aggregate."""
    if not is_aggregated(data):
        return None
    body = data[4:-_DIGEST]
    if hashlib.md5(body, usedforsecurity=False).digest() != data[-_DIGEST:]:
        return None
    return _parse_aggregate(body)


def deaggregate(data: bytes) -> list[UserRecord]:
    """Strict `split`: raises KplFormatError for anything that is not a valid aggregate."""
    records = split(data)
    if records is None:
        raise KplFormatError("not a KPL aggregate (magic or digest mismatch)")
    return records


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise KplFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise KplFormatError("varint too long")


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message; unknown wire types are skipped."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise KplFormatError("truncated length-delimited field")
            out.append((number, buf[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > len(buf):
                raise KplFormatError("truncated fixed-width field")
        else:
            raise KplFormatError(f"unsupported wire type {wire}")
    return out


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise KplFormatError("expected a string field")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KplFormatError(f"key is not UTF-8: {exc}") from None


def _parse_aggregate(body: bytes) -> list[UserRecord]:
    keys: list[str] = []
    hash_keys: list[str] = []
    raw_records: list[bytes] = []
    for number, value in _fields(body):
        if number == 1:
            keys.append(_text(value))
        elif number == 2:
            hash_keys.append(_text(value))
        elif number == 3 and isinstance(value, bytes):
            raw_records.append(value)
    return [_parse_record(raw, keys, hash_keys) for raw in raw_records]


def _parse_record(raw: bytes, keys: list[str], hash_keys: list[str]) -> UserRecord:
    key_index: int | None = None
    hash_index: int | None = None
    data: bytes | None = None
    for number, value in _fields(raw):
        if number == 1 and isinstance(value, int):
            key_index = value
        elif number == 2 and isinstance(value, int):
            hash_index = value
        elif number == 3 and isinstance(value, bytes):
            data = value
    if key_index is None or data is None:
        raise KplFormatError("record without partition key index or data")
    if key_index >= len(keys) or (hash_index is not None and hash_index >= len(hash_keys)):
        raise KplFormatError("key index out of range")
    return UserRecord(keys[key_index], None if hash_index is None else hash_keys[hash_index], data)


def _put_varint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _put_bytes(out: bytearray, number: int, value: bytes) -> None:
    _put_varint(out, (number << 3) | 2)
    _put_varint(out, len(value))
    out += value


def aggregate(records: Sequence[tuple[str, bytes]] | Sequence[UserRecord]) -> bytes:
    """One aggregate holding `records`, partition keys de-duplicated into the table."""
    key_index: dict[str, int] = {}
    hash_index: dict[str, int] = {}
    body = bytearray()
    encoded: list[bytes] = []
    for item in records:
        key, data = item[0], item[-1]
        hash_key = item.explicit_hash_key if isinstance(item, UserRecord) else None
        record = bytearray()
        _put_varint(record, 1 << 3)
        _put_varint(record, key_index.setdefault(key, len(key_index)))
        if hash_key is not None:
            _put_varint(record, 2 << 3)
            _put_varint(record, hash_index.setdefault(hash_key, len(hash_index)))
        _put_bytes(record, 3, bytes(data))
        encoded.append(bytes(record))
    for key in key_index:
        _put_bytes(body, 1, key.encode())
    for hash_key in hash_index:
        _put_bytes(body, 2, hash_key.encode())
    for record_bytes in encoded:
        _put_bytes(body, 3, record_bytes)
    return MAGIC + bytes(body) + hashlib.md5(body, usedforsecurity=False).digest()
