"""The model directory format, its digest, datasets and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from runtime import artifact, metrics
from runtime.data import uris


def test_torch_model_round_trip_and_digest(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Sigmoid(), torch.nn.Flatten(0))
    directory = artifact.save(module, tmp_path / "model", framework="pytorch", task="binary-classification",
                              features=["a", "b", "c"])
    loaded = artifact.load(directory, device="cpu")
    rows = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5], [0.0, 0.0, 0.0]], dtype=np.float32)
    expected = module(torch.from_numpy(rows)).detach().numpy()
    np.testing.assert_allclose(loaded.predict(rows), expected, rtol=1e-6)
    assert loaded.predict(rows[:1]).shape == (1,)
    with pytest.raises(ValueError, match="expected rows of 3 features, got shape \\(2, 2\\)"):
        loaded.predict(rows[:2, :2])
    before = artifact.digest(directory)
    assert before == artifact.digest(directory)
    (directory / "model.pt2").write_bytes((directory / "model.pt2").read_bytes() + b"\0")
    assert artifact.digest(directory) != before


def test_not_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(artifact.ArtifactError, match="is not a model directory"):
        artifact.load(tmp_path)


@pytest.fixture
def sklearn_model(tmp_path: Path) -> Path:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    return artifact.save(model, tmp_path / "model", framework="sklearn", task="binary-classification",
                         features=["x"])


@pytest.mark.parametrize("named", ["../../outside.joblib", "{outside}", "model.pt2", "./model.joblib"])
def test_the_loaded_file_is_the_one_in_the_directory_that_the_digest_covers(sklearn_model: Path, named: str) -> None:
    outside = sklearn_model.parent.parent / "outside.joblib"
    outside.write_bytes((sklearn_model / "model.joblib").read_bytes())  # what a forged path would unpickle
    meta = json.loads((sklearn_model / artifact.META).read_text())
    (sklearn_model / artifact.META).write_text(json.dumps({**meta, "file": named.format(outside=outside)}))
    with pytest.raises(artifact.ArtifactError, match="is not 'model.joblib'"):
        artifact.load(sklearn_model)


def test_a_link_in_a_model_directory_is_refused(sklearn_model: Path) -> None:
    real = sklearn_model.parent / "real.joblib"
    (sklearn_model / "model.joblib").rename(real)
    (sklearn_model / "model.joblib").symlink_to(real)
    with pytest.raises(artifact.ArtifactError, match="is a symbolic link"):
        artifact.digest(sklearn_model)
    with pytest.raises(artifact.ArtifactError, match="a regular file"):
        artifact.load(sklearn_model)


def test_the_server_refuses_an_artifact_without_a_pinned_digest(sklearn_model: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.serving import MlplatModel

    monkeypatch.delenv("MLPLAT_ARTIFACT_SHA256", raising=False)
    with pytest.raises(RuntimeError, match="MLPLAT_ARTIFACT_SHA256 is not set"):
        MlplatModel(str(sklearn_model)).load()
    monkeypatch.setenv("MLPLAT_ARTIFACT_SHA256", artifact.digest(sklearn_model))
    server = MlplatModel(str(sklearn_model))
    server.load()
    assert server.model is not None


def test_sklearn_splits_are_disjoint_deterministic_and_named_as_identifiers() -> None:
    train = uris.load("sklearn://breast_cancer?split=train&holdout=0.25&seed=0", "benign")
    evaluation = uris.load("sklearn://breast_cancer?split=eval&holdout=0.25&seed=0", "benign")
    assert (len(train), len(evaluation)) == (426, 143)
    assert uris.feature_columns(train, "benign")[:3] == ["mean_radius", "mean_texture", "mean_perimeter"]
    assert train.equals(uris.load("sklearn://breast_cancer?split=train&holdout=0.25&seed=0", "benign"))
    joined = train.merge(evaluation, how="inner")
    assert joined.empty


@pytest.mark.parametrize("uri,message", [
    ("sklearn://mnist", "unknown scikit-learn dataset 'mnist'"),
    ("sklearn://iris?split=test", "split must be train, eval or all"),
    ("file:///nonexistent/x.csv", "no such file"),
])
def test_data_errors(uri: str, message: str) -> None:
    with pytest.raises(uris.DataError, match=message):
        uris.load(uri, "target")


def test_csv_without_target(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(uris.DataError, match="has no target column 'y'"):
        uris.load(path.as_uri(), "y")


def test_binary_metrics() -> None:
    values = metrics.compute("binary-classification", [0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    assert values["roc_auc"] == 0.75
    assert values["accuracy"] == 0.5
    assert metrics.higher_is_better("roc_auc") and not metrics.higher_is_better("log_loss")


def test_artifact_bytes_do_not_depend_on_where_the_code_lives(tmp_path: Path) -> None:
    import importlib.util

    source = ("import torch\n\nclass M(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
              "        self.l = torch.nn.Linear(3, 1)\n\n    def forward(self, x):\n"
              "        return torch.sigmoid(self.l(x)).squeeze(-1)\n")
    digests = []
    for checkout in ("one", "two"):
        path = tmp_path / checkout / "model_code.py"
        path.parent.mkdir()
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("model_code", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        torch.manual_seed(0)
        saved = artifact.save(module.M(), tmp_path / checkout / "model", framework="pytorch",
                              task="binary-classification", features=["a", "b", "c"])
        digests.append(artifact.digest(saved))
    assert digests[0] == digests[1]


def test_an_estimators_random_generators_load_in_the_model_servers_numpy(tmp_path: Path) -> None:
    """HistGradientBoosting keeps a numpy Generator; numpy 2's pickle of one does not load in seldon-core's
    numpy 1.26, so the artifact writes numpy 1's form, which both read to the same state."""
    import subprocess

    from sklearn.ensemble import HistGradientBoostingClassifier

    from compiler.local.serve import serving_env
    from tests.conftest import REPO

    x = np.random.default_rng(0).normal(size=(200, 3))
    model = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, (x[:, 0] > 0).astype(int))
    model.spare_rng, model.spare_state = np.random.default_rng(5), np.random.RandomState(3)
    artifact.save(model, tmp_path / "model", framework="sklearn", task="binary-classification", features=list("abc"))
    script = ("import json, sys, numpy as np; from pathlib import Path; from runtime import artifact; "
              "m = artifact.load(Path(sys.argv[1])); "
              "e = m.model; print(json.dumps([np.__version__, e._feature_subsample_rng.random(), "
              "e.spare_rng.random(), e.spare_state.rand(), m.predict(np.asarray(json.loads(sys.argv[2]))).tolist()]))")
    python = serving_env(REPO, echo=lambda _: None) / "bin" / "python"
    ran = subprocess.run([str(python), "-c", script, str(tmp_path / "model"), json.dumps(x[:3].tolist())],
                         capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO)})
    assert ran.returncode == 0, ran.stderr
    version, subsample, spare, state, scores = json.loads(ran.stdout)
    assert version.startswith("1.") and scores == model.predict_proba(x[:3])[:, 1].tolist()
    assert (subsample, spare, state) == (model._feature_subsample_rng.random(), model.spare_rng.random(),
                                         model.spare_state.rand())


def test_the_spec_language_lists_the_data_the_runtime_reads() -> None:
    """compiler/spec/data_uris.py refuses what runtime/data/uris.py cannot read, and the README lists it from there."""
    from compiler.spec.data_uris import DATA_URI_SCHEMES, EXAMPLE_TABLES, SKLEARN_DATASETS
    from runtime.data import example

    assert sorted(uris._SKLEARN) == sorted(SKLEARN_DATASETS)
    assert sorted(example.TABLES) == sorted(EXAMPLE_TABLES)
    for scheme in ("sklearn", "example"):
        with pytest.raises(uris.DataError, match="unknown"):
            uris.load(f"{scheme}://nothing-such?split=train", "target")
    assert {"sklearn", "example", "file", "s3", "gs"} == set(DATA_URI_SCHEMES)
