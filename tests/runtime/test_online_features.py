"""The model server's online feature client against a real Feast feature server (`feast serve` over the
rendered dev definitions, the example's generated events materialised into SQLite): for the same
entities it returns what the offline point-in-time join gives at the same time (no training-serving
skew), and an unknown entity, a value past its TTL and a server that is down are named errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

pd = pytest.importorskip("pandas")
pytest.importorskip("feast")

from runtime.data import example  # noqa: E402
from runtime.features.definitions import feast_objects, feature_store  # noqa: E402
from runtime.features.retrieval import training_frame  # noqa: E402
from runtime.serving.online_features import MISSING, STALE, UNREACHABLE, FeatureLookupError, OnlineFeatures  # noqa: E402

DEFINITIONS = json.loads((REPO / "environments/dev/features/definitions.json").read_text())
EVENTS = example.table("customer-transactions")
END = EVENTS["event_timestamp"].max().to_pydatetime() + dt.timedelta(seconds=1)
CUSTOMERS = list(range(1, 41))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen, deadline_seconds: float = 120) -> None:
    """Until the server answers /health, or has exited; the deadline only guards against a hang."""
    give_up = time.monotonic() + deadline_seconds
    while time.monotonic() < give_up:
        if server.poll() is not None:
            pytest.fail(f"feast serve exited with {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("feast serve did not become healthy")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    repo = tmp_path_factory.mktemp("feature-server")
    settings = {"project": "mlplat_online", "provider": "local", "registry": str(repo / "registry.db"),
                "online_store": {"type": "sqlite", "path": str(repo / "online.db")},
                "offline_store": {"type": "duckdb"}, "entity_key_serialization_version": 3}
    (repo / "feature_store.yaml").write_text(yaml.safe_dump(settings))
    store = feature_store(settings, repo)
    store.apply(feast_objects(DEFINITIONS, repo))
    store.materialize(END - dt.timedelta(days=30), END)
    port = _free_port()
    # HOME: gunicorn (under feast serve) puts a control socket in ~/.gunicorn, which must be the test's
    server = subprocess.Popen([str(Path(sys.executable).parent / "feast"), "serve", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "HOME": str(repo)})
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server)
        yield url, store
    finally:
        server.terminate()
        server.wait(timeout=30)


def client(url: str, service: str, at: dt.datetime = END) -> OnlineFeatures:
    # a timeout no loaded CI machine reaches: a slow answer is not what these tests are about
    return OnlineFeatures.from_definitions(url, DEFINITIONS, service, clock=lambda: at.timestamp(),
                                           timeout_seconds=120)


@pytest.mark.parametrize("service", ["chargeback_features", "churn_features"])
def test_served_features_equal_the_offline_join_at_the_same_time(served: tuple[str, Any], service: str) -> None:
    url, store = served
    online = client(url, service).lookup({"customer_id": CUSTOMERS})
    labels = pd.DataFrame({"customer_id": CUSTOMERS, "event_timestamp": [END] * len(CUSTOMERS),
                           "label": [0] * len(CUSTOMERS)})
    features = list(client(url, service).features)
    offline = training_frame(store, service, labels)[features]
    assert online == offline.astype(object).where(offline.notna(), None).values.tolist()
    assert all(value is not None for row in online for value in row)


def test_an_unknown_entity_is_a_named_error_not_a_default(served: tuple[str, Any]) -> None:
    with pytest.raises(FeatureLookupError) as raised:
        client(served[0], "churn_features").lookup({"customer_id": [1, 99999]})
    assert raised.value.reason == MISSING
    assert "customer_id=99999: txn_count_7d, days_active_30d" in raised.value.message
    assert "customer_id=1:" not in raised.value.message


def test_a_value_older_than_its_ttl_is_stale(served: tuple[str, Any]) -> None:
    later = END + dt.timedelta(days=31)  # the view's TTL is 30 days; nothing was materialised since
    with pytest.raises(FeatureLookupError) as raised:
        client(served[0], "churn_features", later).lookup({"customer_id": [1]})
    assert raised.value.reason == STALE and "customer_id=1: txn_count_7d, days_active_30d" in raised.value.message


def test_wrong_entity_keys_and_a_server_that_is_down(served: tuple[str, Any]) -> None:
    with pytest.raises(ValueError, match="entity keys must be exactly customer_id; unknown: user_id"):
        client(served[0], "churn_features").lookup({"customer_id": [1], "user_id": [1]})
    with pytest.raises(FeatureLookupError) as raised:
        client(f"http://127.0.0.1:{_free_port()}", "churn_features").lookup({"customer_id": [1]})
    assert raised.value.reason == UNREACHABLE


def test_the_client_runs_in_the_model_servers_environment(served: tuple[str, Any]) -> None:
    """seldon-core 1.18's environment (protobuf 3, no pandas, no Feast) reads the same rows."""
    from compiler.local.serve import serving_env

    python = serving_env(REPO, echo=lambda _: None) / "bin" / "python"
    script = ("import json, sys; from runtime.serving.online_features import OnlineFeatures as O; "
              "c = O.from_definitions(sys.argv[1], json.load(open(sys.argv[2])), 'churn_features', "
              "clock=lambda: float(sys.argv[3]), timeout_seconds=120); "
              "print(json.dumps(c.lookup({'customer_id': [1, 2]})))")
    definitions = REPO / "environments/dev/features/definitions.json"
    ran = subprocess.run([str(python), "-c", script, served[0], str(definitions), str(END.timestamp())], cwd=REPO,
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == client(served[0], "churn_features").lookup({"customer_id": [1, 2]})


class ColdFeatureServer:
    """A feature server whose first lookup takes longer than a request's timeout, as Feast's does while it
    loads its registry and store; it answers every lookup with NOT_FOUND."""

    def __init__(self, first_lookup_seconds: float):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.lookups = 0
        cold = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                cold.lookups += 1
                if cold.lookups == 1:
                    time.sleep(first_lookup_seconds)
                body = json.dumps({"metadata": {"feature_names": []}, "results": []}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


def test_the_model_server_is_ready_only_once_the_feature_server_answers() -> None:
    """The warm-up the model server runs while it loads waits out a cold first lookup (3 s, beyond the 2 s a
    request may take), so that the first request it serves meets a warm server; a server that never
    answers stops the model server from starting, with the reason."""
    cold = ColdFeatureServer(first_lookup_seconds=3)
    try:
        online = OnlineFeatures.from_definitions(cold.url, DEFINITIONS, "churn_features", timeout_seconds=2)
        assert online.warm_up(120) == 1 and cold.lookups == 1
    finally:
        cold.server.shutdown()
    nobody = OnlineFeatures.from_definitions(f"http://127.0.0.1:{_free_port()}", DEFINITIONS, "churn_features")
    with pytest.raises(RuntimeError, match="did not answer a lookup within 0.5 s"):
        nobody.warm_up(0.5, sleep=lambda _: None)
