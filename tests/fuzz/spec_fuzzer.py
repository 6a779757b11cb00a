"""A mutation fuzzer for everything mlplat reads from a pull request: model.yaml, platform.yaml and
releases.yaml, through the loader, validation and every check that `mlplat validate` runs.

Seeded with the example specs and the broken corpus (tests/fixtures/broken); each input is a seed
with one to three mutations: mostly a value replaced, also bytes flipped, YAML tokens and traps
inserted, lines dropped, repeated or swapped, two seeds spliced, and values replaced by over-long
names (at and past the limits of file, folder and Kubernetes names) and path-like strings. A crash is
any exception, or an error without a file, line, column and message. Run it for as long as you like (nothing outside the
repository is written):

    .venv/bin/python -m tests.fuzz.spec_fuzzer --inputs 100000 [--seed 1] [--crashes .mlplat/fuzz-crashes]

It prints inputs/s, the slowest input and the peak memory; tests/fuzz/test_spec_fuzz.py runs a bounded
number of inputs in the suite.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from compiler.pipeline.check import check_loaded
from compiler.pipeline.errors import SpecError
from compiler.pipeline.loader import load_bytes
from compiler.pipeline.policy import platform_policy
from compiler.pipeline.project import LoadedSpec, load_project
from compiler.pipeline.validation import validate
from compiler.spec.model import Model
from compiler.spec.platform import Platform
from compiler.spec.releases import Releases

REPO = Path(__file__).resolve().parents[2]
TOKENS = [
    b"!!float x", b"!!int ''", b"!!bool maybe", b"!!timestamp x", b"!!binary x", b"!!python/object:os.system",
    b"!custom", b"&a ", b"*a", b"<<: *a", b"[", b"]", b"{", b"}", b": ", b"- ", b"? ", b'"', b"'", b"\t", b"\n",
    b"    ", b"#", b"|", b">-", b"%YAML 1.2\n", b"---\n", b"...\n", b"1e999", b"-.inf", b".nan", b"~", b"null",
    b"0x1F", b"0o17", b"99999999999999999999999", b"-0", b"\xff\xfe", b"\x00", "\u202e".encode(), b"yes", b"Off",
    b"2026-13-45", b"12:30", b"0777", b"1_000", b'"\\u0000"', b"[[[[[[[[", b"{a: {b: {c: [", b"../../x", b"/etc/x",
    b"${{ secrets.TOKEN }}", b"<!--", b"![x](http://e)", b"@team", "é".encode(), b"\r\n", b"\xef\xbb\xbf",
]
# Plausible values, so that many inputs get past the loader and into validation and the checks.
VALUES = [
    b"0", b"-1", b"1.5", b"2", b"100", b"1e-9", b"true", b"''", b"[]", b"{}", b"x" * 300, b"Other", b"prod", b"dev",
    b"s3://bucket/x", b"sklearn://breast_cancer", b"'0 0 * * *'", b"'61 * * * *'", b"1Gi", b"500m", b"-5Gi",
    b"[roc_auc, f1]", b"{min: 2, max: 1}", b"pytorch", b"sklearn", b"ranking", b"canary", b"shadow", b"direct",
    b"team.module:function", b"python -m nowhere", b"'@someone'", b"v1", b"mlplat/v2", b"Model",
]
# Names at and past the limits of what they become (file and folder names of 255 bytes, Kubernetes names of
# 63 and 253, paths of 4,096), and strings shaped like paths: every one must be a located error or pass.
LENGTHS = (62, 63, 64, 100, 101, 253, 254, 255, 256, 300, 1025, 4097)


def long_value(rng: random.Random) -> bytes:
    n = rng.choice(LENGTHS)
    shapes = [
        b"m" * n,  # a name: model, team, feature, label
        b"a" + b"-b" * (n // 2),  # a DNS-label-like name
        b"pkg." + b"m" * n + b":fit",  # an entrypoint whose module part is a file name
        b"m." * (n // 2) + b"m:fit",  # many short parts: a deep folder
        b"'[python, -m, " + b"x" * n + b"]'",  # a command's module
        b"'[python, -m, ../../../../etc/passwd]'",
        "é".encode() * (n // 2 + 1),  # bytes past 255 in fewer characters
        b"../" * (n // 3 + 1) + b"etc/shadow",
        b"/" + b"a/" * (n // 2),
        b"file://" + b"../" * 5 + b"etc/shadow",
        b"file:///" + b"x" * n + b".parquet",
        b"s3://bucket/" + b"k" * n,
        b"'" + b"\\" * (n // 2) + b"'",
    ]
    return rng.choice(shapes)


@dataclass
class Stats:
    inputs: int = 0
    crashes: list[tuple[str, bytes, str]] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")
    seconds: float = 0.0


def seeds() -> list[tuple[str, str, bytes]]:
    """(kind, display path, bytes) of every seed: the examples, the platform, the pins, the broken corpus."""
    found = [("model", p.relative_to(REPO).as_posix(), p.read_bytes())
             for p in sorted(REPO.glob("specs/*/*/model.yaml"))]
    found += [("model", p.relative_to(REPO / "tests/fixtures/broken").as_posix().split("/", 1)[1], p.read_bytes())
              for p in sorted(REPO.glob("tests/fixtures/broken/*/specs/*/*/model.yaml"))]
    found.append(("platform", "platform/platform.yaml", (REPO / "platform/platform.yaml").read_bytes()))
    found += [("releases", p.relative_to(REPO).as_posix(), p.read_bytes())
              for p in sorted(REPO.glob("environments/*/releases.yaml"))]
    return found


def mutate(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    for _ in range(rng.randint(1, 3)):
        operation = rng.choices(range(8), weights=(1, 1, 6, 1, 1, 1, 1, 2))[0]
        at = rng.randint(0, len(data))
        if operation == 0 and data:  # flip one byte
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
        elif operation == 1:  # a token anywhere
            data = data[:at] + rng.choice(TOKENS) + data[at:]
        elif operation == 2:  # a token as a value
            lines = data.split(b"\n")
            index = rng.randrange(len(lines))
            if b": " in lines[index]:
                key = lines[index].split(b": ", 1)[0]
                lines[index] = key + b": " + rng.choice(VALUES if rng.random() < 0.7 else TOKENS)
            data = b"\n".join(lines)
        elif operation == 7:  # an over-long name or a path-like string as a value
            lines = data.split(b"\n")
            index = rng.randrange(len(lines))
            if b": " in lines[index]:
                lines[index] = lines[index].split(b": ", 1)[0] + b": " + long_value(rng)
            data = b"\n".join(lines)
        elif operation == 3:  # drop a range
            data = data[:at] + data[at + rng.randint(1, 64):]
        elif operation in (4, 5, 6):  # whole lines: repeat, drop, swap, or splice in another seed's
            lines = data.split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if operation == 4:
                lines.insert(i, lines[j])
            elif operation == 5:
                lines[i], lines[j] = lines[j], lines[i]
            else:
                other = rng.choice(others).split(b"\n")
                start = rng.randrange(len(other))
                lines[i:i + rng.randint(0, 5)] = other[start:start + rng.randint(1, 8)]
            data = b"\n".join(lines)
    return data


class Target:
    """One input through everything `mlplat validate` does, on a scratch copy of the repository's inputs."""

    def __init__(self, root: Path):
        project, errors = load_project(root)
        assert project is not None and not errors, [e.text() for e in errors]
        self.project = replace(project, models=(), releases={})

    def __call__(self, kind: str, display: str, data: bytes) -> list[SpecError]:
        doc, errors = load_bytes(data, display)
        if doc is None:
            return errors
        if kind == "platform":
            platform, errors = validate(doc, Platform)
            return errors or platform_policy(platform, doc)
        if kind == "releases":
            return validate(doc, Releases)[1]
        model, errors = validate(doc, Model)
        if model is None:
            return errors
        return check_loaded(replace(self.project, models=(LoadedSpec(doc, model),)), [])[1]


