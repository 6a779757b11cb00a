"""The prediction-log sink: CloudEvents as Seldon's executor sends them, pairing, bounded Parquet batches,
bad events counted and never raised, and every buffered row written on SIGTERM."""

from __future__ import annotations

import json
import os
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
from tests.conftest import REPO, checked_model

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
                             clock=lambda: clock[0], max_rows=settings.pop("max_rows", None),
                             max_bytes=settings.pop("max_bytes", 256 << 20))
    target = Sink(writer, MODELS, clock=lambda: clock[0], log=lambda _: None, **settings)
    target.counted_before = _counters(target)  # type: ignore[attr-defined]
    return target


def post(target: Sink, kind: str, request_id: str, body: dict) -> int:
    return target.accept(headers(kind, request_id), json.dumps(body).encode())[0]


def counted(target: Sink) -> dict[str, float]:
    """The sink's counters since it was made. Importing Feast (as other tests in a worker do) switches
    prometheus_client to its multiprocess mode for the whole process, where counters of one name share one
    value across registries: a new sink's counters do not start at 0 then."""
    before = target.counted_before  # type: ignore[attr-defined]
    return {key: value - before.get(key, 0.0) for key, value in _counters(target).items()}


def _counters(target: Sink) -> dict[str, float]:
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
    assert target.close() == (2, 0) and counted(target)["mlplat_prediction_log_unpaired_total"] == 5


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

    manifest = REPO / "environments/prod/apps/payments/prediction-log/deployment-mlplat-prediction-log.yaml"
    [container] = yaml.safe_load(manifest.read_text())["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    fraud = checked_model(REPO, "fraud-detector", "prod")
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


# -- what a full disk, odd requests, large bodies and slow clients do (the second hardening round) ----------
def test_a_batch_keeps_every_rows_columns_and_a_feature_never_takes_a_predictions(tmp_path: Path) -> None:
    """The file's columns are the union of its rows': a second request with other features loses none of them
    (the first row's columns were the file's). A feature named like a score column is refused, never
    overwritten by the class-1 probability."""
    clock = [0.0]
    target = sink(tmp_path, clock)
    other = {"data": {"names": ["amount", "merchant_risk"], "ndarray": [[5.0, 0.7]]}}
    assert post(target, "request", "r1", REQUEST) == 202 and post(target, "response", "r1", RESPONSE) == 202
    assert post(target, "request", "r2", other) == 202
    assert post(target, "response", "r2", {**RESPONSE, "data": {"names": ["probability"], "ndarray": [0.4]}}) == 202
    assert target.close() == (3, 0)
    table = ds.dataset(str(tmp_path / "log" / "fraud-detector"), format="parquet").to_table()
    rows = sorted(table.to_pylist(), key=lambda r: (r["request_id"], r["row"]))
    assert [(r["amount"], r["hour_of_day"], r["merchant_risk"]) for r in rows] == [
        (12.5, 3.0, None), (99.0, 23.0, None), (5.0, None, 0.7)]
    clashing = {"data": {"names": ["score_1", "amount"], "ndarray": [[0.2, 1.0]]}}
    assert post(target, "request", "r3", clashing) == 202  # a request waits for its response...
    classes = {"data": {"names": ["0", "1"], "ndarray": [[0.9, 0.1]]}, "meta": {"tags": {"version": "13"}}}
    assert post(target, "response", "r3", classes) == 400  # ...and the pair is refused as bad_schema
    assert counted(target)["bad_schema"] == 1


def test_memory_is_bounded_in_bytes_not_a_count(tmp_path: Path) -> None:
    """Twelve unpaired 4.4 MB requests held 53 MB where 10 MB is allowed: the oldest are forgotten and counted;
    and buffered rows are bounded by their size as well as their number."""
    clock = [0.0]
    target = sink(tmp_path, clock, max_pending_bytes=10_000_000)
    wide = {"data": {"names": [f"f{i}" for i in range(30)], "ndarray": [[1234.5678] * 30] * 13_300}}
    body = json.dumps(wide).encode()
    assert len(body) > 4_000_000
    for index in range(12):
        assert target.accept(headers("request", f"big{index}"), body)[0] == 202
        assert target._pending_bytes <= 10_000_000
    assert counted(target)["mlplat_prediction_log_unpaired_total"] == 10  # two fit in 10 MB
    small = sink(tmp_path / "rows", clock, max_bytes=10_000)
    for index in range(10):
        post(small, "request", f"r{index}", REQUEST)
        post(small, "response", f"r{index}", RESPONSE)
    assert 0 < small.writer.buffered_bytes <= 10_000 and small.writer.buffered < 20
    assert counted(small)["mlplat_prediction_log_rows_dropped_total"] == 20 - small.writer.buffered


def test_a_failed_write_leaves_no_hidden_file_and_a_shutdown_says_what_it_lost(tmp_path: Path) -> None:
    clock = [0.0]
    target = sink(tmp_path, clock)
    post(target, "request", "r1", REQUEST)
    post(target, "response", "r1", RESPONSE)

    def full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    import pyarrow.parquet as pq

    original = pq.write_table
    pq.write_table = full  # the stream opened, nothing fits in it
    try:
        assert target.writer.flush() == 0 and target.writer.buffered == 2
        assert target.close() == (0, 2)  # the last write failed too: two rows lost, and said so
    finally:
        pq.write_table = original
    assert not [p for p in (tmp_path / "log").rglob("*") if p.is_file()]  # no .part-*.tmp left behind
    assert counted(target)["mlplat_prediction_log_rows_dropped_total"] == 2


def test_a_body_shorter_than_its_length_or_trickled_is_cut_off(tmp_path: Path) -> None:
    """A client that sends less than its Content-Length (or a byte at a time) got a thread held forever; now
    it gets 408 after --read-seconds, and the sink keeps serving."""
    import socket

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "runtime", "prediction-log", "--host", "127.0.0.1", "--port",
                                str(port), "--output", str(tmp_path / "log"), "--models", "fraud-detector",
                                "--read-seconds", "1"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in process.stderr.readline()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as short:
            short.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 1000\r\n\r\n{\"data\": ")
            answer = short.recv(4096)  # waits for the sink's verdict: an event, bounded by the socket's timeout
        assert answer.startswith(b"HTTP/1.1 408"), answer
        url = f"http://127.0.0.1:{port}/"
        assert _post(url, headers("request", "r1"), json.dumps(REQUEST).encode()) == 202
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def _can_mount_tmpfs(tmp_path: Path) -> list[str] | None:
    """The unshare command that gives a process its own mount namespace where it may mount a tmpfs, or None."""
    import shutil as which

    if which.which("unshare") is None:
        return None
    target = tmp_path / "probe"
    target.mkdir()
    for command in (["unshare", "-m"], ["unshare", "-rm"]):
        probe = subprocess.run([*command, "sh", "-c", f"mount -t tmpfs -o size=16k tmpfs {target}"],
                               capture_output=True)
        if probe.returncode == 0:
            return command
    return None


def test_a_full_disk_loses_nothing_it_counted_as_written(tmp_path: Path) -> None:
    """The sink writing into a 96 KiB tmpfs (its own mount namespace) while 3,000 rows arrive: the disk fills;
    every file in it is whole and holds all its columns, no hidden .tmp file is left, the rows it could not
    write are counted, and SIGTERM exits 1 saying how many were lost. (It used to count them as written,
    leave a .part-*.tmp per failed write, and exit 0 after "wrote 0 buffered rows".)"""
    unshare = _can_mount_tmpfs(tmp_path)
    if unshare is None:
        pytest.skip("no mount namespace with a tmpfs here (unshare -m needs root or user namespaces)")
    disk, kept, port = tmp_path / "disk", tmp_path / "kept", free_port()
    disk.mkdir()
    # sh ignores the SIGTERM sent to the group (the sink sets its own handler) and reports the sink's exit
    script = ('trap "" TERM; mount -t tmpfs -o size=96k tmpfs "$1" && "$2" -m runtime prediction-log '
              '--host 127.0.0.1 --port "$3" '
              '--output "$1" --models fraud-detector --batch-rows 100 --flush-seconds 1; code=$?; '
              'find "$1" -name ".*" > "$4/hidden"; cp -r "$1/." "$4/files"; exit $code')
    kept.mkdir()
    log_file = tmp_path / "sink.log"
    with open(log_file, "w") as log_out:  # a file, not a pipe: a pipe nobody reads would block the sink's log
        process = subprocess.Popen([*unshare, "sh", "-c", script, "sh", str(disk), sys.executable, str(port),
                                    str(kept)], cwd=REPO, stderr=log_out, start_new_session=True)
    try:
        from tests.runtime.monitoring_stack import until

        until("the sink listening", lambda: "listening on" in log_file.read_text())
        url = f"http://127.0.0.1:{port}/"
        answer = {"data": {"names": ["probability"], "ndarray": [0.25]}, "meta": {"tags": {"version": "13"}}}
        rng = __import__("random").Random(96)
        names = ["amount", "hour_of_day", *(f"f{i}" for i in range(18))]  # values that do not compress away
        for index in range(3000):
            one = {"data": {"names": names, "ndarray": [[rng.random() for _ in names]]}}
            assert _post(url, headers("request", f"r{index}"), json.dumps(one).encode()) == 202
            assert _post(url, headers("response", f"r{index}"), json.dumps(answer).encode()) == 202
        with urllib.request.urlopen(url + "prometheus", timeout=30) as response:
            metrics = response.read().decode()
        assert "mlplat_prediction_log_write_errors_total 0.0" not in metrics  # the disk did fill
        os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=120)
        log = log_file.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert code == 1, log
    written, lost = map(int, __import__("re").search(r"wrote (\d+) buffered rows, and LOST (\d+)", log).groups())
    files = list((kept / "files").rglob("*.parquet"))
    table = ds.dataset([str(f) for f in files], format="parquet").to_table() if files else None
    on_disk = table.num_rows if table is not None else 0
    assert (kept / "hidden").read_text() == ""  # no .part-*.parquet.tmp left by the failed writes
    if table is not None:
        assert {"request_id", "amount", "hour_of_day", "prediction"} <= set(table.column_names)
    counts = {name: float(value) for name, value in __import__("re").findall(
        r"^mlplat_prediction_log_rows_(written|dropped)_total(?:\{[^}]*\})? (\S+)$", metrics, __import__("re").M)}
    dropped_before = counts.get("dropped", 0.0)  # the buffer full while the disk was: the oldest rows dropped
    written_before = sum(float(v) for v in __import__("re").findall(
        r"^mlplat_prediction_log_rows_written_total\{[^}]*\} (\S+)$", metrics, __import__("re").M))
    # every row is in a whole file on disk, or counted as lost: nothing counted as written is missing
    assert on_disk == written_before + written, (on_disk, written_before, written)
    assert on_disk + dropped_before + lost == 3000 and lost > 0, (on_disk, dropped_before, lost)
    assert on_disk > 0  # what fitted is there, in files of at most a batch
    print(f"\nfull disk (96 KiB tmpfs, 3,000 rows): {on_disk} rows in {len(files)} whole files; "
          f"{int(dropped_before)} dropped while the buffer was full and {lost} lost at shutdown, all counted; "
          f"exit {code}")
