"""`mlplat gate --env ENV --base REF`: every release pin and every evidence file the change adds or
alters is checked against the model registry (through `python -m runtime verify`, which owns the
MLflow access), with regression measured against the version pinned at the base.

What judges comes from the base commit, never from the change itself: the registry's address, each
model's gates and whether an environment requires approval are read from the base's platform.yaml
and specs; a pin for a model the base does not have fails. The change supplies only what is judged:
its pins and their evidence, which must equal, field by field, the evidence the register step logged
in the registry.

In an environment whose policy (the base's) is copy, a pin must name a version copied from the previous
environment (its mlplat.promoted_from.* tags), and that source version is checked in the previous
environment's registry: it exists, came from the run the copy names, passed its gate there, and its
artifact's digest is the pin's, so the bytes served are the bytes that passed. Where one registry serves
both environments (--tracking-uri, a laptop), the version is its own source.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.gitops import gitbase
from compiler.gitops.approvals import approval_check
from compiler.gitops.gitbase import file_at
from compiler.local import runtime_call
from compiler.pipeline.check import Checked, check_project
from compiler.pipeline.tree_swap import OUTPUT_DIR
from compiler.spec.evidence import EVIDENCE_DIR, evidence_path
from compiler.spec.model import Gate
from compiler.spec.releases import PinnedVersion, Release
from renderers import markdown

# The whole gate's time (every pin of every environment checked), unless --timeout says otherwise.
DEFAULT_TIMEOUT = 300.0
PARALLEL_PINS = 8  # verifiers at once: each is an interpreter that mostly waits on the registry


class Deadline:
    """A point in time shared by every pin's check; `clock` is injectable for tests."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds, self._clock = seconds, clock
        self._at = clock() + seconds

    def left(self) -> float:
        return max(0.0, self._at - self._clock())


@dataclass(frozen=True)
class PinCheck:
    model: str
    role: str  # "version" or "candidate"
    version: int
    passed: bool
    checks: tuple[dict[str, Any], ...]
    facts: dict[str, Any] = field(default_factory=dict)  # describe(): the registry's record of the version
    provenance: dict[str, str] = field(default_factory=dict)  # a copy's source: environment, version, run_id

    @property
    def failures(self) -> str:
        return "; ".join(c["detail"] for c in self.checks if not c["passed"])


class GateError(Exception):
    """The base cannot be read or does not validate: nothing trusted to judge by."""


def base_checked(root: Path, ref: str) -> Checked:
    """The project as committed at `ref` (its specs, platform and pins), checked like the work tree."""
    try:
        with gitbase.exported_inputs(root, ref) as base_root:
            checked, errors = check_project(base_root)
    except gitbase.GitError as exc:
        raise GateError(str(exc)) from exc
    if checked is None:
        raise GateError(f"the base {ref} does not validate ({len(errors)} errors, the first: {errors[0].text()}); "
                        "the gate judges only by a base that does")
    return checked


def changed_pins(checked: Checked, env: str, base: dict[str, Release]) -> list[tuple[str, str, PinnedVersion]]:
    loaded = checked.project.releases.get(env)
    current = loaded.releases.releases if loaded else {}
    changed: list[tuple[str, str, PinnedVersion]] = []
    for model, release in sorted(current.items()):
        before = base.get(model)
        if before is None or _pin(before) != _pin(release):
            changed.append((model, "version", release))
        if release.candidate and (before is None or before.candidate != release.candidate):
            changed.append((model, "candidate", release.candidate))
    return changed


def _pin(pinned: PinnedVersion) -> dict[str, Any]:
    return pinned.model_dump(mode="json", by_alias=True, exclude={"candidate", "approved_by"})


