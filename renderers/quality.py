"""The quality job of a deployed model (Argo Workflows; renderers/monitor_job.py).

A `CronWorkflow` `<model>-quality` runs `python -m runtime quality` on the spec's quality schedule: it
joins the ground truth (`monitoring.quality.labels`) to the prediction log's window whose labels are
due (the window ending `labels.delay` ago), computes the task's metrics, judges them by the
evaluation gates that bound a metric, and pushes them to the environment's Pushgateway (the
PrometheusRule alerts on them). With `onDegradation: retrain` a second step submits the model's
training WorkflowTemplate when a gate was missed.
"""

from __future__ import annotations

from compiler.runtime_contract import duration_seconds
from compiler.spec.resolved import ResolvedModel
from renderers.base import Manifest, model_manifest
from renderers.monitor_job import MonitorJob, render_job


def render(model: ResolvedModel) -> list[Manifest]:
    quality = model.spec.monitoring.quality
    if quality is None or model.spec.serving is None or model.release is None:
        return []
    job = MonitorJob(pipeline="quality", schedule=quality.schedule,
                     args=["--window-seconds", str(duration_seconds(quality.window)),
                           "--delay-seconds", str(duration_seconds(quality.labels.delay)),
                           "--exit-zero-on-degradation"],
                     found="degraded", report=None, retrain=quality.on_degradation == "retrain",
                     cron_name=model.names.quality_schedule, retrainer=model.names.quality_retrainer)
    return [model_manifest(model, body) for body in render_job(model, job)]
