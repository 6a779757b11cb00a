"""The workflow renderers' plain data (renderers/argo_objects.py) against Hera building the same objects
(hera_oracle.py): every WorkflowTemplate and CronWorkflow of the repository's specs and of a generated
platform of 60 models, in every environment, key for key and in the same order, and with the
repository's credentials and push token taken away."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks.scale.generate import generate
from compiler.pipeline.check import check_project
from compiler.spec.emit import dump_yaml
from compiler.spec.resolved import ResolvedModel
from renderers import argo, canary, drift, monitor_job, quality
from tests.conftest import REPO
from tests.renderers import hera_oracle

WORKFLOW_RENDERERS = {"argo": argo.render, "canary": canary.render, "drift": drift.render, "quality": quality.render}
ORACLE = [(argo, "_workflow_template", hera_oracle.workflow_template),
          (argo, "_cron_workflow", hera_oracle.training_cron_workflow),
          (canary, "_cron_workflow", hera_oracle.canary_cron_workflow),
          (monitor_job, "_cron_workflow", hera_oracle.monitor_cron_workflow)]


def checked_models(root: Path, cache_root: Path) -> list[ResolvedModel]:
    checked, errors = check_project(root, cache_root)
    assert checked is not None, errors
    return checked.models


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[ResolvedModel]:
    root = tmp_path_factory.mktemp("scale") / "platform-of-60"
    generate(root, 60)
    return checked_models(root, root / "no-cache")


def rendered(model: ResolvedModel) -> list[str]:
    return [dump_yaml(manifest.body) for render in WORKFLOW_RENDERERS.values() for manifest in render(model)]


def assert_as_hera_builds_them(models: list[ResolvedModel], monkeypatch: pytest.MonkeyPatch) -> int:
    plain = [rendered(model) for model in models]
    with monkeypatch.context() as patched:
        for module, name, oracle in ORACLE:
            patched.setattr(module, name, oracle)
        built = [rendered(model) for model in models]
    for model, ours, hera in zip(models, plain, built, strict=True):
        assert ours == hera, f"{model.name} in {model.environment}"
    return sum(text.count("kind: CronWorkflow") + text.count("kind: WorkflowTemplate") for m in plain for text in m)


def test_the_repositorys_workflows_are_what_hera_builds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert assert_as_hera_builds_them(checked_models(REPO, tmp_path), monkeypatch) > 30


def test_a_generated_platforms_workflows_are_what_hera_builds(generated: list[ResolvedModel],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = {(m.spec.training.resources.gpus > 0, m.spec.training.schedule is not None,
              m.release is not None and m.release.candidate is not None) for m in generated}
    assert len(kinds) >= 5  # GPU and CPU, scheduled or not, with and without a candidate
    assert assert_as_hera_builds_them(generated, monkeypatch) > 300


def test_without_credentials_or_push_token_as_hera_builds_them(generated: list[ResolvedModel],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    public = [dataclasses.replace(m, repository=m.repository.model_copy(
        update={"credentials_secret": None, "push_secret": None})) for m in generated]
    assert assert_as_hera_builds_them(public, monkeypatch) > 300
