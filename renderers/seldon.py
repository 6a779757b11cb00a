"""Seldon Core v1: a `SeldonDeployment` serving the version environments/<env>/releases.yaml pins.

The main predictor serves the pinned version. When the pin has a candidate, the spec's rollout adds a
second predictor: `canary` with its traffic share (the step the last canary decision recorded in the
pin: renderers/canary.py), or `shadow`, which sees a copy of every request
and answers no one. Nothing is rendered for a model without a pin (the plan notes it).

A model trained on a feature service gets a second container in each pod, `features`: Feast's feature
server (`python -m runtime features serve`, from the runtime image, which has Feast; seldon-core's
environment cannot hold it) on 127.0.0.1 only, reading the environment's online store and registry
with the service's definitions from the ConfigMap `<deployment>-features`. The model server reads
features from it for requests that carry entity keys (runtime/serving).

Every predictor's executor logs each request and response as CloudEvents to the team's prediction-log
sink (renderers/prediction_log.py). Its pods carry the labels the team's PodMonitor selects and
relabels (renderers/scraping.py); no `prometheus.io/*` annotations, which would narrow an
annotation-driven scrape to one of the pod's two metrics ports (the executor's and the model's, both
named `metrics`), as upstream Seldon leaves them out too.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.spec.model import Rollout
from compiler.spec.releases import Candidate, PinnedVersion
from compiler.spec.resolved import ResolvedModel
from compiler.spec.types import quantity_value
from renderers import features, materialize
from renderers.base import Manifest, model_manifest, model_metadata
from renderers.prediction_log import sink_url

CONTAINER = "model"
MODEL_MOUNT = "/mnt/models"  # where Seldon's storage initializer puts graph.modelUri
HTTP_PORT = 9000
METRICS_PORT = 6000
METRICS_PATH = "/prometheus"
COMPONENT_LABEL = "mlplat.io/component"  # serving or prediction-log: what the PodMonitor selects
PREDICTOR_LABEL = "mlplat.io/predictor"  # main, canary or shadow
VERSION_LABEL = "mlplat.io/version"
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
FEATURES_CONTAINER = "features"
FEATURES_PORT = 6566  # Feast's default; the model container reaches it on the pod's loopback
FEATURES_MOUNT = "/etc/mlplat/features"
FEATURES_VOLUME = "feature-definitions"
STARTUP_SECONDS = 180  # a model's load and its feature server's first lookup (MLPLAT_FEATURE_READY_SECONDS: 120)
FEATURE_SERVER_RESOURCES = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
# Settings of the Python wrapper; `mlplat serve` uses the same ones.
SERVER_ENV = {
    "INCLUDE_METRICS_IN_CLIENT_RESPONSE": "false",  # custom metrics go to Prometheus, not to clients
    "PREDICTIVE_UNIT_METRICS_ENDPOINT": METRICS_PATH,
}


def render(model: ResolvedModel) -> list[Manifest]:
    serving, release = model.spec.serving, model.release
    if serving is None or release is None:
        return []
    rollout = serving.rollout
    candidate = release.candidate
    canary = canary_share(rollout, candidate) if candidate and rollout.strategy == "canary" else 0
    predictors = [_predictor(model, "main", release, traffic=100 - canary)]
    if candidate and rollout.strategy == "canary":
        predictors.append(_predictor(model, "canary", candidate, traffic=canary))
    elif candidate and rollout.strategy == "shadow":
        predictors.append(_predictor(model, "shadow", candidate, shadow=True))
    name = model.names.deployment
    body = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": model_metadata(model, name, labels={"mlplat.io/version": str(release.version)},
                                   annotations={"mlplat.io/artifact-sha256": release.artifact_sha256,
                                                "mlplat.io/rollout": rollout.strategy}),
        "spec": {"name": name, "protocol": "seldon", "predictors": predictors},
    }
    config = [_features_config(model)] if model.served_features else []
    return [model_manifest(model, body), *config]


def _features_config(model: ResolvedModel) -> Manifest:
    """The feature server's files: the environment's store settings and the service's definitions."""
    files = {"feature_store.yaml": features.feature_store(model.env, model.feast_project),
             "definitions.json": features.definitions(list(model.served_features), model.environment)}
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            # Synced first: the serving pods mount it.
            "metadata": model_metadata(model, features_config_name(model),
                                       annotations={"argocd.argoproj.io/sync-wave": "-1"}),
            "data": {name: json.dumps(data, indent=2, sort_keys=True) + "\n" for name, data in files.items()}}
    return model_manifest(model, body)


def features_config_name(model: ResolvedModel) -> str:
    return f"{model.names.deployment}-features"


def canary_share(rollout: Rollout, candidate: Candidate) -> int:
    """The canary's percent of traffic: its current step, as the last decision recorded it, else the first."""
    return candidate.traffic or rollout.canary_steps()[0].traffic


