"""`make localstack`'s server: on loopback only, every service sluice uses, a clean stop.

Starts an instance of its own (the session's may be one given by
SLUICE_LOCALSTACK_ENDPOINT, whose processes are not ours to inspect). Reads /proc: Linux."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consumer.aws.clients import AwsClients
from consumer.local.localstack import DEFAULT_VENV, STOP_GRACE_S, LocalStack, descendants
from tests.conftest import require

pytestmark = pytest.mark.localstack


def _alive(pid: int, start_time: int) -> bool:
    """That process (not another one that got its id) still runs and is not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and int(fields[19]) == start_time


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _listening(inodes: set[str]) -> list[str]:
    """Local addresses (hex, as /proc shows them) of the listening TCP sockets among
    `inodes`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1].split(":")[0])
    return found


LOOPBACK_HEX = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


def test_it_listens_on_loopback_only_and_stops_with_its_children(tmp_path: Path) -> None:
    venv = Path(os.environ.get("SLUICE_LOCALSTACK_VENV") or DEFAULT_VENV)
    require((venv / "bin" / "python").exists(), f"no LocalStack at {venv}: make localstack-venv")
    # GIVEN a started LocalStack whose Kinesis engine (a Node process) is running
    with (tmp_path / "localstack.log").open("wb") as log:
        server = LocalStack(venv, log=log)
        try:
            server.start()
            assert server.process is not None and server.root is not None
            state = server.root
            aws = AwsClients(region="us-east-1", endpoint_url=server.endpoint, localstack=True)
            aws.client("kinesis").create_stream(StreamName="probe", ShardCount=1)
            aws.client("kinesis").get_waiter("stream_exists").wait(StreamName="probe")
            for service in ("sqs", "s3", "dynamodb", "cloudwatch"):
                assert aws.client(service).meta.endpoint_url == server.endpoint
            aws.client("sqs").list_queues()
            aws.client("s3").list_buckets()
            aws.client("dynamodb").list_tables()
            aws.client("cloudwatch").list_metrics()
            family = descendants(server.process.pid)
            pids = [server.process.pid, *(pid for pid, _ in family)]

            # WHEN its listening sockets, and its children's, are listed
            addresses = _listening(set().union(*(_socket_inodes(pid) for pid in pids)))
        finally:
            # THEN (below) ... and WHEN it is stopped
            stop_s = server.stop()

    # THEN the gateway and both of kinesis-local's ports are there, all on loopback
    assert family, "kinesis-local is not running"
    assert len(addresses) >= 3, addresses
    assert set(addresses) <= LOOPBACK_HEX, addresses
    # AND the stop ended it and everything it started within the grace period plus a
    # SIGKILL, and removed the instance's state
    assert not any(_alive(pid, start_time) for pid, start_time in family)
    assert stop_s < STOP_GRACE_S + 5
    assert not state.exists() and server.root is None
    print(f"stop took {stop_s:.1f} s (SIGKILL needed: {server.forced})")
