"""evaluate: score the run's model artifact on the eval split and log the metrics to the run."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from runtime import artifact, code, metrics, tracking
from runtime.data import datasets
from runtime.resolved import ResolvedSpec


def run(spec: ResolvedSpec, args: argparse.Namespace) -> int:
    client = tracking.client(args.tracking_uri)
    try:
        run_info = tracking.finished_run(client, args.run_id)
        import mlflow.artifacts

        with tempfile.TemporaryDirectory(prefix="mlplat-eval-") as tmp:
            local = Path(mlflow.artifacts.download_artifacts(run_id=args.run_id, artifact_path=tracking.ARTIFACT_PATH,
                                                             dst_path=tmp, tracking_uri=args.tracking_uri))
            expected = run_info.data.tags.get("mlplat.artifact_sha256")
            actual = artifact.digest(local)
            if expected != actual:
                raise RuntimeError(f"model artifact digest {actual} does not match the run's {expected}")
            code.make_importable()
            model = artifact.load(local)
            target, group = spec.target, spec.group
            evaluation = datasets.load_split(spec, "eval")
            frame = evaluation.frame
            missing = [f for f in [*model.features, *([group] if group else [])] if f not in frame.columns]
            if missing:
                raise RuntimeError(f"eval data lacks the model's columns: {', '.join(missing)}")
            scores = model.predict(frame[model.features])
            values = metrics.compute(spec.task, frame[target].to_numpy(), scores,
                                     frame[group].to_numpy() if group else None)
    except Exception as exc:  # noqa: BLE001 - reported with its reason; nothing is logged
        print(f"evaluate: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    datasets.record(client, args.run_id, evaluation)
    values = {k: float(v) for k, v in sorted(values.items())}
    values["eval_rows"] = float(len(frame))
    for name, value in values.items():
        client.log_metric(args.run_id, name, value)
    (args.outputs / "metrics.json").write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    print("evaluate: " + ", ".join(f"{k}={v:.4f}" for k, v in values.items()), flush=True)
    return 0
