"""docs/tutorial.md, followed from an empty folder with only the commands it documents.

The page is read as a user reads it: files marked `<!-- tutorial-file: NAME -->` are
written as shown, `sh` blocks run line by line in a shell (`export` lines set the
environment of the next ones), the block marked `<!-- tutorial: second terminal -->` runs
in the background, and `<!-- tutorial-replace: FILE [section] -->` swaps a section of a
file. Three substitutions only: the emulator gets a free `--port` (4566 may be LocalStack's)
and the exports follow it; the `PG*` exports point at the test database. Then the lake,
the database and the quarantine must hold the records the page says they hold.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import psycopg
import pytest

from tests.conftest import PG_URL, require
from tests.e2e.cli_faults import REPO, free_port

pytestmark = pytest.mark.e2e
TUTORIAL = REPO / "docs" / "tutorial.md"


@dataclass
class Step:
    kind: str  # file, replace, shell, background
    text: str
    target: str = ""
    section: str = ""


def steps(markdown: str) -> list[Step]:
    found: list[Step] = []
    marker = ""
    lines = iter(markdown.splitlines())
    for line in lines:
        if line.startswith("<!-- tutorial"):
            marker = line.removeprefix("<!--").removesuffix("-->").strip()
            continue
        if not line.startswith("```"):
            if line.strip():
                marker = ""
            continue
        lang = line[3:].strip()
        body = []
        for inner in lines:
            if inner.startswith("```"):
                break
            body.append(inner)
        text = "\n".join(body) + "\n"
        if marker.startswith("tutorial-file:"):
            found.append(Step("file", text, marker.split(":", 1)[1].strip()))
        elif marker.startswith("tutorial-replace:"):
            target, section = re.fullmatch(r"tutorial-replace: (\S+) (\[.+\])", marker).groups()  # type: ignore[union-attr]
            found.append(Step("replace", text, target, section))
        elif lang == "sh":
            kind = "background" if marker == "tutorial: second terminal" else "shell"
            found.append(Step(kind, text))
        marker = ""
    return found


@dataclass
class Session:
    """The user's folder and shell: the environment `export` lines build up."""

    folder: Path
    env: dict[str, str]
    port: int
    outputs: dict[str, str] = field(default_factory=dict)
    background: list[subprocess.Popen[str]] = field(default_factory=list)

    def export(self, line: str) -> None:
        for assignment in shlex.split(line)[1:]:
            name, _, value = assignment.partition("=")
            if name == "AWS_ENDPOINT_URL":
                value = re.sub(r":4566\b", f":{self.port}", value)
            if name.startswith("PG"):
                value = _pg_setting(name) or value
            self.env[name] = value

    def run(self, command: str) -> None:
        tool = command.split(maxsplit=1)[0]
        if tool in ("sqlite3", "psql") and shutil.which(tool) is None:
            return  # a tool of the user's; what it would show is checked below
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        self.outputs[command] = done.stdout

    def start(self, command: str) -> None:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command} --port {self.port}"],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.background.append(process)
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("export AWS_REGION"):
                return
        pytest.fail(f"{command} ended before printing its exports")


def _pg_setting(name: str) -> str | None:
    url = urlparse(PG_URL)
    return {
        "PGHOST": url.hostname,
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username,
        "PGDATABASE": url.path.lstrip("/"),
    }.get(name)


