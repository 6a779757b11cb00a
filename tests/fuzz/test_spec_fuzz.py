"""A bounded run of the spec fuzzer (tests/fuzz/spec_fuzzer.py): no input crashes the pipeline."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz import spec_fuzzer


def test_a_thousand_mutated_specs_get_located_errors_or_pass(tmp_path: Path) -> None:
    stats = spec_fuzzer.run(1000, seed=20261202, root=spec_fuzzer.scratch_inputs(tmp_path))
    assert stats.inputs == 1000
    assert not stats.crashes, stats.crashes[0][2]


def test_the_seeds_cover_every_kind_of_input() -> None:
    kinds = {kind for kind, _, _ in spec_fuzzer.seeds()}
    assert kinds == {"model", "platform", "releases"}
    assert len(spec_fuzzer.seeds()) > 70  # the examples and the broken corpus
