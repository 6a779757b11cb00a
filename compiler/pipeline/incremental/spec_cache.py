"""Loaded YAML and evidence documents by the hash of their bytes (the cache `specs`, store.py).

Reading a spec the careful way (loader.py: every value's position, every trap refused) is most of
what `validate` costs at a thousand models, and reading evidence with every guard is much of the
rest. A file that loaded without a problem loads the same way again, so its data is kept under the
SHA-256 of the loader's code and the file's bytes, and the positions are found again only if an
error must be located. Only data that JSON holds exactly is kept (a YAML date is not); the entries
are store.py's, in the checkout's git directory.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from compiler.pipeline import loader
from compiler.pipeline.errors import SpecError
from compiler.pipeline.incremental import fingerprint
from compiler.pipeline.incremental.store import Entries
from compiler.pipeline.loader import Document, load_bytes, load_json, read_again, read_regular

KIND = "specs"


class SpecCache:
    def __init__(self, root: Path, remember: bool = True) -> None:
        """`remember=False` reads entries but keeps none (`validate`, which writes nothing)."""
        self.root = root
        self.entries = Entries(root, KIND)
        # key -> the entry's value as JSON ({"data": ...} of a document, or true: it passed its schema),
        # written by keep() once the project checked
        self.pending: dict[str, str] = {}
        self.enabled = self.entries.enabled
        self.remember = remember

    def load_file(self, path: Path, display: str) -> tuple[Document | None, list[SpecError]]:
        """loader.load_file, through the cache."""
        return self._load(path, display, "yaml", load_bytes)

    def load_json_file(self, path: Path, display: str) -> tuple[Document | None, list[SpecError]]:
        """loader.load_json of a file (an evidence document), through the cache."""
        return self._load(path, display, "json", functools.partial(load_json, path=path))

    def _load(self, path: Path, display: str, kind: str, load: Callable[[bytes, str], tuple[Document | None, list]]
              ) -> tuple[Document | None, list[SpecError]]:
        raw, errors = read_regular(path, display)
        if raw is None:
            return None, errors
        sha256 = hashlib.sha256(raw).hexdigest()
        key = hashlib.sha256(f"{_loader_version()} {kind} {sha256}".encode()).hexdigest()
        found = self.entries.get(key) if self.enabled else None
        if isinstance(found, dict) and "data" in found:
            return Document(display, found["data"], locate_later=read_again(path, display, sha256),
                            sha256=sha256), []
        doc, errors = load(raw, display)
        if self.enabled and self.remember and doc is not None and not errors:
            text = _as_json(doc.data)
            if text is not None:
                self.pending[key] = f'{{"data":{text}}}'
        return doc, errors

    def known_valid(self, doc: Document, schema: str) -> bool:
        """Whether a document with these bytes passed `schema` in an earlier clean project, checked by the
        same code (evidence: validating 200 packages in Pydantic is a third of checking an unchanged
        project). A validation that passes now is remembered with the rest by keep()."""
        return bool(self.enabled and doc.sha256 and self.entries.get(self._valid_key(doc, schema)) is True)

    def passed(self, doc: Document, schema: str) -> None:
        if self.enabled and self.remember and doc.sha256:
            self.pending[self._valid_key(doc, schema)] = "true"  # a mark, not a document

    @staticmethod
    def _valid_key(doc: Document, schema: str) -> str:
        code = fingerprint.project_code_version()
        return hashlib.sha256(f"{code} valid {schema} {doc.sha256}".encode()).hexdigest()

    def keep(self) -> None:
        """Store what was loaded; called only when the project has no errors, so that a run on bad input
        leaves the disk exactly as it was."""
        for key, data in self.pending.items():
            self.entries.put_json(key, data)
        self.pending.clear()


@functools.cache
def _loader_version() -> str:
    """The loader's code and PyYAML's version: a change to how files are read invalidates every entry."""
    source = Path(loader.__file__).read_bytes() + Path(__file__).read_bytes()
    return f"{yaml.__version__} {hashlib.sha256(source).hexdigest()}"


def _as_json(value: Any) -> str | None:
    """The data as JSON where JSON holds it exactly, else None: a YAML date, or a float that is not finite.
    (Keys are always text: the loader refuses any other.)"""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return None
