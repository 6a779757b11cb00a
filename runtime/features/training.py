"""The frame a model with a feature service trains or is evaluated on: its entity/label table with the
service's features joined as of each row's event_timestamp, from the environment's offline store.

The service is looked up in a registry of the checkout's own definitions (environments/<env>/features/
at the commit being trained), applied in a temporary folder: a run reads exactly the features of its
commit, whatever the environment's shared registry holds at the time, and never writes to that
registry or to the online store.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from runtime.data import uris
from runtime.features.definitions import feast_objects, feature_store, load_settings
from runtime.features.retrieval import TIMESTAMP, training_frame
from runtime.resolved import ResolvedSpec


def rendered_files(environment: str, start: Path | None = None) -> tuple[Path, Path]:
    """The checkout's environments/<env>/features/ files (feature_store.yaml, definitions.json), found from
    the team's code folder (MLPLAT_CODE_DIR, in the checkout) or the current folder upwards."""
    start = start or Path(os.environ.get("MLPLAT_CODE_DIR") or Path.cwd())
    for folder in (start.resolve(), *start.resolve().parents):
        settings = folder / "environments" / environment / "features" / "feature_store.yaml"
        if settings.is_file():
            return settings, settings.with_name("definitions.json")
    raise uris.DataError(f"no environments/{environment}/features/feature_store.yaml in {start} or above it: "
                         "the checkout has no rendered feature definitions (run mlplat compile)")


def labelled_frame(spec: ResolvedSpec, labels_uri: str) -> tuple[Any, list[dict[str, str]]]:
    """(frame of the service's features plus the target, the service's features as `service_columns` gives
    them) for the label table at the URI."""
    import pandas as pd

    service = spec.feature_service
    if service is None:
        raise uris.DataError(f"{spec.name} names no feature service: its data are plain tables")
    settings_file, definitions_file = rendered_files(spec.environment)
    repo = settings_file.parents[3]
    definitions = json.loads(definitions_file.read_text("utf-8"))
    served, keys = service_columns(definitions, service)
    features = [f["name"] for f in served]
    labels = uris.load(labels_uri, spec.target)
    missing = [c for c in [*keys, TIMESTAMP] if c not in labels.columns]
    if missing:
        raise uris.DataError(f"label table {labels_uri} lacks {', '.join(missing)}: a feature service's labels "
                             f"carry the entity keys and {TIMESTAMP} beside {spec.target!r}")
    labels = labels.assign(**{TIMESTAMP: pd.to_datetime(labels[TIMESTAMP], utc=True)})
    with tempfile.TemporaryDirectory(prefix="mlplat-features-") as tmp:
        own = {**load_settings(settings_file), "registry": str(Path(tmp) / "registry.db"),
               "online_store": {"type": "sqlite", "path": str(Path(tmp) / "online.db")}}
        store = feature_store(own, repo)
        store.apply(feast_objects(definitions, repo))
        frame = training_frame(store, service, labels[[*keys, TIMESTAMP, spec.target]])
    return frame[[*features, spec.target]], served


def service_columns(definitions: dict[str, Any], service: str) -> tuple[list[dict[str, str]], list[str]]:
    """(its features as {view, name, dtype}, entity join keys) of a service in rendered definitions, in its
    order: what a version trained on it records, so that the compiler can refuse changes that break it."""
    views = {v["name"]: v for v in definitions.get("featureViews", [])}
    join_keys = {e["name"]: e["joinKey"] for e in definitions.get("entities", [])}
    found = next((s for s in definitions.get("featureServices", []) if s["name"] == service), None)
    if found is None:
        raise uris.DataError(f"feature service {service!r} is not in the rendered definitions")
    features, keys = [], []
    for selection in found["features"]:
        view = views[selection["view"]]
        dtypes = {f["name"]: f["dtype"] for f in view["features"]}
        for name in selection.get("features") or list(dtypes):
            features.append({"view": view["name"], "name": name, "dtype": dtypes[name]})
        keys += [join_keys[e] for e in view["entities"] if join_keys[e] not in keys]
    return features, keys
