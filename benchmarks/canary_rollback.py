"""Rollback time with the rendered defaults: seconds from a bad canary's first failed request to its rollback
branch on origin.

    python benchmarks/canary_rollback.py [--runs 1]

Runs tests/runtime/canary_stack.py --benchmark inside `unshare -n` (seldon-core binds 0.0.0.0): the dev
tumor-classifier's canary v2 takes the spec's 20% of 15 requests per second and fails a tenth of its
requests with a model fault (500); everything else is what `mlplat compile` renders by default: the
analysis every minute (the CronWorkflow starts a pod on the minute), a 20 s deadline, 500 requests a side
to step up, a 10-minute bake (which delays only a step up), and Prometheus scraping canaries every 10 s
and the rest every 30 s (the rendered PodMonitor). The pod clones a bare origin, asks a real Prometheus,
and pushes the rollback commit. Prints, per run: the first failure, when the pod that rolled back was
scheduled, when its branch was on origin, and the total. The target is under 180 s. What comes after (the
pull request's checks, the merge, Argo CD's sync) is not measured here: see docs/delivery.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compiler.local import serve as local_serve  # noqa: E402


def run_once(work: Path) -> dict:
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    done = subprocess.run([*unshare, sys.executable, "-m", "tests.runtime.canary_stack", str(work), "--benchmark"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    facts = json.loads((work / "facts.json").read_text()) if (work / "facts.json").is_file() else {}
    if done.returncode != 0:
        raise SystemExit(f"the run failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    local_serve.serving_env(REPO, echo=print)
    totals = []
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(dir=REPO / ".mlplat") as scratch:
            facts = run_once(Path(scratch))
        rollback = facts["rollback"]
        first = rollback["first_failure"]
        total = rollback["pushed"] - first
        totals.append(total)
        print(f"run {index + 1}: waited {rollback['scheduled'] - first:5.1f} s for the next scheduled analysis, "
              f"its pod took {rollback['pushed'] - rollback['scheduled']:5.1f} s; first failed request -> rollback "
              f"branch on origin: {total:5.1f} s  ({facts['failed_bad_phase']['canary']} of "
              f"{facts['sent_bad_phase']['canary']} canary requests failed by then; "
              f"{len(rollback['runs'])} scheduled analyses)")
        for run in rollback["runs"]:  # what each scheduled analysis saw
            print(f"    {run['scheduled'] - first:+6.1f} s: {(run['report'] or [run['decision']])[0]}")
    print(f"rollback time over {len(totals)} run(s): max {max(totals):.1f} s, mean {sum(totals) / len(totals):.1f} s "
          "(target < 180 s; the rendered defaults: analysis every 1m, canary scraped every 10s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
