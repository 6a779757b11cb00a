"""The Feast feature server `mlplat serve` runs beside a model trained on a feature service, as the
rendered pod runs its `features` container (renderers/seldon.py).

It serves the environment's rendered definitions from a private registry and SQLite online store in the
serving run's folder, materialised up to `as_of` (default: now) by `python -m runtime features serve
--end`, so that a local serve never writes to the embedded stores `mlplat run` and the materialisation
jobs use. The model server gets the variables that point it at the server (runtime/serving); with
`as_of` its TTL checks use that moment as "now" (MLPLAT_FEATURES_AS_OF), so that the example's events
can be served at the time they describe.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from compiler.local import serve as local_serve
from compiler.local.runtime_call import runtime_command, runtime_env

STARTUP_SECONDS = 180  # applying and materialising come first; a bound on a hang, not a speed target


@dataclass(frozen=True)
class FeatureServing:
    service: str
    environment: str
    keys: tuple[str, ...]  # the service's entity join keys: what a request may send instead of the features
    as_of: datetime | None = None


@dataclass
class RunningFeatureServer:
    process: subprocess.Popen
    url: str
    log: Path
    model_env: dict[str, str]  # what the model server needs to read from it

    def stop(self, grace: float = 20) -> None:
        local_serve.stop_group(self.process, grace)


def start(root: Path, features: FeatureServing, run_dir: Path, port: int) -> RunningFeatureServer:
    folder = root / "environments" / features.environment / "features"
    if not (folder / "feature_store.yaml").is_file():
        raise local_serve.ServeError(f"{folder.relative_to(root)}/feature_store.yaml is missing: run mlplat compile")
    private = run_dir / "features"
    private.mkdir(parents=True, exist_ok=True)
    settings = yaml.safe_load((folder / "feature_store.yaml").read_text("utf-8"))
    settings.update(registry=str(private / "registry.db"),
                    online_store={"type": "sqlite", "path": str(private / "online.db")})
    (private / "feature_store.yaml").write_text(yaml.safe_dump(settings, sort_keys=True), "utf-8")
    end = (features.as_of or datetime.now(UTC)).isoformat()
    log = run_dir / "feature-server.log"
    command = runtime_command("features", "serve", "--store", str(private / "feature_store.yaml"),
                              "--definitions", str(folder / "definitions.json"), "--host", "127.0.0.1",
                              "--port", str(port), "--end", end)
    # HOME: gunicorn writes a control socket under ~/.gunicorn, which belongs in the run's folder
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env={**runtime_env(root), "HOME": str(private)}, cwd=root, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    server = RunningFeatureServer(process, url, log, model_env(url, features.service, folder / "definitions.json",
                                                               features.as_of))
    try:
        local_serve.wait_http(process, f"{url}/health", log, STARTUP_SECONDS)
    except BaseException:
        server.stop()
        raise
    return server


def model_env(url: str, service: str, definitions: Path, as_of: datetime | None = None) -> dict[str, str]:
    """The model server's variables for a feature server at `url`."""
    env = {"MLPLAT_FEATURE_SERVER_URL": url, "MLPLAT_FEATURE_SERVICE": service,
           "MLPLAT_FEATURE_DEFINITIONS": str(definitions)}
    if as_of is not None:
        env["MLPLAT_FEATURES_AS_OF"] = as_of.isoformat()
    return env
