"""`mlplat gate --env ENV --base REF`: every release pin the change introduces is checked against the
model registry (through `python -m runtime verify`, which owns the MLflow access) and the spec's gates
for that environment, with regression measured against the version pinned at the base."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.gitops.gitbase import file_at
from compiler.local import runtime_call
from compiler.pipeline.check import Checked
from compiler.pipeline.loader import load_bytes
from compiler.pipeline.validation import validate
from compiler.spec.model import Gate
from compiler.spec.releases import PinnedVersion, Release, Releases, releases_path


@dataclass(frozen=True)
class PinCheck:
    model: str
    role: str  # "version" or "candidate"
    version: int
    passed: bool
    checks: tuple[dict[str, Any], ...]

    @property
    def failures(self) -> str:
        return "; ".join(c["detail"] for c in self.checks if not c["passed"])


def base_releases(root: Path, env: str, ref: str) -> dict[str, Release]:
    """The pins of `env` at `ref` (none when the file did not exist there or does not parse)."""
    raw = file_at(root, ref, releases_path(env))
    if raw is None:
        return {}
    doc, errors = load_bytes(raw, f"{ref}:{releases_path(env)}")
    releases, errors = validate(doc, Releases) if doc else (None, errors)
    return dict(releases.releases) if releases else {}


def changed_pins(checked: Checked, env: str, base: dict[str, Release]) -> list[tuple[str, str, PinnedVersion]]:
    loaded = checked.project.releases.get(env)
    current = loaded.releases.releases if loaded else {}
    changed = []
    for model, release in sorted(current.items()):
        before = base.get(model)
        if before is None or _pin(before) != _pin(release):
            changed.append((model, "version", release))
        if release.candidate and (before is None or before.candidate != release.candidate):
            changed.append((model, "candidate", release.candidate))
    return changed


def _pin(pinned: PinnedVersion) -> dict[str, Any]:
    return pinned.model_dump(mode="json", by_alias=True, exclude={"candidate", "approved_by"})


def check_pins(root: Path, checked: Checked, env: str, base: dict[str, Release],
               tracking_uri: str) -> list[PinCheck]:
    models = {m.name: m for m in checked.models if m.environment == env}
    return [verify(root, model, pinned, models[model].spec.evaluation.gates, base.get(model), tracking_uri, role)
            for model, role, pinned in changed_pins(checked, env, base)]


def verify(root: Path, model: str, pin: PinnedVersion, gates: list[Gate], baseline: PinnedVersion | None,
           tracking_uri: str, role: str = "version") -> PinCheck:
    """Check one pin in the registry (`python -m runtime verify`): evidence, gates, regression vs `baseline`."""
    request = {"model": model, "pin": _pin(pin),
               "gates": [g.model_dump(mode="json", by_alias=True, exclude_none=True) for g in gates],
               "baseline": _pin(baseline) if baseline else None}
    result = subprocess.run(runtime_call.runtime_command("verify", "--tracking-uri", tracking_uri),
                            input=json.dumps(request), capture_output=True, text=True,
                            env=runtime_call.runtime_env(root))
    try:
        answer = json.loads(result.stdout)
    except json.JSONDecodeError:
        answer = {"passed": False,
                  "checks": [{"name": "verifier", "passed": False, "detail": runtime_call.last_error(result)}]}
    passed = bool(answer["passed"]) and result.returncode == 0
    return PinCheck(model, role, pin.version, passed, tuple(answer["checks"]))


def format_text(results: list[PinCheck], env: str, base: str) -> str:
    if not results:
        return f"gate {env}: no release pins changed against {base}\n"
    lines = []
    for r in results:
        lines.append(f"{'PASS' if r.passed else 'FAIL'} {r.model} {r.role} {r.version} in {env}")
        lines += [f"  {'ok  ' if c['passed'] else 'FAIL'} {c['name']}: {c['detail']}" for c in r.checks]
    failed = sum(1 for r in results if not r.passed)
    lines.append(f"gate {env}: {len(results) - failed} of {len(results)} changed pins pass")
    return "\n".join(lines) + "\n"


def format_markdown(results: list[PinCheck], env: str, base: str) -> str:
    if not results:
        return f"### mlplat gate: `{env}`\n\nNo release pins changed against `{base}`.\n"
    out = [f"### mlplat gate: `{env}`", ""]
    for r in results:
        out += [f"**{'✅' if r.passed else '❌'} {r.model}** {r.role} {r.version}", "", "| check | result | detail |",
                "|---|---|---|"]
        out += [f"| {c['name']} | {'pass' if c['passed'] else '**FAIL**'} | {c['detail'].replace('|', '/')} |"
                for c in r.checks]
        out.append("")
    return "\n".join(out)
