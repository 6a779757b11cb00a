"""The model artifact: a directory any step or server can load without MLflow.

    model/
      mlplat-model.json   format, framework, task, feature names (in input order), output kind
      model.pt2           a torch.export program (pytorch), or model.joblib (sklearn)

Training writes it, the evaluate step and the model server load it, and its SHA-256 digest is what
the registry and the promotion evidence pin.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.device import default_device

FORMAT = "mlplat-model/v1"
META = "mlplat-model.json"
_FILES = {"pytorch": "model.pt2", "sklearn": "model.joblib"}
_OUTPUT = {"binary-classification": "probability", "multiclass-classification": "class-probabilities"}


class ArtifactError(Exception):
    """A model directory that is missing, incomplete or of an unknown format."""


def save(model: Any, directory: Path, *, framework: str, task: str, features: list[str]) -> Path:
    """Write `model` (a torch.nn.Module or a scikit-learn estimator) as a model directory."""
    if framework not in _FILES:
        raise ArtifactError(f"cannot save a {framework!r} model; supported: {', '.join(_FILES)}")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / _FILES[framework]
    if framework == "pytorch":
        _save_torch(model, target, len(features))
    else:
        import joblib

        with _numpy1_random_pickles():
            joblib.dump(model, target)
    meta = {"format": FORMAT, "framework": framework, "task": task, "file": target.name,
            "features": list(features), "output": _OUTPUT.get(task, "value")}
    (directory / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", "utf-8")
    return directory


@contextmanager
def _numpy1_random_pickles() -> Iterator[None]:
    """Random generators an estimator holds (HistGradientBoosting's feature-subsampling Generator, a
    RandomState) pickled in numpy 1's form, which numpy 2 reads too: numpy 2's own form cannot be read by
    the model server's numpy 1.26 (seldon-core 1.18 requires numpy<2), so such a model would not load there."""
    import copyreg

    import numpy as np
    from numpy.random import _pickle

    def bit_generator(bits: Any) -> tuple[Any, ...]:
        state = bits.state
        return _pickle.__bit_generator_ctor, (state["bit_generator"],), state

    def generator(rng: Any) -> tuple[Any, ...]:
        state = rng.bit_generator.state
        return _pickle.__generator_ctor, (state["bit_generator"],), state

    def random_state(rng: Any) -> tuple[Any, ...]:
        state = rng.get_state(legacy=False)
        return _pickle.__randomstate_ctor, (state["bit_generator"],), state

    reducers: dict[type, Any] = {np.random.Generator: generator, np.random.RandomState: random_state,
                **{kind: bit_generator for kind in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937,
                                                    np.random.Philox, np.random.SFC64)}}
    before = {kind: copyreg.dispatch_table.get(kind) for kind in reducers}
    copyreg.dispatch_table.update(reducers)
    try:
        yield
    finally:
        for kind, reducer in before.items():
            if reducer is None:
                copyreg.dispatch_table.pop(kind, None)
            else:
                copyreg.dispatch_table[kind] = reducer


def _save_torch(module: Any, target: Path, n_features: int) -> None:
    import torch
    from torch.export import Dim, export

    module = module.to("cpu").eval()
    example = torch.zeros(2, n_features, dtype=torch.float32)
    batch = Dim("batch", min=1, max=1 << 20)
    with torch.no_grad():
        program = export(module, (example,), dynamic_shapes=({0: batch},))
    for node in program.graph.nodes:  # source file paths would make the bytes depend on the checkout
        node.meta.pop("stack_trace", None)
    torch.export.save(program, target)


