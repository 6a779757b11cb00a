"""The example repository checked once for every renderer test: renderers are pure, so they can share it."""

from __future__ import annotations

import pytest

from compiler.pipeline.check import Checked, check_project
from compiler.spec.resolved import ResolvedModel
from tests.conftest import REPO


@pytest.fixture(scope="session")
def checked() -> Checked:
    result, errors = check_project(REPO)
    assert errors == []
    return result


@pytest.fixture(scope="session")
def models(checked: Checked) -> dict[tuple[str, str], ResolvedModel]:
    """Every model in every environment, by (name, environment)."""
    return {(m.name, m.environment): m for m in checked.models}


@pytest.fixture(scope="session")
def environments(checked: Checked) -> dict:
    """Every resolved environment, by name."""
    return {e.env.name: e for e in checked.environments}