def check_pins(root: Path, head: Checked, base: Checked, env: str, ref: str, tracking_uri: str,
               deadline: Deadline, approved: dict[str, str] | None = None,
               shared_registry: bool = False) -> list[PinCheck]:
    """Every changed pin and evidence file of `env` verified, several at once; the gates, the pins to
    measure regression against and the approval rule are the base's (`base`, checked at `ref`). A pin
    without a verdict by the deadline fails. `shared_registry`: one registry serves every environment
    (mlplat gate --tracking-uri), so a version is its own source."""
    trusted = {m.name: m for m in base.models if m.environment == env}
    base_loaded = base.project.releases.get(env)
    base_pins = dict(base_loaded.releases.releases) if base_loaded else {}
    policies = base.project.platform.environment(env).policies \
        if env in base.project.platform.environment_names else None
    needs_approval = bool(policies and policies.require_approval)
    needs_digests = bool(policies and policies.require_data_digests)
    order = base.project.platform.environment_names if policies else []
    previous = order[order.index(env) - 1] if policies and order.index(env) > 0 else None
    source = base.project.platform.environment(previous).mlflow.tracking_uri if previous else None
    copies = bool(previous and policies is not None and policies.promotion == "copy" and not shared_registry
                  and source != tracking_uri)
    pins = changed_pins(head, env, base_pins)
    covered = {(model, pinned.version) for model, _, pinned in pins}
    loose = [found for found in changed_evidence(root, head, env, ref) if found[:2] not in covered]

    def one_pin(model: str, role: str, pinned: PinnedVersion) -> PinCheck:
        if model not in trusted:
            return PinCheck(model, role, pinned.version, False, ({
                "name": "model on the base branch", "passed": False,
                "detail": f"{model} is not a model in {env} on the base branch, so it has no gates to judge by; "
                          "merge the model first, then promote it"},))
        evidence = head.project.evidence(env, model).get(pinned.version)
        result = verify(root, model, pinned, trusted[model].spec.evaluation.gates, base_pins.get(model),
                        tracking_uri, role, deadline, evidence=evidence or {}, require_data_digests=needs_digests,
                        environment=env)
        if copies and result.passed and previous is not None and source is not None:
            checks = copy_checks(root, model, pinned, result.provenance, previous, source, deadline)
            result = PinCheck(model, role, pinned.version, all(c["passed"] for c in checks),
                              (*result.checks, *checks))
        if needs_approval:
            check = approval_check(pinned, approved, trusted[model].team_config)
            result = PinCheck(model, role, pinned.version, result.passed and check["passed"], (*result.checks, check))
        return result

    def one_document(model: str, version: int, doc: dict[str, Any] | None) -> PinCheck:
        if doc is None:
            return PinCheck(model, "evidence", version, False, ({
                "name": "evidence pinned", "passed": False,
                "detail": f"{evidence_path(env, model, version)} is added or changed, but no pin in {env} names "
                          "that version (or the file does not validate); remove it"},))
        pinned = PinnedVersion.model_validate({key: doc[key] for key in _IDENTITY} | {"gate": "passed"})
        return verify(root, model, pinned, [], None, tracking_uri, "evidence", deadline, evidence=doc, environment=env)

    with ThreadPoolExecutor(max_workers=max(1, min(PARALLEL_PINS, len(pins) + len(loose)))) as pool:
        futures = [pool.submit(one_pin, *pin) for pin in pins]
        futures += [pool.submit(one_document, *document) for document in loose]
        return [future.result() for future in futures]


def copy_checks(root: Path, model: str, pinned: PinnedVersion, provenance: dict[str, str], previous: str,
                source_uri: str, deadline: Deadline) -> list[dict[str, Any]]:
    """A copy environment's checks of a pin: copied from `previous`, whose registry holds the same bytes,
    passed there (runtime/verify.py's source checks)."""
    if provenance.get("environment") != previous or not provenance.get("version", "").isdigit():
        came = f"copied from {provenance['environment']!r}" if provenance.get("environment") else "trained here"
        return [{"name": "copied from the previous environment", "passed": False,
                 "detail": f"{model} version {pinned.version} was {came}; this environment takes versions copied "
                           f"from {previous!r} (mlplat promote copies them), or set policies.promotion: retrain"}]
    request = {"model": model, "source": {"version": int(provenance["version"]), "runId": provenance.get("run_id"),
                                          "artifactSha256": pinned.artifact_sha256}}
    found = _verifier(root, request, source_uri, deadline, "source", int(provenance["version"]), previous)
    origin = {"name": "copied from the previous environment", "passed": True,
              "detail": f"{previous} version {provenance['version']} (run {provenance.get('run_id')})"}
    return [origin, *found.checks]


# The evidence fields a pin repeats (compiler/spec/evidence.py, VersionEvidence).
_IDENTITY = ("version", "runId", "modelUri", "artifactSha256", "specHash")
_EVIDENCE_NAME = re.compile(r"(.+)-v(\d+)\.json")


