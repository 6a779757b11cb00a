"""The verifier believes only what it asked for: the registry's answer must name the pinned version."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from runtime.verify import verify

PIN = {"version": 3, "runId": "r3", "modelUri": "s3://store/3/model", "artifactSha256": "a" * 64,
       "specHash": "b" * 64, "gate": "passed"}


class Answering:
    """A registry client that answers every version lookup with the version it was built with."""

    def __init__(self, name: str, version: str):
        self.answer = SimpleNamespace(name=name, version=version, run_id="r3", tags={}, source=PIN["modelUri"],
                                      current_stage="None")

    def get_model_version(self, name: str, version: str) -> SimpleNamespace:
        return self.answer


@pytest.mark.parametrize(("name", "version"), [("other-model", "3"), ("churn", "4")])
def test_an_answer_about_another_version_fails_and_stops_the_checks(name: str, version: str) -> None:
    [check] = verify(Answering(name, version), "http://registry", {"model": "churn", "pin": PIN})
    assert check == {"name": "version exists", "passed": False,
                     "detail": f"asked for churn version 3, the registry answered with {name} version {version}"}
