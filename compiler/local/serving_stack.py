"""What `mlplat serve` runs: the model server behind an executor, with a prediction-log sink.

As in a Seldon pod (renderers/seldon.py), clients call the executor (compiler/local/executor.py) on
the public port; it calls seldon-core-microservice on a port of its own, records the executor's
request metrics and sends each request and response to the sink (`python -m runtime prediction-log`,
runtime/prediction_log/), which writes `<log>/<team>/<model>/date=.../hour=.../*.parquet`, the
layout the drift and quality jobs read. Every process listens on 127.0.0.1 only (seldon-core binds
0.0.0.0 and cannot be told otherwise: run it inside `unshare -n` where that matters) and runs in its
own process group, stopped in order: executor (its queued events reach the sink), model, sink (it
writes what it buffered). A model trained on a feature service gets Feast's feature server too, as its
pod does (compiler/local/feature_server.py), stopped after the model server.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.local import feature_server
from compiler.local import serve as local_serve
from compiler.local.runtime_call import runtime_command, runtime_env

LOCAL_FLUSH_SECONDS = 5  # the sink's batches are small on a laptop: what was served is readable soon


@dataclass
class Ports:
    api: int = 9000
    metrics: int = 6000  # the model server's custom metrics
    executor_metrics: int = 8000
    model: int = 0  # 0: a free port
    grpc: int = 0
    sink: int = 0
    features: int = 0  # the feature server, for a model trained on a feature service


@dataclass
class Stack:
    model: local_serve.Server
    executor: subprocess.Popen
    sink: subprocess.Popen | None
    url: str
    log_dir: Path | None  # <log>/<team>: the sink's output
    ports: Ports
    features: feature_server.RunningFeatureServer | None = None

    def predict(self, rows: list[list[float]], names: list[str] | None = None,
                timeout: float = 30) -> tuple[int, dict[str, Any]]:
        return local_serve.post_json(self.url + local_serve.PREDICT_PATH,
                                     {"data": {"names": names or self.model.fetched["features"], "ndarray": rows}},
                                     timeout)

    def stop(self, grace: float = 20) -> None:
        local_serve.stop_group(self.executor, grace)
        self.model.stop(grace)
        if self.features is not None:
            self.features.stop(grace)
        if self.sink is not None:
            local_serve.stop_group(self.sink, grace)


def start(root: Path, fetched: dict[str, Any], run_dir: Path, *, team: str, ports: Ports,
          log_dir: Path | None, workers: int = 1, threads: int = 1, echo: Any = print,
          extra_env: dict[str, str] | None = None, flush_seconds: float = LOCAL_FLUSH_SECONDS,
          predictor: str = "main", features: feature_server.FeatureServing | None = None) -> Stack:
    """Sink (unless log_dir is None), feature server (with `features`), model server, executor (of
    `predictor`: main, canary or shadow); returns once the executor answers."""
    free = local_serve.free_port
    ports = Ports(**{k: v or free() for k, v in vars(ports).items()})
    run_dir.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []
    model: local_serve.Server | None = None
    online: feature_server.RunningFeatureServer | None = None
    try:
        sink = None
        if log_dir is not None:
            sink = _spawn(runtime_command("prediction-log", "--host", "127.0.0.1", "--port", str(ports.sink),
                                          "--output", str(log_dir / team), "--models", fetched["model"],
                                          "--flush-seconds", str(flush_seconds)),
                          run_dir / "prediction-log.log", runtime_env(root), root)
            started.append(sink)
            local_serve.wait_http(sink, f"http://127.0.0.1:{ports.sink}/health", run_dir / "prediction-log.log")
        if features is not None:
            online = feature_server.start(root, features, run_dir, ports.features)
            extra_env = {**online.model_env, **(extra_env or {})}
        model = local_serve.start(root, fetched, run_dir, port=ports.model, grpc_port=ports.grpc,
                                  metrics_port=ports.metrics, workers=workers, threads=threads, echo=echo,
                                  extra_env=extra_env)
        command = [sys.executable, "-m", "compiler.local.executor", "--model-url", model.url, "--port", str(ports.api),
                   "--metrics-port", str(ports.executor_metrics), "--deployment", fetched["model"],
                   "--predictor", predictor, "--version", fetched["version"]]
        if sink is not None:
            command += ["--logger-url", f"http://127.0.0.1:{ports.sink}/"]
        executor = _spawn(command, run_dir / "executor.log", runtime_env(root), root)
        started.append(executor)
        url = f"http://127.0.0.1:{ports.api}"
        local_serve.wait_http(executor, url + "/health/status", run_dir / "executor.log")
    except BaseException:
        for process in reversed(started):
            local_serve.stop_group(process)
        if model is not None:
            model.stop()
        if online is not None:
            online.stop()
        raise
    return Stack(model, executor, sink, url, log_dir / team if log_dir else None, ports, online)


def _spawn(command: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
