"""Serving throughput and latency: seldon-core-microservice (baseline class and mlplat's class, with
server settings) against the raw in-process model call, for a 20 -> 64 -> 64 -> 1 MLP.

    python benchmarks/serving/bench.py [--seconds 4]

A bounded loopback load generator: C threads, each with one keep-alive HTTP connection, send
one-row requests back to back for a fixed time after a warm-up; p50/p99 are per-request latencies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO)]

from compiler.local import serve as local_serve  # noqa: E402
from runtime import artifact  # noqa: E402

FEATURES = [f"x{i}" for i in range(20)]


def make_model(directory: Path) -> Path:
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                                 torch.nn.Linear(64, 1), torch.nn.Sigmoid(), torch.nn.Flatten(0))
    return artifact.save(module, directory, framework="pytorch", task="binary-classification", features=FEATURES)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(port: int, concurrency: int, seconds: float, body: bytes) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    start_gate = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Content-Type": "application/json"}
        for _ in range(50):  # warm-up
            connection.request("POST", local_serve.PREDICT_PATH, body, headers)
            connection.getresponse().read()
        start_gate.wait()
        mine = latencies[index]
        while True:
            began = time.perf_counter()
            if began >= stop_at[0]:
                break
            connection.request("POST", local_serve.PREDICT_PATH, body, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors[index] += 1
            mine.append(time.perf_counter() - began)
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + 3600
    start_gate.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [x for per in latencies for x in per]
    return {"rps": len(flat) / elapsed, "p50": percentile(flat, 0.5) * 1000, "p99": percentile(flat, 0.99) * 1000,
            "errors": sum(errors), "requests": len(flat)}


def in_process(model_dir: Path, seconds: float, body: dict) -> dict[str, dict[str, float]]:
    from runtime.serving import MlplatModel

    loaded = artifact.load(model_dir, device="cpu")
    row = [body["data"]["ndarray"][0]]
    server_class = MlplatModel(str(model_dir))
    server_class.load()
    out = {}
    for label, call in (("raw model call", lambda: loaded.predict(row)),
                        ("MlplatModel.predict_raw", lambda: server_class.predict_raw(body))):
        for _ in range(200):
            call()
        times = []
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
        out[label] = {"rps": len(times) / sum(times), "p50": statistics.median(times) * 1000,
                      "p99": percentile(times, 0.99) * 1000, "errors": 0, "requests": len(times)}
    return out



CONFIGS = [
    # label, class, workers, threads, extra environment
    ("seldon default (predict, 1 worker, 1 thread)", "baseline_model.BaselineModel", 1, 1,
     {"INCLUDE_METRICS_IN_CLIENT_RESPONSE": "true"}),
    ("mlplat class, 1 worker, 1 thread", local_serve.SERVING_CLASS, 1, 1, {}),
    ("mlplat class, 1 worker, 4 threads", local_serve.SERVING_CLASS, 1, 4, {}),
    ("mlplat class, 2 workers, 1 thread", local_serve.SERVING_CLASS, 2, 1, {}),
    ("mlplat class, 3 workers, 1 thread", local_serve.SERVING_CLASS, 3, 1, {}),
    ("mlplat class, 2 workers, 1 thread, metrics every request", local_serve.SERVING_CLASS, 2, 1,
     {"MLPLAT_METRICS_FLUSH_SECONDS": "0"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--only", help="run only configurations whose label contains this")
    args = parser.parse_args()
    body = {"data": {"names": FEATURES, "ndarray": [[0.1 * i for i in range(20)]]}}
    encoded = json.dumps(body).encode()
    rows: list[tuple[str, int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="mlplat-bench-") as tmp:
        model_dir = make_model(Path(tmp) / "model")
        fetched = {"model": "bench-mlp", "version": "1", "artifactSha256": artifact.digest(model_dir),
                   "directory": str(model_dir), "features": FEATURES, "example": body["data"]["ndarray"][0]}
        for label, result in in_process(model_dir, args.seconds, body).items():
            rows.append((label + " (in-process)", 1, result))
        for label, interface, workers, threads, extra in CONFIGS:
            if args.only and args.only not in label:
                continue
            python_path = os.pathsep.join([str(local_serve._runtime_home()), str(Path(__file__).resolve().parent)])
            port = local_serve.free_port
            server = local_serve.start(REPO, fetched, Path(tmp) / label.split()[0], port=port(), grpc_port=port(),
                                       metrics_port=port(), workers=workers,
                                       threads=threads, echo=lambda _: None, interface=interface,
                                       extra_env={"PYTHONPATH": python_path, **extra})
            try:
                port = int(server.url.rsplit(":", 1)[1])
                for concurrency in (1, 8):
                    rows.append((label, concurrency, load(port, concurrency, args.seconds, encoded)))
            finally:
                server.stop()
    print("| server | concurrency | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, concurrency, r in rows:
        print(f"| {label} | {concurrency} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} |")


if __name__ == "__main__":
    main()
