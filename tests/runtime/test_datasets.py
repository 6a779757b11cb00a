"""Data identified by content: the example's generated tables are the same bytes on every machine, a
frame's digest changes with any value or dtype and with nothing else, and a split is recorded on a real
MLflow run as a dataset input and a lineage tag; a feature-service split is the point-in-time join of
its label table, read from the checkout's rendered definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pd = pytest.importorskip("pandas")
pytest.importorskip("mlflow")

from runtime.data import example  # noqa: E402
from runtime.data.datasets import Split, frame_digest, load_split, record  # noqa: E402
from runtime.resolved import ResolvedSpec  # noqa: E402

# The generated tables' digests: a change to the generator (or to numpy's streams) must come with a new
# GENERATOR_VERSION, since versions trained on the old rows name them by the same example:// URI.
DIGESTS = {
    "customer-transactions": "0bc87a805f66266b8822ad5809b4355ecd018f399dca61dc8ac9fe44a96d1402",
    "chargeback-labels": "f4298f50294d1449abef8ed19f8359f0a714e584776ab5460d0162fc1607990b",
    "churn-labels": "a5e39cecadebb5a0dd32280ed97108cf2e2849c8b190f1e8cfb312365d4e9ddd",
}


@pytest.mark.parametrize("name", example.TABLES)
def test_the_example_tables_are_generated_identically(name: str) -> None:
    assert frame_digest(example.table(name)) == DIGESTS[name], f"bump GENERATOR_VERSION for {name}"


def test_label_splits_divide_the_labels_by_time() -> None:
    train, evaluate = (example.table("churn-labels", split) for split in ("train", "eval"))
    assert len(train) + len(evaluate) == len(example.table("churn-labels"))
    assert train["event_timestamp"].max() < evaluate["event_timestamp"].min()
    assert 0.1 < train["churned"].mean() < 0.9  # both classes, for a classifier to learn
    with pytest.raises(example.ExampleDataError, match="unknown example table 'churn'"):
        example.table("churn")


def test_parquet_is_written_once_and_reads_back_the_same_rows(tmp_path: Path) -> None:
    path = example.parquet_path("chargeback-labels", tmp_path)
    assert path == example.parquet_path("chargeback-labels", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left beside it
    assert frame_digest(pd.read_parquet(path)) == DIGESTS["chargeback-labels"]


def test_the_digest_follows_values_and_dtypes_not_the_index() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]})
    digest = frame_digest(frame)
    assert frame_digest(frame.set_axis([7, 8, 9])) == digest
    assert frame_digest(frame.assign(b=[0.5, 1.5, 2.75])) != digest
    assert frame_digest(frame.astype({"a": "float64"})) != digest
    assert frame_digest(frame.iloc[::-1].reset_index(drop=True)) != digest  # row order is what training saw
    assert frame_digest(frame.rename(columns={"a": "c"})) != digest


def test_a_split_is_recorded_as_a_dataset_input_and_a_tag(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.create_run(client.create_experiment("datasets", artifact_location=(tmp_path / "a").as_uri()))
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    split = Split("train", frame, ["x"], frame_digest(frame), {"uri": "example://t?split=train", "version": "v1"})
    record(client, run.info.run_id, split)
    stored = client.get_run(run.info.run_id)
    assert stored.data.tags["mlplat.data.train.sha256"] == split.sha256
    [dataset_input] = stored.inputs.dataset_inputs
    assert dataset_input.dataset.digest == split.sha256[:32]
    assert json.loads(dataset_input.dataset.profile) == {"num_rows": 2, "sha256": split.sha256}
    assert [(t.key, t.value) for t in dataset_input.tags] == [("mlflow.data.context", "training")]


def test_a_feature_service_split_is_the_point_in_time_join_of_its_labels(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # the rendered definitions are found from the team's code folder
    monkeypatch.setenv("MLPLAT_CODE_DIR", str(REPO / "specs/payments/chargeback-risk"))
    configmap = REPO / "environments/dev/apps/payments/chargeback-risk/configmap-chargeback-risk-spec.yaml"
    spec = ResolvedSpec(json.loads(yaml.safe_load(configmap.read_text())["data"]["model.json"]))
    split = load_split(spec, "eval")
    labels = example.table("chargeback-labels", "eval")
    assert split.features == ["txn_count_7d", "txn_amount_7d", "avg_amount_30d", "days_active_30d"]
    assert split.rows == len(labels)  # every label row kept, in order
    assert split.frame["charged_back"].tolist() == labels["charged_back"].tolist()
    # each row's features are its customer's latest snapshot at or before the label, within the 30d TTL
    expected = pd.merge_asof(labels, example.table("customer-transactions"), on="event_timestamp",
                             by="customer_id", direction="backward", tolerance=pd.Timedelta(days=30))
    pd.testing.assert_frame_equal(split.frame[split.features].astype("float64"),
                                  expected[split.features].astype("float64"), check_exact=True)
    assert split.sha256 == frame_digest(split.frame)
    assert split.source == {"uri": "example://chargeback-labels?split=eval", "version": "example-v1",
                            "featureService": "chargeback_features"}
