"""The `sluice` command."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import orjson

from consumer import __version__
from consumer.aws.localstack import localstack_requested, use_localstack
from consumer.cli import local_loop

if TYPE_CHECKING:
    from consumer.config import PipelineConfig
    from consumer.runtime.service import Service

DEFAULT_CONFIG = "examples/clickstream/pipeline.toml"
log = logging.getLogger("sluice")


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line (exit 2); subcommands inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: invalid argument: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sluice",
        description="Containerized ETL for AWS: Kinesis and SQS in; S3 lake and databases out.",
        epilog="Exit codes: 0 success, 1 a runtime failure, 2 a configuration or argument "
        "error; failures are one line on stderr (--log-level debug adds the traceback). "
        "First steps: docs/tutorial.md.",
    )
    parser.add_argument("--version", action="version", version=f"sluice {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("SLUICE_LOG_LEVEL"),
        help="level of the JSON logs on stderr (env SLUICE_LOG_LEVEL; "
        "default INFO, WARNING for demo)",
    )
    parser.add_argument(
        "--localstack",
        action="store_true",
        default=localstack_requested(),
        help="point every AWS client at LocalStack, as localstack-client resolves it: "
        "LOCALSTACK_HOST (default localhost:4566), dummy credentials when none are set; "
        "started processes follow (env SLUICE_LOCALSTACK=1; make localstack starts one)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the consumer service")
    run.add_argument("--config", required=True, help="pipeline file (TOML)")
    run.add_argument(
        "--until-idle",
        action="store_true",
        help="stop once every shard is caught up and everything is flushed",
    )
    run.add_argument("--max-runtime-s", type=float, default=None, help="stop after this long")
    run.add_argument(
        "--emulator",
        action="store_true",
        help="create the stream or queue, tables and buckets first, on the emulator at "
        "AWS_ENDPOINT_URL (sluice emulator start), or on a private one started for this "
        "run when it is unset (with --localstack: on LocalStack)",
    )
    run.add_argument(
        "--workers",
        default=None,
        help="worker processes, each its own source and engine (shards or receive loops "
        "spread over them): a count or 'auto', the task's vCPUs; overrides the pipeline's "
        "`workers` (default auto; 1: one process)",
    )
    run.add_argument(
        "--worker",
        default=None,
        metavar="I/N",
        help="internal: run as worker I of N under a parent `sluice run`",
    )

    from consumer.cli.batch import add_arguments as batch_arguments

    batch_arguments(commands.add_parser("batch", help="one-off jobs on the same pipeline"))

    from consumer.sources.kcl.cli import add_arguments as kcl_arguments

    kcl_arguments(commands.add_parser("kcl", help="the KCL MultiLangDaemon path (many tasks)"))

    from consumer.capacity.cost import configure_parser as cost_arguments

    cost_arguments(commands.add_parser("cost", help="estimate the monthly AWS cost of a load"))

    from consumer.capacity.plan import configure_parser as plan_arguments

    plan_arguments(commands.add_parser("plan", help="size tasks, shards and scaling for a load"))

    health = commands.add_parser(
        "health",
        help="exit 0 when the health endpoint answers 200 (the container health check)",
    )
    health.add_argument(
        "--url",
        default=None,
        help="endpoint to ask (default: http://127.0.0.1:$SLUICE__HEALTH__PORT/healthz, "
        "port 8080 when unset)",
    )
    health.add_argument(
        "--ready", action="store_true", help="ask /readyz instead of /healthz (default URL only)"
    )

    _validate_arguments(
        commands.add_parser("validate", help="check a pipeline file and print it resolved")
    )

    dlq = commands.add_parser("dlq", help="inspect or redrive a dead-letter queue")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    inspect = dlq_commands.add_parser("inspect", help="show messages with their failure reasons")
    inspect.add_argument("queue", help="DLQ name or URL")
    inspect.add_argument("--limit", type=int, default=100)
    redrive = dlq_commands.add_parser("redrive", help="move messages back to their source queue")
    redrive.add_argument("queue", help="DLQ name or URL")
    redrive.add_argument("--to", default=None, help="target queue (default: where each came from)")
    redrive.add_argument("--limit", type=int, default=1000)

    from consumer.quality.report import configure_parser as quality_arguments

    quality_arguments(commands.add_parser("quality", help="data quality: scores, failing checks"))

    _jobs_arguments(commands)
    local_loop.add_arguments(commands)  # emulator start, put, lake, quarantine

    demo = commands.add_parser("demo", help="run the demo end to end and report what happened")
    demo.add_argument("--config", default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}")
    demo.add_argument("--out", default="demo-output", help="folder for the outputs")
    demo.add_argument("--records", type=int, default=5000, help="events put on the stream")
    demo.add_argument(
        "--sqs-records",
        type=int,
        default=500,
        help="events sent through SQS (0: skip the SQS phase)",
    )
    demo.add_argument("--invalid-ratio", type=float, default=0.05)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--generator",
        default="clickstream_events:generate",
        help="'module:function(count, invalid_ratio, seed)' making the events",
    )
    demo.add_argument(
        "--aggregate-every",
        type=int,
        default=10,
        help="pack about 1 in N valid page views into KPL aggregates (0: none)",
    )
    demo.add_argument("--max-runtime-s", type=float, default=600.0)
    demo.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or None,
        help="write the database sink to PostgreSQL (schema sluice_demo, dropped and "
        "re-created) instead of SQLite (env DATABASE_URL)",
    )
    return parser


def _install_stop_handler(stop: threading.Event, timeout_s: float | None = None) -> None:
    """SIGTERM/SIGINT ask for a clean stop (flush, ack, release). With `timeout_s`, a
    watchdog ends the process if the stop takes longer: nothing is acked before its flush
    is confirmed, so a hard exit loses nothing; it only leaves work for redelivery."""

    def watchdog() -> None:
        if timeout_s is not None and not _FINISHED.wait(timeout_s):
            log.error("shutdown exceeded its bound; exiting", extra={"timeout_s": timeout_s})
            os._exit(75)

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        if not stop.is_set():
            stop.set()
            threading.Thread(target=watchdog, name="shutdown-watchdog", daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


_FINISHED = threading.Event()


def _validate_arguments(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("--config", required=True)
    validate.add_argument(
        "--connect",
        action="store_true",
        help="also check that the source, the sinks' databases, schemas, tables and buckets "
        "exist and are writable (a probe object is written to and deleted from each bucket)",
    )
    validate.add_argument(
        "--ddl",
        metavar="ROUTE",
        help="print, instead, the table of ROUTE's JSON Lines or Parquet objects: Athena DDL "
        "with partition projection, or the Terraform lake_tables entry (docs/lake.md)",
    )
    validate.add_argument("--ddl-format", choices=["athena", "terraform"], default="athena")
    validate.add_argument(
        "--database", default="sluice_lake", help="Glue database of the DDL (default: %(default)s)"
    )


def _jobs_arguments(commands: Any) -> None:
    jobs = commands.add_parser("jobs", help="run job messages from an SQS queue, once each")
    jobs.add_argument("--queue", required=True, help="queue of job messages (name or URL)")
    jobs.add_argument("--dlq", default=None, help="where rejected and spent jobs go, with reasons")
    jobs.add_argument("--ledger-table", required=True, help="DynamoDB idempotency table")
    jobs.add_argument(
        "--module",
        action="append",
        default=[],
        help="module registering jobs with @batch_jobs.registry.job (repeatable)",
    )
    jobs.add_argument("--until-idle", action="store_true", help="stop when the queue is empty")
    jobs.add_argument(
        "--config",
        default=None,
        help="pipeline file for batch job messages that name none (sluice batch run --help)",
    )
    from consumer.cli.workflow import add_ecs_options

    add_ecs_options(jobs)  # for launch = "ecs" messages; without them those are rejected


def cmd_run(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.local.emulator import embedded_emulator, provision
    from consumer.runtime.service import build_service
    from consumer.runtime.workers import Assignment, resolve_workers

    config = load_config(args.config)
    if args.worker is not None:
        return _run_worker(args, config, Assignment.parse(args.worker))
    workers = resolve_workers(_workers_setting(args.workers, config.workers))
    private = args.emulator and not args.localstack and not os.environ.get("AWS_ENDPOINT_URL")
    with embedded_emulator() if private else nullcontext(None) as endpoint:
        aws = AwsClients(endpoint_url=endpoint)
        if private:
            log.warning(
                "AWS_ENDPOINT_URL is unset: started a private emulator, empty, gone when this "
                "run ends (sluice emulator start keeps one up)",
                extra={"endpoint": endpoint},
            )
        if args.emulator:
            provision(config, aws)
        if workers > 1:
            return _run_parent(args, config, aws, workers, endpoint)
        return _serve(build_service(config, Path.cwd(), aws), config, args)
    return 0


def _workers_setting(flag: str | None, configured: int | str) -> int | str:
    """--workers over the pipeline's `workers`: a count, or 'auto'."""
    from consumer.errors import ConfigError

    if flag is None:
        return configured
    if flag == "auto":
        return flag
    try:
        return int(flag)
    except ValueError:
        raise ConfigError(f"--workers {flag!r}: expected a count from 1 to 64, or auto") from None


