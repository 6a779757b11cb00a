"""The scoring CronWorkflow's step run as Argo would (its rendered args, env and working directory) with the
session's registered tumor-classifier version pinned, the environment's stores made local: every input row
gets the pinned version's prediction, the output is date-partitioned, the rows reach the prediction log
in the layout the drift job reads, and an artifact whose digest is not the pinned one is refused."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.spec.model import Scoring
from compiler.spec.releases import Release
from renderers import scoring
from tests.conftest import checked_model
from tests.runtime.conftest import MODEL, mlplat, sqlite_uri

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.xdist_group("registry")
INPUT = "sklearn://breast_cancer?split=eval&holdout=0.25&seed=0"
NOW = dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)


def step_args(project: Path, tmp_path: Path, sha256: str | None = None) -> tuple[list[str], dict]:
    import json

    described = json.loads(mlplat(project, "describe", MODEL, "--format", "json").stdout)
    version = next(v for v in described["registry"]["versions"] if "champion" in v["aliases"])
    from runtime import tracking

    source = tracking.client(sqlite_uri(project)).get_model_version(MODEL, str(version["version"])).source
    model = checked_model(project, MODEL, "prod")
    spec = model.spec.model_copy(update={"scoring": Scoring(schedule="0 6 * * *", input=INPUT,
                                                            output="s3://bucket/scores")})
    pin = Release(version=version["version"], runId=version["runId"], modelUri=source,
                  artifactSha256=sha256 or version["artifactSha256"], specHash=model.spec_hash, gate="passed")
    [manifest] = scoring.render(dataclasses.replace(model, spec=spec, release=pin))
    container = manifest.body["spec"]["workflowSpec"]["templates"][0]["container"]
    local = {"s3://bucket/scores": (tmp_path / "scores").as_uri(),
             model.prediction_log: (tmp_path / "log" / MODEL).as_uri()}
    args = [local.get(arg, arg) for arg in container["args"]]
    env = {e["name"]: e["value"].replace("/tmp", str(tmp_path)) for e in container["env"]}
    return [*args, "--now", NOW.isoformat()], {**os.environ, **env, "MLFLOW_TRACKING_URI": sqlite_uri(project)}


def test_the_step_scores_every_row_with_the_pinned_version(project: Path, first_run, tmp_path: Path) -> None:
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    args, env = step_args(project, tmp_path)
    ran = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    [written] = (tmp_path / "scores" / "date=2026-12-02").glob("*.parquet")
    version = args[args.index("--version") + 1]
    assert written.name == f"{MODEL}-{version}.parquet"
    scored = pd.read_parquet(written)
    from runtime.data import uris

    frame = uris.load(INPUT, "target")
    assert len(scored) == len(frame) and list(scored["version"].unique()) == [version]
    assert scored["prediction"].between(0, 1).all() and "target" in scored.columns  # identifiers are kept
    logged = pd.read_parquet(tmp_path / "log" / MODEL)
    assert len(logged) == len(frame) and set(logged["predictor"]) == {"batch"}
    assert logged.sort_values("row")["prediction"].tolist() == pytest.approx(scored["prediction"].tolist())
    assert {"request_id", "row", "timestamp", "model", "version", "mean_radius"} <= set(logged.columns)


def test_an_artifact_that_is_not_the_pinned_one_is_refused(project: Path, first_run, tmp_path: Path) -> None:
    assert first_run.returncode == 0
    args, env = step_args(project, tmp_path, sha256="0" * 64)
    ran = subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert ran.returncode == 2 and f"pins {'0' * 64}" in ran.stderr
    assert not (tmp_path / "scores").exists()


def test_an_artifact_that_cannot_be_downloaded_is_a_clear_error(tmp_path: Path) -> None:
    ran = subprocess.run([sys.executable, "-m", "runtime", "score", "--model", MODEL, "--version", "1", "--sha256",
                          "0" * 64, "--model-uri", (tmp_path / "nothing-here").as_uri(), "--input", INPUT,
                          "--output", str(tmp_path / "out.parquet")], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "HOME": str(tmp_path)})
    assert ran.returncode == 2 and "score: cannot download file://" in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr and not (tmp_path / "out.parquet").exists()
