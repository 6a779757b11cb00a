"""The embedded default: MLflow on a SQLite file and a local artifact folder, under .mlplat/.

.mlplat/ is ignored by git; local runs, the serving environment and drift reports live there too.
"""

from __future__ import annotations

from pathlib import Path

from compiler.spec.paths import WORK_DIR


def default_tracking(root: Path) -> tuple[str, str]:
    """(tracking URI, artifact root) of the embedded default."""
    work = (root / WORK_DIR).resolve()
    return f"sqlite:///{work / 'mlflow.db'}", (work / "artifacts").as_uri()
