"""The prediction-log sink's Deployment and Service per team: golden output and wiring."""

from __future__ import annotations

from compiler.spec.emit import to_yaml
from renderers import prediction_log, seldon
from tests.conftest import REPO, check_golden

GOLDEN = REPO / "tests" / "golden" / "prediction-log"


def test_golden(environments) -> None:
    manifests = prediction_log.render(environments["prod"])
    assert [m.path for m in manifests] == [
        "apps/growth/prediction-log/deployment-mlplat-prediction-log.yaml",
        "apps/growth/prediction-log/service-mlplat-prediction-log.yaml",
        "apps/payments/prediction-log/deployment-mlplat-prediction-log.yaml",
        "apps/payments/prediction-log/service-mlplat-prediction-log.yaml"]
    for manifest in manifests[2:]:
        check_golden(GOLDEN / f"payments-prod-{manifest.kind.lower()}.yaml", to_yaml(manifest.body, manifest.source))


def test_the_logger_url_reaches_the_sink_and_the_sink_writes_where_the_jobs_read(environments, models) -> None:
    deployment, service = (m.body for m in prediction_log.render(environments["prod"])[2:])
    fraud = models[("fraud-detector", "prod")]
    [seldon_deployment] = seldon.render(fraud)
    url = seldon_deployment.body["spec"]["predictors"][0]["graph"]["logger"]["url"]
    assert url == f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:" \
                  f"{service['spec']['ports'][0]['port']}/"
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    # both events of a prediction come from one executor pod and must reach the same sink replica
    assert deployment["spec"]["replicas"] > 1 and service["spec"]["sessionAffinity"] == "ClientIP"
    [container] = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    # the sink writes <root>/<model>/...; the drift and quality jobs read the model's prediction_log
    assert f"{env['MLPLAT_PREDICTION_LOG']}/fraud-detector" == fraud.prediction_log
    assert env["MLPLAT_LOGGED_MODELS"] == "chargeback-risk,fraud-detector"
    assert container["command"][:4] == ["python", "-m", "runtime", "prediction-log"]
    assert container["envFrom"] == [{"secretRef": {"name": fraud.artifact_secret}}]
    assert pod["spec"]["terminationGracePeriodSeconds"] >= 30  # time to flush on SIGTERM
