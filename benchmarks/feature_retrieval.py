"""Point-in-time training sets at scale: Feast's historical retrieval against a pandas merge_asof floor.

    python benchmarks/feature_retrieval.py [--labels 1000000] [--features 20] [--entities 10000] [--events 500000]
                                           [--offline duckdb file]

Generates (seeded, nothing downloaded) an event table of --events rows for --entities customers with
--features float features, and a label table of --labels rows with timestamps spread over the same
period; registers one feature view (TTL 7 days) and a service over it in a Feast store (DuckDB or file
offline store, SQLite online store, in a scratch folder inside .mlplat/) and builds the training frame with
runtime.features.retrieval.training_frame. The floor is pandas.merge_asof on the same frames (backward,
by customer, tolerance = the TTL), the least a point-in-time join in pandas costs. Each side runs in
a fresh process, so its peak RSS (VmHWM) is its own; the two answers must be equal, value for value.
It also materialises the view and reports online lookup latency (p50, p99) of single-entity reads:
through Feast's Python API, and through the model server's class (runtime.serving.MlplatModel, a
request carrying only the entity key, scored by a scikit-learn model on the 20 features) against
`python -m runtime features serve`, the feature server each serving pod runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
WORK = REPO / ".mlplat" / "bench-features"
TTL_DAYS = 7
DAYS = 60


def generate(args: argparse.Namespace) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    events = pd.DataFrame({"customer_id": rng.integers(0, args.entities, args.events),
                           "event_timestamp": start + pd.to_timedelta(rng.integers(0, DAYS * 86400, args.events), "s")})
    for index in range(args.features):
        events[f"f{index}"] = rng.random(args.events)
    events = events.drop_duplicates(["customer_id", "event_timestamp"])
    events.to_parquet(WORK / "events.parquet")
    labels = pd.DataFrame({"customer_id": rng.integers(0, args.entities, args.labels),
                           "event_timestamp": start + pd.to_timedelta(rng.integers(0, DAYS * 86400, args.labels), "s"),
                           "label": rng.integers(0, 2, args.labels)})
    labels.to_parquet(WORK / "labels.parquet")


def definitions(features: int) -> dict[str, Any]:
    return {"entities": [{"name": "customer", "joinKey": "customer_id", "description": "A customer."}],
            "sources": [{"name": "events", "uri": (WORK / "events.parquet").as_uri(), "description": "Events."}],
            "featureViews": [{"name": "customer_stats", "entities": ["customer"], "source": "events",
                              "ttl": f"{TTL_DAYS}d", "description": "Stats.",
                              "features": [{"name": f"f{i}", "dtype": "float64", "description": "A feature."}
                                           for i in range(features)]}],
            "featureServices": [{"name": "stats", "features": [{"view": "customer_stats"}], "description": "All."}]}


def _store(offline: str = "file") -> Any:
    from runtime.features.definitions import feature_store

    return feature_store({"project": "bench", "registry": str(WORK / "registry.db"),
                          "online_store": {"type": "sqlite", "path": str(WORK / "online.db")},
                          "offline_store": {"type": offline}}, WORK)


def run_feast(features: int, offline: str) -> dict[str, float]:
    import pandas as pd

    from runtime.features.definitions import feast_objects
    from runtime.features.retrieval import training_frame

    store = _store(offline)
    store.apply(feast_objects(definitions(features), WORK))
    labels = pd.read_parquet(WORK / "labels.parquet")
    start = time.perf_counter()
    frame = training_frame(store, "stats", labels)
    seconds = time.perf_counter() - start
    frame.to_parquet(WORK / f"feast-{offline}.parquet")
    return {"seconds": seconds}


def run_floor(features: int) -> dict[str, float]:
    import pandas as pd

    events = pd.read_parquet(WORK / "events.parquet")
    labels = pd.read_parquet(WORK / "labels.parquet")
    start = time.perf_counter()
    numbered = labels.reset_index(drop=True).assign(row=range(len(labels)))
    joined = pd.merge_asof(numbered.sort_values("event_timestamp"),
                           events.rename(columns={"event_timestamp": "feature_time"}).sort_values("feature_time"),
                           left_on="event_timestamp", right_on="feature_time", by="customer_id", direction="backward",
                           tolerance=pd.Timedelta(days=TTL_DAYS))
    frame = joined.sort_values("row").drop(columns=["row", "feature_time"]).reset_index(drop=True)
    seconds = time.perf_counter() - start
    frame.to_parquet(WORK / "floor.parquet")
    return {"seconds": seconds}


def run_online(features: int) -> dict[str, float]:
    import pandas as pd

    store = _store()
    store.materialize(pd.Timestamp("2025-12-31", tz="UTC").to_pydatetime(),
                      pd.Timestamp("2026-03-02", tz="UTC").to_pydatetime())
    service = store.get_feature_service("stats")
    latencies = []
    for key in range(2000):
        start = time.perf_counter()
        store.get_online_features(features=service, entity_rows=[{"customer_id": key % 1000}]).to_dict()
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    return {"p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


def run_served(features: int) -> dict[str, float]:
    """Requests by entity key through the serving class, against the feature server (after run_online)."""
    import os
    import urllib.request

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from runtime import artifact
    from runtime.serving import MlplatModel

    folder = WORK / "served"
    folder.mkdir(exist_ok=True)
    (folder / "definitions.json").write_text(json.dumps(definitions(features)))
    (folder / "feature_store.yaml").write_text(json.dumps({
        "project": "bench", "registry": str(WORK / "registry.db"), "offline_store": {"type": "file"},
        "online_store": {"type": "sqlite", "path": str(WORK / "online.db")}}))
    names = [f"f{i}" for i in range(features)]
    rng = np.random.default_rng(0)
    x = rng.random((500, features))
    model = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    artifact.save(model, folder / "model", framework="sklearn", task="binary-classification", features=names)
    port = 6599
    server = subprocess.Popen([sys.executable, "-m", "runtime", "features", "serve", "--store",
                               str(folder / "feature_store.yaml"), "--definitions", str(folder / "definitions.json"),
                               "--port", str(port)], cwd=REPO, env={**os.environ, "HOME": str(folder)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        os.environ.update({"MLPLAT_ARTIFACT_SHA256": artifact.digest(folder / "model"),
                           "MLPLAT_FEATURE_SERVER_URL": f"http://127.0.0.1:{port}", "MLPLAT_FEATURE_SERVICE": "stats",
                           "MLPLAT_FEATURE_DEFINITIONS": str(folder / "definitions.json"),
                           "MLPLAT_FEATURES_AS_OF": "2026-03-02T00:00:00+00:00", "MLPLAT_METRICS_FLUSH_SECONDS": "0"})
        serving = MlplatModel(str(folder / "model"))
        serving.load()
        fresh = [key for key in range(1000) if _answers(serving, key)]  # the others' values are past the TTL
        latencies = []
        for index in range(3000):
            start = time.perf_counter()
            serving.predict_raw({"data": {"names": ["customer_id"], "ndarray": [[fresh[index % len(fresh)]]]}})
            latencies.append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(timeout=60)
    latencies.sort()
    return {"p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
            "fresh": len(fresh)}


def _answers(serving: Any, key: int) -> bool:
    from runtime.serving import BadRequest

    try:
        serving.predict_raw({"data": {"names": ["customer_id"], "ndarray": [[key]]}})
    except BadRequest:
        return False
    return True


def _in_child(part: str, *args: Any) -> dict[str, float]:
    """One part in a fresh interpreter: its figures and its own peak RSS."""
    code = (f"import json, sys; sys.path.insert(0, {str(REPO)!r}); from benchmarks import feature_retrieval as b; "
            f"out = b.run_{part}(*{args!r}); "
            "out['rss_mb'] = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024; "
            "print(json.dumps(out))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--offline", nargs="+", default=["duckdb", "file"], choices=["duckdb", "file"])
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    generate(args)
    import pandas as pd

    results = {"floor": _in_child("floor", args.features)}
    floor = pd.read_parquet(WORK / "floor.parquet")
    columns = ["customer_id", "event_timestamp", "label", *(f"f{i}" for i in range(args.features))]
    print(f"historical retrieval, {args.labels:,} labels x {args.features} features "
          f"({args.events:,} events, {args.entities:,} customers, TTL {TTL_DAYS} d)")
    print(f"  pandas merge_asof floor:    {results['floor']['seconds']:.2f} s, {results['floor']['rss_mb']:.0f} MB")
    for offline in args.offline:
        figures = _in_child("feast", args.features, offline)
        feast = pd.read_parquet(WORK / f"feast-{offline}.parquet")
        pd.testing.assert_frame_equal(feast[columns], floor[columns], check_dtype=False)
        print(f"  Feast, {offline} offline store: {figures['seconds']:.2f} s, {figures['rss_mb']:.0f} MB, "
              f"{figures['seconds'] / results['floor']['seconds']:.1f}x the floor; answers equal")
    results["online"] = _in_child("online", args.features)
    print(f"online lookups (SQLite, one entity, 2,000 reads): p50 {results['online']['p50_ms']:.2f} ms, "
          f"p99 {results['online']['p99_ms']:.2f} ms")
    results["served"] = _in_child("served", args.features)
    print(f"requests by entity key through the serving class and the feature server (3,000 over "
          f"{results['served']['fresh']} customers with values within the TTL): "
          f"p50 {results['served']['p50_ms']:.2f} ms, p99 {results['served']['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
