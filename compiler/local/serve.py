"""`mlplat serve`: a registered model version behind the real `seldon-core-microservice`, locally.

seldon-core 1.18 pins old Flask, protobuf and numpy, so it runs from its own virtual environment
(.mlplat/serving-venv, installed the first time from the serving image's lock,
platform/images/serving/requirements.lock). The version's artifact is downloaded by
`python -m runtime fetch` (MLflow lives in the main environment).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from compiler.local import runtime_call
from compiler.local.embedded import WORK_DIR
from renderers import seldon

REQUIREMENTS = "platform/images/serving/requirements.lock"  # the serving image's lock, with hashes
SERVING_CLASS = "runtime.serving.MlplatModel"
PREDICT_PATH = "/api/v1.0/predictions"
METRICS_PATH = seldon.METRICS_PATH


class ServeError(Exception):
    """Serving could not start; the message says why and where the log is."""


def serving_env(root: Path, echo: Any = print) -> Path:
    """The serving virtual environment, created (or rebuilt when its requirements change) on demand.

    MLPLAT_SERVING_VENV puts it elsewhere (the tests share one across scratch repositories)."""
    venv = Path(os.environ.get("MLPLAT_SERVING_VENV") or root / WORK_DIR / "serving-venv")
    requirements = root / REQUIREMENTS
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    marker = venv / "mlplat-requirements.sha256"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two servers starting at once build it once, not over each other
        if marker.is_file() and marker.read_text() == wanted and (venv / "bin" / "seldon-core-microservice").exists():
            return venv
        echo(f"creating the serving environment in {venv} from {REQUIREMENTS} (once; about a minute)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        # uv where it is on PATH (seconds rather than a minute; the same files, checked against the same
        # hashes), pip otherwise. The lock holds every dependency, hence --no-deps.
        uv = shutil.which("uv")
        installer = [uv, "pip", "install", "--python", python] if uv else \
            [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-compile"]
        install = [*installer, "-q", "--no-deps", "--require-hashes", "-r", str(requirements)]
        result = subprocess.run(install, capture_output=True, text=True)
        if result.returncode != 0:
            raise ServeError(f"installing {REQUIREMENTS} failed:\n{result.stderr[-2000:]}")
        # Byte-code on every core rather than pip's one; files that are not Python 3 are skipped, as pip does.
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(venv / "lib")], capture_output=True)
        marker.write_text(wanted)
    return venv


def fetch_version(root: Path, model: str, version: str | None, tracking_uri: str, dest: Path) -> dict[str, Any]:
    """Download a registered version (default: the champion) through the runtime; returns its facts."""
    try:
        return runtime_call.fetch_version(root, model, version, tracking_uri, dest)
    except runtime_call.RuntimeCallError as exc:
        raise ServeError(str(exc)) from exc


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path
    fetched: dict[str, Any]

    def predict(self, rows: list[list[float]], names: list[str] | None = None,
                timeout: float = 30) -> tuple[int, dict[str, Any]]:
        return post_json(self.url + PREDICT_PATH, {"data": {"names": names or self.fetched["features"],
                                                            "ndarray": rows}}, timeout)

    def stop(self, grace: float = 20) -> None:
        """Stop the server's whole process group (gunicorn workers and the metrics server too)."""
        stop_group(self.process, grace)


def stop_group(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM to the process group `process` leads, then SIGKILL for what is left after `grace` seconds.
    Returns once the group is empty."""
    _signal_group(process.pid, signal.SIGTERM)
    killed_at = time.monotonic() + grace
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    while process.poll() is None or group_alive(process.pid):  # poll() reaps the leader
        now = time.monotonic()
        if now > killed_at + 10:  # only zombies can outlive SIGKILL; reaping them is init's job
            break
        if now > killed_at:
            _signal_group(process.pid, signal.SIGKILL)
        time.sleep(0.05)


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is left (a zombie counts until its parent reaps it)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _runtime_home() -> Path:
    """The folder holding the `runtime` package (located, not imported), for the serving venv's path."""
    import importlib.util

    spec = importlib.util.find_spec("runtime")
    if spec is None or not spec.submodule_search_locations:
        raise ServeError("the mlplat runtime package is not installed in this environment")
    return Path(list(spec.submodule_search_locations)[0]).parent


def post_json(url: str, body: Any, timeout: float = 30) -> tuple[int, dict[str, Any]]:
    """POST JSON; returns (HTTP status, decoded answer), for errors as for successes."""
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def start(root: Path, fetched: dict[str, Any], run_dir: Path, *, port: int = 9000, grpc_port: int = 9500,
          metrics_port: int = 6000, workers: int = 1, threads: int = 1, echo: Any = print,
          startup_timeout: float = 180, interface: str = SERVING_CLASS,
          extra_env: dict[str, str] | None = None) -> Server:
    """Start seldon-core-microservice on the fetched model; returns once /health/status answers 200.

    `interface` and `extra_env` exist for the serving benchmark (a baseline class, other settings)."""
    venv = serving_env(root, echo)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "seldon.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")},
        "PYTHONPATH": str(_runtime_home()),
        "MLPLAT_MODEL_NAME": fetched["model"],
        "MLPLAT_MODEL_VERSION": fetched["version"],
        "MLPLAT_ARTIFACT_SHA256": fetched["artifactSha256"],
        **seldon.SERVER_ENV,  # as in the rendered SeldonDeployment
        **(extra_env or {}),
    }
    parameters = json.dumps([{"name": "model_uri", "value": fetched["directory"], "type": "STRING"}])
    command = [str(venv / "bin" / "seldon-core-microservice"), interface, "--service-type", "MODEL",
               "--http-port", str(port), "--grpc-port", str(grpc_port), "--metrics-port", str(metrics_port),
               "--workers", str(workers), "--threads", str(threads), "--parameters", parameters]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=run_dir, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(process, f"http://127.0.0.1:{port}", log, fetched)
    try:
        wait_http(process, server.url + "/health/status", log, startup_timeout, name="seldon-core-microservice")
    except BaseException:  # not ready, or interrupted while waiting: nothing may be left running
        server.stop()
        raise
    return server


def wait_http(process: subprocess.Popen, url: str, log: Path, timeout: float = 60, name: str | None = None) -> None:
    """Until `url` answers 200, or the process (`name`; default: its command's words) has exited (ServeError
    with its log's end); `timeout` bounds a hang, it is no speed target."""
    name = name or str(cast(list[str], process.args)[2:4])  # the command list it was started with
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"{name} exited with {process.returncode}; log: {log}\n"
                             + log.read_text(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise ServeError(f"{name} did not answer at {url} in {timeout:.0f}s; log: {log}")


def example_request(server: Server, entity_keys: list[str] | None = None) -> str:
    """A curl command with a real row (its features, or, with `entity_keys`, an entity's keys)."""
    if entity_keys:
        body = json.dumps({"data": {"names": entity_keys, "ndarray": [[1] * len(entity_keys)]}})
    else:
        row = server.fetched["example"] or [0.0] * len(server.fetched["features"])
        body = json.dumps({"data": {"names": server.fetched["features"], "ndarray": [row]}})
    return f"curl -s -X POST {server.url}{PREDICT_PATH} -H 'Content-Type: application/json' -d '{body}'"
