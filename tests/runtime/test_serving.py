"""The model class under the real seldon-core-microservice: HTTP predictions equal in-process ones,
bad requests get a clear 400 and the server keeps serving, metrics reach the metrics port, and
`mlplat serve` leaves nothing running when it is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from compiler.local import serve as local_serve
from runtime import artifact
from runtime.data import uris
from tests.runtime.conftest import MODEL, sqlite_uri

# The session's trained registry (tests/runtime/conftest.py) is shared: one worker runs these files.
pytestmark = pytest.mark.xdist_group("registry")
# The server's body limit here: small, so that a refused body still fits the loopback socket's buffers
# and the client reads the 413 rather than a reset connection.
MAX_BODY = 65_536


@pytest.fixture(scope="module")
def server(project: Path, first_run):
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    run_dir = project / ".mlplat" / "serving-test"
    fetched = local_serve.fetch_version(project, MODEL, "1", sqlite_uri(project), run_dir / "model")
    # Hand metrics to Seldon on every request, so the metrics test need not wait for a flush.
    port = local_serve.free_port
    running = local_serve.start(project, fetched, run_dir, port=port(), grpc_port=port(), metrics_port=port(),
                                echo=lambda _: None,
                                extra_env={"MLPLAT_METRICS_FLUSH_SECONDS": "0",
                                           "MLPLAT_MAX_REQUEST_BYTES": str(MAX_BODY)})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def eval_rows(server) -> np.ndarray:
    frame = uris.load("sklearn://breast_cancer?split=eval&holdout=0.25&seed=0", "benign")
    return frame[server.fetched["features"]].to_numpy()[:25]


def test_http_prediction_equals_in_process_prediction(server, eval_rows) -> None:
    status, answer = server.predict(eval_rows.tolist())
    assert status == 200
    assert answer["data"]["names"] == ["probability"]
    expected = artifact.load(Path(server.fetched["directory"]), device="cpu").predict(eval_rows)
    np.testing.assert_allclose(answer["data"]["ndarray"], expected, rtol=1e-6, atol=1e-7)
    assert answer["meta"]["tags"] == {"model": MODEL, "version": "1"}
    assert "metrics" not in answer["meta"]


def test_feature_order_follows_the_names_given(server, eval_rows) -> None:
    names = list(reversed(server.fetched["features"]))
    _, reordered = server.predict(eval_rows[:, ::-1].tolist(), names=names)
    assert reordered["data"]["ndarray"] == server.predict(eval_rows.tolist())[1]["data"]["ndarray"]


@pytest.mark.parametrize("body,message", [
    ({"data": {"ndarray": [[1.0, 2.0]]}}, "row 0 has 2 values; the model takes 30 features"),
    ({"data": {"names": ["a", "b"], "ndarray": [[1.0, 2.0]]}}, "feature names do not match the model's 30 features"),
    ({"data": {"ndarray": [["x"] * 30]}}, "row 0 holds 'x'; every feature must be a finite number"),
    ({"data": {"ndarray": []}}, "no rows to predict"),
    ({"rows": [[1.0]]}, 'request needs "data" with "ndarray" or "tensor"'),
    ({"data": {"tensor": {"shape": [1, 30], "values": [0.0] * 29}}}, "data.tensor.values must hold 1 x 30 numbers"),
    ({"data": {"ndarray": [[1e39] * 30]}}, "row 0 holds 1e+39; every feature must be a finite number within float32"),
    ({"data": {"ndarray": [[10**400] + [0.0] * 29]}}, "row 0 holds a huge integer"),
    ({"data": {"tensor": {"shape": [1.5, 20], "values": [0.0] * 30}}}, '"shape": [rows, features] (two whole'),
    ([[0.0] * 30], "the request is a JSON array; it must be an object"),
    ("predict", "the request is a JSON string"),
    ('{"data": {"ndarray": ' + "[" * 20_000 + "]" * 20_000 + "}}", "the request nests too deeply"),
    (b" " * (MAX_BODY + 1), f"the request body is larger than {MAX_BODY:,} bytes"),
])
def test_bad_requests_get_400_and_the_server_keeps_serving(server, eval_rows, body, message: str) -> None:
    url = server.url + local_serve.PREDICT_PATH
    if isinstance(body, str | bytes) and len(body) > 100:  # raw text, as no JSON encoder would write it
        request = urllib.request.Request(url, body if isinstance(body, bytes) else body.encode(),
                                         {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        status, answer = refused.value.code, json.loads(refused.value.read())
    else:
        status, answer = local_serve.post_json(url, body)
    assert status == (413 if isinstance(body, bytes) else 400)
    assert answer["status"]["reason"] == "MICROSERVICE_BAD_DATA"
    assert message in answer["status"]["info"]
    assert server.predict(eval_rows[:1].tolist())[0] == 200
    assert server.process.poll() is None


def test_tensor_payload(server, eval_rows) -> None:
    body = {"data": {"tensor": {"shape": [2, 30], "values": eval_rows[:2].ravel().tolist()}}}
    _, answer = local_serve.post_json(server.url + local_serve.PREDICT_PATH, body)
    assert answer["data"]["ndarray"] == server.predict(eval_rows[:2].tolist())[1]["data"]["ndarray"]


def test_custom_metrics_reach_the_metrics_port(server, eval_rows) -> None:
    before = _metric(server, "mlplat_predictions_total")
    server.predict(eval_rows[:7].tolist())
    assert _metric(server, "mlplat_predictions_total") == before + 7
    assert _metric(server, 'mlplat_prediction_score_bucket_total', 'le="1.0"') >= 7


def _metric(server, name: str, label: str = "") -> float:
    port = server.process.args[server.process.args.index("--metrics-port") + 1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{local_serve.METRICS_PATH}", timeout=5) as response:
        text = response.read().decode()
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith(name + "{") and label in line]
    return sum(values)


def test_a_tampered_artifact_is_refused(project: Path, server, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(server.fetched["directory"], copy)
    (copy / "model.pt2").write_bytes((copy / "model.pt2").read_bytes() + b"tampered")
    fetched = {**server.fetched, "directory": str(copy)}
    with pytest.raises(local_serve.ServeError, match="exited with"):
        port = local_serve.free_port
        local_serve.start(project, fetched, tmp_path / "run", port=port(), grpc_port=port(), metrics_port=port(),
                          echo=lambda _: None, startup_timeout=120)
    assert "has sha256" in (tmp_path / "run" / "seldon.log").read_text()


def test_metrics_are_summed_between_flushes(server, eval_rows, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.serving import MlplatModel

    monkeypatch.setenv("MLPLAT_METRICS_FLUSH_SECONDS", "3600")
    monkeypatch.setenv("MLPLAT_ARTIFACT_SHA256", server.fetched["artifactSha256"])
    now = [1000.0]
    model = MlplatModel(server.fetched["directory"], clock=lambda: now[0])
    model.load()
    request = {"data": {"names": server.fetched["features"], "ndarray": eval_rows[:3].tolist()}}
    first = model.predict_raw(request)["meta"]
    # No model or version tag: the PodMonitor's relabelling adds those, and a tag would clash with them.
    assert first["metrics"][0] == {"type": "COUNTER", "key": "mlplat_predictions", "value": 3, "tags": {}}
    assert "metrics" not in model.predict_raw(request)["meta"]
    assert "metrics" not in model.predict_raw(request)["meta"]
    now[0] += 3599
    assert "metrics" not in model.predict_raw(request)["meta"]
    now[0] += 1
    counters = {(m["key"], m["tags"].get("le")): m["value"] for m in model.predict_raw(request)["meta"]["metrics"]}
    assert counters[("mlplat_predictions", None)] == 12
    assert counters[("mlplat_prediction_score_bucket", "1.0")] == 12
    scores = model.predict_raw(request)["data"]["ndarray"]
    assert counters[("mlplat_prediction_score_sum", None)] == pytest.approx(4 * sum(scores), rel=1e-6)


def _process_groups_of(text: str) -> set[int]:
    """Process groups of the processes whose command line contains `text`."""
    groups = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                groups.add(os.getpgid(int(pid)))
        except (OSError, ProcessLookupError):
            continue  # ended meanwhile
    return groups


# SIGTERM end to end (what Kubernetes and systemd send); Ctrl-C's KeyboardInterrupt and SIGHUP leave
# through the same `finally` that stops the process group (the unit test below).
@pytest.mark.parametrize("signum", [signal.SIGTERM], ids=lambda s: s.name)
def test_mlplat_serve_stops_its_whole_process_group(project: Path, first_run, signum: signal.Signals) -> None:
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    port = local_serve.free_port()
    process = subprocess.Popen([sys.executable, "-m", "compiler", "--root", str(project), "serve", MODEL,
                                "--port", str(port), "--metrics-port", str(local_serve.free_port())],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in process.stdout:  # until the server says it is ready (it gives up on its own after 180 s)
        lines.append(line)
        if line.startswith("press Ctrl-C"):
            break
    assert lines and lines[-1].startswith("press Ctrl-C"), "".join(lines)
    log = next(line.split("log:")[1].strip() for line in lines if line.strip().startswith("log:"))
    groups = _process_groups_of(str(Path(log).parent / "model"))  # seldon-core and its workers
    assert groups and os.getpgid(process.pid) not in groups
    # the executor on the public port and the prediction-log sink (`mlplat serve` itself is in ours)
    stack = (_process_groups_of(f"--port\x00{port}\x00")
             | _process_groups_of(str(project / ".mlplat" / "prediction-logs"))) - {os.getpgid(process.pid)}
    assert len(stack) == 2
    process.send_signal(signum)
    assert process.wait(timeout=120) == 0
    assert not [g for g in groups | stack if local_serve.group_alive(g)]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signals_become_the_exception_that_stops_the_server(signum: signal.Signals) -> None:
    """SIGHUP takes SIGTERM's path (tested end to end above): inside `mlplat serve` both raise, as Ctrl-C
    raises KeyboardInterrupt, so that the server's `finally` stops the process group; outside, the
    previous handlers are back."""
    from compiler.cli import serve as serve_command

    before = signal.getsignal(signum)
    with pytest.raises(serve_command._Stopped, match=signum.name), serve_command._stop_on(signal.SIGTERM,
                                                                                            signal.SIGHUP):
        os.kill(os.getpid(), signum)
    assert signal.getsignal(signum) is before


def test_counts_are_handed_over_when_traffic_stops(server, eval_rows, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last requests' counts reach Seldon from the flush thread's `flush_idle`, not only from a next
    request (which may never come)."""
    import runtime.serving as serving
    from runtime.serving import seldon_hooks

    handed: list[tuple[list, str]] = []
    monkeypatch.setattr(seldon_hooks, "_seldon_metrics", object())
    monkeypatch.setattr(seldon_hooks, "_seldon_update",
                        lambda _store, metrics, method: handed.append((metrics, method)))
    monkeypatch.setenv("MLPLAT_METRICS_FLUSH_SECONDS", "1")
    monkeypatch.setenv("MLPLAT_ARTIFACT_SHA256", server.fetched["artifactSha256"])
    now = [1000.0]
    model = serving.MlplatModel(server.fetched["directory"], clock=lambda: now[0])
    model._start_flusher = lambda: None  # the thread's loop is time.sleep + flush_idle; this test is the clock
    model.load()
    request = {"data": {"names": server.fetched["features"], "ndarray": eval_rows[:4].tolist()}}
    assert model.predict_raw(request)["meta"]["metrics"]  # the first request hands over at once
    model.predict_raw(request)
    assert model.flush_idle() is False and handed == []  # not yet due
    now[0] += 1
    assert model.flush_idle() is True
    [(metrics, method)] = handed
    assert method == "predict" and metrics[0] == {"type": "COUNTER", "key": "mlplat_predictions", "value": 4,
                                                  "tags": {}}
    assert model.flush_idle() is False  # nothing left