def changed_evidence(root: Path, head: Checked, env: str, ref: str) -> list[tuple[str, int, Any]]:
    """(model, version, document or None where no pin loads it) of every evidence file of `env` whose
    bytes differ from those at `ref`, new files included."""
    loaded = head.project.releases.get(env)
    documents = {key: doc.data for key, doc in (loaded.evidence if loaded else {}).items() if doc is not None}
    folder = root / OUTPUT_DIR / env / EVIDENCE_DIR
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        named = _EVIDENCE_NAME.fullmatch(path.name)
        relative = path.relative_to(root).as_posix()
        if path.read_bytes() == file_at(root, ref, relative):
            continue
        model, version = (named.group(1), int(named.group(2))) if named else (path.stem, 0)
        found.append((model, version, documents.get((model, version))))
    return found


def verify(root: Path, model: str, pin: PinnedVersion, gates: list[Gate], baseline: PinnedVersion | None,
           tracking_uri: str, role: str = "version", deadline: Deadline | None = None,
           evidence: dict[str, Any] | None = None, require_data_digests: bool = False,
           environment: str | None = None) -> PinCheck:
    """Check one pin in the registry (`python -m runtime verify`): evidence, gates, regression vs `baseline`
    and, where `require_data_digests`, the identity of its data (runtime/data/digests.py).

    `evidence`, where given, is the committed document to compare with the registry's; the verifier is
    mlplat's own runtime in an isolated interpreter, never a module from the repository being gated."""
    request = {"model": model, "pin": _pin(pin), "gates": _gates(gates),
               "baseline": _pin(baseline) if baseline else None, "evidence": evidence,
               "requireDataDigests": require_data_digests}
    return _verifier(root, request, tracking_uri, deadline, role, pin.version, environment)


def describe(root: Path, model: str, version: str | None, gates: list[Gate], baseline: PinnedVersion | None,
             tracking_uri: str, require_data_digests: bool = False, environment: str | None = None) -> PinCheck:
    """The registry's record of a version (default: the champion), checked as `verify` checks a pin, in
    the same interpreter: `facts` holds the record as a pin and the evidence the register step logged."""
    request = {"model": model, "describe": version or "champion", "gates": _gates(gates),
               "baseline": _pin(baseline) if baseline else None, "evidence": None,
               "requireDataDigests": require_data_digests}
    # The version as the registry answers it; text that is no number is the verifier's to refuse.
    number = int(version) if version is not None and version.isdigit() else 0
    return _verifier(root, request, tracking_uri, None, "version", number, environment)


def _gates(gates: list[Gate]) -> list[dict[str, Any]]:
    return [g.model_dump(mode="json", by_alias=True, exclude_none=True) for g in gates]


def _verifier(root: Path, request: dict[str, Any], tracking_uri: str, deadline: Deadline | None, role: str,
              version: int, environment: str | None = None) -> PinCheck:
    """`python -m runtime verify` on one request, with `environment`'s registry credentials only."""
    deadline = deadline or Deadline(DEFAULT_TIMEOUT)
    model = request["model"]
    try:
        result = subprocess.run(runtime_call.isolated_runtime_command("verify", "--tracking-uri", tracking_uri),
                                input=json.dumps(request), capture_output=True, text=True, cwd=root,
                                env=runtime_call.registry_env(environment), timeout=deadline.left())
    except subprocess.TimeoutExpired:  # the verifier is killed: a registry that trickles or stays silent
        detail = (f"no verdict from the registry at {tracking_uri} within the gate's {deadline.seconds:g} s "
                  "deadline (mlplat gate --timeout)")
        return PinCheck(model, role, version, False, ({"name": "deadline", "passed": False, "detail": detail},))
    try:
        answer = json.loads(result.stdout)
    except json.JSONDecodeError:
        answer = {"passed": False,
                  "checks": [{"name": "verifier", "passed": False, "detail": runtime_call.last_error(result)}]}
    passed = bool(answer["passed"]) and result.returncode == 0
    facts = answer.get("facts") or {}
    return PinCheck(model, role, facts.get("pin", {}).get("version", version), passed, tuple(answer["checks"]),
                    facts, answer.get("provenance") or {})


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
        out += [f"| {c['name']} | {'pass' if c['passed'] else '**FAIL**'} | {markdown.code(c['detail'])} |"
                for c in r.checks]
        out.append("")
    return "\n".join(out)
