"""Model cards: golden Markdown, and spec text that is data, never template code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from compiler.pipeline.check import check_project
from renderers import model_card
from tests.conftest import REPO, check_golden, copy_inputs

GOLDEN = REPO / "tests" / "golden" / "model-cards"


def cards(root: Path) -> dict[str, str]:
    checked, errors = check_project(root)
    assert errors == []
    by_model: dict[str, list] = {}
    for model in checked.models:
        by_model.setdefault(model.name, []).append(model)
    return {name: model_card.render(models)[0].body for name, models in by_model.items()}


def test_golden() -> None:
    found = cards(REPO)
    check_golden(GOLDEN / "fraud-detector.md", found["fraud-detector"])  # high risk, canary in prod
    check_golden(GOLDEN / "tumor-classifier.md", found["tumor-classifier"])  # not deployed anywhere


def test_cards_are_compiled_beside_the_environments() -> None:
    assert (REPO / "environments/model-cards/payments/fraud-detector.md").read_text() == cards(REPO)["fraud-detector"]


def test_spec_strings_are_rendered_literally(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    spec = root / "specs/platform/tumor-classifier/model.yaml"
    text = spec.read_text()
    text = text.replace("description: Benign vs malignant", "description: \"{{ 7*7 }} {% if true %}x{% endif %} "
                        "{{ ''.__class__.__mro__ }}\" # Benign vs malignant")
    text = text.replace("intendedUse: Demonstrates", "intendedUse: <script>alert(1)</script> a|b Demonstrates")
    spec.write_text(text)
    card = cards(root)["tumor-classifier"]
    assert "{{ 7\\*7 }} {% if true %}x{% endif %} {{ ''.\\_\\_class\\_\\_.\\_\\_mro\\_\\_ }}" in card
    assert "49" not in card and "<class" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt; a\\|b Demonstrates" in card
    assert "<script>" not in card


def test_spec_text_cannot_add_headings_images_links_or_hidden_html(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    spec = root / "specs/platform/tumor-classifier/model.yaml"
    injected = ("|\n    Benign\n\n    # Approved by security\n"
                "    ![badge](https://e.invalid/x.png) [docs](https://e.invalid)\n    <!-- hidden\n    1. step")
    original = "description: Benign vs malignant breast tumour from 30 cell-nucleus measurements (reference model)"
    spec.write_text(spec.read_text().replace(original, f"description: {injected}"))
    card = cards(root)["tumor-classifier"]
    paragraph = card.splitlines()[2]  # one paragraph: a heading needs a line of its own
    assert paragraph == ("Benign # Approved by security \\!\\[badge\\](https://e.invalid/x.png) "
                         "\\[docs\\](https://e.invalid) &lt;\\!-- hidden 1. step")
    assert not any(line.startswith("# Approved") for line in card.splitlines())


def test_a_pipe_in_a_table_cell_cannot_break_the_table(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    spec = root / "specs/platform/tumor-classifier/model.yaml"
    spec.write_text(spec.read_text().replace('version: "wdbc-1995"}', 'version: "wdbc|1995"}'))
    card = cards(root)["tumor-classifier"]
    row = next(line for line in card.splitlines() if line.startswith("| dev |"))
    assert "wdbc\\|1995" in row and row.count(" | ") == 3  # four columns, as in the header


def test_compile_writes_the_cards(tmp_path: Path) -> None:
    root = copy_inputs(tmp_path / "repo")
    subprocess.run([sys.executable, "-m", "compiler", "--root", str(root), "compile"], check=True, capture_output=True)
    written = sorted(p.relative_to(root).as_posix() for p in (root / "environments/model-cards").rglob("*.md"))
    assert written == ["environments/model-cards/growth/churn-predictor.md",
                       "environments/model-cards/growth/ltv-forecaster.md",
                       "environments/model-cards/payments/chargeback-risk.md",
                       "environments/model-cards/payments/fraud-detector.md",
                       "environments/model-cards/platform/tumor-classifier.md",
                       "environments/model-cards/search/query-ranker.md"]