def _run_parent(
    args: argparse.Namespace, config: Any, aws: Any, workers: int, endpoint: str | None
) -> int:
    """The parent of `workers` worker processes: each is `sluice run --worker i/N`."""
    from consumer.runtime.service import run_workers

    def command(index: int, count: int) -> list[str]:
        line = [sys.executable, "-m", "consumer"]
        if args.log_level:
            line += ["--log-level", args.log_level]
        line += ["run", "--config", args.config, "--worker", f"{index}/{count}"]
        if args.until_idle:
            line.append("--until-idle")
        if args.max_runtime_s is not None:
            line += ["--max-runtime-s", str(args.max_runtime_s)]
        return line

    env = dict(os.environ)
    if endpoint is not None:  # the private emulator this parent started
        env["AWS_ENDPOINT_URL"] = endpoint
    stop = threading.Event()
    _install_stop_handler(stop, config.shutdown.timeout_s + 5.0)
    try:
        return run_workers(config, aws, workers, command, stop, env)
    finally:
        _FINISHED.set()


def _run_worker(args: argparse.Namespace, config: Any, worker: Any) -> int:
    """One worker process under a parent `sluice run`: its share of the source."""
    from consumer.aws.clients import AwsClients
    from consumer.runtime.service import build_service
    from consumer.runtime.workers import STATUS_FD_ENV, die_with_parent

    die_with_parent()
    fd = os.environ.get(STATUS_FD_ENV)
    service = build_service(
        config, Path.cwd(), AwsClients(), worker, None if fd is None else int(fd)
    )
    return _serve(service, config, args)


