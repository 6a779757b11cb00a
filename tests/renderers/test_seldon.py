"""Golden SeldonDeployments for plain, canary and shadow rollouts, and what each predictor gets."""

from __future__ import annotations

import dataclasses
import json

import pytest

from compiler.pipeline.plan import build_plan
from compiler.spec.emit import to_yaml
from renderers import seldon
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "seldon"


@pytest.mark.parametrize("name,rollout", [
    ("churn-predictor", "plain"), ("fraud-detector", "canary"), ("chargeback-risk", "shadow")])
def test_golden(models, name: str, rollout: str) -> None:
    manifest = deployment(models[(name, "prod")])
    assert manifest.path == f"apps/{models[(name, 'prod')].team}/{name}/seldondeployment-{name}.yaml"
    check_golden(GOLDEN / f"{name}-prod-{rollout}.yaml", to_yaml(manifest.body, manifest.source))


def deployment(model):
    [manifest] = [m for m in seldon.render(model) if m.body["kind"] == "SeldonDeployment"]
    return manifest


def predictors(model) -> dict[str, dict]:
    manifest = deployment(model)
    return {p["name"]: p for p in manifest.body["spec"]["predictors"]}


def test_canary_splits_traffic_between_pinned_version_and_candidate(models) -> None:
    found = predictors(models[("fraud-detector", "prod")])
    assert (found["main"]["traffic"], found["canary"]["traffic"]) == (95, 5)  # the step releases.yaml records
    pods = {name: p["componentSpecs"][0]["metadata"]["labels"] for name, p in found.items()}
    # What the PodMonitor relabels into predictor and version; no bare `version` label to clash with a series'.
    assert (pods["main"]["mlplat.io/predictor"], pods["main"]["mlplat.io/version"]) == ("main", "12")
    assert (pods["canary"]["mlplat.io/predictor"], pods["canary"]["mlplat.io/version"]) == ("canary", "13")
    assert "labels" not in found["main"] and "version" not in pods["main"]
    sink = "http://mlplat-prediction-log.ml-payments-prod.svc.cluster.local:8080/"
    assert all(p["graph"]["logger"] == {"mode": "all", "url": sink} for p in found.values())
    assert found["canary"]["graph"]["modelUri"].endswith("/9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b/artifacts/model")


def test_shadow_sees_traffic_but_answers_no_one(models) -> None:
    found = predictors(models[("chargeback-risk", "prod")])
    assert found["main"]["traffic"] == 100
    assert found["shadow"]["shadow"] is True and "traffic" not in found["shadow"]


def test_plain_rollout_serves_one_predictor_with_autoscaling(models) -> None:
    found = predictors(models[("churn-predictor", "prod")])
    assert list(found) == ["main"] and found["main"]["traffic"] == 100
    component = found["main"]["componentSpecs"][0]
    assert component["hpaSpec"]["minReplicas"] == 3 and component["hpaSpec"]["maxReplicas"] == 10
    assert component["pdbSpec"] == {"maxUnavailable": 1}
    assert "annotations" not in component["metadata"]  # no prometheus.io/port narrowing a scrape to one port
    assert component["metadata"]["labels"]["mlplat.io/component"] == "serving"
    container = component["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MLPLAT_ARTIFACT_SHA256"] == models[("churn-predictor", "prod")].release.artifact_sha256
    assert env["INCLUDE_METRICS_IN_CLIENT_RESPONSE"] == "false"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/status"


def test_gpu_serving_gets_the_pool(models) -> None:
    model = models[("query-ranker", "prod")]
    pinned = models[("churn-predictor", "prod")].release
    [manifest] = seldon.render(dataclasses.replace(model, release=pinned))
    spec = manifest.body["spec"]["predictors"][0]["componentSpecs"][0]["spec"]
    assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert spec["nodeSelector"] == {"node.kubernetes.io/instance-type": "g5.12xlarge"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_no_pin_no_deployment_and_the_plan_says_so(checked, models) -> None:
    assert seldon.render(models[("fraud-detector", "dev")]) == []
    notes = build_plan(checked).notes
    assert "dev: fraud-detector is not deployed (no version pinned in environments/dev/releases.yaml)" in notes
    assert not any(note.startswith("prod: fraud-detector") for note in notes)
    assert not any("ltv-forecaster" in note for note in notes)  # not a served model


@pytest.mark.parametrize("cpu,workers", [(None, 1), ("500m", 1), ("2", 2), ("4", 4), ("32", 8)])
def test_gunicorn_workers_follow_the_cpu_limit(cpu, workers: int) -> None:
    assert seldon.gunicorn_workers(cpu) == workers


def test_a_model_on_a_feature_service_gets_its_feature_server_beside_it(models) -> None:
    """churn-predictor trains on growth's churn_features (payments' view): each pod runs Feast's server from
    the runtime image on its loopback, with the service's definitions cut from the environment's."""
    model = models[("churn-predictor", "prod")]
    deployed, config = seldon.render(model)
    check_golden(GOLDEN / "churn-predictor-prod-features.yaml", to_yaml(config.body, config.source))
    assert config.path == "apps/growth/churn-predictor/configmap-churn-predictor-features.yaml"
    definitions = json.loads(config.body["data"]["definitions.json"])
    assert [v["name"] for v in definitions["featureViews"]] == ["customer_transactions"]
    assert [s["name"] for s in definitions["featureServices"]] == ["churn_features"]  # not chargeback's
    assert json.loads(config.body["data"]["feature_store.yaml"])["online_store"]["type"] == "redis"
    spec = predictors(model)["main"]["componentSpecs"][0]["spec"]
    server, features = spec["containers"]
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["MLPLAT_FEATURE_SERVER_URL"] == "http://127.0.0.1:6566"
    assert env["MLPLAT_FEATURE_SERVICE"] == "churn_features"
    assert features["image"] == model.runtime_image and features["args"][:4] == ["-m", "runtime", "features", "serve"]
    assert features["args"][features["args"].index("--host") + 1] == "127.0.0.1"
    assert features["envFrom"] == [{"secretRef": {"name": "feast-prod"}}]  # ${FEAST_REDIS_CONNECTION}
    assert {"name": "feature-definitions", "configMap": {"name": "churn-predictor-features"}} in spec["volumes"]
    plain = predictors(models[("fraud-detector", "prod")])["main"]["componentSpecs"][0]["spec"]
    assert len(plain["containers"]) == 1 and "volumes" not in plain
