"""A Markdown model card per model: owners, intended use, data versions, metrics against the gates,
and where each environment stands, from the spec, the pins and their evidence.

Rendered with Jinja2 in a sandboxed, autoescaping environment: spec strings are data passed to the
template, never template source, so `{{ 7*7 }}` in a description stays `{{ 7*7 }}`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from compiler.spec.resolved import ResolvedModel
from renderers import markdown
from renderers.base import Manifest
from renderers.mlbom import quality_metrics
from renderers.sbom import path as bom_path

CARDS_DIR = "model-cards"


def render(models: list[ResolvedModel]) -> list[Manifest]:
    """The card of one model; `models` holds its resolution in every environment, in promotion order."""
    first = models[0]
    card = first.spec.governance.model_card
    context = {
        "name": first.name,
        "description": first.description,
        "team": first.team,
        "owners": list(first.owners),
        "risk_tier": first.risk_tier,
        "task": first.spec.task,
        "framework": first.spec.framework,
        "data_classification": first.spec.governance.data_classification,
        "license": first.spec.governance.license,
        "source": first.source,
        "card": card.model_dump() if card else {},
        "environments": [_environment(m) for m in models],
    }
    text = _template().render(**context)
    return [Manifest(path(first.team, first.name), text, first.source, format="text", kubernetes=False,
                     file_kind="ModelCard")]


def path(team: str, model: str) -> str:
    return f"{CARDS_DIR}/{team}/{model}.md"


def _environment(model: ResolvedModel) -> dict[str, Any]:
    data = model.spec.training.data
    gates = [f"{g.metric} {condition} {bound:g}" for g in model.spec.evaluation.gates
             for condition, bound in (("min", g.min), ("max", g.max), ("max regression", g.max_regression_vs_champion))
             if bound is not None]
    pins = []
    release = model.release
    for role, pin in ((("main", release), ("candidate", release.candidate)) if release else ()):
        if pin is None:
            continue
        evidence = model.evidence.get(pin.version, {})
        checks: dict[str, list[str]] = {}
        for check in evidence.get("gate", {}).get("checks", []):
            checks.setdefault(check["metric"], []).append(f"{check['condition']}: "
                                                          f"{'passed' if check['passed'] else 'failed'}")
        pins.append({
            "role": role, "version": pin.version, "sha": f"`{pin.artifact_sha256[:12]}`",
            "registered": evidence.get("registeredAt", "unknown"),
            "bom": f"`environments/{model.environment}/{bom_path(model.name, pin.version)}`",
            "metrics": [{"name": name, "value": f"{evidence['metrics'][name]:.4g}", "gates": checks.get(name, [])}
                        for name in (quality_metrics(evidence) if evidence else [])],
        })
    approved = sorted({handle for pin in ((release, release.candidate) if release else ()) if pin
                       for handle in pin.approved_by})
    return {"name": model.environment, "train": f"{data.train.uri} ({data.train.version})",
            "eval": f"{data.eval.uri} ({data.eval.version})", "gates": gates, "pins": pins, "approved": approved}


@cache
def _template() -> Any:
    from jinja2 import PackageLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment
    from markupsafe import Markup

    environment = SandboxedEnvironment(loader=PackageLoader("renderers", "templates"), autoescape=True,
                                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                       keep_trailing_newline=True)
    # Spec text as plain text in a paragraph or a table cell: never markup (renderers/markdown.py).
    # (a join under autoescape hands over Markup, which is unescaped first so as not to escape twice)
    environment.filters["text"] = lambda value: Markup(markdown.text(
        value.unescape() if isinstance(value, Markup) else value))
    return environment.get_template("model_card.md.j2")
