"""Argo Workflows: the training pipeline of a model in one environment.

A `WorkflowTemplate` `<model>-train` runs the DAG train -> evaluate -> gate -> register, each step a
`python -m runtime <step>` pod reading the resolved spec from the `<model>-spec` ConfigMap. The run
id flows from train to the later steps as an output parameter. A `CronWorkflow` of the same name
submits the template on the spec's schedule (continuous training).

A run the gate refuses is still registered (as a challenger, for inspection), and then ends Failed:
a last task, `refused`, runs only after a failed gate and exits 1. By Argo's DAG rules a Workflow
fails only where a leaf task's branch failed, so without it a refused run (a failed gate, a
successful register, a skipped propose) ended Succeeded. The exit handler `report` pushes the
Workflow's phase to the Pushgateway whatever it is; `MlplatTrainingFailed` alerts the team on it.

The train step of a pod that requests GPUs runs in the GPU build of the runtime image (platform.yaml
defaults.images.trainingGpu: a CUDA build of torch), unless the spec names its own image, and is
told how many GPUs it asked for (MLPLAT_GPUS): it stops with a clear error where torch sees fewer.

The team's code reaches the pods as Argo's own git input artifact: train clones the platform's
repository (platform.yaml `repository`, with its credentials Secret) at the `git-commit` parameter,
a commit or a branch; scheduled and drift-triggered runs leave it at the branch, so they train from
its head. Train records the commit it really checked out and hands it on, and evaluate (which loads
the team's pickled classes) clones exactly that commit. The runtime finds the spec's folder through
MLPLAT_CODE_DIR.

Submit by hand with the commit the model is trained from:
    argo submit -n <namespace> --from workflowtemplate/<model>-train -p git-commit=$(git rev-parse HEAD)
"""

from __future__ import annotations

from typing import Any

from compiler.runtime_contract import duration_seconds
from compiler.spec.resolved import ResolvedModel
from renderers import argo_objects as a
from renderers.base import Manifest, model_manifest
from renderers.workflow_pod import (
    CODE_PATH,
    OUTPUTS,
    SPEC_MOUNT,
    code_artifact,
    compute,
    container_security,
    pod_settings,
    spec_mounts,
    workflow_metadata,
)

# Small, fixed resources for the steps that only talk to MLflow.
_LIGHT = {"cpu": "250m", "memory": "512Mi"}


def render(model: ResolvedModel) -> list[Manifest]:
    manifests = [model_manifest(model, _workflow_template(model))]
    if model.spec.training.schedule:
        manifests.append(model_manifest(model, _cron_workflow(model)))
    return manifests


