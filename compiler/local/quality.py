"""`mlplat quality`: the quality step of a model on files, with its quality settings, on this machine.

It runs the same `python -m runtime quality` as the quality CronWorkflow's pod, with the resolved spec
written under .mlplat/quality/<model>-<env>/; its exit code is the step's (0 healthy, 1 a gate missed,
2 bad data).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from compiler.local.embedded import WORK_DIR
from compiler.local.runtime_call import runtime_command, runtime_env
from compiler.spec.resolved import ResolvedModel


def run_quality(root: Path, model: ResolvedModel, labels: str | None, predictions: str,
                pushgateway: str | None = None) -> int:
    work = root / WORK_DIR / "quality" / f"{model.name}-{model.environment}"
    work.mkdir(parents=True, exist_ok=True)
    spec_file = work / "model.json"
    spec_file.write_text(model.summary_json(), "utf-8")
    command = runtime_command("quality", "--spec", str(spec_file), "--outputs", str(work), "--predictions", predictions)
    if labels:
        command += ["--labels", labels]
    if pushgateway:
        command += ["--pushgateway", pushgateway]
    return subprocess.run(command, env=runtime_env(root), cwd=Path.cwd()).returncode
