"""The rendered training pipeline, run the way Argo runs it (tests/runtime/argo_emulator.py): each pod
gets only what its template gives it (command, args, env, mounts, the ConfigMap, the code as a git
artifact cloned from a file:// repository at the revision), and it must register a version in a real
SQLite registry. This is the test that catches team code that never reaches the pods."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from tests.conftest import copy_repo, init_git, move_artifact_stores
from tests.runtime.argo_emulator import ArgoEmulator
from tests.runtime.conftest import registry

pytestmark = pytest.mark.xdist_group("argo")  # one module-scoped repository for its tests
# repository.pushSecret; the token goes unused over file:// URLs, but a pod without its Secret never starts
PUSH_SECRET = {"mlplat-git-push": {"username": "mlplat-bot", "password": "token"}}


@pytest.fixture(scope="module")
def cluster_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A platform repository whose pods clone it over file://, with dev's artifact store on this disk.

    Two commits; the second changes nothing the models read. In dev churn-predictor trains on growth's
    feature service over payments' view, from the example's generated events (its prod labels are in a
    bucket). Returns (repo, store, [first, second]).
    """
    base = tmp_path_factory.mktemp("argo")
    root, store = copy_repo(base / "repo"), base / "store"
    platform = root / "platform" / "platform.yaml"
    text = platform.read_text()
    text = text.replace('url: "https://github.com/acme/mlplat.git"', f'url: "{root.as_uri()}"')
    platform.write_text(text)
    move_artifact_stores(root, store.as_uri(), ("dev",))
    compiled = subprocess.run([sys.executable, "-m", "compiler", "--root", str(root), "compile"],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    repository = init_git(root)
    first = repository.head.commit.hexsha
    (root / "README.md").write_text("a later commit\n")
    repository.git.add("--all")
    second = repository.index.commit("a later commit").hexsha
    return root, store, [first, second]


def rendered(root: Path, team: str, model: str) -> tuple[dict, dict[str, dict[str, str]]]:
    """The model's rendered dev WorkflowTemplate, and its ConfigMaps by name."""
    folder = root / "environments" / "dev" / "apps" / team / model
    template = yaml.safe_load((folder / f"workflowtemplate-{model}-train.yaml").read_text())
    config_map = yaml.safe_load((folder / f"configmap-{model}-spec.yaml").read_text())
    return template, {config_map["metadata"]["name"]: config_map["data"]}


def emulate(template: dict, config_maps: dict[str, dict[str, str]], tmp: Path, parameters: dict[str, str]):
    tracking = f"sqlite:///{tmp / 'mlflow.db'}"
    emulator = ArgoEmulator(template, config_maps, tmp / "pods", secrets=PUSH_SECRET,
                            overrides={"MLFLOW_TRACKING_URI": tracking})  # the cluster's MLflow service
    return emulator.run(parameters), registry(tracking)


def test_reference_model_on_a_schedule_trains_from_the_branch_head(cluster_repo, tmp_path: Path) -> None:
    root, store, (_, head) = cluster_repo
    pods, client = emulate(*rendered(root, "platform", "tumor-classifier"), tmp_path, {})  # as the CronWorkflow does
    assert {name: pod.phase for name, pod in pods.items()} == {
        "train": "Succeeded", "evaluate": "Succeeded", "gate": "Succeeded", "register": "Succeeded",
        "propose": "Succeeded"}, "\n".join(f"== {name}\n{pod.log[-3000:]}" for name, pod in pods.items())
    assert pods["train"].outputs["git-commit"] == head
    version = client.get_model_version("tumor-classifier", "1")
    assert version.tags["mlplat.git_commit"] == head
    assert version.source.startswith(store.as_uri() + "/")
    assert client.get_registered_model("tumor-classifier").aliases == {"champion": 1}
    evidence = json.loads(Path(client.download_artifacts(version.run_id, "mlplat/evidence.json", str(tmp_path)))
                          .read_text())
    assert evidence["gitCommit"] == head and evidence["gate"]["passed"] is True
    # The new champion proposed through git, as `mlplat promote` pins it: a branch on the origin
    branch = "mlplat/promote-tumor-classifier-dev-v1"
    assert pods["propose"].log.strip().endswith(f"pushed {branch} to {root.as_uri()}"), pods["propose"].log
    repository = git.Repo(root)
    proposed = repository.commit(branch)
    assert proposed.parents[0].hexsha == head  # on the head of the branch Argo CD follows
    assert proposed.message.startswith("promote tumor-classifier version 1 to dev\n")
    assert "Mlplat-Change: promote" in proposed.message and proposed.author.name == "mlplat[bot]"
    pinned = yaml.safe_load(repository.git.show(f"{branch}:environments/dev/releases.yaml"))
    assert pinned["releases"]["tumor-classifier"]["runId"] == version.run_id
    changed = repository.git.show("--name-only", "--format=", branch).split()
    assert "environments/dev/evidence/tumor-classifier-v1.json" in changed
    assert "environments/dev/apps/platform/tumor-classifier/seldondeployment-tumor-classifier.yaml" in changed


def test_command_model_trains_from_the_commit_it_is_given(cluster_repo, tmp_path: Path) -> None:
    root, store, (first, head) = cluster_repo
    pods, client = emulate(*rendered(root, "growth", "churn-predictor"), tmp_path, {"git-commit": first})
    assert [pod.phase for pod in pods.values()] == ["Succeeded"] * 5, \
        "\n".join(f"== {name}\n{pod.log[-3000:]}" for name, pod in pods.items())
    version = client.get_model_version("churn-predictor", "1")
    assert version.tags["mlplat.git_commit"] == first != head
    run = client.get_run(version.run_id)
    assert run.data.metrics["roc_auc"] > 0.9 and "train_iterations" in run.data.metrics  # logged by churn.train
    # its frames were Feast's point-in-time joins in the pods, each recorded by content
    assert run.data.tags["mlplat.data.feature_service"] == "churn_features"
    inputs = {i.dataset.name: i.dataset for i in run.inputs.dataset_inputs}
    assert sorted(inputs) == ["eval", "train"]
    for split in ("train", "eval"):
        assert run.data.tags[f"mlplat.data.{split}.sha256"].startswith(inputs[split].digest)
        assert json.loads(inputs[split].source)["featureService"] == "churn_features"
    evidence = json.loads(Path(client.download_artifacts(version.run_id, "mlplat/evidence.json", str(tmp_path)))
                          .read_text())  # what the compiler checks feature changes against once it is pinned
    assert evidence["features"] == [{"dtype": "int64", "name": "txn_count_7d", "view": "customer_transactions"},
                                    {"dtype": "int64", "name": "days_active_30d", "view": "customer_transactions"}]
    assert evidence["data"]["train"]["sha256"] == run.data.tags["mlplat.data.train.sha256"]


def test_without_the_code_artifact_the_entrypoint_is_not_found(cluster_repo, tmp_path: Path) -> None:
    """What every pod did before the code was an artifact: the emulator's isolation is real."""
    root, _, _ = cluster_repo
    template, config_maps = rendered(root, "platform", "tumor-classifier")
    train = next(t for t in template["spec"]["templates"] if t["name"] == "train")
    del train["inputs"]["artifacts"]
    pods, _ = emulate(template, config_maps, tmp_path, {"git-commit": git.Repo(root).head.commit.hexsha})
    assert pods["train"].phase == "Failed"
    assert "No module named 'tumor_classifier'" in pods["train"].log
