"""The materialisation CronWorkflow: golden output, and its container run as Argo would run it (its
args, env and working directory, in a checkout of the repository) against the embedded stores: the
view's values land in the online store, and a second run, from where the first ended, leaves them so."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compiler.spec.emit import to_yaml
from renderers import materialize
from tests.conftest import REPO, check_golden, copy_repo

GOLDEN = REPO / "tests" / "golden" / "features"
CRON = "apps/payments/features/cronworkflow-customer-transactions-materialize.yaml"


def test_golden(checked) -> None:
    for environment in checked.environments:
        loaded = [(f.doc.file, f.features) for f in checked.project.features]
        manifests = materialize.cron_workflows(environment.env, environment.platform, loaded,
                                       f"environments/{environment.env.name}/features")
        assert [m.path for m in manifests] == [CRON]  # growth owns no view; payments' one is online
        if environment.env.name == "prod":
            check_golden(GOLDEN / "prod-cronworkflow-materialize.yaml",
                         to_yaml(manifests[0].body, manifests[0].source))


def test_the_cron_workflow_s_step_materialises_the_view(tmp_path: Path) -> None:
    pytest.importorskip("feast")
    from runtime.data import example

    repo = copy_repo(tmp_path / "src")  # dev's source is the example's generated table (example://)
    compiled = subprocess.run([sys.executable, "-m", "compiler", "--root", str(repo), "compile"], capture_output=True,
                              text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    template = yaml.safe_load((repo / "environments/dev" / CRON).read_text())["spec"]["workflowSpec"]["templates"][0]
    container = template["container"]
    env = {**os.environ, **{e["name"]: e["value"] for e in container["env"]}, "PYTHONPATH": str(REPO)}
    events = example.table("customer-transactions")
    end = events["event_timestamp"].max().to_pydatetime() + dt.timedelta(seconds=1)
    assert container["command"] == ["python"]  # the image's interpreter: this one here
    for _ in range(2):  # the second run starts where the first ended; the clock is the test's, not the machine's
        ran = subprocess.run([sys.executable, *container["args"], "--end", end.isoformat()], cwd=repo, env=env,
                             capture_output=True, text=True)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    from runtime.features.definitions import feature_store

    store = feature_store(yaml.safe_load((repo / "environments/dev/features/feature_store.yaml").read_text()), repo)
    online = store.get_online_features(features=["customer_transactions:txn_count_7d"],
                                       entity_rows=[{"customer_id": 1}, {"customer_id": 2}]).to_dict()
    latest = events.groupby("customer_id").last()
    assert online["txn_count_7d"] == [int(latest.loc[1, "txn_count_7d"]), int(latest.loc[2, "txn_count_7d"])]


def test_an_unknown_view_is_refused_with_the_views_there(tmp_path: Path) -> None:
    pytest.importorskip("feast")
    folder = REPO / "environments/dev/features"
    ran = subprocess.run([sys.executable, "-m", "runtime", "features", "materialize", "--store",
                          str(folder / "feature_store.yaml"), "--definitions", str(folder / "definitions.json"),
                          "--view", "customer_txns"], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert ran.returncode == 2 and "customer_transactions" in ran.stderr, ran.stderr
