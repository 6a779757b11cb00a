"""What each model costs a month, from its rendered objects and platform.yaml's prices per cluster pool.

Per model and environment (HOURS_PER_MONTH = 730):

    serving  = 730 x sum over predictors (main, canary, shadow) of replicas x hourly(pod)
               (the HPA's minimum; `monthly_max` at its maximum)
    training = runs a month of the training CronWorkflow's schedules x the train step's timeout in hours
               x hourly(train pod)                       (the timeout: an upper bound on a run)
    scoring  = runs a month x the score step's deadline in hours x hourly(score pod)
    hourly(pod) = sum over containers of GPUs x gpuHour + CPU cores x cpuCoreHour + memory GiB x memoryGiBHour

A pod is priced by the GPU pool its nodeSelector names, else by the cluster's own prices; requests are
used, limits where a container has no requests. Short platform steps (evaluate, gate, register) and the
monitoring jobs are not counted. Costs come from the rendered objects, so `mlplat plan` prices a base and
a head alike and a cost change shows where the objects change. Nothing here loads the renderers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from compiler.pipeline.plan_files import Plan, PlannedFile
from compiler.spec.platform import Cluster, Platform, Prices
from compiler.spec.schedules import HOURS_PER_MONTH, runs_per_month
from compiler.spec.types import quantity_value

_PRICED_KINDS = ("SeldonDeployment", "CronWorkflow", "WorkflowTemplate")
_STEPS = {"training": "train", "scoring": "score"}  # the step that runs the model's own code


@dataclass(frozen=True)
class Workload:
    environment: str
    team: str
    model: str
    kind: str  # serving, training or scoring
    what: str  # how it is priced, in words: "30.4 runs x 4h x (2 GPUs h100, 16 CPU, 128 GiB)"
    monthly: float | None  # None: its pool has no prices in platform.yaml
    monthly_max: float | None  # serving at the HPA's maximum; the same as monthly for jobs


def workloads(plan: Plan, platform: Platform, models: set[tuple[str, str]] | None = None) -> list[Workload]:
    """Every priced workload of a plan, by environment, team, model and kind; with `models`, only those of
    the (environment, spec path) pairs it names, whose files alone are read."""
    files = [f for f in plan.files if models is None or (f.environment, f.source) in models]
    # A training WorkflowTemplate is most of a plan's YAML: only those a schedule runs are read.
    templates = {(f.environment, f.name): f for f in files if f.kind == "WorkflowTemplate"}
    out: list[Workload] = []
    for planned, body in _bodies(f for f in files if f.kind != "WorkflowTemplate"):
        cluster = platform.cluster(platform.environment(planned.environment).cluster)
        labels = body["metadata"].get("labels", {})
        owner = (planned.environment, labels.get("mlplat.io/team", ""), labels.get("mlplat.io/model", ""))
        if body["kind"] == "SeldonDeployment":
            out.append(_serving(owner, body, cluster))
        elif body["kind"] == "CronWorkflow" and labels.get("mlplat.io/pipeline") in _STEPS:
            workflow = body["spec"]["workflowSpec"]
            ref = workflow.get("workflowTemplateRef", {}).get("name")
            workflow = _load(templates[(planned.environment, ref)])["spec"] if ref else workflow
            out.append(_job(owner, labels["mlplat.io/pipeline"], body["spec"].get("schedules", []), workflow, cluster))
    return sorted(out, key=lambda w: (w.environment, w.team, w.model, w.kind))


def priced_changes(base: Plan, head: Plan) -> set[tuple[str, str]]:
    """(environment, spec path) of the models whose priced objects differ between two plans."""
    before = {f.path: f.sha256 for f in base.files if f.kind in _PRICED_KINDS}
    after = {f.path: f.sha256 for f in head.files if f.kind in _PRICED_KINDS}
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    return {(f.environment, f.source) for f in (*base.files, *head.files) if f.path in changed}


def _bodies(files: Iterable[PlannedFile]) -> Iterable[tuple[PlannedFile, dict[str, Any]]]:
    for planned in files:
        if planned.kind in _PRICED_KINDS and planned.path.endswith(".yaml"):
            yield planned, _load(planned)


def _load(planned: PlannedFile) -> dict[str, Any]:
    return planned.yaml_data()


def _serving(owner: tuple[str, str, str], body: dict[str, Any], cluster: Cluster) -> Workload:
    low = high = 0.0
    priced, parts = True, []
    for predictor in body["spec"]["predictors"]:
        component = predictor["componentSpecs"][0]
        replicas = predictor.get("replicas", 1)
        most = component.get("hpaSpec", {}).get("maxReplicas", replicas)
        hourly, shape = _pod_hourly(component["spec"], cluster)
        parts.append(f"{predictor['name']} {replicas}" + (f"-{most}" if most != replicas else "") + f" x ({shape})")
        if hourly is None:
            priced = False
            continue
        low += replicas * hourly * HOURS_PER_MONTH
        high += most * hourly * HOURS_PER_MONTH
    what = ", ".join(parts) + f" x {HOURS_PER_MONTH:g} h"
    return Workload(*owner, "serving", what, low if priced else None, high if priced else None)


def _job(owner: tuple[str, str, str], kind: str, schedules: list[str], workflow: dict[str, Any],
         cluster: Cluster) -> Workload:
    step = next(t for t in workflow["templates"] if t["name"] == _STEPS[kind])
    runs = sum(runs_per_month(schedule) for schedule in schedules)
    hours = step.get("activeDeadlineSeconds", 3600) / 3600
    hourly, shape = _pod_hourly({"containers": [step["container"]], "nodeSelector": step.get("nodeSelector", {})},
                                cluster)
    what = f"{runs:.1f} runs x {hours:g} h x ({shape})"
    monthly = None if hourly is None else runs * hours * hourly
    return Workload(*owner, kind, what, monthly, monthly)


def _pod_hourly(pod: dict[str, Any], cluster: Cluster) -> tuple[float | None, str]:
    """A pod's price an hour (None: unpriced) and its shape in words."""
    pool_name, prices = _pool_prices(pod.get("nodeSelector", {}), cluster)
    gpus = cpu = memory = 0.0
    for container in pod["containers"]:
        resources = container.get("resources", {})
        amounts = resources.get("requests") or resources.get("limits") or {}
        cpu += quantity_value(str(amounts.get("cpu", "0")))
        memory += quantity_value(str(amounts.get("memory", "0"))) / 2**30
        gpus += sum(float(v) for k, v in {**resources.get("limits", {}), **amounts}.items() if "gpu" in k)
    shape = ", ".join(filter(None, [f"{gpus:g} GPU{'s' if gpus != 1 else ''} {pool_name}" if gpus else "",
                                    f"{cpu:g} CPU", f"{memory:g} GiB"]))
    if not (cpu or memory or gpus):
        shape = "no requests"
    if prices is None:
        return None, shape + f", unpriced: no prices for {pool_name or 'cluster ' + cluster.name}"
    return gpus * prices.gpu_hour + cpu * prices.cpu_core_hour + memory * prices.memory_gib_hour, shape


def _pool_prices(selector: dict[str, str], cluster: Cluster) -> tuple[str, Prices | None]:
    for name, pool in sorted(cluster.gpu_pools.items()):
        if pool.node_selector.items() <= selector.items():
            return name, pool.prices
    return "", cluster.prices
