"""Drift on a large window: the mlplat drift step against a NumPy baseline and Evidently on all rows.

    python benchmarks/drift/bench.py                      # 1,000,000 rows x 25 columns
    python benchmarks/drift/bench.py --evidently-full     # also Evidently on every row (minutes)
    python benchmarks/drift/bench.py --rows 100000

Each variant runs in its own process on the same Parquet files (seeded: 2 of the columns shifted by
0.5 sigma); the table gives wall seconds and the process's peak resident memory.

- numpy-baseline: both tables loaded whole, PSI over 10 reference-quantile bins and the KS
  statistic, vectorised over columns (`baseline.py`).
- mlplat: `python -m runtime drift`, all of it: per-column reads, the all-rows statistics,
  Evidently's HTML report on a 20,000-row sample with the all-rows scores.
- evidently-full: Evidently 0.7's DataDriftPreset (PSI) on every row, HTML saved.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SHIFTED = (3, 17)


def write_data(folder: Path, rows: int, columns: int) -> tuple[Path, Path, list[str]]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [f"f{i:02d}" for i in range(columns)]
    rng = np.random.default_rng(7)
    paths = []
    for side in ("reference", "current"):
        path = folder / f"{side}-{rows}x{columns}.parquet"
        paths.append(path)
        if path.exists():
            continue
        writer = None
        for start in range(0, rows, 250_000):  # written in chunks, so generating stays small too
            count = min(250_000, rows - start)
            block = rng.normal(size=(count, columns))
            if side == "current":
                block[:, list(SHIFTED)] += 0.5
            table = pa.table({n: block[:, i] for i, n in enumerate(names)})
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
        writer.close()
    return paths[0], paths[1], names


def measure(command: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=25)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mlplat-drift-bench")
    parser.add_argument("--evidently-full", action="store_true", help="also run Evidently on every row")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    reference, current, names = write_data(args.data, args.rows, args.columns)
    spec = args.data / "model.json"
    spec.write_text(json.dumps({
        "name": "bench", "team": "bench", "environment": "bench",
        "spec": {"training": {"data": {"train": {"uri": str(reference)}}},
                 "monitoring": {"drift": {"features": names, "method": "psi", "threshold": 0.2}}}}))
    python = sys.executable
    variants = {
        "numpy-baseline": [python, str(HERE / "baseline.py"), str(reference), str(current)],
        "mlplat": [python, "-m", "runtime", "drift", "--spec", str(spec), "--reference", str(reference),
                   "--current", str(current), "--outputs", str(args.data / "outputs")],
    }
    if args.evidently_full:
        variants["evidently-full"] = [python, str(HERE / "evidently_full.py"), str(reference), str(current)]
    print(f"{args.rows:,} rows x {args.columns} columns; columns {SHIFTED} shifted by 0.5 sigma\n")
    print("| variant | rows | seconds | peak RSS MiB | vs baseline | exit |")
    print("|---|---:|---:|---:|---:|---:|")
    baseline = None
    for name, command in variants.items():
        seconds, rss, code = measure(command)
        baseline = baseline or seconds
        print(f"| {name} | {args.rows:,} | {seconds:.1f} | {rss:,.0f} | {seconds / baseline:.2f}x | {code} |")
    drift = json.loads((args.data / "outputs" / "drift.json").read_text())
    print(f"\nmlplat drifted features: {drift['driftedFeatures']} (expected f03, f17)")


if __name__ == "__main__":
    main()
