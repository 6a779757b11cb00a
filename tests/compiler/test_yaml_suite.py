"""The official YAML test suite's inputs fed to the spec loader: it never crashes, and every input it
refuses is refused with a located error (../shared/yaml-test-suite, see its SOURCES.md)."""

from __future__ import annotations

import re

import pytest
import yaml

from compiler.pipeline.loader import load_bytes
from tests.conftest import REPO

SUITE = REPO.parent / "shared" / "yaml-test-suite" / "src"


def cases() -> list[tuple[str, str, bool]]:
    """(id, input text, whether YAML 1.2 must reject it) for every case of every file."""
    found = []
    for path in sorted(SUITE.glob("*.yaml")):
        entries = yaml.safe_load(path.read_text("utf-8"))  # the suite's own files: trusted test data
        text = None
        for index, entry in enumerate(entries):
            text = entry.get("yaml", text)  # a later case of a file may reuse the input above it
            found.append((f"{path.stem}-{index}", visible(text), bool(entry.get("fail"))))
    return found


def visible(text: str) -> str:
    """The suite's visible-whitespace markers turned back into the characters they stand for."""
    text = re.sub("—*»", "\t", text.replace("␣", " ")).replace("←", "\r").replace("⇔", "\ufeff")
    text = text.replace("↵", "")
    return text[:-2] if text.endswith("∎\n") else text


def test_every_case_loads_or_is_refused_with_a_located_error() -> None:
    if not SUITE.is_dir():
        pytest.skip(f"the YAML test suite is not at {SUITE} (a checkout without ../shared)")
    counts = {"accepted": 0, "rejected": 0, "must reject, accepted": 0}
    for case, text, must_fail in cases():
        document, errors = load_bytes(text.encode("utf-8"), f"{case}.yaml")  # a crash fails the test here
        if document is None:
            assert errors and all(e.line >= 1 and e.column >= 1 and e.message for e in errors), case
            counts["rejected"] += 1
        else:
            counts["accepted"] += 1
            counts["must reject, accepted"] += must_fail
    print(f"YAML test suite: {counts}")
    assert counts["accepted"] + counts["rejected"] == len(cases()) > 300