def digest(directory: Path) -> str:
    """SHA-256 over every file's relative path and content: the artifact's identity. A link or special
    file in the directory is refused: the digest would cover a name while loading read something else."""
    files = []
    for path in sorted(directory.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise ArtifactError(f"{path} is a symbolic link or special file; a model directory holds only "
                                "regular files")
        if path.is_file():
            files.append(path)
    if not files:
        raise ArtifactError(f"{directory} holds no files")
    outer = hashlib.sha256()
    for path in files:
        outer.update(path.relative_to(directory).as_posix().encode() + b"\0")
        outer.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return outer.hexdigest()


@dataclass
class LoadedModel:
    meta: dict[str, Any]
    model: Any
    device: str = "cpu"

    @property
    def features(self) -> list[str]:
        return self.meta["features"]

    def predict(self, rows: Any) -> Any:
        """Scores for rows whose columns are `features`, in order: a 2-D array, or a DataFrame with those
        columns. PyTorch programs take float32 tensors; scikit-learn models get a float64 DataFrame with
        the feature names they were fitted with (no precision lost, no feature-name warning)."""
        import numpy as np

        if hasattr(rows, "columns"):  # a DataFrame: pick the features by name, in the model's order
            rows = rows[self.features]
        values = np.asarray(rows, dtype=np.float32 if self.meta["framework"] == "pytorch" else np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.features):
            raise ValueError(f"expected rows of {len(self.features)} features, got shape {tuple(values.shape)}")
        if self.meta["framework"] == "pytorch":
            import torch

            with torch.inference_mode():
                out = self.model(torch.from_numpy(values).to(self.device)).to("cpu").numpy()
            return out.reshape(len(values)) if out.ndim == 2 and out.shape[1] == 1 else out
        x = values
        with warnings.catch_warnings():
            if hasattr(self.model, "feature_names_in_"):
                try:
                    import pandas as pd

                    x = pd.DataFrame(values, columns=self.features)
                except ImportError:  # the model server's environment: the columns are in the fitted order
                    warnings.filterwarnings("ignore", "X does not have valid feature names", UserWarning)
            if self.meta["output"] == "probability":
                return self.model.predict_proba(x)[:, 1]
            if self.meta["output"] == "class-probabilities":
                return self.model.predict_proba(x)
            return self.model.predict(x)


def load_meta(directory: Path) -> dict[str, Any]:
    """The metadata of a model directory, checked for format and a present model file."""
    meta_path = directory / META
    if not meta_path.is_file():
        raise ArtifactError(f"{directory} is not a model directory (no {META})")
    meta = json.loads(meta_path.read_text("utf-8"))
    if meta.get("format") != FORMAT:
        raise ArtifactError(f"{meta_path}: unknown format {meta.get('format')!r}, expected {FORMAT}")
    framework = meta.get("framework")
    if framework not in _FILES:
        raise ArtifactError(f"{meta_path}: unknown framework {framework!r}; supported: {', '.join(_FILES)}")
    # The file is named by the framework, not by the metadata: a path such as ../../x.joblib would load
    # (and unpickle) a file that the directory's digest never covered.
    if meta.get("file") != _FILES[framework]:
        raise ArtifactError(f"{meta_path}: model file {meta.get('file')!r} is not {_FILES[framework]!r}, the "
                            f"one a {framework} model directory holds")
    model_file = directory / _FILES[framework]
    if model_file.is_symlink() or not model_file.is_file():
        raise ArtifactError(f"{directory} has no model file {_FILES[framework]!r} (a regular file)")
    return meta


def load(directory: Path, device: str | None = None) -> LoadedModel:
    meta = load_meta(directory)
    path = directory / meta["file"]
    if meta["framework"] == "pytorch":
        import torch
        from torch.export.passes import move_to_device_pass

        device = device or default_device()
        # The pass also rewrites tensors the graph creates (torch.tensor(...) in forward), which
        # Module.to() would leave on the CPU the model was exported on.
        module = move_to_device_pass(torch.export.load(path), device).module()
        return LoadedModel(meta, module, device)
    import joblib

    estimator = joblib.load(path)
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and list(fitted) != list(meta["features"]):  # predict relies on the order
        raise ArtifactError(f"{path} was fitted on columns {list(fitted)}, but {META} lists {meta['features']}")
    return LoadedModel(meta, estimator)
