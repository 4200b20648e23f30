"""docs/architecture.md stays true to the code: its four diagrams are there, and every
module or folder it names exists."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "architecture.md"
PATH = re.compile(r"\b(?:consumer|batch_jobs|infra|tests)/[\w./*-]*\w\*?")


def test_four_mermaid_diagrams_with_the_headings_the_readme_promises() -> None:
    text = DOC.read_text()
    assert text.count("```mermaid\n") == 4
    headings = re.findall(r"^## \d\. (.+)$", text, re.MULTILINE)
    assert [h.split(":")[0].split(" and")[0] for h in headings] == [
        "Data flow",
        "The autoscaling decision",
        "Failure recovery",
        "The validation pipeline",
    ]
    assert "docs/architecture.md" in (REPO / "README.md").read_text()


def test_every_module_it_names_exists() -> None:
    named = set(PATH.findall(DOC.read_text()))
    assert len(named) > 40
    missing = sorted(path for path in named if not list(REPO.glob(path.rstrip(".,;"))))
    assert missing == []