@pytest.mark.parametrize("output,scores,expected", [
    ("class-probabilities", [[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]],
     {("mlplat_predictions", ""): 4, ("mlplat_predicted_class", "0"): 1, ("mlplat_predicted_class", "1"): 2,
      ("mlplat_predicted_class", "2"): 1}),
    ("value", [[1.0], [3.0], [2.0]],
     {("mlplat_predictions", ""): 3, ("mlplat_prediction_sum", ""): 6.0, ("mlplat_prediction_square_sum", ""): 14.0}),
])
def test_counters_follow_the_kind_of_output(output: str, scores: list, expected: dict) -> None:
    from runtime.serving.counts import Counts as _Counts

    counts = _Counts()
    counts.add(np.array(scores), output)
    assert {(m["key"], m["tags"].get("class", "")): m["value"] for m in counts.metrics()} == expected


def test_refused_requests_are_counted_by_reason_on_the_metrics_port(server, eval_rows) -> None:
    reason = 'reason="MICROSERVICE_BAD_DATA"'
    before = _metric(server, "mlplat_request_failures_total", reason)
    assert local_serve.post_json(server.url + local_serve.PREDICT_PATH, {"data": {"ndarray": [[1.0]]}})[0] == 400
    assert _metric(server, "mlplat_request_failures_total", reason) == before + 1


