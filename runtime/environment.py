"""The Python environment a model was trained in: the interpreter and every installed distribution.

The train step records it on the run (mlplat/environment.json); the register step puts it in the
version's evidence, and the ML-BOM lists each package with its purl.
"""

from __future__ import annotations

import platform
import re
from importlib import metadata
from typing import Any

RECORD_PATH = "mlplat/environment.json"


def describe() -> dict[str, Any]:
    packages: dict[str, str] = {}
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:  # a broken install can leave a distribution without metadata
            packages.setdefault(canonical_name(name), distribution.version)
    return {"python": platform.python_version(),
            "packages": [{"name": name, "version": packages[name]} for name in sorted(packages)]}


def canonical_name(name: str) -> str:
    """PEP 503 normalised name, as purls of type pypi spell it."""
    return re.sub(r"[-_.]+", "-", name).lower()
