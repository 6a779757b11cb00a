"""The render cache and the spec cache: an incremental compile is byte for byte a clean one, whatever changed.

Each test warms the caches with a compile, changes one kind of input, compiles again through the
caches, and compares every file with a compile that uses no cache at all. Broken, foreign and
linked caches must be ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path

import pytest

import compiler.pipeline.incremental.store
import compiler.pipeline.project
from compiler.cli import main
from compiler.pipeline.check import check_project
from compiler.pipeline.incremental import fingerprint
from compiler.pipeline.incremental.render_cache import KIND, RenderCache
from compiler.pipeline.incremental.spec_cache import KIND as SPEC_KIND
from compiler.pipeline.incremental.store import cache_folder
from compiler.pipeline.plan import Plan, build_plan
from compiler.pipeline.progress import Progress
from compiler.pipeline.tree_swap import SPARE
from compiler.pipeline.write import differences
from renderers import registry, seldon

FRAUD = "specs/payments/fraud-detector/model.yaml"
PROD_RELEASES = "environments/prod/releases.yaml"
EVIDENCE = "environments/prod/evidence/fraud-detector-v13.json"


def run(root: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--root", str(root), *args])
    return code, out.getvalue()


def files(plan: Plan) -> dict[str, bytes]:
    return {f.path: f.content for f in plan.files}


def clean_plan(root: Path) -> Plan:
    checked, errors = check_project(root, cache_root=root / "no-cache-here")
    assert checked is not None, errors
    return build_plan(checked)


def edit(root: Path, path: str, old: str, new: str) -> None:
    text = (root / path).read_text()
    assert old in text, f"{old!r} is not in {path}"
    (root / path).write_text(text.replace(old, new, 1))


def edit_evidence(root: Path) -> None:
    data = json.loads((root / EVIDENCE).read_text())
    data["metrics"]["roc_auc"] = 0.9512
    (root / EVIDENCE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


CHANGES: dict[str, tuple[Callable[[Path], None], int]] = {
    # name: (the change, how many units are rendered again: each unit a model in an environment, an
    # environment's own objects, a team's objects in an environment, an environment's Feast files, a model
    # card or CODEOWNERS)
    "spec": (lambda root: edit(root, FRAUD, "epochs: 20", "epochs: 25"), 3 + 3 + 3 + 1),
    # every environment's objects carry the hash of the whole spec, overlays included
    "overlay": (lambda root: edit(root, FRAUD, "replicas: {min: 1, max: 2}", "replicas: {min: 1, max: 3}"),
                3 + 3 + 3 + 1),
    # the platform reaches every environment's, team's and Feast objects and CODEOWNERS; of the models, a
    # team's settings reach its own two, and their cards
    "platform-team": (lambda root: edit(root, "platform/platform.yaml", "#payments-ml-alerts", "#payments-alerts"),
                      2 * 3 + 3 + 4 * 3 + 3 + 2 + 1),
    "platform-defaults": (lambda root: edit(root, "platform/platform.yaml", "serviceAccount: mlplat-runner",
                                            "serviceAccount: mlplat-trainer"), None),
    "releases": (lambda root: edit(root, PROD_RELEASES, "      traffic: 5\n", "      traffic: 25\n"), 1 + 1 + 1 + 1),
    "evidence": (edit_evidence, 1 + 1 + 1 + 1),
    # a team's feature definitions reach each environment's Feast files, and the models deployed on a service
    # of theirs (chargeback-risk and churn-predictor in prod: their feature servers' definitions), with prod's
    # own objects, each one's team objects and its card
    "features": (lambda root: edit(root, "specs/payments/features.yaml", "ttl: 30d", "ttl: 14d"),
                 3 + 2 + 1 + 2 + 2),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_an_incremental_compile_is_a_clean_one(repo_copy: Path, change: str) -> None:
    assert run(repo_copy, "compile")[0] == 0  # warms both caches
    mutate, expected_misses = CHANGES[change]
    mutate(repo_copy)
    checked, errors = check_project(repo_copy)
    assert checked is not None, errors
    cache = RenderCache(repo_copy)
    incremental = build_plan(checked, cache)
    assert files(incremental) == files(clean_plan(repo_copy))
    assert incremental.notes == clean_plan(repo_copy).notes
    team_units = sum(len({m.team for m in env.models}) for env in checked.environments)
    total = len(checked.models) + 2 * len(checked.environments) + team_units + len(checked.project.models) + 1
    if expected_misses is not None:
        assert (cache.misses, cache.hits) == (expected_misses, total - expected_misses)
    else:  # the platform reaches every unit
        assert (cache.misses, cache.hits) == (total, 0)
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert differences(repo_copy, clean_plan(repo_copy)) == []


def test_a_renderer_change_is_a_new_key(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(repo_copy, "compile")[0] == 0

    def changed_seldon(model):  # the same renderer, as if its code had been edited
        manifests = seldon.render(model)
        for manifest in manifests:
            manifest.body["metadata"]["annotations"]["mlplat.io/renderer"] = "edited"
        return manifests

    monkeypatch.setitem(registry.MODEL_RENDERERS, "seldon", changed_seldon)
    monkeypatch.setattr(fingerprint, "project_code_version", lambda: "an edited renderer")
    checked = check_project(repo_copy)[0]
    cache = RenderCache(repo_copy)
    plan = build_plan(checked, cache)
    assert cache.hits == 0
    assert files(plan) == files(build_plan(checked))
    assert any(b"mlplat.io/renderer: edited" in content for content in files(plan).values())


def test_the_code_version_covers_every_renderer_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for entry in ("renderers", "compiler/spec", "compiler/pipeline"):
        shutil.copytree(fingerprint._REPO / entry, tmp_path / entry, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(fingerprint._REPO / "compiler/runtime_contract.py", tmp_path / "compiler/runtime_contract.py")
    monkeypatch.setattr(fingerprint, "_REPO", tmp_path)
    versions = (fingerprint.code_version, fingerprint.project_code_version)
    for version in versions:
        version.cache_clear()
    try:
        before = [version() for version in versions]
        for path in ("renderers/seldon.py", "renderers/templates/model_card.md.j2", "compiler/spec/emit.py",
                     "compiler/runtime_contract.py", "compiler/pipeline/plan.py", "compiler/pipeline/resolve.py",
                     "compiler/pipeline/loader.py"):
            (tmp_path / path).write_text((tmp_path / path).read_text() + "\n# edited\n")
            for version in versions:
                version.cache_clear()
            after = [version() for version in versions]
            assert after[1] != before[1], path  # what keys use: every change to loading, checking or rendering
            if path.startswith(("renderers", "compiler/spec", "compiler/runtime_contract", "compiler/pipeline/plan")):
                assert after[0] != before[0], path
            before = after
    finally:
        for version in versions:
            version.cache_clear()


def _break_every(folder: Path, damage: Callable[[Path], None]) -> int:
    broken = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        damage(path)
        broken += 1
    return broken


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign", "another format", "not a listing"])
def test_a_broken_or_foreign_entry_is_a_miss(repo_copy: Path, damage: str) -> None:
    assert run(repo_copy, "compile")[0] == 0
    entries = cache_folder(repo_copy) / KIND
    listed = sorted(entries.rglob("*.json"))
    original = {path: path.read_bytes() for path in listed}

    def spoil(path: Path) -> None:
        if damage == "truncated":
            path.write_bytes(path.read_bytes()[:40])
        elif damage == "garbage":
            path.write_bytes(os.urandom(64))
        elif damage == "foreign":  # a well-formed entry, filed under a key that is not its own
            path.write_bytes(original[listed[(listed.index(path) + 1) % len(listed)]])
        elif damage == "another format":  # what another version of mlplat wrote
            path.write_text(json.dumps({**json.loads(path.read_text()), "format": 2}))
        else:
            path.write_text(json.dumps({**json.loads(path.read_text()), "value": [{"path": "environments/x"}]}))

    assert _break_every(entries, spoil) > 0
    checked = check_project(repo_copy)[0]
    cache = RenderCache(repo_copy)
    assert files(build_plan(checked, cache)) == files(clean_plan(repo_copy))
    assert cache.hits == 0


def test_a_content_the_tree_no_longer_holds_is_rendered_again(repo_copy: Path) -> None:
    """A cached file's bytes are read from the tree the last compile wrote (or its spare): edited there
    in place, or gone, the unit is rendered again rather than its file left out or written wrong."""
    assert run(repo_copy, "compile")[0] == 0
    edit(repo_copy, FRAUD, "epochs: 20", "epochs: 25")
    assert run(repo_copy, "compile")[0] == 0  # so that a spare tree holds the tree before it
    for tree in (repo_copy / "environments", repo_copy / SPARE):
        assert _break_every(tree / "dev" / "apps", lambda p: p.write_bytes(p.read_bytes() + b"# tampered\n")) > 0
    shutil.rmtree(repo_copy / "environments" / "prod" / "apps")
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert differences(repo_copy, clean_plan(repo_copy)) == []


def test_a_linked_cache_folder_is_not_used(repo_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo_copy / ".mlplat").symlink_to(outside)
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert list(outside.iterdir()) == []  # nothing written through the link


def _poison(root: Path) -> int:
    """What a branch could commit: entries with the right keys, a tree of its own choosing (returns how many
    evidence documents it poisoned)."""
    evidence = 0
    for entry in (cache_folder(root) / KIND).rglob("*.json"):
        data = json.loads(entry.read_text())
        for listed in data["value"]:
            poison = b"kind: Pod\n# " + listed["path"].encode() + b"\n"
            listed["sha256"] = hashlib.sha256(poison).hexdigest()
            target = root / listed["path"]  # a branch commits the tree as well
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(poison)
        entry.write_text(json.dumps(data))
    for entry in (cache_folder(root) / SPEC_KIND).rglob("*.json"):
        data = json.loads(entry.read_text())
        if not isinstance(data["value"], dict):  # a mark that a document's bytes passed its schema
            continue
        document = data["value"]["data"]
        if document.get("kind") == "Model":
            document["metadata"]["description"] = "poisoned"
        elif "artifactSha256" in document:  # an evidence document: its ML-BOM would say so
            document["description"] = "poisoned"
            evidence += 1
        entry.write_text(json.dumps(data))
    return evidence


def test_a_cache_a_branch_commits_is_not_read(repo_copy: Path, tmp_path: Path) -> None:
    """A branch can commit .mlplat/cache/ with entries of its choosing; in a git checkout the caches live in
    the git directory, where no commit reaches, and what the work tree holds is never read."""
    other = tmp_path / "other"
    shutil.copytree(repo_copy, other)
    assert run(other, "compile")[0] == 0  # no git directory there: its caches are in .mlplat/cache/
    assert _poison(other) > 0
    (repo_copy / ".git").mkdir()
    shutil.copytree(other / ".mlplat", repo_copy / ".mlplat")
    shutil.rmtree(repo_copy / "environments")
    shutil.copytree(other / "environments", repo_copy / "environments")
    cache = RenderCache(repo_copy)
    checked = check_project(repo_copy)[0]
    assert all(m.description != "poisoned" for m in checked.models)
    assert files(build_plan(checked, cache)) == files(clean_plan(repo_copy))
    assert cache.hits == 0
    assert cache.folder == repo_copy / ".git" / "mlplat" / "cache" / KIND
    assert run(repo_copy, "compile")[0] == 0 and any(cache.folder.rglob("*.json"))


@pytest.mark.parametrize("switch", [("CI", "true"), ("MLPLAT_CACHE", "off")])
def test_no_cache_is_read_or_written_in_ci(repo_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                           switch: tuple[str, str]) -> None:
    monkeypatch.setenv(*switch)
    code, out = run(repo_copy, "compile")
    assert code == 0, out
    assert not (repo_copy / ".mlplat").exists()


def test_warm_and_cold_plans_are_the_same_in_any_spec_order(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = files(clean_plan(repo_copy))
    original = compiler.pipeline.project.spec_files
    for seed in range(3):
        def shuffled(root: Path, seed: int = seed) -> list[Path]:
            found = original(root)
            random.Random(seed).shuffle(found)
            return found

        monkeypatch.setattr(compiler.pipeline.project, "spec_files", shuffled)
        for _warm_or_cold in range(2):
            assert files(build_plan(check_project(repo_copy)[0], RenderCache(repo_copy))) == expected
        shutil.rmtree(repo_copy / ".mlplat")


def test_compile_check_and_plan_see_a_hand_edit_despite_the_cache(repo_copy: Path) -> None:
    assert run(repo_copy, "compile")[0] == 0
    target = next((repo_copy / "environments/prod/apps").rglob("seldondeployment-*.yaml"))
    target.write_text(target.read_text() + "# hand edit\n")
    code, out = run(repo_copy, "compile", "--check")
    assert code != 0 and target.relative_to(repo_copy).as_posix() in out
    assert run(repo_copy, "compile")[0] == 0
    assert "# hand edit" not in target.read_text()


def test_validate_writes_nothing(repo_copy: Path) -> None:
    assert run(repo_copy, "validate")[0] == 0
    assert not (repo_copy / ".mlplat").exists()


def test_a_cached_spec_still_locates_its_errors(repo_copy: Path) -> None:
    assert run(repo_copy, "compile")[0] == 0  # the spec is now in the spec cache
    assert any((cache_folder(repo_copy) / SPEC_KIND).rglob("*.json"))
    edit(repo_copy, FRAUD, "  retries: 2\n", "  retries: two\n")
    first = run(repo_copy, "validate")
    second = run(repo_copy, "validate")  # the broken file was not cached: the same answer, located
    assert first == second and first[0] != 0
    assert re.search(rf"{FRAUD}:\d+:\d+: error: spec.training.retries", first[1]), first[1]
    edit(repo_copy, FRAUD, "  retries: two\n", "  retries: 2\n")
    assert run(repo_copy, "validate")[0] == 0


def test_an_error_found_after_loading_is_located_from_a_cached_spec(repo_copy: Path) -> None:
    # an unchanged spec, loaded from the cache, whose problem only policy sees once the platform changed:
    # its positions are found when the error is located
    assert run(repo_copy, "compile")[0] == 0
    edit(repo_copy, "platform/platform.yaml", 'members: ["@dev-patel", "@sam-okafor"]', 'members: ["@sam-okafor"]')
    loaded = []
    real = compiler.pipeline.incremental.store.Entries.get

    def counted(entries, key):  # noqa: ANN001, ANN202 - the real one's signature
        found = real(entries, key)
        loaded.append(isinstance(found, dict) and "data" in found)
        return found

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(compiler.pipeline.incremental.store.Entries, "get", counted)
        first = run(repo_copy, "validate")
    assert any(loaded)  # the spec came from the cache
    assert first[0] != 0 and f"{FRAUD}:" in first[1] and "metadata.owners[1]" in first[1], first[1]
    line = next(n for n, text in enumerate((repo_copy / FRAUD).read_text().splitlines(), 1) if "@dev-patel" in text)
    assert f"{FRAUD}:{line}:" in first[1]


def test_unchanged_files_are_not_written_and_the_old_tree_is_never_written_through(repo_copy: Path) -> None:
    assert run(repo_copy, "compile")[0] == 0
    apps = repo_copy / "environments/prod/apps/payments/fraud-detector"
    unchanged = apps / "workflowtemplate-fraud-detector-train.yaml"
    changed = next(apps.glob("seldondeployment-*.yaml"))
    before_unchanged, before_changed = unchanged.stat(), changed.read_bytes()
    held = os.open(changed, os.O_RDONLY)  # the old tree's file, as a reader (Argo CD) has it open
    try:
        edit(repo_copy, PROD_RELEASES, "      traffic: 5\n", "      traffic: 25\n")
        code, out = run(repo_copy, "compile")
        assert code == 0, out
        assert changed.read_bytes() != before_changed
        assert os.pread(held, len(before_changed) + 1, 0) == before_changed
    finally:
        os.close(held)
    after = unchanged.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before_unchanged.st_ino, before_unchanged.st_mtime_ns)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_shows_only_after_a_while_and_clears_its_line() -> None:
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(stream, after=2.0, clock=clock)
    progress.show("rendering 1/10")
    assert stream.getvalue() == ""
    clock.now = 2.5
    progress.show("rendering 2/10")
    progress.done()
    assert stream.getvalue() == "\r\033[Krendering 2/10\r\033[K"


def test_progress_is_silent_without_a_terminal(repo_copy: Path) -> None:
    assert Progress.for_terminal("text").stream is None  # pytest's stderr is not a terminal
    assert Progress.for_terminal("json").stream is None


def test_evidence_that_passed_is_checked_again_once_its_bytes_change(repo_copy: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean compile marks each evidence file's bytes as valid, so the next check skips Pydantic for them;
    a file changed since is validated again (and a bad one reported, with its position)."""
    from compiler.pipeline import validation

    assert run(repo_copy, "compile")[0] == 0
    validated = []
    real = validation.validate
    monkeypatch.setattr(compiler.pipeline.project, "validate",
                        lambda doc, model, data=None: (validated.append(doc.file), real(doc, model, data))[1])
    path = repo_copy / "environments/prod/evidence/churn-predictor-v31.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "artifactSha256": 31}, indent=2))
    code, out = run(repo_copy, "compile")
    assert code == 1 and "environments/prod/evidence/churn-predictor-v31.json:" in out, out
    assert [f for f in validated if "/evidence/" in f] == ["environments/prod/evidence/churn-predictor-v31.json"]
