from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from compiler.pipeline.loader import Position, load_bytes, load_json


def load(text: str):
    doc, errors = load_bytes(text.encode(), "f.yaml")
    assert errors == [], [e.text() for e in errors]
    return doc


def test_positions_of_values_and_keys() -> None:
    doc = load("a:\n  b: [1, {c: x}]\n")
    assert doc.data == {"a": {"b": [1, {"c": "x"}]}}
    assert doc.positions[("a", "b", 1, "c")] == Position(2, 14)
    assert doc.key_positions[("a", "b")] == Position(2, 3)
    assert doc.locate(("a", "b", 5, "zzz")) == (Position(2, 6), ("a", "b"))


def test_unquoted_non_text_scalars_are_remembered_for_hints() -> None:
    doc = load("v: 1.10\nd: 2026-11-01\ns: '1.10'\nn: null\n")
    assert doc.data == {"v": 1.1, "d": datetime.date(2026, 11, 1), "s": "1.10", "n": None}
    assert doc.coerced == {("v",): ("1.10", "the number 1.1"), ("d",): ("2026-11-01", "a date")}


@pytest.mark.parametrize("text", ["a: yes\n", "a: Off\n", "a: 0777\n", "a: 1_000\n", "a: 12:30\n", "a: 0b101\n"])
def test_yaml_11_only_readings_are_errors(text: str) -> None:
    doc, errors = load_bytes(text.encode(), "f.yaml")
    assert doc is None and len(errors) == 1
    assert errors[0].line == 1 and errors[0].column == 4


@pytest.mark.parametrize("text", ["a: true\n", "a: 10\n", "a: 0x1F\n", "a: 1.5e+3\n", 'a: "no"\n', "a: 0\n"])
def test_unambiguous_scalars_load(text: str) -> None:
    load(text)


def test_alias_within_bound_is_expanded() -> None:
    doc = load("a: &x {k: 1}\nb: *x\n")
    assert doc.data == {"a": {"k": 1}, "b": {"k": 1}}


def test_quoted_keys_are_text_and_plain_non_text_keys_are_refused() -> None:
    assert load('"1": a\n').data == {"1": "a"}
    doc, errors = load_bytes(b"1: a\n", "f.yaml")
    assert doc is None and "key '1' is read as the integer 1, not text" in errors[0].message


def test_utf8_bom_is_accepted() -> None:
    assert load("\ufeffa: b\n").data == {"a": "b"}


def test_all_errors_of_a_file_are_reported_together() -> None:
    doc, errors = load_bytes(b"a: yes\nb: 010\nc: !foo x\n", "f.yaml")
    assert doc is None
    assert [(e.line, e.path) for e in errors] == [(1, "a"), (2, "b"), (3, "c")]


@pytest.mark.parametrize(("value", "kind"), [
    ("!!float x", "float"), ('!!int ""', "int"), ("!!bool x", "bool"), ("!!timestamp x", "timestamp"),
    ("!!timestamp 2020-13-45", "timestamp"), ('!!int "-"', "int")])
def test_explicit_tags_that_do_not_convert_are_located_errors(value: str, kind: str) -> None:
    doc, errors = load_bytes(f"a: 1\nb: {value}\nc: !!int q\n".encode(), "f.yaml")
    assert doc is None
    assert [(e.line, e.column, e.path) for e in errors] == [(2, 4, "b"), (3, 4, "c")]
    assert f"not a valid {kind}" in errors[0].message


def test_json_documents_share_their_texts_and_still_locate_errors() -> None:
    """A thousand evidence files list the same packages: their texts are kept once, not once per file; the
    positions, found only for an error, are still those of each file's own bytes."""
    first, _ = load_json(b'{"packages": [{"name": "numpy", "version": "2.3.4"}]}', "a.json")
    second, _ = load_json(b'{\n  "extra": 1,\n  "packages": [{"name": "numpy", "version": "2.3.4"}]}', "b.json")
    assert first is not None and second is not None
    assert first.data == {"packages": [{"name": "numpy", "version": "2.3.4"}]}
    assert first.data["packages"][0]["version"] is second.data["packages"][0]["version"]
    assert first.data["packages"][0] is not second.data["packages"][0]  # the containers are each file's own
    error = second.error(("packages", 0, "version"), "wrong")
    assert (error.file, error.line, error.column) == ("b.json", 3, 45)


def test_positions_found_later_read_the_file_again_and_only_if_it_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    path.write_bytes(b'{\n  "version": "x"\n}\n')
    doc, _ = load_json(path.read_bytes(), "evidence.json", path)
    error = doc.error(("version",), "wrong") if doc is not None else None
    assert error is not None and (error.line, error.column) == (2, 14)
    changed, _ = load_json(path.read_bytes(), "evidence.json", path)
    path.write_bytes(b'\n\n{\n  "version": "x"\n}\n')  # changed before the error is located: no position of it
    assert changed is not None and changed.error(("version",), "wrong").line == 1