def replace_section(path: Path, section: str, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    start = lines.index(section + "\n")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    path.write_text("".join(lines[:start]) + text + "\n" + "".join(lines[end:]))


def follow(session: Session, step: Step) -> None:
    if step.kind == "file":
        (session.folder / step.target).write_text(step.text)
    elif step.kind == "replace":
        replace_section(session.folder / step.target, step.section, step.text)
        tomllib.loads((session.folder / step.target).read_text())  # still a valid file
    elif step.kind == "background":
        session.start(step.text.strip())
    else:
        for line in step.text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("export "):
                session.export(line)
            else:
                session.run(line)


def lake_rows(outputs: dict[str, str], route: str) -> list[dict[str, Any]]:
    command = f"sluice lake cat --config pipeline.toml --route {route}"
    return [orjson.loads(line) for line in outputs[command].splitlines()]


def test_the_tutorial_takes_an_empty_folder_to_lake_database_and_quarantine(
    tmp_path: Path,
) -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require(False, "moto[server] is not installed (pip install -e '.[dev]')")
    folder = tmp_path / "iot"
    folder.mkdir()
    bin_dir = str(Path(sys.executable).parent)  # where `sluice` is installed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLUICE", "PG"))}
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '')}", PYTHONPATH=str(REPO))
    session = Session(folder, env, free_port())
    plan = steps(TUTORIAL.read_text())
    postgres_from = next(i for i, s in enumerate(plan) if "export PGHOST" in s.text)
    started = time.monotonic()
    try:
        # GIVEN an empty folder, WHEN the page is followed up to PostgreSQL
        for step in plan[:postgres_from]:
            follow(session, step)
        sqlite_s = time.monotonic() - started

        # THEN the lake, the database and the quarantine hold what the page says
        assert_lake_sqlite_and_quarantine(session)

        # WHEN the PostgreSQL step is followed too
        try:
            psycopg.connect(PG_URL, connect_timeout=3).close()
        except psycopg.OperationalError as exc:
            require(False, f"PostgreSQL at {PG_URL} is not reachable: {exc}")
        _drop_schema()
        for step in plan[postgres_from:]:
            follow(session, step)

        # THEN schema iot was created, with both tables and their rows
        assert_postgres(session)
        print(
            f"tutorial: {sqlite_s:.1f} s to lake, SQLite and quarantine; "
            f"{time.monotonic() - started:.1f} s with PostgreSQL"
        )
    finally:
        for process in session.background:
            process.terminate()
            process.wait(timeout=30)
        _drop_schema()


def assert_lake_sqlite_and_quarantine(session: Session) -> None:
    """The good records in the lake, each route in its folder, and in SQLite; the four bad
    ones in the quarantine with their stages; `show 1` the first one `ls` lists."""
    folder = session.folder
    readings = lake_rows(session.outputs, "readings")
    assert sorted(r["reading_id"] for r in readings) == ["r-1", "r-2", "r-3"]
    assert {r["temperature_f"] for r in readings} == {142.7, 145.4, 39.56}
    listing = session.outputs["sluice lake ls --config pipeline.toml"]
    assert "/lake/readings/dt=" in listing and "/lake/alerts/dt=" in listing
    assert listing.splitlines()[-1].endswith(", 4 record(s)"), listing
    # the database holds them, upserted on their keys
    with sqlite3.connect(folder / "iot.db") as db:
        stored = db.execute("SELECT reading_id FROM readings ORDER BY 1").fetchall()
        alerts = db.execute("SELECT alert_id, level FROM alerts").fetchall()
    assert stored == [("r-1",), ("r-2",), ("r-3",)] and alerts == [("a-1", "warning")]
    # and the quarantine the four bad ones, with their stages
    listed = session.outputs["sluice quarantine ls --config pipeline.toml"]
    stages = re.findall(r"\s(\w+/\w+)\s", listed)
    assert sorted(stages) == sorted(
        [
            "validate/SchemaViolation",
            "validate/SchemaViolation",
            "decode/InvalidJson",
            "route/UnknownRoute",
        ]
    ), listed
    # show 1 is the first record ls listed, with its bytes as text
    shown = orjson.loads(session.outputs["sluice quarantine show --config pipeline.toml 1"])
    first = listed.splitlines()[0].split()
    assert first[0] == "1" and f"{shown['stage']}/{shown['error_type']}" == first[2]
    assert shown["data"].startswith(('{"type": "reading"', '{"type": "heartbeat"'))


def assert_postgres(session: Session) -> None:
    with psycopg.connect(PG_URL) as conn:
        pg_readings = conn.execute(
            "SELECT reading_id, temperature_f FROM iot.readings ORDER BY 1"
        ).fetchall()
        pg_alerts = conn.execute("SELECT alert_id FROM iot.alerts").fetchall()
    assert pg_readings == [("r-1", 142.7), ("r-2", 145.4), ("r-3", 39.56)]
    assert pg_alerts == [("a-1",)]
    connect = session.outputs["sluice validate --config pipeline.toml --connect"]
    assert "FAIL" not in connect and "create_table will create it" in connect


def _drop_schema() -> None:
    try:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP SCHEMA IF EXISTS iot CASCADE")
    except psycopg.OperationalError:
        pass


def test_the_tutorial_is_linked_first_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    first_link = re.search(r"\]\((docs/[\w-]+\.md)\)|`(docs/[\w-]+\.md)`", readme)
    assert first_link is not None and "docs/tutorial.md" in first_link.group(0)
