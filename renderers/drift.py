"""The drift job of a deployed model (Argo Workflows, built with Hera).

A `CronWorkflow` `<model>-drift` runs `python -m runtime drift` on the spec's drift schedule: the
reference is the spec's training data, the current window the last `window` of the model's
prediction log; the step pushes its scores to the environment's Pushgateway (the PrometheusRule
alerts on them) and keeps Evidently's HTML report as an output artifact. With `onDrift: retrain` a
second step submits the model's training WorkflowTemplate when the first found drift; it runs as
its own ServiceAccount, whose Role may create Workflows in the namespace and nothing else.
"""

from __future__ import annotations

from typing import Any

from compiler.spec.emit import dump_yaml
from compiler.spec.resolved import ResolvedModel
from compiler.spec.types import duration_seconds
from renderers.argo import (
    OUTPUTS,
    SPEC_MOUNT,
    compute,
    container_security,
    pod_settings,
    spec_mounts,
    workflow_metadata,
)
from renderers.base import Manifest, model_manifest

DRIFTED = f"{OUTPUTS}/drifted"
REPORT = f"{OUTPUTS}/drift-report.html"
# The step reads one column at a time and plots a 20,000-row sample: 1M x 25 peaks near 0.5 GiB.
RESOURCES = {"cpu": "1", "memory": "2Gi"}
DEADLINE_SECONDS = 3600


def render(model: ResolvedModel) -> list[Manifest]:
    drift = model.spec.monitoring.drift
    if drift is None or model.spec.serving is None or model.release is None:
        return []  # nothing served, nothing logged to compare
    rbac = _retrain_rbac(model) if drift.on_drift == "retrain" else []
    return [model_manifest(model, body) for body in (*rbac, _cron_workflow(model))]


def _metadata(model: ResolvedModel, name: str, wave: int) -> dict[str, Any]:
    return workflow_metadata(model, name, "drift", wave)


def _cron_workflow(model: ResolvedModel) -> dict[str, Any]:
    from hera.workflows import DAG, Artifact, Container, CronWorkflow, Env, NoneArchiveStrategy, Parameter, Resource
    from hera.workflows import models as m

    drift = model.spec.monitoring.drift
    assert drift is not None
    retrain = drift.on_drift == "retrain"
    with CronWorkflow(
        name=model.names["driftSchedule"],
        schedules=[drift.schedule],
        timezone="UTC",
        concurrency_policy="Forbid",
        starting_deadline_seconds=600,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=5,
        entrypoint="drift",
        service_account_name=model.service_account,
        **pod_settings(model),
    ) as cron:
        detect = Container(
            name="detect",
            image=model.runtime_image,
            command=["python"],
            args=["-m", "runtime", "drift", "--window-seconds", str(duration_seconds(drift.window)),
                  "--exit-zero-on-drift"],
            env=[Env(name="MLPLAT_SPEC", value=f"{SPEC_MOUNT}/model.json"),
                 Env(name="MLPLAT_OUTPUTS", value=OUTPUTS),
                 Env(name="MLPLAT_PREDICTION_LOG", value=model.prediction_log),
                 Env(name="MLPLAT_PUSHGATEWAY", value=model.env.monitoring.pushgateway),
                 Env(name="HOME", value="/tmp")],
            volume_mounts=spec_mounts(),
            security_context=container_security(),
            resources=compute(RESOURCES["cpu"], RESOURCES["memory"], 0, None),
            active_deadline_seconds=DEADLINE_SECONDS,
            # Transient pod errors are retried; bad data (exit 2) is a result, and fails the workflow.
            retry_strategy=m.RetryStrategy(limit="2", retry_policy="OnError"),
            outputs=[Parameter(name="drifted", value_from=m.ValueFrom(path=DRIFTED, default="false")),
                     Artifact(name="report", path=REPORT, archive=NoneArchiveStrategy())],
        )
        if retrain:
            submit = Resource(
                name="retrain",
                action="create",
                manifest=dump_yaml(_training_workflow(model)),
                service_account_name=model.names["driftRetrainer"],
            )
        with DAG(name="drift"):
            found = detect(name="detect")
            if retrain:
                found >> submit(name="retrain", when="{{tasks.detect.outputs.parameters.drifted}} == true")
    body = cron.to_dict()
    body["metadata"] = _metadata(model, model.names["driftSchedule"], 1)
    return body


def _training_workflow(model: ResolvedModel) -> dict[str, Any]:
    """The Workflow the retrain step creates: the model's training template, labelled as drift-triggered."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{model.names['trainingTemplate']}-drift-", "namespace": model.namespace,
                     "labels": {**model.labels, "mlplat.io/pipeline": "training", "mlplat.io/trigger": "drift"}},
        "spec": {"workflowTemplateRef": {"name": model.names["trainingTemplate"]}},
    }


def _retrain_rbac(model: ResolvedModel) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding of the retrain step: create Workflows, report its own result."""
    name = model.names["driftRetrainer"]
    rules = [
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create"]},
        # Argo's executor records every step's outcome as a WorkflowTaskResult.
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
    ]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(model, name, 0),
         "automountServiceAccountToken": True},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _metadata(model, name, 0),
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": _metadata(model, name, 0),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": model.namespace}]},
    ]
