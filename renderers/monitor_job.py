"""What the drift and quality jobs share: a CronWorkflow running one `python -m runtime` step
that pushes its results to the environment's Pushgateway, and, where the spec says retrain, a second
step that submits the model's training WorkflowTemplate when the first found a problem. That step
runs as its own ServiceAccount, whose Role may create Workflows in the namespace and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.spec.emit import dump_yaml
from compiler.spec.resolved import ResolvedModel
from renderers import argo_objects as a
from renderers.workflow_pod import (
    OUTPUTS,
    SPEC_MOUNT,
    compute,
    container_security,
    pod_settings,
    spec_mounts,
    step_rbac,
    workflow_metadata,
)

# The steps read one column at a time and plot a sample: 1M x 25 peaks near 0.5 GiB.
RESOURCES = {"cpu": "1", "memory": "2Gi"}
DEADLINE_SECONDS = 3600


@dataclass(frozen=True)
class MonitorJob:
    pipeline: str  # drift or quality: the step, the label mlplat.io/pipeline and the trigger of a retrain
    schedule: str
    args: list[str]  # after `python -m runtime <pipeline>`
    found: str  # the step's output parameter that is "true" when retraining is due
    report: str | None  # an HTML report kept as an output artifact
    retrain: bool
    cron_name: str
    retrainer: str  # ServiceAccount, Role and RoleBinding of the retrain step


def render_job(model: ResolvedModel, job: MonitorJob) -> list[dict[str, Any]]:
    rbac = retrain_rbac(model, job) if job.retrain else []
    return [*rbac, _cron_workflow(model, job)]


def _cron_workflow(model: ResolvedModel, job: MonitorJob) -> dict[str, Any]:
    step = "detect" if job.pipeline == "drift" else "judge"
    detect = a.container_template(
        step,
        a.container(model.runtime_image, ["-m", "runtime", job.pipeline, *job.args],
                    [a.env("MLPLAT_SPEC", f"{SPEC_MOUNT}/model.json"),
                     a.env("MLPLAT_OUTPUTS", OUTPUTS),
                     a.env("MLPLAT_PREDICTION_LOG", model.prediction_log),
                     a.env("MLPLAT_PUSHGATEWAY", model.env.monitoring.pushgateway),
                     a.env("HOME", "/tmp")],
                    compute(RESOURCES["cpu"], RESOURCES["memory"], 0, None), spec_mounts(), container_security()),
        activeDeadlineSeconds=DEADLINE_SECONDS,
        # Transient pod errors are retried; bad data (exit 2) is a result, and fails the workflow.
        retryStrategy=a.retry(2, "OnError"),
        outputs=[a.output(job.found, f"{OUTPUTS}/{job.found}", "false")],
        output_artifacts=[a.report_artifact(job.report)] if job.report else [],
    )
    templates, tasks = [detect], [a.task(step)]
    if job.retrain:
        templates.append(a.resource_template("retrain", "create", dump_yaml(_training_workflow(model, job.pipeline)),
                                             job.retrainer))
        tasks.append(a.task("retrain", depends=step,
                            when=f"{{{{tasks.{step}.outputs.parameters.{job.found}}}}} == true"))
    templates.append(a.dag_template(job.pipeline, tasks))
    workflow = a.fields(entrypoint=job.pipeline, serviceAccountName=model.service_account, templates=templates,
                        **pod_settings(model, job.pipeline))
    return a.manifest("CronWorkflow", workflow_metadata(model, job.cron_name, job.pipeline, 1),
                      a.cron_spec(job.schedule, 600, workflow))


def _training_workflow(model: ResolvedModel, trigger: str) -> dict[str, Any]:
    """The Workflow the retrain step creates: the model's training template, labelled with its trigger."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{model.names.training_template}-{trigger}-", "namespace": model.namespace,
                     "labels": {**model.labels, "mlplat.io/pipeline": "training", "mlplat.io/trigger": trigger}},
        "spec": {"workflowTemplateRef": {"name": model.names.training_template}},
    }


def retrain_rbac(model: ResolvedModel, job: MonitorJob) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding of the retrain step: create Workflows, report its own result."""
    return step_rbac(model, job.retrainer, job.pipeline,
                     [{"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create"]}])
