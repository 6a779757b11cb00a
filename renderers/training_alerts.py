"""Prometheus Operator: a `PrometheusRule` `<model>-training-rules` per model and environment that trains.

Every run of the training WorkflowTemplate ends in its exit handler, which pushes the Workflow's phase
(runtime/training_report.py): `mlplat_training_failed` is 1 after a run that did not succeed (a step
failed, the gate refused the run, the workflow errored). `MlplatTrainingFailed` fires on it and routes
to the team like every mlplat alert; the next successful run clears it. Rendered for every model,
deployed or not: a model's first versions are trained before anything serves them.
"""

from __future__ import annotations

from compiler.runtime_contract import TRAINING_FAILED
from compiler.spec.resolved import ResolvedModel
from renderers.base import Manifest, model_manifest, model_metadata
from renderers.monitoring import alert_rule, own


def render(model: ResolvedModel) -> list[Manifest]:
    failed = alert_rule(model, "TrainingFailed", "ticket", "0m", f"max({TRAINING_FAILED}{{{own(model)}}}) == 1",
                        f"the last training run of {model.name} failed",
                        "The training workflow's last run did not succeed: a step failed, or the gate refused the "
                        "version (registered as challenger, not champion). `argo list -l mlplat.io/model="
                        f"{model.name}` shows the run; its failed step's log says why.")
    body = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": model_metadata(model, model.names.training_rules,
                                   labels={"prometheus": "mlplat", "role": "alert-rules"}),
        "spec": {"groups": [{"name": f"mlplat.{model.environment}.{model.name}.training", "rules": [failed]}]},
    }
    return [model_manifest(model, body)]
