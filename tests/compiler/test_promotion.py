"""GitOps promotion on real temporary git repositories and a real MLflow registry (SQLite):
`mlplat plan` between two commits, `mlplat gate` on changed pins (good and faulty), and promote /
rollback round trips with their refusals."""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest
import torch

from compiler.cli import main
from compiler.gitops import promote as promotion
from compiler.gitops import rollback as rollbacks
from compiler.gitops.approvals import approval_check, approvers, load_reviews
from compiler.gitops.gate import Deadline
from compiler.gitops.pins import Committed, PromoteError
from compiler.local.serve import free_port
from compiler.pipeline.check import check_project
from compiler.spec.platform import Team
from compiler.spec.releases import PinnedVersion
from runtime import artifact
from tests.conftest import REPO, copy_repo, init_git, move_artifact_stores

MODEL = "tumor-classifier"
GOOD = {"roc_auc": 0.99, "accuracy": 0.97, "log_loss": 0.1}
# The content digests of each split's data, as the train step tags its run (runtime/data/datasets.py).
DATA = {"train": "1" * 64, "eval": "2" * 64}


def promote(root: Path, *args, **kwargs) -> Committed:
    """mlplat promote, then on its branch, as work goes on once its pull request merges: the commit is made
    beside the work tree, which it leaves as it was."""
    return _on_branch(root, lambda: promotion.promote(root, *args, **kwargs))


def rollback(root: Path, *args, **kwargs) -> Committed:
    return _on_branch(root, lambda: rollbacks.rollback(root, *args, **kwargs))


def _on_branch(root: Path, commit) -> Committed:
    repository = git.Repo(root)
    head, status = repository.head.commit.hexsha, repository.git.status("--porcelain")
    try:
        done = commit()
    finally:
        assert (repository.head.commit.hexsha, repository.git.status("--porcelain")) == (head, status)
    repository.git.checkout(done.branch)
    return done


def run(root: Path, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--root", str(root), *args])
    return code, out.getvalue() + err.getvalue()


class Registry:
    """A real MLflow registry on SQLite, filled with versions whose facts each test chooses."""

    def __init__(self, root: Path, spec_hash: str, store: Path, model_dir: Path):
        from mlflow.tracking import MlflowClient

        self.uri = f"sqlite:///{root / 'registry.db'}"
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self.experiment = self.client.create_experiment("platform/tumor-classifier",
                                                        artifact_location=(store / root.parent.name).as_uri())
        self.spec_hash = spec_hash
        self.model_dir = model_dir
        self.sha256 = artifact.digest(self.model_dir)
        self.client.create_registered_model(MODEL)

    def register(self, metrics: dict[str, float] = GOOD, gate: str = "passed", data: dict[str, str] | None = DATA,
                 label: str = "2026-11") -> dict:
        """A version whose run read `data` (split -> sha256; None: no digests recorded) under `label`."""
        run = self.client.create_run(self.experiment)
        run_id = run.info.run_id
        for split, sha256 in (data or {}).items():
            self.client.set_tag(run_id, f"mlplat.data.{split}.uri", f"sklearn://breast_cancer?split={split}")
            self.client.set_tag(run_id, f"mlplat.data.{split}.version", label)
            self.client.set_tag(run_id, f"mlplat.data.{split}.sha256", sha256)
        for name, value in metrics.items():
            self.client.log_metric(run_id, name, value)
        self.client.log_artifacts(run_id, str(self.model_dir), "model")
        self.client.set_terminated(run_id, "FINISHED")
        source = f"{run.info.artifact_uri}/model"
        version = self.client.create_model_version(MODEL, source, run_id=run_id, tags={
            "mlplat.gate": gate, "mlplat.artifact_sha256": self.sha256, "mlplat.spec_hash": self.spec_hash,
            "mlplat.run_id": run_id})
        pin = {"version": int(version.version), "runId": run_id, "modelUri": source,
               "artifactSha256": self.sha256, "specHash": self.spec_hash, "gate": "passed"}
        self.client.log_dict(run_id, evidence_for(pin), "mlplat/evidence.json")  # as the register step does
        return pin


def evidence_for(pin: dict) -> dict:
    """The reference model's real evidence (tests/fixtures/evidence) with this version's registry facts."""
    template = json.loads((REPO / "tests/fixtures/evidence/tumor-classifier-v1.json").read_text())
    return {**template, **{k: v for k, v in pin.items() if k not in ("gate", "approvedBy")}}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One artifact store for every environment; each test's registry keeps its artifacts in it."""
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory, store: Path) -> Path:
    """The repository with its environments' artifact stores in `store`, compiled once per module."""
    root = copy_repo(tmp_path_factory.mktemp("compiled") / "repo")
    (root / ".gitignore").write_text("/.mlplat/\n")
    move_artifact_stores(root, store.as_uri())
    with redirect_stdout(io.StringIO()):
        assert main(["--root", str(root), "compile"]) == 0  # the store is in the rendered manifests too
    return root


