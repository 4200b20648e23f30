"""load_config: TOML plus environment overrides, validated with every bad field named."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from consumer.config import PipelineConfig, load_config
from consumer.errors import ConfigError
from consumer.sinks.memory import MemorySinkConfig
from consumer.sources.kinesis.config import KinesisSourceConfig


class Event(BaseModel):
    id: int


MINIMAL = f"""
name = "unit-test"

[source]
type = "kinesis"
stream = "events"

[[routes]]
name = "events"
schema = "{__name__}:Event"
sinks = ["mem"]
key = "id"

[sinks.mem]
type = "memory"

[quarantine]
type = "memory"
"""

WriteConfig = Callable[[str], Path]


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # load_config puts the config's folder on sys.path; keep that out of other tests.
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture()
def write_config(tmp_path: Path) -> WriteConfig:
    def write(text: str) -> Path:
        path = tmp_path / "pipeline.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _config_error(path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={} if env is None else env)
    return str(info.value)


def _kinesis(config: PipelineConfig) -> KinesisSourceConfig:
    assert isinstance(config.source, KinesisSourceConfig)
    return config.source


def test_minimal_config_loads_with_defaults(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL)
    config = load_config(path, env={})
    assert config.name == "unit-test"
    assert (_kinesis(config).stream, _kinesis(config).initial_position) == (
        "events",
        "TRIM_HORIZON",
    )
    route = config.routes[0]
    assert (route.schema_path, route.sinks, route.key) == (f"{__name__}:Event", ("mem",), ("id",))
    assert config.sinks == {"mem": MemorySinkConfig()}
    assert config.quarantine == MemorySinkConfig()
    assert config.router.type_field == "type"
    assert config.buffer.max_age_s == 5.0
    assert str(path.parent) in sys.path


def test_a_typo_field_is_named(write_config: WriteConfig) -> None:
    message = _config_error(write_config(MINIMAL + "\n[buffer]\nmax_age = 1\n"))
    assert "buffer.max_age: Extra inputs are not permitted" in message
    assert "pipeline.toml" in message


def test_a_route_referencing_an_unknown_sink_is_named(write_config: WriteConfig) -> None:
    message = _config_error(write_config(MINIMAL.replace('sinks = ["mem"]', 'sinks = ["lake"]')))
    assert "routes.0.sinks: unknown sink 'lake' (declared: mem)" in message


def test_at_timestamp_requires_initial_timestamp(write_config: WriteConfig) -> None:
    text = MINIMAL.replace(
        'stream = "events"', 'stream = "events"\ninitial_position = "AT_TIMESTAMP"'
    )
    message = _config_error(write_config(text))
    # The source is a tagged union, so the location may carry the tag: source.kinesis.
    assert re.search(r"^  source(\.kinesis)?: initial_timestamp is required", message, re.M)


def test_at_timestamp_with_initial_timestamp_loads(write_config: WriteConfig) -> None:
    text = MINIMAL.replace(
        'stream = "events"',
        'stream = "events"\ninitial_position = "AT_TIMESTAMP"\n'
        "initial_timestamp = 2026-11-22T13:00:00Z",
    )
    config = load_config(write_config(text), env={})
    assert _kinesis(config).initial_timestamp == datetime(2026, 11, 22, 13, tzinfo=UTC)


def test_environment_overrides_apply(write_config: WriteConfig) -> None:
    # GIVEN overrides for a nested field, a list item and a string, plus an unrelated variable
    env = {
        "SLUICE__BUFFER__MAX_AGE_S": "2.5",
        "SLUICE__ROUTES__0__VERSION_FIELD": "updated_at",
        "SLUICE__SOURCE__STREAM": "other-stream",
        "HOME": "/nowhere",
    }
    # WHEN loaded with that environment
    config = load_config(write_config(MINIMAL), env=env)
    # THEN each override replaced or added its field
    assert config.buffer.max_age_s == 2.5
    assert config.routes[0].version_field == "updated_at"
    assert _kinesis(config).stream == "other-stream"


def test_an_invalid_override_is_a_config_error(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL)
    assert "buffer.max_age_s" in _config_error(path, {"SLUICE__BUFFER__MAX_AGE_S": "-1"})
    assert "SLUICE__" in _config_error(path, {"SLUICE__ROUTES__7__NAME": "x"})


def test_bad_toml_is_a_config_error(write_config: WriteConfig) -> None:
    message = _config_error(write_config('name = "unterminated\n'))
    assert "not valid TOML" in message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    message = _config_error(tmp_path / "nope.toml")
    assert message == f"config file not found: {tmp_path / 'nope.toml'}"


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    assert _config_error(path) == f"{path}: not valid TOML: not UTF-8 at byte 11"


def test_a_directory_is_a_config_error(tmp_path: Path) -> None:
    assert _config_error(tmp_path).startswith(f"cannot read config file {tmp_path}: ")
