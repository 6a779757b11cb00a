"""The `model.yaml` language: one Pydantic model per section, every field typed and described.

`Model` is what a team commits. `spec.environments.<env>` holds an overlay of the same sections
with every field optional; compiler/pipeline/resolve.py merges it over the spec and validates the
result again.
"""

from __future__ import annotations

from functools import cache
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, Field, create_model

from compiler.spec.data_uris import check_data_uri, check_local_path
from compiler.spec.types import (
    Cron,
    DataUri,
    DnsLabel,
    Duration,
    Entrypoint,
    GithubHandle,
    Identifier,
    ImageRef,
    LabelKey,
    LabelValue,
    Quantity,
    Strict,
    Text,
)

API_VERSION = "mlplat/v1"

Task = Literal[
    "binary-classification", "multiclass-classification", "regression", "ranking", "forecasting", "other"
]
# What the runtime can save, load, evaluate and serve (runtime/artifact.py). XGBoost and LightGBM have
# scikit-learn estimators (XGBClassifier, LGBMRegressor) that would work as `sklearn`, once their
# packages are in the runtime and serving images' locks; today they are not.
Framework = Literal["pytorch", "sklearn"]

# The metrics the evaluate step computes for each task; runtime/metrics.py computes exactly these
# (tests/runtime/test_metrics.py holds the two together). `other` has none built in: its gates judge
# what the training code logs, declared in evaluation.loggedMetrics.
BUILTIN_METRICS: dict[str, tuple[str, ...]] = {
    "binary-classification": ("roc_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier_score"),
    "multiclass-classification": ("accuracy", "f1_macro", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
    "forecasting": ("rmse", "mae", "r2"),
    "ranking": ("ndcg", "ndcg_at_5", "ndcg_at_10"),
    "other": (),
}
# Logged on every run by the platform itself: by train and by evaluate.
PLATFORM_METRICS = ("train_seconds", "eval_rows")


class ModelMetadata(Strict):
    name: DnsLabel
    """Model name: a DNS-1123 label, unique on the platform. Every derived object is named after it."""
    team: DnsLabel
    """Owning team; must be a team of platform/platform.yaml and match the folder specs/<team>/."""
    description: Text
    """One line saying what the model predicts and for whom."""
    owners: list[GithubHandle] = Field(default_factory=list)
    """People accountable for the model (GitHub handles of the team's owners or members)."""
    risk_tier: Literal["low", "medium", "high"] | None = None
    """Risk tier for governance; high-risk models need a recorded approval to reach production."""
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Extra Kubernetes labels put on every object rendered for this model."""


class Dataset(Strict):
    uri: Annotated[DataUri, AfterValidator(check_data_uri)]
    """Where the data lives, e.g. s3://lake/fraud/train.parquet or sklearn://breast_cancer?split=train (schemes:
    sklearn, example, file, s3, gs)."""
    version: Annotated[str, Field(min_length=1, max_length=128)]
    """Immutable version of the data (a date, snapshot id or hash). Text: quote dates and numbers."""


class TrainingData(Strict):
    train: Dataset
    """Data the model is fitted on; with featureService, the entity/label table (entity join keys,
    event_timestamp, the target)."""
    eval: Dataset
    """Held-out data the evaluate step scores and the gates judge; with featureService, a label table too."""
    feature_service: Identifier | None = None
    """A feature service of some team's features.yaml: the features are then joined onto each label row
    as of its event_timestamp (Feast's point-in-time retrieval), and served from the online store."""
    target: Identifier = "target"
    """Column holding the label; every other column is a feature (with featureService: the service's)."""
    group: Identifier | None = None
    """Ranking only, and required there: the column holding the query id; rows of one query are
    ranked together and NDCG is averaged over queries. Not a feature."""


class ComputeResources(Strict):
    gpus: Annotated[int, Field(ge=0, le=64)] = 0
    """Number of GPUs per pod; 0 runs on CPU."""
    gpu_type: Identifier | None = None
    """GPU type (a node pool of the environment's cluster, e.g. h100 or a10g); required when gpus > 0."""
    cpu: Quantity | None = None
    """CPU request and limit, e.g. "2" or 500m."""
    memory: Quantity | None = None
    """Memory request and limit, e.g. 4Gi."""


HyperparameterValue = bool | int | float | str


class Training(Strict):
    image: ImageRef | None = None
    """Image the training step runs in; defaults to the platform's training image."""
    command: list[Annotated[str, Field(min_length=1, max_length=4096)]] | None = Field(default=None, min_length=1,
                                                                                       max_length=256)
    """Command to run, e.g. ["python", "-m", "fraud.train"]; give this or entrypoint."""
    entrypoint: Entrypoint | None = None
    """Python entry point package.module:function called with the hyperparameters; give this or command."""
    data: TrainingData
    """Training and evaluation datasets, pinned to versions."""
    hyperparameters: dict[Identifier, HyperparameterValue] = Field(default_factory=dict)
    """Hyperparameters, logged to the tracking run and passed to the training code."""
    resources: ComputeResources = ComputeResources()
    """Resources of the training step."""
    timeout: Duration = "1h"
    """Longest time a training run may take before it is stopped, e.g. 4h."""
    retries: Annotated[int, Field(ge=0, le=10)] = 0
    """Retries of a failed step, with exponential backoff."""
    schedule: Cron | None = None
    """Cron schedule for continuous retraining (UTC); none means train on demand only."""


class Gate(Strict):
    metric: Identifier
    """Metric the evaluate step logs, e.g. roc_auc or rmse."""
    min: float | None = None
    """The metric must be at least this."""
    max: float | None = None
    """The metric must be at most this."""
    max_regression_vs_champion: Annotated[float, Field(ge=0)] | None = None
    """The metric may be worse than the current champion's by at most this much."""


class Evaluation(Strict):
    gates: list[Gate] = Field(default_factory=list)
    """Conditions a new version must meet before it becomes champion or is promoted."""
    logged_metrics: list[Identifier] = Field(default_factory=list)
    """Metrics the training code logs itself (TrainingInput.log_metric, or MLflow from a command) that gates
    may judge besides the task's built-in ones; a gate on a declared metric the run did not log fails."""


class Replicas(Strict):
    min: Annotated[int, Field(ge=0, le=100)] = 1
    """Fewest serving replicas (the HPA's lower bound)."""
    max: Annotated[int, Field(ge=1, le=100)] = 1
    """Most serving replicas (the HPA's upper bound)."""


class CanaryStep(Strict):
    traffic: Annotated[int, Field(ge=1, le=100)]
    """Percent of traffic the canary receives at this step; 100 is a last bake at full traffic, judged
    against main's requests just before it."""
    bake: Duration = "10m"
    """How long the canary serves this share, not worse than main, before it steps up."""


class CanaryAnalysis(Strict):
    interval: Duration = "1m"
    """How often the analysis compares canary and main: 10s to 30s (a divisor of a minute) or whole
    minutes dividing an hour. A rollback can come at any analysis; the bake delays only a step up."""
    deadline: Duration | None = None
    """How long one analysis may take to gather its evidence from Prometheus and decide; past it the
    analysis is blind and holds. Default: half the interval, at most 20s."""
    confidence: Annotated[float, Field(ge=0.8, le=0.9999)] = 0.99
    """1 - the largest chance, per step, of rolling back a canary that is no worse than main."""
    min_requests: Annotated[int, Field(ge=10, le=10_000_000)] = 500
    """Requests each side must have served in the step before the canary may step up."""


class Rollout(Strict):
    strategy: Literal["direct", "canary", "shadow"] = "direct"
    """How a new version takes traffic: all at once, a canary share, or a shadow that sees copies."""
    canary_traffic: Annotated[int, Field(ge=1, le=50)] | None = None
    """Percent of traffic the canary receives (canary strategy only): one step, at the default bake."""
    steps: Annotated[list[CanaryStep], Field(min_length=1, max_length=10)] | None = None
    """The canary's traffic steps, in increasing order (canary strategy only; instead of canaryTraffic).
    After the last one the candidate becomes main."""
    analysis: CanaryAnalysis = CanaryAnalysis()
    """How each step is judged (canary strategy)."""

    def canary_steps(self) -> list[CanaryStep]:
        """The steps a canary goes through: `steps`, or the one step of canaryTraffic."""
        if self.steps:
            return list(self.steps)
        return [CanaryStep(traffic=self.canary_traffic)] if self.canary_traffic else []


class Slo(Strict):
    availability: Annotated[float, Field(ge=90, lt=100)]
    """Percent of requests that must succeed over 30 days, e.g. 99.9."""
    latency_p95_ms: Annotated[int, Field(gt=0, le=60000)]
    """95th percentile latency target in milliseconds."""
    latency_p50_ms: Annotated[int, Field(gt=0, le=60000)] | None = None
    """Median latency target in milliseconds (optional)."""
    latency_p99_ms: Annotated[int, Field(gt=0, le=60000)] | None = None
    """99th percentile latency target in milliseconds (optional)."""


class Serving(Strict):
    image: ImageRef | None = None
    """Model server image; defaults to the platform's serving image."""
    replicas: Replicas = Replicas()
    """Replica bounds."""
    resources: ComputeResources = ComputeResources()
    """Resources of each serving replica."""
    rollout: Rollout = Rollout()
    """How new versions are rolled out."""
    slo: Slo | None = None
    """Service level objectives the monitoring rules alert on."""


class Drift(Strict):
    schedule: Cron
    """When the drift job runs (cron, UTC)."""
    features: list[Identifier] = Field(min_length=1)
    """Input features compared with the training data."""
    method: Literal["psi", "ks", "wasserstein", "jensenshannon"] = "psi"
    """Distance used per feature, as Evidently defines it; ks is the Kolmogorov-Smirnov statistic D."""
    threshold: Annotated[float, Field(gt=0)]
    """Per-feature drift score at or above which a feature counts as drifted."""
    window: Duration = "24h"
    """How much recent traffic the job compares."""
    on_drift: Literal["alert", "retrain"] = "alert"
    """What happens on drift: alert the team, or alert and submit the training workflow."""


class GroundTruth(Strict):
    uri: Annotated[DataUri, AfterValidator(check_local_path)]
    """Where labels land: a Parquet file or folder, or a CSV file, one row per labelled prediction."""
    id_column: Identifier = "request_id"
    """Column holding the request id the prediction log recorded: Seldon's puid, which a client sets with
    the `Seldon-Puid` request header or reads from the response's meta.puid."""
    row_column: Identifier | None = None
    """Column holding the row's index within its request, for requests of several rows."""
    label_column: Identifier = "label"
    """Column holding the true label (class index, or value for regression)."""
    delay: Duration = "24h"
    """How long after a prediction its label is expected to have landed."""


class Quality(Strict):
    schedule: Cron
    """When the quality job runs (cron, UTC)."""
    labels: GroundTruth
    """Where the ground truth lands and how it joins the prediction log."""
    window: Duration = "24h"
    """How much labelled traffic each run judges: the window ending `labels.delay` ago."""
    min_rows: Annotated[int, Field(ge=1)] = 100
    """Fewest joined rows a run needs; fewer is reported as bad data, never as healthy."""
    on_degradation: Literal["alert", "retrain"] = "alert"
    """What happens when live quality misses a gate: alert the team, or alert and submit training."""


class Monitoring(Strict):
    drift: Drift | None = None
    """Data drift detection; none disables it."""
    quality: Quality | None = None
    """Live model quality from ground truth joined to logged predictions, judged by the evaluation gates
    that bound a metric (min or max); none disables it."""


class ModelCard(Strict):
    intended_use: Text
    """What the model is for and who uses its output."""
    out_of_scope_use: Text | None = None
    """Uses the model was not built or validated for."""
    limitations: Text | None = None
    """Known weaknesses, failure modes and blind spots."""
    ethical_considerations: Text | None = None
    """Risks to people, fairness analyses done, mitigations."""


class Governance(Strict):
    model_card: ModelCard | None = None
    """Model card content; production needs one."""
    data_classification: Literal["public", "internal", "confidential", "restricted"] = "internal"
    """Most sensitive class of data the model is trained on."""
    license: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    """Licence of the model artifact (SPDX id), if it is shared."""


class ScoringResources(Strict):
    cpu: Quantity = "1"
    """CPU of the scoring pod."""
    memory: Quantity = "4Gi"
    """Memory of the scoring pod: the input table and its predictions are held whole."""


class Scoring(Strict):
    schedule: Cron
    """When the pinned version scores the input (cron, UTC)."""
    input: Annotated[DataUri, AfterValidator(check_data_uri)]
    """The rows to score, CSV or Parquet (columns beyond the model's features are kept as identifiers)."""
    output: Annotated[DataUri, AfterValidator(check_local_path)]
    """Folder the predictions are written to, as <output>/date=YYYY-MM-DD/<model>-<version>.parquet."""
    resources: ScoringResources = ScoringResources()
    """What the scoring pod may use."""


class Spec(Strict):
    task: Task
    """What kind of prediction the model makes."""
    framework: Framework
    """Library the model artifact is saved with (pytorch: a torch.export program; sklearn: a scikit-learn
    estimator or pipeline, joblib); picks the loader of evaluate and serving."""
    training: Training
    """How the model is trained."""
    evaluation: Evaluation = Evaluation()
    """Gates a new version must pass."""
    serving: Serving | None = None
    """Online serving; none means the model is not served."""
    scoring: Scoring | None = None
    """Batch scoring on a schedule by the pinned version, instead of (or beside) serving."""
    monitoring: Monitoring = Monitoring()
    """Monitoring of the served model."""
    governance: Governance = Governance()
    """Governance and model card."""


@cache
def _partial(model: type[BaseModel]) -> type[BaseModel]:
    """The same section with every field optional and no defaults: what an overlay may set."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _partial_annotation(info.annotation)
        if info.metadata:
            annotation = Annotated[annotation, *info.metadata]
        fields[name] = (annotation | None, Field(default=None, alias=info.alias, description=info.description))
    partial = create_model(f"{model.__name__}Overlay", __base__=Strict, __doc__=model.__doc__, **fields)
    setattr(partial, "__docstrings_from__", model)  # noqa: B010 - the schema's field descriptions (compiler/cli/schema.py)
    return partial


def _partial_annotation(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _partial(annotation)
    if get_origin(annotation) in (Union, UnionType):  # Optional[Section]; lists and dicts replace whole
        return _union([_partial_annotation(a) for a in get_args(annotation)])
    return annotation


def _union(members: list[Any]) -> Any:
    result = members[0]
    for member in members[1:]:
        result = result | member
    return result


class EnvironmentOverlay(Strict):
    """Per-environment changes merged over the spec: mappings merge key by key, lists and values replace."""

    training: _partial(Training) | None = None  # type: ignore[valid-type]
    """Training overrides for this environment."""
    evaluation: _partial(Evaluation) | None = None  # type: ignore[valid-type]
    """Gate overrides for this environment (the list replaces the spec's gates)."""
    serving: _partial(Serving) | None = None  # type: ignore[valid-type]
    """Serving overrides for this environment."""
    monitoring: _partial(Monitoring) | None = None  # type: ignore[valid-type]
    """Monitoring overrides for this environment."""


class ModelSpec(Spec):
    environments: dict[DnsLabel, EnvironmentOverlay] = Field(default_factory=dict)
    """Overlays per environment name (dev, staging, prod, ...)."""


class Model(Strict):
    """An mlplat model: how it is trained, gated, served, monitored and governed."""

    api_version: Literal["mlplat/v1"] = Field(alias="apiVersion")
    """Spec language version."""
    kind: Literal["Model"]
    """Always Model."""
    metadata: ModelMetadata
    """Who owns the model and what it is."""
    spec: ModelSpec
    """How it is trained, gated, served, monitored and governed."""
