"""Where the compiler's caches live (.mlplat/cache/, inside the repository and gitignored), when they
are used, and how they are written: never through a link, never half-written under their final name.

A cache is the compiler's own earlier output, so it is trusted only where nobody else can write it.
A branch can commit a `.mlplat/cache/` whose entries carry the right keys and the wrong bytes, which
`compile --check` would then accept. So every entry is signed (HMAC-SHA256) with a key kept where no
commit can put one: in the checkout's .git/ folder (in .mlplat/ only where there is no .git folder,
and then no branch to check out); an entry that is not signed with this checkout's key is a miss.
In CI, a pull request's checkout, no cache is used at all: with CI=true (GitHub Actions sets it) or
MLPLAT_CACHE=off nothing is read or written.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from compiler.spec.paths import CACHE_ROOT


def usable(root: Path, folder: str) -> bool:
    """False in CI or where caching is switched off, and where a link is on the way to `folder` (a
    committed `.mlplat` link, say): reading or writing through it would reach outside the repository."""
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("MLPLAT_CACHE", "").lower() == "off":
        return False
    parts = Path(folder).parts
    return not any(root.joinpath(*parts[:depth]).is_symlink() for depth in range(1, len(parts) + 1))


def write_atomically(target: Path, content: bytes) -> None:
    """A temporary file renamed into place: a killed run leaves no half-written entry under the name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def write_signed(root: Path, target: Path, body: bytes) -> None:
    """An entry file: its signature, a newline, then the bytes it signs (OSError where it cannot be written)."""
    write_atomically(target, signature(root, body).encode() + b"\n" + body)


def read_signed(root: Path, target: Path) -> Any:
    """The parsed JSON of an entry that write_signed wrote with this checkout's key, else None."""
    try:
        mac, _, body = target.read_bytes().partition(b"\n")
        return json.loads(body) if signed(root, body, mac.decode("ascii")) else None
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def signature(root: Path, payload: bytes) -> str:
    """The payload's HMAC under this checkout's cache key ("" where no key can be kept)."""
    key = _key(root)
    return hmac.new(key, payload, hashlib.sha256).hexdigest() if key else ""


def signed(root: Path, payload: bytes, mac: object) -> bool:
    expected = signature(root, payload)
    return bool(expected) and isinstance(mac, str) and hmac.compare_digest(expected, mac)


@functools.cache
def _key(root: Path) -> bytes:
    """Read (or made) once per process and root, as every entry read or written is signed."""
    root = root.resolve()
    git = root / ".git"
    holder = git if git.is_dir() and not git.is_symlink() else root / CACHE_ROOT
    path = holder / "mlplat-cache.key"
    try:
        if not (path.is_file() and not path.is_symlink()):
            holder.mkdir(parents=True, exist_ok=True)
            write_atomically(path, secrets.token_hex(32).encode())
        return path.read_bytes()
    except OSError:
        return b""
