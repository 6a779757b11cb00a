"""What the drift and quality jobs share: a CronWorkflow (Hera) running one `python -m runtime` step
that pushes its results to the environment's Pushgateway, and, where the spec says retrain, a second
step that submits the model's training WorkflowTemplate when the first found a problem. That step
runs as its own ServiceAccount, whose Role may create Workflows in the namespace and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.spec.emit import dump_yaml
from compiler.spec.resolved import ResolvedModel
from renderers.argo import (
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
    from hera.workflows import DAG, Artifact, Container, CronWorkflow, Env, NoneArchiveStrategy, Parameter, Resource
    from hera.workflows import models as m

    step = "detect" if job.pipeline == "drift" else "judge"
    outputs: list[Any] = [Parameter(name=job.found, value_from=m.ValueFrom(path=f"{OUTPUTS}/{job.found}",
                                                                            default="false"))]
    if job.report:
        outputs.append(Artifact(name="report", path=job.report, archive=NoneArchiveStrategy()))
    with CronWorkflow(
        name=job.cron_name,
        schedules=[job.schedule],
        timezone="UTC",
        concurrency_policy="Forbid",
        starting_deadline_seconds=600,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=5,
        entrypoint=job.pipeline,
        service_account_name=model.service_account,
        **pod_settings(model),
    ) as cron:
        container = Container(
            name=step,
            image=model.runtime_image,
            command=["python"],
            args=["-m", "runtime", job.pipeline, *job.args],
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
            outputs=outputs,
        )
        if job.retrain:
            submit = Resource(
                name="retrain",
                action="create",
                manifest=dump_yaml(_training_workflow(model, job.pipeline)),
                service_account_name=job.retrainer,
            )
        with DAG(name=job.pipeline):
            found = container(name=step)
            if job.retrain:
                found >> submit(name="retrain", when=f"{{{{tasks.{step}.outputs.parameters.{job.found}}}}} == true")
    body = cron.to_dict()
    body["metadata"] = workflow_metadata(model, job.cron_name, job.pipeline, 1)
    return body


def _training_workflow(model: ResolvedModel, trigger: str) -> dict[str, Any]:
    """The Workflow the retrain step creates: the model's training template, labelled with its trigger."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{model.names['trainingTemplate']}-{trigger}-", "namespace": model.namespace,
                     "labels": {**model.labels, "mlplat.io/pipeline": "training", "mlplat.io/trigger": trigger}},
        "spec": {"workflowTemplateRef": {"name": model.names["trainingTemplate"]}},
    }


def retrain_rbac(model: ResolvedModel, job: MonitorJob) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding of the retrain step: create Workflows, report its own result."""
    return step_rbac(model, job.retrainer, job.pipeline,
                     [{"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create"]}])
