"""Offline checks of infra/terraform that `terraform validate` would otherwise make:
every file parses, every reference resolves, every module call fits its module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.tf import (
    EXAMPLE,
    MODULES,
    TERRAFORM,
    load_dir,
    module_dir,
    parse,
    refs,
    tf_dirs,
    tf_files,
)


def _rel(path: Path) -> str:
    return str(path.relative_to(TERRAFORM))


def test_there_is_terraform_to_check() -> None:
    assert len(tf_files()) > 40
    assert EXAMPLE in tf_dirs()


@pytest.mark.parametrize("path", tf_files(), ids=_rel)
def test_every_tf_file_parses(path: Path) -> None:
    assert isinstance(parse(path), dict)


@pytest.mark.parametrize("folder", tf_dirs(), ids=_rel)
def test_every_var_reference_is_declared(folder: Path) -> None:
    tf = load_dir(folder)
    missing = refs(tf.code(), "var") - set(tf.variables)
    assert not missing, f"undeclared variables in {_rel(folder)}: {sorted(missing)}"


@pytest.mark.parametrize("folder", tf_dirs(), ids=_rel)
def test_every_local_reference_is_declared(folder: Path) -> None:
    tf = load_dir(folder)
    missing = refs(tf.code(), "local") - set(tf.locals)
    assert not missing, f"undeclared locals in {_rel(folder)}: {sorted(missing)}"


@pytest.mark.parametrize("folder", tf_dirs(), ids=_rel)
def test_every_variable_and_output_is_documented(folder: Path) -> None:
    tf = load_dir(folder)
    for kind, entries in (("variable", tf.variables), ("output", tf.outputs)):
        for name, body in entries.items():
            assert str(body.get("description", "")).strip(), f"{kind} {name} has no description"


@pytest.mark.parametrize("folder", tf_dirs(), ids=_rel)
def test_every_module_source_exists_and_fits(folder: Path) -> None:
    """The source folder exists, every argument is a declared variable of it, every
    variable without a default is passed."""
    meta = {"source", "count", "for_each", "depends_on", "providers"}
    for name, call in load_dir(folder).modules.items():
        source = module_dir(folder, call["source"])
        assert list(source.glob("*.tf")), f"module {name}: no .tf files in {call['source']}"
        module = load_dir(source)
        passed = set(call) - meta
        unknown = passed - set(module.variables)
        assert not unknown, f"module {name} passes undeclared {sorted(unknown)}"
        required = {v for v, body in module.variables.items() if "default" not in body}
        assert required <= passed, f"module {name} misses {sorted(required - passed)}"


@pytest.mark.parametrize("folder", tf_dirs(), ids=_rel)
def test_every_module_output_reference_exists(folder: Path) -> None:
    tf = load_dir(folder)
    pattern = re.compile(r"module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([A-Za-z_][\w-]*)")
    for name, output in pattern.findall(tf.code()):
        assert name in tf.modules, f"module.{name} is not called in {_rel(folder)}"
        outputs = load_dir(module_dir(folder, tf.modules[name]["source"])).outputs
        assert output in outputs, f"module.{name}.{output}: no such output"


def test_every_module_is_used_by_the_example() -> None:
    used: set[Path] = set()
    pending = [EXAMPLE]
    while pending:
        folder = pending.pop()
        for call in load_dir(folder).modules.values():
            source = module_dir(folder, call["source"])
            if source not in used:
                used.add(source)
                pending.append(source)
    assert {path.resolve() for path in MODULES.iterdir() if path.is_dir()} == used


def test_modules_pin_the_aws_provider_and_terraform() -> None:
    for folder in tf_dirs():
        text = load_dir(folder).text
        assert "required_version" in text, _rel(folder)
        assert 'source  = "hashicorp/aws"' in text, _rel(folder)


@pytest.mark.parametrize("folder", tf_dirs(), ids=_rel)
def test_every_declared_variable_is_used(folder: Path) -> None:
    tf = load_dir(folder)
    unused = set(tf.variables) - refs(tf.code(), "var")
    assert not unused, f"unused variables in {_rel(folder)}: {sorted(unused)}"
