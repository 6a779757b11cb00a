"""The canary loop end to end on real parts (tests/runtime/canary_stack.py): a bare git repository as origin,
Debian's Prometheus scraping real seldon-core stacks for main and canary, and the rendered canary
CronWorkflow's pod run as Argo would run it. A canary that fails half its requests is rolled back by a
commit on origin; a good one steps 5 -> 25 -> 50 -> 100 and becomes main; without Prometheus it holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.local import serve as local_serve
from tests.conftest import REPO

pytestmark = [pytest.mark.xdist_group("registry"),
              pytest.mark.skipif(not shutil.which("prometheus"), reason="Debian's prometheus is absent (.ci/run "
                                                                        "installs it)"),
              pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) is absent")]


def run_stack(work: Path, *flags: str) -> dict:
    local_serve.serving_env(REPO, echo=lambda _: None)  # built outside: the namespace has no network
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    result = subprocess.run([*unshare, sys.executable, "-m", "tests.runtime.canary_stack", str(work), *flags],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    found = json.loads((work / "facts.json").read_text()) if (work / "facts.json").is_file() else {}
    assert result.returncode == 0, f"{result.stdout[-3000:]}{result.stderr[-3000:]}\nfacts: {list(found)}"
    return found


@pytest.fixture(scope="session")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return run_stack(tmp_path_factory.mktemp("canary-loop"))


def test_without_prometheus_the_analysis_holds_and_proposes_nothing(facts: dict) -> None:
    blind = facts["blind"]
    assert (blind["decision"], blind["exit"], blind["proposals"]) == ("blind", 2, []), blind["log"]
    assert "HOLD: blind: Prometheus at http://127.0.0.1:" in blind["log"]


def test_a_failing_canary_is_rolled_back_by_a_commit_on_origin(facts: dict) -> None:
    rollback = facts["rollback"]
    assert rollback["decision"] == "rollback" and rollback["exit"] == 0, rollback["log"]
    assert facts["failed_bad_phase"]["canary"] > 0 and facts["failed_bad_phase"]["main"] == 0
    assert facts["rollback_branch"].startswith("mlplat/canary-tumor-classifier-dev-v2-rollback-0-")
    release = facts["rollback_release"]
    assert release["version"] == 1 and "candidate" not in release  # main untouched, the candidate gone
    message = facts["rollback_message"]
    assert message.startswith("roll back canary tumor-classifier v2 in dev (was at 5%)\n")
    assert "reason: canary worse than main in errors" in message
    assert "- errors: main 0/" in message and "Fisher exact, one-sided" in message
    assert 'code=~"5.."' in message  # the queries it was decided on
    # the commit carries the rendered result: no canary predictor, no analysis job
    assert "environments/dev/releases.yaml" in facts["rollback_files"]
    assert "environments/dev/apps/platform/tumor-classifier/cronworkflow-tumor-classifier-canary.yaml" in \
        facts["rollback_files"]
    assert facts["after_rollback_share"] == 0 and not facts["canary_cron_after_rollback"]


def test_a_good_canary_steps_up_to_full_traffic_and_becomes_main(facts: dict) -> None:
    steps = facts["steps"]
    decisions = [s["decision"] for s in steps]
    if decisions != ["step", "step", "step", "promote"]:
        print("\n\n".join("\n".join(s["report"]) + f"\n{s['log']}" for s in steps))  # shown in full on failure
    assert decisions == ["step", "step", "step", "promote"], [s["report"][:1] for s in steps]
    assert [s["shares"].get("canary") for s in steps[:3]] == [25, 50, 100]
    assert [s["release"]["candidate"]["traffic"] for s in steps[:3]] == [25, 50, 100]
    assert steps[-1]["shares"] == {"main": 100}
    final = facts["final_release"]
    assert final["version"] == 3 and "candidate" not in final
    assert not facts["canary_cron_after_promotion"]
    assert facts["failed"] == {"main": 0, "canary": 0} or facts["failed"]["canary"] == facts["failed_bad_phase"][
        "canary"]  # only the bad canary ever failed
