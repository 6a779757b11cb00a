"""Loaded YAML and evidence documents by the hash of their bytes, under .mlplat/cache/specs/.

Reading a spec the careful way (loader.py: every value's position, every trap refused) is most of
what `validate` costs at a thousand models, and reading evidence with every guard is much of the
rest. A file that loaded without a problem loads the same way again, so its data is kept under the
SHA-256 of the loader's code and the file's bytes, and the positions are found again only if an
error must be located. Only data that JSON holds exactly is kept (a YAML date is not), and an
entry is used only if its signature is this checkout's (cache_dir.py), it parses and names its own key.
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
from compiler.pipeline.incremental.cache_dir import CACHE_ROOT, read_signed, usable, write_signed
from compiler.pipeline.loader import Document, load_bytes, load_json, read_again, read_regular

CACHE_DIR = f"{CACHE_ROOT}/specs"
FORMAT = 2  # entries: the signature, a newline, then the JSON it signs


class SpecCache:
    def __init__(self, root: Path, remember: bool = True) -> None:
        """`remember=False` reads entries but keeps none (`validate`, which writes nothing)."""
        self.root = root
        self.folder = root / CACHE_DIR
        self.pending: dict[str, str] = {}  # key -> data as JSON, written by keep() once the project checked
        self.enabled = usable(root, CACHE_DIR)
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
        found = self._get(key) if self.enabled else None
        if found is not None:
            return Document(display, found[0], locate_later=read_again(path, display, sha256), sha256=sha256), []
        doc, errors = load(raw, display)
        if self.enabled and self.remember and doc is not None and not errors:
            text = _as_json(doc.data)
            if text is not None:
                self.pending[key] = text
        return doc, errors

    def known_valid(self, doc: Document, schema: str) -> bool:
        """Whether a document with these bytes passed `schema` in an earlier clean project, checked by the
        same code (evidence: validating 200 packages in Pydantic is a third of checking an unchanged
        project). A validation that passes now is remembered with the rest by keep()."""
        return bool(self.enabled and doc.sha256 and self._get(self._valid_key(doc, schema)) is not None)

    def passed(self, doc: Document, schema: str) -> None:
        if self.enabled and self.remember and doc.sha256:
            self.pending[self._valid_key(doc, schema)] = "true"

    @staticmethod
    def _valid_key(doc: Document, schema: str) -> str:
        code = fingerprint.project_code_version()
        return hashlib.sha256(f"{FORMAT} {code} valid {schema} {doc.sha256}".encode()).hexdigest()

    def keep(self) -> None:
        """Store what was loaded; called only when the project has no errors, so that a run on bad input
        leaves the disk exactly as it was."""
        for key, data in self.pending.items():
            self._put(key, data)
        self.pending.clear()

    def _get(self, key: str) -> tuple[Any] | None:
        entry = read_signed(self.root, self._entry(key))
        if not (isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("key") == key
                and "data" in entry):
            return None
        return (entry["data"],)

    def _put(self, key: str, data: str) -> None:
        try:
            body = f'{{"format": {FORMAT}, "key": "{key}", "data": {data}}}'.encode()  # the key is hex
            write_signed(self.root, self._entry(key), body)
        except OSError:
            pass  # a cache that cannot be written costs time, nothing else

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"


@functools.cache
def _loader_version() -> str:
    """The loader's code and PyYAML's version: a change to how files are read invalidates every entry."""
    source = Path(loader.__file__).read_bytes() + Path(__file__).read_bytes()
    return f"{FORMAT} {yaml.__version__} {hashlib.sha256(source).hexdigest()}"


def _as_json(value: Any) -> str | None:
    """The data as JSON where JSON holds it exactly, else None: a YAML date, or a float that is not finite.
    (Keys are always text: the loader refuses any other.)"""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return None
