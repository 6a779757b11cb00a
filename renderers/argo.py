"""Argo Workflows (built with Hera): the training pipeline of a model in one environment.

A `WorkflowTemplate` `<model>-train` runs the DAG train -> evaluate -> gate -> register, each step a
`python -m runtime <step>` pod reading the resolved spec from the `<model>-spec` ConfigMap. The run
id flows from train to the later steps as an output parameter. A `CronWorkflow` of the same name
submits the template on the spec's schedule (continuous training).

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

from compiler.spec.resolved import ResolvedModel
from compiler.spec.types import duration_seconds
from renderers.base import Manifest, model_manifest, model_metadata

SPEC_MOUNT = "/etc/mlplat"
OUTPUTS = "/tmp/outputs"
CODE_PATH = "/src"  # the repository's checkout in the train and evaluate pods
RUNTIME_USER = 1000
# Small, fixed resources for the steps that only talk to MLflow.
_LIGHT = {"cpu": "250m", "memory": "512Mi"}


def render(model: ResolvedModel) -> list[Manifest]:
    manifests = [model_manifest(model, _workflow_template(model))]
    if model.spec.training.schedule:
        manifests.append(model_manifest(model, _cron_workflow(model)))
    return manifests


def workflow_metadata(model: ResolvedModel, name: str, pipeline: str, wave: int) -> dict[str, Any]:
    """Metadata of a workflow object: its pipeline label, and its Argo CD sync wave."""
    return model_metadata(model, name, labels={"mlplat.io/pipeline": pipeline},
                          annotations={"argocd.argoproj.io/sync-wave": str(wave)})


def step_rbac(model: ResolvedModel, name: str, pipeline: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding `name` of a workflow step: `rules`, and what Argo's executor
    needs to record the step's outcome (a WorkflowTaskResult)."""
    rules = [*rules, {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"],
                      "verbs": ["create", "patch"]}]

    def metadata() -> dict[str, Any]:
        return workflow_metadata(model, name, pipeline, 0)

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(), "automountServiceAccountToken": True},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata(), "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": metadata(),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": model.namespace}]},
    ]


def _workflow_template(model: ResolvedModel) -> dict[str, Any]:
    from hera.workflows import DAG, Container, Env, Parameter, WorkflowTemplate
    from hera.workflows import models as m

    training = model.spec.training
    resources = training.resources
    pool = model.gpu_pool(resources.gpu_type) if resources.gpus else None
    env = [
        Env(name="MLFLOW_TRACKING_URI", value=model.env.mlflow.tracking_uri),
        Env(name="MLPLAT_ARTIFACT_ROOT", value=model.env.artifact_store),
        Env(name="MLPLAT_SPEC", value=f"{SPEC_MOUNT}/model.json"),
        Env(name="MLPLAT_OUTPUTS", value=OUTPUTS),
        Env(name="HOME", value="/tmp"),
    ]
    code_env = [Env(name="MLPLAT_CODE_DIR", value=f"{CODE_PATH}/{model.code_folder}")]
    mounts = spec_mounts()
    hardened = container_security()
    run_id, commit = Parameter(name="run-id"), Parameter(name="git-commit")
    requested = "{{workflow.parameters.git-commit}}"  # a commit, or the branch whose head train resolves

    def step(name: str, image: str, compute: m.ResourceRequirements, inputs: list[Any], step_env: list[Any],
             **extra: Any) -> Container:
        args = ["-m", "runtime", name] + ([] if name == "train" else ["--run-id", "{{inputs.parameters.run-id}}"])
        return Container(name=name, image=image, command=["python"], args=args, env=env + step_env,
                         volume_mounts=mounts, security_context=hardened, resources=compute, inputs=inputs, **extra)

    with WorkflowTemplate(
        name=model.names["trainingTemplate"],
        entrypoint="pipeline",
        arguments=[Parameter(name="git-commit", value=model.repository.branch,
                             description="commit or branch of the training code (a branch trains from its head); "
                                         "the commit used is recorded on the run")],
        service_account_name=model.service_account,
        **pod_settings(model),
    ) as workflow:
        train = step(
            "train", model.training_image, compute(resources.cpu, resources.memory, resources.gpus, pool),
            [code_artifact(model, requested)], code_env + [Env(name="MLPLAT_GIT_COMMIT", value=requested)],
            outputs=[Parameter(name="run-id", value_from=m.ValueFrom(path=f"{OUTPUTS}/run-id")),
                     Parameter(name="git-commit", value_from=m.ValueFrom(path=f"{OUTPUTS}/git-commit"))],
            active_deadline_seconds=duration_seconds(training.timeout),
            retry_strategy=m.RetryStrategy(limit=str(training.retries), retry_policy="Always",
                                           backoff=m.Backoff(duration="1m", factor="2", max_duration="30m"))
            if training.retries else None,
            node_selector=dict(pool.node_selector) if pool else None,
            tolerations=[m.Toleration(key=t.key, operator=t.operator, value=t.value, effect=t.effect)
                         for t in pool.tolerations] if pool else None,
        )
        # Transient pod errors are retried; a decided gate failure (exit 1) never is.
        on_error = m.RetryStrategy(limit="2", retry_policy="OnError")
        runtime_image = model.runtime_image  # evaluate, gate and register need only the platform runtime
        evaluate = step("evaluate", runtime_image, compute(resources.cpu, resources.memory, 0, None),
                        [run_id, commit, code_artifact(model, "{{inputs.parameters.git-commit}}")], code_env,
                        retry_strategy=on_error)
        light = compute(_LIGHT["cpu"], _LIGHT["memory"], 0, None)
        gate = step("gate", runtime_image, light, [run_id], [], retry_strategy=on_error,
                    outputs=[Parameter(name="decision", value_from=m.ValueFrom(path=f"{OUTPUTS}/decision",
                                                                              default="error"))])
        register = step("register", runtime_image, light, [run_id], [], retry_strategy=on_error, outputs=[
            Parameter(name=name, value_from=m.ValueFrom(path=f"{OUTPUTS}/{name}", default="none"))
            for name in ("version", "alias")])
        propose = _propose_step(model, env, light) if proposes(model) else None
        run_id_value = "{{tasks.train.outputs.parameters.run-id}}"
        with DAG(name="pipeline"):
            t_train = train(name="train")
            t_eval = evaluate(name="evaluate", arguments={
                "run-id": run_id_value, "git-commit": "{{tasks.train.outputs.parameters.git-commit}}"})
            t_gate = gate(name="gate", arguments={"run-id": run_id_value})
            t_train >> t_eval >> t_gate
            # register acts on the gate's recorded decision: champion if passed, challenger if failed.
            t_register = register(name="register", arguments={"run-id": run_id_value},
                                  depends="gate.Succeeded || gate.Failed")
            if propose is not None:
                t_register >> propose(name="propose", arguments={
                    "version": "{{tasks.register.outputs.parameters.version}}"},
                    when="{{tasks.register.outputs.parameters.alias}} == champion")
    body = workflow.to_dict()
    body["metadata"] = workflow_metadata(model, model.names["trainingTemplate"], "training", 0)
    return body


