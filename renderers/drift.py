"""The drift job of a deployed model (Argo Workflows; renderers/monitor_job.py).

A `CronWorkflow` `<model>-drift` runs `python -m runtime drift` on the spec's drift schedule: the
reference is the spec's training data, the current window the last `window` of the model's
prediction log; the step pushes its scores to the environment's Pushgateway (the PrometheusRule
alerts on them) and keeps Evidently's HTML report as an output artifact. With `onDrift: retrain` a
second step submits the model's training WorkflowTemplate when the first found drift.
"""

from __future__ import annotations

from compiler.runtime_contract import duration_seconds
from compiler.spec.resolved import ResolvedModel
from renderers.base import Manifest, model_manifest
from renderers.monitor_job import MonitorJob, render_job
from renderers.workflow_pod import OUTPUTS

REPORT = f"{OUTPUTS}/drift-report.html"


def render(model: ResolvedModel) -> list[Manifest]:
    drift = model.spec.monitoring.drift
    if drift is None or model.spec.serving is None or model.release is None:
        return []  # nothing served, nothing logged to compare
    job = MonitorJob(pipeline="drift", schedule=drift.schedule,
                     args=["--window-seconds", str(duration_seconds(drift.window)), "--exit-zero-on-drift"],
                     found="drifted", report=REPORT, retrain=drift.on_drift == "retrain",
                     cron_name=model.names.drift_schedule, retrainer=model.names.drift_retrainer)
    return [model_manifest(model, body) for body in render_job(model, job)]
