"""`mlplat sbom`: a registered version's ML-BOM, read from the registry with its artifact checked.

The runtime downloads the version (`python -m runtime fetch`) and checks the artifact's digest against
the registry and the evidence on its run; the document is then built from that evidence by the same
code the register step used (renderers/mlbom.py), so it has the bytes the run logged.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from compiler.local.runtime_call import RuntimeCallError, fetch_version
from renderers import mlbom


class BomError(Exception):
    """No ML-BOM can be given for the version; the message says why."""


def version_bom(root: Path, model: str, version: str | None, tracking_uri: str) -> tuple[str, str]:
    """(registry version, ML-BOM text) of `version` (default: the champion)."""
    with tempfile.TemporaryDirectory(prefix="mlplat-sbom-") as tmp:
        try:  # downloads the artifact and checks its digest against the registry and the evidence
            facts = fetch_version(root, model, version, tracking_uri, Path(tmp))
        except RuntimeCallError as exc:
            raise BomError(str(exc)) from exc
    if not facts.get("evidence"):
        raise BomError(f"{model} version {facts['version']} has no evidence on its run; it was registered "
                       "without an ML-BOM")
    return str(facts["version"]), mlbom.to_text(mlbom.document(facts["evidence"]))
