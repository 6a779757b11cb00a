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


def test_the_fuzzer_makes_names_past_the_file_name_limit_and_path_like_strings(tmp_path: Path) -> None:
    """An entrypoint module of more than 255 bytes made `mlplat validate` exit 3 (ENAMETOOLONG): the fuzzer's
    own inputs now reach such names, and a thousand of them on the entrypoint and the command each give
    located errors."""
    import random

    rng = random.Random(255)
    values = [spec_fuzzer.long_value(rng) for _ in range(500)]
    assert any(len(v) > 255 and b":fit" in v for v in values) and any(b"../" in v for v in values)
    target = spec_fuzzer.Target(spec_fuzzer.scratch_inputs(tmp_path))
    seed = next(data for kind, path, data in spec_fuzzer.seeds() if path.endswith("tumor-classifier/model.yaml"))
    for value in values + [b"pkg." + b"m" * 300 + b":fit", b"'[python, -m, " + b"x" * 300 + b"]'"]:
        for field in (b"entrypoint: ", b"command: "):
            line = next(line for line in seed.split(b"\n") if line.strip().startswith(b"entrypoint: "))
            mutated = seed.replace(line, line.split(b"entrypoint: ")[0] + field + value)
            errors = target("model", "specs/platform/tumor-classifier/model.yaml", mutated)
            assert all(e.line >= 1 and e.column >= 1 and e.message for e in errors), [e.text() for e in errors]
