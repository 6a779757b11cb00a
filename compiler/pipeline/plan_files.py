"""A plan's files: each one's path, facts and hash, with its bytes read only when asked for.

The plan (plan.py) builds them by rendering or from the render cache, the plan memo (plan_memo.py)
from a stored list; the writer and `mlplat plan` read them. Nothing here loads the renderers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compiler.pipeline.incremental.render_cache import CachedFile


@dataclass(frozen=True)
class PlannedFile(CachedFile):
    """A file of the plan: its path (relative to the repository root), facts and hash, and its bytes,
    read when asked for (from the cache, for a unit that was not rendered)."""

    read: Callable[[], bytes] = field(repr=False, compare=False)

    @property
    def content(self) -> bytes:
        return self.read()

    def yaml_data(self) -> Any:
        """The file's YAML as data, read with libyaml: the compiler's own output, whose positions nobody asks for
        (a plan of a thousand models has about 10,000 such files)."""
        import yaml

        return yaml.load(self.content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

    @classmethod
    def of(cls, path: str, content: bytes, environment: str, kind: str, name: str, namespace: str, source: str,
           renderer: str) -> PlannedFile:
        return cls(path, environment, kind, name, namespace, source, renderer, hashlib.sha256(content).hexdigest(),
                   lambda: content)


@dataclass(frozen=True)
class Plan:
    files: tuple[PlannedFile, ...]
    notes: tuple[str, ...] = ()  # what is deliberately not rendered, and why

    def by_path(self) -> dict[str, PlannedFile]:
        return {f.path: f for f in self.files}
