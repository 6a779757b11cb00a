"""The canary loop end to end on real parts and the rendered defaults (tests/runtime/canary_stack.py): a bare
git repository as origin, Debian's Prometheus scraping real seldon-core stacks for main and canary at the
rendered PodMonitor's intervals, and the rendered canary CronWorkflow's pod run as Argo would run it. A
canary that fails a tenth of its requests with model faults (500 MLPLAT_MODEL_ERROR) is rolled back by a
commit on origin; a good one at 20% is promoted to main; without Prometheus it holds."""

from __future__ import annotations

import json
import os
import re
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


def test_a_canary_failing_a_tenth_of_its_requests_is_rolled_back_by_a_commit_on_origin(facts: dict) -> None:
    rollback = facts["rollback"]
    assert rollback["decision"] == "rollback" and rollback["exit"] == 0, rollback["log"]
    assert facts["scrape_intervals"] == ["30s", "10s"]  # the rendered PodMonitor's, not a test's
    sent, failed = facts["sent_bad_phase"], facts["failed_bad_phase"]
    assert failed["main"] == 0 and 0 < failed["canary"] < sent["canary"] / 4  # about a tenth, not half
    assert facts["rollback_branch"].startswith("mlplat/canary-tumor-classifier-dev-v2-rollback-0-")
    release = facts["rollback_release"]
    assert release["version"] == 1 and "candidate" not in release  # main untouched, the candidate gone
    message = facts["rollback_message"]
    assert message.startswith("roll back canary tumor-classifier v2 in dev (was at 20%)\n")
    # failures decide it: as failed requests (Fisher), or as their own outcome of the distribution, which also
    # holds while main's executor, scraped every 30 s, has fewer than two samples in the window (main 0/0);
    # which of main's targets has two samples first depends on the scrapes' offsets
    assert re.search(r"reason: canary worse than main in [a-z, ]*(errors|distribution)", message), message
    assert "- errors: main 0/" in message and "Fisher exact on failed requests" in message
    assert "- distribution:" not in message or re.search(r"- distribution: main \{[^}]*'failed': 0", message)
    assert "failed by reason: main none; canary MLPLAT_MODEL_ERROR " in message  # the model's fault, a 500
    assert 'code!~"2.."' in message  # the queries it was decided on: every failure, not only 5xx
    assert "confidence 0.99, at least 500 requests a side" in message  # the spec language's defaults
    # the commit carries the rendered result: no canary predictor, no analysis job
    assert "environments/dev/releases.yaml" in facts["rollback_files"]
    assert "environments/dev/apps/platform/tumor-classifier/cronworkflow-tumor-classifier-canary.yaml" in \
        facts["rollback_files"]
    assert facts["after_rollback_share"] == 0 and not facts["canary_cron_after_rollback"]


def test_a_good_canary_is_promoted_to_main(facts: dict) -> None:
    steps = facts["steps"]
    decisions = [s["decision"] for s in steps]
    if decisions != ["promote"]:
        print("\n\n".join("\n".join(s["report"]) + f"\n{s['log']}" for s in steps))  # shown in full on failure
    assert decisions == ["promote"], [s["report"][:1] for s in steps]
    assert "not worse than main through the last step (20%)" in steps[0]["report"][0]
    assert steps[-1]["shares"] == {"main": 100}
    final = facts["final_release"]
    assert final["version"] == 3 and "candidate" not in final
    assert not facts["canary_cron_after_promotion"]
    assert facts["failed"] == {"main": 0, "canary": 0} or facts["failed"]["canary"] == facts["failed_bad_phase"][
        "canary"]  # only the bad canary ever failed
