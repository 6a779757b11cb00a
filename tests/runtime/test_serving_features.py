"""A model trained on a feature service, served by `mlplat serve` with its feature server: a request that
names only entity keys is scored on the features the online store holds for them, which equal the
offline point-in-time join at the same time (no training-serving skew, measured through the serving
class); sent features are checked against the online ones; a missing entity, a mismatch, a stale value
and an unreachable server are errors that are counted, never a default; the prediction log records
the served features, so that drift jobs see them."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from compiler.local import serve as local_serve
from compiler.local.feature_server import model_env
from tests.conftest import copy_repo
from tests.runtime.conftest import mlplat, sqlite_uri

pd = pytest.importorskip("pandas")
pytest.importorskip("feast")

from runtime import artifact  # noqa: E402
from runtime.data import example  # noqa: E402
from runtime.features.definitions import feast_objects, feature_store  # noqa: E402
from runtime.features.retrieval import training_frame  # noqa: E402

pytestmark = pytest.mark.xdist_group("serving-features")  # one server, stopped by the last test
MODEL, SERVICE = "churn-predictor", "churn_features"
AS_OF = example.table("customer-transactions")["event_timestamp"].max().to_pydatetime() + dt.timedelta(seconds=1)
CUSTOMERS = list(range(1, 31))
STOP_SECONDS = 120


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_repo(tmp_path_factory.mktemp("serving-features"))
    trained = mlplat(root, "run", MODEL, "--env", "dev")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    return root


@pytest.fixture(scope="module")
def served(project: Path) -> dict[str, Any]:
    """`mlplat serve` as a user runs it, until the module's last test stops it."""
    ports = {flag: local_serve.free_port() for flag in ("--port", "--metrics-port", "--executor-metrics-port")}
    process = subprocess.Popen([sys.executable, "-m", "compiler", "--root", str(project), "serve", MODEL,
                                "--features-as-of", AS_OF.isoformat(), *[str(x) for kv in ports.items() for x in kv]],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "MLPLAT_METRICS_FLUSH_SECONDS": "0"})
    lines = []
    for line in process.stdout:  # until it says it is ready (it gives up on its own)
        lines.append(line)
        if line.startswith("press Ctrl-C"):
            break
    assert lines and lines[-1].startswith("press Ctrl-C"), "".join(lines)
    run_dir = Path(next(line.split("log:")[1].strip() for line in lines if line.strip().startswith("log:"))).parent
    [directory] = {meta.parent for meta in (run_dir / "model").rglob(artifact.META)}
    feature_server = next(line.split(" from ")[1].split()[0] for line in lines if line.strip().startswith("features:"))
    env = {**model_env(feature_server, SERVICE, project / "environments/dev/features/definitions.json"),
           "MLPLAT_ARTIFACT_SHA256": artifact.digest(directory)}
    url = f"http://127.0.0.1:{ports['--port']}"
    # the first request after it said it was ready: the feature server must have been ready before it
    first = local_serve.post_json(url + local_serve.PREDICT_PATH,
                                  {"data": {"names": ["customer_id"], "ndarray": [[1]]}})
    yield {"process": process, "url": url, "output": "".join(lines), "first": first,
           "metrics": f"http://127.0.0.1:{ports['--metrics-port']}{local_serve.METRICS_PATH}",
           "model": artifact.load(directory), "directory": str(directory), "env": env}
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_SECONDS)


@pytest.fixture(scope="module")
def offline(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The service's features for CUSTOMERS by Feast's point-in-time join as of AS_OF, in the model's order."""
    folder = tmp_path_factory.mktemp("offline")
    settings = {"project": "offline", "provider": "local", "registry": str(folder / "registry.db"),
                "online_store": {"type": "sqlite", "path": str(folder / "online.db")},
                "offline_store": {"type": "duckdb"}, "entity_key_serialization_version": 3}
    definitions = json.loads((project / "environments/dev/features/definitions.json").read_text())
    store = feature_store(settings, folder)
    store.apply(feast_objects(definitions, folder))
    labels = pd.DataFrame({"customer_id": CUSTOMERS, "event_timestamp": [AS_OF] * len(CUSTOMERS),
                           "label": [0] * len(CUSTOMERS)})
    return training_frame(store, SERVICE, labels)


def predict(served: dict[str, Any], names: list[str], rows: list[list[Any]]) -> tuple[int, dict[str, Any]]:
    return local_serve.post_json(served["url"] + local_serve.PREDICT_PATH, {"data": {"names": names, "ndarray": rows}})


def metric(served: dict[str, Any], name: str, label: str = "") -> float:
    with urllib.request.urlopen(served["metrics"], timeout=30) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and label in line)


def test_the_first_request_after_start_is_answered(served) -> None:
    status, answer = served["first"]
    assert status == 200, answer  # it was 503 MLPLAT_FEATURES_UNREACHABLE while the feature server was cold


