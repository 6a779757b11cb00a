"""The canary loop with real components and the defaults `mlplat compile` renders, inside its own network
namespace (`unshare -n`).

Used by tests/runtime/test_canary_loop.py and benchmarks/canary_rollback.py:
`python -m tests.runtime.canary_stack WORK [--benchmark]`. It builds a platform repository whose dev
tumor-classifier rolls out as the spec's canary (20% of the traffic, one step) with the spec language's
analysis defaults (every minute, a 20 s deadline, 500 requests, a 10-minute bake), a bare git
repository as its origin (platform.yaml names it), and three scikit-learn versions: v1 (main), v2 (a
broken preprocessing step: a model fault, answered 500 MLPLAT_MODEL_ERROR, on every row whose first
feature is below its mean) and v3 (as good as v1). Debian's Prometheus scrapes the executor and model
server of each seldon-core stack as the rendered PodMonitor would, at its intervals (canaries every
10 s, the rest every 30 s). A traffic thread sends rows of which a tenth are from v2's failing region,
and splits them between main and canary at random in the shares of the SeldonDeployment rendered on
origin's main. The rendered canary CronWorkflow's pod runs as Argo would run it
(tests/runtime/argo_emulator.py), with the push Secret and Prometheus' address as the cluster gives them.

The test stands in for GitHub and Argo CD: a branch the pod pushes is merged into origin's main (what
auto-merge does once the checks pass), and the traffic split then follows the merged rendering (a sync).
Phases: Prometheus unreachable (the analysis holds, blind); the bad canary, failing a tenth of its
requests (rolled back); the good canary (promoted to main: its step is pinned as decided eleven minutes
ago, which stands in for its bake; its evidence is all served and scraped for real). With --benchmark
only the bad canary runs, at 15 requests per second, its analysis started on the minute as the
CronWorkflow schedules it, timed from the first failed request to the rollback branch on origin. Facts
go to WORK/facts.json; every wait is bounded by an event.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from tests.runtime.monitoring_stack import Prometheus, loopback_up, scrape_configs, spawn, until

MODEL, TEAM, ENV = "tumor-classifier", "platform", "dev"
FOLDER = f"environments/{ENV}/apps/{TEAM}/{MODEL}"
TICK_REQUESTS = 100  # canary requests between two analyses of the test: the event a cron tick stands for
RISKY_SHARE = 0.1  # of requests, from the region of the input v2 fails on
BENCHMARK_RATE = 15  # requests per second, main and canary together
BAKED = 11 * 60  # seconds before now the good canary's step is pinned as decided: past the default 10m bake
SECRET = {"mlplat-git-push": {"username": "mlplat-bot", "password": "not-used-over-file-urls"}}
# The spec's rollout (canary, 20%) with every analysis setting at its default; generous latency targets: a
# loaded CI machine's slow requests are not what this is about.
DEV_SERVING = "slo: {availability: 99.5, latencyP50Ms: 5000, latencyP95Ms: 10000, latencyP99Ms: 20000}"


def save_models(folder: Path) -> dict[int, dict[str, Any]]:
    """v1 and v3: standardise, logistic regression. v2: the same with a square root fitted on absolute
    values and served on signed ones, so that a row whose first feature is below its mean becomes NaN, and
    the model fails on it (scikit-learn refuses NaN: a model fault). Each version's `risky` rows are the
    eval rows v2 fails on."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from runtime import artifact
    from runtime.data import uris

    frame = uris.load("sklearn://breast_cancer?split=train&holdout=0.25&seed=0", "benign")
    features = [c for c in frame.columns if c != "benign"]
    x, y = frame[features].to_numpy(), frame["benign"].to_numpy()
    versions = {}
    for version, strength in ((1, 1.0), (2, 1.0), (3, 0.999)):
        steps = [StandardScaler()]
        risky = None
        if version == 2:
            risky = FunctionTransformer(np.abs)
            steps.append(ColumnTransformer([("risky", risky, [0])], remainder="passthrough"))
        pipeline = make_pipeline(*steps, LogisticRegression(C=strength, max_iter=1000)).fit(x, y)
        if risky is not None:
            pipeline.steps[1][1].transformers_[0][1].func = np.sqrt
        directory = folder / f"v{version}"
        artifact.save(pipeline, directory, framework="sklearn", task="binary-classification", features=features)
        versions[version] = {"model": MODEL, "version": str(version), "directory": str(directory),
                             "artifactSha256": artifact.digest(directory), "features": features,
                             "example": x[0].tolist(), "mean": float(x[:, 0].mean())}
    return versions


