"""refused: the training workflow's last task when the gate refused the run.

register has recorded the run as a challenger; this step prints what the gate decided and exits 1, so
that the Workflow ends Failed. Argo marks a DAG failed only where a target (leaf) task's branch failed:
without this task the failed gate was followed by a successful register and a skipped propose, and a
refused run ended as a green Workflow that nothing alerting on failed workflows would see.
"""

from __future__ import annotations

import argparse
import json
import sys

from runtime import tracking
from runtime.resolved import ResolvedSpec

REFUSED = 1


def run(spec: ResolvedSpec, args: argparse.Namespace) -> int:
    try:
        tags = tracking.client(args.tracking_uri).get_run(args.run_id).data.tags
    except Exception as exc:  # noqa: BLE001 - the run failed either way; say what could not be read
        print(f"refused: the gate refused run {args.run_id} of {spec.name} (its record cannot be read: "
              f"{type(exc).__name__}: {exc})", file=sys.stderr)
        return REFUSED
    if tags.get("mlplat.gate") == "passed":
        print(f"refused: run {args.run_id} passed its gate; nothing was refused")
        return 0
    details = json.loads(tags.get("mlplat.gate.details") or '{"checks": []}')
    failed = [check["reason"] for check in details.get("checks", []) if not check.get("passed")]
    print(f"refused: the gate refused run {args.run_id} of {spec.name} in {spec.environment}"
          + (f": {'; '.join(failed)}" if failed else " (no decision recorded)"), file=sys.stderr)
    print("refused: it is registered as a challenger, not champion; the workflow fails so that it is seen",
          file=sys.stderr)
    return REFUSED