def _serve(service: Service, config: PipelineConfig, args: argparse.Namespace) -> int:
    """Run the service until it stops (SIGTERM, idle, max runtime), then close it."""
    _install_stop_handler(service.stop, config.shutdown.timeout_s)
    try:
        service.run(until_idle=args.until_idle, max_runtime_s=args.max_runtime_s)
    finally:
        service.close()
        _FINISHED.set()
    return 0


def cmd_kcl(args: argparse.Namespace) -> int:
    from consumer.sources.kcl.cli import run

    return run(args)


def cmd_cost(args: argparse.Namespace) -> int:
    from consumer.capacity.cost import from_args, render

    sys.stdout.write(render(from_args(args)) + "\n")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from consumer.capacity.plan import run

    sys.stdout.write(run(args) + "\n")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from consumer.cli.batch import run

    return run(args)


def cmd_health(args: argparse.Namespace) -> int:
    from consumer.runtime.health import default_url, probe

    ok, body = probe(args.url or default_url(args.ready))
    sys.stdout.write(body + "\n")
    return 0 if ok else 1


def cmd_validate(args: argparse.Namespace) -> int:
    from consumer.config import load_config
    from consumer.pipeline.route import Route
    from consumer.pipeline.router import Router
    from consumer.quality.gate import RouteQuality
    from consumer.sinks.tables import check_tables

    config = load_config(args.config)
    routes = [Route(route, index) for index, route in enumerate(config.routes)]
    Router(routes, config.router.type_field)
    for index, route in enumerate(config.routes):
        if route.quality is not None:  # imports its predicates and corrections
            RouteQuality(route.name, route.quality, f"routes.{index}.quality")
    check_tables(config, routes)  # shared tables, keys, identifiers
    if args.connect:
        return _validate_connect(config, routes)
    if args.ddl:
        return _print_ddl(config, args.ddl, args.ddl_format, args.database)
    sys.stdout.write(
        orjson.dumps(
            config.model_dump(mode="json", by_alias=True), option=orjson.OPT_INDENT_2
        ).decode()
        + "\n"
    )
    return 0


def _validate_connect(config: Any, routes: Any) -> int:
    """Every resource the pipeline names, asked: one line each, exit 2 if any failed."""
    from consumer.aws.clients import AwsClients
    from consumer.cli.failures import explain, one_line
    from consumer.runtime.preflight import preflight

    def why(exc: BaseException) -> str:
        failure = explain(exc)
        return failure.line if failure is not None else one_line(f"{type(exc).__name__}: {exc}")

    checks = preflight(config, routes, AwsClients(), Path.cwd(), why)
    for check in checks:
        sys.stdout.write(check.render() + "\n")
    failed = sum(not check.ok for check in checks)
    if failed:
        print(
            f"sluice: validate --connect: {failed} of {len(checks)} checks failed (listed "
            "on stdout)",
            file=sys.stderr,
        )
        return 2
    return 0