def test_entity_keys_are_scored_on_the_offline_features_at_the_same_time(served, offline) -> None:
    model = served["model"]
    status, answer = predict(served, ["customer_id"], [[c] for c in CUSTOMERS])
    assert status == 200, answer
    features = offline[model.features]
    assert answer["meta"]["tags"]["features"] == {"names": model.features, "ndarray": features.values.tolist()}
    assert answer["data"]["ndarray"] == model.predict(features.to_numpy()).tolist()
    assert "features:    churn_features" in served["output"] and '"names": ["customer_id"]' in served["output"]


def test_sent_features_are_checked_against_the_online_ones(served, offline) -> None:
    model = served["model"]
    names = ["customer_id", *model.features]
    rows = [[c, *values] for c, values in zip(CUSTOMERS[:3], offline[model.features].values.tolist(), strict=False)]
    status, answer = predict(served, names, rows)
    assert status == 200 and "features" not in answer["meta"]["tags"]  # sent, so the log has them already
    before = metric(served, "mlplat_feature_errors_total", 'reason="mismatch"')
    rows[1][2] += 5
    status, answer = predict(served, names, rows)
    assert status == 400 and answer["status"]["reason"] == "MLPLAT_FEATURES_MISMATCH"
    differs = f"customer_id={CUSTOMERS[1]}: {names[2]}={rows[1][2]!r} (online {rows[1][2] - 5!r})"
    assert differs in answer["status"]["info"]
    assert metric(served, "mlplat_feature_errors_total", 'reason="mismatch"') == before + 1


def test_an_unknown_entity_is_a_counted_error_not_a_default(served) -> None:
    requests_before = metric(served, "mlplat_feature_requests_total")
    status, answer = predict(served, ["customer_id"], [[1], [99999]])
    assert status == 400 and answer["status"]["reason"] == "MLPLAT_FEATURES_MISSING"
    assert "customer_id=99999:" in answer["status"]["info"] and "customer_id=1:" not in answer["status"]["info"]
    assert metric(served, "mlplat_feature_errors_total", 'reason="missing"') >= 1
    assert metric(served, "mlplat_feature_requests_total") == requests_before + 1
    status, answer = predict(served, ["customer_id"], [["one"]])
    assert status == 400 and "entity key customer_id is 'one'; it takes whole numbers" in answer["status"]["info"]
    status, answer = predict(served, ["customer_id", "txn_count_7d"], [[1, 2]])
    assert status == 400 and "missing features: days_active_30d" in answer["status"]["info"]


