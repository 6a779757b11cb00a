"""The plan's wording for changes people care about: GPUs, versions, spec-hash-only updates."""

from __future__ import annotations

import re
from pathlib import Path

from compiler.gitops.plandiff import diff_plans, format_markdown, format_text
from compiler.pipeline.check import check_project
from compiler.pipeline.plan import Plan, build_plan


def plan_of(root: Path) -> Plan:
    checked, errors = check_project(root)
    assert errors == []
    return build_plan(checked)


def test_gpu_change_in_one_overlay_is_spelled_out_and_elsewhere_marked_hash_only(repo_copy: Path) -> None:
    before = plan_of(repo_copy)
    spec = repo_copy / "specs/search/query-ranker/model.yaml"
    spec.write_text(spec.read_text().replace("      training:\n        resources: {gpus: 1}\n",
                                              "      training:\n        resources: {gpus: 2}\n"))
    changes = {(c.environment, c.kind, c.name): tuple(d.text() for d in c.details)
               for c in diff_plans(before, plan_of(repo_copy))}
    assert changes[("staging", "WorkflowTemplate", "query-ranker-train")][0] == "train on 1 GPU (h100) -> 2 GPUs (h100)"
    assert changes[("staging", "ConfigMap", "query-ranker-spec")] == (
        "training resources: cpu=32, gpuType=h100, gpus=1, memory=256Gi -> cpu=32, gpuType=h100, gpus=2, "
        "memory=256Gi",)
    assert changes[("prod", "ConfigMap", "query-ranker-spec")][0].startswith("spec hash only (")


def test_new_and_removed_resources(repo_copy: Path) -> None:
    empty = Plan(())
    text = format_text(diff_plans(empty, plan_of(repo_copy)), "nothing")
    assert "  + SeldonDeployment/fraud-detector  (environments/prod/apps/payments/fraud-detector/" in text
    assert "      main: version 12, 95% traffic, 3 replicas" in text
    assert "      canary: version 13, 5% traffic, 3 replicas" in text  # the step releases.yaml records
    assert "      shadow: version 5, shadow (copies of traffic), 2 replicas" in text
    full = plan_of(repo_copy)
    gone = format_text(diff_plans(full, empty), "HEAD")
    assert gone.splitlines()[-1] == f"plan against HEAD: 0 to create, 0 to change, {len(full.files)} to delete"
    assert len(full.files) > 60


def test_spec_text_in_the_pull_request_comment_is_shown_literally(repo_copy: Path) -> None:
    before = plan_of(repo_copy)
    spec = repo_copy / "specs/payments/fraud-detector/model.yaml"
    hostile = '"![ok](https://e.invalid/p.png) [docs](https://e.invalid) @acme/security <!-- `x` | y"'
    spec.write_text(spec.read_text().replace("Card-not-present fraud scoring for checkout", hostile))
    markdown = format_markdown(diff_plans(before, plan_of(repo_copy)), "main")
    rows = [line for line in markdown.splitlines() if "e.invalid" in line]
    assert rows
    for row in rows:  # the spec's text sits inside code spans only, where GitHub renders nothing
        what = row.split(" | ", 2)[2]
        outside = re.sub(r"(`+).*?(?<!`)\1(?!`)", "", what)
        assert "e.invalid" in what and "e.invalid" not in outside, row
        assert "@acme" not in outside and "<!--" not in outside, row


def test_a_detail_is_worded_in_one_place() -> None:
    from compiler.gitops.change_detail import Detail, more

    assert Detail("hyperparameter lr", "0.001", "0.002").text() == "hyperparameter lr: 0.001 -> 0.002"
    assert Detail("train on", "1 GPU", "2 GPUs", field=False).text() == "train on 1 GPU -> 2 GPUs"
    assert Detail("train on", after="1 GPU", field=False).text() == "train on 1 GPU"
    assert Detail("main", after="version 3").text() == "main: version 3"
    assert Detail("canary predictor removed", note=" (was version 2)").text() \
        == "canary predictor removed (was version 2)"
    assert Detail("view v ttl", "30d", "14d", field=False, note=" (affects m)").text() \
        == "view v ttl 30d -> 14d (affects m)"
    assert more(3, "fields").text() == "... and 3 more fields" and more(2, "").text() == "... and 2 more"
