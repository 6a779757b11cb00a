"""The catalog as a static site: an index with search and filters, a page per model and per team.

A pure function of the catalog's data (data.py) and the files it links (model cards, ML-BOMs):
path -> bytes, the same bytes for the same data. Pages work from file:// and without script: charts
and lineage are inline SVG; assets/catalog.js (ours, no framework) only filters the index table.
Every text from a spec is escaped.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any

from compiler.catalog import svg
from compiler.catalog.data import CatalogData, ModelEntry, Serves, TeamEntry

ASSETS = ("catalog.css", "catalog.js")
LINEAGE_ROWS = 6  # the newest versions drawn in the lineage picture


def build(data: CatalogData, linked: dict[str, bytes]) -> dict[str, bytes]:
    """Every file of the site, by path relative to its folder. `linked`: repository path -> bytes of the
    model cards and ML-BOMs the pages link to (copied under files/)."""
    site = {"index.html": _index(data), "catalog.json": _json(data)}
    for model in data["models"]:
        site[f"models/{model['name']}.html"] = _model_page(data, model)
    for team in data["teams"]:
        site[f"teams/{team['name']}.html"] = _team_page(data, team)
    for path, content in linked.items():
        site[f"files/{path}"] = content
    folder = resources.files("compiler.gitops") / "catalog_assets"
    for name in ASSETS:
        site[f"assets/{name}"] = (folder / name).read_bytes()
    return dict(sorted(site.items()))


def _json(data: CatalogData) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


# -- pages ------------------------------------------------------------------------------------------
def _page(title: str, depth: int, body: str, data: CatalogData, script: bool = False) -> bytes:
    up = "../" * depth
    tail = f'<script src="{up}assets/catalog.js"></script>' if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title>"
            f'<link rel="icon" href="data:,"><link rel="stylesheet" href="{up}assets/catalog.css"></head>'
            f'<body><header><a class="home" href="{up}index.html">mlplat catalog</a>'
            f'<span class="platform">{escape(data["platform"])}</span></header>'
            f"<main>{body}</main>{tail}</body></html>\n").encode()


def _index(data: CatalogData) -> bytes:
    models, envs, currency = data["models"], data["environments"], data["currency"]
    options = {
        "team": sorted({m["team"] for m in models}), "task": sorted({m["task"] for m in models}),
        "environment": envs, "health": ["healthy", "attention", "unknown"]}
    filters = "".join(
        f'<label>{name} <select id="filter-{name}" data-filter="{name}"><option value="">all</option>'
        + "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values) + "</select></label>"
        for name, values in options.items())
    head = "".join(f"<th>{escape(env)}</th>" for env in envs)
    rows = []
    for m in models:
        serving_envs = " ".join(env for env, e in m["environments"].items() if e["serves"])
        text = " ".join([m["name"], m["team"], m["description"], m["task"], m["framework"], *m["owners"]]).lower()
        cells = "".join(f"<td>{_serves_short(m['environments'][env]['serves'])}</td>" for env in envs)
        rows.append(
            f'<tr class="model" data-team="{escape(m["team"])}" data-task="{escape(m["task"])}" '
            f'data-environment="{escape(serving_envs)}" data-health="{m["health"]}" data-text="{escape(text)}">'
            f'<td><a href="models/{escape(m["name"])}.html">{escape(m["name"])}</a>'
            f'<div class="description">{escape(m["description"])}</div></td>'
            f'<td><a href="teams/{escape(m["team"])}.html">{escape(m["team"])}</a></td>'
            f"<td>{escape(m['task'])}</td><td>{escape(m['riskTier'] or '-')}</td>{cells}"
            f'<td>{_health_badge(m["health"])}</td><td class="num">{_money(m["monthlyCost"])}</td></tr>')
    teams = "".join(f'<li><a href="teams/{escape(t["name"])}.html">{escape(t["name"])}</a> '
                    f'({len(t["models"])} models, {_money(t["monthlyCost"])} {currency}/month)</li>'
                    for t in data["teams"])
    body = (f"<h1>Models</h1>{_adoption(data)}"
            f'<form class="filters" role="search" onsubmit="return false">'
            f'<label>search <input id="search" type="search" placeholder="name, team, owner, description"></label>'
            f'{filters}<span id="count" aria-live="polite">{len(models)} models</span></form>'
            f'<table id="models"><thead><tr><th>model</th><th>team</th><th>task</th><th>risk</th>{head}'
            f"<th>health</th><th>{currency}/month</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f'<p id="no-match" hidden>No model matches.</p><h2>Teams</h2><ul class="teams">{teams}</ul>')
    return _page("mlplat catalog", 0, body, data, script=True)


def _adoption(data: CatalogData) -> str:
    figures = data["adoption"]
    share = figures["throughPlatformShare"]
    median = figures["medianRegistrationToProductionSeconds"]
    per_team = ", ".join(f"{escape(team)} {count}" for team, count in figures["modelsPerTeam"].items())
    through = (f"{share:.0%} ({figures['throughPlatform']} of {figures['deployments']})" if share is not None
               else "no deployments in git history")
    waited = _duration(median) + f" (over {figures['productionDeployments']})" if median is not None else "unknown"
    total = sum(m["monthlyCost"] for m in data["models"])
    return ('<dl class="figures">'
            f"<div><dt>models</dt><dd>{len(data['models'])}</dd></div>"
            f"<div><dt>models per team</dt><dd>{per_team}</dd></div>"
            f"<div><dt>deployed through platform pull requests</dt><dd id=\"through-platform\">{through}</dd></div>"
            f"<div><dt>median registration to {escape(data['production'] or 'production')}</dt>"
            f"<dd>{waited}</dd></div>"
            f"<div><dt>monthly cost</dt><dd>{_money(total)} {data['currency']}</dd></div></dl>")


def _model_page(data: CatalogData, m: ModelEntry) -> bytes:
    currency = data["currency"]
    owners = ", ".join(escape(o) for o in m["owners"]) or "none named"
    facts = (f'<dl class="facts"><div><dt>team</dt><dd><a href="../teams/{escape(m["team"])}.html">'
             f'{escape(m["team"])}</a></dd></div><div><dt>owners</dt><dd>{owners}</dd></div>'
             f"<div><dt>risk tier</dt><dd>{escape(m['riskTier'] or 'not set')}</dd></div>"
             f"<div><dt>task</dt><dd>{escape(m['task'])}</dd></div>"
             f"<div><dt>framework</dt><dd>{escape(m['framework'])}</dd></div>"
             f"<div><dt>spec</dt><dd><code>{escape(m['source'])}</code></dd></div></dl>")
    rows = []
    for env, e in m["environments"].items():
        monthly, most = e["cost"]["monthly"], e["cost"]["monthlyMax"]
        price = "-" if monthly is None else _money(monthly) + (f" (up to {_money(most)})" if most and most > monthly
                                                             else "")
        how = "<br>".join(f"{escape(w['kind'])}: {escape(w['what'])}" for w in e["cost"]["workloads"])
        rows.append(f"<tr><th>{escape(env)}</th><td>{_serves_long(e['serves'])}</td>"
                    f"<td>{_health_detail(e['health'])}</td><td class=\"num\">{price}</td>"
                    f'<td class="how">{how or "-"}</td></tr>')
    table = (f'<table class="environments"><thead><tr><th>environment</th><th>serves</th><th>drift and quality</th>'
             f"<th>{currency}/month</th><th>priced as</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")
    links = m["links"]
    card = (f'<a href="../files/{escape(links["modelCard"])}">model card</a>' if links["modelCard"]
            else "no model card")
    boms = ", ".join(f'<a href="../files/{escape(path)}">{escape(path.split("/")[1])} '
                     f'{escape(path.rsplit("/", 1)[1].removesuffix(".cdx.json"))}</a>' for path in links["mlboms"])
    body = (f"<h1>{escape(m['name'])}</h1><p class=\"lead\">{escape(m['description'])}</p>{facts}"
            f"<h2>Environments</h2>{table}"
            f"<h2>Metrics against gates</h2>{_charts(m)}"
            f"<h2>Lineage</h2>{_lineage(m)}"
            f'<h2>Documents</h2><p class="documents">{card}; ML-BOMs: {boms or "none yet"}</p>')
    return _page(f"{m['name']} - mlplat catalog", 1, body, data)


def _team_page(data: CatalogData, team: TeamEntry) -> bytes:
    models = [m for m in data["models"] if m["team"] == team["name"]]
    rows = "".join(f'<tr><td><a href="../models/{escape(m["name"])}.html">{escape(m["name"])}</a></td>'
                   f"<td>{escape(m['task'])}</td><td>{_health_badge(m['health'])}</td>"
                   f'<td class="num">{_money(m["monthlyCost"])}</td></tr>' for m in models)
    quota = ", ".join(f"{escape(env)} {count}" for env, count in team["gpuQuota"].items()) or "none"
    body = (f"<h1>Team {escape(team['name'])}</h1><dl class=\"facts\">"
            f"<div><dt>owners</dt><dd>{', '.join(escape(o) for o in team['owners'])}</dd></div>"
            f"<div><dt>members</dt><dd>{', '.join(escape(o) for o in team['members']) or 'none'}</dd></div>"
            f"<div><dt>GPU quota</dt><dd>{quota}</dd></div>"
            f"<div><dt>monthly cost</dt><dd>{_money(team['monthlyCost'])} {data['currency']}</dd></div></dl>"
            f'<table><thead><tr><th>model</th><th>task</th><th>health</th><th>{data["currency"]}/month</th></tr>'
            f"</thead><tbody>{rows or '<tr><td colspan=4>no models yet</td></tr>'}</tbody></table>")
    return _page(f"team {team['name']} - mlplat catalog", 1, body, data)


# -- parts ------------------------------------------------------------------------------------------
def _charts(m: ModelEntry) -> str:
    metrics = list(dict.fromkeys(g["metric"] for g in m["gates"]))
    if not metrics:
        return "<p>No gates.</p>"
    source = f'<p class="note">versions from the {m["versionsFrom"]}</p>'
    out = []
    for metric in metrics:
        points = [(v["version"], v["metrics"][metric]) for v in m["versions"] if metric in v["metrics"]]
        gates = [g for g in m["gates"] if g["metric"] == metric]
        regression = [g["maxRegressionVsChampion"] for g in gates if "maxRegressionVsChampion" in g]
        note = f" and may fall at most {regression[0]:g} below the champion" if regression else ""
        chart = svg.metric_chart(metric, points, gates) if points else \
            f'<p class="empty">no version has logged {escape(metric)} yet</p>'
        out.append(f'<figure>{chart}<figcaption>{escape(metric)}{escape(note)}</figcaption></figure>')
    return source + '<div class="charts">' + "".join(out) + "</div>"


def _lineage(m: ModelEntry) -> str:
    versions = m["versions"][-LINEAGE_ROWS:]
    if not versions:
        return "<p>No version registered or pinned yet.</p>"
    rows = []
    for v in reversed(versions):
        data = [f"{split}: {d.get('uri')}@{d.get('version')}" + (f" sha256 {d['sha256'][:12]}" if d.get("sha256")
                                                                 else "")
                for split, d in sorted(v["data"].items()) if d]
        rows.append({"data": data, "code": f"code {(v.get('gitCommit') or 'unknown')[:12]}",
                     "version": f"version {v['version']}", "deployments": v["deployedIn"]})
    return svg.lineage(rows)


def _serves_short(serves: Serves | None) -> str:
    if serves is None:
        return '<span class="none">-</span>'
    text = f"v{serves['main']['version']}"
    candidate = serves.get("candidate")
    if serves["mode"] == "batch":
        text += " batch"
    elif candidate:
        text += f" + v{candidate['version']} {candidate['role']}" + (
            f" {candidate['traffic']}%" if candidate["role"] == "canary" else "")
    return escape(text)


def _serves_long(serves: Serves | None) -> str:
    if serves is None:
        return "nothing deployed"
    if serves["mode"] == "batch":
        return f"version {serves['main']['version']}, scored in batch"
    main, candidate = serves["main"], serves.get("candidate")
    parts = [f"version {main['version']}: {main['traffic']}% of traffic"]
    if candidate and candidate["role"] == "canary":
        parts.append(f"canary version {candidate['version']}: {candidate['traffic']}%")
    elif candidate:
        parts.append(f"shadow version {candidate['version']}: copies of traffic")
    bar = f'<span class="split"><span class="main" style="width:{main["traffic"]}%"></span></span>'
    replicas = serves["replicas"]
    return "<br>".join(parts) + f"<br>{replicas['min']}-{replicas['max']} replicas ({serves['rollout']}){bar}"


def _health_badge(status: str) -> str:
    return f'<span class="health {status}">{status}</span>'


def _health_detail(health: dict[str, Any]) -> str:
    parts = [f"{step}: {escape(str(health[step]['status']))}" for step in ("drift", "quality") if step in health]
    return _health_badge(health["status"]) + ("<br>" + "<br>".join(parts) if parts else "<br>no results known")


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
