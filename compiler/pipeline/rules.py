"""Rules within one resolved spec that types alone cannot express (fields that depend on each other)."""

from __future__ import annotations

import difflib

from compiler.pipeline.errors import SpecError
from compiler.pipeline.resolve import SpecLocator
from compiler.runtime_contract import duration_seconds
from compiler.spec.model import BUILTIN_METRICS, PLATFORM_METRICS, Rollout
from compiler.spec.resolved import ResolvedModel


def spec_rules(model: ResolvedModel, where: SpecLocator) -> list[SpecError]:
    spec = model.spec
    errors: list[SpecError] = []
    training = spec.training
    if (training.command is None) == (training.entrypoint is None):
        errors.append(where.error(("training",), "give exactly one of command or entrypoint",
                                  "command runs a program; entrypoint calls package.module:function"))
    sections = [("training", training.resources)]
    if spec.serving:
        sections.append(("serving", spec.serving.resources))
    for section, resources in sections:
        if resources.gpus > 0 and resources.gpu_type is None:
            errors.append(where.error((section, "resources", "gpus"),
                                      f"{resources.gpus} GPU(s) requested but no gpuType",
                                      "add gpuType, e.g. gpuType: h100"))
    errors += _data_rules(model, where)
    judged = set(BUILTIN_METRICS[spec.task]) | set(spec.evaluation.logged_metrics) | set(PLATFORM_METRICS)
    for index, gate in enumerate(spec.evaluation.gates):
        path = ("evaluation", "gates", index)
        if gate.metric not in judged:
            built_in = ", ".join(BUILTIN_METRICS[spec.task]) or "none"
            close = difflib.get_close_matches(gate.metric, sorted(judged), n=1)
            errors.append(where.error((*path, "metric"), f"no {spec.task} run has a metric {gate.metric!r}: the "
                                      f"evaluate step computes {built_in}",
                                      (f"did you mean {close[0]!r}? " if close else "")
                                      + "if the training code logs it, declare it in evaluation.loggedMetrics"))
        if gate.min is None and gate.max is None and gate.max_regression_vs_champion is None:
            errors.append(where.error(path, f"gate on {gate.metric!r} sets no condition",
                                      "add min, max or maxRegressionVsChampion"))
        if gate.min is not None and gate.max is not None and gate.min > gate.max:
            errors.append(where.error((*path, "min"), f"min {gate.min} is greater than max {gate.max}"))
    if spec.serving:
        replicas, rollout = spec.serving.replicas, spec.serving.rollout
        if replicas.min > replicas.max:
            errors.append(where.error(("serving", "replicas", "min"),
                                      f"min replicas {replicas.min} is greater than max {replicas.max}"))
        errors += _rollout_rules(rollout, where)
    if spec.monitoring.drift and spec.serving is None:
        errors.append(where.error(("monitoring", "drift"), "drift monitoring needs a served model",
                                  "add a serving section or remove monitoring.drift"))
    return errors


def _rollout_rules(rollout: Rollout, where: SpecLocator) -> list[SpecError]:
    errors = []
    path = ("serving", "rollout")
    if rollout.strategy == "canary" and rollout.canary_traffic is None and not rollout.steps:
        errors.append(where.error((*path, "strategy"), "a canary rollout needs canaryTraffic or steps",
                                  "add steps: [{traffic: 5, bake: 10m}, {traffic: 50, bake: 30m}] "
                                  "or canaryTraffic: 10"))
    if rollout.canary_traffic is not None and rollout.steps:
        errors.append(where.error((*path, "canaryTraffic"), "canaryTraffic and steps both set the canary's share",
                                  "keep one: steps for a progressive canary, canaryTraffic for one step"))
    for field, value in (("canaryTraffic", rollout.canary_traffic), ("steps", rollout.steps)):
        if rollout.strategy != "canary" and value is not None:
            errors.append(where.error((*path, field),
                                      f"{field} only applies to the canary strategy, not {rollout.strategy!r}",
                                      f"remove {field} or set strategy: canary"))
    shares = [step.traffic for step in rollout.steps or []]
    for index in range(1, len(shares)):
        if shares[index] <= shares[index - 1]:
            errors.append(where.error((*path, "steps", index, "traffic"),
                                      f"step {index} takes {shares[index]}% after {shares[index - 1]}%",
                                      "list the steps in increasing order of traffic"))
    interval = duration_seconds(rollout.analysis.interval)
    if not (10 <= interval < 60 and 60 % interval == 0) and not (
            interval >= 60 and interval % 60 == 0 and 60 % (interval // 60) == 0):
        errors.append(where.error((*path, "analysis", "interval"),
                                  f"an analysis every {rollout.analysis.interval} cannot be scheduled",
                                  "use 10s, 15s, 20s or 30s, or whole minutes that divide an hour (1m, 5m, 15m)"))
    deadline = rollout.analysis.deadline
    if deadline is not None and not 1 <= duration_seconds(deadline) < interval:
        errors.append(where.error((*path, "analysis", "deadline"),
                                  f"a deadline of {deadline} does not fit an analysis every "
                                  f"{rollout.analysis.interval}",
                                  "give each analysis at least 1s and less than its interval, e.g. half of it"))
    return errors


def _data_rules(model: ResolvedModel, where: SpecLocator) -> list[SpecError]:
    """Ranking is evaluated per query, so it needs the query column; no other task has one."""
    data = model.spec.training.data
    if model.spec.task == "ranking" and data.group is None:
        return [where.error(("training", "data"), "a ranking model needs training.data.group, the query id column",
                            "add group: query_id (rows of one query are ranked together; NDCG is averaged "
                            "over queries)")]
    if model.spec.task != "ranking" and data.group is not None:
        return [where.error(("training", "data", "group"), f"group only applies to ranking, not {model.spec.task}",
                            "remove it; every column but the target is a feature")]
    return []
