"""One scratch repository per test session in which the reference model has been trained once, and a
Pushgateway stand-in the drift and quality steps push to."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, copy_inputs

MODEL = "tumor-classifier"
SPEC = f"specs/platform/{MODEL}/model.yaml"


def mlplat(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "compiler", "--root", str(root), *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=600)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that must succeed (its output and errors in the failure)."""
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def registry(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def aliases(client) -> dict[str, str]:
    return {alias: str(version) for alias, version in client.get_registered_model(MODEL).aliases.items()}


def sqlite_uri(root: Path) -> str:
    return f"sqlite:///{(root / '.mlplat' / 'mlflow.db').resolve()}"


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_inputs(tmp_path_factory.mktemp("local-run"))


@pytest.fixture(scope="session")
def first_run(project: Path) -> subprocess.CompletedProcess[str]:
    """`mlplat run` of the reference model: version 1, champion."""
    return mlplat(project, "run", MODEL, "--env", "dev")


@pytest.fixture(scope="session", autouse=True)
def shared_serving_venv() -> None:
    # The seldon-core environment takes a minute to build: make it once, in the real checkout.
    os.environ.setdefault("MLPLAT_SERVING_VENV", str(REPO / ".mlplat" / "serving-venv"))


# -- a Pushgateway stand-in on 127.0.0.1 that keeps what is pushed to it (method, path, body) ----------
class Gateway(BaseHTTPRequestHandler):
    received: list[tuple[str, str, str]] = []

    def _store(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        Gateway.received.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    do_PUT = do_POST = _store

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway():
    Gateway.received = []
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
