"""Cache keys of rendered files: a hash of everything a renderer's output depends on.

A model's files depend on its resolution in one environment (the ResolvedModel: the merged spec,
the environment, cluster, team and repository settings, the pin and its evidence) and on the code
that loads, resolves, renders and serialises them; the hashes of the spec file and the evidence
files stand for the merged spec and the evidence. An environment's files depend on the environment,
the platform and every model there. `code_version` covers the rendering code: every file of
renderers/ (templates too) and compiler/spec/, the plan and these two modules, the versions of the
libraries whose output lands in the files, and the interpreter's; `project_code_version`, which keys
use, adds the code that loads and checks. A key is a SHA-256, so a wrong hit needs a hash collision.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.pipeline.incremental.render_cache import FORMAT

if TYPE_CHECKING:  # a plan from the memo (plan_memo.py) is read without loading the spec models
    from compiler.spec.platform import Platform
    from compiler.spec.resolved import ResolvedEnvironment, ResolvedModel

_REPO = Path(__file__).resolve().parents[3]
_CODE = ("renderers", "compiler/spec", "compiler/runtime_contract.py", "compiler/pipeline/plan.py",
         "compiler/pipeline/incremental/fingerprint.py", "compiler/pipeline/incremental/render_cache.py")
_CHECKING = ("compiler/pipeline",)
# Libraries whose behaviour shapes the bytes: the YAML and JSON emitters, Jinja2, purls, dumps.
_LIBRARIES = ("pyyaml", "jinja2", "packageurl-python", "pydantic", "pydantic-core", "mlplat")


@functools.cache
def code_version() -> str:
    """One hash of the rendering code and what it runs on (computed once per process)."""
    digest = hashlib.sha256(f"format {FORMAT}\n{sys.version}\n".encode())
    for name in _LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name} {version}\n".encode())
    import yaml

    digest.update(f"libyaml {getattr(yaml, '__with_libyaml__', False)}\n".encode())
    _hash_files(digest, _CODE)
    return digest.hexdigest()


@functools.cache
def project_code_version() -> str:
    """code_version and the code that loads and checks a project: what a whole project's plan depends
    on besides its inputs (plan_memo.py)."""
    digest = hashlib.sha256(f"{code_version()}\n".encode())
    _hash_files(digest, _CHECKING)
    return digest.hexdigest()


def _hash_files(digest: Any, entries: tuple[str, ...]) -> None:
    for path in _code_files(entries):
        source = path.read_bytes()
        digest.update(f"{path.relative_to(_REPO).as_posix()} {len(source)}\n".encode())
        digest.update(source)


def _code_files(entries: tuple[str, ...]) -> list[Path]:
    found = []
    for entry in entries:
        path = _REPO / entry
        found += sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else [path]
    return found


class Keys:
    """Keys for one compile; objects shared by many models (an environment, a cluster) are dumped once."""

    def __init__(self) -> None:
        from pydantic import BaseModel

        self._model_class = BaseModel
        self._dumped: dict[int, tuple[Any, Any]] = {}  # id -> (the object, kept alive; its dump)

    def model(self, model: ResolvedModel) -> str:
        if model.evidence_sha256.keys() == model.evidence.keys() and all(model.evidence_sha256.values()):
            # the evidence is its files' JSON: their hashes stand for it, without dumping 200 packages each
            model = dataclasses.replace(model, evidence={})
        if model.spec_source_sha256:
            # the merged spec is the spec file's data merged for the environment (the key has both, and the
            # loading and merging code): its dump, the largest part of a model, is not needed
            model = dataclasses.replace(model, spec=None)  # type: ignore[arg-type]  # a key, never rendered
        return _hash("model", self._canonical(model))

    def environment(self, environment: ResolvedEnvironment, model_keys: list[str]) -> str:
        return _hash("environment", [self._settings(environment), model_keys])

    def team(self, environment: ResolvedEnvironment, team: str, model_keys: list[str]) -> str:
        """A team's objects in an environment: `environment` holds that team's models only."""
        return _hash("team", [team, self._settings(environment), model_keys])

    def _settings(self, environment: ResolvedEnvironment) -> list[Any]:
        return [self._canonical(environment.env), self._canonical(environment.cluster),
                self._canonical(environment.platform)]

    def features(self, environment: ResolvedEnvironment, features: list[Any]) -> str:
        """An environment's Feast files: its settings and every team's feature definitions."""
        return _hash("features", [self._settings(environment), [self._canonical(f) for f in features]])

    def card(self, model_keys: list[str]) -> str:
        return _hash("model-card", model_keys)

    def codeowners(self, platform: Platform) -> str:
        return _hash("codeowners", self._canonical(platform))

    def _canonical(self, value: Any) -> Any:
        if isinstance(value, self._model_class):
            known = self._dumped.get(id(value))
            if known is None:  # a shared object (the platform, an environment) is dumped and hashed once
                text = json.dumps(value.model_dump(mode="json", by_alias=True), sort_keys=True, allow_nan=True)
                known = self._dumped[id(value)] = (value, hashlib.sha256(text.encode()).hexdigest())
            return [type(value).__qualname__, known[1]]
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return [type(value).__qualname__,
                    {name: self._canonical(getattr(value, name)) for name in _field_names(type(value))}]
        if isinstance(value, (dict, list)):
            try:  # plain data (evidence, names) in one C-speed dump; a field's key type is fixed by its schema
                text = json.dumps(value, sort_keys=True, allow_nan=True)
                return ["json", hashlib.sha256(text.encode()).hexdigest()]
            except TypeError:
                pass  # holds objects: built below
        if isinstance(value, dict):  # pairs, so that an int key stays an int
            return ["dict", sorted(([self._canonical(k), self._canonical(v)] for k, v in value.items()),
                                   key=lambda pair: json.dumps(pair[0], sort_keys=True))]
        if isinstance(value, (list, tuple)):
            return [type(value).__name__, [self._canonical(v) for v in value]]
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        raise TypeError(f"no cache key for a {type(value).__name__}: add it to fingerprint.py")


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass' field names (dataclasses.fields, asked of 3,000 resolutions, was a tenth of their keys)."""
    return tuple(f.name for f in dataclasses.fields(kind))


def _hash(kind: str, canonical: Any) -> str:
    text = json.dumps([FORMAT, project_code_version(), kind, canonical], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()
