"""Recorded approvals (`approvedBy` on a pin) held against the pull request's approving reviews.

The workflow fetches the reviews through the GitHub API (`gh api .../pulls/N/reviews --jq '.[]'`:
one JSON object per line) and hands the file to `mlplat gate --approvals FILE`. A handle counts when
it names a person of the model's team (an owner or member in the base's platform.yaml; a GitHub team
handle approves nothing itself) and that person's latest review approves the commit being gated from
an account with write access to the repository (`author_association` OWNER, MEMBER or COLLABORATOR:
anyone may leave a review on a public repository). Text typed on the command line of `mlplat
promote` proves nothing by itself; it only names who must approve.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compiler.spec.platform import Team
from compiler.spec.releases import PinnedVersion

# GitHub's author_association of accounts that may push to the repository
WRITE_ACCESS = ("OWNER", "MEMBER", "COLLABORATOR")


class ApprovalsError(Exception):
    """The reviews file cannot be read."""


def load_reviews(path: Path) -> list[dict[str, Any]]:
    """GitHub review objects, one JSON object per line (blank lines ignored)."""
    try:
        lines = path.read_text("utf-8").splitlines()
        reviews = [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:
        raise ApprovalsError(f"cannot read the reviews in {path}: {exc}") from exc
    if not all(isinstance(r, dict) for r in reviews):
        raise ApprovalsError(f"{path}: every line must be one review object of the GitHub API")
    return reviews


def approvers(reviews: list[dict[str, Any]], head_sha: str) -> dict[str, str]:
    """{login: author_association} of the reviewers whose latest review (approve, request changes or
    dismissed; comments do not count) approves `head_sha`."""
    latest: dict[str, dict[str, Any]] = {}
    for review in sorted(reviews, key=lambda r: (str(r.get("submitted_at") or ""), r.get("id") or 0)):
        login = (review.get("user") or {}).get("login")
        if login and review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[login.lower()] = review
    return {login: str(review.get("author_association") or "NONE") for login, review in latest.items()
            if review["state"] == "APPROVED" and review.get("commit_id") == head_sha}


def approval_check(pin: PinnedVersion, approved: dict[str, str] | None, team: Team) -> dict[str, Any]:
    """The check for a pin in an environment that requires approval (None: no reviews were given); `team`
    as the base's platform.yaml has it."""
    handles = [handle.removeprefix("@").lower() for handle in pin.approved_by]
    strangers = team.outsiders(pin.approved_by)
    if approved is None:
        passed, detail = False, "the environment requires approval and no reviews were given (mlplat gate --approvals)"
    elif not handles:
        passed, detail = False, "the environment requires approval and the pin records none (approvedBy)"
    elif strangers:
        passed, detail = False, (f"{', '.join(strangers)} {'is' if len(strangers) == 1 else 'are'} not a person of "
                                 f"team {team.name} (its owners and members in the base's platform.yaml)")
    else:
        missing = [f"@{h}" for h in handles if h not in approved]
        unprivileged = [f"@{h} ({approved[h]})" for h in handles if h in approved and approved[h] not in WRITE_ACCESS]
        passed = not missing and not unprivileged
        problems = ([f"{', '.join(missing)} did not approve this pull request's head commit"] if missing else []) + (
            [f"{', '.join(unprivileged)} approved without write access to the repository (author_association "
             f"must be {', '.join(WRITE_ACCESS)})"] if unprivileged else [])
        detail = (f"approved on this commit by {', '.join('@' + h for h in handles)}" if passed else
                  "; ".join(problems))
    return {"name": "approval", "passed": passed, "detail": detail}
