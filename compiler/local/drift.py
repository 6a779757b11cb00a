"""`mlplat drift`: the drift step of a model on two files, with its drift settings, on this machine.

It runs the same `python -m runtime drift` as the drift CronWorkflow's pod, with the resolved spec
written under .mlplat/drift/<model>-<env>/; its exit code is the step's (0 no drift, 1 drift, 2 bad data).
"""

from __future__ import annotations

from pathlib import Path

from compiler.local.runtime_call import run_monitor_step
from compiler.spec.resolved import ResolvedModel


def run_drift(root: Path, model: ResolvedModel, reference: str, current: str, report: Path | None = None,
              pushgateway: str | None = None) -> int:
    """Compare `current` with `reference` as the model's drift job would; returns the step's exit code.
    The report goes to `report`, or beside the step's outputs (the step's own default)."""
    args = ["--reference", reference, "--current", current]
    args += ["--report", str(report)] if report else []
    args += ["--pushgateway", pushgateway] if pushgateway else []
    return run_monitor_step(root, model, "drift", *args)