def run(count: int, seed: int, root: Path) -> Stats:
    rng = random.Random(seed)
    pool = seeds()
    others = [data for _, _, data in pool]
    target = Target(root)
    stats = Stats()
    started = time.perf_counter()
    for number in range(count):
        kind, display, data = rng.choice(pool)
        mutated = mutate(rng, data, others)
        began = time.perf_counter()
        try:
            errors = target(kind, display, mutated)
            unlocated = [e for e in errors if e.file != display or e.line < 1 or e.column < 1 or not e.message]
            if unlocated:
                raise AssertionError(f"errors without a location: {[e.text() for e in unlocated]}")
        except Exception:  # noqa: BLE001 - every exception is a finding
            stats.crashes.append((f"{number}-{display.replace('/', '_')}", mutated, traceback.format_exc()))
        took = time.perf_counter() - began
        if took > stats.slowest[0]:
            stats.slowest = (took, f"input {number} ({display})")
        stats.inputs += 1
    stats.seconds = time.perf_counter() - started
    return stats


def scratch_inputs(folder: Path) -> Path:
    """The repository's inputs (platform/, specs/) copied where the checks may read them."""
    import shutil

    shutil.copytree(REPO / "platform", folder / "platform")
    shutil.copytree(REPO / "specs", folder / "specs")
    return folder


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.spec_fuzzer")
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crashes", type=Path, default=REPO / ".mlplat" / "fuzz-crashes",
                        help="where crashing inputs are saved (inside the repository)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlplat-fuzz-") as tmp:
        stats = run(args.inputs, args.seed, scratch_inputs(Path(tmp)))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{stats.inputs:,} inputs in {stats.seconds:.1f} s ({stats.inputs / stats.seconds:,.0f} inputs/s), "
          f"{len(stats.crashes)} crashes; slowest {stats.slowest[0] * 1000:.1f} ms ({stats.slowest[1]}); "
          f"peak memory {peak_mib:.0f} MiB")
    if stats.crashes:
        args.crashes.mkdir(parents=True, exist_ok=True)
        for name, data, trace in stats.crashes:
            (args.crashes / f"{name}.yaml").write_bytes(data)
            (args.crashes / f"{name}.txt").write_text(trace)
        print(f"crashing inputs and their tracebacks: {args.crashes}")
    return 1 if stats.crashes else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
