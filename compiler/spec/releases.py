"""environments/<env>/releases.yaml: which registered version of each model an environment serves.

Written by promotion pull requests (and people), read by the compiler: the Seldon renderer deploys
exactly the pinned versions. Each pin carries its evidence, tied to the immutable registry version.

    apiVersion: mlplat/v1
    kind: Releases
    environment: prod
    releases:
      fraud-detector:
        version: 7
        runId: 3f0c...            # the training run the version was registered from
        modelUri: s3://...        # where the artifact lives (the registry's source)
        artifactSha256: 9a1b...   # digest of the model directory; the server refuses anything else
        specHash: 41d2...
        gate: passed
        candidate: {...}          # optional: a version being rolled out as canary or shadow,
                                  # with the canary's current step (traffic, since)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from compiler.spec.paths import OUTPUT_DIR, RELEASES_FILE
from compiler.spec.types import DataUri, DnsLabel, GithubHandle, RunId, Sha256, Strict


def releases_path(env: str) -> str:
    """Where an environment's pins live, relative to the repository root."""
    return f"{OUTPUT_DIR}/{env}/{RELEASES_FILE}"


class PinnedVersion(Strict):
    version: Annotated[int, Field(ge=1)]
    """Model registry version."""
    run_id: RunId
    """Tracking run the version was registered from."""
    model_uri: DataUri
    """Location of the version's model directory (the registry's source URI)."""
    artifact_sha256: Sha256
    """SHA-256 digest of the model directory; the model server refuses any other."""
    spec_hash: Sha256
    """Hash of the spec the version was trained from."""
    gate: Literal["passed"]
    """Gate result recorded when the version was registered; only passed versions can be pinned."""
    approved_by: list[GithubHandle] = Field(default_factory=list)
    """People who approved the promotion, where the environment requires approval."""


Timestamp = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")]


class Candidate(PinnedVersion):
    traffic: Annotated[int, Field(ge=1, le=100)] | None = None
    """The canary's current share in percent, one of the spec's steps; absent: the first step."""
    since: Timestamp | None = None
    """When the current step was decided (UTC, 2026-12-02T07:30:00Z); its bake time counts from here."""


class Release(PinnedVersion):
    candidate: Candidate | None = None
    """A newer version rolled out beside this one, as the spec's canary or shadow."""


class Releases(Strict):
    """The versions an environment serves."""

    api_version: Literal["mlplat/v1"] = Field(alias="apiVersion")
    """Format version."""
    kind: Literal["Releases"]
    """Always Releases."""
    environment: DnsLabel
    """The environment these pins are for; must match the folder."""
    releases: dict[DnsLabel, Release] = Field(default_factory=dict)
    """Pinned versions by model name."""
