"""`mlplat run` end to end: the reference model is trained, evaluated, gated and registered on the
embedded default (SQLite) and on a real `mlflow server`; failures leave the registry consistent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from compiler.local.serve import free_port
from tests.runtime.conftest import MODEL, SPEC, aliases, mlplat, registry, sqlite_uri

# The session's trained registry (tests/runtime/conftest.py) is shared: one worker runs these files.
pytestmark = pytest.mark.xdist_group("registry")


def test_local_run_registers_a_champion_that_passes_its_gates(project: Path, first_run) -> None:
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    out = first_run.stdout
    assert "-- [1/4] train" in out and "-- [4/4] register" in out
    assert "   gate:       PASSED: roc_auc" in out
    assert f"   registered: {MODEL} version 1 as champion" in out
    client = registry(sqlite_uri(project))
    assert aliases(client) == {"champion": "1"}
    version = client.get_model_version(MODEL, "1")
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["roc_auc"] >= 0.97 and run.data.metrics["accuracy"] >= 0.93
    assert run.data.params["epochs"] == "60"
    tags = version.tags
    assert tags["mlplat.data.train.version"] == "wdbc-1995"
    assert tags["mlplat.gate"] == "passed"
    assert tags["mlplat.git_commit"] == "unknown"  # the copy is not a git checkout
    assert len(tags["mlplat.spec_hash"]) == 64 and tags["mlplat.run_id"] == version.run_id
    from mlflow.artifacts import download_artifacts

    from runtime import artifact

    local = Path(download_artifacts(artifact_uri=version.source, tracking_uri=sqlite_uri(project)))
    assert artifact.digest(local) == tags["mlplat.artifact_sha256"]
    assert (project / ".mlplat" / "artifacts").is_dir()


def run_with_spec_edit(project: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    """`mlplat run` of the reference model with one edit to its spec, restored afterwards."""
    spec = project / SPEC
    original = spec.read_text()
    spec.write_text(original.replace(old, new))
    try:
        return mlplat(project, "run", MODEL)
    finally:
        spec.write_text(original)


def test_impossible_gate_registers_nothing_as_champion(project: Path, first_run) -> None:
    assert first_run.returncode == 0
    result = run_with_spec_edit(project, "{metric: roc_auc, min: 0.97}", "{metric: roc_auc, min: 0.9999}")
    assert result.returncode == 1
    assert "gate: FAIL roc_auc" in result.stdout
    assert f"   registered: {MODEL} version 2 as challenger" in result.stdout
    client = registry(sqlite_uri(project))
    assert aliases(client) == {"champion": "1", "challenger": "2"}
    first, second = client.get_model_version(MODEL, "1"), client.get_model_version(MODEL, "2")
    assert second.tags["mlplat.gate"] == "failed"
    # Seeded training: the same data and hyperparameters give the same model bytes.
    assert first.tags["mlplat.artifact_sha256"] == second.tags["mlplat.artifact_sha256"]


def test_failing_step_stops_the_run_and_registers_nothing(project: Path, first_run) -> None:
    client = registry(sqlite_uri(project))
    before = (len(client.search_model_versions(f"name='{MODEL}'")), aliases(client))
    result = run_with_spec_edit(project, "batch_size: 64", "batch_size: 0")  # fails inside the team's code
    assert result.returncode == 1
    assert "train: failed: ValueError" in result.stderr
    assert "FAILED:     train failed (exit code 1); later steps did not run and nothing was registered" \
        in result.stdout
    assert (len(client.search_model_versions(f"name='{MODEL}'")), aliases(client)) == before
    experiment = client.get_experiment_by_name(f"platform/{MODEL}").experiment_id
    latest = client.search_runs([experiment], order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert latest.info.status == "FAILED"



def test_a_missing_entrypoint_is_refused_before_anything_runs(project: Path, first_run) -> None:
    result = run_with_spec_edit(project, "tumor_classifier.train:fit", "tumor_classifier.train:missing")
    assert result.returncode == 1
    assert f"{SPEC}:16:17: error: spec.training.entrypoint: specs/platform/{MODEL}/tumor_classifier/train.py " \
           "defines no 'missing' at module level" in result.stdout + result.stderr
    assert "-- [1/4] train" not in result.stdout


FAST_FAIL = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "3"}


def test_gate_with_mlflow_unreachable_fails_closed(project: Path, first_run, tmp_path: Path) -> None:
    spec = next((project / ".mlplat" / "runs").glob("*/model.json"))
    outputs = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "runtime", "gate", "--spec", str(spec), "--outputs", str(outputs),
         "--run-id", "0123456789abcdef", "--tracking-uri", f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, env={**os.environ, **FAST_FAIL}, timeout=120)
    assert result.returncode == 2
    assert "gate: could not decide, failing closed" in result.stderr
    assert (outputs / "decision").read_text() == "error"
    assert not (outputs / "gate.json").exists()


def test_run_against_unreachable_mlflow_stops_at_train(project: Path) -> None:
    result = mlplat(project, "run", MODEL, "--tracking-uri", f"http://127.0.0.1:{free_port()}", env=FAST_FAIL)
    assert result.returncode == 1
    assert "train: cannot start a tracking run" in result.stderr
    assert "FAILED:     train failed (exit code 2)" in result.stdout


def test_run_against_a_real_mlflow_server(project: Path, tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
         str(tmp_path / "server-artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("mlflow server did not start")
                time.sleep(0.5)
        result = mlplat(project, "run", MODEL, "--tracking-uri", uri)
        assert result.returncode == 0, result.stdout + result.stderr
        client = registry(uri)
        assert aliases(client) == {"champion": "1"}
        assert client.get_model_version(MODEL, "1").source.startswith("mlflow-artifacts:")
        assert any((tmp_path / "server-artifacts").rglob("mlplat-model.json"))
    finally:
        server.terminate()
        server.wait(timeout=30)