def test_stale_values_and_a_server_that_is_down_are_503(served, monkeypatch: pytest.MonkeyPatch) -> None:
    """In process (the class seldon-core loads), with the running feature server and a later clock; then the
    feature server gone after the model server started. One that is gone when it starts stops it starting."""
    import dataclasses

    from runtime.serving import MlplatModel

    for name, value in served["env"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLPLAT_FEATURES_AS_OF", (AS_OF + dt.timedelta(days=31)).isoformat())  # the TTL is 30 days
    model = MlplatModel(served["directory"])
    model.load()
    with pytest.raises(Exception) as raised:
        model.predict_raw({"data": {"names": ["customer_id"], "ndarray": [[1]]}})
    assert (raised.value.status_code, raised.value.reason) == (503, "MLPLAT_FEATURES_STALE")
    assert "older than their view's TTL" in raised.value.message
    gone = f"http://127.0.0.1:{local_serve.free_port()}"
    model.online = dataclasses.replace(model.online, url=gone)  # it stopped answering after the start
    with pytest.raises(Exception) as raised:
        model.predict_raw({"data": {"names": ["customer_id"], "ndarray": [[1]]}})
    assert (raised.value.status_code, raised.value.reason) == (503, "MLPLAT_FEATURES_UNREACHABLE")
    assert model._pending.feature_errors == {"stale": 1, "unreachable": 1}
    monkeypatch.setenv("MLPLAT_FEATURE_SERVER_URL", gone)
    monkeypatch.setenv("MLPLAT_FEATURE_READY_SECONDS", "1")
    with pytest.raises(RuntimeError, match=f"the feature server at {gone} did not answer a lookup within 1 s"):
        MlplatModel(served["directory"]).load()  # not ready, so no traffic: the pod's probes keep it out


def test_a_version_is_not_served_on_features_its_service_lost(served, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.serving import MlplatModel

    env = served["env"]
    definitions = json.loads(Path(env["MLPLAT_FEATURE_DEFINITIONS"]).read_text())
    [service] = [s for s in definitions["featureServices"] if s["name"] == SERVICE]
    service["features"][0]["features"] = service["features"][0]["features"][:1]
    (tmp_path / "definitions.json").write_text(json.dumps(definitions))
    for name, value in {**env, "MLPLAT_FEATURE_DEFINITIONS": str(tmp_path / "definitions.json")}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match="no longer serves days_active_30d, which this version was trained on"):
        MlplatModel(served["directory"]).load()


def test_the_rendered_pod_serves_by_entity_key(project: Path, served, tmp_path: Path) -> None:
    """prod's rendered SeldonDeployment for churn-predictor, its two containers run as the kubelet would
    (args, env, the ConfigMap's files at their mount, the working directory), after its view's rendered
    materialisation step ran. prod's stores are made local first: a SQLite online store and a registry file
    both containers share, and the source at its example location."""
    import yaml

    from tests.conftest import copy_repo

    rendered_root = copy_repo(tmp_path / "repo")
    shared = tmp_path / "stores"
    edit = [("platform/platform.yaml", "registry: s3://acme-mlplat-feast-prod/registry.db",
             f"registry: {shared}/registry.db"),
            ("platform/platform.yaml", 'online: {type: redis, options: {connection_string: '
             '"${FEAST_REDIS_CONNECTION}"}}', f"online: {{type: sqlite, options: {{path: {shared}/online.db}}}}"),
            ("specs/payments/features.yaml", "prod: {uri: s3://lake/payments/customer_transactions/}",
             "prod: {uri: example://customer-transactions}")]
    for file, old, new in edit:
        text = (rendered_root / file).read_text()
        assert old in text
        (rendered_root / file).write_text(text.replace(old, new))
    assert mlplat(rendered_root, "compile").returncode == 0
    apps = rendered_root / "environments/prod/apps"
    cron = yaml.safe_load((apps / "payments/features/cronworkflow-customer-transactions-materialize.yaml").read_text())
    step = cron["spec"]["workflowSpec"]["templates"][0]["container"]
    materialised = subprocess.run([sys.executable, *step["args"], "--end", AS_OF.isoformat()], cwd=rendered_root,
                                  capture_output=True, text=True)
    assert materialised.returncode == 0, materialised.stderr

    deployment = yaml.safe_load((apps / "growth/churn-predictor/seldondeployment-churn-predictor.yaml").read_text())
    config = yaml.safe_load((apps / "growth/churn-predictor/configmap-churn-predictor-features.yaml").read_text())
    pod = deployment["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    model_container, features_container = pod["containers"]
    mount = tmp_path / "mount"  # the ConfigMap's volume, where the pod mounts it
    mount.mkdir()
    for name, text in config["data"].items():
        (mount / name).write_text(text)
    port = str(local_serve.free_port())  # the pod's loopback port, free on this machine

    def local(value: str) -> str:
        mounted = value.replace(features_container["volumeMounts"][0]["mountPath"], str(mount))
        return mounted.replace(":6566", f":{port}")

    args = [local(a) for a in features_container["args"]]
    args[args.index("--port") + 1] = port
    work = tmp_path / "work"  # the container's emptyDir at its workingDir
    work.mkdir()
    env = {e["name"]: e["value"].replace("/tmp", str(work)) for e in features_container["env"]}
    log = tmp_path / "feature-server.log"  # what the container writes, for the failure message
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, *args], cwd=work, env={**os.environ, **env}, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    fetched = local_serve.fetch_version(project, MODEL, "1", sqlite_uri(project), tmp_path / "model")
    model_env = {e["name"]: local(e["value"]) for e in model_container["env"]
                 if e["name"].startswith("MLPLAT_FEATURE")}
    try:
        local_serve.wait_http(server, f"http://127.0.0.1:{port}/health", log, 180)
        model = local_serve.start(project, fetched, tmp_path / "run", port=local_serve.free_port(),
                                  grpc_port=local_serve.free_port(), metrics_port=local_serve.free_port(),
                                  echo=lambda _: None,
                                  extra_env={**model_env, "MLPLAT_FEATURES_AS_OF": AS_OF.isoformat()})
        try:
            status, answer = model.predict([[1], [2]], names=["customer_id"])
        finally:
            model.stop()
    finally:
        local_serve.stop_group(server)
    assert status == 200, answer
    _, expected = predict(served, ["customer_id"], [[1], [2]])  # `mlplat serve`, on the dev stores
    assert answer["data"] == expected["data"]
    assert answer["meta"]["tags"]["features"] == expected["meta"]["tags"]["features"]


def test_the_prediction_log_records_the_served_features(served, project: Path, offline) -> None:
    """Last: stopping `mlplat serve` makes the sink write what it holds."""
    served["process"].send_signal(signal.SIGTERM)
    assert served["process"].wait(timeout=STOP_SECONDS) == 0
    logged = pd.read_parquet(project / ".mlplat" / "prediction-logs" / "growth" / MODEL)
    by_entity = logged[logged["row"].notna()].drop_duplicates("customer_id").set_index("customer_id")
    expected = offline.set_index("customer_id")
    for feature in served["model"].features:
        assert by_entity.loc[CUSTOMERS, feature].tolist() == expected.loc[CUSTOMERS, feature].astype(float).tolist()
