"""Argo CD: one Application per (environment, team), and a root Application per environment.

Each team Application syncs environments/<env>/apps/<team>/ to the team's namespace on the
environment's cluster, inside an AppProject per environment that allows nothing else. The root
Application ("app of apps") per environment syncs the AppProject and the team Applications, so an
environment is bootstrapped once with `kubectl apply -f environments/<env>/argocd/root.yaml`, and
each environment syncs on its own: a failing prod sync never holds back dev.
"""

from __future__ import annotations

from typing import Any

from compiler.spec.names import namespace_for
from compiler.spec.paths import OUTPUT_DIR, PLATFORM_FILE
from compiler.spec.resolved import MANAGED_BY, ResolvedEnvironment
from renderers.base import ARGOCD_DIR, TEAM_APPS_DIR, Manifest

APPLICATIONS = f"{ARGOCD_DIR}/applications"
IN_CLUSTER = "https://kubernetes.default.svc"
# ML-BOMs and other non-Kubernetes files never live under apps/, and are excluded again here.
NOT_KUBERNETES = "{*.cdx.json,**/*.cdx.json}"


def render(environment: ResolvedEnvironment) -> list[Manifest]:
    env, platform = environment.env, environment.platform
    argocd, repository = platform.spec.argocd, platform.spec.repository
    project = f"mlplat-{env.name}"
    manifests = []
    for team in environment.teams:
        name = f"mlplat-{env.name}-{team}"
        body = _application(
            name=name,
            labels={**_labels(env.name), "mlplat.io/team": team},
            namespace=argocd.namespace,
            project=project,
            source={
                "repoURL": repository.url,
                "targetRevision": repository.branch,
                "path": f"{OUTPUT_DIR}/{env.name}/{TEAM_APPS_DIR}/{team}",
                "directory": {"recurse": True, "exclude": NOT_KUBERNETES},
            },
            destination={"server": environment.cluster.server, "namespace": namespace_for(env, team)},
            create_namespace=True,
        )
        manifests.append(Manifest(f"{APPLICATIONS}/{team}.yaml", body, PLATFORM_FILE))
    if manifests:
        manifests.insert(0, Manifest(f"{APPLICATIONS}/appproject-{project}.yaml",
                                     _project(environment, project), PLATFORM_FILE))
        root = _application(
            name=f"mlplat-{env.name}",
            labels=_labels(env.name),
            namespace=argocd.namespace,
            project=argocd.project,
            source={
                "repoURL": repository.url,
                "targetRevision": repository.branch,
                "path": f"{OUTPUT_DIR}/{env.name}/{APPLICATIONS}",
            },
            destination={"server": IN_CLUSTER, "namespace": argocd.namespace},
            create_namespace=False,
        )
        manifests.append(Manifest(f"{ARGOCD_DIR}/root.yaml", root, PLATFORM_FILE))
    return manifests


def _project(environment: ResolvedEnvironment, name: str) -> dict[str, Any]:
    """One AppProject per environment: its Applications can deploy only to that environment's cluster
    and team namespaces, so dev, staging and prod stay independent of each other."""
    env, argocd = environment.env, environment.platform.spec.argocd
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": argocd.namespace, "labels": _labels(env.name),
                     # Created before the Applications that belong to it.
                     "annotations": {"argocd.argoproj.io/sync-wave": "-1"}},
        "spec": {
            "description": f"mlplat models in {env.name}",
            "sourceRepos": [environment.platform.spec.repository.url],
            "destinations": [{"server": environment.cluster.server, "namespace": namespace_for(env, team)}
                             for team in environment.teams],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        },
    }


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
