"""`mlplat plan --base REF`: what a change does to each environment, resource by resource, in ML terms.

+ create, ~ change, - delete; a changed resource lists what changed as people talk about models:
served version and traffic share, GPU type and count, gate thresholds, drift thresholds, schedules,
features and the models they affect (feature_diff.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compiler.gitops import feature_diff
from compiler.gitops.change_detail import Detail, more
from compiler.pipeline.plan_files import Plan, PlannedFile
from renderers import markdown

MAX_GENERIC = 8


@dataclass(frozen=True)
class Change:
    action: str  # "+", "~" or "-"
    environment: str
    kind: str
    name: str
    path: str
    details: tuple[Detail, ...] = ()


def diff_plans(base: Plan, head: Plan) -> list[Change]:
    before, after = base.by_path(), head.by_path()
    changes = []
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old is not None and new is not None and old.sha256 == new.sha256:
            continue
        current = new if new is not None else old
        assert current is not None  # the path is in one plan at least
        details: Sequence[Detail]
        if old is None:
            action, details = "+", _describe_new(_body(current))
        elif new is None:
            action, details = "-", ()
        elif current.kind == "FeastDefinitions":
            files = [f for f in (*base.files, *head.files) if f.environment == current.environment]
            action, details = "~", feature_diff.describe(_body(old), _body(new), feature_diff.service_users(files))
        else:
            action, details = "~", _describe_change(current.kind, _body(old), _body(new))
        changes.append(Change(action, current.environment, current.kind, current.name, path, tuple(details)))
    return changes


def _body(planned: PlannedFile) -> Any:
    if planned.path.endswith(".yaml"):
        return planned.yaml_data()
    if planned.path.endswith(".json"):
        return json.loads(planned.content)
    return planned.content.decode()


# -- describing -------------------------------------------------------------------------------------
def _describe_new(body: Any) -> list[Detail]:
    if not isinstance(body, dict):
        return []
    if body.get("kind") == "SeldonDeployment":
        return [Detail(p["name"], after=_predictor_summary(p)) for p in body["spec"]["predictors"]]
    if body.get("kind") == "WorkflowTemplate":
        return [Detail("train on", after=_gpu_summary(_template(body, "train")), field=False)]
    if body.get("kind") == "CronWorkflow":
        return [Detail("schedule", after=", ".join(body["spec"].get("schedules", [])), field=False)]
    return []


def _describe_change(kind: str, old: Any, new: Any) -> list[Detail]:
    describe = {"SeldonDeployment": _seldon, "WorkflowTemplate": _workflow, "ConfigMap": _config_map,
                "CronWorkflow": _cron}.get(kind)
    if isinstance(old, str) and isinstance(new, str):
        return _text(old, new)
    details = describe(old, new) if describe else []
    return details or _generic(old, new)


def _text(old: str, new: str) -> list[Detail]:
    """Changed lines of a text file (a model card), as -/+ pairs."""
    import difflib

    changed = [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    lines = [Detail(f"{line[0]} {line[1:].strip()}") for line in changed[:MAX_GENERIC]]  # whole: a cut hides the change
    return lines + ([more(len(changed) - MAX_GENERIC, "lines")] if len(changed) > MAX_GENERIC else [])


def _predictor_summary(predictor: dict[str, Any]) -> str:
    version = predictor["componentSpecs"][0]["metadata"]["labels"].get("mlplat.io/version", "?")
    share = "shadow (copies of traffic)" if predictor.get("shadow") else f"{predictor.get('traffic', 0)}% traffic"
    return f"version {version}, {share}, {predictor.get('replicas', 1)} replicas"


def _seldon(old: dict, new: dict) -> list[Detail]:
    before = {p["name"]: p for p in old["spec"]["predictors"]}
    after = {p["name"]: p for p in new["spec"]["predictors"]}
    details = []
    for name in sorted(before.keys() | after.keys(), key=["main", "canary", "shadow"].index):
        if name not in before:
            details.append(Detail(f"{name} predictor added", after=_predictor_summary(after[name])))
        elif name not in after:
            details.append(Detail(f"{name} predictor removed", note=f" (was {_predictor_summary(before[name])})"))
        elif _predictor_summary(before[name]) != _predictor_summary(after[name]):
            details.append(Detail(name, _predictor_summary(before[name]), _predictor_summary(after[name])))
    old_gpu = _gpu_summary(old["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0])
    new_gpu = _gpu_summary(new["spec"]["predictors"][0]["componentSpecs"][0]["spec"]["containers"][0])
    if old_gpu != new_gpu:
        details.append(Detail("serving on", old_gpu, new_gpu, field=False))
    return details


def _template(body: dict, name: str) -> dict:
    return next(t for t in body["spec"]["templates"] if t["name"] == name)


def _gpu_summary(step: dict) -> str:
    container = step.get("container", step)
    limits = container.get("resources", {}).get("limits", {})
    gpus = {k: v for k, v in limits.items() if "gpu" in k}
    selector = step.get("nodeSelector", {})
    pool = next((v for k, v in sorted(selector.items()) if k.endswith("/gpu")), None)
    if not gpus:
        return f"CPU ({limits.get('cpu', '?')} cores, {limits.get('memory', '?')})"
    count = next(iter(gpus.values()))
    return f"{count} GPU{'s' if count != '1' else ''}" + (f" ({pool})" if pool else "")


def _workflow(old: dict, new: dict) -> list[Detail]:
    details = []
    before, after = _template(old, "train"), _template(new, "train")
    if _gpu_summary(before) != _gpu_summary(after):
        details.append(Detail("train on", _gpu_summary(before), _gpu_summary(after), field=False))
    if before["container"]["image"] != after["container"]["image"]:
        details.append(Detail("training image", before["container"]["image"], after["container"]["image"], field=False))
    if before.get("activeDeadlineSeconds") != after.get("activeDeadlineSeconds"):
        details.append(Detail("timeout", f"{before.get('activeDeadlineSeconds')}s",
                              f"{after.get('activeDeadlineSeconds')}s", field=False))
    return details


def _cron(old: dict, new: dict) -> list[Detail]:
    return [Detail("schedule", ", ".join(old["spec"]["schedules"]), ", ".join(new["spec"]["schedules"]), field=False)] \
        if old["spec"].get("schedules") != new["spec"].get("schedules") else []


def _config_map(old: dict, new: dict) -> list[Detail]:
    old_data, new_data = old.get("data", {}), new.get("data", {})
    if "model.json" in old_data and "model.json" in new_data:
        return _resolved_spec(old, new)
    dashboards = [key for key in sorted(old_data.keys() & new_data.keys()) if key.startswith("mlplat-dashboard-")]
    return [line for key in dashboards for line in _dashboard(json.loads(old_data[key]), json.loads(new_data[key]))]


def _dashboard(old: dict, new: dict) -> list[Detail]:
    """Changed panels, named by their row (the model) and title, with the fields that changed."""
    old_panels, new_panels = old.get("panels", []), new.get("panels", [])
    if len(old_panels) != len(new_panels):
        return [Detail("dashboard panels", str(len(old_panels)), str(len(new_panels)))]
    lines: list[Detail] = []
    row = ""
    for before, after in zip(old_panels, new_panels, strict=True):
        if after.get("type") == "row":
            row = after["title"]
        if before != after:
            name = f"row {before['title']}" if after.get("type") == "row" else f"panel {row} > {after['title']}"
            lines += [dataclasses.replace(line, subject=f"{name}: {line.subject}") for line in _generic(before, after)]
    return lines[:MAX_GENERIC] + ([more(len(lines) - MAX_GENERIC, "")] if len(lines) > MAX_GENERIC else [])


def _resolved_spec(old: dict, new: dict) -> list[Detail]:
    old_doc, new_doc = json.loads(old["data"]["model.json"]), json.loads(new["data"]["model.json"])
    if {**old_doc, "specHash": ""} == {**new_doc, "specHash": ""}:
        return [Detail(f"spec hash only ({_show(old_doc['specHash'])} -> {_show(new_doc['specHash'])})",
                       note=": the spec changed for another environment")]
    before, after = old_doc["spec"], new_doc["spec"]
    details = []
    for section in ("training", "serving"):
        old_part, new_part = before.get(section) or {}, after.get(section) or {}
        for field in ("resources", "replicas"):
            if old_part.get(field) != new_part.get(field):
                details.append(Detail(f"{section} {field}", _show(old_part.get(field)), _show(new_part.get(field))))
    old_gates, new_gates = _gates(before), _gates(after)
    for key in sorted(old_gates.keys() | new_gates.keys()):
        metric, condition = key
        if old_gates.get(key) != new_gates.get(key):
            details.append(Detail(f"gate {metric} {condition}", _show(old_gates.get(key)), _show(new_gates.get(key))))
    old_drift = before.get("monitoring", {}).get("drift") or {}
    new_drift = after.get("monitoring", {}).get("drift") or {}
    for field in ("threshold", "method", "features", "onDrift", "schedule"):
        if old_drift.get(field) != new_drift.get(field):
            details.append(Detail(f"drift {field}", _show(old_drift.get(field)), _show(new_drift.get(field))))
    for split in ("train", "eval"):
        old_data = before["training"]["data"][split]["version"]
        new_data = after["training"]["data"][split]["version"]
        if old_data != new_data:
            details.append(Detail(f"{split} data version", old_data, new_data, field=False))
    old_hp, new_hp = before["training"].get("hyperparameters", {}), after["training"].get("hyperparameters", {})
    for name in sorted(old_hp.keys() | new_hp.keys()):
        if old_hp.get(name) != new_hp.get(name):
            details.append(Detail(f"hyperparameter {name}", _show(old_hp.get(name)), _show(new_hp.get(name))))
    old_rollout = (before.get("serving") or {}).get("rollout")
    new_rollout = (after.get("serving") or {}).get("rollout")
    if old_rollout != new_rollout:
        details.append(Detail("rollout", _show(old_rollout), _show(new_rollout), field=False))
    return details


def _gates(spec: dict) -> dict[tuple[str, str], float]:
    out = {}
    for gate in spec.get("evaluation", {}).get("gates", []):
        for condition in ("min", "max", "maxRegressionVsChampion"):
            if gate.get(condition) is not None:
                out[(gate["metric"], condition)] = gate[condition]
    return out


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]  # a digest: the prefix identifies it
    if isinstance(value, str) and (len(value) > 80 or "\n" in value):
        return value.replace("\n", " ")[:77] + "..."
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _generic(old: Any, new: Any) -> list[Detail]:
    before, after = _flatten(old), _flatten(new)
    changed = [key for key in sorted(before.keys() | after.keys()) if before.get(key) != after.get(key)]
    lines = [Detail(key, _show(before.get(key)), _show(after.get(key))) for key in changed[:MAX_GENERIC]]
    if len(changed) > MAX_GENERIC:
        lines.append(more(len(changed) - MAX_GENERIC, "fields"))
    return lines


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


# -- output -----------------------------------------------------------------------------------------
def format_text(changes: list[Change], base: str) -> str:
    if not changes:
        return f"no changes against {base}\n"
    lines = []
    for env in _environments(changes):
        lines.append(f"{env}:")
        for change in (c for c in changes if c.environment == env):
            lines.append(f"  {change.action} {change.kind}/{change.name}  ({change.path})")
            lines += [f"      {detail.text()}" for detail in change.details]
    counts = {a: sum(1 for c in changes if c.action == a) for a in "+~-"}
    lines.append(f"plan against {base}: {counts['+']} to create, {counts['~']} to change, {counts['-']} to delete")
    return "\n".join(lines) + "\n"


def format_markdown(changes: list[Change], base: str) -> str:
    counts = {a: sum(1 for c in changes if c.action == a) for a in "+~-"}
    out = [f"### mlplat plan against `{base}`", "",
           f"**{counts['+']}** to create, **{counts['~']}** to change, **{counts['-']}** to delete", ""]
    if not changes:
        out.append("No rendered resource changes.")
    for env in _environments(changes):
        out += [f"#### {env}", "", "| | resource | what changes |", "|---|---|---|"]
        for change in (c for c in changes if c.environment == env):
            what = "<br>".join(markdown.code(d.text()) for d in change.details) or "&nbsp;"
            out.append(f"| {change.action} | `{change.kind}/{change.name}` | {what} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _environments(changes: list[Change]) -> list[str]:
    seen: list[str] = []
    for change in changes:
        if change.environment not in seen:
            seen.append(change.environment)
    return seen
