"""The monitoring loop with real components, run inside its own network namespace (`unshare -n`).

Used by tests/runtime/test_monitoring_loop.py: `python -m tests.runtime.monitoring_stack PROJECT WORK`
brings up loopback in a fresh network namespace (seldon-core binds 0.0.0.0, so nothing may reach it
from outside), then runs Debian's Prometheus and Pushgateway and `mlplat serve`'s stack (executor,
seldon-core-microservice with the reference model, prediction-log sink) on 127.0.0.1, with the
model's rendered rule group loaded unchanged and a scrape config derived from the rendered
PodMonitor. It drives traffic, the drift and quality steps, stops the server, and writes what it
observed through Prometheus' HTTP API to WORK/facts.json for the test to judge. Every wait is
bounded by an event (a query's answer, a file's rows), never by a sleep of a guessed length.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import socket
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

MODEL, TEAM, ENV = "tumor-classifier", "platform", "dev"
WAIT = 180  # seconds any one event may take on a loaded 2-core machine before the run gives up
# The latency targets of the spec are this machine's business only as far as wiring goes: generous ones
# keep a loaded CI machine's p99 from raising a latency alert the test is not about.
SLO = {"latency_p50_ms": 5000, "latency_p95_ms": 10000, "latency_p99_ms": 20000}


def loopback_up() -> None:
    """`ip link set lo up` without iproute2: SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = struct.unpack("16sH", fcntl.ioctl(sock, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH", b"lo", flags | 0x1))


def rendered(project: Path, fetched: dict[str, Any]) -> dict[str, Any]:
    """The model's PrometheusRule, PodMonitor, SeldonDeployment and dashboard, for the served version."""
    from compiler.pipeline.check import check_project
    from compiler.spec.releases import Release
    from renderers import dashboards, monitoring, scraping, seldon

    checked, errors = check_project(project)
    assert not errors, errors
    [model] = [m for m in checked.models if m.name == MODEL and m.environment == ENV]
    serving = model.spec.serving
    spec = model.spec.model_copy(update={"serving": serving.model_copy(
        update={"slo": serving.slo.model_copy(update=SLO)})})
    release = Release.model_validate({"version": int(fetched["version"]), "runId": fetched["runId"],
                                      "modelUri": fetched["source"], "artifactSha256": fetched["artifactSha256"],
                                      "specHash": fetched["specHash"], "gate": "passed"})
    model = dataclasses.replace(model, spec=spec, release=release)
    [environment] = [e for e in checked.environments if e.env.name == ENV]
    environment = dataclasses.replace(environment, models=(model,))
    [rules] = monitoring.render(model)
    [podmonitor] = scraping.render(environment)
    [deployment] = seldon.render(model)
    [board] = dashboards.render(environment)
    return {"rules": rules.body, "podmonitor": podmonitor.body, "deployment": deployment.body,
            "dashboard": json.loads(next(iter(board.body["data"].values())))}


def scrape_configs(podmonitor: dict[str, Any], pods: list[dict[str, Any]],
                   interval: str | None = None) -> list[dict[str, Any]]:
    """What the Prometheus Operator generates for the PodMonitor, one job per endpoint, with static targets
    standing in for Kubernetes discovery: each target carries the discovery labels a pod's container port
    would (namespace, pod, container, port name, pod labels), and the same relabelling runs on them. Each
    job scrapes at its endpoint's interval, or at `interval` where a test needs its series sooner."""
    from renderers.scraping import meta_label

    meta = podmonitor["metadata"]
    targets = []
    for pod in pods:
        labels = {"__meta_kubernetes_namespace": meta["namespace"], "__meta_kubernetes_pod_name": pod["name"],
                  "__meta_kubernetes_pod_container_name": pod["container"],
                  "__meta_kubernetes_pod_container_port_name": pod["port_name"]}
        labels.update({meta_label(k): v for k, v in pod["labels"].items()})
        targets.append({"targets": [pod["address"]], "labels": labels})
    selected = [{"source_labels": [meta_label(selector["key"])], "regex": "|".join(selector["values"]),
                 "action": "keep" if selector["operator"] == "In" else "drop"}
                for selector in podmonitor["spec"]["selector"]["matchExpressions"]]
    defaults = [{"source_labels": [f"__meta_kubernetes_{source}"], "target_label": target}
                for source, target in (("namespace", "namespace"), ("pod_name", "pod"),
                                       ("pod_container_name", "container"),
                                       ("pod_container_port_name", "endpoint"))]
    jobs = []
    for index, endpoint in enumerate(podmonitor["spec"]["podMetricsEndpoints"]):
        keep = [{"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": endpoint["port"],
                 "action": "keep"}, *selected]
        ours = [{key: rule[field] for field, key in (("sourceLabels", "source_labels"), ("targetLabel", "target_label"),
                                                    ("action", "action"), ("regex", "regex")) if field in rule}
                for rule in endpoint["relabelings"]]
        jobs.append({"job_name": f"podMonitor/{meta['namespace']}/{meta['name']}/{index}",
                     "metrics_path": endpoint["path"], "scrape_interval": interval or endpoint["interval"],
                     "static_configs": targets,
                     "relabel_configs": [*keep, *defaults, {"target_label": "job", "replacement":
                                                            f"{meta['namespace']}/{meta['name']}"}, *ours]})
    return jobs


class Prometheus:
    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:
            return json.loads(response.read())["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.get("/api/v1/query", query=expr)["result"]

    def alerts(self) -> list[dict[str, Any]]:
        return self.get("/api/v1/alerts")["alerts"]


def until(what: str, check: Any, timeout: float = WAIT) -> Any:
    """Poll `check()` until it returns something true; that value. The wait ends with the event."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.25)


def spawn(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def at_least(count: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return rows if len(rows) >= count else None


def logged_rows(folder: Path) -> list[dict[str, Any]]:
    import pyarrow.dataset as ds

    files = sorted(str(p) for p in folder.rglob("*.parquet"))
    return ds.dataset(files, format="parquet").to_table().to_pylist() if files else []


def main(project: Path, work: Path) -> int:
    loopback_up()
    from compiler.local import serve as local_serve
    from compiler.local import serving_stack
    from runtime.data import uris

    facts: dict[str, Any] = {"phases": []}
    started = time.monotonic()

    def phase(name: str) -> None:  # where the run's time goes, for benchmarks and slow-machine reports
        facts["phases"].append((name, round(time.monotonic() - started, 1)))

    processes: list[subprocess.Popen] = []
    stack = None
    try:
        tracking = f"sqlite:///{(project / '.mlplat' / 'mlflow.db').resolve()}"
        fetched = local_serve.fetch_version(project, MODEL, None, tracking, work / "model")
        phase("fetched")
        objects = rendered(project, fetched)
        free = local_serve.free_port
        gateway = f"127.0.0.1:{free()}"
        processes.append(spawn(["prometheus-pushgateway", f"--web.listen-address={gateway}",
                                f"--persistence.file={work / 'pushgateway.data'}"], work / "pushgateway.log"))
        log_dir = work / "prediction-logs"
        # Ports first, so that Prometheus starts while the model server does.
        ports = serving_stack.Ports(**{name: free() for name in vars(serving_stack.Ports())})
        [main_predictor] = [p for p in objects["deployment"]["spec"]["predictors"] if p["name"] == "main"]
        pod_labels = main_predictor["componentSpecs"][0]["metadata"]["labels"]
        pods = [{"name": f"{MODEL}-main-0", "container": container, "port_name": "metrics", "labels": pod_labels,
                 "address": f"127.0.0.1:{port}"}
                for container, port in (("seldon-container-engine", ports.executor_metrics), ("model", ports.metrics))]
        pods.append({"name": "mlplat-prediction-log-0", "container": "sink", "port_name": "metrics",
                     "labels": {"mlplat.io/component": "prediction-log", "mlplat.io/team": TEAM,
                                "mlplat.io/environment": ENV}, "address": f"127.0.0.1:{ports.sink}"})
        (work / "rules.yaml").write_text(yaml.safe_dump(objects["rules"]["spec"]))
        config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": ["rules.yaml"],
                  "scrape_configs": [*scrape_configs(objects["podmonitor"], pods, interval="1s"),
                                     {"job_name": "pushgateway", "honor_labels": True, "scrape_interval": "1s",
                                      "static_configs": [{"targets": [gateway]}]}]}
        (work / "prometheus.yml").write_text(yaml.safe_dump(config))
        address = f"127.0.0.1:{free()}"
        processes.append(spawn(["prometheus", f"--config.file={work / 'prometheus.yml'}",
                                f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address={address}"],
                               work / "prometheus.log"))
        stack = serving_stack.start(project, fetched, work / "serving", team=TEAM, ports=ports, log_dir=log_dir,
                                    echo=lambda _: None, flush_seconds=1)
        phase("stack up")
        prom = Prometheus(f"http://{address}")
        own = f'model="{MODEL}", environment="{ENV}"'
        until("every target up", lambda: len(prom.query('up{job!="pushgateway"} == 1')) == 3)
        phase("prometheus up")
        # -- a bounded stream of unshifted requests, each with the puid a label producer would record
        frame = uris.load("sklearn://breast_cancer?split=eval&holdout=0.25&seed=0", "benign")
        features = fetched["features"]
        rows, truth = frame[features].to_numpy().tolist(), frame["benign"].tolist()
        sent = []

        def send(first: int, last: int) -> None:
            for index in range(first, last):
                puid = f"req-{index:04d}"
                body = json.dumps({"data": {"names": features, "ndarray": [rows[index]]}}).encode()
                request = urllib.request.Request(stack.url + local_serve.PREDICT_PATH, body,
                                                 {"Content-Type": "application/json", "Seldon-Puid": puid})
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.loads(response.read())
                sent.append({"puid": puid, "answer_puid": answer["meta"].get("puid"), "label": truth[index]})

        requests = f"sum(seldon_api_executor_server_requests_seconds_count{{{own}}})"
        predictions = f"sum(mlplat_predictions_total{{{own}}})"
        # A first few, then the rest once Prometheus holds the counters: a series' first sample is its
        # baseline, so traffic that all came before it would show no rate at all.
        send(0, 10)
        until("the first requests scraped", lambda: prom.query(predictions) and prom.query(requests))
        phase("first scraped")
        send(10, len(rows))
        phase("sent")
        facts["sent"] = len(sent)
        facts["puids_echoed"] = all(s["puid"] == s["answer_puid"] for s in sent)
        # Counts reach Prometheus after the traffic stopped (the serving class's flush thread).
        until("every request counted", lambda: [r for r in prom.query(f"{requests} == {len(sent)}")])
        facts["predictions_counted"] = until("every prediction counted",
                                                  lambda: prom.query(f"{predictions} == {len(sent)}"))[0]["value"][1]
        phase("counted")
        logged = until("every request logged", lambda: at_least(len(sent), logged_rows(log_dir / TEAM / MODEL)))
        facts["logged_puids"] = sorted({r["request_id"] for r in logged})
        facts["sent_puids"] = sorted(s["puid"] for s in sent)
        facts["logged_columns"] = sorted(logged[0])
        facts["logged_version"] = sorted({r["version"] for r in logged})
        facts["logged_predictor"] = sorted({r["predictor"] for r in logged})

        phase("traffic counted and logged")
        # -- the drift and quality steps over the log, as `mlplat drift` / `mlplat quality` run them
        mlplat = [sys.executable, "-m", "compiler", "--root", str(project)]
        reference = "sklearn://breast_cancer?split=train&holdout=0.25&seed=0"
        current = str(log_dir / TEAM / MODEL)
        report = work / "drift-report.html"
        judged = subprocess.run([*mlplat, "drift", MODEL, "--reference", reference, "--current", current,
                                 "--report", str(report), "--pushgateway", f"http://{gateway}"],
                                capture_output=True, text=True)
        facts["drift_unshifted"], facts["drift_unshifted_stdout"] = judged.returncode, judged.stdout
        facts["drift_report_bytes"] = report.stat().st_size if report.is_file() else 0
        phase("drift")
        import pandas as pd

        labels = pd.DataFrame({"request_id": [s["puid"] for s in sent], "benign": [s["label"] for s in sent]})
        labels.to_csv(work / "labels.csv", index=False)
        shuffled = labels.assign(benign=labels["benign"].sample(frac=1, random_state=3).to_numpy())
        shuffled.to_csv(work / "shuffled.csv", index=False)
        quality = [*mlplat, "quality", MODEL, "--predictions", current]
        facts["quality_correct"] = subprocess.run([*quality, "--labels", str(work / "labels.csv"), "--pushgateway",
                                                   f"http://{gateway}"], capture_output=True, text=True).returncode
        facts["quality_shuffled"] = subprocess.run([*quality, "--labels", str(work / "shuffled.csv")],
                                                   capture_output=True, text=True).returncode

        phase("quality")
        # -- what Prometheus makes of it: every recording rule, every dashboard query, no alert
        until("the pushed results scraped", lambda: prom.query(f"mlplat_drift_score{{{own}}}")
                   and prom.query(f"mlplat_quality_metric{{{own}}}"))
        records = [r["record"] for r in objects["rules"]["spec"]["groups"][0]["rules"] if "record" in r]
        until("every recording rule evaluated", lambda: all(prom.query(r) for r in records))
        facts["recorded"] = {r: prom.query(r) for r in records}
        queries = [t["expr"].replace("$__rate_interval", "1m") for p in objects["dashboard"]["panels"]
                   for t in p.get("targets", [])]
        facts["dashboard"] = {q: prom.query(q) for q in queries}
        facts["alerts_healthy"] = prom.alerts()

        phase("rules and queries")
        # -- shifted traffic: drift exits 1, its push fires MlplatDataDrift
        for first in range(0, len(rows), 20):  # requests of several rows: the log has a row each
            stack.predict([[value * 3 for value in row] for row in rows[first:first + 20]])
        phase("shifted sent")
        until("shifted traffic logged", lambda: len(logged_rows(log_dir / TEAM / MODEL)) >= 2 * len(sent))
        judged = subprocess.run([*mlplat, "drift", MODEL, "--reference", reference, "--current", current,
                                 "--pushgateway", f"http://{gateway}"], capture_output=True, text=True)
        facts["drift_shifted"], facts["drift_shifted_stdout"] = judged.returncode, judged.stdout
        phase("shifted drift")
        facts["drift_alert"] = until("MlplatDataDrift firing", lambda: [
            a for a in prom.alerts() if a["labels"]["alertname"] == "MlplatDataDrift" and a["state"] == "firing"])

        phase("drifted alert")
        # -- the server stops: its targets go down and the absence alert goes pending
        stack.stop()
        stack = None
        facts["absent_alert"] = until("MlplatServingMetricsMissing pending", lambda: [
            a for a in prom.alerts() if a["labels"]["alertname"] == "MlplatServingMetricsMissing"])
        phase("absence alert")
        facts["logged_after_stop"] = len(logged_rows(log_dir / TEAM / MODEL))
    finally:
        if stack is not None:
            stack.stop()
        for process in processes:
            local_serve.stop_group(process, grace=10)
        (work / "facts.json").write_text(json.dumps(facts, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