def _workflow_template(model: ResolvedModel) -> dict[str, Any]:
    training = model.spec.training
    resources = training.resources
    pool = model.gpu_pool(resources.gpu_type) if resources.gpus else None
    env = [
        a.env("MLFLOW_TRACKING_URI", model.env.mlflow.tracking_uri),
        a.env("MLPLAT_ARTIFACT_ROOT", model.env.artifact_store),
        a.env("MLPLAT_SPEC", f"{SPEC_MOUNT}/model.json"),
        a.env("MLPLAT_OUTPUTS", OUTPUTS),
        a.env("HOME", "/tmp"),
    ]
    code_env = [a.env("MLPLAT_CODE_DIR", f"{CODE_PATH}/{model.code_folder}")]
    requested = "{{workflow.parameters.git-commit}}"  # a commit, or the branch whose head train resolves

    def step(name: str, image: str, resources_: dict[str, Any], step_env: list[Any], **template: Any) -> Any:
        args = ["-m", "runtime", name] + ([] if name == "train" else ["--run-id", "{{inputs.parameters.run-id}}"])
        return a.container_template(name, a.container(image, args, env + step_env, resources_, spec_mounts(),
                                                      container_security()), **template)

    # Transient pod errors are retried; a decided gate failure (exit 1) never is.
    on_error = a.retry(2, "OnError")
    runtime_image = model.runtime_image  # evaluate, gate and register need only the platform runtime
    light = compute(_LIGHT["cpu"], _LIGHT["memory"], 0, None)
    run_id = "{{tasks.train.outputs.parameters.run-id}}"
    gpus = [a.env("MLPLAT_GPUS", str(resources.gpus))] if resources.gpus else []
    templates = [
        step("train", model.training_image, compute(resources.cpu, resources.memory, resources.gpus, pool),
             code_env + [a.env("MLPLAT_GIT_COMMIT", requested), *gpus], artifacts=[code_artifact(model, requested)],
             outputs=[a.output("run-id", f"{OUTPUTS}/run-id"), a.output("git-commit", f"{OUTPUTS}/git-commit")],
             activeDeadlineSeconds=duration_seconds(training.timeout),
             retryStrategy=a.retry(training.retries, "Always", {"duration": "1m", "factor": "2", "maxDuration": "30m"})
             if training.retries else None,
             nodeSelector=dict(pool.node_selector) if pool else None,
             tolerations=[a.fields(effect=t.effect, key=t.key, operator=t.operator, value=t.value)
                          for t in pool.tolerations] if pool else None),
        step("evaluate", runtime_image, compute(resources.cpu, resources.memory, 0, None), code_env,
             inputs=[a.parameter("run-id"), a.parameter("git-commit")],
             artifacts=[code_artifact(model, "{{inputs.parameters.git-commit}}")], retryStrategy=on_error),
        step("gate", runtime_image, light, [], inputs=[a.parameter("run-id")], retryStrategy=on_error,
             outputs=[a.output("decision", f"{OUTPUTS}/decision", "error")]),
        step("register", runtime_image, light, [], inputs=[a.parameter("run-id")], retryStrategy=on_error,
             outputs=[a.output(name, f"{OUTPUTS}/{name}", "none") for name in ("version", "alias")]),
        step("refused", runtime_image, light, [], inputs=[a.parameter("run-id")]),
        _report_step(model, env, light),
    ]
    tasks = [
        a.task("train"),
        a.task("evaluate", {"run-id": run_id, "git-commit": "{{tasks.train.outputs.parameters.git-commit}}"},
               depends="train"),
        a.task("gate", {"run-id": run_id}, depends="evaluate"),
        # register acts on the gate's recorded decision: champion if passed, challenger if failed.
        a.task("register", {"run-id": run_id}, depends="gate.Succeeded || gate.Failed"),
        # after a refusal the run is registered, then the Workflow fails (the module's docstring says why)
        a.task("refused", {"run-id": run_id}, depends="register && gate.Failed"),
    ]
    if proposes(model):
        templates.append(_propose_step(model, env, light))
        tasks.append(a.task("propose", {"version": "{{tasks.register.outputs.parameters.version}}"},
                            depends="register && gate.Succeeded",
                            when="{{tasks.register.outputs.parameters.alias}} == champion"))
    templates.append(a.dag_template("pipeline", tasks))
    spec = a.fields(
        arguments={"parameters": [a.parameter(
            "git-commit", model.repository.branch,
            description="commit or branch of the training code (a branch trains from its head); the commit used "
                        "is recorded on the run")]},
        entrypoint="pipeline", onExit=REPORT, serviceAccountName=model.service_account, templates=templates,
        **pod_settings(model, "training"))
    return a.manifest("WorkflowTemplate", workflow_metadata(model, model.names.training_template, "training", 0),
                      spec)


def proposes(model: ResolvedModel) -> bool:
    """Whether a new champion's pin is proposed without a person: there is a push token, the environment
    does not require a recorded approval (which only a person can give), and it pins what it trains
    itself (where it pins copies of the previous environment's versions, its own champion is not one)."""
    return bool(model.repository.push_secret) and not model.env.policies.require_approval and model.pins_own_training


REPORT = "report"  # the exit handler


def _report_step(model: ResolvedModel, env: list[Any], compute_: Any) -> Any:
    """`python -m runtime training-report`: the Workflow's phase, pushed whatever it is (runtime/training_report.py)."""
    args = ["-m", "runtime", "training-report", "--status", "{{workflow.status}}", "--workflow", "{{workflow.name}}"]
    step_env = [*env, a.env("MLPLAT_PUSHGATEWAY", model.env.monitoring.pushgateway)]
    return a.container_template(REPORT, a.container(model.runtime_image, args, step_env, compute_, spec_mounts(),
                                                    container_security()))


def _propose_step(model: ResolvedModel, env: list[Any], compute_: Any) -> Any:
    """`python -m runtime propose`: the champion's pin as an mlplat/* branch (runtime/propose.py)."""
    secret = model.repository.push_secret
    assert secret is not None  # proposes(model): there is a push token
    step_env = [*env, a.env("MLPLAT_REPOSITORY", model.repository.url), a.env("MLPLAT_BRANCH", model.repository.branch),
                a.secret_env("GIT_USERNAME", secret, "username"), a.secret_env("GIT_PASSWORD", secret, "password")]
    args = ["-m", "runtime", "propose", "--version", "{{inputs.parameters.version}}"]
    return a.container_template("propose", a.container(model.runtime_image, args, step_env, compute_, spec_mounts(),
                                                       container_security()),
                                inputs=[a.parameter("version")])


def _cron_workflow(model: ResolvedModel) -> dict[str, Any]:
    schedule = model.spec.training.schedule
    assert schedule is not None  # rendered for a model on a schedule only
    spec = a.cron_spec(schedule, 3600,
                       {"workflowTemplateRef": {"name": model.names.training_template}})
    # after its template
    return a.manifest("CronWorkflow", workflow_metadata(model, model.names.training_schedule, "training", 1), spec)
