"""Decoder: JSON, optionally gzip-compressed, under hard size, inflation and depth limits."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import orjson
import pytest

from consumer.errors import RecordError
from consumer.pipeline.decode import DecodeConfig, Decoder

MakeDecoder = Callable[..., Decoder]


@pytest.fixture()
def make_decoder() -> MakeDecoder:
    def make(**limits: float) -> Decoder:
        return Decoder(DecodeConfig.model_validate(limits))

    return make


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _decode_error(decoder: Decoder, data: bytes) -> RecordError:
    with pytest.raises(RecordError) as info:
        decoder.decode(data)
    assert info.value.stage == "decode"
    return info.value


def test_valid_json_decodes(make_decoder: MakeDecoder) -> None:
    value = make_decoder().decode(b'{"type": "order", "id": 7, "tags": ["a", "b"]}')
    assert value == {"type": "order", "id": 7, "tags": ["a", "b"]}


def test_gzip_compressed_json_inflates(make_decoder: MakeDecoder) -> None:
    data = gzip.compress(orjson.dumps({"id": 1, "text": "x" * 500}))
    assert make_decoder().decode(data) == {"id": 1, "text": "x" * 500}


def test_raw_size_over_the_limit_is_record_too_large(make_decoder: MakeDecoder) -> None:
    # GIVEN a 101-byte record and a 100-byte limit
    data = b'{"p": "' + b"x" * 92 + b'"}'
    assert len(data) == 101
    # WHEN decoded THEN it fails before parsing, naming the limit
    error = _decode_error(make_decoder(max_record_bytes=100), data)
    assert error.error_type == "RecordTooLarge"
    assert "101 bytes" in error.message and "max_record_bytes=100" in error.message


def test_raw_size_exactly_at_the_limit_passes(make_decoder: MakeDecoder) -> None:
    data = b'{"p": "' + b"x" * 91 + b'"}'
    assert make_decoder(max_record_bytes=len(data)).decode(data) == {"p": "x" * 91}


def test_gzip_bomb_over_the_absolute_cap_stops(make_decoder: MakeDecoder) -> None:
    # GIVEN 1 MB of zeros in a small gzip, with a generous ratio but a 10 kB absolute cap
    bomb = gzip.compress(b"[" + b"0," * 500_000 + b"0]")
    decoder = make_decoder(max_inflated_bytes=10_000, max_inflate_ratio=1e9)
    # WHEN decoded
    error = _decode_error(decoder, bomb)
    # THEN inflation stops at the cap
    assert error.error_type == "InflateLimitExceeded"
    assert "10000 bytes" in error.message and "max_inflated_bytes=10000" in error.message


def test_gzip_bomb_over_the_ratio_stops(make_decoder: MakeDecoder) -> None:
    # GIVEN a highly compressible payload and a ratio cap of 10
    bomb = gzip.compress(b'"' + b"a" * 100_000 + b'"')
    error = _decode_error(make_decoder(max_inflate_ratio=10), bomb)
    # THEN the limit is 10x the compressed size, below the absolute cap
    assert error.error_type == "InflateLimitExceeded"
    assert f"past {len(bomb) * 10} bytes" in error.message
    assert "max_inflate_ratio=10.0" in error.message


def test_corrupt_gzip_is_invalid_gzip(make_decoder: MakeDecoder) -> None:
    good = gzip.compress(b'{"id": 1, "text": "hello hello hello"}')
    corrupt = good[:10] + b"\x00" * 5 + good[15:]
    assert _decode_error(make_decoder(), corrupt).error_type == "InvalidGzip"


def test_truncated_gzip_is_invalid_gzip(make_decoder: MakeDecoder) -> None:
    truncated = gzip.compress(b'{"id": 1}')[:-6]
    error = _decode_error(make_decoder(), truncated)
    assert error.error_type == "InvalidGzip"
    assert "truncated" in error.message


def test_invalid_utf8_is_reported_as_such(make_decoder: MakeDecoder) -> None:
    error = _decode_error(make_decoder(), b'{"id": "\xff\xfe"}')
    assert error.error_type == "InvalidUtf8"
    assert "byte 8" in error.message


@pytest.mark.parametrize("data", [b'{"id": ', b"{'id': 1}", b"", b"[1, 2,]", b"nope"])
def test_invalid_json_is_invalid_json(make_decoder: MakeDecoder, data: bytes) -> None:
    assert _decode_error(make_decoder(), data).error_type == "InvalidJson"


def test_nesting_exactly_at_the_limit_passes(make_decoder: MakeDecoder) -> None:
    value = make_decoder(max_depth=5).decode(b'{"a": ' + _nested(4) + b"}")
    assert value == {"a": [[[[]]]]}


def test_nesting_one_past_the_limit_is_too_deep(make_decoder: MakeDecoder) -> None:
    error = _decode_error(make_decoder(max_depth=5), b'{"a": ' + _nested(5) + b"}")
    assert error.error_type == "NestingTooDeep"
    assert "max_depth=5" in error.message


def test_brackets_inside_strings_do_not_count_as_depth(make_decoder: MakeDecoder) -> None:
    # GIVEN a flat object whose string holds many brackets (the cheap bound is exceeded)
    data = b'{"s": "' + b"[{" * 50 + b'", "b": [1]}'
    # THEN the real depth (2) is measured and passes
    assert make_decoder(max_depth=2).decode(data) == {"s": "[{" * 50, "b": [1]}


def test_a_document_orjson_refuses_as_too_deep_is_nesting_too_deep(
    make_decoder: MakeDecoder,
) -> None:
    # GIVEN 5000 levels, past orjson's own recursion limit, so orjson.loads itself fails
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(_nested(5000))
    # WHEN decoded THEN it is reported as too deep, not as invalid JSON
    error = _decode_error(make_decoder(), _nested(5000))
    assert error.error_type == "NestingTooDeep"
    assert "max_depth=32" in error.message


def test_gzip_content_is_subject_to_the_depth_limit(make_decoder: MakeDecoder) -> None:
    error = _decode_error(make_decoder(max_depth=3), gzip.compress(_nested(4)))
    assert error.error_type == "NestingTooDeep"
