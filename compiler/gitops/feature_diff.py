"""`mlplat plan`'s account of a change to an environment's feature definitions (features/definitions.json):
each feature added, removed or retyped, each view's TTL or source changed, each service's selection
changed, and the models of that environment whose feature service is touched by it.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.gitops.change_detail import Detail
from compiler.pipeline.plan_files import PlannedFile

Features = dict[tuple[str, str], str]  # (view, feature) -> dtype


def service_users(files: list[PlannedFile]) -> dict[str, set[str]]:
    """Feature service -> the models whose resolved spec (the <model>-spec ConfigMap) trains on it."""
    users: dict[str, set[str]] = {}
    for planned in files:
        if planned.kind != "ConfigMap" or not planned.name.endswith("-spec"):
            continue
        if b"featureService" not in planned.content:  # most models: no YAML to parse
            continue
        data = planned.yaml_data().get("data") or {}
        if "model.json" not in data:
            continue
        resolved = json.loads(data["model.json"])
        service = resolved["spec"]["training"]["data"].get("featureService")
        if service:
            users.setdefault(service, set()).add(resolved["name"])
    return users


def describe(old: dict[str, Any], new: dict[str, Any], users: dict[str, set[str]]) -> list[Detail]:
    """One detail per feature-level change, each with the models it affects."""
    served = _served_by(old)  # (view, feature) -> the services offering it, before or after
    for pair, services in _served_by(new).items():
        served.setdefault(pair, set()).update(services)

    def affects(view: str, feature: str | None = None) -> str:
        services = {s for (v, f), offered in served.items() if v == view and feature in (None, f) for s in offered}
        models = sorted({m for s in services for m in users.get(s, ())})
        return f" (affects {', '.join(models)})" if models else ""

    before, after = _features(old), _features(new)
    lines: list[Detail] = []
    for view, feature in sorted(before.keys() | after.keys()):
        was, now = before.get((view, feature)), after.get((view, feature))
        if was == now:
            continue
        subject, note = f"feature {view}:{feature}", affects(view, feature)
        lines.append(Detail(f"{subject} {'added' if was is None else 'removed'}", note=note)
                     if was is None or now is None else Detail(subject, was, now, field=False, note=note))
    old_views, new_views = _by_name(old, "featureViews"), _by_name(new, "featureViews")
    old_sources, new_sources = _by_name(old, "sources"), _by_name(new, "sources")
    for name in sorted(old_views.keys() & new_views.keys()):
        old_view, new_view = old_views[name], new_views[name]
        if old_view["ttl"] != new_view["ttl"]:
            lines.append(Detail(f"view {name} ttl", old_view["ttl"], new_view["ttl"], field=False, note=affects(name)))
        was_uri = old_sources.get(old_view["source"], {}).get("uri")
        now_uri = new_sources.get(new_view["source"], {}).get("uri")
        if was_uri != now_uri:
            lines.append(Detail(f"view {name} reads", after=str(now_uri), field=False,
                                note=f" (was {was_uri}){affects(name)}"))
    old_services, new_services = _by_name(old, "featureServices"), _by_name(new, "featureServices")
    for name in sorted(old_services.keys() | new_services.keys()):
        was_served, now_served = _selection(old_services.get(name), old), _selection(new_services.get(name), new)
        if was_served == now_served:
            continue
        models = sorted(users.get(name, ()))
        what = ", ".join([f"+{v}:{f}" for v, f in now_served if (v, f) not in was_served]
                         + [f"-{v}:{f}" for v, f in was_served if (v, f) not in now_served]) or "order"
        state = "added" if name not in old_services else "removed" if name not in new_services else what
        lines.append(Detail(f"service {name} {state}", note=f" (affects {', '.join(models)})" if models else ""))
    return lines


def _by_name(definitions: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in definitions.get(kind, [])}


def _features(definitions: dict[str, Any]) -> Features:
    return {(view["name"], f["name"]): f["dtype"] for view in definitions.get("featureViews", [])
            for f in view["features"]}


def _selection(service: dict[str, Any] | None, definitions: dict[str, Any]) -> list[tuple[str, str]]:
    """A service's (view, feature) pairs, in order; a selection without a feature list is its whole view."""
    if service is None:
        return []
    views = _by_name(definitions, "featureViews")
    pairs = []
    for selection in service["features"]:
        names = selection.get("features") or [f["name"] for f in views.get(selection["view"], {}).get("features", [])]
        pairs += [(selection["view"], name) for name in names]
    return pairs


def _served_by(definitions: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    offered: dict[tuple[str, str], set[str]] = {}
    for service in definitions.get("featureServices", []):
        for pair in _selection(service, definitions):
            offered.setdefault(pair, set()).add(service["name"])
    return offered
