"""The canary analysis of a pinned candidate (Argo Workflows, built with Hera).

Rendered while an environment's releases.yaml pins a candidate of a model that rolls out as a canary:
a `CronWorkflow` `<model>-canary` (label `mlplat.io/pipeline: canary`) runs `python -m runtime canary`
every `rollout.analysis.interval`. The step clones the platform repository, compares canary and main
in Prometheus (error ratio, latency over the SLO, prediction distribution, live quality where labels
exist; runtime/canary/decide.py states the test), and, when the evidence decides, proposes the next
traffic step, the candidate as main, or its removal as a commit on an `mlplat/*` branch. Intervals under
a minute run as several rounds of one workflow each minute, since cron's unit is the minute.

The pod needs no Kubernetes API beyond reporting its own step: its Role only lets Argo's executor
write WorkflowTaskResults. Its power is the push token of `repository.pushSecret`, which may push
`mlplat/*` branches and nothing else; without one the analysis decides and reports, and a person
applies the decision with `mlplat canary --commit`.
"""

from __future__ import annotations

from typing import Any

from compiler.spec.resolved import ResolvedModel
from compiler.spec.types import duration_seconds
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
from renderers.base import Manifest, model_manifest

PIPELINE = "canary"
RESOURCES = {"cpu": "250m", "memory": "512Mi"}  # git, a few PromQL queries and one recompile
DECISION_FILE = f"{OUTPUTS}/decision"


def render(model: ResolvedModel) -> list[Manifest]:
    serving, release = model.spec.serving, model.release
    if serving is None or release is None or release.candidate is None or serving.rollout.strategy != "canary":
        return []
    return [model_manifest(model, body) for body in (*rbac(model), _cron_workflow(model))]


def schedule(interval: str) -> tuple[str, int, int]:
    """(cron schedule, rounds per run, seconds between rounds) of an analysis interval the spec rules allow."""
    seconds = duration_seconds(interval)
    if seconds < 60:
        return "* * * * *", 60 // seconds, seconds
    minutes = seconds // 60
    every = {1: "* * * * *", 60: "0 * * * *"}.get(minutes, f"*/{minutes} * * * *")
    return every, 1, seconds


def _cron_workflow(model: ResolvedModel) -> dict[str, Any]:
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
        **pod_settings(model),
    ) as cron:
        analyse = Container(
            name="analyse",
            image=model.runtime_image,
            command=["python"],
            args=args,
            env=env,
            volume_mounts=spec_mounts(),
            security_context=container_security(),
            resources=compute(RESOURCES["cpu"], RESOURCES["memory"], 0, None),
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


def rbac(model: ResolvedModel) -> list[dict[str, Any]]:
    """The analysis pod's ServiceAccount, Role and RoleBinding: it reports its own result and nothing else."""
    return step_rbac(model, model.names["canaryAnalyst"], PIPELINE, [])
