"""`mlplat promote` and `mlplat rollback`: a release pin changed on a new branch, as one commit
(compiler/gitops/promote.py and rollback.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from compiler.cli import options
from compiler.cli.exit_codes import EXIT_ERRORS, EXIT_OK
from compiler.gitops import gitbase
from compiler.gitops import promote as promotion
from compiler.gitops import rollback as rollbacks
from compiler.gitops.pins import Committed, PromoteError


def promote_arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    options.environment(parser, "target environment", flag="--to")
    options.version(parser, "registry version (default: the champion; where the environment copies versions, the "
                    "previous environment's version to copy, default its main pin)")
    parser.add_argument("--candidate", action="store_true", help="pin as the canary or shadow candidate")
    parser.add_argument("--approved-by", action="append", default=[],
                        help="approver handle, a person of the model's team (repeatable)")
    options.tracking_uri(parser, options.ENVIRONMENT_REGISTRY)
    parser.add_argument("--source-tracking-uri", help="the previous environment's MLflow server, which a copied "
                        "version comes from (default: its platform.yaml one; with only --tracking-uri, the same)")


def rollback_arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    options.environment(parser)
    options.tracking_uri(parser, options.ENVIRONMENT_REGISTRY)
    parser.add_argument("--reason", help="why, for the commit message (an incident, an alert)")


ARGUMENTS = {"promote": promote_arguments, "rollback": rollback_arguments}  # command -> what adds its options


def promote(root: Path, args: argparse.Namespace) -> int:
    return report_commit("promote", lambda: promotion.promote(
        root, args.model, args.env, args.version, args.tracking_uri, candidate=args.candidate,
        approved_by=tuple(args.approved_by), source_tracking_uri=args.source_tracking_uri))


def rollback(root: Path, args: argparse.Namespace) -> int:
    return report_commit("rollback", lambda: rollbacks.rollback(root, args.model, args.env, args.tracking_uri,
                                                              reason=args.reason))


def report_commit(command: str, action: Callable[[], Committed]) -> int:
    """Run a command that commits a pin; print its refusal, or its commit and message."""
    try:
        done = action()
    except (PromoteError, gitbase.GitError) as exc:
        print(f"mlplat {command}: refused: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    # runtime/canary/proposal.py reads the branch from this line
    print(f"committed {done.commit[:12]} on branch {done.branch}; push it (git push origin {done.branch}) and open "
          "a pull request; the work tree and HEAD are unchanged\n")
    print(done.message)
    return EXIT_OK
