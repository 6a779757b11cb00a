"""The canary analysis against a scripted Prometheus: whatever is wrong with its answers, the analysis
is blind (exit 2, the blind gauge on a real Pushgateway) and never steps up, promotes or rolls back.

Each case breaks one thing in otherwise well-formed answers, on two baselines: main 20,000 requests
with 10 failures against a canary's 2,000 with 900 (well formed: a rollback), and the same canary
with 1 failure (well formed: a step up). The step runs as its pod runs it (`python -m runtime canary`'s
main, with the rendered prod fraud-detector spec and releases.yaml), with a 2 s deadline.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from compiler.local.serve import free_port
from runtime.canary import step
from runtime.canary.prometheus_query import Blind, Deadline, parse_vector
from tests.conftest import REPO, checked_model
from tests.runtime.monitoring_stack import spawn, until

DEADLINE = 2  # seconds: rollout.analysis.deadline in this test's spec
NOW = "1796198400"  # 2026-12-02T08:00:00Z: two days into the step of environments/prod/releases.yaml


class Script:
    """What the scripted Prometheus answers: counts per side, and one fault."""

    def __init__(self, canary_failed: int, fault: str = "", target: str = "errors.canary"):
        self.counts = {"requests.main": "20000", "errors.main": "10", "requests.canary": "2000",
                       "errors.canary": str(canary_failed)}
        self.fault, self.target = fault, target

    def which(self, query: str) -> str | None:
        """The fact a query asks for (requests or errors of main or canary), or None."""
        if "seldon_api_executor_server_requests_seconds_count" not in query:
            return None
        side = "canary" if 'predictor="canary"' in query else "main"
        return f"{'errors' if 'code!~' in query else 'requests'}.{side}"

    def answer(self, query: str) -> tuple[int, dict[str, str], bytes]:
        fact = self.which(query)
        if query.startswith("count(up{"):
            rows = [{"metric": {}, "value": [1, "4"]}]
        elif fact:
            rows = [{"metric": {}, "value": [1, self.counts[fact]]}]
        elif 'by (le)' in query and "requests_seconds_bucket" in query:
            side = "canary" if 'predictor="canary"' in query else "main"
            total = self.counts[f"requests.{side}"]
            rows = [{"metric": {"le": le}, "value": [1, total]} for le in ("0.05", "+Inf")]
        else:
            rows = []  # no prediction counters, no quality, no alerts
        body: Any = {"status": "success", "data": {"resultType": "vector", "result": rows}}
        if fact == self.target or (self.target == "*" and fact):
            return self.broken(body, rows)
        return 200, {}, json.dumps(body).encode()

    def broken(self, body: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[int, dict[str, str], bytes]:
        fault = self.fault
        if fault in ("NaN", "+Inf", "-900", "abc", "9223372036854775808", "1e20"):
            rows[0]["value"][1] = fault
        elif fault == "two series":
            rows.append({"metric": {"instance": "b"}, "value": [1, "1"]})
        elif fault == "main errors above its requests":
            self.counts["errors.main"] = "30000"
            rows[0]["value"][1] = "30000"
        elif fault == "no data":
            del body["data"]
        elif fault == "string result":
            body["data"]["result"] = "900"
        elif fault == "value not a pair":
            rows[0]["value"] = "900"
        elif fault == "matrix":
            body["data"]["resultType"] = "matrix"
        elif fault == "error status":
            body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
        elif fault == "not JSON":
            return 200, {}, b"<html>maintenance</html>"
        elif fault == "HTTP 500":
            return 500, {}, b'{"status":"error","error":"internal"}'
        elif fault == "redirect":
            return 302, {"Location": "http://127.0.0.2:9/api/v1/query"}, b""
        elif fault:
            raise AssertionError(f"unknown fault {fault}")
        return 200, {}, json.dumps(body).encode()


class ScriptedPrometheus(BaseHTTPRequestHandler):
    script: Script
    asked: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["query"][0]
        ScriptedPrometheus.asked.append(query)
        status, headers, body = ScriptedPrometheus.script.answer(query)
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prometheus():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedPrometheus)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory):
    """Debian's Pushgateway, on loopback."""
    if not shutil.which("prometheus-pushgateway"):
        pytest.skip("Debian's prometheus-pushgateway is absent (.ci/run installs it)")
    address = f"127.0.0.1:{free_port()}"
    work = tmp_path_factory.mktemp("pushgateway")
    process = spawn(["prometheus-pushgateway", f"--web.listen-address={address}"], work / "pushgateway.log")
    try:
        until("the Pushgateway", lambda: urllib.request.urlopen(f"http://{address}/-/ready", timeout=5).status == 200)
        yield f"http://{address}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prod fraud-detector's resolved spec as its ConfigMap holds it, with a 2 s analysis deadline."""
    spec = json.loads(checked_model(REPO, "fraud-detector", "prod").summary_json())
    spec["spec"]["serving"]["rollout"]["analysis"]["deadline"] = f"{DEADLINE}s"
    path = tmp_path_factory.mktemp("evidence") / "model.json"
    path.write_text(json.dumps(spec))
    return path


