"""The seldon-core 1.x default way to write a model class (`predict` with Seldon's conversions), for the
benchmark's baseline. Same model directory and loader as runtime.serving.MlplatModel."""

from __future__ import annotations

from pathlib import Path

from runtime import artifact


class BaselineModel:
    def __init__(self, model_uri: str = "/mnt/models", **_):
        self.model_uri = Path(model_uri)
        self.model = None

    def load(self) -> None:
        self.model = artifact.load(self.model_uri)

    def predict(self, X, features_names=None, meta=None):
        return self.model.predict(X)
