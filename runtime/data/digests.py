"""The promotion rule for data identity: a version's data has a content digest, and no `version` label
of a data URI names other contents than an earlier version of the same registered model read under it.

The train step records each split's SHA-256 as the run tag mlplat.data.<split>.sha256 beside its URI
and label (runtime/data/datasets.py, runtime/tracking.py); this module only reads those tags.
"""

from __future__ import annotations

from typing import Any

SPLITS = ("train", "eval")


def _digest_of(tags: dict[str, str], split: str) -> tuple[str, str, str | None]:
    prefix = f"mlplat.data.{split}."
    return tags.get(prefix + "uri", ""), tags.get(prefix + "version", ""), tags.get(prefix + "sha256")


def digest_checks(client: Any, model: str, version: Any) -> list[tuple[str, bool, str]]:
    """(name, passed, detail) of the two checks for `version` (an MLflow ModelVersion of `model`)."""
    tags = dict(client.get_run(version.run_id).data.tags)
    missing = [split for split in SPLITS if not _digest_of(tags, split)[2]]
    checks = [("data digests", not missing,
               f"the run recorded the content digest of its {' and '.join(SPLITS)} data" if not missing else
               f"the run recorded no content digest of its {' and '.join(missing)} data (trained by a runtime "
               "that did not record digests); this environment requires them: retrain the version")]
    if missing:
        return checks
    own = {split: _digest_of(tags, split) for split in SPLITS}  # every sha is there: none is missing
    clashes: list[str] = []
    for other in sorted(client.search_model_versions(f"name='{model}'"), key=lambda v: int(v.version)):
        # The first version read under a label owns it: only a later reuse is refused, so a bad retrain
        # never blocks re-promoting (or rolling back to) the version that read the label first.
        if int(other.version) >= int(version.version) or not other.run_id:
            continue
        other_tags = dict(client.get_run(other.run_id).data.tags)
        for split, (uri, label, sha) in own.items():
            for other_split in SPLITS:
                their_uri, their_label, their_sha = _digest_of(other_tags, other_split)
                if sha and their_sha and (their_uri, their_label) == (uri, label) and their_sha != sha:
                    clashes.append(f"{split} data {uri} version {label!r} is sha256 {sha[:12]} here but "
                                   f"{their_sha[:12]} in version {other.version}")
    checks.append(("data version labels", not clashes,
                   "no earlier version read different bytes under the same data version labels" if not clashes else
                   "; ".join(sorted(set(clashes))[:5]) + ": the label was reused for changed data; give the "
                   "data a new version in the spec and retrain"))
    return checks
