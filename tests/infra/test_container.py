"""The Dockerfile and docker-compose.localstack.yml, checked statically; the commands they
(and the Terraform defaults) run are parsed by the CLI as it is."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

import pytest

from consumer.cli.main import _parser
from tests.infra.tf import EXAMPLE, MODULES, ROOT, load_dir

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.localstack.yml"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last:]


def _compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: compose checks skipped")
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _parses(argv: list[str]) -> argparse.Namespace:
    return _parser().parse_args(argv)


def test_dockerfile_is_multi_stage_on_python_slim() -> None:
    froms = [rest for keyword, rest in _instructions() if keyword == "FROM"]
    assert len(froms) >= 3
    images = [rest.split()[0] for rest in froms]
    assert "python:3.11-slim-bookworm" in images
    assert not [image for image in images if image.endswith(":latest")]


def test_final_stage_runs_as_non_root() -> None:
    users = [rest for keyword, rest in _final_stage() if keyword == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert "useradd --system --uid 10001" in DOCKERFILE.read_text(encoding="utf-8")


def test_entrypoint_is_exec_form_sluice_and_cmd_parses() -> None:
    stage = dict(_final_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["sluice"]
    command = json.loads(stage["CMD"])
    assert command == ["run", "--config", "/app/pipeline.toml"]
    _parses(command)


def test_java_only_in_the_kcl_variant() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    runtime_false = text[text.index("AS runtime-false") : text.index("AS runtime-true")]
    assert "openjdk" not in runtime_false
    # amazon-kclpy pinned by hash, and the build fails unless its jars are real
    build_kcl = text[text.index("AS build-kcl") : text.index("AS base")]
    assert "--require-hashes -r kcl-image.txt" in build_kcl
    assert "sluice kcl jars" in build_kcl
    pin = (ROOT / "requirements" / "kcl-image.txt").read_text(encoding="utf-8")
    assert re.search(r"amazon-kclpy==\d+\.\d+\.\d+ \\\n\s+--hash=sha256:[0-9a-f]{64}", pin)


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "tests", "demo-output"} <= set(ignored)
    assert "examples" not in ignored  # the default pipeline folder


def test_compose_wires_localstack_and_the_consumer() -> None:
    services = _compose()["services"]
    localstack = services["localstack"]
    assert set(localstack["environment"]["SERVICES"].split(",")) == {
        "kinesis",
        "sqs",
        "s3",
        "dynamodb",
        "cloudwatch",
    }
    consumer = services["consumer"]
    assert consumer["environment"]["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert consumer["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert consumer["read_only"] is True
    assert consumer["user"] == "10001:10001"
    _parses(consumer["command"])
    _parses(services["demo"]["command"])


def test_compose_init_creates_what_the_example_pipelines_name() -> None:
    script = _compose()["services"]["init"]["command"][0]
    for name in (
        "sluice-demo-events",
        "sluice-demo-checkpoints",
        "sluice-demo-lake",
        "sluice-demo-events-dlq",
    ):
        assert name in script
    assert "AttributeName=shard_key,AttributeType=S" in script
    assert "AttributeName=idempotency_key,AttributeType=S" in script


def test_terraform_default_commands_parse() -> None:
    for folder, variable in (
        (MODULES / "consumer_service", "command"),
        (MODULES / "batch_job", "command"),
        (EXAMPLE, "batch_command"),
    ):
        _parses(load_dir(folder).variables[variable]["default"])


def test_documented_batch_commands_parse() -> None:
    """docs/deployment.md and the batch module's description name these overrides."""
    _parses(
        [
            "batch",
            "run",
            "replay-quarantine",
            "--config",
            "/app/pipeline.toml",
            "--param",
            "bucket=b",
        ]
    )
    _parses(["batch", "run", "backfill", "--config", "/app/pipeline.toml", "--param", "bucket=b"])
    _parses(["health", "--url", "http://127.0.0.1:8080/healthz"])


def test_the_default_consumer_commands_are_ones_sluice_accepts() -> None:
    # GIVEN the example deployment's default commands (polling/SQS, and the KCL driver)
    text = (EXAMPLE / "main.tf").read_text()
    block = text[text.index("consumer_command = var.consumer_command") :]
    block = block[: block.index("\n  )\n")]
    kcl_part, run_part = block.split("] : [", 1)
    # WHEN each is parsed by sluice's own CLI, Terraform expressions replaced by samples
    samples = {"local.kcl_application_name": "demo-kcl", "tostring(var.stop_timeout_s)": "60"}
    commands = []
    for part in (kcl_part[kcl_part.index("[") + 1 :], run_part):
        items = [item.strip() for item in part.replace("\n", " ").split(",")]
        args = [samples.get(item, item.strip('"]')) for item in items if item.strip("] ")]
        commands.append(args)
    parsed = [_parses(args) for args in commands]
    # THEN the KCL command runs the daemon on fan-out with the lease table Terraform makes
    assert commands[0][:2] == ["kcl", "run"] and commands[1][0] == "run"
    assert parsed[0].application_name == "demo-kcl" and parsed[0].retrieval_mode == "fanout"
    assert parsed[0].stop_timeout_s == 60.0
    assert 'kcl_application_name = var.kinesis_driver == "kcl"' in text
