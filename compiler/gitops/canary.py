"""A canary decision (runtime/canary/step.py) applied to releases.yaml as one commit on a new branch.

- step: the candidate's `traffic` becomes the next step's, and `since` the decision's time;
- promote: the candidate becomes the pinned version (main), and the candidate is gone;
- rollback: the candidate is removed; main never changed.

The decision must be about the pins as they are: the same main and candidate versions, and the
candidate at the share it was judged at. A decision about a state that has moved on (another
proposal merged meanwhile) is refused, never applied to the new state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compiler.gitops.pins import (
    Committed,
    PromoteError,
    checked_project,
    clean_repo,
    commit_pin,
    current_releases,
    trailers,
)
from compiler.spec.releases import Release

ACTIONS = ("step", "promote", "rollback")


def apply_decision(root: Path, model: str, env: str, decision: dict[str, Any]) -> Committed:
    repository = clean_repo(root)
    checked = checked_project(root)
    resolved = next((m for m in checked.models if m.name == model and m.environment == env), None)
    if resolved is None:
        raise PromoteError(f"no model named {model!r} in {env!r}")
    release = checked.project.release(env, model)
    candidate = release.candidate if release else None
    action = decision.get("action")
    if action not in ACTIONS:
        raise PromoteError(f"the decision is {action!r}: only {', '.join(ACTIONS)} change releases.yaml")
    if (release is None or candidate is None or resolved.spec.serving is None
            or resolved.spec.serving.rollout.strategy != "canary"):
        raise PromoteError(f"{model} has no canary in {env!r}; the decision is about a state that has moved on")
    steps = resolved.serving.rollout.canary_steps()
    judged = (decision["main"]["version"], decision["candidate"]["version"], decision["traffic"]["from"])
    current = (release.version, candidate.version, candidate.traffic or steps[0].traffic)
    if judged != current:
        raise PromoteError(f"the decision judged main v{judged[0]}, canary v{judged[1]} at {judged[2]}%, but {env} "
                           f"now pins main v{current[0]}, canary v{current[1]} at {current[2]}%; analyse again")
    if action == "step":
        following = decision["traffic"]["to"]
        if following not in [s.traffic for s in steps] or following <= current[2]:
            raise PromoteError(f"{following}% is not a later step of {model}'s rollout "
                               f"({' -> '.join(str(s.traffic) for s in steps)})")
        updated = release.model_copy(update={"candidate": candidate.model_copy(
            update={"traffic": following, "since": decision["at"]})})
    elif action == "promote":
        updated = Release.model_validate(candidate.model_dump(by_alias=True, exclude={"traffic", "since"}))
    else:
        updated = release.model_copy(update={"candidate": None})
    releases = current_releases(checked, env)
    releases = releases.model_copy(update={"releases": {**releases.releases, model: updated}})
    base = repository.head.commit.hexsha[:8]
    branch = f"mlplat/canary-{model}-{env}-v{candidate.version}-{action}-{decision['traffic']['to'] or 0}-{base}"
    return commit_pin(root, env, releases, branch, message(model, env, decision), {})


def message(model: str, env: str, decision: dict[str, Any]) -> str:
    """The commit message: what changes, why, and the evidence it was decided on."""
    version, traffic = decision["candidate"]["version"], decision["traffic"]
    subject = {"step": f"step canary {model} v{version} in {env} from {traffic['from']}% to {traffic['to']}%",
               "promote": f"promote canary {model} v{version} to main in {env}",
               "rollback": f"roll back canary {model} v{version} in {env} (was at {traffic['from']}%)",
               }[decision["action"]]
    step = decision["step"]
    lines = [subject, "", f"reason: {decision['reason']}",
             f"analysis at {decision['at']} of {decision['prometheus']}: step {step['index']} of {step['of']}, "
             f"{step['elapsedSeconds']}s into it, look {step['look']}; confidence {step['confidence']}, "
             f"at least {step['minRequests']} requests a side; alpha per check {decision['alpha']:.3g}"]
    for check in decision["checks"]:
        lines.append(f"- {check['name']}: main {check['main']}, canary {check['canary']}; {check['test']}: "
                     f"p-value {check['pValue']:.4g}{' (worse)' if check['worse'] else ''}")
        if check.get("reasons"):
            lines.append("  failed by reason: " + "; ".join(f"{side} {_reasons(check['reasons'][side])}"
                                                           for side in ("main", "canary")))
        lines += [f"  {side}: {query}" for side, query in sorted(check.get("queries", {}).items())]
    change = "rollback" if decision["action"] == "rollback" else f"canary-{decision['action']}"
    return "\n".join(lines) + "\n" + trailers(change, model, env)


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in sorted(counts.items())) or "none"
