"""`sluice kcl properties`, `sluice kcl run` and `sluice kcl jars`: the MultiLangDaemon
for a pipeline file.

`run` writes the properties, starts `java ... MultiLangDaemon` with the KCL jars that ship
inside amazon-kclpy, and forwards SIGTERM/SIGINT to it: the daemon's shutdown hook asks
every child to flush and checkpoint within `shutdownGraceMillis` (`daemon`). It prints
the children's log and EMF lines, received on a channel of their own (`relay`), once
each, and serves `/healthz` and `/readyz` for the daemon and its children on
`health.port` as `sluice run` does (`watch`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import socket
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from consumer.config import PipelineConfig
from consumer.errors import ConfigError
from consumer.sources.kcl.daemon import run_daemon
from consumer.sources.kcl.fence import TABLE_ENV, WORKER_ENV
from consumer.sources.kcl.properties import DAEMON_CLASS, endpoints, render_properties

_MULTILANG_JAR = re.compile(r"amazon-kinesis-client-multilang-(\d+)\.[\w.\-]*\.jar$")
DEFAULT_JVM_OPTS = ("-XX:+ExitOnOutOfMemoryError",)
EMULATOR_JVM_OPTS = ("-Daws.cborEnabled=false",)
"""Emulators (moto) speak JSON, not the CBOR the Java SDK sends to Kinesis by default."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="kcl_command", required=True)
    properties = commands.add_parser(
        "properties", help="write the MultiLangDaemon .properties for a pipeline file"
    )
    _daemon_options(properties)
    properties.add_argument("--out", default="-", help="file to write (default: stdout)")

    run = commands.add_parser(
        "run", help="run the MultiLangDaemon with sluice as its shard processor"
    )
    _daemon_options(run)
    run.add_argument(
        "--java", default=None, help="java executable (default: $JAVA_HOME/bin/java, then PATH)"
    )
    run.add_argument(
        "--jars", default=None, help="folder of the KCL jars (default: amazon_kclpy/jars)"
    )
    run.add_argument(
        "--jvm-opt",
        action="append",
        default=[],
        metavar="OPT",
        help="extra JVM option (repeatable), e.g. --jvm-opt=-Xmx512m",
    )
    run.add_argument("--log-configuration", default=None, help="logback.xml for the daemon")
    jars = commands.add_parser(
        "jars",
        help="check the KCL jars and print the daemon's classpath; fails without real jars",
    )
    jars.add_argument(
        "--jars", default=None, help="folder of the KCL jars (default: amazon_kclpy/jars)"
    )
    run.add_argument(
        "--properties-out",
        default=None,
        help="keep the generated properties in this file (default: a temporary file)",
    )


def _daemon_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="pipeline file (TOML)")
    parser.add_argument("--region", default=None, help="default: AWS_REGION, then us-east-1")
    parser.add_argument(
        "--stop-timeout-s",
        type=float,
        default=30.0,
        help="the ECS container stopTimeout; shutdownGraceMillis stays below it (default 30)",
    )
    parser.add_argument("--retrieval-mode", choices=["polling", "fanout"], default="polling")
    parser.add_argument(
        "--metrics-level",
        choices=["NONE", "SUMMARY", "DETAILED"],
        default=None,
        help="KCL metrics (default: NONE with an endpoint override, else SUMMARY)",
    )
    parser.add_argument(
        "--application-name",
        default=None,
        help="KCL application and lease table name (default: the pipeline name)",
    )
    parser.add_argument(
        "--kcl-major",
        type=int,
        choices=[2, 3],
        default=None,
        help="KCL major version of the jars (default: read from the jar names, else 3)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra or overriding daemon property (repeatable), e.g. failoverTimeMillis=10000",
    )


