"""Faulty AWS endpoints for the CLI fault test, each a real HTTP endpoint botocore talks to.

- `dead_endpoint`: a loopback port nobody listens on (connection refused).
- `auth_emulator`: `sluice emulator start` in its own process with moto's IAM checks on
  (`/moto-api/reset-auth`), and the keys of a user without any policy: every call is
  denied, as for a task role missing a grant. A process of its own, since the switch is
  global to the server.
- `ExpiredEndpoint`: answers every call with the error AWS gives for expired session
  credentials (`ExpiredTokenException`, S3's `ExpiredToken`), in the protocol of the
  service asked. No emulator models token expiry; this is the only fake here, and it
  fakes nothing but that one response.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dead_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"


def sluice_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell has: this checkout importable, dummy keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLUICE"))}
    env.update(
        PYTHONPATH=str(REPO),
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    env.update(extra)
    return env


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    process: subprocess.Popen[str]
    banner: list[str]  # what it printed before it was ready


@contextmanager
def emulator_process(*args: str, env: dict[str, str] | None = None) -> Iterator[Emulator]:
    """`sluice emulator start ARGS` as a user starts it; ready once it printed the exports."""
    process = subprocess.Popen(
        [sys.executable, "-m", "consumer", "emulator", "start", *args],
        env=env or sluice_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    banner: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("export AWS_REGION"):
                break
        endpoint = next(
            (b.split("=", 1)[1] for b in banner if b.startswith("export AWS_ENDPOINT_URL=")), ""
        )
        assert endpoint, f"the emulator printed no endpoint: {banner}"
        yield Emulator(endpoint, process, banner)
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass(frozen=True)
class AuthEmulator:
    endpoint: str
    key_id: str
    secret: str


@contextmanager
def auth_emulator() -> Iterator[AuthEmulator]:
    """An emulator that checks IAM, and the keys of a user allowed nothing."""
    with emulator_process("--port", str(free_port())) as emulator:
        iam = boto3.client(
            "iam",
            endpoint_url=emulator.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        iam.create_user(UserName="allowed-nothing")
        key = iam.create_access_key(UserName="allowed-nothing")["AccessKey"]
        request = urllib.request.Request(
            f"{emulator.endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        yield AuthEmulator(emulator.endpoint, key["AccessKeyId"], key["SecretAccessKey"])


class _Expired(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.headers.get("X-Amz-Target"):  # the JSON protocol (Kinesis, DynamoDB, SQS)
            body = (
                b'{"__type":"ExpiredTokenException",'
                b'"message":"The security token included in the request is expired"}'
            )
            kind = "application/x-amz-json-1.1"
        else:  # S3's REST XML, and the query protocol
            body = (
                b"<Error><Code>ExpiredToken</Code>"
                b"<Message>The provided token has expired.</Message></Error>"
            )
            kind = "application/xml"
        self.send_response(400)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def expired_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Expired)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