@pytest.mark.parametrize("fault,reason", [("raises", "MLPLAT_MODEL_ERROR"), ("nan", "MLPLAT_MODEL_NON_FINITE")])
def test_a_model_fault_is_the_servers_error_counted_by_reason(server, eval_rows, monkeypatch: pytest.MonkeyPatch,
                                                              fault: str, reason: str) -> None:
    """Valid rows the model fails on (an exception in predict, output that is not finite) answer 500 with
    the reason, not a 400 that blames the client: a canary failing this way is compared as a failure."""
    import runtime.serving as serving

    monkeypatch.setenv("MLPLAT_ARTIFACT_SHA256", server.fetched["artifactSha256"])
    monkeypatch.setenv("MLPLAT_METRICS_FLUSH_SECONDS", "0")
    model = serving.MlplatModel(server.fetched["directory"])
    model.load()

    def broken(rows):
        if fault == "raises":
            raise ValueError("Input X contains NaN.")
        return np.full(len(rows), np.nan)

    monkeypatch.setattr(model.model, "predict", broken)
    request = {"data": {"names": server.fetched["features"], "ndarray": eval_rows[:2].tolist()}}
    with pytest.raises(serving.BadRequest) as refused:
        model.predict_raw(request)
    assert (refused.value.status_code, refused.value.reason) == (500, reason)
    assert "model" in refused.value.message
    assert model._pending.failures == {reason: 1}
    assert {"type": "COUNTER", "key": "mlplat_request_failures", "value": 1, "tags": {"reason": reason}} in \
        model._pending.metrics()
