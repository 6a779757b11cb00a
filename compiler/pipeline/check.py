"""check_project: load -> validate -> feature and platform policy -> resolve per environment -> rules and
policy.

This is all of `mlplat validate`; `mlplat compile` goes on with plan.py and write.py. Nothing here
imports the renderers, so validation never loads Hera, cyclonedx or Jinja2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler.pipeline.deployed_features import deployed_feature_problems
from compiler.pipeline.entrypoints import entrypoint_problems
from compiler.pipeline.errors import SpecError
from compiler.pipeline.features import feature_problems, model_feature_problems
from compiler.pipeline.policy import (
    environment_policy,
    local_data_policy,
    merge_environments,
    model_policy,
    platform_policy,
    production_policy,
    quota_policy,
    release_policy,
)
from compiler.pipeline.project import Project, load_project
from compiler.pipeline.resolve import SpecLocator, resolve_model
from compiler.pipeline.rules import spec_rules
from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel


@dataclass(frozen=True)
class Checked:
    """A project with no errors, resolved for every environment."""

    project: Project
    environments: tuple[ResolvedEnvironment, ...]

    @property
    def models(self) -> list[ResolvedModel]:
        return [m for env in self.environments for m in env.models]


def check_project(root: Path, cache_root: Path | None = None, remember: bool = True,
                  teams: set[str] | None = None, others: frozenset[str] = frozenset()
                  ) -> tuple[Checked | None, list[SpecError]]:
    """Every error of every file, in one pass; a `Checked` project only when there are none (whose loaded
    files the spec cache keeps, unless `remember` is False).

    With `teams`, only those teams' specs are checked, with everything they are checked against (the
    platform, the feature definitions, the releases and the evidence of their pins); `others` names the
    models of the other teams, which an earlier clean check of the same common inputs passed (see
    incremental/project_plan.py). Such a partial check keeps nothing in the spec cache: its caller does,
    once the whole plan stands."""
    project, errors = load_project(root, cache_root, remember, teams, others)
    if project is None:
        return None, sorted(set(errors))
    checked, errors = check_loaded(project, errors)
    if checked is not None and project.spec_cache is not None and teams is None:
        project.spec_cache.keep()
    return checked, errors


def check_loaded(project: Project, errors: list[SpecError]) -> tuple[Checked | None, list[SpecError]]:
    """The checks that follow loading, on a loaded project (`errors`: what loading found)."""
    root = project.root
    platform = project.platform
    errors = errors + feature_policy(project)
    platform_errors = platform_policy(platform, project.platform_doc)
    if platform_errors:  # specs cannot be resolved against a broken platform
        return None, sorted(set(errors + platform_errors))
    errors += model_policy(project)
    resolved: list[tuple[ResolvedModel, SpecLocator]] = []
    per_environment: list[tuple[str, SpecError]] = []
    for loaded in project.models:
        for env in platform.spec.environments:
            model, found = resolve_model(project, loaded, env)
            errors += found
            if model is None:
                continue
            where = SpecLocator(loaded.doc, env.name)
            errors += spec_rules(model, where) + entrypoint_problems(root, model, where)
            per_environment += [(env.name, e) for e in environment_policy(model, where, project.platform_doc)
                                + production_policy(model, where, project.platform_doc)
                                + local_data_policy(model, where, platform.spec.defaults.local_data_roots)]
            resolved.append((model, where))
    per_environment += quota_policy(resolved, platform, project.platform_doc)
    errors += merge_environments(per_environment, platform.environment_names)
    errors += release_policy(project, [m for m, _ in resolved])
    if errors:
        return None, sorted(set(errors))
    environments = tuple(
        ResolvedEnvironment(
            env=env,
            cluster=platform.cluster(env.cluster),
            platform=platform,
            models=tuple(sorted((m for m, _ in resolved if m.environment == env.name), key=lambda m: m.name)),
        )
        for env in platform.spec.environments
    )
    return Checked(project, environments), []


def feature_policy(project: Project) -> list[SpecError]:
    """Each features.yaml against the platform; where every one loaded (otherwise the names of a broken file
    would look undefined elsewhere), the references across them, the models' feature services, and the
    features that pinned versions are served with."""
    loaded = list(project.features)
    errors = feature_problems(loaded, project.platform, complete=project.features_complete)
    if project.features_complete:
        errors += model_feature_problems(((m.doc, m.model) for m in project.models), loaded)
        errors += deployed_feature_problems(loaded, project.releases)
    return errors
