"""Checking Amazon States Language definitions offline: the schema cfn-lint validates a
state machine's definition with (its rule E3601, AWS's own linter for CloudFormation), and
the rules of the language a schema cannot say (every `Next` and `StartAt` names a state of
its own scope, every state is reachable, names are unique and short enough)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import require
from tests.integration.workflow_files import extract_tasks, fan_out_tasks, workflow

ROOT = Path(__file__).resolve().parents[1]


def schema_errors(definition: dict[str, Any]) -> list[str]:
    """What cfn-lint's state machine rule (E3601) finds wrong with `definition`."""
    try:
        from cfnlint.api import ManualArgs, lint
    except ImportError:  # pragma: no cover - depends on the install
        require(False, "cfn-lint is not installed (pip install -e '.[dev]'): no ASL schema")
        raise
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Workflow": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/sluice-workflow",
                    "Definition": definition,
                },
            }
        },
    }
    found = lint(orjson.dumps(template).decode(), ManualArgs(regions=["us-east-1"]))
    return [f"{match.rule.id}: {match.message}" for match in found]


def language_errors(machine: dict[str, Any], scope: str = "") -> list[str]:
    """The language's rules for one scope (the machine, a branch, a Map's processor) and
    the scopes nested in it; names must be unique across the whole machine."""
    states: dict[str, Any] = machine["States"]
    errors = [f"{scope}StartAt {machine['StartAt']!r} is no state"] * (
        machine["StartAt"] not in states
    )
    reached, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name in reached or name not in states:
            continue
        reached.add(name)
        for following in _next_states(states[name]):
            if following not in states:
                errors.append(f"{scope}{name}: Next {following!r} is no state here")
            todo.append(following)
    errors += [f"{scope}{name}: unreachable" for name in states if name not in reached]
    errors += [f"{scope}{name}: longer than 80" for name in states if len(name) > 80]
    for name, state in states.items():
        for nested in _scopes(state):
            errors += language_errors(nested, f"{scope}{name} > ")
    return errors


def all_state_names(machine: dict[str, Any]) -> list[str]:
    names = list(machine["States"])
    for state in machine["States"].values():
        for nested in _scopes(state):
            names += all_state_names(nested)
    return names


def _next_states(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    if "Default" in state:
        yield state["Default"]


def _scopes(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state["Type"] == "Parallel":
        return list(state["Branches"])
    if state["Type"] == "Map":
        return [state.get("ItemProcessor") or state["Iterator"]]
    return []


def workflow_files(folder: Path) -> list[Path]:
    """Every workflow file of examples/ and of the tests (written into `folder`)."""
    examples = sorted((ROOT / "examples").rglob("workflow*.toml"))
    assert examples, "no workflow file in examples/"
    written = []
    for name, extracts in (
        ("three-steps", None),
        ("extracts", extract_tasks("u", "http://127.0.0.1:9/api", "postgresql://x/db", "t")),
        ("fan-out", fan_out_tasks("u")),
    ):
        (folder / name).mkdir()
        written.append(workflow(folder / name, "u", "arn:aws:sns:us-east-1:1:t", extracts=extracts))
    return [*examples, *written]


@pytest.fixture()
def workflows(tmp_path: Path) -> list[Path]:
    return workflow_files(tmp_path)
