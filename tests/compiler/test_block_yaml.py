"""block_yaml writes exactly what libyaml writes with emit.py's settings, wherever it writes at all:
over every YAML file the compiler renders here and in the goldens, the YAML test suite's documents,
and generated documents of the characters that decide a scalar's style."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from compiler.spec import block_yaml, emit
from tests.compiler.test_yaml_suite import SUITE, cases
from tests.conftest import REPO


def libyaml(body: Any) -> str:
    return yaml.dump(body, Dumper=emit._Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=4096)


def same_or_declined(body: Any) -> bool:
    """Written exactly as libyaml writes it (True), or left to libyaml (False)."""
    written = block_yaml.dump(body)
    assert written is None or written == libyaml(body), body
    return written is not None


def test_every_rendered_file_is_written_as_libyaml_writes_it() -> None:
    paths = [*(REPO / "environments").rglob("*.yaml"), *(REPO / "tests" / "golden").rglob("*.yaml")]
    bodies = [yaml.load(p.read_text("utf-8"), Loader=yaml.CSafeLoader) for p in sorted(paths)]
    written = sum(same_or_declined(body) for body in bodies if body is not None)
    assert written > 0.95 * len(bodies) > 100  # and nearly all without libyaml


def test_the_yaml_test_suite_documents_as_values() -> None:
    if not SUITE.is_dir():
        pytest.skip(f"the YAML test suite is not at {SUITE} (a checkout without ../shared)")
    written = 0
    for case, text, _ in cases():
        try:
            loaded = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        except yaml.YAMLError:
            continue
        for document in loaded:
            written += same_or_declined({"case": case, "value": document})
            if isinstance(document, dict):
                written += same_or_declined(document)
    assert written > 200


_DECIDING = [*" :#-?'\"{}[],&*!|>%@`\n.0123456789aeEtrunlNYoFf~=+_/\\x", "\t", "é", "---", "...", "true", "null",
             "0x", "0o", "1e3", "<<", "~", *[" "] * 6, *["ab"] * 6]


def test_generated_documents(seed: int = 0) -> None:
    chance = random.Random(seed)

    def text() -> str:
        return "".join(chance.choice(_DECIDING) for _ in range(chance.randint(0, chance.choice([8, 60]))))

    def value(depth: int = 0) -> Any:
        pick = chance.random()
        if depth < 3 and pick < 0.15:
            return {text(): value(depth + 1) for _ in range(chance.randint(0, 3))}
        if depth < 3 and pick < 0.3:
            return [value(depth + 1) for _ in range(chance.randint(0, 3))]
        if pick < 0.35:
            return chance.choice([None, True, False, 0, -5, 1.5, 1e-5, 1e16, 2**70, -0.0, 0.1])
        return text()

    written = sum(same_or_declined({text(): value() for _ in range(chance.randint(1, 4))}) for _ in range(15000))
    assert written > 2000


@pytest.mark.parametrize("body", [{"a": "é"}, {"a": "tab\there"}, {"a": "x" * 2000}, {"a": {1, 2}}, {1: "a"},
                                  {"a": "line \nbreak"}, {"a": float("inf")}, {"k" * 130: 1}, [1], {}])
def test_what_it_does_not_decide_is_left_to_libyaml(body: Any) -> None:
    assert block_yaml.dump(body) is None
    assert emit.dump_yaml(body) == libyaml(body)


def test_a_kept_final_line_break_ends_the_document_as_libyaml_does() -> None:
    body = {"a": "x\n\n", "b": 1}
    assert block_yaml.dump(body) == libyaml(body) == "a: |+\n  x\n\nb: 1\n...\n"
    assert yaml.safe_load(block_yaml.dump(body) or "") == body