def pin(versions: dict[int, dict[str, Any]], version: int, spec_hash: str) -> dict[str, Any]:
    run_id = f"{version:032x}"
    return {"version": version, "runId": run_id,
            "modelUri": f"s3://acme-mlplat-artifacts-dev/platform/{MODEL}/{run_id}/artifacts/model",
            "artifactSha256": versions[version]["artifactSha256"], "specHash": spec_hash, "gate": "passed"}


def write_releases(root: Path, main: dict[str, Any], candidate: dict[str, Any] | None, decided_ago: int = 0) -> None:
    """releases.yaml with the pins, and their evidence as `mlplat promote` commits it (the reference
    model's real evidence with each version's registry facts); the candidate's step decided `decided_ago`
    seconds ago."""
    from tests.conftest import REPO

    template = json.loads((REPO / "tests/fixtures/evidence/tumor-classifier-v1.json").read_text())
    for pinned in filter(None, (main, candidate)):
        evidence = root / f"environments/{ENV}/evidence/{MODEL}-v{pinned['version']}.json"
        evidence.parent.mkdir(parents=True, exist_ok=True)
        evidence.write_text(json.dumps({**template, **{k: v for k, v in pinned.items() if k != "gate"}}))
    release = dict(main)
    if candidate is not None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - decided_ago))
        release["candidate"] = {**candidate, "traffic": 20, "since": stamp}
    body = {"apiVersion": "mlplat/v1", "kind": "Releases", "environment": ENV, "releases": {MODEL: release}}
    (root / f"environments/{ENV}/releases.yaml").write_text(yaml.safe_dump(body, sort_keys=False))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def build_repository(work: Path) -> tuple[Path, Path, dict[int, dict[str, Any]], str]:
    """(work clone, bare origin, model versions, spec hash): origin's main pins v1 with v2 as canary at 20%."""
    from tests.conftest import checked_model, copy_repo

    seed, origin = copy_repo(work / "seed"), work / "origin.git"
    platform = seed / "platform" / "platform.yaml"
    platform.write_text(platform.read_text().replace('url: "https://github.com/acme/mlplat.git"',
                                                     f'url: "{origin.as_uri()}"'))
    spec = seed / "specs" / TEAM / MODEL / "model.yaml"
    spec.write_text(spec.read_text().replace("rollout: {strategy: direct, canaryTraffic: null}", DEV_SERVING))
    model = checked_model(seed, MODEL, ENV)
    versions = save_models(work / "models")
    write_releases(seed, pin(versions, 1, model.spec_hash), pin(versions, 2, model.spec_hash))
    mlplat(seed, "compile")
    git("init", "--quiet", "--initial-branch", "main", cwd=seed)
    git("add", "--all", cwd=seed)
    git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "--quiet", "-m", "base", cwd=seed)
    git("clone", "--quiet", "--bare", str(seed), str(origin), cwd=work)
    clone = work / "clone"
    git("clone", "--quiet", origin.as_uri(), str(clone), cwd=work)
    return clone, origin, versions, model.spec_hash


def mlplat(root: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "compiler", "--root", str(root), *args], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


class Traffic(threading.Thread):
    """Requests, each to main or the canary at random in the current shares, a RISKY_SHARE of them from the
    region of the input v2 fails on; without pause, or at `rate` per second."""

    def __init__(self, safe: list[list[float]], risky: list[list[float]], features: list[str],
                 rate: float | None = None):
        super().__init__(daemon=True)
        self.safe, self.risky, self.features, self.rate = safe, risky, features, rate
        self.urls: dict[str, str] = {}
        self.share = 0
        self.stopped = threading.Event()
        self.sent = {"main": 0, "canary": 0}
        self.failed = {"main": 0, "canary": 0}
        self.first_failure: float | None = None
        self.random = random.Random(7)

    def run(self) -> None:
        from compiler.local.serve import PREDICT_PATH, post_json

        started, index = time.monotonic(), 0
        while not self.stopped.is_set():
            if self.rate is not None and self.stopped.wait(max(0.0, started + index / self.rate - time.monotonic())):
                return
            side = "canary" if "canary" in self.urls and self.random.random() * 100 < self.share else "main"
            rows = self.risky if self.random.random() < RISKY_SHARE else self.safe
            row = rows[index % len(rows)]
            index += 1
            try:
                status, _ = post_json(self.urls[side] + PREDICT_PATH,
                                      {"data": {"names": self.features, "ndarray": [row]}}, timeout=30)
            except OSError:
                status = 599
            self.sent[side] += 1
            if not 200 <= status < 300:
                self.failed[side] += 1
                if self.first_failure is None:
                    self.first_failure = time.time()


