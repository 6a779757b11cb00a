"""The prediction-log sink: CloudEvents as Seldon's executor sends them, pairing, bounded Parquet batches,
bad events counted and never raised, and every buffered row written on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from compiler.local.serve import free_port
from runtime.prediction_log import events
from runtime.prediction_log.server import Sink
from runtime.prediction_log.writer import PartitionWriter
from tests.conftest import REPO

MODELS = frozenset({"fraud-detector"})


def headers(kind: str, request_id: str, **extra: str) -> dict[str, str]:
    return {"content-type": "application/json", "ce-specversion": "1.0", "ce-id": "e1",
            "ce-type": f"io.seldon.serving.inference.{kind}", "ce-requestid": request_id,
            "ce-inferenceservicename": "fraud-detector", "ce-endpoint": "canary", "ce-time": "2026-12-02T03:15:00Z",
            **extra}


REQUEST = {"data": {"names": ["amount", "hour_of_day"], "ndarray": [[12.5, 3], [99.0, 23]]}}
RESPONSE = {"data": {"names": ["probability"], "ndarray": [0.1, 0.9]}, "meta": {"tags": {"version": "13"}}}


def event(kind: str, request_id: str, body: dict, **extra: str) -> events.Event:
    return events.parse(headers(kind, request_id, **extra), json.dumps(body).encode(), MODELS)


def test_a_request_and_its_response_make_one_row_per_predicted_row() -> None:
    rows = events.rows(event("request", "r1", REQUEST), event("response", "r1", RESPONSE), "fraud-detector",
                       datetime(2026, 12, 2, 4, tzinfo=UTC))
    assert rows == [
        {"request_id": "r1", "row": 0, "timestamp": datetime(2026, 12, 2, 3, 15, tzinfo=UTC), "model": "fraud-detector",
         "version": "13", "predictor": "canary", "amount": 12.5, "hour_of_day": 3.0, "prediction": 0.1},
        {"request_id": "r1", "row": 1, "timestamp": datetime(2026, 12, 2, 3, 15, tzinfo=UTC), "model": "fraud-detector",
         "version": "13", "predictor": "canary", "amount": 99.0, "hour_of_day": 23.0, "prediction": 0.9}]


def test_class_probabilities_log_the_class_and_each_score() -> None:
    response = {"data": {"names": ["class_0", "class_1", "class_2"], "ndarray": [[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]}}
    rows = events.rows(event("request", "r1", REQUEST), event("response", "r1", response), "m", datetime.now(UTC))
    assert [(r["prediction"], r["score_class_1"]) for r in rows] == [(1.0, 0.5), (0.0, 0.3)]


def test_structured_mode_is_read_too() -> None:
    envelope = {"specversion": "1.0", "id": "e", "type": "io.seldon.serving.inference.request", "requestid": "r9",
                "inferenceservicename": "fraud-detector", "endpoint": "main", "data": REQUEST}
    found = events.parse({"content-type": "application/cloudevents+json"}, json.dumps(envelope).encode(), MODELS)
    assert (found.kind, found.request_id, found.predictor, found.body) == ("request", "r9", "main", REQUEST)


@pytest.mark.parametrize("change,body,reason", [
    ({"ce-type": "io.seldon.serving.feedback"}, REQUEST, events.MALFORMED),
    ({"ce-requestid": ""}, REQUEST, events.MALFORMED),
    ({"ce-inferenceservicename": "someone-else"}, REQUEST, events.UNKNOWN_MODEL),
    ({}, "[1, 2]", events.MALFORMED),
    ({}, "{not json", events.MALFORMED),
    ({}, "[" * 100_000, events.MALFORMED),
])
def test_bad_events_are_refused_with_their_reason(change: dict, body: object, reason: str) -> None:
    payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    with pytest.raises(events.BadEvent) as caught:
        events.parse({**headers("request", "r1"), **change}, payload, MODELS)
    assert caught.value.reason == reason


@pytest.mark.parametrize("request_body,response_body,message", [
    ({"data": {"ndarray": [[1.0, 2.0]]}}, RESPONSE, "no \"data.names\""),
    ({"data": {"names": ["a", "b"], "ndarray": [[1.0]]}}, RESPONSE, "not 2 finite numbers"),
    ({"data": {"names": ["a", "b"], "ndarray": [[1.0, float("nan")]]}}, RESPONSE, "finite numbers"),
    ({"data": {"names": ["a", "prediction"], "ndarray": [[1.0, 2.0]]}}, RESPONSE, "reserved name"),
    ({"data": {"names": ["a", "b"], "ndarray": [[1.0, 2.0]]}}, RESPONSE, "2 rows for the request's 1"),
    (REQUEST, {"data": {"names": ["probability"], "ndarray": ["x", 0.1]}}, "not a finite number"),
    (REQUEST, {"status": {"code": 500}}, "no \"data.ndarray\""),
])
def test_a_pair_that_does_not_fit_is_a_schema_error(request_body: dict, response_body: dict, message: str) -> None:
    request = events.Event("request", "r1", "m", "main", None, request_body)
    response = events.Event("response", "r1", "m", "main", None, response_body)
    with pytest.raises(events.BadEvent, match=message) as caught:
        events.rows(request, response, "m", datetime.now(UTC))
    assert caught.value.reason == events.BAD_SCHEMA


def sink(tmp_path: Path, clock: list[float], **settings) -> Sink:
    writer = PartitionWriter(str(tmp_path / "log"), batch_rows=settings.pop("batch_rows", 100), flush_seconds=60,
                             clock=lambda: clock[0], max_rows=settings.pop("max_rows", None))
    return Sink(writer, MODELS, clock=lambda: clock[0], log=lambda _: None, **settings)


def post(target: Sink, kind: str, request_id: str, body: dict) -> int:
    return target.accept(headers(kind, request_id), json.dumps(body).encode())[0]


def counted(target: Sink) -> dict[str, float]:
    return {s.labels.get("outcome", s.name): s.value for metric in target.registry.collect() for s in metric.samples
            if s.name in ("mlplat_prediction_log_events_total", "mlplat_prediction_log_unpaired_total",
                          "mlplat_prediction_log_rows_dropped_total")}


def test_pairs_meet_in_either_order_and_strays_expire(tmp_path: Path) -> None:
    clock = [0.0]
    target = sink(tmp_path, clock, pair_seconds=60, max_pending=2)
    assert post(target, "response", "r1", RESPONSE) == 202  # the response may overtake its request
    assert post(target, "request", "r1", REQUEST) == 202
    assert target.writer.buffered == 2
    post(target, "request", "lost", REQUEST)  # its response never comes
    clock[0] = 61
    post(target, "request", "r2", REQUEST)
    assert counted(target)["mlplat_prediction_log_unpaired_total"] == 1
    for index in range(3):  # more waiting than max_pending: the oldest is forgotten and counted
        post(target, "request", f"w{index}", REQUEST)
    assert counted(target)["mlplat_prediction_log_unpaired_total"] == 3
    assert target.close() == 2 and counted(target)["mlplat_prediction_log_unpaired_total"] == 5


def test_rows_land_in_hourly_partitions_and_memory_stays_bounded(tmp_path: Path) -> None:
    clock = [0.0]
    target = sink(tmp_path, clock, batch_rows=4, max_rows=6)
    late = {**REQUEST}
    for index, hour in enumerate(("03", "03", "04")):
        target.accept(headers("request", f"r{index}", **{"ce-time": f"2026-12-02T{hour}:59:00Z"}),
                      json.dumps(late).encode())
        target.accept(headers("response", f"r{index}"), json.dumps(RESPONSE).encode())
    assert target.writer.due()  # 6 rows buffered, the batch is 4
    assert target.writer.flush() == 6
    files = sorted(p.relative_to(tmp_path / "log") for p in (tmp_path / "log").rglob("*.parquet"))
    assert [str(f.parent) for f in files] == ["fraud-detector/date=2026-12-02/hour=03",
                                              "fraud-detector/date=2026-12-02/hour=04"]
    table = ds.dataset(str(tmp_path / "log" / "fraud-detector"), format="parquet").to_table()
    assert table.num_rows == 6 and str(table.schema.field("timestamp").type) == "timestamp[us, tz=UTC]"
    assert not list((tmp_path / "log").rglob(".*"))  # no temporary file left
    for index in range(4):  # 8 rows into a buffer of at most 6: the oldest two are dropped and counted
        post(target, "request", f"x{index}", REQUEST)
        post(target, "response", f"x{index}", RESPONSE)
    assert target.writer.buffered == 6 and counted(target)["mlplat_prediction_log_rows_dropped_total"] == 2


def test_a_failed_write_keeps_its_rows_for_the_next_flush(tmp_path: Path) -> None:
    clock = [0.0]
    target = sink(tmp_path, clock)
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "fraud-detector").write_text("a file where the model's folder should be")
    post(target, "request", "r1", REQUEST)
    post(target, "response", "r1", RESPONSE)
    assert target.writer.flush() == 0 and target.writer.buffered == 2
    (tmp_path / "log" / "fraud-detector").unlink()
    assert target.writer.flush() == 2


def test_the_server_counts_bad_events_and_writes_everything_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "runtime", "prediction-log", "--host", "127.0.0.1", "--port",
                                str(port), "--output", str(tmp_path / "log"), "--models", "fraud-detector"],
                               cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in process.stderr.readline()
        url = f"http://127.0.0.1:{port}/"
        statuses = [_post(url, headers(kind, f"r{i}"), json.dumps(body).encode())
                    for i in range(5) for kind, body in (("request", REQUEST), ("response", RESPONSE))]
        statuses += [_post(url, headers("request", "bad"), b"{broken"),
                     _post(url, headers("request", "x", **{"ce-inferenceservicename": "nobody"}), b"{}")]
        assert statuses == [202] * 10 + [400, 400]
        with urllib.request.urlopen(url + "prometheus", timeout=10) as response:
            metrics = response.read().decode()
        assert 'mlplat_prediction_log_events_total{outcome="malformed"} 1.0' in metrics
        assert 'mlplat_prediction_log_buffered_rows 10.0' in metrics  # nothing written yet: the batch waits
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
    table = ds.dataset(str(tmp_path / "log"), format="parquet").to_table()
    assert table.num_rows == 10 and sorted(set(table.column("request_id").to_pylist())) == [f"r{i}" for i in range(5)]


def _post(url: str, head: dict[str, str], body: bytes) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, head), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_bad_events_are_logged_at_most_ten_a_minute_per_reason() -> None:
    from runtime.prediction_log.server import Throttle

    lines: list[str] = []
    now = [0.0]
    throttle = Throttle(lines.append, lambda: now[0], limit=10)
    for _ in range(25):
        throttle("malformed", "a bad one")
    throttle("unknown_model", "another reason")
    assert lines.count("a bad one") == 10 and "another reason" in lines
    now[0] = 60
    throttle("malformed", "a bad one")
    assert "prediction-log: malformed: 15 more in the last minute, not logged" in lines
    assert lines.count("a bad one") == 11


def test_the_rendered_sink_runs_as_kubernetes_would_and_writes_where_the_jobs_read(tmp_path: Path) -> None:
    """The payments sink's container from the rendered Deployment: its command and env, the store
    standing in for the bucket, and `--host 127.0.0.1 --port <free>` appended (argparse keeps the last),
    since the pod's 0.0.0.0:8080 is not this machine's to take."""
    import os

    import yaml

    from compiler.pipeline.check import check_project

    manifest = REPO / "environments/prod/apps/payments/prediction-log/deployment-mlplat-prediction-log.yaml"
    [container] = yaml.safe_load(manifest.read_text())["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    checked, _ = check_project(REPO)
    [fraud] = [m for m in checked.models if m.name == "fraud-detector" and m.environment == "prod"]
    bucket = env["MLPLAT_PREDICTION_LOG"]
    assert fraud.prediction_log == f"{bucket}/fraud-detector"  # what the drift and quality jobs read
    env["MLPLAT_PREDICTION_LOG"] = str(tmp_path / "bucket")
    port = free_port()
    command = [sys.executable if part == "python" else part for part in container["command"]]
    process = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)], cwd=REPO,
                               env={"PATH": os.environ["PATH"], **env}, stderr=subprocess.PIPE, text=True)
    try:
        assert "writing chargeback-risk, fraud-detector to" in process.stderr.readline()
        url = f"http://127.0.0.1:{port}/"
        assert [_post(url, headers(kind, "r1"), json.dumps(body).encode())
                for kind, body in (("request", REQUEST), ("response", RESPONSE))] == [202, 202]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
    [written] = (tmp_path / "bucket" / "fraud-detector" / "date=2026-12-02" / "hour=03").glob("*.parquet")
    assert ds.dataset(str(written), format="parquet").count_rows() == 2
