"""The catalog's pictures as inline SVG, drawn here so that a page needs no script to show them: a metric
over versions against its gate, and a model's lineage from data and code to versions to deployments."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, HEIGHT, PAD = 420, 180, 36


def metric_chart(metric: str, points: list[tuple[int, float]], gates: list[dict[str, Any]]) -> str:
    """A line of `metric` per version, with each min/max gate on it as a dashed line."""
    bounds = [(g["min"], "min") for g in gates if "min" in g] + [(g["max"], "max") for g in gates if "max" in g]
    values = [v for _, v in points] + [b for b, _ in bounds]
    low, high = min(values), max(values)
    span = (high - low) or abs(high) or 1.0
    low, high = low - span * 0.1, high + span * 0.1

    def x(index: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * (index / (len(points) - 1) if len(points) > 1 else 0.5)

    def y(value: float) -> float:
        return HEIGHT - PAD + (value - low) / (high - low) * (2 * PAD - HEIGHT)

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
             f'aria-label="{escape(metric)} by version">',
             f"<title>{escape(metric)} by version</title>",
             f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>',
             f'<text class="label" x="{PAD}" y="{PAD - 14}">{escape(metric)}</text>']
    for bound, kind in bounds:
        parts.append(f'<line class="gate" x1="{PAD}" y1="{y(bound):.1f}" x2="{WIDTH - PAD}" y2="{y(bound):.1f}"/>'
                     f'<text class="gate-label" x="{WIDTH - PAD}" y="{y(bound) - 4:.1f}" text-anchor="end">'
                     f'gate {"&#8805;" if kind == "min" else "&#8804;"} {bound:g}</text>')
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
        parts.append(f'<polyline class="series" points="{path}"/>')
    for i, (version, value) in enumerate(points):
        passed = all(value >= b if k == "min" else value <= b for b, k in bounds)
        parts.append(f'<circle class="{"pass" if passed else "fail"}" cx="{x(i):.1f}" cy="{y(value):.1f}" r="4">'
                     f"<title>version {version}: {value:.4g}</title></circle>"
                     f'<text class="tick" x="{x(i):.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle">'
                     f"v{version}</text>")
    return "".join(parts) + "</svg>"


def lineage(rows: list[dict[str, Any]]) -> str:
    """One row per version: its data and code, the version, and where it is deployed, joined by arrows.
    Each row: {"data": [text], "code": text, "version": text, "deployments": [text]}."""
    box_w, box_h, gap, row_h = 340, 22, 40, 64
    columns = [10, 10 + box_w + gap, 10 + box_w + gap + 110 + gap]
    width = columns[2] + 170
    height = max(1, len(rows)) * row_h + 10
    parts = [f'<svg class="lineage" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'aria-label="lineage: data and code to version to deployment"><title>lineage</title>',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>']
    for index, row in enumerate(rows):
        top = 8 + index * row_h
        inputs = [*row["data"], row["code"]]
        for n, text in enumerate(inputs):
            parts.append(_box(columns[0], top + n * (box_h - 4) * 0.9, box_w, box_h - 6, text, "input"))
        middle = top + row_h / 2 - box_h / 2 - 4
        parts.append(_arrow(columns[0] + box_w, middle + box_h / 2, columns[1], middle + box_h / 2))
        parts.append(_box(columns[1], middle, 110, box_h, row["version"], "version"))
        if row["deployments"]:
            parts.append(_arrow(columns[1] + 110, middle + box_h / 2, columns[2], middle + box_h / 2))
            parts.append(_box(columns[2], middle, 160, box_h, ", ".join(row["deployments"]), "deployment"))
    return "".join(parts) + "</svg>"


def _box(x: float, y: float, width: float, height: float, text: str, kind: str) -> str:
    fits = int(width // 6.2)  # characters of 11px text a box holds
    shown = text if len(text) <= fits else text[: fits - 1] + "\u2026"
    return (f'<g class="{kind}"><rect x="{x:.1f}" y="{y:.1f}" width="{width}" height="{height}" rx="4"/>'
            f'<text x="{x + 6:.1f}" y="{y + height * 0.7:.1f}">{escape(shown)}</text>'
            f"<title>{escape(text)}</title></g>")


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line class="arrow" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2 - 2:.1f}" y2="{y2:.1f}" marker-end="url(#arrow)"/>'
