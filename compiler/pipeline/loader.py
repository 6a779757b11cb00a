"""Safe YAML loading that keeps the position of every node and refuses YAML's traps.

PyYAML composes the node graph (with marks); we build plain Python values from it ourselves, so
that each value's line and column survive, and so that duplicate keys, non-standard tags, alias
bombs and YAML 1.1's silent coercions are reported instead of accepted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from compiler.pipeline.errors import SpecError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32  # nesting of mappings and sequences in the document
MAX_NODES = 20_000  # values built, counting each alias expansion
MAX_ALIASES = 20
# Checked on the raw text before libyaml sees it: its recursive parser crashes on deep nesting.
MAX_FLOW_DEPTH = 48
MAX_INDENT = 96

Path_ = tuple[str | int, ...]

_STANDARD_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
}
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# Control characters YAML would carry into strings, and bidirectional overrides ("Trojan source").
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_YAML11_BOOL_ONLY = {"yes", "no", "on", "off"}

try:  # libyaml is much faster; the pre-scan below keeps it away from input that crashes it
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


class Position(NamedTuple):  # a tuple: a spec has thousands of values, each with one
    line: int
    column: int


@dataclass
class Document:
    """A loaded YAML file: its data plus where each value (and each mapping key) came from."""

    file: str
    data: Any
    positions: dict[Path_, Position] = field(default_factory=dict)
    key_positions: dict[Path_, Position] = field(default_factory=dict)
    # Plain (unquoted) scalars that YAML turned into something other than text: path -> raw text.
    coerced: dict[Path_, tuple[str, str]] = field(default_factory=dict)
    # Finds the positions when the first error is located (load_json): most documents never need them.
    locate_later: Callable[[], Document | None] | None = field(default=None, repr=False, compare=False)
    sha256: str = ""  # of the file's bytes (cache keys use it instead of the data)

    def locate(self, path: Path_, *, key: bool = False) -> tuple[Position, Path_]:
        """Position of the deepest known prefix of `path` (the key's position if `key`)."""
        self._find_positions()
        path = tuple(path)
        while path:
            if key and path in self.key_positions:
                return self.key_positions[path], path
            if path in self.positions:
                return self.positions[path], path
            path = path[:-1]
        return self.positions.get((), Position(1, 1)), ()

    def coercion(self, path: Path_) -> tuple[str, str] | None:
        """(raw text, what YAML made of it) where a plain scalar was read as something other than text."""
        self._find_positions()
        return self.coerced.get(path)

    def _find_positions(self) -> None:
        if self.locate_later is not None:
            located, self.locate_later = self.locate_later(), None
            if located is not None:
                self.positions, self.key_positions = located.positions, located.key_positions
                self.coerced = located.coerced if self.coerced == {} and located.data == self.data else self.coerced

    def error(self, path: Path_, message: str, hint: str = "", *, key: bool = False) -> SpecError:
        pos, _ = self.locate(path, key=key)
        return SpecError(self.file, pos.line, pos.column, dotted(path), message, hint)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_file(path: Path, display: str) -> tuple[Document | None, list[SpecError]]:
    """Load one YAML file; `display` is the name errors use (its path relative to the repository)."""
    raw, errors = read_regular(path, display)
    return load_bytes(raw, display) if raw is not None else (None, errors)


def read_regular(path: Path, display: str) -> tuple[bytes | None, list[SpecError]]:
    """A file's bytes, refused where it or a folder on its way from the repository root is a symbolic
    link: a link would have mlplat read (and commit judgements on) a file outside the repository."""
    parts = Path(display).parts
    base = str(path.parents[len(parts) - 1])  # the repository root; strings, as 2,000 files are read
    for depth in range(1, len(parts) + 1):
        if os.path.islink(os.path.join(base, *parts[:depth])):
            linked = "/".join(parts[:depth])
            return None, [SpecError(display, 1, 1, "", f"{linked} is a symbolic link; mlplat reads only regular "
                                    "files inside the repository", "replace the link with the file or folder itself")]
    try:
        return path.read_bytes(), []
    except OSError as exc:
        return None, [SpecError(display, 1, 1, "", f"cannot read file: {exc.strerror or exc}")]


def load_bytes(raw: bytes, display: str) -> tuple[Document | None, list[SpecError]]:
    def fail(line: int, column: int, message: str, hint: str = "") -> tuple[None, list[SpecError]]:
        return None, [SpecError(display, line, column, "", message, hint)]

    if len(raw) > MAX_BYTES:
        return fail(1, 1, f"file is {len(raw):,} bytes; spec files are limited to {MAX_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _line_col(raw[: exc.start].decode("utf-8", "replace"))
        return fail(line, column, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                    "save the file as UTF-8")
    text = text.removeprefix("\ufeff")
    bad = _FORBIDDEN_CHARS.search(text)
    if bad:
        line, column = _line_col(text[: bad.start()])
        return fail(line, column, f"control or bidirectional character U+{ord(bad.group()):04X} is not allowed",
                    "remove it; write it as an escape inside a double-quoted string if it is really needed")
    problem = _nesting_problem(text)
    if problem:
        return fail(*problem)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return fail(line, column, f"invalid YAML: {message}")
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML parse error carries a mark
        return fail(1, 1, f"invalid YAML: {exc}")
    if node is None:
        return fail(1, 1, "file is empty")
    builder = _Builder(display)
    data = builder.build(node, (), 0, frozenset())
    if builder.errors:
        return None, builder.errors
    return Document(display, data, builder.positions, builder.key_positions, builder.coerced,
                    sha256=hashlib.sha256(raw).hexdigest()), []


def load_json(raw: bytes, display: str, path: Path | None = None) -> tuple[Document | None, list[SpecError]]:
    """A JSON file, with JSON's own reading of its values (YAML 1.1 would take 2e-05 for text).

    It is parsed once, by the json module; positions come from reading it as YAML (JSON is YAML) only
    when an error must be located. A file that any guard of load_bytes would refuse (size, encoding,
    characters, duplicate keys, depth, size once built) is read the careful way for its located error.
    `path`: the file the bytes came from, read again for positions instead of keeping them."""
    data = _plain_json(raw)
    if data is not _REFUSED:
        sha256 = hashlib.sha256(raw).hexdigest()
        later = read_again(path, display, sha256) if path is not None else located_later(raw, display)
        return Document(display, data, locate_later=later, sha256=sha256), []
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        line, column = (exc.lineno, exc.colno) if isinstance(exc, json.JSONDecodeError) else (1, 1)
        return None, [SpecError(display, line, column, "", f"not valid JSON: {exc}")]
    located, errors = load_bytes(raw, display)
    return (replace(located, data=data) if located is not None else None), errors


_REFUSED = object()


def located_later(raw: bytes, display: str) -> Callable[[], Document | None]:
    """What finds a document's positions when its first error is located, from its bytes kept compressed
    (a thousand evidence files are 16 MB that almost never need reading again)."""
    packed = zlib.compress(raw, 1)
    return lambda: load_bytes(zlib.decompress(packed), display)[0]


def read_again(path: Path, display: str, sha256: str) -> Callable[[], Document | None]:
    """located_later for bytes read from `path`: nothing is kept, the file is read again, and its positions
    are used only if it still hashes the same (a file changed since gives its errors no position)."""
    def locate() -> Document | None:
        raw, _ = read_regular(path, display)
        return load_bytes(raw, display)[0] if raw is not None and hashlib.sha256(raw).hexdigest() == sha256 else None

    return locate


def _plain_json(raw: bytes) -> Any:
    """The parsed document, or _REFUSED where a guard of load_bytes would say something about it."""
    if len(raw) > MAX_BYTES:
        return _REFUSED
    try:
        text = raw.decode("utf-8")
        if _FORBIDDEN_CHARS.search(text):
            return _REFUSED
        if len(_SHARED_TEXT) > _SHARED_LIMIT:
            _SHARED_TEXT.clear()
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return _REFUSED
    return data if _within_limits(data) else _REFUSED


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    shared = _SHARED_TEXT.setdefault
    out = {key: shared(value, value) if type(value) is str else value for key, value in pairs}
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


# Evidence files repeat the same texts (a model's 200 packages: names, versions, purls, licences) a
# thousand times over; json.loads makes each anew. One copy of each is kept instead (strings are
# immutable, so sharing them changes nothing): 26 MB less for validate at 1,000 models. The table is
# emptied when it grows past a bound, so a long-lived process does not keep every text it ever read.
_SHARED_TEXT: dict[str, str] = {}
_SHARED_LIMIT = 500_000


def _within_limits(data: Any) -> bool:
    """At most MAX_DEPTH levels of nesting and MAX_NODES values, as the YAML builder allows."""
    count = 0
    level = [data]
    for _ in range(MAX_DEPTH + 1):
        count += len(level)
        if count > MAX_NODES:
            return False
        level = [child for value in level if isinstance(value, (dict, list))
                 for child in (value.values() if isinstance(value, dict) else value)]
        if not level:
            return True
    return False


def _line_col(prefix: str) -> tuple[int, int]:
    return prefix.count("\n") + 1, len(prefix) - (prefix.rfind("\n") + 1) + 1


def _nesting_problem(text: str) -> tuple[int, int, str] | None:
    """A cheap bound on nesting, checked before any parser runs (quotes and comments are ignored,
    which only makes the bound stricter for text full of unmatched brackets)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.lstrip(" ")
        indent = len(line) - len(content)
        while content[:2] in ("- ", "? ", ": ") or content in ("-", "?"):
            indent += 2
            content = content[2:].lstrip(" ")
        if indent > MAX_INDENT:
            return number, 1, f"nesting is too deep: this line is indented {indent} columns (limit {MAX_INDENT})"
        for bracket in _BRACKETS.finditer(line):  # only the brackets: most lines have none
            if bracket.group() in "[{":
                depth += 1
                if depth > MAX_FLOW_DEPTH:
                    return number, bracket.start() + 1, f"nesting is too deep: more than {MAX_FLOW_DEPTH} open brackets"
            else:
                depth = max(0, depth - 1)
    return None


_BRACKETS = re.compile(r"[\[\]{}]")


class _Builder:
    """Turns a composed node graph into plain values, recording positions and problems."""

    def __init__(self, file: str):
        self.file = file
        self.errors: list[SpecError] = []
        self.positions: dict[Path_, Position] = {}
        self.key_positions: dict[Path_, Position] = {}
        self.coerced: dict[Path_, tuple[str, str]] = {}
        self.nodes = 0
        self.aliases = 0
        self.seen: set[int] = set()
        self.constructor = yaml.constructor.SafeConstructor()
        self.stopped = False

    def error(self, node: yaml.Node, path: Path_, message: str, hint: str = "") -> None:
        self.errors.append(
            SpecError(self.file, node.start_mark.line + 1, node.start_mark.column + 1, dotted(path), message, hint)
        )

    def stop(self, node: yaml.Node, path: Path_, message: str, hint: str = "") -> None:
        """Report a problem that makes further building pointless (bombs, cycles)."""
        if not self.stopped:
            self.error(node, path, message, hint)
        self.stopped = True

    def build(self, node: yaml.Node, path: Path_, depth: int, ancestors: frozenset[int]) -> Any:
        if self.stopped:
            return None
        if id(node) in ancestors:
            self.stop(node, path, "recursive alias: a value contains itself")
            return None
        if id(node) in self.seen:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                self.stop(node, path, f"more than {MAX_ALIASES} alias expansions",
                          "write the values out instead of using anchors and aliases")
                return None
        self.seen.add(id(node))
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.stop(node, path, f"document expands to more than {MAX_NODES:,} values",
                      "this usually means an alias bomb; write the values out")
            return None
        if depth > MAX_DEPTH:
            self.stop(node, path, f"nesting is deeper than {MAX_DEPTH} levels")
            return None
        self.positions[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
        if not self._tag_ok(node, path):
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth, ancestors | {id(node)})
        if isinstance(node, yaml.SequenceNode):
            inner = ancestors | {id(node)}
            return [self.build(item, (*path, i), depth + 1, inner) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _tag_ok(self, node: yaml.Node, path: Path_) -> bool:
        if node.tag in _STANDARD_TAGS or node.tag == _TIMESTAMP_TAG:
            return True
        self.error(node, path, f"tag {node.tag!r} is not allowed",
                   "only plain YAML values are accepted; remove the tag")
        return False

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int, ancestors: frozenset[int]) -> dict:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self.error(key_node, path, "merge keys (<<) are not supported", "write the fields out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, path, "mapping keys must be plain text")
                continue
            key = self._scalar(key_node, path, is_key=True)
            if not isinstance(key, str):
                self.error(key_node, path, f"key {key_node.value!r} is read as {_kind(key)}, not text",
                           f"quote it: \"{key_node.value}\"")
                continue
            child = (*path, key)
            if key in out:
                first = self.key_positions[child]
                self.error(key_node, child, f"duplicate key {key!r} (first defined at line {first.line})",
                           "remove one of them")
                continue
            self.key_positions[child] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child, depth + 1, ancestors)
        return out

    def _scalar(self, node: yaml.ScalarNode, path: Path_, *, is_key: bool = False) -> Any:
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        raw = node.value
        explicit = bool(node.style)  # a quoted scalar with an explicit tag such as !!int "8"
        if not explicit:
            problem = _yaml11_ambiguity(node.tag, raw)
            if problem:
                self.error(node, path, *problem)
                return raw
        try:
            value = self.constructor.construct_object(node)
        except yaml.YAMLError as exc:
            self.error(node, path, f"cannot read value {raw!r}: {getattr(exc, 'problem', exc)}")
            return raw
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
            # An explicit tag whose text does not convert (`!!float x`, `!!int ""`, `!!bool x`,
            # `!!timestamp x`): PyYAML's converters raise whatever Python's conversion raises.
            kind = node.tag.rsplit(":", 1)[-1]
            self.error(node, path, f"value {raw!r} is not a valid {kind} (tag !!{kind})",
                       f"write a valid {kind}, or remove the tag")
            return raw
        if not explicit and not is_key and node.tag != "tag:yaml.org,2002:null":
            self.coerced[path] = (raw, _kind(value))
        return value


def _yaml11_ambiguity(tag: str, raw: str) -> tuple[str, str] | None:
    """Plain scalars that YAML 1.1 (PyYAML) and YAML 1.2 read differently: (message, hint)."""
    lowered = raw.lower()
    if tag == "tag:yaml.org,2002:bool" and lowered in _YAML11_BOOL_ONLY:
        meaning = "true" if lowered in ("yes", "on") else "false"
        return (f"{raw!r} is read as the boolean {meaning} by YAML 1.1 (and as text by YAML 1.2)",
                f"write {meaning} for a boolean, or quote it (\"{raw}\") for text")
    if tag == "tag:yaml.org,2002:int":
        digits = raw.lstrip("+-")
        if ":" in raw:
            return (f"{raw!r} is read as a base-60 number by YAML 1.1",
                    f"quote it (\"{raw}\") for text such as a time")
        if len(digits) > 1 and digits.startswith("0") and digits[1:2].isdigit():
            return (f"{raw!r} is read as an octal number by YAML 1.1 (and as decimal by YAML 1.2)",
                    f"quote it (\"{raw}\") for text, or drop the leading zero for a number")
        if "_" in raw or digits.startswith("0b"):
            return (f"{raw!r} is read as a number by YAML 1.1 but as text by YAML 1.2",
                    f"quote it (\"{raw}\") for text, or write the plain decimal number")
    if tag == "tag:yaml.org,2002:float" and ("_" in raw or ":" in raw):
        return (f"{raw!r} is read as a number by YAML 1.1 but as text by YAML 1.2",
                f"quote it (\"{raw}\") for text, or write the plain decimal number")
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"
