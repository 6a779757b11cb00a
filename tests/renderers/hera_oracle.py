"""The Argo objects as Hera builds them: renderers/argo.py, canary.py and monitor_job.py as they were
before they built plain data (Hera cost about 6 ms per WorkflowTemplate and 1.1 s to import). The
tests compare the renderers with this, object by object and key by key, so that the plain data stays
what Hera, and Argo's own models behind it, would write."""

from __future__ import annotations

from typing import Any

from compiler.runtime_contract import duration_seconds
from compiler.spec.emit import dump_yaml
from compiler.spec.resolved import ResolvedModel
from renderers.argo import _LIGHT, REPORT, proposes
from renderers.canary import DECISION_FILE, PIPELINE, schedule
from renderers.canary import RESOURCES as CANARY_RESOURCES
from renderers.monitor_job import DEADLINE_SECONDS, MonitorJob
from renderers.monitor_job import RESOURCES as MONITOR_RESOURCES
from renderers.monitor_job import _training_workflow as training_workflow
from renderers.workflow_pod import CODE_PATH, OUTPUTS, RUNTIME_USER, SPEC_MOUNT, workflow_metadata


def workflow_template(model: ResolvedModel) -> dict[str, Any]:
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
        on_exit=REPORT,
        **pod_settings(model, "training"),
    ) as workflow:
        gpus = [Env(name="MLPLAT_GPUS", value=str(resources.gpus))] if resources.gpus else []
        train = step(
            "train", model.training_image, compute(resources.cpu, resources.memory, resources.gpus, pool),
            [code_artifact(model, requested)], code_env + [Env(name="MLPLAT_GIT_COMMIT", value=requested), *gpus],
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
        refused = step("refused", runtime_image, light, [run_id], [])
        Container(name=REPORT, image=runtime_image, command=["python"],
                  args=["-m", "runtime", "training-report", "--status", "{{workflow.status}}", "--workflow",
                        "{{workflow.name}}"],
                  env=[*env, Env(name="MLPLAT_PUSHGATEWAY", value=model.env.monitoring.pushgateway)],
                  volume_mounts=mounts, security_context=hardened, resources=light)
        propose = propose_step(model, env, light) if proposes(model) else None
        run_id_value = "{{tasks.train.outputs.parameters.run-id}}"
        with DAG(name="pipeline"):
            t_train = train(name="train")
            t_eval = evaluate(name="evaluate", arguments={
                "run-id": run_id_value, "git-commit": "{{tasks.train.outputs.parameters.git-commit}}"})
            t_gate = gate(name="gate", arguments={"run-id": run_id_value})
            t_train >> t_eval >> t_gate
            # register acts on the gate's recorded decision: champion if passed, challenger if failed.
            register(name="register", arguments={"run-id": run_id_value}, depends="gate.Succeeded || gate.Failed")
            refused(name="refused", arguments={"run-id": run_id_value}, depends="register && gate.Failed")
            if propose is not None:
                propose(name="propose", arguments={"version": "{{tasks.register.outputs.parameters.version}}"},
                        depends="register && gate.Succeeded",
                        when="{{tasks.register.outputs.parameters.alias}} == champion")
    body = workflow.to_dict()
    body["metadata"] = workflow_metadata(model, model.names["trainingTemplate"], "training", 0)
    return body


def propose_step(model: ResolvedModel, env: list[Any], compute_: Any) -> Any:
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


def pod_settings(model: ResolvedModel, component: str) -> dict[str, Any]:
    """Workflow-level settings every mlplat workflow shares: non-root pods labelled with the model and
    `component`, the resolved spec and a writable /tmp as volumes, garbage collection."""
    from hera.workflows import models as m

    return {
        "pod_metadata": m.Metadata(labels={**model.labels, "mlplat.io/component": component}),
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


def training_cron_workflow(model: ResolvedModel) -> dict[str, Any]:
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


def canary_cron_workflow(model: ResolvedModel) -> dict[str, Any]:
    from hera.workflows import DAG, Container, CronWorkflow, Env, Parameter, SecretEnv
    from hera.workflows import models as m

    name = model.names["canarySchedule"]
    cron_schedule, rounds, every = schedule(model.spec.serving.rollout.analysis.interval)
    repository = model.repository
    env: list[Any] = [
        Env(name="MLPLAT_SPEC", value=f"{SPEC_MOUNT}/model.json"),
        Env(name="MLPLAT_OUTPUTS", value=OUTPUTS),
        Env(name="MLPLAT_PROMETHEUS", value=model.env.monitoring.prometheus),
        Env(name="MLPLAT_PUSHGATEWAY", value=model.env.monitoring.pushgateway),
        Env(name="MLPLAT_REPOSITORY", value=repository.url),
        Env(name="MLPLAT_BRANCH", value=repository.branch),
        Env(name="HOME", value="/tmp"),
    ]
    args = ["-m", "runtime", PIPELINE, "--model", model.name, "--environment", model.environment,
            "--rounds", str(rounds), "--every", str(every)]
    if repository.push_secret:
        env += [SecretEnv(name="GIT_USERNAME", secret_name=repository.push_secret, secret_key="username"),
                SecretEnv(name="GIT_PASSWORD", secret_name=repository.push_secret, secret_key="password")]
        args.append("--propose")
    with CronWorkflow(
        name=name,
        schedules=[cron_schedule],
        timezone="UTC",
        concurrency_policy="Forbid",  # one analysis at a time: a second would judge the same evidence
        starting_deadline_seconds=60,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=5,
        entrypoint=PIPELINE,
        service_account_name=name,
        **pod_settings(model, PIPELINE),
    ) as cron:
        analyse = Container(
            name="analyse",
            image=model.runtime_image,
            command=["python"],
            args=args,
            env=env,
            volume_mounts=spec_mounts(),
            security_context=container_security(),
            resources=compute(CANARY_RESOURCES["cpu"], CANARY_RESOURCES["memory"], 0, None),
            active_deadline_seconds=rounds * every + 600,
            # A pod lost to the node is retried; Prometheus unreachable (exit 2) is a result: hold, alert.
            retry_strategy=m.RetryStrategy(limit="1", retry_policy="OnError"),
            outputs=[Parameter(name="decision", value_from=m.ValueFrom(path=DECISION_FILE, default="none"))],
        )
        with DAG(name=PIPELINE):
            analyse(name="analyse")
    body = cron.to_dict()
    body["metadata"] = workflow_metadata(model, name, PIPELINE, 1)
    return body


def monitor_cron_workflow(model: ResolvedModel, job: MonitorJob) -> dict[str, Any]:
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
        **pod_settings(model, job.pipeline),
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
            resources=compute(MONITOR_RESOURCES["cpu"], MONITOR_RESOURCES["memory"], 0, None),
            active_deadline_seconds=DEADLINE_SECONDS,
            # Transient pod errors are retried; bad data (exit 2) is a result, and fails the workflow.
            retry_strategy=m.RetryStrategy(limit="2", retry_policy="OnError"),
            outputs=outputs,
        )
        if job.retrain:
            submit = Resource(
                name="retrain",
                action="create",
                manifest=dump_yaml(training_workflow(model, job.pipeline)),
                service_account_name=job.retrainer,
            )
        with DAG(name=job.pipeline):
            found = container(name=step)
            if job.retrain:
                found >> submit(name="retrain", when=f"{{{{tasks.{step}.outputs.parameters.{job.found}}}}} == true")
    body = cron.to_dict()
    body["metadata"] = workflow_metadata(model, job.cron_name, job.pipeline, 1)
    return body
