"""The environment the example Terraform gives the tasks is valid for the pipelines the
image carries: every SLUICE__ override names a real field."""

from __future__ import annotations

from pathlib import Path

from consumer.config import load_config
from tests.infra.tf import EXAMPLE, ROOT, load_dir

PIPELINES = ROOT / "examples" / "clickstream"


def _override_names(expression: str) -> list[str]:
    return [word for word in expression.replace("{", " ").split() if word.startswith("SLUICE__")]


def _env(names: list[str]) -> dict[str, str]:
    values = {"VISIBILITY_TIMEOUT_S": "120", "PATH": "/tmp/sluice.db"}
    return {name: values.get(name.rsplit("__", 1)[-1], "x-resource-name") for name in names}


def test_kinesis_overrides_fit_pipeline_toml() -> None:
    example = load_dir(EXAMPLE).locals
    kinesis, _, _ = example["source_environment"].partition("} : {")
    names = _override_names(kinesis) + list(example["sink_environment"])
    config = load_config(PIPELINES / "pipeline.toml", env=_env(names))
    assert config.source.type == "kinesis"
    assert config.source.stream == "x-resource-name"


def test_sqs_overrides_fit_pipeline_sqs_toml() -> None:
    example = load_dir(EXAMPLE).locals
    _, _, sqs = example["source_environment"].partition("} : {")
    names = _override_names(sqs) + list(example["sink_environment"])
    config = load_config(Path(PIPELINES / "pipeline-sqs.toml"), env=_env(names))
    assert config.source.type == "sqs"
    assert config.source.visibility_timeout_s == 120
