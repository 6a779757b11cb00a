"""Evidence of pinned versions: environments/<env>/evidence/<model>-v<N>.json, committed by `mlplat promote`.

The register step writes the document (runtime/evidence.py) and logs it to the run; the compiler
checks it against its pin in releases.yaml and renders the version's ML-BOM from it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from compiler.spec.features import FeatureType
from compiler.spec.model import Governance
from compiler.spec.paths import EVIDENCE_DIR, OUTPUT_DIR
from compiler.spec.types import DataUri, DnsLabel, Identifier, ImageRef, RunId, Sha256, Strict


class DataVersion(Strict):
    uri: DataUri
    """Where the split was read from."""
    version: Annotated[str, Field(min_length=1, max_length=128)]
    """The data version the spec declared."""
    sha256: Sha256 | None = None
    """SHA-256 of the rows the run read (runtime/data/datasets.py); absent for versions trained before digests."""
    feature_service: Identifier | None = None
    """The feature service whose features were joined onto the split's label table, where one was."""


class TrainedFeature(Strict):
    view: Identifier
    """The feature view it comes from."""
    name: Identifier
    """The feature's name in the view."""
    dtype: FeatureType
    """Its type as the version was trained on it."""


class GateCheck(Strict):
    metric: str
    """Metric the gate judged."""
    condition: str
    """The bound in words, e.g. `roc_auc min 0.97`."""
    value: float | None
    """The candidate's value; null when it was absent (and the check failed)."""
    passed: bool
    """Whether the check passed."""
    reason: str
    """The check in words, with its threshold."""


class GateRecord(Strict):
    passed: bool
    """The gate's decision."""
    champion: Annotated[int, Field(ge=1)] | None
    """Registry version of the champion the regression checks compared against; null when there was none."""
    checks: list[GateCheck]
    """Every check made."""


class Package(Strict):
    name: Annotated[str, Field(min_length=1)]
    """Normalised distribution name."""
    version: Annotated[str, Field(min_length=1)]
    """Installed version."""


class LockRecord(Strict):
    file: str
    """The lock file the environment was installed from (platform/images/runtime/requirements.lock)."""
    sha256: Sha256
    """Its SHA-256."""
    matches: bool
    """Whether every locked distribution was installed at its locked version."""
    differences: list[str]
    """Each one that was not, with both versions."""


class Machine(Strict):
    arch: str
    """CPU architecture, e.g. x86_64."""
    cpu: str
    """CPU model."""
    cpu_count: Annotated[int, Field(ge=0)]
    """Logical CPUs."""
    torch_cpu_capability: str | None
    """The CPU kernels torch dispatched to (DEFAULT, AVX2, AVX512); null when torch was not used."""
    torch_threads: int | None
    """torch's intra-op threads; null when torch was not used."""
    accelerator: str | None
    """The GPU trained on, with its CUDA version; null on CPU."""


class TrainingEnvironment(Strict):
    python: str
    """Interpreter version."""
    packages: list[Package]
    """Every installed distribution."""
    lock: LockRecord | None = None
    """How the packages compare with the runtime image's lock; null when no lock file was given."""
    machine: Machine | None = None
    """The hardware: a PyTorch model's bytes depend on it (see docs/reproducibility.md)."""


class Images(Strict):
    training: ImageRef
    """Image the train step ran in."""
    serving: ImageRef | None = None
    """Image that serves the version."""


class PromotedFrom(Strict):
    environment: DnsLabel
    """The environment whose registry the version was copied from."""
    version: Annotated[int, Field(ge=1)]
    """Its registry version there."""
    run_id: RunId
    """Its run there."""


class VersionEvidence(Strict):
    """What the registry recorded about a model version when it was registered."""

    api_version: Literal["mlplat/v1"] = Field(alias="apiVersion")
    """Format version."""
    kind: Literal["VersionEvidence"]
    """Always VersionEvidence."""
    model: DnsLabel
    """Registered model name."""
    team: DnsLabel
    """Owning team."""
    version: Annotated[int, Field(ge=1)]
    """Registry version."""
    registered_at: Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")]
    """When the version was registered (UTC)."""
    run_id: RunId
    """Tracking run the version came from."""
    model_uri: DataUri
    """The version's model directory."""
    artifact_sha256: Sha256
    """SHA-256 of the model directory."""
    spec_hash: Sha256
    """Hash of the spec it was trained from."""
    git_commit: Annotated[str, Field(min_length=1, max_length=64)]
    """Commit of the training code (or unknown)."""
    trained_in: DnsLabel
    """Environment whose pipeline trained it."""
    description: str
    """The model's description."""
    owners: list[str]
    """People accountable for the model."""
    risk_tier: Literal["low", "medium", "high"] | None = None
    """Risk tier at registration."""
    task: str
    """Prediction task."""
    framework: str
    """Artifact framework."""
    data: dict[Literal["train", "eval"], DataVersion]
    """Training and evaluation data."""
    features: list[TrainedFeature] | None = None
    """The feature service's features the version was trained on (and is served with), where it used one:
    removing or retyping one of them while the version is pinned is a validation error."""
    metrics: dict[str, float]
    """Metrics logged on the run."""
    gate: GateRecord
    """The gate decision."""
    governance: Governance
    """The spec's governance section."""
    images: Images
    """Training and serving images."""
    environment: TrainingEnvironment
    """Python environment of the train step."""
    promoted_from: PromotedFrom | None = None
    """Where a copied version came from (`mlplat promote` into an environment whose policy is copy): the
    previous environment's version of the same bytes, which passed its gate there."""


def evidence_path(env: str, model: str, version: int) -> str:
    return f"{OUTPUT_DIR}/{env}/{EVIDENCE_DIR}/{model}-v{version}.json"
