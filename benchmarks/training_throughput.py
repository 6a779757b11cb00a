"""Training throughput of the reference model (tumor-classifier's `fit`) on CPU and, where present, CUDA.

    python benchmarks/training_throughput.py                     # the spec's settings (426 rows)
    python benchmarks/training_throughput.py --replicate 512 --batch-size 4096 --epochs 5

Reports samples/s as the model logs it (train_samples_per_second). `--replicate` stacks the training
split N times so that a GPU has enough work per step to show its speed; the data stays the bundled set.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "specs" / "platform" / "tumor-classifier")]


def main() -> None:
    import pandas as pd
    import torch
    from tumor_classifier.train import fit

    from runtime import data
    from runtime.contract import TrainingInput
    from runtime.device import prepare_device

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicate", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--devices", default="cpu,cuda")
    args = parser.parse_args()

    frame = data.load("sklearn://breast_cancer?split=train&holdout=0.25&seed=0", "benign")
    frame = pd.concat([frame] * args.replicate, ignore_index=True)
    features = data.feature_columns(frame, "benign")
    print(f"rows {len(frame)}, batch {args.batch_size}, epochs {args.epochs}, torch {torch.__version__}")
    print(f"{'device':<8} {'samples/s':>12} {'wall s':>8}  name")
    for device in args.devices.split(","):
        if device == "cuda" and not torch.cuda.is_available():
            print(f"{device:<8} {'-':>12} {'-':>8}  (no CUDA device here)")
            continue
        prepare_device(device)
        logged: dict[str, float] = {}
        started = time.perf_counter()
        def record(name: str, value: float, step: int, into: dict[str, float] = logged) -> None:
            into[name] = value

        fit(TrainingInput(train=frame, features=features, target="benign", task="binary-classification",
                          device=device, log_metric=record,
                          hyperparameters={"epochs": args.epochs, "batch_size": args.batch_size, "lr": 0.003,
                                           "hidden_units": 64, "seed": 7}))
        if device == "cuda":
            torch.cuda.synchronize()
        name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
        print(f"{device:<8} {logged['train_samples_per_second']:>12,.0f} {time.perf_counter() - started:>8.2f}  {name}")


if __name__ == "__main__":
    main()
