"""Monthly cost: cron run counts, the formula against platform.yaml's prices, and `mlplat plan`'s cost change."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.pipeline.check import check_project
from compiler.pipeline.plan import build_plan
from compiler.reports import cost
from compiler.spec.schedules import runs_per_month
from tests.compiler.test_promotion import run
from tests.conftest import REPO, check_golden, init_git

GOLDEN = REPO / "tests" / "golden" / "cli"


@pytest.mark.parametrize(("schedule", "runs"), [
    ("0 3 * * *", 365 / 12), ("30 2 * * MON", 52 / 12), ("0 4 1 * *", 1.0), ("@hourly", 730.0),
    ("*/15 9-17 * * 1-5", 4 * 9 * 261 / 12),
    ("0 0 1 * MON", (12 + 52 - 2) / 12),  # the 1st or a Monday; 2025-09-01 and 2025-12-01 are both
    ("0 0 * * 7", 52 / 12), ("0 6 2 * *", 1.0), ("@weekly", 52 / 12)])
def test_runs_a_month_count_a_whole_common_year(schedule: str, runs: float) -> None:
    assert runs_per_month(schedule) == pytest.approx(runs)


def workloads_of(root: Path) -> dict[tuple[str, str, str], cost.Workload]:
    checked, errors = check_project(root)
    assert errors == []
    return {(w.environment, w.model, w.kind): w for w in cost.workloads(build_plan(checked), checked.project.platform)}


def test_each_workload_is_priced_by_the_formula_with_its_pools_prices() -> None:
    found = workloads_of(REPO)
    h100_hour = 9.80 * 2 + 0.042 * 16 + 0.0053 * 128  # gpu-prod-eu's h100 pool: 2 GPUs, 16 cores, 128 GiB
    training = found[("prod", "fraud-detector", "training")]
    assert training.monthly == pytest.approx(365 / 12 * 4 * h100_hour)  # daily, at its 4h timeout
    assert training.what == "30.4 runs x 4 h x (2 GPUs h100, 16 CPU, 128 GiB)"
    pod_hour = 0.042 * 2 + 0.0053 * 4  # the cluster's own prices: CPU pods
    serving = found[("prod", "fraud-detector", "serving")]
    assert serving.monthly == pytest.approx((3 + 3) * pod_hour * 730)  # main and the canary's 3 replicas each
    assert serving.monthly_max == pytest.approx((12 + 12) * pod_hour * 730)
    assert found[("staging", "fraud-detector", "training")].what == "30.4 runs x 4 h x (1 GPU h100, 16 CPU, 128 GiB)"
    # dev trains on demand only and pins nothing: no schedule and no deployment to price
    assert not [key for key in found if key[0] == "dev"]


def test_a_pool_without_prices_is_unpriced_not_free(repo_copy: Path) -> None:
    platform = repo_copy / "platform/platform.yaml"
    platform.write_text(platform.read_text().replace(
        "          prices: {gpuHour: 9.80, cpuCoreHour: 0.042, memoryGiBHour: 0.0053}\n", ""))
    training = workloads_of(repo_copy)[("prod", "fraud-detector", "training")]
    assert training.monthly is None
    assert "128 GiB, unpriced: no prices for h100" in training.what


def test_plan_of_a_pull_request_adding_gpus_to_scheduled_training_shows_its_cost_change(repo_copy: Path) -> None:
    init_git(repo_copy)
    spec = repo_copy / "specs/payments/fraud-detector/model.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("resources: {gpus: 2, gpuType: h100,", "resources: {gpus: 4, gpuType: h100,"))
    code, out = run(repo_copy, "plan", "--base", "HEAD")
    assert code == 0, out
    check_golden(GOLDEN / "plan-gpu-cost.txt", out)
    runs, hours = 365 / 12, 4  # a run a day, priced at its 4h timeout
    before, after = (runs * hours * (9.80 * gpus + 0.042 * 16 + 0.0053 * 128) for gpus in (2, 4))
    assert f"  prod: +{after - before:,.2f}\n    fraud-detector training: {before:,.2f} -> {after:,.2f}" in out
    code, markdown = run(repo_copy, "plan", "--base", "HEAD", "--format", "markdown")
    assert code == 0, markdown
    check_golden(GOLDEN / "plan-gpu-cost.md", markdown[markdown.index("#### Monthly cost change"):])
    spec.write_text(text.replace("epochs: 20,", "epochs: 30,"))  # a change that costs nothing more
    code, out = run(repo_copy, "plan", "--base", "HEAD")
    assert out.endswith("\nmonthly cost (USD): no change\n"), out
