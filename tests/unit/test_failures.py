"""consumer/cli/failures.py: which exceptions are expected failures, and their one line.
The whole commands against real faults: tests/e2e/test_cli_faults.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from consumer.aws.clients import check_endpoint
from consumer.aws.resources import describe
from consumer.cli.failures import explain
from consumer.errors import ConfigError, SinkConfigError, SinkError, UsageError


def client_error(code: str, operation: str, **error: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "msg", **error}}, operation)


def test_an_aws_error_deep_in_a_chain_is_found_and_names_its_resource(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a missing stream, wrapped twice as sluice wraps source errors
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    root = client_error(
        "ResourceNotFoundException",
        "ListShards",
        SluiceResource="stream clicks",
        SluiceService="Kinesis",
    )
    try:
        try:
            raise root
        except ClientError as exc:
            raise SinkError("outer") from exc
    except SinkError as wrapped:
        failure = explain(wrapped)
    # THEN one runtime line naming it, with the hint for AWS (no endpoint set)
    assert failure is not None and failure.code == 1
    assert failure.line.startswith("Kinesis stream clicks does not exist (ListShards): create")
    assert "AWS_ENDPOINT_URL is unset" in failure.line


def test_the_hint_points_at_the_emulator_when_an_endpoint_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    failure = explain(client_error("NoSuchBucket", "PutObject", BucketName="lake"))
    assert failure is not None
    assert "bucket lake does not exist" in failure.line
    assert "sluice emulator start --config FILE" in failure.line


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (UsageError("--part 2/2: need 0 <= i < N"), 2, "invalid argument: --part 2/2"),
        (ConfigError("routes.0.key: missing"), 2, "configuration error: routes.0.key"),
        (SinkConfigError("sink 'db': NOT NULL"), 2, "configuration error: sink 'db'"),
        (NoCredentialsError(), 1, "no AWS credentials found"),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9/x"), 1, "cannot reach"),
        (client_error("AccessDeniedException", "Query"), 1, "access denied to AWS (Query)"),
        (client_error("ExpiredTokenException", "GetItem"), 1, "credentials have expired"),
        (client_error("ValidationException", "PutItem"), 1, "PutItem) failed: Validation"),
        (SinkError("gave up\nafter 8"), 1, "gave up after 8"),
    ],
)
def test_expected_failures_are_one_line_with_their_exit_code(
    exc: Exception, code: int, text: str
) -> None:
    failure = explain(exc)
    assert failure is not None and failure.code == code and text in failure.line
    if not isinstance(exc, ConfigError):
        assert "\n" not in failure.line


def test_anything_else_is_a_bug_and_keeps_its_traceback() -> None:
    assert explain(KeyError("x")) is None
    assert explain(ValueError("Invalid endpoint")) is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"StreamName": "clicks"}, "stream clicks"),
        ({"QueueUrl": "http://h/123/jobs.fifo"}, "queue jobs.fifo"),
        ({"TableName": "runs", "Key": {}}, "table runs"),
        ({"Bucket": "lake", "Key": "a/b.gz"}, "s3://lake/a/b.gz"),
        ({"Bucket": "lake"}, "bucket lake"),
        ({"StreamARN": "arn:aws:kinesis:us-east-1:1:stream/clicks"}, "stream clicks"),
        ({"Limit": 3}, None),
    ],
)
def test_a_call_names_the_resource_of_its_parameters(
    params: dict[str, object], named: str | None
) -> None:
    assert describe(params) == named


@pytest.mark.parametrize("url", ["127.0.0.1:4566", "localhost", "ftp://x", "http://"])
def test_an_endpoint_without_a_scheme_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigError, match="is not an http\\(s\\) URL"):
        check_endpoint(url)


def test_a_broken_user_module_is_a_configuration_error_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consumer.loading import load_object

    # GIVEN a schema module with a syntax error, and one that raises while imported
    (tmp_path / "broken_syntax_i24.py").write_text("class Reading(BaseModel)\n    x: int\n")
    (tmp_path / "broken_import_i24.py").write_text("x = 1 / 0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # WHEN they are loaded THEN the config field, the file and line, or the error are named
    with pytest.raises(ConfigError, match=r"routes\.0\.schema: .*broken_syntax_i24\.py, line 1"):
        load_object("broken_syntax_i24:Reading", "routes.0.schema")
    with pytest.raises(ConfigError, match="failed: ZeroDivisionError: division by zero"):
        load_object("broken_import_i24:Reading", "routes.0.schema")
