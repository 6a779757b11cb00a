"""Rollback time: seconds from a bad canary's first failed request to its rollback branch on origin.

    python benchmarks/canary_rollback.py [--runs 1]

Runs tests/runtime/canary_stack.py --benchmark inside `unshare -n` (seldon-core binds 0.0.0.0): the dev
tumor-classifier's canary v2 fails about half its requests at 5% of the traffic; its analysis runs
every 30 s (rollout.analysis.interval: 30s, so the CronWorkflow starts a pod each minute that judges
twice, 30 s apart); the pod clones a bare origin, asks a real Prometheus (1 s scrapes), and pushes the
rollback commit. Prints, per run: the first failure, when the pod that rolled back was scheduled, when
its branch was on origin, and the total. The target is under 180 s; the worst case is one interval of
waiting for the next analysis plus the analysis and the commit. What comes after (the pull request's
checks, the merge, Argo CD's sync) is not measured here: see docs/delivery.md.
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
              f"{facts['sent_bad_phase']['canary']} canary requests failed by then)")
    print(f"rollback time over {len(totals)} run(s): max {max(totals):.1f} s, mean {sum(totals) / len(totals):.1f} s "
          f"(target < 180 s, analysis interval 30 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
