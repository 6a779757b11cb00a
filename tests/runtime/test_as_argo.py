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
from tests.runtime.conftest import Gateway, registry
from tests.runtime.test_drift_step import metric_lines

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


class Emulated:
    """One run of a rendered pipeline: its pods, the Workflow's phase, what its exit handler pushed."""

    def __init__(self, emulator: ArgoEmulator, pods: dict, tracking: str):
        self.pods, self.phase, self.client = pods, emulator.phase, registry(tracking)
        self.report = emulator.exit_handler
        pushes = [body for method, path, body in Gateway.received if path.startswith("/metrics/job/mlplat-training/")]
        self.pushed = metric_lines(pushes[-1]) if pushes else {}

    def failure(self) -> str:
        return "\n".join(f"== {name}\n{pod.log[-3000:]}" for name, pod in self.pods.items())


def emulate(template: dict, config_maps: dict[str, dict[str, str]], tmp: Path, parameters: dict[str, str],
            gateway: str) -> Emulated:
    tracking = f"sqlite:///{tmp / 'mlflow.db'}"
    # the cluster's MLflow and Pushgateway services
    emulator = ArgoEmulator(template, config_maps, tmp / "pods", secrets=PUSH_SECRET,
                            overrides={"MLFLOW_TRACKING_URI": tracking, "MLPLAT_PUSHGATEWAY": gateway})
    pods = emulator.run(parameters)
    return Emulated(emulator, pods, tracking)


def test_reference_model_on_a_schedule_trains_from_the_branch_head(cluster_repo, tmp_path: Path, gateway) -> None:
    root, store, (_, head) = cluster_repo
    # as the CronWorkflow does
    run = emulate(*rendered(root, "platform", "tumor-classifier"), tmp_path, {}, gateway)
    pods, client = run.pods, run.client
    assert {name: pod.phase for name, pod in pods.items()} == {
        "train": "Succeeded", "evaluate": "Succeeded", "gate": "Succeeded", "register": "Succeeded",
        "refused": "Omitted", "propose": "Succeeded"}, run.failure()
    assert run.phase == "Succeeded" and run.pushed["mlplat_training_failed"] == 0  # the exit handler's report
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


def test_command_model_trains_from_the_commit_it_is_given(cluster_repo, tmp_path: Path, gateway) -> None:
    root, store, (first, head) = cluster_repo
    run = emulate(*rendered(root, "growth", "churn-predictor"), tmp_path, {"git-commit": first}, gateway)
    pods, client = run.pods, run.client
    assert [pod.phase for pod in pods.values()] == ["Succeeded"] * 4 + ["Omitted", "Succeeded"], run.failure()
    assert run.phase == "Succeeded"
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


def test_without_the_code_artifact_the_entrypoint_is_not_found(cluster_repo, tmp_path: Path, gateway) -> None:
    """What every pod did before the code was an artifact: the emulator's isolation is real. A failed train
    fails the Workflow, and the exit handler says so."""
    root, _, _ = cluster_repo
    template, config_maps = rendered(root, "platform", "tumor-classifier")
    train = next(t for t in template["spec"]["templates"] if t["name"] == "train")
    del train["inputs"]["artifacts"]
    run = emulate(template, config_maps, tmp_path, {"git-commit": git.Repo(root).head.commit.hexsha}, gateway)
    assert run.pods["train"].phase == "Failed"
    assert "No module named 'tumor_classifier'" in run.pods["train"].log
    assert {run.pods[name].phase for name in ("evaluate", "gate", "register", "refused", "propose")} == {"Omitted"}
    assert run.phase == "Failed" and run.pushed["mlplat_training_failed"] == 1


def test_a_run_the_gate_refuses_is_registered_and_fails_the_workflow(cluster_repo, tmp_path: Path, gateway) -> None:
    """A gate no model meets (roc_auc >= 1.01 in the spec the pods read): the run is registered as a
    challenger, nothing is proposed, `refused` fails, and so does the Workflow, which the exit handler pushes
    for MlplatTrainingFailed. Before `refused`, Argo counted such a run Succeeded."""
    root, _, _ = cluster_repo
    template, config_maps = rendered(root, "platform", "tumor-classifier")
    [(name, data)] = config_maps.items()
    spec = json.loads(data["model.json"])
    spec["spec"]["evaluation"]["gates"] = [{"metric": "roc_auc", "min": 1.01}]
    run = emulate(template, {name: {**data, "model.json": json.dumps(spec)}}, tmp_path, {}, gateway)
    assert {name: pod.phase for name, pod in run.pods.items()} == {
        "train": "Succeeded", "evaluate": "Succeeded", "gate": "Failed", "register": "Succeeded",
        "refused": "Failed", "propose": "Omitted"}, run.failure()
    assert run.client.get_registered_model("tumor-classifier").aliases == {"challenger": 1}
    assert "the gate refused run" in run.pods["refused"].log and "roc_auc" in run.pods["refused"].log
    assert run.phase == "Failed" and run.report.phase == "Succeeded"
    assert run.pushed["mlplat_training_failed"] == 1 and run.pushed["mlplat_training_last_run_timestamp_seconds"] > 0