@pytest.fixture
def repo(tmp_path: Path, compiled: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(compiled, root)
    init_git(root)
    return root


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real model directory, exported once: every registered version logs a copy of it."""
    directory = tmp_path_factory.mktemp("model") / "model"
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(30, 1), torch.nn.Sigmoid(), torch.nn.Flatten(0))
    artifact.save(module, directory, framework="pytorch", task="binary-classification",
                  features=[f"f{i}" for i in range(30)])
    return directory


@pytest.fixture
def registry(tmp_path: Path, repo: Path, store: Path, model_dir: Path) -> Registry:
    checked, _ = check_project(repo)
    spec_hash = next(m.spec_hash for m in checked.models if m.name == MODEL)
    return Registry(tmp_path / "mlflow", spec_hash, store, model_dir)


def pin_yaml(env: str, pins: dict[str, dict]) -> str:
    lines = ["apiVersion: mlplat/v1", "kind: Releases", f"environment: {env}", "releases:"]
    for model, pin in pins.items():
        lines.append(f"  {model}:")
        lines += [f"    {key}: {value if key == 'version' else repr(str(value))}" for key, value in pin.items()]
    return "\n".join(lines) + "\n"


def set_dev_pin(repo: Path, pin: dict, *, commit: str | None = None) -> None:
    (repo / "environments/dev/releases.yaml").write_text(pin_yaml("dev", {MODEL: pin}))
    evidence = repo / f"environments/dev/evidence/{MODEL}-v{pin['version']}.json"
    evidence.parent.mkdir(parents=True, exist_ok=True)
    evidence.write_text(json.dumps(evidence_for(pin)))
    if commit:
        repository = git.Repo(repo)
        repository.git.add("--all")
        repository.index.commit(commit)


# -- plan ---------------------------------------------------------------------------------------------
def test_plan_lists_exactly_the_changed_resources(repo: Path) -> None:
    spec = repo / "specs/payments/fraud-detector/model.yaml"
    spec.write_text(spec.read_text().replace("{metric: roc_auc, min: 0.92}", "{metric: roc_auc, min: 0.93}")
                    .replace("threshold: 0.2\n", "threshold: 0.15\n"))
    releases = repo / "environments/prod/releases.yaml"
    releases.write_text(releases.read_text().replace("    version: 31\n", "    version: 32\n"))
    evidence = json.loads((repo / "environments/prod/evidence/churn-predictor-v31.json").read_text())
    (repo / "environments/prod/evidence/churn-predictor-v32.json").write_text(json.dumps({**evidence, "version": 32}))
    shutil.rmtree(repo / "specs/growth/ltv-forecaster")
    code, out = run(repo, "compile")
    assert code == 0, out
    repository = git.Repo(repo)
    repository.git.add("--all")
    repository.index.commit("PR: tighten the fraud gate, bump churn in prod, retire ltv")
    code, out = run(repo, "plan", "--base", "HEAD~1")
    assert code == 0
    resources = sorted(line.split("  (")[0].strip() for line in out.splitlines()  # resources: indented by 2
                       if line.startswith("  ") and not line.startswith("   ") and line.strip()[:1] in "+~-")
    expected = sorted(
        ["~ ConfigMap/fraud-detector-spec", "~ WorkflowTemplate/fraud-detector-train",
         "~ PrometheusRule/fraud-detector-training-rules"] * 3  # dev, staging, prod
        + ["~ CronWorkflow/fraud-detector-train", "~ SeldonDeployment/fraud-detector",
           "~ PrometheusRule/fraud-detector-rules", "~ CronWorkflow/fraud-detector-quality"] * 2  # staging, prod
        + [f"~ {kind}/fraud-detector-drift" for kind in ("CronWorkflow", "ServiceAccount", "Role", "RoleBinding")] * 2
        + [f"~ {kind}/fraud-detector-canary" for kind in ("CronWorkflow", "ServiceAccount", "Role", "RoleBinding")]
        + ["~ ConfigMap/mlplat-dashboard-payments"] * 2  # staging, prod: the drift panel's threshold
        + ["~ SeldonDeployment/churn-predictor", "~ ConfigMap/mlplat-dashboard-growth"]
        + [f"- {kind}" for _ in ("dev", "prod", "staging")
           for kind in ("ConfigMap/ltv-forecaster-spec", "WorkflowTemplate/ltv-forecaster-train",
                        "PrometheusRule/ltv-forecaster-training-rules")]
        + ["- CronWorkflow/ltv-forecaster-train"] * 2
        + ["- ML-BOM/sbom/churn-predictor-v31.cdx.json", "+ ML-BOM/sbom/churn-predictor-v32.cdx.json"]
        + ["~ ModelCard/model-cards/growth/churn-predictor.md", "- ModelCard/model-cards/growth/ltv-forecaster.md",
           "~ ModelCard/model-cards/payments/fraud-detector.md"])
    assert resources == expected, out
    assert "gate roc_auc min: 0.92 -> 0.93" in out
    assert "drift threshold: 0.2 -> 0.15" in out
    card_line = "| 32 | roc_auc | 0.8034 | roc_auc min 0.78: passed; roc_auc maxRegressionVsChampion 0.01: passed |"
    assert f"      + {card_line}" in out  # the model card's changed lines
    assert "main: version 31, 100% traffic, 3 replicas -> version 32, 100% traffic, 3 replicas" in out
    assert "metadata.annotations.mlplat.io/spec-hash: f11e4af29561 -> " in out  # same objects, new spec hash
    assert "panel fraud-detector (version 12, candidate 13) > Drift: description: psi per feature; drifted at 0.2 " \
           "-> psi per feature; drifted at 0.15" in out
    assert "row churn-predictor (version 31): title: churn-predictor (version 31) -> churn-predictor (version 32)" \
        in out
    assert "\nplan against HEAD~1: 1 to create, 35 to change, 13 to delete\n" in out
    assert "    ltv-forecaster training: 0.38 -> 0.00 (-0.38)\n" in out  # retired: its monthly training goes
    code, markdown = run(repo, "plan", "--base", "HEAD~1", "--format", "markdown")
    assert markdown.startswith("### mlplat plan against `HEAD~1`\n\n"
                               "**1** to create, **35** to change, **13** to delete")
    assert "| ~ | `SeldonDeployment/churn-predictor` | `main: version 31" in markdown


def test_plan_without_changes(repo: Path) -> None:
    assert run(repo, "plan", "--base", "HEAD") == (0, "no changes against HEAD\n")


def test_hand_edit_in_a_commit_is_caught_by_compile_check(repo: Path) -> None:
    target = repo / "environments/prod/argocd/applications/search.yaml"
    target.write_text(target.read_text().replace("prune: true", "prune: false"))
    repository = git.Repo(repo)
    repository.git.add("--all")
    repository.index.commit("hand edit")
    code, out = run(repo, "compile", "--check")
    assert code == 1 and "environments/prod/argocd/applications/search.yaml: differs" in out


# -- gate ---------------------------------------------------------------------------------------------
def gate(repo: Path, registry_uri: str) -> tuple[int, str]:
    return run(repo, "gate", "--env", "dev", "--base", "HEAD", "--tracking-uri", registry_uri)


def failed_checks(out: str) -> list[str]:
    return [line.split(":")[0].replace("FAIL", "").strip() for line in out.splitlines() if line.startswith("  FAIL")]


def test_gate_passes_a_good_version(repo: Path, registry: Registry) -> None:
    set_dev_pin(repo, registry.register())
    code, out = gate(repo, registry.uri)
    assert code == 0, out
    assert out.splitlines()[0] == f"PASS {MODEL} version 1 in dev"
    assert out.splitlines()[-1] == "gate dev: 1 of 1 changed pins pass"


def test_gate_with_no_changed_pins(repo: Path, registry: Registry) -> None:
    assert gate(repo, registry.uri) == (0, "gate dev: no release pins changed against HEAD\n")



def _fault_mlflow_down(registry: Registry, pin: dict) -> tuple[dict, str]:
    return pin, f"http://127.0.0.1:{free_port()}"


def _fault_version_missing(registry: Registry, pin: dict) -> tuple[dict, str]:
    return {**pin, "version": 99}, registry.uri


def _fault_version_deleted(registry: Registry, pin: dict) -> tuple[dict, str]:
    registry.client.delete_model_version(MODEL, str(pin["version"]))
    return pin, registry.uri


def _fault_run_mismatch(registry: Registry, pin: dict) -> tuple[dict, str]:
    other = registry.register()
    return {**pin, "runId": other["runId"]}, registry.uri


def _fault_digest_mismatch(registry: Registry, pin: dict) -> tuple[dict, str]:
    return {**pin, "artifactSha256": "f" * 64}, registry.uri


def _fault_artifact_tampered(registry: Registry, pin: dict) -> tuple[dict, str]:
    stored = Path(pin["modelUri"].removeprefix("file://")) / "model.pt2"
    stored.write_bytes(stored.read_bytes() + b"tampered")
    return pin, registry.uri


def _fault_spec_mismatch(registry: Registry, pin: dict) -> tuple[dict, str]:
    return {**pin, "specHash": "e" * 64}, registry.uri


def _fault_stage_mismatch(registry: Registry, pin: dict) -> tuple[dict, str]:
    return registry.register(gate="failed"), registry.uri


def _fault_metric_absent(registry: Registry, pin: dict) -> tuple[dict, str]:
    return registry.register(metrics={"roc_auc": 0.99, "accuracy": 0.97}), registry.uri


def _fault_threshold(registry: Registry, pin: dict) -> tuple[dict, str]:
    return registry.register(metrics={**GOOD, "roc_auc": 0.9}), registry.uri


def _fault_model_uri_mismatch(registry: Registry, pin: dict) -> tuple[dict, str]:
    return {**pin, "modelUri": pin["modelUri"] + "-elsewhere"}, registry.uri  # Seldon would fetch another file


def _fault_metric_not_finite(registry: Registry, pin: dict) -> tuple[dict, str]:
    return registry.register(metrics={**GOOD, "roc_auc": float("inf")}), registry.uri


FAULTS = {
    "mlflow down": (_fault_mlflow_down, "registry reachable"),
    "model uri mismatch": (_fault_model_uri_mismatch, "model uri"),
    "metric not finite": (_fault_metric_not_finite, "gate roc_auc min 0.97"),
    "version missing": (_fault_version_missing, "version exists"),
    "version deleted": (_fault_version_deleted, "version exists"),
    "run id mismatch": (_fault_run_mismatch, "run id"),
    "digest mismatch": (_fault_digest_mismatch, "artifact digest recorded"),
    "artifact tampered": (_fault_artifact_tampered, "artifact intact"),
    "spec hash mismatch": (_fault_spec_mismatch, "spec hash"),
    "stage mismatch": (_fault_stage_mismatch, "stage"),
    "metric absent": (_fault_metric_absent, "gate log_loss max 0.25"),
    "threshold missed": (_fault_threshold, "gate roc_auc min 0.97"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_gate_fails_closed_on(repo: Path, registry: Registry, fault: str) -> None:
    make, failing_check = FAULTS[fault]
    pin, uri = make(registry, registry.register())
    set_dev_pin(repo, pin)
    code, out = gate(repo, uri)
    assert code == 1, out
    assert out.splitlines()[0].startswith(f"FAIL {MODEL} version")
    assert failing_check in failed_checks(out), out
    assert out.splitlines()[-1] == "gate dev: 0 of 1 changed pins pass"


def test_a_silent_registry_fails_the_gate_at_its_deadline(repo: Path, registry: Registry) -> None:
    set_dev_pin(repo, registry.register())
    with socket.create_server(("127.0.0.1", 0)) as silent:  # connections are accepted, nothing is answered
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        code, out = run(repo, "gate", "--env", "dev", "--tracking-uri", uri, "--timeout", "2")
    assert code == 1
    assert out.splitlines()[1] == (f"  FAIL deadline: no verdict from the registry at {uri} within the gate's 2 s "
                                   "deadline (mlplat gate --timeout)")


def test_the_deadline_is_shared_by_every_pin() -> None:
    now = [100.0]
    deadline = Deadline(30, clock=lambda: now[0])
    now[0] += 12
    assert deadline.left() == 18
    now[0] += 40
    assert deadline.left() == 0


def test_gate_checks_regression_against_the_version_pinned_at_base(repo: Path, registry: Registry) -> None:
    set_dev_pin(repo, registry.register(), commit="pin v1")
    set_dev_pin(repo, registry.register(metrics={**GOOD, "roc_auc": 0.975}))
    code, out = gate(repo, registry.uri)
    assert code == 1
    assert "  FAIL gate roc_auc maxRegressionVsChampion 0.01: roc_auc 0.9750 vs champion v1 0.9900: " \
           "regression 0.0150 > 0.01" in out
    code, markdown = run(repo, "gate", "--env", "dev", "--tracking-uri", registry.uri, "--format", "markdown")
    assert "| gate roc_auc maxRegressionVsChampion 0.01 | **FAIL** | `roc_auc 0.9750 vs champion v1" in markdown


# -- promote and rollback -------------------------------------------------------------------------------
def test_promote_then_rollback_round_trips_to_the_original_bytes(repo: Path, registry: Registry) -> None:
    registry.register()
    first = promote(repo, MODEL, "dev", "1", registry.uri)
    assert first.branch == f"mlplat/promote-{MODEL}-dev-v1"
    releases = repo / "environments/dev/releases.yaml"
    original = releases.read_bytes()
    assert (repo / f"environments/dev/apps/platform/{MODEL}/seldondeployment-{MODEL}.yaml").is_file()
    # The registry's evidence is committed beside the pin, and the version's ML-BOM rendered from it.
    committed = git.Repo(repo).head.commit.tree
    evidence = json.loads((committed / f"environments/dev/evidence/{MODEL}-v1.json").data_stream.read())
    assert (evidence["version"], evidence["artifactSha256"]) == (1, registry.sha256)
    bom = json.loads((committed / f"environments/dev/sbom/{MODEL}-v1.cdx.json").data_stream.read())
    assert bom["metadata"]["component"]["hashes"] == [{"alg": "SHA-256", "content": registry.sha256}]
    registry.register()
    second = promote(repo, MODEL, "dev", "2", registry.uri)
    assert b"version: 2" in releases.read_bytes()
    message = git.Repo(repo).head.commit.message
    assert message.startswith(f"promote {MODEL} version 2 to dev\n\nrun ") and "artifact sha256" in message
    code, output = run(repo, "rollback", MODEL, "--env", "dev", "--tracking-uri", registry.uri,
                       "--reason", "MlplatErrorBudgetBurnFast paged at 03:12")
    assert code == 0 and f"on branch mlplat/rollback-{MODEL}-dev-v1;" in output
    git.Repo(repo).git.checkout(f"mlplat/rollback-{MODEL}-dev-v1")
    assert releases.read_bytes() == original
    message = git.Repo(repo).head.commit.message
    assert message.startswith(f"roll back {MODEL} in dev from version 2 to 1\n\n"
                              "reason: MlplatErrorBudgetBurnFast paged at 03:12\n")
    assert message.endswith("Mlplat-Change: rollback\nMlplat-Model: tumor-classifier\nMlplat-Environment: dev\n")
    assert run(repo, "compile", "--check")[0] == 0
    assert not git.Repo(repo).is_dirty(untracked_files=True)
    del second


def test_a_canary_candidate_starts_at_its_first_step(repo: Path, registry: Registry) -> None:
    first = registry.register()
    set_dev_pin(repo, registry.register())
    (repo / "environments/staging/releases.yaml").write_text(pin_yaml("staging", {MODEL: first}))
    (repo / f"environments/staging/evidence/{MODEL}-v1.json").write_text(json.dumps(evidence_for(first)))
    repository = git.Repo(repo)
    repository.git.add("--all")
    repository.index.commit("v2 in dev, v1 in staging (which rolls out as a canary of 20%)")
    now = datetime(2026, 12, 2, 8, 30, 5, tzinfo=UTC)
    promote(repo, MODEL, "staging", "2", registry.uri, candidate=True, now=now)
    release = check_project(repo)[0].project.release("staging", MODEL)
    assert (release.version, release.candidate.version) == (1, 2)
    assert (release.candidate.traffic, release.candidate.since) == (20, "2026-12-02T08:30:05Z")
    folder = repo / f"environments/staging/apps/platform/{MODEL}"
    assert (folder / f"cronworkflow-{MODEL}-canary.yaml").is_file()  # its analysis, from now on


def test_promoting_to_prod_before_staging_is_refused(repo: Path, registry: Registry) -> None:
    registry.register()
    promote(repo, MODEL, "dev", "1", registry.uri)
    with pytest.raises(PromoteError, match="is not pinned in 'staging'; promotion goes dev -> staging -> prod"):
        promote(repo, MODEL, "prod", "1", registry.uri, approved_by=("@ines-moreau",))
    staged = promote(repo, MODEL, "staging", "1", registry.uri)
    assert staged.branch == f"mlplat/promote-{MODEL}-staging-v1"
    with pytest.raises(PromoteError, match="'prod' requires a recorded approval"):
        promote(repo, MODEL, "prod", "1", registry.uri)
    assert promote(repo, MODEL, "prod", "1", registry.uri, approved_by=("@ines-moreau",)).commit


def test_staging_promotes_only_versions_whose_data_is_identified_by_content(repo: Path, registry: Registry) -> None:
    """staging requires data digests (platform.yaml): none recorded, or a `version` label naming other
    bytes than an earlier version read under it, is refused; a new label for the new bytes passes."""
    for data, label in ((DATA, "2026-11"), (None, "2026-11"), ({**DATA, "train": "3" * 64}, "2026-11"),
                        ({**DATA, "train": "3" * 64}, "2026-12")):
        registry.register(data=data, label=label)
    for version in "1234":
        promote(repo, MODEL, "dev", version, registry.uri)  # dev does not require digests
    assert promote(repo, MODEL, "staging", "1", registry.uri).commit
    with pytest.raises(PromoteError, match=r"v?ersion 2 for 'staging': the run recorded no content digest of its "
                                           r"train and eval data"):
        promote(repo, MODEL, "staging", "2", registry.uri)
    with pytest.raises(PromoteError, match=re.escape(
            "train data sklearn://breast_cancer?split=train version '2026-11' is sha256 333333333333 here but "
            "111111111111 in version 1: the label was reused for changed data")):
        promote(repo, MODEL, "staging", "3", registry.uri)
    assert promote(repo, MODEL, "staging", "4", registry.uri).commit


def test_the_gate_applies_the_base_branchs_data_digest_rule(repo: Path, registry: Registry) -> None:
    first = registry.register()
    reused = registry.register(data={**DATA, "eval": "4" * 64})
    (repo / "environments/staging/releases.yaml").write_text(pin_yaml("staging", {MODEL: reused}))
    (repo / f"environments/staging/evidence/{MODEL}-v2.json").write_text(json.dumps(evidence_for(reused)))
    code, out = run(repo, "gate", "--env", "staging", "--tracking-uri", registry.uri)
    assert code == 1
    assert "  FAIL data version labels: eval data sklearn://breast_cancer?split=eval version '2026-11' is sha256 " \
           "444444444444 here but 222222222222 in version 1" in out
    assert "  ok   data digests: the run recorded the content digest of its train and eval data" in out
    # The pull request cannot switch the rule off: the base's platform.yaml says what staging requires.
    platform = repo / "platform/platform.yaml"
    text = platform.read_text()
    platform.write_text(text.replace("requireDataDigests: true, autoMerge", "autoMerge"))
    assert platform.read_text() != text
    assert run(repo, "gate", "--env", "staging", "--tracking-uri", registry.uri)[0] == 1
    del first


def test_promote_refuses_a_dirty_tree_and_a_failed_gate(repo: Path, registry: Registry) -> None:
    registry.register(gate="failed")
    registry.register(metrics={**GOOD, "accuracy": 0.5})
    with pytest.raises(PromoteError, match="did not pass its gate when it was registered"):
        promote(repo, MODEL, "dev", "1", registry.uri)
    with pytest.raises(PromoteError, match="the gate refuses tumor-classifier version 2 for 'dev': accuracy 0.5000"):
        promote(repo, MODEL, "dev", "2", registry.uri)
    (repo / "specs/notes.txt").write_text("work in progress\n")
    with pytest.raises(PromoteError, match="uncommitted changes"):
        promote(repo, MODEL, "dev", "2", registry.uri)
    code, out = run(repo, "promote", MODEL, "--to", "dev", "--version", "2", "--tracking-uri", registry.uri)
    assert code == 1 and out.startswith("mlplat promote: refused: the work tree has uncommitted changes")


def test_rollback_needs_an_earlier_pin_whose_artifact_still_exists(repo: Path, registry: Registry) -> None:
    registry.register()
    with pytest.raises(PromoteError, match="nothing is pinned for tumor-classifier in 'dev'"):
        rollback(repo, MODEL, "dev", registry.uri)
    promote(repo, MODEL, "dev", "1", registry.uri)
    with pytest.raises(PromoteError, match="no earlier version of tumor-classifier was ever pinned"):
        rollback(repo, MODEL, "dev", registry.uri)
    registry.register()
    promote(repo, MODEL, "dev", "2", registry.uri)
    registry.client.delete_model_version(MODEL, "1")
    with pytest.raises(PromoteError, match="cannot roll back tumor-classifier in 'dev' to version 1: .*does not exist"):
        rollback(repo, MODEL, "dev", registry.uri)


def test_a_version_outside_the_environments_artifact_store_is_refused_with_located_errors(
        repo: Path, registry: Registry) -> None:
    """A version registered on a laptop (or in another environment) cannot be pinned: the refusal
    prints the located error of the pin it would have written, and leaves nothing behind."""
    platform = repo / "platform" / "platform.yaml"
    text = platform.read_text()
    dev_store = re.search(r"artifactStore: (\S+)", text).group(1)
    platform.write_text(text.replace(f"artifactStore: {dev_store}", "artifactStore: s3://acme-mlplat-artifacts-dev", 1))
    assert run(repo, "compile")[0] == 0
    repository = git.Repo(repo)
    repository.git.add("--all")
    repository.index.commit("dev stores its artifacts in its bucket")
    registry.register()
    code, out = run(repo, "promote", MODEL, "--to", "dev", "--version", "1", "--tracking-uri", registry.uri)
    assert code == 1
    assert "refused: with the new pin, environments/dev/releases.yaml and its evidence do not validate:\n" in out
    assert re.search(r"environments/dev/releases\.yaml:\d+:\d+: error: releases\.tumor-classifier\.modelUri: "
                     r"file://\S+ is not under the artifact store of 'dev' \(s3://acme-mlplat-artifacts-dev\)", out)
    assert [head.name for head in repository.heads] == ["main"]
    assert not repository.is_dirty(untracked_files=True)


# -- the gate trusts the base, and the registry, not the pull request -------------------------------------
def test_the_gate_judges_by_the_bases_gates_not_the_pull_requests(repo: Path, registry: Registry) -> None:
    spec = repo / "specs/platform/tumor-classifier/model.yaml"
    spec.write_text(spec.read_text().replace("{metric: roc_auc, min: 0.97}", "{metric: roc_auc, min: 0.5}"))
    set_dev_pin(repo, registry.register(metrics={**GOOD, "roc_auc": 0.9}))  # lowered gate and pin in one PR
    code, out = gate(repo, registry.uri)
    assert code == 1 and "gate roc_auc min 0.97" in failed_checks(out), out


def test_the_gate_asks_the_registry_the_base_names(repo: Path, registry: Registry) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # the base's registry: down, so the gate fails closed
    platform = repo / "platform/platform.yaml"
    platform.write_text(platform.read_text().replace("http://mlflow.mlflow-dev.svc.cluster.local:5000", closed))
    repository = git.Repo(repo)
    repository.git.add("--all")
    repository.index.commit("base: the dev registry")
    with socket.create_server(("127.0.0.1", 0)) as attacker:
        attacker.setblocking(False)
        platform.write_text(platform.read_text().replace(closed, f"http://127.0.0.1:{attacker.getsockname()[1]}"))
        set_dev_pin(repo, registry.register())
        code, out = run(repo, "gate", "--env", "dev", "--base", "HEAD", "--timeout", "120")
        with pytest.raises(BlockingIOError):
            attacker.accept()  # nobody called the pull request's address
    assert code == 1 and "registry reachable" in failed_checks(out), out
    assert closed in out


def test_forged_evidence_fails_field_by_field(repo: Path, registry: Registry) -> None:
    pin = registry.register()
    set_dev_pin(repo, pin)
    evidence = repo / f"environments/dev/evidence/{MODEL}-v{pin['version']}.json"
    forged = json.loads(evidence.read_text())
    forged["metrics"]["roc_auc"] = 0.999
    forged["owners"] = ["@someone-else"]
    evidence.write_text(json.dumps(forged))
    code, out = gate(repo, registry.uri)
    assert code == 1 and "evidence" in failed_checks(out)
    assert "the committed evidence differs from what the register step logged in: metrics.roc_auc, owners" in out


def test_an_evidence_edit_without_a_pin_change_is_verified_too(repo: Path, registry: Registry) -> None:
    pin = registry.register()
    set_dev_pin(repo, pin, commit="pin v1")
    evidence = repo / f"environments/dev/evidence/{MODEL}-v{pin['version']}.json"
    evidence.write_text(evidence.read_text().replace('"Benign vs', '"Certified safe. Benign vs'))
    code, out = gate(repo, registry.uri)
    assert code == 1
    assert out.splitlines()[0] == f"FAIL {MODEL} evidence {pin['version']} in dev"
    assert "evidence" in failed_checks(out) and "differs from what the register step logged in: description" in out


def reviews_file(folder: Path, head: str) -> Path:
    """The recorded reviews (tests/fixtures/github) with `head` as the head commit and an older one."""
    text = (REPO / "tests/fixtures/github/reviews.jsonl").read_text()
    path = folder / "reviews.jsonl"
    path.write_text(text.replace("{head}", head).replace("{older}", "0" * 40))
    return path


def test_prod_approvals_are_checked_against_the_pull_requests_reviews(repo: Path, registry: Registry) -> None:
    """The gate on a real repository: Maria-Lopez approved the head commit as a MEMBER, and the pull request
    adds her to tumor-classifier's team (platform) in its own platform.yaml, so it validates; but the base's
    team is what counts, and she is payments'. Ines-Moreau, of platform's team at the base, approving is enough."""
    pin = registry.register()
    releases, platform = repo / "environments/prod/releases.yaml", repo / "platform/platform.yaml"
    base, team = releases.read_text(), platform.read_text()
    reviews = reviews_file(repo.parent, git.Repo(repo).head.commit.hexsha)
    for approver, verdict in (("@maria-lopez", "  FAIL approval: @maria-lopez is not a person of team platform "
                               "(its owners and members in the base's platform.yaml)"),
                              ("@ines-moreau", "  ok   approval: approved on this commit by @ines-moreau")):
        joined = '      members: ["@ines-moreau", "@maria-lopez"]' if approver == "@maria-lopez" else \
            '      members: ["@ines-moreau"]'
        platform.write_text(team.replace('      members: ["@ines-moreau"]', joined))
        releases.write_text(base + pin_yaml("prod", {MODEL: pin}).split("releases:\n", 1)[1]
                            + f'    approvedBy: ["{approver}"]\n')
        (repo / f"environments/prod/evidence/{MODEL}-v{pin['version']}.json").write_text(json.dumps(evidence_for(pin)))
        if approver == "@ines-moreau":
            reviews.write_text(reviews.read_text().replace('"login":"Maria-Lopez"', '"login":"Ines-Moreau"'))
        code, out = run(repo, "gate", "--env", "prod", "--tracking-uri", registry.uri, "--approvals", str(reviews))
        assert verdict in out.splitlines(), out
        assert code == (0 if approver == "@ines-moreau" else 1), out


PAYMENTS = Team.model_validate({"name": "payments", "owners": ["@acme/payments-ml", "@maria-lopez"],
                                 "members": ["@dev-patel", "@sam-okafor"],
                                 "alerts": {"receiver": "payments-oncall"}})


def pin_approved_by(approved_by: list[str]) -> PinnedVersion:
    return PinnedVersion.model_validate({"version": 1, "runId": "0" * 32, "modelUri": "s3://x/model",
                                         "artifactSha256": "a" * 64, "specHash": "b" * 64, "gate": "passed",
                                         "approvedBy": approved_by})


@pytest.mark.parametrize(("approved_by", "passes"), [
    (["@maria-lopez"], True), (["@Maria-Lopez", "@dev-patel"], False), (["@hubot"], False), (["@octocat"], False),
    ([], False)])
def test_only_an_approval_of_the_head_commit_counts(tmp_path: Path, approved_by: list[str], passes: bool) -> None:
    head = "1" * 40
    approved = approvers(load_reviews(reviews_file(tmp_path, head)), head)
    assert approved == {"maria-lopez": "MEMBER"}  # octocat commented, hubot approved an older commit, dev-patel
    # took it back
    team = PAYMENTS.model_copy(update={"members": [*PAYMENTS.members, "@hubot", "@octocat"]})
    assert approval_check(pin_approved_by(approved_by), approved, team)["passed"] is passes
    assert not approval_check(pin_approved_by(approved_by), None, team)["passed"]  # no reviews given: fails closed


@pytest.mark.parametrize(("association", "passes"), [
    ("OWNER", True), ("MEMBER", True), ("COLLABORATOR", True), ("CONTRIBUTOR", False),
    ("FIRST_TIME_CONTRIBUTOR", False), ("FIRST_TIMER", False), ("MANNEQUIN", False), ("NONE", False), (None, False)])
def test_an_approval_counts_only_from_an_account_with_write_access(association: str | None, passes: bool) -> None:
    """GitHub's author_association of the approving review: anyone may review a public repository's pull
    request, so only accounts that can push to it (owner, member, collaborator) approve."""
    head = "1" * 40
    review = {"id": 1, "user": {"login": "maria-lopez"}, "state": "APPROVED", "commit_id": head,
              "submitted_at": "2026-12-01T10:00:00Z", **({"author_association": association} if association else {})}
    check = approval_check(pin_approved_by(["@maria-lopez"]), approvers([review], head), PAYMENTS)
    assert check["passed"] is passes, check
    if not passes:
        assert f"@maria-lopez ({association or 'NONE'}) approved without write access" in check["detail"]


def test_an_approval_by_someone_outside_the_team_never_counts() -> None:
    """@random-outsider approved as a MEMBER of the GitHub organisation, on the head commit: not a person of
    payments in the base's platform.yaml, so it proves nothing; nor does a GitHub team handle."""
    head = "1" * 40
    reviews = [{"id": n, "user": {"login": login}, "state": "APPROVED", "commit_id": head, "author_association":
                "MEMBER", "submitted_at": "2026-12-01T10:00:00Z"} for n, login in enumerate(("random-outsider",
                                                                                            "acme/payments-ml"))]
    approved = approvers(reviews, head)
    for handles in (["@random-outsider"], ["@acme/payments-ml"], ["@maria-lopez", "@random-outsider"]):
        check = approval_check(pin_approved_by(handles), approved, PAYMENTS)
        assert not check["passed"] and "not a person of team payments" in check["detail"], check


def test_promote_refuses_an_approver_outside_the_team(repo: Path, registry: Registry) -> None:
    registry.register()
    promote(repo, MODEL, "dev", "1", registry.uri)
    staged = promote(repo, MODEL, "staging", "1", registry.uri)
    for outsider in ("@random-outsider", "@maria-lopez", "@acme/ml-platform"):  # payments' owner; a team handle
        with pytest.raises(PromoteError, match=f"{outsider} cannot approve {MODEL}: approvals come from the people "
                                               r"of team platform in platform.yaml \(@ines-moreau\)"):
            promote(repo, MODEL, "prod", "1", registry.uri, approved_by=(outsider,))
    repository = git.Repo(repo)
    assert repository.active_branch.name == staged.branch and not repository.is_dirty(untracked_files=True)
    assert [h.name for h in repository.heads if h.name.startswith(f"mlplat/promote-{MODEL}-prod")] == []


def test_a_version_without_its_digest_tag_is_not_fetched(repo: Path, registry: Registry, tmp_path: Path) -> None:
    from compiler.local import runtime_call

    pin = registry.register()
    registry.client.delete_model_version_tag(MODEL, str(pin["version"]), "mlplat.artifact_sha256")
    with pytest.raises(runtime_call.RuntimeCallError, match="has no mlplat.artifact_sha256 tag"):
        runtime_call.fetch_version(repo, MODEL, str(pin["version"]), registry.uri, tmp_path / "model")


def test_promote_refuses_a_version_that_is_not_a_number(repo: Path, registry: Registry) -> None:
    registry.register()
    with pytest.raises(PromoteError, match="cannot read tumor-classifier version latest from"):
        promote(repo, MODEL, "dev", "latest", registry.uri)
