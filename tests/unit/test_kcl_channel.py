"""The channel between KCL children and `sluice kcl run`: real Unix sockets, real processes.

Lines from many writers must reach the wrapper's output whole and once each; a wrapper that
is gone or stopped reading must never hold a child up for more than the send timeout; a
child without the channel writes to stderr as before.
"""

from __future__ import annotations

import io
import logging
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from consumer.runtime.health import HealthConfig
from consumer.sources.kcl.channel import CHANNEL_ENV, STDERR, STDOUT, ChannelClient
from consumer.sources.kcl.relay import Output, Relay
from consumer.sources.kcl.watch import Watch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class Served:
    """A relay on a socket in `folder`, printing into two files."""

    def __init__(self, folder: Path, path: Path | None = None) -> None:
        self.folder = folder
        self.out_path, self.err_path = folder / "out", folder / "err"
        self._out, self._err = self.out_path.open("wb"), self.err_path.open("wb")
        self.watch = Watch(HealthConfig(), lambda: True)
        address = str(path or folder / "channel.sock")
        self.relay = Relay(address, Output(self._out, self._err), self.watch)
        self.relay.start()

    @property
    def path(self) -> str:
        return self.relay.path

    def lines(self, which: str) -> list[str]:
        return (self.out_path if which == "out" else self.err_path).read_text().splitlines()

    def stop(self, drain_s: float = 2.0) -> None:
        self.relay.stop(drain_s)
        self._out.close()
        self._err.close()


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[Served]:
    served = Served(tmp_path)
    yield served
    served.stop()


WRITER = """
import sys
from consumer.sources.kcl.channel import STDERR, STDOUT, ChannelClient
client = ChannelClient.from_env()
assert client is not None
name, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for n in range(count):
    tag = STDOUT if n % 2 else STDERR
    client.line(f"{name}-{n}-" + name[0] * size, tag)
print(client.fallbacks, file=sys.stderr)
"""


