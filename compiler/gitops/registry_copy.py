"""A registered version copied from the previous environment's registry into the next one's, for `mlplat
promote` into an environment whose policy is copy (platform.yaml policies.promotion).

Two runtime processes (runtime/copy_version.py), each holding one environment's credentials only
(runtime_call.registry_env), pass the version through a scratch folder under .mlplat/: export checks it
in the source registry and downloads it, import registers the same bytes in the target registry and
checks them again where they landed. Nothing is pinned here: promote pins the target's version once the
gate's own checks have passed on it. Run by the promotion workflow, never by pull-request code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from compiler.local import runtime_call
from compiler.local.embedded import WORK_DIR

TIMEOUT = 1800  # seconds for each half: a model of a few GB over a slow link, not a speed target


class CopyError(Exception):
    """The version was not copied; the message says why (nothing was pinned)."""


@dataclass(frozen=True)
class Copied:
    version: int  # the target registry's
    run_id: str
    source_version: int
    source_run_id: str
    copied: bool  # False: the target had this copy already


@dataclass(frozen=True)
class Registry:
    environment: str
    tracking_uri: str
    artifact_store: str


def copy_version(root: Path, model: str, version: int, source: Registry, target: Registry) -> Copied:
    scratch = root / WORK_DIR / "copies"
    scratch.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{model}-v{version}-", dir=scratch))
    try:
        _half(root, source, "export", "--folder", str(folder), "--model", model, "--version", str(version))
        answer = _half(root, target, "import", "--folder", str(folder), "--source-environment", source.environment,
                       "--environment", target.environment, "--artifact-root", target.artifact_store)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Copied(answer["version"], answer["runId"], answer["from"]["version"], answer["from"]["runId"],
                  answer["copied"])


def _half(root: Path, registry: Registry, half: str, *args: str) -> dict:
    command = runtime_call.isolated_runtime_command("copy-version", half, "--tracking-uri", registry.tracking_uri,
                                                    *args)
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=root, timeout=TIMEOUT,
                              env=runtime_call.registry_env(registry.environment))
    except subprocess.TimeoutExpired as exc:
        raise CopyError(f"the {half} from {registry.environment}'s registry did not finish in {TIMEOUT} s") from exc
    if done.returncode != 0:
        raise CopyError(f"{registry.environment} ({registry.tracking_uri}): {runtime_call.last_error(done)}")
    try:  # the runtime's answer is its last line: a library may print before it
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise CopyError(f"the {half} in {registry.environment} gave no answer: {done.stdout[-300:]!r}") from exc
