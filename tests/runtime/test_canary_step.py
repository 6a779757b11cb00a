"""`python -m runtime canary` around its decision: rounds, outputs, and what it reads (runtime/canary/step.py).
The decisions on real Prometheus are tests/runtime/test_canary_loop.py's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from compiler.local.serve import free_port
from runtime.canary import step
from tests.conftest import REPO, checked_model


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("canary") / "model.json"
    path.write_text(checked_model(REPO, "fraud-detector", "prod").summary_json())
    return path


def analyse(spec_file: Path, tmp_path: Path, *extra: str, sleep=None) -> int:
    nobody = f"http://127.0.0.1:{free_port()}"
    args = ["--model", "fraud-detector", "--environment", "prod", "--spec", str(spec_file), "--outputs",
            str(tmp_path / "out"), "--prometheus", nobody, "--releases", str(REPO / "environments/prod/releases.yaml"),
            "--now", "1796198400", *extra]  # 2026-12-02T08:00:00Z
    return step.main(args, **({"sleep": sleep} if sleep else {}))


def test_intervals_under_a_minute_judge_in_rounds_and_a_blind_run_exits_2(spec_file: Path, tmp_path: Path) -> None:
    slept = []
    assert analyse(spec_file, tmp_path, "--rounds", "3", "--every", "20", sleep=slept.append) == step.BLIND
    assert slept == [20, 20]  # three analyses, none decided: blind holds
    assert (tmp_path / "out" / "decision").read_text() == "blind"
    decided = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert decided["action"] == "hold" and decided["reason"].startswith("blind: Prometheus at http://127.0.0.1:")
    # the step as releases.yaml records it: 5% since 2026-11-30T09:00:00Z, the first of four
    assert decided["step"]["index"] == 1 and decided["step"]["of"] == 4 and decided["traffic"]["from"] == 5
    assert decided["step"]["elapsedSeconds"] == 2 * 86400 - 3600 and decided["at"] == "2026-12-02T08:00:00Z"
    assert (decided["main"], decided["candidate"]) == ({"version": 12}, {"version": 13})


def test_a_model_without_a_canary_has_nothing_to_judge(spec_file: Path, tmp_path: Path) -> None:
    releases = yaml.safe_load((REPO / "environments/prod/releases.yaml").read_text())
    del releases["releases"]["fraud-detector"]["candidate"]
    path = tmp_path / "releases.yaml"
    path.write_text(yaml.safe_dump(releases))
    assert analyse(spec_file, tmp_path, "--releases", str(path)) == step.DECIDED
    assert (tmp_path / "out" / "decision").read_text() == "none"


def test_durations_as_the_spec_writes_them() -> None:
    assert [step.duration_seconds(d) for d in ("0s", "30s", "15m", "1h30m", "2d")] == [0, 30, 900, 5400, 172800]
