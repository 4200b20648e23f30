"""Write a validated pipeline config back out as a TOML file for a `sluice` subprocess."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from consumer.config import PipelineConfig


def write_toml(config: PipelineConfig, path: Path, **overrides: dict[str, Any]) -> Path:
    raw = config.model_dump(mode="json", by_alias=True)
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values}
    path.write_text(
        "".join(f"{key} = {_inline(value)}\n" for key, value in raw.items() if value is not None)
    )
    return path


def _inline(value: Any) -> str:
    """TOML inline tables and arrays look like JSON with `=`: enough for a config."""
    if isinstance(value, dict):
        items = ", ".join(f"{k} = {_inline(v)}" for k, v in value.items() if v is not None)
        return "{ " + items + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return orjson.dumps(value).decode()
