"""The prediction-log sink of a team in an environment: a Deployment and a Service in its namespace.

Every SeldonDeployment's executor sends each request and response as a CloudEvent to this Service
(renderers/seldon.py). The sink, `python -m runtime prediction-log` in the platform's runtime image
(runtime/prediction_log/), pairs them by request id and writes one row per predicted row to
`<predictionLog>/<team>/<model>/date=YYYY-MM-DD/hour=HH/*.parquet` in bounded batches, the layout
the drift and quality jobs read. It flushes on SIGTERM; the grace period leaves it time to. Two
replicas, each executor pod kept to one of them (ClientIP session affinity), since a pair can only meet
in one sink.
"""

from __future__ import annotations

from typing import Any

from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel
from renderers.base import TEAM_APPS_DIR, Manifest, served_by_team
from renderers.workflow_pod import RUNTIME_USER

NAME = "mlplat-prediction-log"
HTTP_PORT = 8080
BATCH_ROWS = 10_000  # rows held before a write; with the pending pairs, what bounds the sink's memory
FLUSH_SECONDS = 60  # the oldest row waits at most this long for its Parquet file
GRACE_SECONDS = 60


def sink_url(namespace: str) -> str:
    return f"http://{NAME}.{namespace}.svc.cluster.local:{HTTP_PORT}/"


def render(environment: ResolvedEnvironment) -> list[Manifest]:
    manifests = []
    for team, models in served_by_team(environment).items():
        sources = ", ".join(sorted({m.source for m in models}))
        folder = f"{TEAM_APPS_DIR}/{team}/prediction-log"
        manifests += [Manifest(f"{folder}/deployment-{NAME}.yaml", _deployment(team, models), sources),
                      Manifest(f"{folder}/service-{NAME}.yaml", _service(team, models), sources)]
    return manifests


def _labels(team: str, model: ResolvedModel) -> dict[str, str]:
    return {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "mlplat",
            "app.kubernetes.io/managed-by": "mlplat", "mlplat.io/team": team,
            "mlplat.io/environment": model.environment, "mlplat.io/component": "prediction-log"}


def _metadata(team: str, model: ResolvedModel) -> dict[str, Any]:
    return {"name": NAME, "namespace": model.namespace, "labels": _labels(team, model)}


def log_root(model: ResolvedModel) -> str:
    """The team's folder of the prediction log: <predictionLog>/<team>."""
    return model.prediction_log.rsplit("/", 1)[0]


def _deployment(team: str, models: list[ResolvedModel]) -> dict[str, Any]:
    first = models[0]
    selector = {"app.kubernetes.io/name": NAME, "mlplat.io/team": team}
    env = {
        "MLPLAT_PREDICTION_LOG": log_root(first),
        "MLPLAT_LOGGED_MODELS": ",".join(m.names.deployment for m in models),
        "MLPLAT_ENVIRONMENT": first.environment,
        "MLPLAT_BATCH_ROWS": str(BATCH_ROWS),
        "MLPLAT_FLUSH_SECONDS": str(FLUSH_SECONDS),
        "HOME": "/tmp",
    }
    container = {
        "name": "sink",
        "image": first.runtime_image,
        "command": ["python", "-m", "runtime", "prediction-log", "--port", str(HTTP_PORT)],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        # The artifact store's credentials, as the model servers' storage initializer gets them.
        "envFrom": [{"secretRef": {"name": first.artifact_secret}}],
        # named `metrics`: the team's PodMonitor scrapes its /prometheus beside the Seldon pods'
        "ports": [{"name": "metrics", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": HTTP_PORT}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/health", "port": HTTP_PORT}, "periodSeconds": 10,
                          "failureThreshold": 6},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(team, first),
        "spec": {
            "replicas": 2,  # one may restart (and flush) while the other takes the events
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": _labels(team, first)},
                "spec": {
                    "terminationGracePeriodSeconds": GRACE_SECONDS,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": RUNTIME_USER, "runAsGroup": RUNTIME_USER,
                                        "fsGroup": RUNTIME_USER, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def _service(team: str, models: list[ResolvedModel]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(team, models[0]),
        "spec": {"selector": {"app.kubernetes.io/name": NAME, "mlplat.io/team": team},
                 # A prediction's request and response events come from one executor pod, on connections of
                 # their own: pinning each client to one sink pod is what lets that pod pair them.
                 "sessionAffinity": "ClientIP",
                 "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "metrics", "protocol": "TCP"}]},
    }
