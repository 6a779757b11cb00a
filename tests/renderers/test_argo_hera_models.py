"""Every rendered WorkflowTemplate and CronWorkflow read through Hera's own generated models of Argo's API
(hera.workflows.models, generated from Argo's OpenAPI): each object validates, and Hera writes it back
with the same content, so no field is misspelt (Pydantic drops a field it does not know), mistyped or
misplaced. Checked for every workflow of the repository's specs and of a generated platform of 60 models,
with and without the repository's credentials and push token. (The bytes, key order included, are the
golden files' to hold.)"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.scale.generate import generate
from compiler.pipeline.check import Checked, check_project
from compiler.pipeline.plan import build_plan
from tests.conftest import REPO

KINDS = ("WorkflowTemplate", "CronWorkflow")


def workflows(checked: Checked) -> list[dict[str, Any]]:
    """Every WorkflowTemplate and CronWorkflow the plan renders, as the YAML files hold them."""
    import yaml

    found = []
    for planned in build_plan(checked).files:
        if planned.kind in KINDS:
            found.append(yaml.safe_load(planned.content))
    return found


def hera_problems(body: dict[str, Any]) -> list[str]:
    """What Hera's model of the object's kind refuses or would write otherwise; [] when it is the same."""
    from hera.workflows import models
    from pydantic import ValidationError

    try:
        parsed = getattr(models, body["kind"]).model_validate(body)
    except ValidationError as exc:
        return [f"{error['loc']}: {error['msg']}" for error in exc.errors()]
    back = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    plain = json.loads(json.dumps(body))
    return [f"{path}: {what}" for path, what in _differences(plain, back, "")]


def _differences(ours: Any, hera: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(ours, dict) and isinstance(hera, dict):
        found = [(f"{path}.{key}", "not a field of Argo's model") for key in ours if key not in hera]
        found += [(f"{path}.{key}", "added by Hera") for key in hera if key not in ours]
        for key in ours.keys() & hera.keys():
            found += _differences(ours[key], hera[key], f"{path}.{key}")
        return found
    if isinstance(ours, list) and isinstance(hera, list) and len(ours) == len(hera):
        return [found for index, (a, b) in enumerate(zip(ours, hera, strict=True))
                for found in _differences(a, b, f"{path}[{index}]")]
    return [] if ours == hera else [(path, f"{ours!r} written back as {hera!r}")]


def assert_hera_reads_them(checked: Checked) -> int:
    objects = workflows(checked)
    problems = {f"{o['kind']} {o['metadata']['namespace']}/{o['metadata']['name']}": hera_problems(o)
                for o in objects}
    assert {name: found for name, found in problems.items() if found} == {}
    return len(objects)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    root = tmp_path_factory.mktemp("scale") / "platform-of-60"
    generate(root, 60)
    checked, errors = check_project(root, root / "no-cache")
    assert checked is not None, errors
    return checked


def test_the_repositorys_workflows_are_what_heras_models_write(tmp_path: Path) -> None:
    checked, errors = check_project(REPO, tmp_path)
    assert checked is not None, errors
    assert assert_hera_reads_them(checked) > 30


def test_a_generated_platforms_workflows_are_what_heras_models_write(generated: Checked) -> None:
    kinds = {(m.spec.training.resources.gpus > 0, m.spec.training.schedule is not None,
              m.release is not None and m.release.candidate is not None) for m in generated.models}
    assert len(kinds) >= 5  # GPU and CPU, scheduled or not, with and without a candidate
    assert assert_hera_reads_them(generated) > 300


def test_without_credentials_or_push_token_too(generated: Checked) -> None:
    public = [dataclasses.replace(e, models=tuple(dataclasses.replace(m, repository=m.repository.model_copy(
        update={"credentials_secret": None, "push_secret": None})) for m in e.models))
        for e in generated.environments]
    assert assert_hera_reads_them(dataclasses.replace(generated, environments=tuple(public))) > 300


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    checked, errors = check_project(REPO, tmp_path_factory.mktemp("cache"))
    assert checked is not None, errors
    found = next(o for o in workflows(checked) if o["kind"] == "WorkflowTemplate")
    assert hera_problems(found) == []
    return found


@pytest.mark.parametrize(("change", "complaint"), [
    (lambda spec: spec["templates"][0].update(activeDeadlineSecond=60), "not a field of Argo's model"),
    (lambda spec: spec.update(parallelism="two"), "parallelism"),
    (lambda spec: spec.update(entrypoint=["train"]), "entrypoint"),
    (lambda spec: spec["templates"][0].update(container="python -m runtime train"), "container"),
])
def test_what_heras_models_refuse_is_found(template: dict[str, Any], change: Any, complaint: str) -> None:
    changed = json.loads(json.dumps(template))
    change(changed["spec"])
    found = hera_problems(changed)
    assert found and any(complaint in problem for problem in found), found
