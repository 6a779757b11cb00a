"""`python -m runtime canary`: judge a model's canary against main and, with --propose, propose the result.

In the canary CronWorkflow (renderers/canary.py) the step clones the platform repository (the branch
Argo CD follows), reads the candidate's current step from the environment's releases.yaml, asks
Prometheus for both sides' counts, decides (runtime/canary/decide.py) and pushes the decision to the
Pushgateway. A step up, a promotion or a rollback is then applied by mlplat's own compiler in the
clone (`mlplat canary --decision`: releases.yaml changed, environments/ recompiled, one commit with the
evidence) and pushed as a new `mlplat/*` branch, which the delivery workflow turns into a pull request.
`mlplat canary` runs the same step on the work tree with --releases and without --propose.

Writes decision.json (the decision and its evidence) and `decision` (hold, step, promote, rollback or
blind) to --outputs, and pushes the decision's gauges. Exit codes: 0 decided (holding included), 2
blind: Prometheus unreachable, late (one deadline for each analysis, rollout.analysis.deadline), or
answering anything doubtful; no canary in it; a releases.yaml or spec that cannot be read; any failure
of the analysis itself. Blind holds, and the job's failure and MlplatCanaryAnalysisBlind say so: no
path through an error steps up, promotes or rolls back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compiler.runtime_contract import CANARY_BLIND, duration_seconds, last_run
from runtime.canary import proposal
from runtime.canary.decide import CanaryState, Decision, decide
from runtime.canary.measurements import Side, gather
from runtime.canary.prometheus_query import Deadline, Prometheus

DECIDED, BLIND = 0, 2
JOB = "mlplat-canary"
DEFAULT_INTERVAL = "1m"  # the spec language's defaults (compiler/spec/model.py CanaryAnalysis)
DEFAULT_MIN_REQUESTS = 500
DEFAULT_BAKE = "10m"
MAX_DEADLINE = 20  # seconds: the default deadline is half the interval, at most this
ACTION_CODES = {"rollback": -1, "hold": 0, "step": 1, "promote": 2}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime canary", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--environment", required=True)
    parser.add_argument("--spec", type=Path, default=Path(os.environ.get("MLPLAT_SPEC", "/etc/mlplat/model.json")),
                        help="the model's resolved spec (the <model>-spec ConfigMap)")
    parser.add_argument("--outputs", type=Path, default=Path(os.environ.get("MLPLAT_OUTPUTS", "/tmp/outputs")))
    parser.add_argument("--prometheus", default=os.environ.get("MLPLAT_PROMETHEUS"))
    parser.add_argument("--pushgateway", default=os.environ.get("MLPLAT_PUSHGATEWAY"))
    parser.add_argument("--releases", type=Path, help="releases.yaml to read (default: the clone's)")
    parser.add_argument("--repository", default=os.environ.get("MLPLAT_REPOSITORY"),
                        help="platform repository to clone (with --propose, where branches are pushed)")
    parser.add_argument("--branch", default=os.environ.get("MLPLAT_BRANCH", "main"))
    parser.add_argument("--rounds", type=int, default=1, help="analyses in this run, --every seconds apart")
    parser.add_argument("--every", type=int, default=60)
    parser.add_argument("--propose", action="store_true",
                        help="commit a decision other than hold in the clone and push it as an mlplat/* branch")
    parser.add_argument("--now", type=float, default=None, help="evaluation time, Unix seconds (default: now)")
    return parser


def main(argv: list[str], sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic) -> int:
    args = _parser().parse_args(argv)
    try:
        args.outputs.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _blind(args, f"cannot make the outputs folder {args.outputs}: {exc}")
    try:
        spec = json.loads(args.spec.read_text("utf-8"))
        rollout = (spec["spec"].get("serving") or {}).get("rollout") or {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return _blind(args, f"cannot read the resolved spec {args.spec}: {exc}")
    if not args.prometheus:
        return _blind(args, "no Prometheus to ask (set MLPLAT_PROMETHEUS or --prometheus)")
    clone = None
    if args.releases is None:
        if not args.repository:
            return _blind(args, "give --releases or --repository")
        clone = proposal.Clone(args.repository, args.branch, args.outputs / "repository")
    code = BLIND
    for round_ in range(max(args.rounds, 1)):
        if round_:
            sleep(args.every)
        try:
            if clone is not None:
                clone.refresh()
                releases = clone.path / "environments" / args.environment / "releases.yaml"
            else:
                releases = args.releases
            code, decision = analyse(args, spec, rollout, releases, Deadline(deadline_seconds(rollout), clock))
        except Exception as exc:  # noqa: BLE001 - whatever failed, the analysis holds and reports it
            code, decision = _blind(args, f"the analysis failed: {type(exc).__name__}: {exc}"), None
        if decision is not None and decision["action"] != "hold":
            if args.propose and clone is not None:
                proposal.propose(clone, args.model, args.environment, args.outputs / "decision.json")
            break
    return code


def deadline_seconds(rollout: dict[str, Any]) -> float:
    """The analysis' deadline: the spec's, else half its interval, at most MAX_DEADLINE seconds."""
    analysis = rollout.get("analysis") or {}
    if analysis.get("deadline"):
        return duration_seconds(analysis["deadline"])
    return min(duration_seconds(analysis.get("interval") or DEFAULT_INTERVAL) / 2, MAX_DEADLINE)


def analyse(args: argparse.Namespace, spec: dict[str, Any], rollout: dict[str, Any], releases_file: Path,
            deadline: Deadline) -> tuple[int, dict | None]:
    """One analysis: (exit code, the decision written to decision.json, or None where there is no canary)."""
    import yaml

    try:
        releases = yaml.safe_load(releases_file.read_text("utf-8")) or {}
        release = (releases.get("releases") or {}).get(args.model) or {}
        candidate = release.get("candidate")
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        return _blind(args, f"cannot read {releases_file}: {exc}"), None
    if not candidate or rollout.get("strategy") != "canary":
        (args.outputs / "decision").write_text("none")
        print(f"canary: {args.model} has no canary in {args.environment}; nothing to judge")
        return DECIDED, None
    now = args.now if args.now is not None else time.time()
    plan = _plan(rollout, candidate, now)
    main_side = Side("main", int(release["version"]), offset=plan.elapsed if plan.traffic == 100 else 0)
    canary_side = Side("canary", int(candidate["version"]))
    slo = (spec["spec"]["serving"].get("slo") or {}).get("latencyP95Ms")
    evidence = gather(Prometheus(args.prometheus, deadline), args.model, args.environment, main_side, canary_side,
                      max(plan.elapsed, 1), now, slo / 1000 if slo else None)
    decision = decide(evidence, plan)
    body = _record(args, decision, plan, release, candidate, now)
    _report(body, decision)
    _push(args, decision.action, decision.blind, plan.traffic, now)
    return (BLIND if decision.blind else DECIDED), body


def _blind(args: argparse.Namespace, reason: str) -> int:
    """A blind run that could not even make a plan: said, written and pushed like any other."""
    now = args.now if args.now is not None else time.time()
    print(f"canary {args.model} in {args.environment}: HOLD: blind: {reason}", file=sys.stderr)
    body = {"model": args.model, "environment": args.environment,
            "at": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "action": "hold",
            "reason": f"blind: {reason}", "blind": True, "checks": []}
    try:
        (args.outputs / "decision.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", "utf-8")
        (args.outputs / "decision").write_text("blind", "utf-8")
    except OSError as exc:
        print(f"canary: cannot write the decision to {args.outputs}: {exc}", file=sys.stderr)
    _push(args, "hold", True, None, now)
    return BLIND


def _plan(rollout: dict[str, Any], candidate: dict[str, Any], now: float) -> CanaryState:
    steps = rollout.get("steps") or [{"traffic": rollout["canaryTraffic"], "bake": DEFAULT_BAKE}]
    shares = tuple((int(s["traffic"]), duration_seconds(s.get("bake", DEFAULT_BAKE))) for s in steps)
    analysis = rollout.get("analysis") or {}
    since = candidate.get("since")
    # Without `since` the evidence is the last hour's, and the step never counts as baked.
    started = datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp() if since else now - 3600
    return CanaryState(steps=shares, traffic=int(candidate.get("traffic") or shares[0][0]),
                       elapsed=max(int(now - started), 0),
                       interval=duration_seconds(analysis.get("interval", DEFAULT_INTERVAL)),
                       confidence=float(analysis.get("confidence", 0.99)),
                       min_requests=int(analysis.get("minRequests", DEFAULT_MIN_REQUESTS)),
                       timed=bool(since))


def _record(args: argparse.Namespace, decision: Decision, plan: CanaryState, release: dict[str, Any],
            candidate: dict[str, Any], now: float) -> dict[str, Any]:
    body = {"model": args.model, "environment": args.environment,
            "at": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "main": {"version": int(release["version"])}, "candidate": {"version": int(candidate["version"])},
            "step": {"index": plan.index + 1, "of": len(plan.steps), "elapsedSeconds": plan.elapsed,
                     "look": plan.look, "confidence": plan.confidence, "minRequests": plan.min_requests},
            "prometheus": args.prometheus, **decision.as_dict()}
    (args.outputs / "decision.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", "utf-8")
    (args.outputs / "decision").write_text("blind" if decision.blind else decision.action, "utf-8")
    return body


def _report(body: dict[str, Any], decision: Decision) -> None:
    step = body["step"]
    print(f"canary {body['model']} v{body['candidate']['version']} in {body['environment']} at "
          f"{decision.traffic_from}% (step {step['index']} of {step['of']}, {step['elapsedSeconds']}s, "
          f"look {step['look']}): {decision.action.upper()}: {decision.reason}")
    for check in decision.checks:
        print(f"  {check.name}: main {check.main}, canary {check.canary}; {check.test}: "
              f"p={check.p_value:.3g}, alpha={check.alpha or 0.0:.3g}{' WORSE' if check.worse else ''}")
        if check.reasons:
            print(f"    failed by reason: main {check.reasons['main']}, canary {check.reasons['canary']}")


def _push(args: argparse.Namespace, action: str, blind: bool, traffic: int | None, now: float) -> None:
    """The decision as gauges (MlplatCanaryAnalysisBlind and ...NotReporting alert on them); a
    Pushgateway that cannot be reached is reported, and the alert on a stale timestamp covers it."""
    if not args.pushgateway:
        return
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

    registry = CollectorRegistry()
    Gauge(CANARY_BLIND, "1 when the last analysis got no usable answer from Prometheus",
          registry=registry).set(1 if blind else 0)
    Gauge("mlplat_canary_decision", "Last decision: -1 rollback, 0 hold, 1 step up, 2 promote",
          registry=registry).set(ACTION_CODES[action])
    if traffic is not None:
        Gauge("mlplat_canary_traffic_percent", "The canary's share when it was judged",
              registry=registry).set(traffic)
    Gauge(last_run("canary"), "When the canary was last judged",
          registry=registry).set(now)
    try:
        push_to_gateway(args.pushgateway, job=JOB, registry=registry,
                        grouping_key={"model": args.model, "environment": args.environment}, timeout=10)
    except Exception as exc:  # noqa: BLE001 - refused, unreachable, an HTTP error: reported, never fatal
        print(f"canary: could not push to {args.pushgateway}: {exc}", file=sys.stderr)
