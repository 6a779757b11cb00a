"""Kubernetes-safe names derived from a model name, and the limits they must respect."""

from __future__ import annotations

from dataclasses import dataclass

from compiler.spec.platform import Environment
from compiler.spec.types import DNS_LABEL

LABEL_MAX = 63
# Argo appends an 11-character timestamp suffix to a CronWorkflow's workflows, so its name is
# limited to 52 characters (as for a Kubernetes CronJob).
CRON_WORKFLOW_MAX = 52

# object role -> (name pattern, limit). Every object mlplat renders for a model is named here.
_DERIVED = {
    "training_template": ("{model}-train", LABEL_MAX),
    "training_schedule": ("{model}-train", CRON_WORKFLOW_MAX),
    "drift_schedule": ("{model}-drift", CRON_WORKFLOW_MAX),
    "drift_retrainer": ("{model}-drift", LABEL_MAX),  # ServiceAccount, Role and RoleBinding
    "quality_schedule": ("{model}-quality", CRON_WORKFLOW_MAX),
    "scoring_schedule": ("{model}-score", CRON_WORKFLOW_MAX),
    "quality_retrainer": ("{model}-quality", LABEL_MAX),
    "canary_schedule": ("{model}-canary", CRON_WORKFLOW_MAX),
    "canary_analyst": ("{model}-canary", LABEL_MAX),  # ServiceAccount, Role and RoleBinding
    "deployment": ("{model}", LABEL_MAX),
    "resolved_spec": ("{model}-spec", LABEL_MAX),
    "rules": ("{model}-rules", LABEL_MAX),
    "training_rules": ("{model}-training-rules", LABEL_MAX),
}
MAX_MODEL_NAME = min(limit - (len(pattern) - len("{model}")) for pattern, limit in _DERIVED.values())


@dataclass(frozen=True)
class DerivedNames:
    """The name of each object mlplat renders for one model (patterns and limits in _DERIVED)."""

    training_template: str
    training_schedule: str
    drift_schedule: str
    drift_retrainer: str
    quality_schedule: str
    scoring_schedule: str
    quality_retrainer: str
    canary_schedule: str
    canary_analyst: str
    deployment: str
    resolved_spec: str
    rules: str
    training_rules: str


# A feature view's materialisation CronWorkflow (renderers/materialize.py), in its team's namespace.
MATERIALIZE_SUFFIX = "-materialize"
MAX_VIEW_NAME = CRON_WORKFLOW_MAX - len(MATERIALIZE_SUFFIX)


def materialize_name(view: str) -> str:
    return view.replace("_", "-") + MATERIALIZE_SUFFIX


def derived_names(model: str) -> DerivedNames:
    return DerivedNames(**{role: pattern.format(model=model) for role, (pattern, _) in _DERIVED.items()})


def model_name_problem(model: str) -> str | None:
    """Why a (valid DNS label) model name is too long for one of its derived names, or None."""
    for role, (pattern, limit) in _DERIVED.items():
        name = pattern.format(model=model)
        if len(name) > limit:
            head, *rest = role.split("_")  # named as platform.yaml and the specs name things: lowerCamel
            shown = head + "".join(part.title() for part in rest)
            return (f"derived name {name!r} ({shown}) is {len(name)} characters; the limit is {limit}, "
                    f"so model names may have at most {MAX_MODEL_NAME} characters")
    return None


def feast_project(platform: str, environment: str) -> str:
    """An environment's Feast project (letters, digits and underscores only)."""
    return f"{platform}_{environment}".replace("-", "_")


def namespace_for(env: Environment, team: str) -> str:
    return env.namespace.replace("{team}", team).replace("{env}", env.name)


def namespace_problem(namespace: str) -> str | None:
    if len(namespace) > LABEL_MAX or not DNS_LABEL.fullmatch(namespace):
        return f"namespace {namespace!r} is not a DNS-1123 label of at most {LABEL_MAX} characters"
    return None