class Loop:
    def __init__(self, work: Path):
        self.work = work
        self.clone, self.origin, self.versions, self.spec_hash = build_repository(work)
        self.runs = 0
        self.stacks: dict[int, Any] = {}

    # -- what the cluster runs: the rendered objects on origin's main, after a sync
    def sync(self) -> dict[str, int]:
        git("fetch", "--quiet", "origin", cwd=self.clone)
        git("checkout", "--quiet", "--force", "-B", "main", "origin/main", cwd=self.clone)
        deployment = yaml.safe_load((self.clone / FOLDER / f"seldondeployment-{MODEL}.yaml").read_text())
        return {p["name"]: p.get("traffic", 0) for p in deployment["spec"]["predictors"]}

    def analyse(self, prometheus_url: str) -> tuple[str, int, str]:
        """One run of the rendered canary CronWorkflow as Argo would run its pod: (decision, exit code, log)."""
        from tests.runtime.argo_emulator import ArgoEmulator

        self.runs += 1
        folder = self.clone / FOLDER
        cron = yaml.safe_load((folder / f"cronworkflow-{MODEL}-canary.yaml").read_text())
        config_map = yaml.safe_load((folder / f"configmap-{MODEL}-spec.yaml").read_text())
        emulator = ArgoEmulator(cron, {config_map["metadata"]["name"]: config_map["data"]},
                                self.work / f"run-{self.runs}", secrets=SECRET,
                                overrides={"MLPLAT_PROMETHEUS": prometheus_url, "MLPLAT_PUSHGATEWAY": ""})
        [pod] = emulator.run().values()
        return pod.outputs.get("decision", "none"), pod.exit_code, pod.log

    def proposals(self) -> list[str]:
        heads = git("for-each-ref", "--format=%(refname:short)", "refs/heads/mlplat/", cwd=self.origin)
        return sorted(heads.split())

    def merge(self, branch: str) -> None:
        """GitHub's auto-merge once the checks passed: the branch (made on main's head) becomes main."""
        git("update-ref", "refs/heads/main", f"refs/heads/{branch}", git("rev-parse", "main", cwd=self.origin),
            cwd=self.origin)

    def origin_releases(self, ref: str) -> dict[str, Any]:
        text = git("show", f"{ref}:environments/{ENV}/releases.yaml", cwd=self.origin)
        return yaml.safe_load(text)["releases"][MODEL]


def start_stack(loop: Loop, root: Path, version: int, predictor: str, ports: Any) -> Any:
    from compiler.local import serving_stack

    stack = serving_stack.start(root, loop.versions[version], loop.work / f"serving-v{version}", team=TEAM,
                                ports=ports, log_dir=None, echo=lambda _: None, predictor=predictor)
    loop.stacks[version] = stack
    return stack


