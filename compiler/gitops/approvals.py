"""Recorded approvals (`approvedBy` on a pin) held against the pull request's approving reviews.

The workflow fetches the reviews through the GitHub API (`gh api .../pulls/N/reviews --jq '.[]'`:
one JSON object per line) and hands the file to `mlplat gate --approvals FILE`. A handle counts when
that reviewer's latest review approves the commit being gated; text typed on the command line of
`mlplat promote` proves nothing by itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from compiler.spec.releases import PinnedVersion


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


def approvers(reviews: list[dict[str, Any]], head_sha: str) -> set[str]:
    """Logins whose latest review (approve, request changes or dismissed; comments do not count)
    approves `head_sha`."""
    latest: dict[str, dict[str, Any]] = {}
    for review in sorted(reviews, key=lambda r: (str(r.get("submitted_at") or ""), r.get("id") or 0)):
        login = (review.get("user") or {}).get("login")
        if login and review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[login.lower()] = review
    return {login for login, review in latest.items()
            if review["state"] == "APPROVED" and review.get("commit_id") == head_sha}


def approval_check(pin: PinnedVersion, approved: set[str] | None) -> dict[str, Any]:
    """The check for a pin in an environment that requires approval (None: no reviews were given)."""
    handles = [handle.removeprefix("@").lower() for handle in pin.approved_by]
    if approved is None:
        passed, detail = False, "the environment requires approval and no reviews were given (mlplat gate --approvals)"
    elif not handles:
        passed, detail = False, "the environment requires approval and the pin records none (approvedBy)"
    else:
        missing = [f"@{h}" for h in handles if h not in approved]
        passed = not missing
        detail = (f"approved on this commit by {', '.join('@' + h for h in handles)}" if passed else
                  f"{', '.join(missing)} did not approve this pull request's head commit")
    return {"name": "approval", "passed": passed, "detail": detail}
