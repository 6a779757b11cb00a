"""The platform itself (platform/platform.yaml): environments, clusters, teams and defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from compiler.spec.types import (
    DataUri,
    DnsLabel,
    GithubHandle,
    HttpUrl,
    Identifier,
    ImageRef,
    LabelValue,
    RepoUrl,
    Strict,
)


class Toleration(Strict):
    key: Annotated[str, Field(min_length=1)]
    """Taint key the pods tolerate, e.g. nvidia.com/gpu."""
    operator: Literal["Exists", "Equal"] = "Exists"
    """Exists matches any value; Equal matches `value`."""
    value: str | None = None
    """Taint value (operator Equal only)."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect to tolerate; none tolerates all effects."""


class Prices(Strict):
    """What one hour of each resource costs on a pool's nodes, in the platform's currency (spec.currency)."""

    cpu_core_hour: Annotated[float, Field(ge=0)]
    """One CPU core (a request of "1") for an hour."""
    memory_gib_hour: Annotated[float, Field(ge=0, alias="memoryGiBHour")]
    """One GiB of memory for an hour."""
    gpu_hour: Annotated[float, Field(ge=0)] = 0
    """One GPU for an hour (GPU pools)."""


class GpuPool(Strict):
    node_selector: dict[str, LabelValue]
    """Node labels that select this pool's nodes."""
    tolerations: list[Toleration] = Field(default_factory=list)
    """Taints of the pool's nodes that GPU pods tolerate."""
    resource_name: Annotated[str, Field(min_length=1)] = "nvidia.com/gpu"
    """Extended resource name the device plugin advertises."""
    capacity: Annotated[int, Field(ge=0)]
    """GPUs in the pool: no team's gpuQuota in an environment on the cluster may exceed its pools' sum."""
    prices: Prices | None = None
    """Hourly prices on this pool's nodes (GPU, CPU and memory), for cost estimates; none: unpriced."""


class Cluster(Strict):
    name: DnsLabel
    """Cluster name, as registered in Argo CD."""
    server: HttpUrl
    """API server URL Argo CD deploys to."""
    gpu_pools: dict[Identifier, GpuPool] = Field(default_factory=dict)
    """GPU node pools by GPU type (h100, a10g, ...)."""
    prices: Prices | None = None
    """Hourly CPU and memory prices on the cluster's nodes outside the GPU pools; none: unpriced."""

    def prices_for(self, gpu_type: str | None) -> Prices | None:
        """The prices a pod pays: its GPU pool's, or the cluster's own for a pod without GPUs."""
        pool = self.gpu_pools.get(gpu_type) if gpu_type else None
        return pool.prices if pool is not None else self.prices


class MlflowSettings(Strict):
    tracking_uri: HttpUrl
    """MLflow tracking server of the environment."""


class EnvironmentPolicies(Strict):
    require_image_digests: bool = False
    """Every image must be pinned by @sha256 digest."""
    require_resource_limits: bool = False
    """Training and serving must set CPU and memory."""
    require_approval: bool = False
    """Promotions need a recorded approval."""
    require_data_digests: bool = False
    """A version can be promoted only if its run recorded the content digest of its train and eval data,
    and no earlier version of the model read different bytes under the same data `version` label."""
    production: bool = False
    """Production: every model needs a risk tier, owners, a model card, digest-pinned images and a gate
    bounding a quality metric; pins of high-risk models need a recorded approval."""
    auto_merge: bool = False
    """Pull requests the platform proposes itself (a new champion's pin, a canary's next step) merge once
    their checks pass, without a person; rollbacks merge so in every environment."""
    promotion: Literal["copy", "retrain"] = "copy"
    """Where a version pinned here comes from (every environment but the first): `copy`, the version pinned
    in the previous environment, copied by `mlplat promote` from that environment's registry and artifact
    store (the same bytes, digest checked on arrival, provenance tagged); or `retrain`, a version this
    environment's own training registered, which must have the same artifact digest as the previous
    environment's pin (so only where training is bit-reproducible across the two)."""


