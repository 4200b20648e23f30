"""LocalStack without Docker, the parts that need no LocalStack: pointing sluice at it
through localstack-client, the server's settings, and the environment's build script."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from consumer.aws.localstack import localstack_endpoint, use_localstack
from consumer.cli.main import main
from consumer.local.localstack import (
    KINESIS_MOCK_VERSION,
    SERVICES,
    SUPPORT,
    LocalStack,
    LocalStackError,
    server_environment,
)

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "tools" / "localstack" / "install.sh"
_AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "SLUICE_LOCALSTACK",
    "LOCALSTACK_HOST",
    "USE_SSL",
)


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the variables set; whatever a test (or `use_localstack`) sets is undone."""
    for name in _AWS_VARIABLES:
        monkeypatch.setenv(name, "")  # records the original, so the undo restores it
        monkeypatch.delenv(name)
    return monkeypatch


def test_localstack_host_names_the_endpoint_and_aws_endpoint_url_wins(
    clean_env: pytest.MonkeyPatch,
) -> None:
    assert localstack_endpoint("kinesis") == "http://localhost:4566"
    clean_env.setenv("LOCALSTACK_HOST", "127.0.0.1:4599")
    assert localstack_endpoint("sqs") == "http://127.0.0.1:4599"
    clean_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert localstack_endpoint("sqs") == "http://127.0.0.1:5000"


def test_clients_in_localstack_mode_get_its_endpoint_and_dummy_credentials(
    clean_env: pytest.MonkeyPatch,
) -> None:
    # GIVEN LocalStack mode, LOCALSTACK_HOST and no credentials anywhere in the environment
    clean_env.setenv("LOCALSTACK_HOST", "127.0.0.1:4599")
    clean_env.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    clean_env.setenv("AWS_CONFIG_FILE", "/nonexistent")

    # WHEN clients are built
    aws = AwsClients(localstack=True)
    sqs = aws.client("sqs")

    # THEN they go to LocalStack, signed with localstack-client's credentials
    assert sqs.meta.endpoint_url == "http://127.0.0.1:4599"
    assert aws.endpoint_url == "http://127.0.0.1:4599"
    credentials = sqs._request_signer._credentials
    assert credentials is not None and credentials.access_key == "accesskey"
    # an explicit endpoint still wins, and without the mode nothing changes
    assert AwsClients(endpoint_url="http://127.0.0.1:9", localstack=True).client(
        "s3"
    ).meta.endpoint_url == ("http://127.0.0.1:9")
    assert "4599" not in AwsClients(localstack=False).client("s3").meta.endpoint_url


def test_use_localstack_exports_the_mode_for_started_processes(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("LOCALSTACK_HOST", "127.0.0.1:4599")
    clean_env.setenv("AWS_ACCESS_KEY_ID", "000000000042")  # kept: LocalStack's account

    endpoint = use_localstack()

    assert endpoint == "http://127.0.0.1:4599"
    assert os.environ["AWS_ENDPOINT_URL"] == endpoint
    assert os.environ["SLUICE_LOCALSTACK"] == "1"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "000000000042"
    assert os.environ["AWS_REGION"] == "us-east-1"
    assert AwsClients().localstack


def test_the_localstack_flag_points_the_command_at_localstack(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("LOCALSTACK_HOST", "127.0.0.1:4599")
    code = main(["--localstack", "cost", "--records-per-s", "10", "--record-bytes", "100"])
    assert code == 0 and capsys.readouterr().out
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4599"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "accesskey"


def test_the_server_runs_on_loopback_with_sluices_services_and_a_clean_interpreter() -> None:
    base = {"PATH": "/usr/bin", "PYTHONPATH": "/repo", "NODE_OPTIONS": "--max-old-space-size=512"}
    env = server_environment(Path("/state"), 4599, base)
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4599"
    assert env["LOCALSTACK_HOST"] == "127.0.0.1:4599"
    assert env["FILESYSTEM_ROOT"] == "/state" and env["OVERRIDE_IN_DOCKER"] == "0"
    assert env["SERVICES"] == SERVICES
    assert env["PROVIDER_OVERRIDE_DYNAMODB"] == "moto"
    assert env["KINESIS_SHARD_LIMIT"] == "10000"  # a test session makes hundreds of shards
    assert env["NODE_OPTIONS"] == (f"--max-old-space-size=512 --require {SUPPORT / 'loopback.cjs'}")
    assert "PYTHONPATH" not in env and env["PATH"] == "/usr/bin"


def test_compose_starts_the_same_services() -> None:
    compose = (REPO / "docker-compose.localstack.yml").read_text()
    assert f"SERVICES: {SERVICES}" in compose


def test_a_missing_environment_is_named_with_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(LocalStackError, match="make localstack-venv"):
        LocalStack(tmp_path / "nothing")


def test_the_build_pins_everything_and_agrees_on_kinesis_local() -> None:
    requirements = (REPO / "tools" / "localstack" / "requirements.txt").read_text()
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert "localstack-core[runtime]==2026.3.0" in pins
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+\-]+", pin) for pin in pins)
    script = INSTALL.read_text()
    assert f"kinesis_mock_version={KINESIS_MOCK_VERSION} " in script


def test_without_python_313_the_build_says_what_is_missing(tmp_path: Path) -> None:
    # GIVEN a PATH with the few tools the script uses before it looks for Python, and no
    # python3.13, no pyenv, no LOCALSTACK_PYTHON
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("dirname", "cat", "ls", "sort"):
        found = shutil.which(tool)
        assert found is not None
        (tools / tool).symlink_to(found)
    env = {"PATH": str(tools), "HOME": str(tmp_path)}
    bash = shutil.which("bash")
    assert bash is not None

    # WHEN the environment is built
    result = subprocess.run(
        [bash, str(INSTALL), str(tmp_path / "venv")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    # THEN it stops before doing anything, naming the need and the ways out
    assert result.returncode == 3, result.stderr
    assert "needs Python 3.13" in result.stderr
    assert "pyenv install 3.13" in result.stderr and "LOCALSTACK_PYTHON" in result.stderr
    assert not (tmp_path / "venv").exists()

    # AND a LOCALSTACK_PYTHON that is no Python 3.13 is refused by name
    wrong = subprocess.run(
        [bash, str(INSTALL), str(tmp_path / "venv")],
        env={**env, "LOCALSTACK_PYTHON": str(tools / "ls")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 3 and "is not a Python 3.13" in wrong.stderr


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LocalStack(tmp_path / "venv", port=taken.getsockname()[1])
        with pytest.raises(LocalStackError, match="is in use"):
            server.start()
    assert server.process is None
    server.stop()
