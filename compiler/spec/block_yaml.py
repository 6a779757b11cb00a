"""Block YAML for plain data, written directly: the bytes libyaml's emitter writes, at a fraction of the cost.

Emitting through PyYAML builds a node per value and calls back into Python twice per scalar to resolve
its tag; at a thousand models that was most of a cold compile. The data renderers build is simple
(dicts with string keys, lists, strings, ints, bools, None, floats), and so is the block style libyaml
gives it with emit.py's settings: two-space indentation, a list under a key at the key's own
indentation, `{}` and `[]` for empty collections, multi-line strings as literal blocks. This writes
exactly that, and gives up (None: emit.py then uses libyaml) on anything whose style it does not
decide with certainty: other types, non-ASCII or control characters, long strings (libyaml wraps those
near the line width), or a multi-line string that a literal block cannot hold. Its rules follow
libyaml's scalar analysis; tests/compiler/test_block_yaml.py compares it with libyaml over every
rendered file and generated strings.
"""

from __future__ import annotations

from typing import Any

import yaml

_STR_TAG = "tag:yaml.org,2002:str"
_FIRST_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_LONGEST = 1000  # far below emit.py's line width (4096), so no scalar written here is ever wrapped
_resolver = yaml.resolver.Resolver()  # the implicit tags CSafeDumper checks a plain scalar against
_rendered: dict[str, str | None] = {}
_REMEMBERED = 200_000  # distinct strings; beyond them each is analysed as it comes


class _Unsupported(Exception):
    """Something whose style libyaml decides by rules not written here."""


def dump(body: Any) -> str | None:
    """`body` as emit.dump_yaml writes it, or None where this cannot say with certainty."""
    if type(body) is not dict or not body:
        return None
    writer = _Writer()
    try:
        writer.mapping(body, 0, inline=False)
    except _Unsupported:
        return None
    if writer.open_ended:  # the last literal block kept its final line breaks: libyaml marks the end
        writer.out.append("...\n")
    return "".join(writer.out)


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.open_ended = False

    def mapping(self, mapping: dict[Any, Any], indent: int, *, inline: bool) -> None:
        out, pad = self.out, " " * indent
        for position, (key, value) in enumerate(mapping.items()):
            if type(key) is not str or len(key) >= 128:  # longer keys are not simple keys: `? key`
                raise _Unsupported
            out.append(_string(key) if inline and position == 0 else pad + _string(key))
            out.append(":")
            kind = type(value)
            if kind is dict:
                if value:
                    out.append("\n")
                    self.mapping(value, indent + 2, inline=False)
                else:
                    out.append(" {}\n")
            elif kind is list:
                if value:
                    out.append("\n")
                    self.sequence(value, indent, inline=False)  # a list under a key: at the key's indentation
                else:
                    out.append(" []\n")
            elif kind is str and "\n" in value:
                out.append(" ")
                self.literal(value, indent + 2)
            else:
                out.append(" " + _scalar(value) + "\n")

    def sequence(self, sequence: list[Any], indent: int, *, inline: bool) -> None:
        out, pad = self.out, " " * indent
        for position, item in enumerate(sequence):
            out.append("- " if inline and position == 0 else pad + "- ")
            kind = type(item)
            if kind is dict:
                if item:
                    self.mapping(item, indent + 2, inline=True)
                else:
                    out.append("{}\n")
            elif kind is list:
                if item:
                    self.sequence(item, indent + 2, inline=True)
                else:
                    out.append("[]\n")
            elif kind is str and "\n" in item:
                self.literal(item, indent + 2)
            else:
                out.append(_scalar(item) + "\n")

    def literal(self, value: str, indent: int) -> None:
        """A multi-line string as a literal block (`|`), its lines at `indent`."""
        if (len(value) > 100 * _LONGEST or not value.isascii() or " \n" in value or value.endswith(" ")
                or not value.strip("\n") or not value.replace("\n", "").isprintable()):
            raise _Unsupported  # libyaml would double-quote these, or decides by rules not written here
        indicator = "2" if value[0] in " \n" else ""
        chomping = "-" if not value.endswith("\n") else "+" if value.endswith("\n\n") else ""
        self.open_ended = chomping == "+"  # as libyaml has it: the last block scalar decides
        self.out.append(f"|{indicator}{chomping}\n")
        pad = " " * indent
        lines = value.split("\n")
        last = lines.pop()  # what follows the last line break ("" where the string ends with one)
        self.out.extend(pad + line + "\n" if line else "\n" for line in lines)
        if last:
            self.out.append(pad + last + "\n")


def _scalar(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is float:
        return _float(value)
    raise _Unsupported


def _float(value: float) -> str:
    """SafeRepresenter's spelling of a finite float (`1.0e-05`, not `1e-05`), written plain."""
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    if not any(c.isdigit() for c in text) or "inf" in text or "nan" in text:
        raise _Unsupported
    return text


def _string(value: str) -> str:
    """A one-line string, plain where libyaml writes it plain, else single-quoted."""
    try:
        rendered = _rendered[value]
    except KeyError:
        rendered = _analysed(value)
        if len(_rendered) < _REMEMBERED:
            _rendered[value] = rendered
    if rendered is None:
        raise _Unsupported
    return rendered


def _analysed(value: str) -> str | None:
    if len(value) > _LONGEST or not (value.isascii() and value.isprintable()):
        return None  # control characters, tabs and line breaks go double-quoted; non-ASCII is left to libyaml
    return value if _plain(value) else "'" + value.replace("'", "''") + "'"


def _plain(value: str) -> bool:
    """libyaml's test for a plain scalar in block context (yaml_emitter_analyze_scalar), for printable
    ASCII on one line, and the tag it would read back being a string's."""
    if not value or value[0] == " " or value[-1] == " " or value.startswith(("---", "...")):
        return False
    first_followed_by_space = len(value) == 1 or value[1] == " "
    if value[0] in _FIRST_INDICATORS or (value[0] in "?:-" and first_followed_by_space):
        return False
    if ": " in value or value.endswith(":") or " #" in value:
        return False
    return _resolver.resolve(yaml.ScalarNode, value, (True, False)) == _STR_TAG