def test_lines_from_concurrent_children_arrive_whole_and_once(served: Served) -> None:
    # GIVEN four child processes and four threads of this one, writing at the same time,
    # lines of 10 KB: more than a pipe writes in one piece
    count, size = 200, 10_000
    env = {CHANNEL_ENV: served.path, "PYTHONPATH": str(Path.cwd())}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"{name}proc", str(count), str(size)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in "abcd"
    ]
    client = ChannelClient(served.path)

    def write(name: str) -> None:
        for n in range(count):
            client.line(f"{name}-{n}-" + name[0] * size, STDOUT if n % 2 else STDERR)

    threads = [threading.Thread(target=write, args=(f"{c}thread",)) for c in "efgh"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # WHEN they are done
    fallbacks = [int(child.communicate(timeout=60)[1]) for child in children]
    wait_until(
        "every line", lambda: served.relay.counts["stdout"] + served.relay.counts["stderr"] == 1600
    )
    # THEN every line is on the output exactly once, whole, on the stream it was meant for
    out, err = served.lines("out"), served.lines("err")
    assert fallbacks == [0, 0, 0, 0] and client.fallbacks == 0
    for lines, odd in ((out, 1), (err, 0)):
        assert len(lines) == 800
        seen = Counter(line.split("-", 2)[0] + "-" + line.split("-", 2)[1] for line in lines)
        assert set(seen.values()) == {1}
        for line in lines:
            name, n, body = line.split("-", 2)
            assert int(n) % 2 == odd and body == name[0] * size
    # AND each child's lines kept their order
    a_lines = [int(line.split("-")[1]) for line in out + err if line.startswith("aproc-")]
    assert sorted(a_lines) == list(range(count))


def test_a_line_with_a_newline_inside_stays_one_line(served: Served) -> None:
    client = ChannelClient(served.path)
    client.line("first half\nsecond half", STDOUT)
    wait_until("the line", lambda: served.relay.counts["stdout"] == 1)
    assert served.lines("out") == ["first half second half"]


def test_without_a_wrapper_a_child_writes_to_stderr_at_once(tmp_path: Path) -> None:
    # GIVEN a channel address nobody listens on (the wrapper is gone)
    fallback = io.StringIO()
    clock = Clock()
    client = ChannelClient(str(tmp_path / "nobody.sock"), fallback=fallback, clock=clock)
    # WHEN a child writes lines and heartbeats
    for n in range(100):
        client.line(f"line {n}")
    dropped = client.progress("poll")
    # THEN each line went to the fallback once, and the heartbeat was dropped
    assert fallback.getvalue().splitlines() == [f"line {n}" for n in range(100)]
    assert client.fallbacks == 100 and dropped is False
    assert ChannelClient.from_env({}) is None


def test_a_wrapper_that_stops_reading_holds_a_child_up_once_then_never(tmp_path: Path) -> None:
    # GIVEN a "wrapper" that accepts a child's connection and never reads it
    path = str(tmp_path / "stuck.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(1)
    clock, fallback = Clock(), io.StringIO()
    client = ChannelClient(
        path, send_timeout_s=0.2, retry_after_s=5.0, fallback=fallback, clock=clock
    )
    try:
        conn_holder: list[socket.socket] = []
        threading.Thread(target=lambda: conn_holder.append(listener.accept()[0])).start()
        # WHEN a child writes 4 KB lines until its socket buffer is full and more
        for n in range(400):
            client.line(f"{n:04d}" + "x" * 4000)
        # THEN it waited once (the send timeout), every later line went to stderr at once
        assert client.stalls == 1
        assert 0 < client.fallbacks < 400
        sent = 400 - client.fallbacks
        fallen = [int(line[:4]) for line in fallback.getvalue().splitlines()]
        assert fallen == list(range(sent, 400))
        # AND when the wrapper reads again, the next line after `retry_after_s` goes
        # through the channel: nothing was lost, nothing sent twice
        wait_until("the connection", lambda: bool(conn_holder))
        conn = conn_holder[0]
        assert conn.recv(70_000).startswith(b'p{"event":"hello"')
        received = [int(conn.recv(70_000)[1:5]) for _ in range(sent)]
        assert received == list(range(sent))
        clock.now += 5
        client.line("9999 after")
        assert conn.recv(70_000) == STDERR + b"9999 after"
        assert client.fallbacks == 400 - sent
    finally:
        client.close()
        listener.close()


def test_a_child_reconnects_to_a_wrapper_that_came_back(tmp_path: Path) -> None:
    # GIVEN a child whose wrapper's channel went away
    clock, fallback = Clock(), io.StringIO()
    first = Served(tmp_path)
    client = ChannelClient(first.path, fallback=fallback, clock=clock)
    client.line("before")
    wait_until("the first line", lambda: first.relay.counts["stderr"] == 1)
    first.stop(drain_s=0.1)  # the child is still connected: do not wait for it
    Path(first.path).unlink()
    client.line("while gone")
    # WHEN a channel listens again at the address and `retry_after_s` has passed
    second_folder = tmp_path / "again"
    second_folder.mkdir()
    second = Served(second_folder, Path(first.path))
    clock.now += 5
    client.line("after")
    try:
        wait_until("the line after", lambda: second.relay.counts["stderr"] == 1)
        # THEN each line was written once: on the channel, on stderr, on the channel again
        assert first.lines("err") == ["before"]
        assert fallback.getvalue() == "while gone\n"
        assert second.lines("err") == ["after"]
    finally:
        client.close()
        second.stop()


FAKE_DAEMON = """
import os, subprocess, sys
print("daemon line on stdout", flush=True)
print("daemon line on stderr", file=sys.stderr, flush=True)
child = subprocess.run([sys.executable, "-c", sys.argv[1]], env=os.environ)
sys.exit(child.returncode)
"""

FAKE_CHILD = """
import logging, sys
from consumer.logs import setup_logging
from consumer.sources.kcl.channel import STDOUT, ChannelClient
from consumer.sources.kcl.outputs import ChannelLogHandler
channel = ChannelClient.from_env()
setup_logging("INFO", handler=ChannelLogHandler(channel))
logging.getLogger("child").info("a child log line", extra={"n": 1})
channel.line('{"_aws": {"Timestamp": 1}, "RecordsIn": 3}', STDOUT)
print("a stray print", file=sys.stderr)
"""


def test_run_daemon_hands_the_channel_to_the_children_and_prints_each_line_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a "daemon" that prints on both streams and runs a child using the channel
    import os

    from consumer.sources.kcl.daemon import run_daemon

    caplog.set_level(logging.INFO)
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    # WHEN `sluice kcl run` runs it
    with out_path.open("wb") as out, err_path.open("wb") as err:
        code = run_daemon(
            [sys.executable, "-c", FAKE_DAEMON, FAKE_CHILD],
            children_grace_s=0.5,
            env=env,
            output=Output(out, err),
        )
    # THEN the daemon's lines and the child's channel lines are on the wrapper's output
    # once each; what bypassed logging stays on the child's stderr (the daemon's, here)
    assert code == 0
    out_lines, err_lines = out_path.read_text().splitlines(), err_path.read_text().splitlines()
    assert out_lines == ["daemon line on stdout", '{"_aws": {"Timestamp": 1}, "RecordsIn": 3}']
    assert "daemon line on stderr" in err_lines and "a stray print" in err_lines
    child_logs = [line for line in err_lines if '"a child log line"' in line]
    assert len(child_logs) == 1 and child_logs[0].startswith('{"ts":')
    assert '"level":"info"' in child_logs[0] and '"n":1' in child_logs[0]
    # AND the wrapper's own log went through the same output
    assert any('"msg":"daemon ended"' in line for line in err_lines)
