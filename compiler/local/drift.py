"""`mlplat drift`: the drift step of a model on two files, with its drift settings, on this machine.

It runs the same `python -m runtime drift` as the drift CronWorkflow's pod, with the resolved spec
written under .mlplat/drift/<model>-<env>/; its exit code is the step's (0 no drift, 1 drift, 2 bad data).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from compiler.local.embedded import WORK_DIR
from compiler.local.runtime_call import runtime_command, runtime_env
from compiler.spec.resolved import ResolvedModel


def run_drift(root: Path, model: ResolvedModel, reference: str, current: str, report: Path | None = None,
              pushgateway: str | None = None) -> int:
    """Compare `current` with `reference` as the model's drift job would; returns the step's exit code."""
    work = root / WORK_DIR / "drift" / f"{model.name}-{model.environment}"
    work.mkdir(parents=True, exist_ok=True)
    spec_file = work / "model.json"
    spec_file.write_text(model.summary_json(), "utf-8")
    command = runtime_command("drift", "--spec", str(spec_file), "--outputs", str(work), "--reference",
                              reference, "--current", current, "--report", str(report or work / "drift-report.html"))
    if pushgateway:
        command += ["--pushgateway", pushgateway]
    return subprocess.run(command, env=runtime_env(root), cwd=Path.cwd()).returncode