def pushed(gateway: str, environment: str) -> dict[str, float]:
    """The mlplat_canary_* gauges the Pushgateway holds for fraud-detector in `environment`."""
    text = urllib.request.urlopen(f"{gateway}/metrics", timeout=10).read().decode()
    found = {}
    for line in text.splitlines():
        match = re.match(r'(mlplat_canary_\w+)\{([^}]*)\} (\S+)$', line)
        if match and f'environment="{environment}"' in match.group(2) and 'model="fraud-detector"' in match.group(2):
            found[match.group(1)] = float(match.group(3))
    return found


def analyse(prometheus_url: str, gateway: str, spec_file: Path, tmp_path: Path, case: str) -> tuple[int, dict]:
    environment = "case-" + re.sub(r"[^a-z0-9]+", "-", case.lower()).strip("-")
    code = step.main(["--model", "fraud-detector", "--environment", environment, "--spec", str(spec_file),
                      "--outputs", str(tmp_path / environment), "--prometheus", prometheus_url, "--pushgateway",
                      gateway, "--releases", str(REPO / "environments/prod/releases.yaml"), "--now", NOW])
    decision = json.loads((tmp_path / environment / "decision.json").read_text())
    return code, {**decision, "gauges": pushed(gateway, environment)}


FAULTS = ["NaN", "+Inf", "-900", "abc", "9223372036854775808", "1e20", "two series", "main errors above its requests",
          "no data", "string result", "value not a pair", "matrix", "error status", "not JSON", "HTTP 500", "redirect"]


@pytest.mark.parametrize("baseline", [900, 1], ids=["bad-canary", "good-canary"])
def test_well_formed_answers_decide(prometheus: str, pushgateway: str, spec_file: Path, tmp_path: Path,
                                    baseline: int) -> None:
    ScriptedPrometheus.script, ScriptedPrometheus.asked = Script(baseline), []
    code, decision = analyse(prometheus, pushgateway, spec_file, tmp_path, f"baseline {baseline}")
    assert code == step.DECIDED and decision["action"] == ("rollback" if baseline == 900 else "step"), decision
    assert decision["gauges"]["mlplat_canary_blind"] == 0


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("baseline", [900, 1], ids=["bad-canary", "good-canary"])
def test_any_doubtful_answer_makes_the_analysis_blind(prometheus: str, pushgateway: str, spec_file: Path,
                                                      tmp_path: Path, fault: str, baseline: int) -> None:
    target = "errors.main" if fault == "main errors above its requests" else "errors.canary"
    ScriptedPrometheus.script, ScriptedPrometheus.asked = Script(baseline, fault, target), []
    code, decision = analyse(prometheus, pushgateway, spec_file, tmp_path, f"{fault} {baseline}")
    assert (code, decision["action"], decision["blind"]) == (step.BLIND, "hold", True), decision
    assert decision["reason"].startswith("blind: ")
    assert (tmp_path / decision["environment"] / "decision").read_text() == "blind"
    assert decision["gauges"]["mlplat_canary_blind"] == 1 and decision["gauges"]["mlplat_canary_decision"] == 0


