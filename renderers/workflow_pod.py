"""What every mlplat workflow pod shares, whichever renderer makes its workflow (argo, canary, drift,
quality, scoring, materialize): the workflow-level settings (non-root pods, a writable /tmp, garbage
collection), the resolved spec mounted read-only, the container's security context, resources with a
GPU pool's resource name, the repository as Argo's git input artifact, and a step's ServiceAccount and
Role. The renderers build on it; it renders nothing itself."""

from __future__ import annotations

from typing import Any

from compiler.spec.resolved import ResolvedModel
from renderers import argo_objects as a
from renderers.base import model_metadata

SPEC_MOUNT = "/etc/mlplat"
OUTPUTS = "/tmp/outputs"
CODE_PATH = "/src"  # the repository's checkout in the train and evaluate pods
RUNTIME_USER = 1000
TMP_MOUNT = {"mountPath": "/tmp", "name": "tmp"}  # the writable /tmp of workflow_settings


def workflow_metadata(model: ResolvedModel, name: str, pipeline: str, wave: int) -> dict[str, Any]:
    """Metadata of a workflow object: its pipeline label, and its Argo CD sync wave."""
    return model_metadata(model, name, labels={"mlplat.io/pipeline": pipeline},
                          annotations={"argocd.argoproj.io/sync-wave": str(wave)})


def step_rbac(model: ResolvedModel, name: str, pipeline: str, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding `name` of a workflow step: `rules`, and what Argo's executor
    needs to record the step's outcome (a WorkflowTaskResult)."""
    rules = [*rules, {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"],
                      "verbs": ["create", "patch"]}]

    def metadata() -> dict[str, Any]:
        return workflow_metadata(model, name, pipeline, 0)

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(), "automountServiceAccountToken": True},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata(), "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": metadata(),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": model.namespace}]},
    ]


def code_artifact(model: ResolvedModel, revision: str) -> Any:
    """The platform's repository at `revision`, cloned by Argo into CODE_PATH (full history, so that any
    commit can be checked out; the clone keeps .git, which is how train learns the commit)."""
    repository = model.repository
    return a.git_artifact("code", CODE_PATH, repository.url, revision, repository.credentials_secret)


def pod_settings(model: ResolvedModel, component: str) -> dict[str, Any]:
    """Workflow-level settings of a model's workflows: the shared ones, with its resolved spec as a volume."""
    return workflow_settings([{"configMap": {"name": model.names.resolved_spec}, "name": "spec"}],
                             pod_labels(model, component))


def pod_labels(model: ResolvedModel, component: str) -> dict[str, str]:
    """Labels of a model's workflow pods: the model's, and which part of its lifecycle the pod runs."""
    return {**model.labels, "mlplat.io/component": component}


def workflow_settings(volumes: list[Any], pod_labels: dict[str, str]) -> dict[str, Any]:
    """Workflow-level settings every mlplat workflow shares: non-root pods carrying `pod_labels` (Argo does not
    copy a workflow's labels to its pods, and cost allocation reads the pods'), `volumes` and a writable /tmp,
    garbage collection."""
    return {
        "podMetadata": {"labels": pod_labels},
        "securityContext": {"fsGroup": RUNTIME_USER, "runAsGroup": RUNTIME_USER, "runAsNonRoot": True,
                            "runAsUser": RUNTIME_USER, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [*volumes, {"emptyDir": {}, "name": "tmp"}],
        "ttlStrategy": {"secondsAfterCompletion": 7 * 24 * 3600},
        "podGC": {"strategy": "OnPodSuccess"},
    }


def spec_mounts() -> list[Any]:
    return [{"mountPath": SPEC_MOUNT, "name": "spec", "readOnly": True}, TMP_MOUNT]


def container_security() -> Any:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}


def compute(cpu: str | None, memory: str | None, gpus: int, pool: Any) -> Any:
    amounts = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    limits = dict(amounts)
    if gpus and pool is not None:
        limits[pool.resource_name] = str(gpus)
    return a.fields(limits=limits or None, requests=amounts or None)
