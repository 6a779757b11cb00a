"""Feature changes that would break a deployed model: a version pinned in some environment was trained
on (and is served with) its feature service's features as they were then, each a view's feature of
one type, which its evidence records. Removing one of them, its view, or changing its type while the
version is pinned is a located error that names every pinned version it would break.

The evidence, not the previous compile's output, is what says what a deployed version needs: it is
committed beside the pin and does not change when a pull request recompiles environments/.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from compiler.pipeline.errors import SpecError

if TYPE_CHECKING:
    from compiler.pipeline.features import LoadedFeatures
    from compiler.pipeline.project import LoadedReleases

_HINT = "keep it until those versions are replaced by ones trained without it (retrain and promote them)"


def deployed_feature_problems(loaded: list[LoadedFeatures], releases: dict[str, LoadedReleases]) -> list[SpecError]:
    """Errors for every feature a pinned version needs that the definitions no longer offer as it was."""
    needs: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # (view, feature, dtype) -> who
    first_pin: dict[str, tuple[LoadedReleases, str]] = {}  # view -> where a version needing it is pinned
    for env in sorted(releases):
        for model, versions in sorted(releases[env].evidence_by_model.items()):
            for version, doc in sorted(versions.items()):
                for feature in doc.data.get("features") or []:
                    needs[(feature["view"], feature["name"], feature["dtype"])].append(f"{model} v{version} ({env})")
                    first_pin.setdefault(feature["view"], (releases[env], model))
    views = {view.name: (item, index, view) for item in loaded
             for index, view in enumerate(item.features.spec.feature_views)}
    errors: list[SpecError] = []
    gone_views: dict[str, list[str]] = defaultdict(list)
    for (view_name, name, dtype), users in sorted(needs.items()):
        found = views.get(view_name)
        if found is None:
            gone_views[view_name] += users
            continue
        item, index, view = found
        position = next((i for i, f in enumerate(view.features) if f.name == name), None)
        where = ("spec", "featureViews", index, "features")
        if position is None:
            errors.append(item.doc.error(where, f"feature {name!r} was removed from view {view_name!r}, but "
                                         f"deployed versions are served with it: {_listed(users)}", _HINT))
        elif view.features[position].dtype != dtype:
            errors.append(item.doc.error((*where, position, "dtype"), f"feature {view_name}:{name} was {dtype} when "
                                         f"deployed versions were trained on it, not {view.features[position].dtype}: "
                                         f"{_listed(users)}", "a new type is a new feature: add it beside the old "
                                         "one under a new name"))
    for view_name, users in sorted(gone_views.items()):
        pinned, model = first_pin[view_name]
        errors.append(pinned.doc.error(("releases", model), f"feature view {view_name!r} is not defined in any "
                                       f"features.yaml, but deployed versions are served with it: "
                                       f"{_listed(sorted(set(users)))}", _HINT, key=True))
    return errors


def _listed(users: list[str]) -> str:
    return ", ".join(users)
