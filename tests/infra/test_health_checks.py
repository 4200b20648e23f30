"""Every container health check can fail: none is an import, the image and the consumer's
task definition turn the health endpoint on and ask it with `sluice health`, on the port
they set, and Kubernetes probes the same endpoints over HTTP. Batch tasks have none."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from consumer.cli.main import _parser
from consumer.config import load_config
from consumer.runtime.health import default_url
from tests.infra.tf import EXAMPLE, INFRA, MODULES, ROOT, load_dir

DOCKERFILE = ROOT / "Dockerfile"
CONSUMER = MODULES / "consumer_service"
PIPELINE = ROOT / "examples" / "clickstream" / "pipeline.toml"

# `python -c "import consumer"` in any quoting: shell, exec-form JSON, HCL lists, YAML.
_IMPORT_CHECK = re.compile(r"python[\d.]*\W{1,8}-c\W{1,8}import\b")


def _checked_files() -> list[Path]:
    files = [DOCKERFILE, ROOT / "docker-compose.localstack.yml", ROOT / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    for pattern in ("*.tf", "*.yaml", "*.json", "*.tfvars.example"):
        files += sorted(INFRA.rglob(pattern))
    return files


def test_the_import_pattern_catches_every_spelling_it_replaced() -> None:
    for spelling in (
        'CMD ["python", "-c", "import consumer"]',
        "python -c 'import consumer' || exit 1",
        '["CMD-SHELL", "python3 -c \\"import consumer\\""]',
        "command: [python, -c, import consumer]",
    ):
        assert _IMPORT_CHECK.search(spelling), spelling
    assert not _IMPORT_CHECK.search('CMD ["sluice", "health"]')


@pytest.mark.parametrize("path", _checked_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_health_check_is_an_import(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = _IMPORT_CHECK.search(text)
    assert not found, f"{path.relative_to(ROOT)}: {found[0] if found else ''}"


def _final_stage() -> dict[str, list[str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    last = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    stage: dict[str, list[str]] = {}
    for line in lines[last:]:
        keyword, _, rest = line.partition(" ")
        stage.setdefault(keyword.upper(), []).append(rest.strip())
    return stage


def _env(values: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for value in values for item in value.split())


def test_the_image_serves_its_health_endpoint_and_checks_it() -> None:
    # GIVEN the runtime stage of the image
    stage = _final_stage()
    env = _env(stage["ENV"])
    # THEN the health endpoint is on: the example pipeline runs with a health port
    assert env["SLUICE__HEALTH__PORT"] == "8080"
    assert load_config(PIPELINE, env=env).health.port == 8080
    # AND the HEALTHCHECK is `sluice health`, which asks that port
    (check,) = stage["HEALTHCHECK"]
    command = json.loads(check[check.index("CMD") + 3 :])
    assert command == ["sluice", "health"]
    args = _parser().parse_args(command[1:])
    assert args.url is None
    assert default_url(args.ready, env) == "http://127.0.0.1:8080/healthz"
    assert "--retries=" in check and "--interval=" in check


def test_the_consumer_task_definition_checks_its_own_endpoint() -> None:
    # GIVEN the consumer service module and the example that calls it
    consumer = load_dir(CONSUMER)
    example = load_dir(EXAMPLE)
    # THEN its default health check is `sluice health` (exec form, no shell)
    command = consumer.variables["health_check_command"]["default"]
    assert command == ["CMD", "sluice", "health"]
    assert example.variables["health_check_command"]["default"] == command
    assert example.modules["consumer"]["health_check_command"] == "${var.health_check_command}"
    assert consumer.modules["task"]["health_check_command"] == "${var.health_check_command}"
    _parser().parse_args(command[2:])
    # AND the task sets the port `sluice health` asks, the user's environment winning
    environment = consumer.locals["environment"]
    assert environment == (
        "${merge({SLUICE__HEALTH__PORT = tostring(var.health_port)}, var.environment)}"
    )
    assert consumer.modules["task"]["environment"] == "${local.environment}"
    port = consumer.variables["health_port"]["default"]
    assert example.variables["health_port"]["default"] == port
    assert example.modules["consumer"]["health_port"] == "${var.health_port}"
    env = {"SLUICE__HEALTH__PORT": str(port)}
    assert load_config(PIPELINE, env=env).health.port == port
    assert default_url(False, env) == f"http://127.0.0.1:{port}/healthz"


def test_the_same_check_serves_both_kinesis_drivers() -> None:
    """`sluice run` and `sluice kcl run` serve the same endpoints on the same port, so the
    one consumer module's check covers both: nothing swaps it by driver."""
    example = load_dir(EXAMPLE)
    assert "kcl" not in example.modules["consumer"]["health_check_command"]
    assert "kinesis_driver" not in str(load_dir(CONSUMER).locals["environment"])


def test_batch_tasks_have_no_health_check() -> None:
    """A batch task runs to its end and serves nothing; ECS ignores the image's check."""
    assert load_dir(MODULES / "batch_job").modules["task"]["health_check_command"] is None
    assert (
        load_dir(MODULES / "task_definition").variables["health_check_command"]["default"] is None
    )
