"""`mlplat quality`: the quality step of a model on files, with its quality settings, on this machine.

It runs the same `python -m runtime quality` as the quality CronWorkflow's pod, with the resolved spec
written under .mlplat/quality/<model>-<env>/; its exit code is the step's (0 healthy, 1 a gate missed,
2 bad data).
"""

from __future__ import annotations

from pathlib import Path

from compiler.local.runtime_call import run_monitor_step
from compiler.spec.resolved import ResolvedModel


def run_quality(root: Path, model: ResolvedModel, labels: str | None, predictions: str,
                pushgateway: str | None = None) -> int:
    args = ["--predictions", predictions]
    args += ["--labels", labels] if labels else []
    args += ["--pushgateway", pushgateway] if pushgateway else []
    return run_monitor_step(root, model, "quality", *args)
