"""What `mlplat serve` runs: the model server behind an executor, with a prediction-log sink.

As in a Seldon pod (renderers/seldon.py), clients call the executor (compiler/local/executor.py) on
the public port; it calls seldon-core-microservice on a port of its own, records the executor's
request metrics and sends each request and response to the sink (`python -m runtime prediction-log`,
runtime/prediction_log/), which writes `<log>/<team>/<model>/date=.../hour=.../*.parquet`, the
layout the drift and quality jobs read. Every process listens on 127.0.0.1 only (seldon-core binds
0.0.0.0 and cannot be told otherwise: run it inside `unshare -n` where that matters) and runs in its
own process group, stopped in order: executor (its queued events reach the sink), model, sink (it
writes what it buffered).
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass
class Stack:
    model: local_serve.Server
    executor: subprocess.Popen
    sink: subprocess.Popen | None
    url: str
    log_dir: Path | None  # <log>/<team>: the sink's output
    ports: Ports

    def predict(self, rows: list[list[float]], names: list[str] | None = None,
                timeout: float = 30) -> tuple[int, dict[str, Any]]:
        return local_serve.post_json(self.url + local_serve.PREDICT_PATH,
                                     {"data": {"names": names or self.model.fetched["features"], "ndarray": rows}},
                                     timeout)

    def stop(self, grace: float = 20) -> None:
        local_serve.stop_group(self.executor, grace)
        self.model.stop(grace)
        if self.sink is not None:
            local_serve.stop_group(self.sink, grace)


def start(root: Path, fetched: dict[str, Any], run_dir: Path, *, team: str, ports: Ports,
          log_dir: Path | None, workers: int = 1, threads: int = 1, echo: Any = print,
          extra_env: dict[str, str] | None = None, flush_seconds: float = LOCAL_FLUSH_SECONDS,
          predictor: str = "main") -> Stack:
    """Sink (unless log_dir is None), model server, executor (of `predictor`: main, canary or shadow);
    returns once the executor answers."""
    free = local_serve.free_port
    ports = Ports(**{k: v or free() for k, v in vars(ports).items()})
    run_dir.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []
    model: local_serve.Server | None = None
    try:
        sink = None
        if log_dir is not None:
            sink = _spawn(runtime_command("prediction-log", "--host", "127.0.0.1", "--port", str(ports.sink),
                                          "--output", str(log_dir / team), "--models", fetched["model"],
                                          "--flush-seconds", str(flush_seconds)),
                          run_dir / "prediction-log.log", runtime_env(root), root)
            started.append(sink)
            _wait_http(sink, f"http://127.0.0.1:{ports.sink}/health", run_dir / "prediction-log.log")
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
        _wait_http(executor, url + "/health/status", run_dir / "executor.log")
    except BaseException:
        for process in reversed(started):
            local_serve.stop_group(process)
        if model is not None:
            model.stop()
        raise
    return Stack(model, executor, sink, url, log_dir / team if log_dir else None, ports)


def _spawn(command: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait_http(process: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise local_serve.ServeError(f"{process.args[2:4]} exited with {process.returncode}; log: {log}\n"
                                         + log.read_text(errors="replace")[-2000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise local_serve.ServeError(f"{url} did not answer in {timeout:.0f}s; log: {log}")
