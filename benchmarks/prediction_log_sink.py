"""The prediction-log sink under load: 10,000 CloudEvents, a tenth of them malformed.

    python benchmarks/prediction_log_sink.py [--events 10000] [--bad-share 0.1] [--clients 4] [--rows 1]

Starts `python -m runtime prediction-log` on 127.0.0.1 writing into a scratch folder (inside .mlplat/),
sends request/response pairs as Seldon's executor does (binary CloudEvents, keep-alive connections, one
per client thread) with malformed events mixed in (broken JSON, unknown models, unnamed features),
stops the sink with SIGTERM and reads back what it wrote. Prints events per second, the sink's peak
resident memory (VmHWM), the rows written against the rows sent in valid pairs, and its counters.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compiler.local.serve import free_port  # noqa: E402

FEATURES = [f"f{i}" for i in range(30)]


def _events(count: int, bad_share: float, rows: int, seed: int) -> list[tuple[dict[str, str], bytes, bool]]:
    """`count` events: round(count * bad_share) bad ones (broken JSON, an unknown model, an unknown type,
    no request id), the rest request/response pairs of `rows` rows, shuffled with each pair in order."""
    rng = random.Random(seed)
    bad = round(count * bad_share)
    units: list[list[tuple[dict[str, str], bytes, bool]]] = []
    for index in range(bad):
        kind = ("json", "model", "type", "id")[index % 4]
        head = _headers("bogus" if kind == "type" else "request", "" if kind == "id" else f"bad-{index}",
                        "unknown" if kind == "model" else "bench")
        units.append([(head, b"{broken" if kind == "json" else b"{}", False)])
    for pair in range((count - bad) // 2):
        request_id = f"r{pair}"
        matrix = [[rng.random() for _ in FEATURES] for _ in range(rows)]
        units.append([(_headers("request", request_id, "bench"),
                       json.dumps({"data": {"names": FEATURES, "ndarray": matrix}}).encode(), True),
                      (_headers("response", request_id, "bench"), json.dumps(
                          {"data": {"names": ["probability"], "ndarray": [rng.random() for _ in range(rows)]},
                           "meta": {"tags": {"version": "1"}}}).encode(), True)])
    rng.shuffle(units)
    return [event for unit in units for event in unit]


def _headers(kind: str, request_id: str, deployment: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": request_id or "none",
            "Ce-Type": f"io.seldon.serving.inference.{kind}", "Ce-Requestid": request_id,
            "Ce-Inferenceservicename": deployment, "Ce-Endpoint": "main"}


def _send(port: int, batch: list[tuple[dict[str, str], bytes, bool]], statuses: list[int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for head, body, _ in batch:
        connection.request("POST", "/", body=body, headers=head)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--bad-share", type=float, default=0.1)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    events = _events(args.events, args.bad_share, args.rows, args.seed)
    out = REPO / ".mlplat" / "bench-prediction-log"
    shutil.rmtree(out, ignore_errors=True)
    port = free_port()
    log = REPO / ".mlplat" / "bench-prediction-log.log"
    with open(log, "w") as stderr:
        sink = subprocess.Popen([sys.executable, "-m", "runtime", "prediction-log", "--host", "127.0.0.1", "--port",
                                 str(port), "--output", str(out), "--models", "bench"], cwd=REPO, stderr=stderr)
    for _ in range(600):  # until it answers (at most a minute)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    # Consecutive shares, so that each client sends a pair's request before its response.
    share = -(-len(events) // args.clients)
    pairs = [events[i * share:(i + 1) * share] for i in range(args.clients)]
    statuses: list[int] = []
    started = time.perf_counter()
    threads = [threading.Thread(target=_send, args=(port, batch, statuses)) for batch in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/prometheus", timeout=10) as response:
        counters = [line for line in response.read().decode().splitlines()
                    if line.startswith("mlplat_prediction_log_") and "_created" not in line]
    peak = next(line.split()[1] for line in Path(f"/proc/{sink.pid}/status").read_text().splitlines()
                if line.startswith("VmHWM"))
    sink.send_signal(signal.SIGTERM)
    code = sink.wait(timeout=120)
    import pyarrow.dataset as ds

    written = ds.dataset(str(out), format="parquet").count_rows() if out.exists() else 0
    valid_rows = sum(1 for _, _, good in events if good) // 2 * args.rows
    print(f"events sent:      {len(events):,} ({sum(1 for *_, good in events if not good):,} malformed or unknown)")
    print(f"answers:          {statuses.count(202):,} x 202, {statuses.count(400):,} x 400, other "
          f"{len(statuses) - statuses.count(202) - statuses.count(400)}")
    print(f"throughput:       {len(events) / elapsed:,.0f} events/s over {elapsed:.1f} s ({args.clients} clients)")
    print(f"sink peak RSS:    {int(peak) / 1024:.0f} MiB")
    print(f"rows written:     {written:,} of {valid_rows:,} in valid pairs; sink exit code {code}")
    print("\n".join(f"  {line}" for line in counters))
    print(f"sink log lines:   {len(log.read_text().splitlines())} (bad events are logged at most "
          f"10 per reason and minute)")
    shutil.rmtree(out, ignore_errors=True)
    return 0 if written == valid_rows and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