def run(args: argparse.Namespace) -> int:
    from consumer.config import load_config

    if args.kcl_command == "jars":
        found = find_jars(args.jars)
        sys.stdout.write("".join(f"{jar}\n" for jar in found))
        print(f"{len(found)} jars, KCL {kcl_major_of(found)}", file=sys.stderr)
        return 0
    config = load_config(args.config)
    if args.kcl_command == "properties":
        major = args.kcl_major or _installed_major()
        text = _render(config, args, major)
        if args.out == "-":
            sys.stdout.write(text)
        else:
            Path(args.out).write_text(text, encoding="latin-1")
        return 0
    jars = find_jars(args.jars)
    major = args.kcl_major or kcl_major_of(jars)
    extra = parse_sets(args.set)
    worker = extra.setdefault("workerId", os.environ.get(WORKER_ENV) or default_worker_id())
    text = _render(config, args, major, extra)
    java = find_java(args.java)
    emulated = bool(endpoints(os.environ))
    # The children check before every write that their worker still owns the lease.
    fence_env = {WORKER_ENV: worker, TABLE_ENV: args.application_name or config.name}
    with tempfile.TemporaryDirectory(prefix="sluice-kcl-") as folder:
        path = Path(args.properties_out or Path(folder, "sluice.properties"))
        path.write_text(text, encoding="latin-1")
        jvm_opts = [*DEFAULT_JVM_OPTS, *(EMULATOR_JVM_OPTS if emulated else ()), *args.jvm_opt]
        command = daemon_command(java, jars, path, jvm_opts, args.log_configuration)
        return run_daemon(
            command,
            env={**os.environ, **fence_env},
            health=config.health,
            metrics=config.metrics,
            service=config.name,
        )


def default_worker_id() -> str:
    """Unique per daemon run: a restarted task is a new worker, never its own zombie."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _render(
    config: PipelineConfig,
    args: argparse.Namespace,
    major: int,
    extra: Mapping[str, str] | None = None,
) -> str:
    return render_properties(
        config,
        args.config,
        region=args.region,
        stop_timeout_s=args.stop_timeout_s,
        retrieval_mode=args.retrieval_mode,
        metrics_level=args.metrics_level,
        kcl_major=major,
        application_name=args.application_name,
        extra=parse_sets(args.set) if extra is None else extra,
    )


def parse_sets(items: Sequence[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


# -- jars and java ----------------------------------------------------------------------------
def default_jar_dir() -> Path | None:
    spec = importlib.util.find_spec("amazon_kclpy")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "jars"


def find_jars(folder: str | Path | None) -> list[Path]:
    """The daemon's classpath; refuses a folder without the multilang jar or holding
    files that are not jars (an amazon-kclpy built with placeholder jars)."""
    where = Path(folder) if folder is not None else default_jar_dir()
    if where is None:
        raise ConfigError("amazon-kclpy is not installed: no KCL jars (or pass --jars)")
    jars = sorted(where.glob("*.jar"))
    if not any(_MULTILANG_JAR.search(jar.name) for jar in jars):
        raise ConfigError(f"no amazon-kinesis-client-multilang jar in {where}")
    broken = [jar.name for jar in jars if not zipfile.is_zipfile(jar)]
    if broken:
        raise ConfigError(
            f"{len(broken)} file(s) in {where} are not jars (placeholders?), e.g. {broken[0]}"
        )
    return jars


def kcl_major_of(jars: Sequence[Path]) -> int:
    for jar in jars:
        match = _MULTILANG_JAR.search(jar.name)
        if match:
            return int(match.group(1))
    return 3


def _installed_major() -> int:
    folder = default_jar_dir()
    return kcl_major_of(sorted(folder.glob("*.jar"))) if folder is not None else 3


def find_java(java: str | None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    candidates = [java] if java else []
    if not java and env.get("JAVA_HOME"):
        candidates.append(str(Path(env["JAVA_HOME"], "bin", "java")))
    if not java:
        candidates.append("java")
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise ConfigError(f"no java executable found (tried {', '.join(candidates)}); pass --java")


def daemon_command(
    java: str,
    jars: Sequence[Path],
    properties: Path,
    jvm_opts: Sequence[str] = DEFAULT_JVM_OPTS,
    log_configuration: str | None = None,
) -> list[str]:
    command = [
        java,
        *jvm_opts,
        "-cp",
        os.pathsep.join(str(jar) for jar in jars),
        DAEMON_CLASS,
        "--properties-file",
        str(properties),
    ]
    if log_configuration:
        command += ["--log-configuration", log_configuration]
    return command


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m consumer.sources.kcl.cli`: the same as `sluice kcl`."""
    from consumer.logs import setup_logging

    parser = argparse.ArgumentParser(prog="sluice kcl", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    setup_logging(os.environ.get("SLUICE_LOG_LEVEL", "INFO"))
    try:
        return run(args)
    except ConfigError as exc:
        print(f"sluice kcl: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
