"""gate: judge the candidate run against the spec's gates and the current champion; fail closed.

The decision is written to the run (tags mlplat.gate and mlplat.gate.details) so that register,
in the next pod, acts on exactly what was decided here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from typing import Any

from runtime import metrics, tracking
from runtime.resolved import ResolvedSpec

CHAMPION = "champion"


@dataclass(frozen=True)
class Check:
    metric: str
    condition: str
    value: float | None
    passed: bool
    reason: str


def judge(gates: list[dict[str, Any]], candidate: dict[str, float], champion: dict[str, float] | None,
          champion_version: int | str | None) -> list[Check]:
    """Every gate condition against the candidate's metrics; absent numbers fail, never pass."""
    checks = []
    for gate in gates:
        name = gate["metric"]
        value = candidate.get(name)
        for condition, bound in (("min", gate.get("min")), ("max", gate.get("max")),
                                 ("maxRegressionVsChampion", gate.get("maxRegressionVsChampion"))):
            if bound is None:
                continue
            label = f"{name} {condition} {bound}"
            if value is None:
                checks.append(Check(name, label, None, False, f"{name} was not logged by the run"))
            elif not _finite(value):  # NaN compares false and ±inf beats any bound: neither is a result
                checks.append(Check(name, label, None, False, f"{name} is {value!r}, not a finite number"))
            elif condition == "min":
                checks.append(Check(name, label, value, value >= bound, f"{name} {value:.4f} >= {bound}"
                                    if value >= bound else f"{name} {value:.4f} < {bound}"))
            elif condition == "max":
                checks.append(Check(name, label, value, value <= bound, f"{name} {value:.4f} <= {bound}"
                                    if value <= bound else f"{name} {value:.4f} > {bound}"))
            elif champion is None:
                checks.append(Check(name, label, value, True, f"no champion yet; {name} {value:.4f} sets the bar"))
            elif name not in champion:
                checks.append(Check(name, label, value, False,
                                    f"champion version {champion_version} has no {name} to compare with"))
            elif not _finite(champion[name]):
                checks.append(Check(name, label, value, False, f"champion version {champion_version}'s {name} is "
                                    f"{champion[name]!r}, not a finite number to compare with"))
            else:
                best = champion[name]
                loss = best - value if metrics.higher_is_better(name) else value - best
                ok = loss <= bound
                checks.append(Check(name, label, value, ok, f"{name} {value:.4f} vs champion v{champion_version} "
                                    f"{best:.4f}: regression {max(loss, 0):.4f} {'<=' if ok else '>'} {bound}"))
    return checks


def _finite(value: Any) -> bool:
    # MLflow's SQL stores keep ±inf as ±(largest float) and hand that back: it is infinity too.
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and abs(value) < sys.float_info.max)


def champion_metrics(client: Any, model: str) -> tuple[dict[str, float] | None, int | None]:
    """Metrics of the version that is champion now, or (None, None) when there is none yet. The version
    is an int, as the evidence records it (MLflow's stores return it as a number or as text)."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None, None
        raise
    try:
        version = client.get_model_version_by_alias(model, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None, None
        raise
    return dict(client.get_run(version.run_id).data.metrics), int(version.version)


def run(spec: ResolvedSpec, args: argparse.Namespace) -> int:
    client = tracking.client(args.tracking_uri)
    try:
        candidate = dict(tracking.finished_run(client, args.run_id).data.metrics)
        champion, champion_version = champion_metrics(client, spec.registered_model)
        checks = judge(spec.gates, candidate, champion, champion_version)
        passed = all(c.passed for c in checks)
        details = {"passed": passed, "champion": champion_version, "checks": [asdict(c) for c in checks]}
        client.set_tag(args.run_id, "mlplat.gate.details", json.dumps(details, sort_keys=True))
        client.set_tag(args.run_id, "mlplat.gate", "passed" if passed else "failed")
    except Exception as exc:  # noqa: BLE001 - any doubt fails closed
        print(f"gate: could not decide, failing closed: {type(exc).__name__}: {exc}", file=sys.stderr)
        (args.outputs / "decision").write_text("error")
        return 2
    (args.outputs / "gate.json").write_text(json.dumps(details, indent=2, sort_keys=True) + "\n")
    (args.outputs / "decision").write_text("passed" if passed else "failed")
    if not checks:
        print("gate: the spec declares no gates; passed", flush=True)
    for check in checks:
        print(f"gate: {'PASS' if check.passed else 'FAIL'} {check.reason}", flush=True)
    print(f"gate: {'passed' if passed else 'failed'}", flush=True)
    return 0 if passed else 1