def _predictor(model: ResolvedModel, role: str, pinned: PinnedVersion, *, traffic: int = 0,
               shadow: bool = False) -> dict[str, Any]:
    serving = model.serving
    replicas = serving.replicas
    labels = {**model.labels, COMPONENT_LABEL: "serving", VERSION_LABEL: str(pinned.version), PREDICTOR_LABEL: role}
    component: dict[str, Any] = {"metadata": {"labels": labels}, "spec": _pod_spec(model, pinned)}
    if replicas.max > replicas.min:
        component["hpaSpec"] = {
            "minReplicas": max(replicas.min, 1),
            "maxReplicas": replicas.max,
            "metricsv2": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
        }
    if replicas.min >= 2:
        component["pdbSpec"] = {"maxUnavailable": 1}
    predictor: dict[str, Any] = {
        "name": role,
        "replicas": replicas.min,
        "componentSpecs": [component],
        "graph": {
            "name": CONTAINER,
            "type": "MODEL",
            "modelUri": pinned.model_uri,
            "envSecretRefName": model.artifact_secret,
            "parameters": [{"name": "model_uri", "type": "STRING", "value": MODEL_MOUNT}],
            # Request and response of every prediction, as CloudEvents; the executor sends them off the
            # request path, so a slow or absent sink never delays an answer.
            "logger": {"mode": "all", "url": sink_url(model.namespace)},
        },
    }
    if shadow:
        predictor["shadow"] = True
    else:
        predictor["traffic"] = traffic
    return predictor


def _pod_spec(model: ResolvedModel, pinned: PinnedVersion) -> dict[str, Any]:
    resources = model.serving.resources
    pool = model.gpu_pool(resources.gpu_type) if resources.gpus else None
    amounts = {k: v for k, v in (("cpu", resources.cpu), ("memory", resources.memory)) if v}
    limits = dict(amounts)
    if pool is not None:
        limits[pool.resource_name] = str(resources.gpus)
    env = {
        "MLPLAT_MODEL_NAME": model.name,
        "MLPLAT_MODEL_VERSION": str(pinned.version),
        "MLPLAT_ARTIFACT_SHA256": pinned.artifact_sha256,
        **SERVER_ENV,
        "GUNICORN_WORKERS": str(gunicorn_workers(resources.cpu)),
    }
    if model.served_features:
        env |= {"MLPLAT_FEATURE_SERVER_URL": f"http://127.0.0.1:{FEATURES_PORT}",
                "MLPLAT_FEATURE_SERVICE": model.spec.training.data.feature_service or "",
                "MLPLAT_FEATURE_DEFINITIONS": f"{FEATURES_MOUNT}/definitions.json"}
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": model.serving_image,
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": {k: v for k, v in (("requests", amounts), ("limits", limits)) if v},
        # /health/status answers 200 only once the model is loaded (and, on a feature service, once the pod's
        # feature server has answered a lookup); /health/ping while the process lives. Until the first answer
        # the startup probe holds the others back, so that a slow load is waited for, not restarted.
        "startupProbe": {"httpGet": {"path": "/health/status", "port": HTTP_PORT},
                         "periodSeconds": 5, "failureThreshold": STARTUP_SECONDS // 5},
        "readinessProbe": {"httpGet": {"path": "/health/status", "port": HTTP_PORT},
                           "initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"httpGet": {"path": "/health/ping", "port": HTTP_PORT},
                          "initialDelaySeconds": 30, "periodSeconds": 10, "failureThreshold": 6},
        "securityContext": CONTAINER_SECURITY,
    }
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
    }
    if model.served_features:
        container["volumeMounts"] = [{"name": FEATURES_VOLUME, "mountPath": FEATURES_MOUNT, "readOnly": True}]
        spec["containers"].append(_feature_server(model))
        spec["volumes"] = [{"name": FEATURES_VOLUME, "configMap": {"name": features_config_name(model)}},
                           {"name": "feature-server-tmp", "emptyDir": {}}]
    if pool is not None:
        spec["nodeSelector"] = dict(pool.node_selector)
        spec["tolerations"] = [t.model_dump(exclude_none=True) for t in pool.tolerations]
    return spec


def _feature_server(model: ResolvedModel) -> dict[str, Any]:
    # kubelet cannot reach a server on the pod's loopback: the probes run inside the container
    health = {"exec": {"command": ["python", "-c", "import urllib.request; urllib.request.urlopen("
                                   f"'http://127.0.0.1:{FEATURES_PORT}/health', timeout=3)"]},
              "timeoutSeconds": 5}
    return {
        "name": FEATURES_CONTAINER,
        "image": model.runtime_image,
        "command": ["python"],
        "args": ["-m", "runtime", "features", "serve", "--store", f"{FEATURES_MOUNT}/feature_store.yaml",
                 "--definitions", f"{FEATURES_MOUNT}/definitions.json", "--host", "127.0.0.1",
                 "--port", str(FEATURES_PORT)],
        # a local registry file and generated example tables are written under /tmp, as is gunicorn's socket
        "workingDir": "/tmp",
        "env": [{"name": "HOME", "value": "/tmp"}],
        **materialize.credentials(model.env),
        "resources": FEATURE_SERVER_RESOURCES,
        "readinessProbe": {**health, "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {**health, "initialDelaySeconds": 60, "periodSeconds": 20, "failureThreshold": 6},
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [{"name": FEATURES_VOLUME, "mountPath": FEATURES_MOUNT, "readOnly": True},
                         {"name": "feature-server-tmp", "mountPath": "/tmp"}],
    }


def gunicorn_workers(cpu: str | None) -> int:
    """One worker process per whole CPU the container may use (at least 1, at most 8)."""
    return min(8, max(1, int(quantity_value(cpu)))) if cpu else 1
