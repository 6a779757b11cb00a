"""train: fit the model with tracking set up, then log the model directory and its digest to the run."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from runtime import artifact, code, environment, tracking
from runtime.contract import TrainingInput
from runtime.data import datasets
from runtime.device import missing_gpus, prepare_device, training_device
from runtime.resolved import ResolvedSpec


def run(spec: ResolvedSpec, args: argparse.Namespace) -> int:
    unusable = missing_gpus(int(os.environ.get("MLPLAT_GPUS") or 0))
    if unusable:  # before a run is started: nothing is tracked of a step that cannot use what it pays for
        print(f"train: {unusable}", file=sys.stderr)
        return 2
    client = tracking.client(args.tracking_uri)
    try:
        commit = code.commit_of_run(os.environ.get("MLPLAT_GIT_COMMIT"), os.environ.get("MLPLAT_CODE_DIR"))
        experiment = tracking.experiment_id(client, spec.experiment, os.environ.get("MLPLAT_ARTIFACT_ROOT"))
        tags = tracking.lineage_tags(spec, commit)
        run_id = client.create_run(experiment, tags=tags, run_name=f"{spec.name}-{spec.environment}").info.run_id
    except code.CodeError as exc:
        print(f"train: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - any tracking failure stops the step with its reason
        print(f"train: cannot start a tracking run at {args.tracking_uri}: {exc}", file=sys.stderr)
        return 2
    (args.outputs / "run-id").write_text(run_id)
    (args.outputs / "git-commit").write_text(commit)  # evaluate clones exactly this commit
    print(f"train: run {run_id} in experiment {spec.experiment!r}, code at commit {commit}", flush=True)
    try:
        _log_params(client, run_id, spec)
        train = datasets.load_split(spec, "train")
        datasets.record(client, run_id, train)
        print(f"train: train split {train.rows} rows, sha256 {train.sha256}", flush=True)
        with tempfile.TemporaryDirectory(prefix="mlplat-model-") as tmp:
            model_dir = Path(tmp) / tracking.ARTIFACT_PATH
            started = time.perf_counter()
            if spec.training.get("entrypoint"):
                _fit_entrypoint(spec, train, model_dir, client, run_id)
            else:
                _run_command(spec, train, model_dir, args, run_id)
            client.log_metric(run_id, "train_seconds", time.perf_counter() - started)
            sha256 = artifact.digest(model_dir)
            client.log_artifacts(run_id, str(model_dir), tracking.ARTIFACT_PATH)
            client.set_tag(run_id, "mlplat.artifact_sha256", sha256)
            trained_in = environment.describe()
            client.log_dict(run_id, trained_in, environment.RECORD_PATH)
            _warn_if_unlocked(trained_in["lock"])
    except Exception as exc:  # noqa: BLE001 - the run is marked FAILED and the reason printed
        client.set_terminated(run_id, "FAILED")
        print(f"train: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    client.set_terminated(run_id, "FINISHED")
    print(f"train: finished; model artifact sha256 {sha256}", flush=True)
    return 0


def _warn_if_unlocked(lock: dict[str, Any] | None) -> None:
    """Say so when this environment is not the locked one: the version may not reproduce elsewhere."""
    if lock and not lock["matches"]:
        shown = "; ".join(lock["differences"][:3]) + ("; ..." if len(lock["differences"]) > 3 else "")
        print(f"train: warning: {len(lock['differences'])} packages differ from {lock['file']} ({shown}); "
              "the evidence records it", file=sys.stderr, flush=True)


def _log_params(client: Any, run_id: str, spec: ResolvedSpec) -> None:
    from mlflow.entities import Param

    params = {"task": spec.task, "framework": spec.framework,
              **{k: json.dumps(v) if isinstance(v, bool) else str(v)
                 for k, v in spec.training.get("hyperparameters", {}).items()}}
    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in sorted(params.items())])


def _fit_entrypoint(spec: ResolvedSpec, train: datasets.Split, model_dir: Path, client: Any, run_id: str) -> None:
    module_name, _, function = spec.training["entrypoint"].partition(":")
    code.make_importable()
    fit = getattr(importlib.import_module(module_name), function)
    target, group = spec.target, spec.group
    frame, features = train.frame, train.features
    device = training_device()
    prepare_device(device)
    print(f"train: {len(frame)} rows, {len(features)} features, device {device}", flush=True)
    model = fit(TrainingInput(
        train=frame, features=features, target=target, hyperparameters=dict(spec.training.get("hyperparameters", {})),
        task=spec.task, device=device, group=group,
        log_metric=lambda name, value, step: client.log_metric(run_id, name, float(value), step=int(step)),
    ))
    artifact.save(model, model_dir, framework=spec.framework, task=spec.task, features=features)


def _run_command(spec: ResolvedSpec, train: datasets.Split, model_dir: Path, args: argparse.Namespace,
                 run_id: str) -> None:
    """Run the team's own program; it resumes the run (MLFLOW_RUN_ID) and writes MLPLAT_MODEL_DIR."""
    with tempfile.TemporaryDirectory(prefix="mlplat-data-") as tmp:
        uris = {split: spec.training["data"][split]["uri"] for split in ("train", "eval")}
        if spec.feature_service:  # the program reads the joined frames, as plain tables
            for split in uris:
                frame = train.frame if split == "train" else datasets.load_split(spec, split).frame
                frame.to_parquet(Path(tmp) / f"{split}.parquet", index=False)
                uris[split] = (Path(tmp) / f"{split}.parquet").as_uri()
        _run_program(spec, uris, model_dir, args, run_id)


def _run_program(spec: ResolvedSpec, uris: dict[str, str], model_dir: Path, args: argparse.Namespace,
                 run_id: str) -> None:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": args.tracking_uri,
        "MLFLOW_RUN_ID": run_id,
        "MLPLAT_MODEL_DIR": str(model_dir),
        "MLPLAT_SPEC": str(args.spec),
        "MLPLAT_HYPERPARAMETERS": json.dumps(spec.training.get("hyperparameters", {}), sort_keys=True),
        "MLPLAT_TRAIN_URI": uris["train"],
        "MLPLAT_EVAL_URI": uris["eval"],
        "MLPLAT_TARGET": spec.target,
        **({"MLPLAT_GROUP": spec.group} if spec.group else {}),
    }
    result = subprocess.run(spec.training["command"], env=env, cwd=os.environ.get("MLPLAT_CODE_DIR"))
    if result.returncode != 0:
        raise RuntimeError(f"training command {spec.training['command']} exited with {result.returncode}")
    artifact.load_meta(model_dir)