class SlowServer:
    """A TCP server that accepts and then sends nothing (`trickle=False`) or one byte of a valid answer
    every `every` seconds."""

    def __init__(self, trickle: bool, every: float = 0.3):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.trickle, self.every = trickle, every
        self.stopped = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)
            if self.trickle:
                threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        answer = b'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{"status": "success", ' + b" " * 100000
        for byte in answer:
            if self.stopped.wait(self.every):
                return
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.parametrize("trickle", [False, True], ids=["silent socket", "trickle"])
def test_a_prometheus_that_never_finishes_is_blind_at_the_deadline(pushgateway: str, spec_file: Path,
                                                                   tmp_path: Path, trickle: bool) -> None:
    server = SlowServer(trickle)
    try:
        started = time.monotonic()
        code, decision = analyse(server.url, pushgateway, spec_file, tmp_path, "trickle" if trickle else "silent")
        took = time.monotonic() - started
    finally:
        server.close()
    assert (code, decision["blind"]) == (step.BLIND, True), decision
    assert "did not answer in full within the analysis' deadline of 2 s" in decision["reason"], decision["reason"]
    # The deadline ended it, not a per-read timeout that a trickle resets: far below the 150 s once seen.
    assert took < 60, took
    assert pushed(pushgateway, decision["environment"])["mlplat_canary_blind"] == 1


def test_one_deadline_spans_every_query_of_an_analysis() -> None:
    """Each read gets only what is left of one deadline (an injected clock: no waiting)."""
    now = [0.0]
    deadline = Deadline(2, clock=lambda: now[0])
    assert deadline.left() == 2
    now[0] = 1.5
    assert deadline.left() == 0.5
    now[0] = 2.0
    with pytest.raises(Blind, match="within the analysis' deadline of 2 s"):
        deadline.left()


@pytest.mark.parametrize(("body", "by", "problem"), [
    (b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"le": "1"}, '
     b'"value": [1, "2"]}, {"metric": {"le": "1"}, "value": [1, "3"]}]}}', "le", "two series for le='1'"),
    (b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, 2]}]}}',
     None, 'not a series with a [time, "value"] pair'),
    (b'[1, 2]', None, "refused"),
])
def test_answers_are_parsed_strictly(body: bytes, by: str | None, problem: str) -> None:
    with pytest.raises(Blind, match=re.escape(problem)):
        parse_vector(body, "q", by)


def test_signed_sums_may_be_negative_but_counts_may_not() -> None:
    body = b'{"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "-3.5"]}]}}'
    assert parse_vector(body, "q", signed=True) == {"": -3.5}
    with pytest.raises(Blind, match="cannot be negative"):
        parse_vector(body, "q")


def test_the_pods_command_is_blind_too(prometheus: str, pushgateway: str, spec_file: Path, tmp_path: Path) -> None:
    """`python -m runtime canary` as the CronWorkflow's container runs it: exit 2 on a NaN."""
    ScriptedPrometheus.script, ScriptedPrometheus.asked = Script(900, "NaN"), []
    done = subprocess.run([step.sys.executable, "-m", "runtime", "canary", "--model", "fraud-detector",
                           "--environment", "case-pod", "--spec", str(spec_file), "--outputs", str(tmp_path / "out"),
                           "--prometheus", prometheus, "--pushgateway", pushgateway, "--releases",
                           str(REPO / "environments/prod/releases.yaml"), "--now", NOW],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == step.BLIND, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "HOLD: blind:" in done.stdout + done.stderr
    assert pushed(pushgateway, "case-pod")["mlplat_canary_blind"] == 1
