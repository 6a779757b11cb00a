"""`python -m runtime propose`: the training workflow's last step, after register made a new champion.

It proposes the champion's pin in the workflow's own environment through git, as a person would with
`mlplat promote`: the same commit (the pin, its evidence, environments/ recompiled), made by this
image's mlplat in a clone of the platform repository, pushed as a new `mlplat/promote-*` branch. The
delivery workflow opens the pull request, and enables auto-merge where the environment's policy says
autoMerge; the pull request checks (validate, compile --check, gate) decide as for any change. Where
the model is already served and rolls out as a canary or shadow, the champion becomes the candidate.

Exit codes: 0 proposed, or nothing to propose (mlplat refused it: the reason is printed, and a person
can still promote by hand); 2 could not clone or push.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from runtime.canary.proposal import Clone, ProposalError, Refused, commit_and_push


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime propose", description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, help="the registry version register made champion")
    parser.add_argument("--spec", type=Path, default=Path(os.environ.get("MLPLAT_SPEC", "/etc/mlplat/model.json")))
    parser.add_argument("--outputs", type=Path, default=Path(os.environ.get("MLPLAT_OUTPUTS", "/tmp/outputs")))
    parser.add_argument("--repository", default=os.environ.get("MLPLAT_REPOSITORY"))
    parser.add_argument("--branch", default=os.environ.get("MLPLAT_BRANCH", "main"))
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    return parser


def main(argv: list[str]) -> int:
    import yaml

    args = _parser().parse_args(argv)
    resolved = json.loads(args.spec.read_text("utf-8"))
    model, env = resolved["name"], resolved["environment"]
    if not args.repository or not args.tracking_uri:
        print("propose: no repository or tracking URI (MLPLAT_REPOSITORY, MLFLOW_TRACKING_URI)", file=sys.stderr)
        return 2
    args.outputs.mkdir(parents=True, exist_ok=True)
    clone = Clone(args.repository, args.branch, args.outputs / "repository")
    try:
        clone.refresh()
        pins = clone.path / "environments" / env / "releases.yaml"
        release = ((yaml.safe_load(pins.read_text("utf-8")) if pins.is_file() else None) or {}).get(
            "releases", {}).get(model)
        pinned = {str(p["version"]) for p in (release, (release or {}).get("candidate")) if p}
        if args.version in pinned:
            print(f"propose: {model} version {args.version} is pinned in {env} already")
            return 0
        strategy = ((resolved["spec"].get("serving") or {}).get("rollout") or {}).get("strategy", "direct")
        role = ["--candidate"] if release and strategy in ("canary", "shadow") else []
        branch = commit_and_push(clone, "promote", model, "--to", env, "--version", args.version, *role,
                                 "--tracking-uri", args.tracking_uri)
    except Refused as exc:
        print(f"propose: not proposed: {exc}")
        return 0
    except ProposalError as exc:
        print(f"propose: {exc}", file=sys.stderr)
        return 2
    (args.outputs / "proposed").write_text(branch or "", "utf-8")
    return 0
