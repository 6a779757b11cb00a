"""What Feast needs in one environment, as text: `features/feature_store.yaml` and `features/definitions.json`.

feature_store.yaml is Feast's own configuration (its RepoConfig): the environment's project, registry,
and offline and online stores from platform.yaml. definitions.json holds every team's entities,
sources, feature views and services (specs/<team>/features.yaml), each with its owning team, sorted
by name; the runtime makes them Feast objects and applies them (runtime/features/definitions.py), so
nothing binary is committed and no team's Python runs to define them. Argo CD applies neither file:
they are not Kubernetes objects. Beside them, each online view's materialisation CronWorkflow
(renderers/materialize.py).
"""

from __future__ import annotations

from typing import Any

from compiler.spec.features import Features
from compiler.spec.names import feast_project
from compiler.spec.paths import OUTPUT_DIR, PLATFORM_FILE, WORK_DIR
from compiler.spec.platform import Environment
from compiler.spec.resolved import ResolvedEnvironment
from renderers import materialize
from renderers.base import Manifest

FOLDER = "features"
# platform.yaml's names of the stores -> Feast's `type` for them
_OFFLINE_TYPES = {"file": "file", "duckdb": "duckdb", "spark": "spark", "bigquery": "bigquery",
                  "snowflake": "snowflake.offline"}
_KINDS = ("entities", "sources", "featureViews", "featureServices")


def render(environment: ResolvedEnvironment, features: list[tuple[str, Features]]) -> list[Manifest]:
    """`features`: each team's definitions with the file they came from; nothing where there are none."""
    env, platform = environment.env, environment.platform
    if not features:
        return []
    sources = ", ".join(file for file, _ in features)
    project = feast_project(platform.metadata.name, env.name)
    return [*materialize.cron_workflows(env, platform, features, f"{OUTPUT_DIR}/{env.name}/{FOLDER}"),
            Manifest(f"{FOLDER}/feature_store.yaml", feature_store(env, project), PLATFORM_FILE,
                     kubernetes=False, file_kind="FeastConfig"),
            Manifest(f"{FOLDER}/definitions.json", definitions([f for _, f in features], env.name), sources,
                     format="json", kubernetes=False, file_kind="FeastDefinitions")]


def feature_store(env: Environment, project: str) -> dict[str, Any]:
    """The environment's feature_store.yaml: `project` (compiler/spec/names.feast_project) and its stores."""
    settings = env.feature_store
    online: dict[str, Any] = {"type": settings.online.type, **settings.online.options}
    if settings.online.type == "sqlite":
        online.setdefault("path", f"{WORK_DIR}/feast/{env.name}/online.db")
    return {"project": project, "provider": "local",
            "registry": settings.registry.replace("{env}", env.name),
            "offline_store": {"type": _OFFLINE_TYPES[settings.offline.type], **settings.offline.options},
            "online_store": online, "entity_key_serialization_version": 3}


def definitions(features: list[Features], environment: str) -> dict[str, list[dict[str, Any]]]:
    """Every team's definitions as the environment sees them (each source at its location there)."""
    merged: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _KINDS}
    for team_features in features:
        data = team_features.model_dump(mode="json", by_alias=True, exclude_none=True)["spec"]
        for source in data["sources"]:
            source["uri"] = source.pop("environments").get(environment, {}).get("uri", source["uri"])
        for kind in _KINDS:
            merged[kind] += [{**item, "team": team_features.metadata.team} for item in data[kind]]
    return {kind: sorted(items, key=lambda item: item["name"]) for kind, items in merged.items()}
