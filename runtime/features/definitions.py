"""Feast objects from the rendered feature definitions, and a FeatureStore from rendered settings.

The definitions are the data of the teams' specs/<team>/features.yaml (validated by the compiler),
merged into one document per environment: {"entities": [...], "sources": [...], "featureViews":
[...], "featureServices": [...]}, in the spec language's camelCase. Nothing here is read from a
Python feature repository, so applying them runs no code a team wrote.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from compiler.runtime_contract import duration_seconds

EXAMPLE_DATA = ".mlplat/example-data"  # where example:// sources are written, in the checkout (git ignores it)


def feast_objects(definitions: dict[str, Any], repo: Path) -> list[Any]:
    """Entities, sources, feature views and feature services, in the order Feast's apply takes them;
    example:// sources are generated into `repo`'s EXAMPLE_DATA folder."""
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast import types as feast_types

    value_types = {"int64": ValueType.INT64, "string": ValueType.STRING}
    dtypes = {"int32": feast_types.Int32, "int64": feast_types.Int64, "float32": feast_types.Float32,
              "float64": feast_types.Float64, "string": feast_types.String, "bool": feast_types.Bool,
              "bytes": feast_types.Bytes, "unix_timestamp": feast_types.UnixTimestamp}
    entities = {e["name"]: Entity(name=e["name"], join_keys=[e["joinKey"]], value_type=value_types[e.get(
        "valueType", "int64")], description=e["description"], tags=_tags(e)) for e in definitions.get("entities", [])}
    sources = {s["name"]: FileSource(name=s["name"], path=_path(s["uri"], repo), timestamp_field=s.get(
        "timestampField", "event_timestamp"), created_timestamp_column=s.get("createdTimestampField") or "",
        description=s["description"]) for s in definitions.get("sources", [])}
    views = {v["name"]: FeatureView(
        name=v["name"], entities=[entities[name] for name in v["entities"]],
        ttl=timedelta(seconds=duration_seconds(v["ttl"])),
        schema=[Field(name=f["name"], dtype=dtypes[f["dtype"]], description=f["description"]) for f in v["features"]],
        source=sources[v["source"]], online=v.get("online", True), description=v["description"], tags=_tags(v))
        for v in definitions.get("featureViews", [])}
    services = [FeatureService(
        name=s["name"], description=s["description"], tags=_tags(s),
        features=[views[p["view"]][p["features"]] if p.get("features") else views[p["view"]] for p in s["features"]])
        for s in definitions.get("featureServices", [])]
    return [*entities.values(), *sources.values(), *views.values(), *services]


def feature_store(settings: dict[str, Any], repo: Path) -> Any:
    """A FeatureStore from the rendered feature_store.yaml's data (project, registry, stores); relative
    paths in it are read from `repo`."""
    from feast import FeatureStore
    from feast.repo_config import RepoConfig

    settings = {**settings, "registry": _local(settings.get("registry"), repo)}
    if isinstance(settings.get("online_store"), dict) and "path" in settings["online_store"]:
        settings["online_store"] = {**settings["online_store"], "path": _local(settings["online_store"]["path"], repo)}
    config = RepoConfig(**{"provider": "local", "entity_key_serialization_version": 3, **settings,
                           "repo_path": str(repo)})
    return FeatureStore(config=config)


def _local(path: Any, repo: Path) -> Any:
    """A local file's path made absolute against `repo` (Feast would read it from the current folder), its
    folder made (Feast does not make it); URIs (s3://, gs://) as they are."""
    if not isinstance(path, str) or "://" in path:
        return path
    absolute = (repo / path).resolve()
    absolute.parent.mkdir(parents=True, exist_ok=True)
    return str(absolute)


def _tags(item: dict[str, Any]) -> dict[str, str]:
    """The owning team, as a Feast tag: who to ask about an object in the registry."""
    return {"mlplat.io/team": item["team"]} if "team" in item else {}


def _path(uri: str, repo: Path) -> str:
    """A file:// URI as the local path Feast's file source reads, an example:// table as the file generated
    for it; other schemes (s3://, gs://) as given."""
    if uri.startswith("example://"):
        from runtime.data import example

        return str(example.parquet_path(uri.removeprefix("example://"), (repo / EXAMPLE_DATA).resolve()))
    if uri.startswith("file://"):
        path = uri.removeprefix("file://")
        # validation refuses these (compiler/spec/data_uris.py); a definitions file made elsewhere is not trusted
        if not path.startswith("/") or any(part in ("", ".", "..") for part in path[1:].split("/")):
            raise ValueError(f"{uri}: a file source names an absolute path without '.', '..' or empty parts")
        return path
    return uri


def load_settings(path: Path) -> dict[str, Any]:
    """A rendered feature_store.yaml, its ${ENV_VAR} references (secrets: a Redis connection string)
    filled in from this process's environment, as Feast's own loader does."""
    import yaml

    return yaml.safe_load(os.path.expandvars(path.read_text("utf-8")))
