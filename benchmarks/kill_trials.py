"""Kill `mlplat compile` at random moments and check what it leaves: the old tree or the new one,
and, after the next compile, the new tree with nothing stray beside it.

    python benchmarks/kill_trials.py [--trials 50] [--seed 1]

Each trial copies the repository's inputs and output into a scratch folder (inside .mlplat/), changes
one spec, starts a compile, sends it SIGKILL after a random delay within a measured compile's duration
(half the delays fall in its last quarter, where the tree is written and swapped), and then checks the
state; a last trial forces the kill between the two renames of the fallback swap (file systems without
renameat2's exchange). Prints where the kills fell and any failure.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from compiler.pipeline import tree_swap  # noqa: E402
from tests.conftest import copy_repo  # noqa: E402

ENTRIES = [".github", "environments", "platform", "specs"]
BETWEEN_RENAMES = """
import os, signal, sys
from compiler.pipeline import tree_swap
from compiler.cli import main
real = os.rename
def rename(src, dst):
    real(src, dst)
    if os.path.basename(dst) == tree_swap.BACKUP:
        os.kill(os.getpid(), signal.SIGKILL)
tree_swap._exchange = lambda a, b: False
os.rename = rename
main(["--root", sys.argv[1], "compile"])
"""


def tree(root: Path) -> dict[str, bytes] | None:
    base = root / "environments"
    if not base.is_dir():
        return None
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


def compile_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "compiler", "--root", str(root), "compile"]


def prepare(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    root = copy_repo(folder)
    spec = root / "specs/growth/churn-predictor/model.yaml"
    spec.write_text(spec.read_text().replace("max_depth: 8", "max_depth: 9"))
    return root


def settle(root: Path, old: dict, new: dict) -> str:
    """'' when the killed state and the recovery are right, else what is wrong."""
    killed = tree(root)
    if killed not in (old, new) and not (killed is None and (root / tree_swap.BACKUP).is_dir()):
        return "the killed compile left neither the old nor the new tree"
    state = "old" if killed == old else "new" if killed == new else "aside"
    done = subprocess.run(compile_command(root), cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        return f"the next compile failed: {done.stdout[-300:]}{done.stderr[-300:]}"
    if tree(root) != new:
        return "the next compile did not produce the new tree"
    if sorted(p.name for p in root.iterdir()) != ENTRIES:
        return f"stray entries: {sorted(p.name for p in root.iterdir())}"
    return state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scratch = REPO / ".mlplat" / "kill-trials"
    root = prepare(scratch / "repo")
    old = tree(root)
    started = time.perf_counter()
    subprocess.run(compile_command(root), cwd=REPO, check=True, capture_output=True)
    duration = time.perf_counter() - started
    new = tree(root)
    outcomes: dict[str, int] = {}
    failures = []
    for trial in range(args.trials):
        root = prepare(scratch / "repo")
        # Half the kills anywhere, half in the last quarter, where the tree is written and swapped.
        delay = rng.uniform(0, duration) if trial % 2 else rng.uniform(0.75 * duration, 1.05 * duration)
        process = subprocess.Popen(compile_command(root), cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        finished = process.wait() == 0
        result = settle(root, old, new)
        key = f"{result} tree ({'finished first' if finished else 'killed'})" if result in ("old", "new", "aside") \
            else "FAILED"
        outcomes[key] = outcomes.get(key, 0) + 1
        if key == "FAILED":
            failures.append(f"trial {trial} (kill after {delay:.3f} s): {result}")
    root = prepare(scratch / "repo")
    forced = subprocess.run([sys.executable, "-c", BETWEEN_RENAMES, str(root)], cwd=REPO, capture_output=True)
    between = settle(root, old, new) if forced.returncode == -signal.SIGKILL else f"not killed ({forced.returncode})"
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"{args.trials} kills at random moments within {duration:.2f} s (one compile's duration):")
    for key, count in sorted(outcomes.items()):
        print(f"  {count:3d}  {key}")
    print(f"forced kill between the fallback's two renames: {between}"
          + (" (environments/ set aside, put back by the next compile)" if between == "aside" else ""))
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures or between not in ("aside",) else 0


if __name__ == "__main__":
    sys.exit(main())