def main(work: Path, benchmark: bool) -> int:
    loopback_up()
    from compiler.local import serve as local_serve
    from compiler.local import serving_stack
    from runtime.data import uris
    from tests.conftest import REPO

    facts: dict[str, Any] = {"phases": []}
    started = time.monotonic()

    def phase(name: str) -> None:
        facts["phases"].append((name, round(time.monotonic() - started, 1)))

    processes: list[subprocess.Popen] = []
    traffic = None
    loop = None
    try:
        loop = Loop(work)
        phase("repository")
        free = local_serve.free_port
        address = f"127.0.0.1:{free()}"
        prometheus_url = f"http://{address}"
        if not benchmark:
            # -- Prometheus not running: the analysis holds, blind, and proposes nothing
            decision, code, log = loop.analyse(prometheus_url)
            facts["blind"] = {"decision": decision, "exit": code, "log": log[-1500:], "proposals": loop.proposals()}
            phase("blind")
        # -- Prometheus scraping both predictors of each version as the PodMonitor selects them
        checked_labels = _pod_labels(loop.clone)
        ports = {v: serving_stack.Ports(api=free(), metrics=free(), executor_metrics=free()) for v in (1, 2, 3)}
        roles = {1: "main", 2: "canary", 3: "canary"}
        pods = [{"name": f"{MODEL}-v{v}-0", "container": container, "port_name": "metrics",
                 "labels": {**checked_labels, "mlplat.io/version": str(v), "mlplat.io/predictor": roles[v]},
                 "address": f"127.0.0.1:{port}"}
                for v, p in ports.items()
                for container, port in (("seldon-container-engine", p.executor_metrics), ("model", p.metrics))]
        podmonitor = yaml.safe_load((loop.clone / f"environments/{ENV}/apps/{TEAM}/podmonitor-mlplat-serving.yaml")
                                    .read_text())
        # the rendered PodMonitor's jobs at their own intervals (canaries every 10 s, the rest every 30 s)
        config = {"global": {"evaluation_interval": "10s"}, "scrape_configs": scrape_configs(podmonitor, pods)}
        facts["scrape_intervals"] = [job["scrape_interval"] for job in config["scrape_configs"]]
        (work / "prometheus.yml").write_text(yaml.safe_dump(config))
        processes.append(spawn(["prometheus", f"--config.file={work / 'prometheus.yml'}",
                                f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address={address}"],
                               work / "prometheus.log"))
        start_stack(loop, REPO, 1, "main", ports[1])
        start_stack(loop, REPO, 2, "canary", ports[2])
        prom = Prometheus(prometheus_url)
        until("main and canary scraped", lambda: len(prom.query('up{predictor=~"main|canary"} == 1')) == 4,
              timeout=180)
        phase("stacks up")
        frame = uris.load("sklearn://breast_cancer?split=eval&holdout=0.25&seed=0", "benign")
        features = loop.versions[1]["features"]
        rows = frame[features].to_numpy().tolist()
        mean = loop.versions[2]["mean"]  # v2 fails where the first feature is below its training mean
        traffic = Traffic([r for r in rows if r[0] >= mean], [r for r in rows if r[0] < mean], features,
                          rate=BENCHMARK_RATE if benchmark else None)
        traffic.urls = {"main": loop.stacks[1].url, "canary": loop.stacks[2].url}
        traffic.share = loop.sync()["canary"]
        traffic.start()
        # -- the bad canary: rolled back without a person
        if benchmark:
            facts["rollback"] = _scheduled_until_rollback(loop, prometheus_url, traffic)
        else:
            facts["rollback"] = _until_decided(loop, prom, prometheus_url, "2")
        facts["first_failure"] = traffic.first_failure
        facts["sent_bad_phase"], facts["failed_bad_phase"] = dict(traffic.sent), dict(traffic.failed)
        phase("rolled back")
        [branch] = loop.proposals()
        facts["rollback_branch"] = branch
        facts["rollback_release"] = loop.origin_releases(branch)
        facts["rollback_message"] = git("log", "-1", "--format=%B", branch, cwd=loop.origin)
        facts["rollback_files"] = git("show", "--name-only", "--format=", branch, cwd=loop.origin).split()
        if benchmark:
            return 0
        loop.merge(branch)
        traffic.share = loop.sync().get("canary", 0)
        facts["after_rollback_share"] = traffic.share
        # The bad canary keeps its share until the rollback is synced, so its phase ends here, once the
        # request in flight when the share changed has been counted (the traffic thread sends one at a time).
        sent = sum(traffic.sent.values())
        until("traffic after the rollback", lambda: sum(traffic.sent.values()) >= sent + 2)
        facts["sent_bad_phase"], facts["failed_bad_phase"] = dict(traffic.sent), dict(traffic.failed)
        facts["canary_cron_after_rollback"] = (loop.clone / FOLDER / f"cronworkflow-{MODEL}-canary.yaml").exists()
        # -- the good canary, pinned as `mlplat promote --candidate` pins it, merged
        write_releases(loop.clone, pin(loop.versions, 1, loop.spec_hash), pin(loop.versions, 3, loop.spec_hash),
                       decided_ago=BAKED)
        mlplat(loop.clone, "compile")
        git("add", "--all", cwd=loop.clone)
        git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "--quiet", "-m",
            "promote tumor-classifier candidate 3 to dev", cwd=loop.clone)
        git("push", "--quiet", "origin", "main", cwd=loop.clone)
        start_stack(loop, REPO, 3, "canary", ports[3])
        traffic.urls = {"main": loop.stacks[1].url, "canary": loop.stacks[3].url}
        traffic.share = loop.sync()["canary"]
        phase("good canary up")
        facts["steps"] = []
        while True:
            decided = _until_decided(loop, prom, prometheus_url, "3")
            [newest] = [b for b in loop.proposals() if b not in {s["branch"] for s in facts["steps"]}
                        and b != facts["rollback_branch"]]
            loop.merge(newest)
            shares = loop.sync()
            facts["steps"].append({**decided, "branch": newest, "shares": shares,
                                   "release": loop.origin_releases("main")})
            if decided["decision"] != "step":
                break
            traffic.share = shares["canary"]
        phase("good canary promoted")
        facts["final_release"] = loop.origin_releases("main")
        facts["canary_cron_after_promotion"] = (loop.clone / FOLDER / f"cronworkflow-{MODEL}-canary.yaml").exists()
        facts["sent"], facts["failed"] = dict(traffic.sent), dict(traffic.failed)
        facts["runs"] = loop.runs
    finally:
        if traffic is not None:
            traffic.stopped.set()
            traffic.join(timeout=60)
        for stack in (loop.stacks.values() if loop else []):
            stack.stop()
        for process in processes:
            local_serve.stop_group(process, grace=10)
        (work / "facts.json").write_text(json.dumps(facts, indent=1, default=str))
    return 0


