"""The pipeline file (TOML) and its environment overrides, validated at start.

Every component has one pydantic model with unknown fields forbidden, so a typo fails at
start with the field named. Runtime knobs can be overridden from the environment with
``SLUICE__<FIELD>__<FIELD>=value`` (list items by index, values parsed as JSON when they
parse, as strings otherwise), e.g. ``SLUICE__BUFFER__MAX_AGE_S=2``.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from consumer.delivery.buffer import BufferConfig
from consumer.delivery.retry import RetryConfig
from consumer.errors import ConfigError
from consumer.pipeline.decode import DecodeConfig
from consumer.pipeline.route import RouteConfig
from consumer.runtime.backlog import BacklogConfig
from consumer.runtime.health import HealthConfig
from consumer.runtime.metrics import MetricsConfig
from consumer.runtime.protection import ProtectionConfig
from consumer.sinks.dynamodb import DynamoDbSinkConfig
from consumer.sinks.iceberg.config import IcebergSinkConfig
from consumer.sinks.memory import MemorySinkConfig
from consumer.sinks.postgres import PostgresSinkConfig
from consumer.sinks.s3 import S3SinkConfig
from consumer.sinks.sqlite import SqliteSinkConfig
from consumer.sources.kinesis.config import KinesisSourceConfig
from consumer.sources.sqs.config import SqsSourceConfig

ENV_PREFIX = "SLUICE__"

SinkConfig = Annotated[
    S3SinkConfig
    | SqliteSinkConfig
    | PostgresSinkConfig
    | DynamoDbSinkConfig
    | MemorySinkConfig
    | IcebergSinkConfig,
    Field(discriminator="type"),
]


class RouterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type_field: str | None = Field("type", description="top-level field naming the record type")


class EmulatorConfig(BaseModel):
    """What the embedded emulator creates for this pipeline (local runs only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shard_count: int = Field(2, ge=1, le=64)
    max_receive_count: int = Field(3, ge=1, description="redrive policy of the queue it creates")


class ShutdownConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(
        25.0, gt=0, description="after SIGTERM, exit within this; keep it below ECS stopTimeout"
    )


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$", description="application")
    source: Annotated[KinesisSourceConfig | SqsSourceConfig, Field(discriminator="type")]
    router: RouterConfig = RouterConfig()
    routes: tuple[RouteConfig, ...] = Field(min_length=1)
    sinks: dict[str, SinkConfig] = Field(min_length=1)
    quarantine: SinkConfig
    buffer: BufferConfig = BufferConfig()
    decode: DecodeConfig = DecodeConfig()
    retry: RetryConfig = RetryConfig()
    emulator: EmulatorConfig = EmulatorConfig()
    metrics: MetricsConfig = MetricsConfig()
    health: HealthConfig = HealthConfig()
    protection: ProtectionConfig = ProtectionConfig()
    backlog: BacklogConfig = BacklogConfig()
    shutdown: ShutdownConfig = ShutdownConfig()
    workers: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = Field(
        "auto",
        description="worker processes of `sluice run`, each one source and engine: shards "
        "or receive loops spread over them; 'auto': the task's vCPUs (ECS task metadata, "
        "else the cgroup CPU quota, else the CPUs); 1: one process, no parent",
    )

    @model_validator(mode="after")
    def _route_sinks_exist(self) -> Self:
        for index, route in enumerate(self.routes):
            for sink in route.sinks:
                if sink not in self.sinks:
                    known = ", ".join(sorted(self.sinks))
                    raise ValueError(
                        f"routes.{index}.sinks: unknown sink {sink!r} (declared: {known})"
                    )
        names = [route.name for route in self.routes]
        if len(set(names)) != len(names):
            raise ValueError("routes: route names must be unique")
        return self


def _parse_env_value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def apply_env_overrides(
    raw: dict[str, Any], env: Mapping[str, str], prefix: str = ENV_PREFIX
) -> dict[str, Any]:
    for name, text in sorted(env.items()):
        if not name.startswith(prefix):
            continue
        path = [part.lower() for part in name[len(prefix) :].split("__")]
        node: Any = raw
        for part in path[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(path[-1])] = _parse_env_value(text)
        else:
            node[path[-1]] = _parse_env_value(text)
    return raw


def format_validation_error(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration in {origin}:"]
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "<root>"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def parse_config(raw: dict[str, Any], origin: str) -> PipelineConfig:
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin)) from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """Read, override and validate the pipeline file; make its folder importable."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 at byte {exc.start}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        raw = apply_env_overrides(raw, os.environ if env is None else env)
    except (ValueError, IndexError, TypeError, AttributeError) as exc:
        raise ConfigError(f"environment override {ENV_PREFIX}...: {exc}") from None
    config = parse_config(raw, str(path))
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return config
