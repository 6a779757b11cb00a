"""Errors are values: every problem found in a spec becomes one located `SpecError`.

Stages collect errors instead of raising, so a user sees every problem of every file in one run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class SpecError:
    """One problem, located at `file:line:column` (1-based) and a dotted field path."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""

    def text(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        field = f"{self.path}: " if self.path else ""
        out = f"{where}: error: {field}{self.message}"
        if self.hint:
            out += f"\n  hint: {self.hint}"
        return out

    def github(self) -> str:
        # GitHub workflow commands: properties escape ',' and ':'; the message escapes newlines.
        def prop(value: str) -> str:
            return _escape_data(value).replace(":", "%3A").replace(",", "%2C")

        body = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            body += f"\nhint: {self.hint}"
        return (
            f"::error file={prop(self.file)},line={self.line},col={self.column},"
            f"title={prop('mlplat: ' + (self.path or 'spec'))}::{_escape_data(body)}"
        )


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_errors(errors: list[SpecError], fmt: str) -> str:
    """Render errors as `text` (with a summary line), `json` or `github` annotations."""
    ordered = sorted(set(errors))
    if fmt == "json":
        return json.dumps({"errors": [asdict(e) for e in ordered]}, indent=2) + "\n"
    if fmt == "github":
        return "".join(e.github() + "\n" for e in ordered)
    if not ordered:
        return ""
    files = len({e.file for e in ordered})
    noun = "error" if len(ordered) == 1 else "errors"
    summary = f"{len(ordered)} {noun} in {files} file{'s' if files != 1 else ''}"
    return "\n".join(e.text() for e in ordered) + f"\n{summary}\n"