class MonitoringSettings(Strict):
    pushgateway: HttpUrl = "http://prometheus-pushgateway.monitoring.svc.cluster.local:9091"
    """Prometheus Pushgateway the drift jobs push their results to."""
    prometheus: HttpUrl = "http://prometheus-operated.monitoring.svc.cluster.local:9090"
    """Prometheus the canary analysis queries (main against canary)."""
    prediction_log: DataUri | None = None
    """Where the request logger writes served features as Parquet, one folder per model and UTC hour
    (<team>/<model>/date=YYYY-MM-DD/hour=HH/); default: <artifactStore>/prediction-logs."""


class OfflineStore(Strict):
    type: Literal["duckdb", "file", "spark", "bigquery", "snowflake"] = "duckdb"
    """Feast's offline store: Parquet files read in process (duckdb, the embedded default; file, Feast's
    dask reader, about 8x slower and 9x the memory at a million label rows: docs/features.md) or a
    warehouse in a cluster (spark, bigquery, snowflake)."""
    options: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], str] = Field(default_factory=dict)
    """The store's own settings as Feast names them (e.g. project_id and dataset for bigquery). Secrets go
    in as ${ENV_VAR} references, which Feast fills in from the pod's environment, never as values."""


class OnlineStore(Strict):
    type: Literal["sqlite", "redis"] = "sqlite"
    """Feast's online store: SQLite (a file: the embedded default) or Redis in a cluster."""
    options: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], str] = Field(default_factory=dict)
    """The store's own settings as Feast names them (path for sqlite; connection_string for redis, as a
    ${ENV_VAR} reference)."""


class FeatureStoreSettings(Strict):
    registry: Annotated[str, Field(min_length=1, max_length=1024)] = ".mlplat/feast/{env}/registry.db"
    """Where this environment's Feast registry lives (a path, or an s3:// or gs:// URI); {env} is replaced."""
    offline: OfflineStore = OfflineStore()
    """Where historical feature values are read for training sets."""
    online: OnlineStore = OnlineStore()
    """Where the latest values are materialised for serving."""
    credentials_secret: DnsLabel | None = None
    """A Secret in each team namespace whose keys become environment variables of the Feast pods
    (materialisation jobs, feature servers): where the ${ENV_VAR} references in the store options come from."""


class Environment(Strict):
    name: DnsLabel
    """Environment name: dev, staging, prod. The list order is the promotion order."""
    cluster: DnsLabel
    """Name of the cluster (in `clusters`) this environment deploys to."""
    namespace: Annotated[str, Field(pattern=r"\{team\}")] = "ml-{team}-{env}"
    """Namespace scheme per team; {team} and {env} are replaced."""
    mlflow: MlflowSettings
    """Model registry and tracking server."""
    artifact_store: DataUri
    """Where model artifacts are stored, e.g. s3://mlplat-artifacts-prod."""
    policies: EnvironmentPolicies = EnvironmentPolicies()
    """What this environment requires of every model."""
    monitoring: MonitoringSettings = MonitoringSettings()
    """Where drift jobs read served traffic and push results."""
    feature_store: FeatureStoreSettings = FeatureStoreSettings()
    """The environment's Feast project: registry, offline and online stores (specs/<team>/features.yaml)."""


class AlertRoute(Strict):
    receiver: Annotated[str, Field(min_length=1, max_length=63)]
    """Alertmanager receiver the team's alerts are routed to."""
    slack_channel: Annotated[str, Field(pattern=r"^#[a-z0-9_-]+$")] | None = None
    """Slack channel shown in alert annotations."""


