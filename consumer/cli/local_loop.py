"""The local dev loop: `sluice emulator start`, `sluice put`, `sluice lake ls|cat` and
`sluice quarantine ls|show` (docs/tutorial.md walks through them)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import orjson

DEFAULT_PORT = 4566
"""The port LocalStack made the usual one for local AWS; `--port` picks another."""


def add_arguments(commands: Any) -> None:
    emulator = commands.add_parser(
        "emulator", help="the embedded AWS emulator, kept up for a local dev loop"
    )
    sub = emulator.add_subparsers(dest="emulator_command", required=True)
    start = sub.add_parser(
        "start",
        help="start it, create what the pipeline names, print the AWS_ENDPOINT_URL to "
        "export; runs until Ctrl-C (what it holds is gone then)",
    )
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    start.add_argument(
        "--config", default=None, help="pipeline file: create its stream or queue, tables, buckets"
    )

    put = commands.add_parser(
        "put", help="put the lines of a JSON Lines file on the pipeline's stream or queue"
    )
    put.add_argument("--config", required=True, help="pipeline file (names the source)")
    put.add_argument("records", help="JSON Lines file, one record a line, sent as is (- : stdin)")
    put.add_argument(
        "--key-field",
        default=None,
        help="top-level field whose value is the partition key (FIFO: message group); "
        "a digest of the line when unset or absent",
    )

    lake = commands.add_parser("lake", help="what the routes wrote to their S3 sinks")
    lake_sub = lake.add_subparsers(dest="lake_command", required=True)
    lake_ls = lake_sub.add_parser("ls", help="list the objects, with their record counts")
    lake_cat = lake_sub.add_parser("cat", help="print their rows as JSON Lines")
    for cmd in (lake_ls, lake_cat):
        cmd.add_argument("--config", required=True, help="pipeline file")
        cmd.add_argument("--route", default=None, help="only this route")
    lake_cat.add_argument("--key", default=None, help="only this object key")

    quarantine = commands.add_parser("quarantine", help="the quarantined records and why")
    q_sub = quarantine.add_subparsers(dest="quarantine_command", required=True)
    ls = q_sub.add_parser("ls", help="one line per record: number, time, stage/error, message")
    ls.add_argument("--config", required=True, help="pipeline file")
    ls.add_argument("--stage", default=None, help="only this stage (decode, validate, ...)")
    show = q_sub.add_parser("show", help="one record's whole envelope, its bytes as text")
    show.add_argument("--config", required=True, help="pipeline file")
    show.add_argument("number", type=int, help="its number in `sluice quarantine ls`")


def cmd_emulator(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.local.emulator import embedded_emulator, provision

    config = load_config(args.config) if args.config else None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with embedded_emulator(args.port) as endpoint:
        aws = AwsClients(endpoint_url=endpoint)
        made = provision(config, aws) if config is not None else []
        out = sys.stdout
        out.write(f"emulator up at {endpoint} (Ctrl-C stops it; what it holds is gone then)\n")
        for what in made:
            out.write(f"  created {what}\n")
        out.write("in the shell where you run sluice:\n")
        out.write(f"export AWS_ENDPOINT_URL={endpoint}\n")
        out.write(
            f"export AWS_REGION={aws.region} AWS_ACCESS_KEY_ID=testing "
            "AWS_SECRET_ACCESS_KEY=testing\n"
        )
        out.flush()
        stop.wait()
    return 0


def cmd_put(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.local.put import put, read_lines

    config = load_config(args.config)
    lines = read_lines(args.records)
    result = put(config, AwsClients(), lines, args.key_field)
    for why in result.not_sent:
        print(f"sluice put: not sent: {why}", file=sys.stderr)
    sys.stdout.write(orjson.dumps(result.summary()).decode() + "\n")
    return 0


def cmd_lake(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.local.lake import list_lake, read_rows

    config = load_config(args.config)
    s3 = AwsClients().client("s3")
    objects = list_lake(s3, config, args.route)
    out = sys.stdout
    if args.lake_command == "ls":
        for obj in objects:
            records = "?" if obj.records is None else obj.records
            out.write(f"s3://{obj.bucket}/{obj.key}  {records} records  {obj.size} bytes\n")
        total = sum(obj.records or 0 for obj in objects)
        out.write(f"{len(objects)} object(s), {total} record(s)\n")
        return 0
    for obj in objects:
        if args.key is None or obj.key == args.key:
            for row in read_rows(s3, obj.bucket, obj.key):
                out.write(orjson.dumps(row).decode() + "\n")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.errors import UsageError
    from consumer.local.lake import envelopes, render_line, shown

    config = load_config(args.config)
    found = envelopes(AwsClients().client("s3"), config)
    out = sys.stdout
    if args.quarantine_command == "ls":
        listed = 0
        for number, (_, envelope) in enumerate(found, start=1):
            if args.stage is None or envelope.get("stage") == args.stage:
                out.write(render_line(number, envelope) + "\n")
                listed += 1
        out.write(f"{listed} quarantined record(s)\n")
        return 0
    if not 1 <= args.number <= len(found):
        raise UsageError(f"no quarantined record {args.number} (there are {len(found)})")
    where, envelope = found[args.number - 1]
    out.write(orjson.dumps(shown(where, envelope), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "emulator": cmd_emulator,
    "put": cmd_put,
    "lake": cmd_lake,
    "quarantine": cmd_quarantine,
}
