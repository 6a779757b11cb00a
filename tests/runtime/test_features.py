"""The feature definitions the compiler rendered (environments/dev/features/) applied to a real Feast
(file and DuckDB offline stores, SQLite online store), on event data generated here: point-in-time training
frames never see a value from after a label's time, nor one older than the view's TTL, and keep
every label row; after materialisation the online store serves what the offline join gives at the
same time."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

pd = pytest.importorskip("pandas")
pytest.importorskip("feast")

from runtime.features.definitions import feast_objects, feature_store, load_settings  # noqa: E402
from runtime.features.retrieval import training_frame  # noqa: E402

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def day(n: float) -> dt.datetime:
    return START + dt.timedelta(days=n)


def definitions(events: Path) -> dict[str, Any]:
    """The definitions the compiler rendered for dev, the source read from `events`."""
    rendered = json.loads((REPO / "environments" / "dev" / "features" / "definitions.json").read_text())
    for source in rendered["sources"]:
        source["uri"] = events.as_uri()
    return rendered


@pytest.fixture(scope="module", params=["file", "duckdb"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A store on each offline store the embedded default may use, the online store SQLite."""
    repo = tmp_path_factory.mktemp(f"feast-{request.param}")
    events = repo / "transactions.parquet"
    pd.DataFrame({  # customer 1's value changes at days 0, 2 and 10; customer 2's only at day 0
        "customer_id": [1, 1, 1, 2],
        "event_timestamp": [day(0), day(2), day(10), day(0)],
        "txn_count_7d": [1, 2, 3, 7],
        "txn_amount_7d": [10.0, 20.0, 30.0, 70.0],
        "avg_amount_30d": [10.0, 10.0, 10.0, 10.0],
        "days_active_30d": [1, 2, 3, 1],
    }).to_parquet(events)
    store = feature_store({"project": "mlplat_test", "registry": str(repo / "registry.db"),
                           "online_store": {"type": "sqlite", "path": str(repo / "online.db")},
                           "offline_store": {"type": request.param}}, repo)
    store.apply(feast_objects(definitions(events), repo))
    return store


def test_a_label_sees_only_values_from_before_it_and_within_the_ttl(store: Any) -> None:
    labels = pd.DataFrame({
        "customer_id": [1, 1, 1, 1, 2, 2, 3, 1],
        "event_timestamp": [day(-1), day(1), day(9), day(11), day(29), day(31), day(5), day(9)],
        "label": [0, 1, 0, 1, 1, 0, 1, 1],
    })
    frame = training_frame(store, "chargeback_features", labels)
    assert list(frame["label"]) == list(labels["label"])  # every row, in order: those Feast drops or merges too
    counts = [None if pd.isna(v) else int(v) for v in frame["txn_count_7d"]]
    # before any value; the day-0 value; day 2's, not day 10's (written after the label); day 10's;
    # day 0's within the 30-day TTL; none past it; an entity with no data; a second label at day 9
    assert counts == [None, 1, 2, 3, 7, None, None, 2]


def test_a_service_of_another_team_gets_only_its_features(store: Any) -> None:
    labels = pd.DataFrame({"customer_id": [1], "event_timestamp": [day(3)], "label": [1]})
    frame = training_frame(store, "churn_features", labels)
    assert list(frame.columns) == ["customer_id", "event_timestamp", "label", "txn_count_7d", "days_active_30d"]
    assert frame["txn_count_7d"].tolist() == [2] and frame["days_active_30d"].tolist() == [2]


def test_online_values_equal_the_offline_join_at_the_same_time(store: Any) -> None:
    store.materialize(day(-1), day(11))
    online = store.get_online_features(features=store.get_feature_service("chargeback_features"),
                                       entity_rows=[{"customer_id": 1}, {"customer_id": 2}]).to_dict()
    offline = training_frame(store, "chargeback_features", pd.DataFrame(
        {"customer_id": [1, 2], "event_timestamp": [day(11), day(11)], "label": [0, 0]}))
    for feature in ("txn_count_7d", "txn_amount_7d", "avg_amount_30d", "days_active_30d"):
        assert online[feature] == offline[feature].tolist(), feature


def test_secrets_in_the_rendered_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEAST_REDIS_CONNECTION", "redis.feast:6379,password=from-a-secret")
    settings = load_settings(REPO / "environments" / "prod" / "features" / "feature_store.yaml")
    assert settings["online_store"] == {"type": "redis", "connection_string": "redis.feast:6379,password=from-a-secret"}
    assert "from-a-secret" not in (REPO / "environments" / "prod" / "features" / "feature_store.yaml").read_text()


@pytest.mark.parametrize("uri", ["file://../../../../etc/shadow", "file:///data/../etc/shadow", "file://data/x"])
def test_a_file_source_outside_an_absolute_normal_path_never_reaches_feast(uri: str, tmp_path) -> None:
    """Validation refuses these (tests/fixtures/broken/features-source-*); definitions made elsewhere are not
    trusted either."""
    from runtime.features.definitions import _path

    with pytest.raises(ValueError, match="absolute path without"):
        _path(uri, tmp_path)
    assert _path("file:///data/events.parquet", tmp_path) == "/data/events.parquet"
