"""A run's datasets: each split read once, identified by its content, and recorded on the tracking run.

A split is read from its URI (runtime/data/uris.py) or, where the spec names a feature service, built from
its entity/label table with the service's features as of each row's time (runtime/features/training.py).
Its digest is the SHA-256 of what the model saw: column names, dtypes and every row's values, in order,
whatever file format or compression held them. A `version` label therefore cannot hide changed bytes:
promotion compares digests across versions that name the same label (runtime/data/digests.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from runtime.data import uris
from runtime.resolved import ResolvedSpec

CONTEXT = {"train": "training", "eval": "evaluation"}  # MLflow's mlflow.data.context tag values
SERVED_TAG = "mlplat.data.features"


@dataclass(frozen=True)
class Split:
    name: str  # train or eval
    frame: Any  # pandas.DataFrame: the features, the target (and ranking's group column)
    features: list[str]
    sha256: str
    source: dict[str, str]  # uri, version and, where used, featureService
    served: tuple[dict[str, str], ...] = ()  # a feature service's features: {view, name, dtype} each

    @property
    def rows(self) -> int:
        return len(self.frame)


def load_split(spec: ResolvedSpec, split: str) -> Split:
    """The spec's train or eval split, read and digested."""
    described = spec.training["data"][split]
    source = {"uri": described["uri"], "version": described["version"]}
    service = spec.feature_service
    if service:
        from runtime.features.training import labelled_frame

        frame, served = labelled_frame(spec, described["uri"])
        source["featureService"] = service
        return Split(split, frame, [f["name"] for f in served], frame_digest(frame), source, tuple(served))
    frame = uris.load(described["uri"], spec.target)
    return Split(split, frame, uris.feature_columns(frame, spec.target, spec.group), frame_digest(frame), source)


def frame_digest(frame: Any) -> str:
    """SHA-256 of a DataFrame's columns, dtypes and row values, in order (not of its index)."""
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def record(client: Any, run_id: str, split: Split) -> None:
    """The split as an MLflow dataset input of the run, its digest as the run's lineage tag and, from a
    feature service, the features it was built from (the version's evidence carries them)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    schema = {"columns": [{"name": str(c), "type": str(t)} for c, t in split.frame.dtypes.items()]}
    # MLflow holds at most 36 characters of a dataset digest: the full one is the tag and in the profile
    dataset = Dataset(name=split.name, digest=split.sha256[:32], source_type="mlplat",
                      source=json.dumps(split.source, sort_keys=True), schema=json.dumps(schema),
                      profile=json.dumps({"num_rows": split.rows, "sha256": split.sha256}))
    client.log_inputs(run_id, [DatasetInput(dataset, [InputTag("mlflow.data.context", CONTEXT[split.name])])])
    client.set_tag(run_id, f"mlplat.data.{split.name}.sha256", split.sha256)
    if split.served:
        client.set_tag(run_id, SERVED_TAG, json.dumps(list(split.served), sort_keys=True, separators=(",", ":")))
