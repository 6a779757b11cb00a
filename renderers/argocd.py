"""Argo CD: one Application per (environment, team), and a root Application per environment.

Each team Application syncs environments/<env>/apps/<team>/ to the team's namespace on the
environment's cluster. The root Application ("app of apps") syncs the team Applications, so an
environment is bootstrapped once with `kubectl apply -f environments/<env>/argocd/root.yaml`.
"""

from __future__ import annotations

from typing import Any

from compiler.names import namespace_for
from compiler.resolve import MANAGED_BY, ResolvedEnvironment
from renderers.base import ARGOCD_DIR, TEAM_APPS_DIR, Manifest

PLATFORM_SOURCE = "platform/platform.yaml"
IN_CLUSTER = "https://kubernetes.default.svc"
# ML-BOMs and other non-Kubernetes files never live under apps/, and are excluded again here.
NOT_KUBERNETES = "{*.cdx.json,**/*.cdx.json}"


def render(environment: ResolvedEnvironment) -> list[Manifest]:
    env, platform = environment.env, environment.platform
    argocd = platform.spec.argocd
    manifests = []
    for team in environment.teams:
        name = f"mlplat-{env.name}-{team}"
        body = _application(
            name=name,
            labels={**_labels(env.name), "mlplat.io/team": team},
            namespace=argocd.namespace,
            project=argocd.project,
            source={
                "repoURL": argocd.repo_url,
                "targetRevision": argocd.target_revision,
                "path": f"environments/{env.name}/{TEAM_APPS_DIR}/{team}",
                "directory": {"recurse": True, "exclude": NOT_KUBERNETES},
            },
            destination={"server": environment.cluster.server, "namespace": namespace_for(env, team)},
            create_namespace=True,
        )
        manifests.append(Manifest(f"{ARGOCD_DIR}/teams/{team}.yaml", body, PLATFORM_SOURCE))
    if manifests:
        root = _application(
            name=f"mlplat-{env.name}",
            labels=_labels(env.name),
            namespace=argocd.namespace,
            project=argocd.project,
            source={
                "repoURL": argocd.repo_url,
                "targetRevision": argocd.target_revision,
                "path": f"environments/{env.name}/{ARGOCD_DIR}/teams",
            },
            destination={"server": IN_CLUSTER, "namespace": argocd.namespace},
            create_namespace=False,
        )
        manifests.append(Manifest(f"{ARGOCD_DIR}/root.yaml", root, PLATFORM_SOURCE))
    return manifests


def _labels(env: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "mlplat", "app.kubernetes.io/managed-by": MANAGED_BY,
            "mlplat.io/environment": env}


def _application(*, name: str, labels: dict[str, str], namespace: str, project: str, source: dict[str, Any],
                 destination: dict[str, str], create_namespace: bool) -> dict[str, Any]:
    sync_options = ["CreateNamespace=true"] if create_namespace else []
    sync_options += ["PrunePropagationPolicy=foreground", "PruneLast=true"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            # Deleting the Application deletes what it deployed, so a removed model leaves nothing behind.
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": project,
            "source": source,
            "destination": destination,
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True, "allowEmpty": False},
                "syncOptions": sync_options,
                "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
            },
        },
    }
