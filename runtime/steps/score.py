"""`python -m runtime score`: a pinned model version scores a dataset in batch.

    python -m runtime score --model NAME --version N --sha256 DIGEST (--model-uri URI | --model-dir DIR)
        --input URI --output URI [--partition-by-date] [--prediction-log FOLDER] [--now ISO-8601]

The scoring CronWorkflow (renderers/scoring.py) runs it with the version environments/<env>/releases.yaml
pins, and `mlplat score` with a version from the registry. The artifact is downloaded (--model-uri, any
URI MLflow reads) or taken as it is (--model-dir) and refused unless its digest is the pinned one. Every
row of the input (CSV or Parquet, or any data URI the training data may use; columns beyond the model's
features are kept, as identifiers) gets the model's prediction: `prediction`, and for classifiers the
score per class, with `model` and `version` columns. The output is one Parquet file at --output, or with
--partition-by-date `<output>/date=YYYY-MM-DD/<model>-<version>.parquet` (the date of --now). With
--prediction-log the rows are also written to the model's prediction log, in the layout the drift and
quality jobs read (predictor `batch`), as a served request's rows would be.

Exit codes: 0 scored, 2 could not (an artifact that does not match its digest, unreadable input, input
without the model's features, a store that refuses the write).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime import artifact
from runtime.data import uris

PREDICTOR = "batch"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime score", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model name, for the output and the prediction log")
    parser.add_argument("--version", required=True, help="the registry version being scored with")
    parser.add_argument("--sha256", required=True, help="the pinned artifact digest")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model-uri", help="the version's artifact, as releases.yaml pins it")
    source.add_argument("--model-dir", type=Path, help="an artifact already on this machine")
    parser.add_argument("--input", required=True, help="the rows to score: a data URI or a CSV or Parquet path")
    parser.add_argument("--output", required=True, help="where the predictions go (a Parquet file, or a folder "
                                                        "with --partition-by-date)")
    parser.add_argument("--partition-by-date", action="store_true", help="write <output>/date=.../<model>-<v>.parquet")
    parser.add_argument("--prediction-log", help="the model's prediction log folder (<log>/<team>/<model>)")
    parser.add_argument("--now", type=datetime.fromisoformat, help="ISO 8601; default: now")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    now = args.now or datetime.now(UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    try:
        model = _model(args)
        frame = _input(args.input, model.features)
        scored = predictions(model, frame, args.model, args.version)
        target = _output_path(args, now)
        _write(scored, target)
        if args.prediction_log:
            _log(scored, model.features, args, now)
    except (ScoreError, artifact.ArtifactError, uris.DataError, OSError, ValueError) as exc:
        print(f"score: {exc}", file=sys.stderr)
        return 2
    print(f"score: {len(scored)} rows scored by {args.model} version {args.version} -> {target}")
    return 0


class ScoreError(Exception):
    pass


def _model(args: argparse.Namespace) -> artifact.LoadedModel:
    """The pinned version, loaded once its digest is checked; a download is removed once it is loaded."""
    if args.model_dir is not None:
        return _checked(args.model_dir, args)
    import tempfile

    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="mlplat-score-") as tmp:
        try:
            directory = Path(mlflow.artifacts.download_artifacts(artifact_uri=args.model_uri, dst_path=tmp))
        except Exception as exc:  # noqa: BLE001 - each store fails in its own way (MlflowException, boto, OSError)
            raise ScoreError(f"cannot download {args.model_uri}: {type(exc).__name__}: {exc}") from exc
        return _checked(directory, args)


def _checked(directory: Path, args: argparse.Namespace) -> artifact.LoadedModel:
    actual = artifact.digest(directory)
    if actual != args.sha256:
        raise ScoreError(f"the artifact at {args.model_uri or directory} has sha256 {actual}, but version "
                         f"{args.version} pins {args.sha256}")
    return artifact.load(directory)


def _input(location: str, features: list[str]) -> Any:
    """The rows to score; a path without a scheme is a local file."""
    uri = location if "://" in location else Path(location).resolve().as_uri()
    frame = uris.load_rows(uri)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ScoreError(f"{location} lacks the model's features {', '.join(missing)}")
    if frame.empty:
        raise ScoreError(f"{location} has no rows")
    return frame


def predictions(model: artifact.LoadedModel, frame: Any, name: str, version: str) -> Any:
    """The input's columns with the model's predictions beside them."""
    scores = model.predict(frame[model.features])
    out = frame.copy()
    if model.meta["output"] == "class-probabilities":
        for index in range(scores.shape[1]):
            out[f"score_class_{index}"] = scores[:, index]
        out["prediction"] = scores.argmax(axis=1)
    else:
        out["prediction"] = scores
    out["model"], out["version"] = name, str(version)
    return out


def _output_path(args: argparse.Namespace, now: datetime) -> str:
    if not args.partition_by_date:
        return args.output
    return f"{args.output.rstrip('/')}/date={now:%Y-%m-%d}/{args.model}-{args.version}.parquet"


def _write(frame: Any, target: str) -> None:
    if "://" not in target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    elif target.startswith("file://"):
        Path(target.removeprefix("file://")).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(target, index=False)


def _log(scored: Any, features: list[str], args: argparse.Namespace, now: datetime) -> None:
    """The rows in the prediction log's layout, as runtime/prediction_log/events.rows makes them."""
    from runtime.prediction_log.writer import PartitionWriter

    root, _, model = args.prediction_log.rstrip("/").rpartition("/")
    request = f"{PREDICTOR}-{uuid.uuid4()}"
    rows: list[dict[str, Any]] = []
    columns = [*features, "prediction", *(c for c in scored.columns if c.startswith("score_class_"))]
    for index, values in enumerate(scored[columns].itertuples(index=False)):
        record = {"request_id": request, "row": index, "timestamp": now, "model": model, "version": str(args.version),
                  "predictor": PREDICTOR}
        record.update((column, float(value)) for column, value in zip(columns, values, strict=True))
        rows.append(record)
    writer = PartitionWriter(root, batch_rows=len(rows) + 1, max_rows=len(rows) + 1)
    failures: list[Exception] = []
    writer.on_error = failures.append
    writer.add(model, rows)
    writer.flush()
    if failures:
        raise ScoreError(f"the prediction log at {args.prediction_log} refused the rows: {failures[0]}")
