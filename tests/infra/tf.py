"""Reading the Terraform of infra/terraform offline (python-hcl2, no terraform binary).

python-hcl2 keeps HCL's quotes on strings and labels (`"\\"x\\""`) and renders expressions
as `${...}`; `clean` strips the quotes and the parser's `__is_block__` markers so tests can
compare plain values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TERRAFORM = INFRA / "terraform"
MODULES = TERRAFORM / "modules"
EXAMPLE = TERRAFORM / "environments" / "example"

_COMMENT = re.compile(r"^\s*(#|//).*$", re.MULTILINE)


def hcl2() -> Any:
    """The python-hcl2 module, or a skip saying how to get it."""
    return pytest.importorskip(
        "hcl2", reason="python-hcl2 is not installed (pip install python-hcl2): HCL checks skipped"
    )


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


def tf_dirs() -> list[Path]:
    return sorted({path.parent for path in tf_files()})


def clean(value: Any) -> Any:
    """Strip HCL quotes from strings and keys, drop parser markers, recursively."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [clean(item) for item in value]
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items() if k != "__is_block__"}
    return value


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        parsed: dict[str, Any] = clean(hcl2().load(handle))
    return parsed


@dataclass
class TfDir:
    """Everything declared in one Terraform module folder."""

    path: Path
    text: str = ""
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)

    def code(self) -> str:
        """The folder's .tf text without comment lines."""
        return _COMMENT.sub("", self.text)


def _named(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: body for entry in entries for name, body in entry.items()}


def _typed(entries: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (kind, name): body
        for entry in entries
        for kind, named in entry.items()
        for name, body in named.items()
    }


@cache
def load_dir(path: Path) -> TfDir:
    folder = TfDir(path)
    for file in sorted(path.glob("*.tf")):
        folder.text += file.read_text(encoding="utf-8") + "\n"
        doc = parse(file)
        folder.variables |= _named(doc.get("variable", []))
        folder.outputs |= _named(doc.get("output", []))
        folder.modules |= _named(doc.get("module", []))
        folder.resources |= _typed(doc.get("resource", []))
        folder.data |= _typed(doc.get("data", []))
        for block in doc.get("locals", []):
            folder.locals |= block
    return folder


def module_dir(caller: Path, source: str) -> Path:
    return (caller / source).resolve()


def refs(text: str, prefix: str) -> set[str]:
    """Names referenced as `<prefix>.<name>` (var, local) in HCL text."""
    return set(re.findall(rf"(?<![\w.]){prefix}\.([A-Za-z_][A-Za-z0-9_-]*)", text))


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of an aws_iam_policy_document, static and dynamic (their content)."""
    found: list[dict[str, Any]] = list(policy.get("statement", []))
    for dynamic in policy.get("dynamic", []):
        for name, body in dynamic.items():
            if name == "statement":
                found += body.get("content", [])
    return found