class Team(Strict):
    name: DnsLabel
    """Team name; specs live under specs/<team>/."""
    owners: list[GithubHandle] = Field(min_length=1)
    """GitHub handles that own the team's specs (CODEOWNERS)."""
    members: list[GithubHandle] = Field(default_factory=list)
    """Other people who may be named as model owners."""
    gpu_quota: dict[DnsLabel, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """GPUs the team may request per environment (training plus serving at max replicas); absent means 0."""
    alerts: AlertRoute
    """Where the team's alerts go."""

    def people(self) -> set[str]:
        """The handles (lower case, without @) that may approve the team's pins: its owners and members who are
        people; a GitHub team handle (org/team) cannot leave a review."""
        return {handle.removeprefix("@").lower() for handle in (*self.owners, *self.members) if "/" not in handle}

    def outsiders(self, handles: list[str] | tuple[str, ...]) -> list[str]:
        """The handles that do not name a person of the team."""
        return [handle for handle in handles if handle.removeprefix("@").lower() not in self.people()]


class Images(Strict):
    training: ImageRef
    """Default image of training steps (the mlplat runtime)."""
    training_gpu: ImageRef | None = None
    """Default image of train steps that request GPUs: the mlplat runtime with a CUDA build of torch
    (platform/images/runtime-gpu). Required where a model trains on GPUs in the platform's image."""
    serving: ImageRef
    """Default model server image (seldon-core with the mlplat serving class)."""


class Defaults(Strict):
    images: Images
    """Default images."""
    service_account: DnsLabel = "mlplat-runner"
    """Service account workflow and drift pods run as."""
    artifact_secret: DnsLabel = "mlplat-artifact-store"
    """Secret with the artifact store's credentials, for Seldon's storage initializer."""
    local_data_roots: list[Annotated[str, Field(pattern=r"^/([A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+$", max_length=1024)]] \
        = Field(default_factory=lambda: ["/data"], min_length=1)
    """The folders a file:// data URI or feature source may name (the volumes mounted in pods, a laptop's data
    folder); a path anywhere else is refused."""


class Repository(Strict):
    url: RepoUrl
    """This repository, as Argo CD syncs it and every training pod clones it (the team's code comes from
    it, at the commit the run trains from)."""
    branch: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9._/-]+$")] = "main"
    """Branch Argo CD follows; scheduled and drift-triggered training runs train from its head."""
    credentials_secret: DnsLabel | None = None
    """Secret holding `username` and `password` (a read-only token) to clone over https, the keys Argo CD's
    repository secrets use; it must exist in every model namespace. None: the repository is public."""
    push_secret: DnsLabel | None = None
    """Secret with `username` and `password` of a token that may push `mlplat/*` branches and nothing else
    (branch protection keeps main to pull requests). Training and canary pods use it to propose release
    changes; it must exist in every model namespace. None: nothing is proposed without a person."""


class ArgoCdSettings(Strict):
    namespace: DnsLabel = "argocd"
    """Namespace Argo CD runs in (where Applications live)."""
    project: DnsLabel = "default"
    """Argo CD project of each environment's root Application (team Applications get a generated
    AppProject per environment)."""
    sync_webhook: HttpUrl | None = None
    """Argo CD's webhook (https://<argocd>/api/webhook). The delivery workflow calls it as soon as a release
    change lands on the branch, so the sync starts then rather than at Argo CD's next poll."""


class PlatformMetadata(Strict):
    name: DnsLabel
    """Name of this platform installation."""


class PlatformSpec(Strict):
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    """ISO 4217 code of the prices in clusters[].prices and gpuPools.*.prices."""
    platform_team: DnsLabel = "platform"
    """Team that owns the platform itself (platform/, compiler/, renderers/, runtime/, .github/) in CODEOWNERS."""
    environments: list[Environment] = Field(min_length=1)
    """Environments in promotion order."""
    clusters: list[Cluster] = Field(min_length=1)
    """Kubernetes clusters."""
    teams: list[Team] = Field(min_length=1)
    """Teams that own models."""
    defaults: Defaults
    """Defaults applied to every model."""
    repository: Repository
    """The platform's git repository: what Argo CD syncs and where training code comes from."""
    argocd: ArgoCdSettings
    """How Argo CD syncs the rendered environments."""


class Platform(Strict):
    """The mlplat platform: environments, clusters, teams, defaults."""

    api_version: Literal["mlplat/v1"] = Field(alias="apiVersion")
    """Config language version."""
    kind: Literal["Platform"]
    """Always Platform."""
    metadata: PlatformMetadata
    """Installation name."""
    spec: PlatformSpec
    """The platform's contents."""

    def environment(self, name: str) -> Environment:
        return next(e for e in self.spec.environments if e.name == name)

    def cluster(self, name: str) -> Cluster:
        return next(c for c in self.spec.clusters if c.name == name)

    def team(self, name: str) -> Team | None:
        return next((t for t in self.spec.teams if t.name == name), None)

    @property
    def environment_names(self) -> list[str]:
        return [e.name for e in self.spec.environments]
