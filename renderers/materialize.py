"""A materialisation CronWorkflow per online feature view and environment (Argo Workflows).

`<view>-materialize` (underscores as dashes) runs in the owning team's namespace on the view's
`materializeSchedule`: Argo clones the platform's repository at its branch, and the step runs
`python -m runtime features materialize` there against the environment's rendered Feast files, which
applies the definitions first (so the registry matches the branch) and then copies the view's new
values into the online store. It is filed under apps/<team>/features/, so the team's Argo CD
Application syncs it.
"""

from __future__ import annotations

from typing import Any

from compiler.spec.features import Features, FeatureView
from compiler.spec.names import materialize_name, namespace_for
from compiler.spec.platform import Environment, Platform
from renderers import argo_objects as a
from renderers.base import TEAM_APPS_DIR, Manifest
from renderers.workflow_pod import CODE_PATH, TMP_MOUNT, compute, container_security, workflow_settings

RESOURCES = {"cpu": "1", "memory": "4Gi"}  # DuckDB's point-in-time reads: about 2.2 GB at 1M x 20 (docs/features.md)
DEADLINE_SECONDS = 3600


def cron_workflows(env: Environment, platform: Platform, features: list[tuple[str, Features]], folder: str
           ) -> list[Manifest]:
    """`folder`: where the environment's Feast files are, relative to the repository's root."""
    return [Manifest(f"{TEAM_APPS_DIR}/{team.metadata.team}/features/cronworkflow-{materialize_name(view.name)}.yaml",
                     _cron_workflow(env, platform, team.metadata.team, view, folder), source)
            for source, team in features for view in team.spec.feature_views if view.online]


def credentials(env: Environment) -> dict[str, Any]:
    """envFrom of the environment's feature-store Secret, for a Feast pod's container (none without one)."""
    secret = env.feature_store.credentials_secret
    return {"envFrom": [{"secretRef": {"name": secret}}]} if secret else {}


def _cron_workflow(env: Environment, platform: Platform, team: str, view: FeatureView, folder: str
                   ) -> dict[str, Any]:
    repository = platform.spec.repository
    step = a.container_template(
        "materialize",
        {**a.container(platform.spec.defaults.images.training,
                       ["-m", "runtime", "features", "materialize", "--store", f"{folder}/feature_store.yaml",
                        "--definitions", f"{folder}/definitions.json", "--view", view.name],
                       [a.env("HOME", "/tmp")], compute(RESOURCES["cpu"], RESOURCES["memory"], 0, None),
                       [TMP_MOUNT], container_security()),
         "workingDir": CODE_PATH, **credentials(env)},
        artifacts=[a.git_artifact("code", CODE_PATH, repository.url, repository.branch,
                                  repository.credentials_secret)],
        activeDeadlineSeconds=DEADLINE_SECONDS, retryStrategy=a.retry(2, "OnError"))
    labels = {"app.kubernetes.io/part-of": "mlplat", "app.kubernetes.io/managed-by": "mlplat", "mlplat.io/team": team,
              "mlplat.io/pipeline": "features",
              "mlplat.io/feature-view": view.name.replace("_", "-")}
    pod_labels = {**{k: v for k, v in labels.items() if k != "mlplat.io/pipeline"}, "mlplat.io/component": "features"}
    workflow = a.fields(entrypoint="materialize", serviceAccountName=platform.spec.defaults.service_account,
                        templates=[step], **workflow_settings([], pod_labels))
    metadata = {"name": materialize_name(view.name), "namespace": namespace_for(env, team), "labels": labels,
                "annotations": {"mlplat.io/source": f"specs/{team}/features.yaml"}}
    return a.manifest("CronWorkflow", metadata, a.cron_spec(view.materialize_schedule, 600, workflow))