def proposes(model: ResolvedModel) -> bool:
    """Whether a new champion's pin is proposed without a person: there is a push token, and the
    environment does not require a recorded approval (which only a person can give)."""
    return bool(model.repository.push_secret) and not model.env.policies.require_approval


def _propose_step(model: ResolvedModel, env: list[Any], compute_: Any) -> Any:
    """`python -m runtime propose`: the champion's pin as an mlplat/* branch (runtime/propose.py)."""
    from hera.workflows import Container, Env, Parameter, SecretEnv

    secret = model.repository.push_secret
    return Container(
        name="propose", image=model.runtime_image, command=["python"],
        args=["-m", "runtime", "propose", "--version", "{{inputs.parameters.version}}"],
        env=[*env, Env(name="MLPLAT_REPOSITORY", value=model.repository.url),
             Env(name="MLPLAT_BRANCH", value=model.repository.branch),
             SecretEnv(name="GIT_USERNAME", secret_name=secret, secret_key="username"),
             SecretEnv(name="GIT_PASSWORD", secret_name=secret, secret_key="password")],
        volume_mounts=spec_mounts(), security_context=container_security(), resources=compute_,
        inputs=[Parameter(name="version")])


def code_artifact(model: ResolvedModel, revision: str) -> Any:
    """The platform's repository at `revision`, cloned by Argo into CODE_PATH (full history, so that any
    commit can be checked out; the clone keeps .git, which is how train learns the commit)."""
    from hera.workflows import GitArtifact
    from hera.workflows import models as m

    repository = model.repository
    secret = repository.credentials_secret
    return GitArtifact(
        name="code", path=CODE_PATH, repo=repository.url, revision=revision,
        username_secret=m.SecretKeySelector(name=secret, key="username") if secret else None,
        password_secret=m.SecretKeySelector(name=secret, key="password") if secret else None,
    )


def pod_settings(model: ResolvedModel) -> dict[str, Any]:
    """Workflow-level settings every mlplat workflow shares: non-root pods, the resolved spec and a
    writable /tmp as volumes, garbage collection."""
    from hera.workflows import models as m

    return {
        "security_context": m.PodSecurityContext(run_as_non_root=True, run_as_user=RUNTIME_USER,
                                                 run_as_group=RUNTIME_USER, fs_group=RUNTIME_USER,
                                                 seccomp_profile=m.SeccompProfile(type="RuntimeDefault")),
        "volumes": [m.Volume(name="spec", config_map=m.ConfigMapVolumeSource(name=model.names["resolvedSpec"])),
                    m.Volume(name="tmp", empty_dir=m.EmptyDirVolumeSource())],
        "ttl_strategy": m.TTLStrategy(seconds_after_completion=7 * 24 * 3600),
        "pod_gc": m.PodGC(strategy="OnPodSuccess"),
    }


def spec_mounts() -> list[Any]:
    from hera.workflows import models as m

    return [m.VolumeMount(name="spec", mount_path=SPEC_MOUNT, read_only=True),
            m.VolumeMount(name="tmp", mount_path="/tmp")]


def container_security() -> Any:
    from hera.workflows import models as m

    return m.SecurityContext(allow_privilege_escalation=False, read_only_root_filesystem=True,
                             capabilities=m.Capabilities(drop=["ALL"]))


def compute(cpu: str | None, memory: str | None, gpus: int, pool: Any) -> Any:
    from hera.workflows import models as m

    amounts = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    limits = dict(amounts)
    if gpus and pool is not None:
        limits[pool.resource_name] = str(gpus)
    return m.ResourceRequirements(requests=amounts or None, limits=limits or None)


def _cron_workflow(model: ResolvedModel) -> dict[str, Any]:
    from hera.workflows import CronWorkflow
    from hera.workflows import models as m

    cron = CronWorkflow(
        name=model.names["trainingSchedule"],
        schedules=[model.spec.training.schedule],
        timezone="UTC",
        concurrency_policy="Forbid",
        starting_deadline_seconds=3600,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=5,
        workflow_template_ref=m.WorkflowTemplateRef(name=model.names["trainingTemplate"]),
    )
    body = cron.to_dict()
    body["metadata"] = workflow_metadata(model, model.names["trainingSchedule"], "training", 1)  # after its template
    return body
