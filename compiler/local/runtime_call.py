"""Calling the runtime (`python -m runtime ...`) from the compiler, which never imports it.

MLflow, torch and the model artifact live on the runtime's side; the compiler's commands that need
them (run, serve, gate, promote) start it as a subprocess with the repository on its path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from compiler.local.embedded import WORK_DIR
from compiler.spec.resolved import ResolvedModel

EVIDENCE_PATH = "mlplat/evidence.json"  # where the register step logs a version's evidence on its run


class RuntimeCallError(Exception):
    """The runtime could not do what was asked; the message carries its last error line."""


# The lock the runtime image installs from; steps record how their environment compares with it.
RUNTIME_LOCK = "platform/images/runtime/requirements.lock"


def runtime_env(root: Path, **extra: str) -> dict[str, str]:
    """This process's environment with the repository on PYTHONPATH, plus `extra`."""
    path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def runtime_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "runtime", *args]


def run_monitor_step(root: Path, model: ResolvedModel, step: str, *args: str) -> int:
    """`python -m runtime drift|quality` on this machine, as the model's CronWorkflow pod runs it, with its
    resolved spec and outputs under .mlplat/<step>/<model>-<env>/; the step's exit code."""
    work = root / WORK_DIR / step / f"{model.name}-{model.environment}"
    work.mkdir(parents=True, exist_ok=True)
    spec_file = work / "model.json"
    spec_file.write_text(model.summary_json(), "utf-8")
    command = runtime_command(step, "--spec", str(spec_file), "--outputs", str(work), *args)
    return subprocess.run(command, env=runtime_env(root), cwd=Path.cwd()).returncode


def isolated_runtime_command(*args: str) -> list[str]:
    """mlplat's own runtime in an isolated interpreter (-I): neither PYTHONPATH nor the working folder
    can put a module of the repository it works on (a pull request's, perhaps) in its place."""
    return [sys.executable, "-I", "-m", "runtime", *args]


def isolated_env() -> dict[str, str]:
    """This process's environment without PYTHONPATH (which -I ignores anyway)."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


ENVIRONMENT_SECRETS = "MLPLAT_ENV_"  # MLPLAT_ENV_<ENV>_<NAME>: <NAME> for the runtime touching <env>'s registry


def registry_env(environment: str | None) -> dict[str, str]:
    """isolated_env() for a runtime that talks to one environment's registry and artifact store: every
    MLPLAT_ENV_<ENV>_<NAME> of this environment becomes <NAME> (MLPLAT_ENV_PROD_MLFLOW_TRACKING_TOKEN ->
    MLFLOW_TRACKING_TOKEN), and no other environment's reaches it. A copy between registries runs two
    runtimes, one per side, so that neither holds both sides' credentials."""
    base = {k: v for k, v in isolated_env().items() if not k.startswith(ENVIRONMENT_SECRETS)}
    if environment is None:
        return base
    prefix = f"{ENVIRONMENT_SECRETS}{environment.upper().replace('-', '_')}_"
    return {**base, **{k[len(prefix):]: v for k, v in os.environ.items() if k.startswith(prefix) and k != prefix}}


def last_error(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr.strip().splitlines() or ["no output"])[-1]


def model_versions(root: Path, model: str, tracking_uri: str) -> list[dict[str, Any]]:
    """A model's registered versions, newest first (see runtime/versions.py)."""
    return models_versions(root, [model], tracking_uri)[model]


def models_versions(root: Path, models: list[str], tracking_uri: str) -> dict[str, list[dict[str, Any]]]:
    """Each model's registered versions, newest first, read in one runtime process."""
    args = [arg for model in models for arg in ("--model", model)]
    result = subprocess.run(runtime_command("versions", *args, "--tracking-uri", tracking_uri),
                            capture_output=True, text=True, env=runtime_env(root), cwd=root)
    if result.returncode != 0:
        raise RuntimeCallError(last_error(result))
    return json.loads(result.stdout)["models"]


def fetch_version(root: Path, model: str, version: str | None, tracking_uri: str, dest: Path) -> dict[str, Any]:
    """Download a registered version (default: the champion) and return its facts (see runtime/fetch.py)."""
    args = runtime_command("fetch", "--model", model, "--dest", str(dest), "--tracking-uri", tracking_uri)
    if version:
        args += ["--version", version]
    result = subprocess.run(args, capture_output=True, text=True, env=runtime_env(root), cwd=root)
    if result.returncode != 0:
        raise RuntimeCallError(f"cannot fetch {model} version {version or 'champion'} from {tracking_uri}: "
                               f"{last_error(result)}")
    return json.loads(result.stdout)
