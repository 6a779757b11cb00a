"""Start-up time of the CLI: median wall time of `mlplat --help` and `mlplat validate` on the examples.

    python benchmarks/cli_startup.py [--runs 21]

The target is "well under a second" so that `mlplat validate` fits a pre-commit hook.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {"mlplat --help": ["--help"], "mlplat validate": ["validate"],
            "mlplat compile --check": ["compile", "--check"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    print(f"{'command':<24} {'median ms':>10} {'min ms':>8} {'max ms':>8}  ({runs} runs, {sys.executable})")
    for label, args in COMMANDS.items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "compiler", *args], cwd=REPO, check=True, capture_output=True)
            times.append((time.perf_counter() - start) * 1000)
        print(f"{label:<24} {statistics.median(times):>10.0f} {min(times):>8.0f} {max(times):>8.0f}")


if __name__ == "__main__":
    main()
