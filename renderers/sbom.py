"""The ML-BOMs of the versions an environment pins, under environments/<env>/sbom/ (never synced).

Each document is built from the pin's committed evidence by renderers/mlbom.py, the same code the
register step logs it with, so the compiled copy and the registry's copy have the same bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler.spec.paths import SBOM_DIR
from renderers import mlbom
from renderers.base import Manifest

if TYPE_CHECKING:
    from compiler.spec.resolved import ResolvedModel



def render(model: ResolvedModel) -> list[Manifest]:
    """The ML-BOM of each version pinned for the model in its environment."""
    return [Manifest(path(model.name, version), mlbom.to_text(mlbom.document(facts)), model.release_source,
                     format="text", kubernetes=False, file_kind="ML-BOM")
            for version, facts in sorted(model.evidence.items())]


def path(model: str, version: int) -> str:
    return f"{SBOM_DIR}/{model}-v{version}.cdx.json"
