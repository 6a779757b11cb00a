"""Loaded YAML documents by the hash of their bytes, under .mlplat/cache/specs/.

Reading a spec the careful way (loader.py: every value's position, every trap refused) is most of
what `validate` costs at a thousand models. A file that loaded without a problem loads the same
way again, so its data is kept under the SHA-256 of the loader's code and the file's bytes, and
the positions are found again only if an error must be located. Only data that JSON holds exactly
is kept (a YAML date is not), and an entry is used only if it parses, names its own key and carries
this checkout's signature (cache_dir.py).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import yaml

from compiler.pipeline import loader
from compiler.pipeline.cache_dir import CACHE_ROOT, signature, signed, usable, write_atomically
from compiler.pipeline.errors import SpecError
from compiler.pipeline.loader import Document, load_bytes, read_regular

CACHE_DIR = f"{CACHE_ROOT}/specs"
FORMAT = 1


class SpecCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / CACHE_DIR
        self.pending: dict[str, Any] = {}  # written by keep(), once the whole project has checked
        self.enabled = usable(root, CACHE_DIR)

    def load_file(self, path: Path, display: str) -> tuple[Document | None, list[SpecError]]:
        """loader.load_file, through the cache."""
        raw, errors = read_regular(path, display)
        if raw is None:
            return None, errors
        key = hashlib.sha256(_loader_version().encode() + b"\n" + raw).hexdigest()
        found = self._get(key) if self.enabled else None
        if found is not None:
            return Document(display, found[0], locate_later=lambda: load_bytes(raw, display)[0]), []
        doc, errors = load_bytes(raw, display)
        if self.enabled and doc is not None and not errors and _exact_in_json(doc.data):
            self.pending[key] = doc.data
        return doc, errors

    def keep(self) -> None:
        """Store what was loaded; called only when the project has no errors, so that a run on bad input
        leaves the disk exactly as it was."""
        for key, data in self.pending.items():
            self._put(key, data)
        self.pending.clear()

    def _get(self, key: str) -> tuple[Any] | None:
        try:
            entry = json.loads(self._entry(key).read_bytes())
        except (OSError, ValueError):
            return None
        if not (isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("key") == key
                and "data" in entry):
            return None
        return (entry["data"],) if signed(self.root, _payload(key, entry["data"]), entry.get("signature")) else None

    def _put(self, key: str, data: Any) -> None:
        try:
            entry = {"format": FORMAT, "key": key, "data": data, "signature": signature(self.root, _payload(key, data))}
            write_atomically(self._entry(key), json.dumps(entry).encode())
        except OSError:
            pass  # a cache that cannot be written costs time, nothing else

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"


def _payload(key: str, data: Any) -> bytes:
    return json.dumps([key, data], sort_keys=True).encode()


@functools.cache
def _loader_version() -> str:
    """The loader's code and PyYAML's version: a change to how files are read invalidates every entry."""
    source = Path(loader.__file__).read_bytes() + Path(__file__).read_bytes()
    return f"{FORMAT} {yaml.__version__} {hashlib.sha256(source).hexdigest()}"


def _exact_in_json(value: Any) -> bool:
    """True where json.dumps then json.loads gives back the same value with the same types."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _exact_in_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_exact_in_json(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, (str, int, bool))
