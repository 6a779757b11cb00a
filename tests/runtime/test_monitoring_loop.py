"""The monitoring loop end to end with real components (tests/runtime/monitoring_stack.py): Prometheus and
the Pushgateway from Debian, the real seldon-core server with the reference model behind the executor,
the prediction-log sink, the rendered rule group and a scrape config derived from the rendered
PodMonitor, all on 127.0.0.1 inside a network namespace of their own."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.local import serve as local_serve
from tests.conftest import REPO

pytestmark = [pytest.mark.xdist_group("registry"),
              pytest.mark.skipif(not (shutil.which("prometheus") and shutil.which("prometheus-pushgateway")),
                                 reason="Debian's prometheus and prometheus-pushgateway are absent (.ci/run installs "
                                        "them)"),
              pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) is absent")]


@pytest.fixture(scope="session")  # once: pytest may tear a module's fixture down between its tests
def facts(project: Path, first_run, tmp_path_factory: pytest.TempPathFactory) -> dict:
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    work = tmp_path_factory.mktemp("monitoring-loop")
    # seldon-core's environment is installed on first use; inside the namespace there is no network.
    local_serve.serving_env(project, echo=lambda _: None)
    # A new network namespace: as root directly, otherwise inside a user namespace of our own.
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    result = subprocess.run([*unshare, sys.executable, "-m", "tests.runtime.monitoring_stack", str(project), str(work)],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    found = json.loads((work / "facts.json").read_text()) if (work / "facts.json").is_file() else {}
    assert result.returncode == 0, f"{result.stdout[-3000:]}{result.stderr[-3000:]}\nfacts: {list(found)}"
    return found


def test_every_request_is_counted_and_logged(facts: dict) -> None:
    assert facts["sent"] > 100 and facts["puids_echoed"]
    # counted after the traffic stopped: the serving class's flush thread hands over the last counts
    assert int(facts["predictions_counted"]) == facts["sent"]
    assert facts["logged_puids"] == facts["sent_puids"]
    assert {"request_id", "row", "timestamp", "version", "predictor", "prediction", "mean_radius"} <= set(
        facts["logged_columns"])
    assert facts["logged_version"] == ["1"] and facts["logged_predictor"] == ["main"]
    assert facts["logged_after_stop"] == 2 * facts["sent"]  # the shifted traffic too, flushed on SIGTERM


def test_every_recording_rule_has_a_value_and_errors_are_zero(facts: dict) -> None:
    for record, samples in facts["recorded"].items():
        assert samples, record
        values = [float(s["value"][1]) for s in samples]
        assert all(math.isfinite(v) for v in values), (record, values)
        if "error_ratio" in record:
            assert values == [0.0] and samples[0]["metric"]["predictor"] == "main"
    assert 0 < float(facts["recorded"]["mlplat:model_health_score"][0]["value"][1]) <= 100


def test_every_dashboard_query_returns_data_and_no_alert_is_pending(facts: dict) -> None:
    assert len(facts["dashboard"]) >= 10
    assert [query for query, samples in facts["dashboard"].items() if not samples] == []
    assert facts["alerts_healthy"] == []


def test_drift_and_quality_judge_what_was_served(facts: dict) -> None:
    assert (facts["drift_unshifted"], facts["drift_shifted"]) == (0, 1)
    # the model's settings (psi, threshold 0.2, its features) on the logged rows, with table and report
    assert facts["drift_unshifted_stdout"].startswith("drift: tumor-classifier (dev): psi, threshold 0.2; "
                                                      f"reference 426 rows, current {facts['sent']} rows\n")
    verdict = {run: next(line for line in facts[f"drift_{run}_stdout"].splitlines() if " features drifted " in line)
               for run in ("unshifted", "shifted")}
    assert verdict["unshifted"].endswith(": no drift") and verdict["shifted"].endswith(": DRIFT")
    assert facts["drift_report_bytes"] > 100_000
    assert (facts["quality_correct"], facts["quality_shuffled"]) == (0, 1)
    assert {a["labels"]["alertname"] for a in facts["drift_alert"]} == {"MlplatDataDrift"}


def test_the_catalog_shows_the_last_drift_and_quality_results_and_the_registrys_versions(
        facts: dict, project: Path, tmp_path: Path) -> None:
    """After the loop, `mlplat catalog` of the same project: the last results the drift and quality runs left
    (drift on shifted traffic, degraded on shuffled labels, or whatever a later run of this session left)
    and the version the first run registered, read from the embedded registry."""
    site = tmp_path / "catalog"
    result = subprocess.run([sys.executable, "-m", "compiler", "--root", str(project), "catalog", "--output",
                             str(site)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((site / "catalog.json").read_text())
    model = next(m for m in data["models"] if m["name"] == "tumor-classifier")
    dev = model["environments"]["dev"]["health"]
    for step in ("drift", "quality"):
        left = json.loads((project / ".mlplat" / step / "tumor-classifier-dev" / f"{step}.json").read_text())
        assert dev[step]["status"] == left["status"] and dev[step]["healthy"] is False, (step, left["status"])
    assert dev["status"] == model["health"] == "attention"
    assert model["versionsFrom"] == "registry" and model["versions"][0]["version"] == 1
    assert model["versions"][0]["data"]["train"]["sha256"]  # the run's lineage, as the train step tagged it
    page = (site / "models" / "tumor-classifier.html").read_text()
    assert "drift: " + dev["drift"]["status"] in page and 'class="health attention"' in page


def test_a_stopped_server_raises_the_absence_alert(facts: dict) -> None:
    [alert] = facts["absent_alert"]
    assert alert["state"] in ("pending", "firing") and alert["labels"]["predictor"] == "main"
