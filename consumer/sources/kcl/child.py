"""The process the MultiLangDaemon starts for each shard: `python -m consumer.sources.kcl.child`.

Its stdin and stdout carry the daemon's protocol and nothing else. Before any user code is
imported, the protocol streams are moved to private file descriptors and descriptors 0
and 1 are pointed at /dev/null and stderr: a stray `print()` in a transform, a C library
writing to fd 1 or a subprocess inheriting it all end up on stderr, and nothing can read
the daemon's messages but the protocol loop (consumer/sources/kcl/protocol.py: sluice
reads the daemon's lines itself, as amazon-kclpy's `KCLProcess` would). Metrics never go to stdout.

Under `sluice kcl run` the child's JSON log lines, EMF lines and progress reports go
through the wrapper's channel (`channel`), which prints each line once; the daemon would
relabel every stderr line as an ERROR. Without it (a daemon started by hand), or when the
channel fails, logs and EMF go to stderr as before. Stderr keeps what bypasses logging: a
traceback, a stray print.

SIGINT and SIGTERM are ignored: the daemon stops its children itself (a shutdown request,
then end of input), and a signal sent to the whole process group must not kill a child
in the middle of the daemon's graceful shutdown.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from consumer.errors import ConfigError

CHILD_MODULE = "consumer.sources.kcl.child"


def take_protocol_streams() -> tuple[IO[str], IO[str]]:
    """Private copies of stdin and stdout for the protocol; fd 0 becomes /dev/null, fd 1
    a copy of stderr, and `sys.stdout` is `sys.stderr` from here on."""
    sys.stdout.flush()
    protocol_in = os.fdopen(os.dup(0), "r", encoding="utf-8", newline="\n")
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
    sys.stdout = sys.stderr
    return protocol_in, protocol_out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m " + CHILD_MODULE,
        description="sluice's shard processor for the KCL MultiLangDaemon (started by it)",
    )
    parser.add_argument("--config", required=True, help="pipeline file (TOML)")
    parser.add_argument(
        "--log-level", default=os.environ.get("SLUICE_LOG_LEVEL", "INFO"), help="default INFO"
    )
    parser.add_argument(
        "--flush-attempts",
        type=int,
        default=3,
        help="whole-cut attempts (each with the sinks' own retries) before the child exits 1",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    protocol_in, protocol_out = take_protocol_streams()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    from consumer.logs import setup_logging
    from consumer.sources.kcl.channel import ChannelClient
    from consumer.sources.kcl.outputs import ChannelLogHandler, ProgressReport

    args = _parser().parse_args(argv)
    channel = ChannelClient.from_env()
    handler = ChannelLogHandler(channel) if channel is not None else None
    setup_logging(args.log_level, sys.stderr, handler)

    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.sources.kcl.fence import LeaseFence
    from consumer.sources.kcl.processor import ShardProcessor, build_parts
    from consumer.sources.kcl.protocol import MultiLangSession

    aws = AwsClients()
    try:
        config = load_config(args.config)
        report = [ProgressReport(channel)] if channel is not None else []
        parts = build_parts(config, Path.cwd(), aws, report, channel=channel)
    except ConfigError as exc:
        print(f"sluice kcl child: configuration error: {exc}", file=sys.stderr)
        return 2
    fence = LeaseFence.from_env(os.environ, aws.client("dynamodb"))
    processor = ShardProcessor(
        parts,
        flush_attempts=args.flush_attempts,
        fence=fence,
        lifecycle=report[0] if report else None,
    )
    if report:
        report[0].measure = processor.source.records_behind  # KinesisRecordsBehind's part
    try:
        MultiLangSession(processor, protocol_in, protocol_out, sys.stderr).run()
    finally:
        parts.close()
        if channel is not None:
            channel.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