def _print_ddl(config: Any, route: str, form: str, database: str) -> int:
    from consumer.sinks.columns.ddl import athena_ddl, terraform_entry
    from consumer.sinks.columns.tables import lake_tables

    tables = lake_tables(config, route)
    if form == "terraform":
        entries = {table.name: terraform_entry(table) for table in tables}
        sys.stdout.write(orjson.dumps(entries, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write("\n".join(athena_ddl(table, database) for table in tables))
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.sources.sqs import dlq

    client = AwsClients().client("sqs")
    if args.dlq_command == "inspect":
        sys.stdout.write(dlq.render(dlq.inspect(client, args.queue, args.limit)) + "\n")
    else:
        moved = dlq.redrive(client, args.queue, args.to, args.limit)
        sys.stdout.write(f"moved {moved} message(s)\n")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from consumer.aws.clients import AwsClients
    from consumer.config import load_config
    from consumer.quality.report import parse_period, render, report

    try:
        period_s = parse_period(args.since)
    except argparse.ArgumentTypeError as exc:
        print(f"sluice: --since: {exc}", file=sys.stderr)
        return 2
    config = load_config(args.config)
    summary = report(AwsClients().client("s3"), config, period_s)
    if args.json:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render(summary, args.since) + "\n")
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    import importlib

    from batch_jobs.messages.dispatch import BatchDispatch
    from batch_jobs.messages.runner import JobRunner
    from batch_jobs.messages.spec import JobLedger
    from consumer.aws.clients import AwsClients
    from consumer.cli.workflow import launcher_from
    from consumer.runtime.protection import ProtectionConfig, ScaleInProtection

    for module in args.module:
        importlib.import_module(module)
    aws = AwsClients()
    launcher = None
    if args.ecs_cluster or os.environ.get("SLUICE_ECS_CLUSTER"):
        launcher = launcher_from(args, aws)
    runner = JobRunner(
        aws.client("sqs"),
        args.queue,
        args.dlq,
        JobLedger(aws.client("dynamodb"), args.ledger_table),
        dispatch=BatchDispatch(aws, Path.cwd(), args.config),
        launcher=launcher,
        protection=ScaleInProtection(ProtectionConfig()),
    )
    _install_stop_handler(runner.stop)
    counts = runner.run(until_idle=args.until_idle)
    log.info("jobs stopped", extra=vars(counts))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from consumer.local.demo import DemoOptions, columns_ok, render, run_demo

    options = DemoOptions(
        Path(args.config),
        Path(args.out),
        args.records,
        args.invalid_ratio,
        args.seed,
        args.generator,
        args.aggregate_every,
        args.max_runtime_s,
        args.database_url,
        args.sqs_records,
    )
    figures = run_demo(options)
    sys.stdout.write(render(figures, options.out, options.database_url) + "\n")
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")
    ok = figures["lost"] == 0 and figures["duplicates"] == 0 and figures["unexpected"] == 0
    return 0 if ok and columns_ok(figures) else 1


def main(argv: Sequence[str] | None = None) -> int:
    from consumer.logs import setup_logging

    args = _parser().parse_args(argv)
    level = args.log_level or ("WARNING" if args.command == "demo" else "INFO")
    try:
        setup_logging(level)
    except ValueError:
        print(
            f"sluice: invalid argument: --log-level {level}: use DEBUG, INFO, WARNING or ERROR",
            file=sys.stderr,
        )
        return 2
    if args.localstack:
        log.info("using LocalStack", extra={"endpoint": use_localstack()})
    handlers = {
        "run": cmd_run,
        "validate": cmd_validate,
        "demo": cmd_demo,
        "dlq": cmd_dlq,
        "health": cmd_health,
        "batch": cmd_batch,
        "cost": cmd_cost,
        "plan": cmd_plan,
        "kcl": cmd_kcl,
        "jobs": cmd_jobs,
        "quality": cmd_quality,
        **local_loop.HANDLERS,
    }
    try:
        return handlers[args.command](args)
    except Exception as exc:
        return _failed(exc)


def _failed(exc: Exception) -> int:
    """An expected failure as one line on stderr (the traceback only at DEBUG), with the
    README's exit code; anything else is a bug and keeps its traceback."""
    from consumer.cli.failures import explain

    failure = explain(exc)
    if failure is None:
        log.critical("unexpected error (a bug in sluice: please report it)", exc_info=True)
        return 1
    log.debug("the failure below, with its traceback", exc_info=True)
    print(f"sluice: {failure.line}", file=sys.stderr)
    return failure.code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
