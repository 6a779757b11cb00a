"""The canary analysis of a pinned candidate (Argo Workflows).

Rendered while an environment's releases.yaml pins a candidate of a model that rolls out as a canary:
a `CronWorkflow` `<model>-canary` (label `mlplat.io/pipeline: canary`) runs `python -m runtime canary`
every `rollout.analysis.interval` (default each minute). The step clones the platform repository,
compares canary and main in Prometheus within one deadline (every failed request whatever its status,
latency over the SLO, prediction distribution with failures as an outcome, live quality where labels
exist; runtime/canary/decide.py states the test; doubtful evidence is blind and decides nothing), and,
when the evidence decides, proposes the next
traffic step, the candidate as main, or its removal as a commit on an `mlplat/*` branch. Intervals under
a minute run as several rounds of one workflow each minute, since cron's unit is the minute.

The pod needs no Kubernetes API beyond reporting its own step: its Role only lets Argo's executor
write WorkflowTaskResults. Its power is the push token of `repository.pushSecret`, which may push
`mlplat/*` branches and nothing else; without one the analysis decides and reports, and a person
applies the decision with `mlplat canary --commit`.
"""

from __future__ import annotations

from typing import Any

from compiler.runtime_contract import duration_seconds
from compiler.spec.resolved import ResolvedModel
from renderers import argo_objects as a
from renderers.base import Manifest, model_manifest
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
    name = model.names.canary_schedule
    cron_schedule, rounds, every = schedule(model.serving.rollout.analysis.interval)
    repository = model.repository
    env = [
        a.env("MLPLAT_SPEC", f"{SPEC_MOUNT}/model.json"),
        a.env("MLPLAT_OUTPUTS", OUTPUTS),
        a.env("MLPLAT_PROMETHEUS", model.env.monitoring.prometheus),
        a.env("MLPLAT_PUSHGATEWAY", model.env.monitoring.pushgateway),
        a.env("MLPLAT_REPOSITORY", repository.url),
        a.env("MLPLAT_BRANCH", repository.branch),
        a.env("HOME", "/tmp"),
    ]
    args = ["-m", "runtime", PIPELINE, "--model", model.name, "--environment", model.environment,
            "--rounds", str(rounds), "--every", str(every)]
    if repository.push_secret:
        env += [a.secret_env("GIT_USERNAME", repository.push_secret, "username"),
                a.secret_env("GIT_PASSWORD", repository.push_secret, "password")]
        args.append("--propose")
    analyse = a.container_template(
        "analyse",
        a.container(model.runtime_image, args, env, compute(RESOURCES["cpu"], RESOURCES["memory"], 0, None),
                    spec_mounts(), container_security()),
        activeDeadlineSeconds=rounds * every + 600,
        # A pod lost to the node is retried; Prometheus unreachable (exit 2) is a result: hold, alert.
        retryStrategy=a.retry(1, "OnError"),
        outputs=[a.output("decision", DECISION_FILE, "none")],
    )
    workflow = a.fields(entrypoint=PIPELINE, serviceAccountName=name,
                        templates=[analyse, a.dag_template(PIPELINE, [a.task("analyse")])],
                        **pod_settings(model, PIPELINE))
    # one analysis at a time (the spec's concurrencyPolicy): a second would judge the same evidence
    return a.manifest("CronWorkflow", workflow_metadata(model, name, PIPELINE, 1),
                      a.cron_spec(cron_schedule, 60, workflow))


def rbac(model: ResolvedModel) -> list[dict[str, Any]]:
    """The analysis pod's ServiceAccount, Role and RoleBinding: it reports its own result and nothing else."""
    return step_rbac(model, model.names.canary_analyst, PIPELINE, [])