def _pod_labels(clone: Path) -> dict[str, str]:
    deployment = yaml.safe_load((clone / FOLDER / f"seldondeployment-{MODEL}.yaml").read_text())
    return deployment["spec"]["predictors"][0]["componentSpecs"][0]["metadata"]["labels"]


def _until_decided(loop: Loop, prom: Prometheus, url: str, canary_version: str) -> dict[str, Any]:
    """Analyses, each once the canary has served more since the last (the event a cron tick stands for),
    until one decides; what it decided, and the runs it took."""
    runs = []
    for _ in range(40):
        counted = _canary_requests(prom, canary_version)
        decision, code, log = loop.analyse(url)
        runs.append({"decision": decision, "exit": code, "log": log[-2500:], "report": _report(log)})
        if decision not in ("hold", "none"):
            return {**runs[-1], "holds": len(runs) - 1, "before": [run["report"][:1] for run in runs[:-1]]}
        wanted = counted + TICK_REQUESTS
        until("more canary requests", lambda: _canary_requests(prom, canary_version) >= wanted,  # noqa: B023
              timeout=180)
    raise AssertionError(f"no decision in {len(runs)} analyses: {runs[-3:]}")


def _report(log: str) -> list[str]:
    """The analysis' own lines in its pod's log: the decision and its reason, then one line per check."""
    lines = log.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"canary {MODEL} v")), len(lines))
    return lines[start:start + 1] + list(itertools.takewhile(lambda line: line.startswith("  "), lines[start + 1:]))


def _canary_requests(prom: Prometheus, version: str) -> float:
    rows = prom.query(f'sum(seldon_api_executor_server_requests_seconds_count{{predictor="canary", '
                      f'version="{version}"}})')
    return float(rows[0]["value"][1]) if rows else 0.0


def _scheduled_until_rollback(loop: Loop, url: str, traffic: Traffic) -> dict[str, Any]:
    """The CronWorkflow's schedule (each minute, one analysis: the default interval), until a run rolls back."""
    runs = []
    for _ in range(6):
        time.sleep(60 - time.time() % 60)  # the next minute, when the controller starts a workflow
        scheduled = time.time()
        decision, code, log = loop.analyse(url)
        runs.append({"scheduled": scheduled, "decision": decision, "report": _report(log)})
        if decision == "rollback":
            return {"decision": decision, "exit": code, "log": log[-2500:], "scheduled": scheduled,
                    "pushed": time.time(), "first_failure": traffic.first_failure, "runs": runs}
    raise AssertionError(f"no rollback in six scheduled runs: {runs}")


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), "--benchmark" in sys.argv[2:]))
