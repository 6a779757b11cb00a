"""Batch scoring of a pinned version (Argo Workflows): a `CronWorkflow` `<model>-score`.

For a spec with `scoring`, where environments/<env>/releases.yaml pins a version, the CronWorkflow
runs `python -m runtime score` on the scoring schedule: it downloads the pinned artifact (with the
artifact store's credentials, the Secret Seldon's storage initializer uses), refuses it unless its
digest is the pinned one, scores `scoring.input` and writes `<scoring.output>/date=YYYY-MM-DD/
<model>-<version>.parquet` and the rows to the model's prediction log, which the drift and quality
jobs read as they read served traffic. A candidate pin is not scored: batch has no traffic to split.
"""

from __future__ import annotations

from compiler.spec.resolved import ResolvedModel
from renderers import argo_objects as a
from renderers.base import Manifest, model_manifest
from renderers.workflow_pod import TMP_MOUNT, compute, container_security, pod_settings, workflow_metadata

DEADLINE_SECONDS = 6 * 3600


def render(model: ResolvedModel) -> list[Manifest]:
    scoring, release = model.spec.scoring, model.release
    if scoring is None or release is None:
        return []
    args = ["-m", "runtime", "score", "--model", model.name, "--version", str(release.version),
            "--sha256", release.artifact_sha256, "--model-uri", release.model_uri, "--input", scoring.input,
            "--output", scoring.output, "--partition-by-date", "--prediction-log", model.prediction_log]
    step = a.container_template(
        "score",
        {**a.container(model.runtime_image, args, [a.env("HOME", "/tmp")],
                       compute(scoring.resources.cpu, scoring.resources.memory, 0, None), [TMP_MOUNT],
                       container_security()),
         "envFrom": [{"secretRef": {"name": model.artifact_secret}}]},
        activeDeadlineSeconds=DEADLINE_SECONDS,
        # A pod lost to the node is scored again; a refused artifact or bad input (exit 2) fails the run.
        retryStrategy=a.retry(2, "OnError"))
    workflow = a.fields(entrypoint="score", serviceAccountName=model.service_account, templates=[step],
                        **pod_settings(model, "scoring"))
    body = a.manifest("CronWorkflow", workflow_metadata(model, model.names.scoring_schedule, "scoring", 1),
                      a.cron_spec(scoring.schedule, 600, workflow))
    return [model_manifest(model, body)]

