"""The MultiLangDaemon's `.properties`, written from the pipeline file.

Property names are those of the KCL's multilang `MultiLangDaemonConfiguration` (set by
bean name: `streamName`, `maxRecords`, ...) and `MultiLangDaemonConfig` (`executableName`,
`processingLanguage`); the credentials key differs by KCL major version
(`AWSCredentialsProvider = DefaultAWSCredentialsProviderChain`, SDK v1, in KCL 2.x;
`AwsCredentialsProvider = DefaultCredentialsProvider`, SDK v2, in KCL 3.x).

What sluice relies on:
- `callProcessRecordsEvenForEmptyRecordList = true`: the daemon calls the child even when
  a read returned nothing, so `buffer.max_age_s` flushes a quiet shard.
- `shutdownGraceMillis` below the ECS `stopTimeout` (minus a margin for the JVM and the
  children to exit), and not above `shutdown.timeout_s`.
- `executableName` is split on spaces by the daemon: no path in it may contain one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from datetime import UTC
from pathlib import Path
from typing import Literal

from consumer.config import PipelineConfig
from consumer.errors import ConfigError
from consumer.sources.kcl.child import CHILD_MODULE
from consumer.sources.kinesis.config import KinesisSourceConfig

DAEMON_CLASS = "software.amazon.kinesis.multilang.MultiLangDaemon"
STOP_MARGIN_S = 5.0
"""Of the ECS stopTimeout, kept for the JVM and the children to exit after the grace."""

RetrievalMode = Literal["polling", "fanout"]
MetricsLevel = Literal["NONE", "SUMMARY", "DETAILED"]


def endpoints(env: Mapping[str, str]) -> dict[str, str]:
    """Kinesis and DynamoDB endpoint overrides (LocalStack, the emulator), as boto3 reads
    them: the service-specific variable first, then `AWS_ENDPOINT_URL`."""
    general = env.get("AWS_ENDPOINT_URL", "")
    found = {
        "kinesisEndpoint": env.get("AWS_ENDPOINT_URL_KINESIS", "") or general,
        "dynamoDBEndpoint": env.get("AWS_ENDPOINT_URL_DYNAMODB", "") or general,
    }
    return {key: value for key, value in found.items() if value}


def child_command(config_path: Path | str, python: str = sys.executable) -> str:
    parts = [python, "-m", CHILD_MODULE, "--config", str(Path(config_path).resolve())]
    for part in parts:
        if not part or any(c.isspace() for c in part):
            raise ConfigError(
                f"executableName: the daemon splits it on spaces; {part!r} cannot be used"
            )
    return " ".join(parts)


def shutdown_grace_ms(config: PipelineConfig, stop_timeout_s: float) -> int:
    grace_s = min(config.shutdown.timeout_s, stop_timeout_s - STOP_MARGIN_S)
    if grace_s <= 0:
        raise ConfigError(
            f"stop timeout {stop_timeout_s:g}s leaves no shutdown grace "
            f"(needs more than {STOP_MARGIN_S:g}s for the JVM and its children to exit)"
        )
    return int(grace_s * 1000)


def render_properties(
    config: PipelineConfig,
    config_path: Path | str,
    *,
    region: str | None = None,
    stop_timeout_s: float = 30.0,
    retrieval_mode: RetrievalMode = "polling",
    metrics_level: MetricsLevel | None = None,
    kcl_major: int = 3,
    application_name: str | None = None,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The daemon's properties for `config` (read by the children from `config_path`).

    `stop_timeout_s` is the ECS container `stopTimeout`; `metrics_level` defaults to NONE
    when an endpoint override is set (the multilang daemon has no CloudWatch endpoint
    setting, so its metrics would go to real AWS) and SUMMARY otherwise; `extra` adds or
    overrides properties by their KCL name (tests lower `failoverTimeMillis` and the like).
    """
    source = config.source
    if not isinstance(source, KinesisSourceConfig):
        raise ConfigError(f"source.type: the KCL path reads Kinesis, not {source.type!r}")
    env = os.environ if env is None else env
    application = application_name or config.name
    if len(application) < 3:
        raise ConfigError(
            f"name: {application!r} names the KCL lease table, which needs 3 characters or more"
        )
    overrides = endpoints(env)
    props: dict[str, str] = {
        "executableName": child_command(config_path, python),
        "processingLanguage": f"python/{sys.version_info.major}.{sys.version_info.minor}",
        "streamName": source.stream,
        "applicationName": application,
        "regionName": region
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or "us-east-1",
    }
    if kcl_major >= 3:
        props["AwsCredentialsProvider"] = "DefaultCredentialsProvider"
    else:
        props["AWSCredentialsProvider"] = "DefaultAWSCredentialsProviderChain"
    if source.initial_timestamp is not None:
        stamp = source.initial_timestamp
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        props["initialPositionInStreamExtended"] = str(int(stamp.timestamp()))
    else:
        props["initialPositionInStream"] = source.initial_position
    props["retrievalMode"] = retrieval_mode.upper()
    if retrieval_mode == "polling":
        props["maxRecords"] = str(source.max_records_per_call)
        props["idleTimeBetweenReadsInMillis"] = str(round(source.idle_poll_interval_s * 1000))
    props["callProcessRecordsEvenForEmptyRecordList"] = "true"
    props["shardSyncIntervalMillis"] = str(round(source.shard_sync_interval_s * 1000))
    props["shutdownGraceMillis"] = str(shutdown_grace_ms(config, stop_timeout_s))
    props["metricsLevel"] = metrics_level or ("NONE" if overrides else "SUMMARY")
    props.update(overrides)
    props.update(extra or {})
    header = [
        f"# MultiLangDaemon properties for {config.name}, written by `sluice kcl properties`",
        f"# from {Path(config_path).resolve()}; edit the pipeline file, not this one.",
    ]
    return (
        "\n".join([*header, *(f"{key} = {_escape(value)}" for key, value in props.items())]) + "\n"
    )


def _escape(value: str) -> str:
    """A value as java.util.Properties.load reads it back (ISO 8859-1, backslash escapes)."""
    out = []
    for index, char in enumerate(value):
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == " " and index == 0:
            out.append("\\ ")
        elif ord(char) > 0x7E or ord(char) < 0x20:
            out.append("".join(f"\\u{unit:04x}" for unit in _utf16(char)))
        else:
            out.append(char)
    return "".join(out)


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
