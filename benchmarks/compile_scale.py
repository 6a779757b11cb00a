"""Compile at platform scale: N generated models x 3 environments (benchmarks/scale/generate.py).

For each N it measures, as the CLI runs them (a fresh process each), CPU seconds, wall seconds and
peak RSS of: `validate` with no cache, a cold `compile` (no cache, no output), a `compile` with
nothing changed, `compile --check` with nothing changed, `validate` after that (the plan memo
answers it), a `compile` after a one-spec change, `plan --base HEAD` on a one-spec change (with its
cost section) and `catalog` (the static site, with adoption from git history; no registry). Each
figure is the median of --runs runs. Beside them it measures a floor: the CPU time to emit the same
output files again from their loaded data with libyaml's emitter and json.dumps, the least any
compiler writing these bytes could spend.

    python benchmarks/compile_scale.py [--sizes 300 1000] [--runs 3]

The repositories are generated under .mlplat/bench-scale/ (inside this repository, gitignored);
the results are printed as a table and written to .mlplat/bench-scale/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script, like the other benchmarks

from benchmarks.scale.generate import generate  # noqa: E402

WORK = REPO / ".mlplat" / "bench-scale"
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@mlplat.invalid", "-c", "commit.gpgsign=false"]


# Runs the CLI and writes its peak RSS (VmHWM, of its own address space) to the file named first: the
# ru_maxrss a parent sees also counts what the child inherited from the parent before exec. The CLI
# ends most commands with os._exit (compiler/cli/app.py), which runs no atexit handler: it is wrapped.
_PROBE = ("import os, runpy, sys\n"
          "out = sys.argv.pop(1)\n"
          "def peak():\n"
          "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
          "    open(out, 'w').write(status.split()[0])\n"
          "exit_now = os._exit\n"
          "def exit_at_once(code):\n"
          "    peak()\n"
          "    exit_now(code)\n"
          "os._exit = exit_at_once\n"
          "sys.argv[0] = 'mlplat'\n"
          "try:\n"
          "    runpy.run_module('compiler', run_name='__main__', alter_sys=True)\n"
          "finally:\n"
          "    peak()\n")


def measure(root: Path, *args: str) -> dict[str, float]:
    """One CLI run: its own CPU seconds (user + system), wall seconds and peak RSS in MB."""
    peak = WORK / "peak-rss-kb"
    peak.unlink(missing_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", _PROBE, str(peak), "--root", str(root), *args],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1) or (code == 1 and args[:1] != ("plan",) and "--check" not in args):
        raise SystemExit(f"mlplat {' '.join(args)} exited {code}: {process.stderr.read().decode()[-2000:]}")
    process.stderr.close()
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": wall, "rss_mb": int(peak.read_text()) / 1024}


def median(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def reset(root: Path) -> None:
    """Back to the committed inputs: no output, no cache (git clean removes both)."""
    subprocess.run(["git", "clean", "-fdxq"], cwd=root, check=True)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)


def edit_one_spec(root: Path, spec: str, run: int) -> None:
    """A change that reaches every object of the model in every environment (the spec's hash)."""
    path = root / spec
    text, found = re.subn(r"(?m)^  description: .*$", f"  description: changed by benchmark run {run}",
                          path.read_text(), count=1)
    assert found, f"{spec} has no metadata.description"
    path.write_text(text)


def floor_cpu(root: Path) -> float:
    """CPU seconds to emit every output file again from its data (loaded beforehand, not counted)."""
    loaded = []
    for path in sorted((root / "environments").rglob("*")):
        if not path.is_file() or path.name in ("releases.yaml",) or "evidence" in path.parts:
            continue
        text = path.read_text("utf-8")
        if path.suffix == ".yaml":
            loaded.append(("yaml", yaml.load(text, Loader=yaml.CSafeLoader)))
        elif path.suffix == ".json":
            loaded.append(("json", json.loads(text)))
        else:
            loaded.append(("text", text))
    start = time.process_time()
    for kind, data in loaded:
        if kind == "yaml":
            yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                      width=4096).encode()
        elif kind == "json":
            (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        else:
            data.encode()
    return time.process_time() - start


def bench(n: int, runs: int) -> dict[str, Any]:
    root = WORK / f"n{n}"
    shutil.rmtree(root, ignore_errors=True)
    specs = generate(root, n)
    (root / ".gitignore").write_text("/.mlplat/\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "inputs"], cwd=root, check=True)
    results: dict[str, Any] = {"models": n}
    samples = []
    for _ in range(runs):
        reset(root)
        samples.append(measure(root, "validate"))
    results["validate (no cache)"] = median(samples)
    samples, floors = [], []
    for _ in range(runs):
        reset(root)
        samples.append(measure(root, "compile"))
        floors.append(floor_cpu(root))
    results["compile, cold"] = median(samples)
    results["files"] = sum(1 for p in (root / "environments").rglob("*") if p.is_file())
    results["floor_cpu_s"] = statistics.median(floors)
    results["cold / floor"] = results["compile, cold"]["cpu_s"] / results["floor_cpu_s"]
    results["compile, nothing changed"] = median([measure(root, "compile") for _ in range(runs)])
    results["compile --check, nothing changed"] = median([measure(root, "compile", "--check") for _ in range(runs)])
    results["validate, after a compile"] = median([measure(root, "validate") for _ in range(runs)])
    samples = []
    for run in range(runs):
        edit_one_spec(root, specs[0], run)
        samples.append(measure(root, "compile"))
    results["compile, one spec changed"] = median(samples)
    subprocess.run(["git", "add", "-A", "specs", "environments"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=root, check=True)
    samples = []
    for run in range(runs):
        edit_one_spec(root, specs[1], run)
        samples.append(measure(root, "plan", "--base", "HEAD"))
    results["plan --base, one spec changed"] = median(samples)
    results["catalog"] = median([measure(root, "catalog", "--output", str(WORK / f"catalog-n{n}"))
                                 for _ in range(runs)])
    return results


def table(results: list[dict[str, Any]]) -> str:
    rows = ["| measurement | " + " | ".join(f"N = {r['models']} ({r['files']:,} files)" for r in results) + " |",
            "|---|" + "---|" * len(results)]
    for key in [k for k, v in results[0].items() if isinstance(v, dict)]:
        cells = [f"{r[key]['cpu_s']:.2f} s CPU, {r[key]['wall_s']:.2f} s wall, {r[key]['rss_mb']:.0f} MB"
                 for r in results]
        rows.append(f"| {key} | " + " | ".join(cells) + " |")
    floors = " | ".join(f"{r['floor_cpu_s']:.2f} s CPU" for r in results)
    rows.append(f"| floor (emit the same files) | {floors} |")
    rows.append("| cold compile / floor | " + " | ".join(f"{r['cold / floor']:.2f}x" for r in results) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [bench(n, args.runs) for n in args.sizes]
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
