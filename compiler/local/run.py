"""`mlplat run`: a model's training workflow on this machine, step by step in DAG order.

Each step is the same `python -m runtime <step>` the Argo pods run, in a subprocess (the compiler
never imports the runtime). The embedded default is MLflow on a SQLite file with a local artifact
folder under .mlplat/ (ignored by git); `--tracking-uri` points the steps at a real MLflow server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler.local.embedded import WORK_DIR, default_tracking
from compiler.local.runtime_call import RUNTIME_LOCK, runtime_command, runtime_env
from compiler.spec.resolved import ResolvedModel

GATE_PASSED, GATE_FAILED = 0, 1


@dataclass
class RunResult:
    """What a local run did; `summary()` is also written to <run dir>/summary.json."""

    model: str
    environment: str
    tracking_uri: str
    run_dir: Path
    steps: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    gate: dict[str, Any] | None = None
    registered: dict[str, Any] | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and bool(self.gate and self.gate["passed"]) and self.registered is not None

    def summary(self) -> dict[str, Any]:
        return {"model": self.model, "environment": self.environment, "trackingUri": self.tracking_uri,
                "runDir": str(self.run_dir), "runId": self.run_id, "steps": self.steps, "metrics": self.metrics,
                "gate": self.gate, "registered": self.registered, "failure": self.failure}


def git_commit(root: Path) -> str:
    try:
        import git

        repo = git.Repo(root, search_parent_directories=True)
        # asked without writing the index (is_dirty's `git diff` does, under an index.lock a kill leaves behind)
        repo.git.update_environment(GIT_OPTIONAL_LOCKS="0")
        dirty = repo.git.status("--porcelain", "--untracked-files=no")
        return repo.head.commit.hexsha + ("-dirty" if dirty else "")
    except Exception:  # noqa: BLE001 - not a git checkout, or no commit yet: the run says so
        return "unknown"


def run_pipeline(root: Path, model: ResolvedModel, tracking_uri: str | None = None,
                 echo: Any = print) -> RunResult:
    work = root / WORK_DIR
    artifact_root = None
    if tracking_uri is None:
        work.mkdir(exist_ok=True)
        tracking_uri, artifact_root = default_tracking(root)
    if model.env.artifact_store.startswith("file://"):
        # The environment's own store is reachable from here, so versions trained now can be pinned
        # there (a pin's modelUri must lie under it); elsewhere they stay local, for trying things out.
        artifact_root = model.env.artifact_store
    run_dir = work / "runs" / f"{model.name}-{model.environment}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    outputs = run_dir / "outputs"
    outputs.mkdir(parents=True)
    spec_file = run_dir / "model.json"
    spec_file.write_text(model.summary_json(), "utf-8")
    code_dir = root / model.code_folder
    # A team's training command says `python`: the runtime's own interpreter here, as the image's is in a pod
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = runtime_env(root, MLFLOW_TRACKING_URI=tracking_uri, MLPLAT_CODE_DIR=str(code_dir),
                      MLPLAT_GIT_COMMIT=git_commit(root), PATH=path)
    if (root / RUNTIME_LOCK).is_file():
        env["MLPLAT_LOCK"] = str(root / RUNTIME_LOCK)
    if artifact_root:
        env["MLPLAT_ARTIFACT_ROOT"] = artifact_root
    result = RunResult(model.name, model.environment, tracking_uri, run_dir)
    echo(f"== {model.name} ({model.environment}): train -> evaluate -> gate -> register on {tracking_uri}")
    for index, step in enumerate(("train", "evaluate", "gate", "register"), start=1):
        args = runtime_command(step, "--spec", str(spec_file), "--outputs", str(outputs), "--tracking-uri",
                               tracking_uri)
        if result.run_id:
            args += ["--run-id", result.run_id]
        echo(f"-- [{index}/4] {step}")
        started = time.perf_counter()
        code = subprocess.run(args, env=env, cwd=root).returncode
        seconds = round(time.perf_counter() - started, 2)
        result.steps.append({"step": step, "exitCode": code, "seconds": seconds})
        if step == "train" and (outputs / "run-id").is_file():
            result.run_id = (outputs / "run-id").read_text().strip()
        if step == "evaluate" and code == 0:
            result.metrics = json.loads((outputs / "metrics.json").read_text())
        if step == "gate" and code in (GATE_PASSED, GATE_FAILED):
            result.gate = json.loads((outputs / "gate.json").read_text())
            continue  # a decided failure still registers the version, as challenger
        if step == "register" and code == 0:
            result.registered = json.loads((outputs / "registered.json").read_text())
        if code != 0:
            reason = "the gate could not decide and failed closed" if step == "gate" else f"exit code {code}"
            result.failure = f"{step} failed ({reason}); later steps did not run and nothing was registered"
            break
    (run_dir / "summary.json").write_text(json.dumps(result.summary(), indent=2, sort_keys=True) + "\n")
    return result


def describe(result: RunResult) -> str:
    """The closing summary a person reads: version, metrics, gate decision, where the outputs are."""
    lines = [f"== summary: {result.model} in {result.environment}"]
    lines.append("   steps:      " + ", ".join(f"{s['step']} {s['seconds']:.1f}s"
                                               + ("" if s["exitCode"] == 0 else f" (exit {s['exitCode']})")
                                               for s in result.steps))
    if result.run_id:
        lines.append(f"   run:        {result.run_id}")
    if result.metrics:
        lines.append("   metrics:    " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items())
                                                  if k != "eval_rows"))
    if result.gate is not None:
        verdict = "PASSED" if result.gate["passed"] else "FAILED"
        reasons = "; ".join(c["reason"] for c in result.gate["checks"]) or "no gates declared"
        lines.append(f"   gate:       {verdict}: {reasons}")
    if result.registered:
        reg = result.registered
        lines.append(f"   registered: {reg['model']} version {reg['version']} as {reg['alias']} "
                     f"(artifact sha256 {reg['artifactSha256'][:16]}...)")
    if result.failure:
        lines.append(f"   FAILED:     {result.failure}")
    lines.append(f"   tracking:   {result.tracking_uri}")
    lines.append(f"   outputs:    {result.run_dir}")
    return "\n".join(lines)
