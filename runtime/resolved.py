"""The resolved spec a step runs with: the JSON of the `<model>-spec` ConfigMap (ResolvedModel.summary,
its keys in compiler/runtime_contract.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.runtime_contract import ResolvedSummary


@dataclass(frozen=True)
class ResolvedSpec:
    raw: ResolvedSummary

    @classmethod
    def load(cls, path: Path) -> ResolvedSpec:
        return cls(json.loads(path.read_text("utf-8")))

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def team(self) -> str:
        return self.raw["team"]

    @property
    def environment(self) -> str:
        return self.raw["environment"]

    @property
    def spec_hash(self) -> str:
        return self.raw["specHash"]

    @property
    def spec(self) -> dict[str, Any]:
        return self.raw["spec"]

    @property
    def task(self) -> str:
        return self.spec["task"]

    @property
    def framework(self) -> str:
        return self.spec["framework"]  # required by the spec language

    @property
    def training(self) -> dict[str, Any]:
        return self.spec["training"]

    @property
    def target(self) -> str:
        """The label column (the spec language's default: target)."""
        return self.training["data"].get("target", "target")

    @property
    def group(self) -> str | None:
        """Ranking's query id column; None for every other task."""
        return self.training["data"].get("group")

    @property
    def feature_service(self) -> str | None:
        """The feature service the model trains and is served on; None where its data are plain tables."""
        return self.training["data"].get("featureService")

    @property
    def gates(self) -> list[dict[str, Any]]:
        return self.spec.get("evaluation", {}).get("gates", [])

    @property
    def experiment(self) -> str:
        return f"{self.team}/{self.name}"

    @property
    def registered_model(self) -> str:
        """Name in the model registry: model names are unique on the platform."""
        return self.name
