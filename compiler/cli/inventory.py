"""`mlplat list` and `mlplat describe MODEL`: what is defined, registered and deployed, in the terminal.

`list` reads the repository only: every model with its team, task and framework, and what each
environment serves. `describe` adds the spec in brief per environment and, where the registry can be
read (default: the embedded SQLite registry under .mlplat/, when it exists), the model's versions with
their aliases, gate verdicts and the gates' metrics. Both print text or, with --format json, one JSON
document.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compiler.cli import options
from compiler.cli.common import checked_or_report
from compiler.cli.exit_codes import EXIT_OK, EXIT_USAGE
from compiler.local import runtime_call
from compiler.local.embedded import default_tracking
from compiler.reports import inventory


def list_arguments(parser: argparse.ArgumentParser) -> None:
    options.report_format(parser, "json")


def describe_arguments(parser: argparse.ArgumentParser) -> None:
    options.model(parser)
    options.tracking_uri(parser, "SQLite under .mlplat/, if it exists")
    options.report_format(parser, "json")


ARGUMENTS = {"list": list_arguments, "describe": describe_arguments}  # command -> what adds its options


def list_models(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, "text")
    if checked is None:
        return EXIT_USAGE
    rows = inventory.model_rows(checked)
    envs = inventory.environments(checked)
    if args.format == "json":
        print(json.dumps({"environments": envs, "models": rows}, indent=2, sort_keys=True))
        return EXIT_OK
    table = [["MODEL", "TEAM", "TASK", "FRAMEWORK", *(e.upper() for e in envs)]]
    table += [[row["model"], row["team"], row["task"], row["framework"], *(_served(row["serves"].get(e)) for e in envs)]
              for row in rows]
    print(_columns(table))
    return EXIT_OK


def describe(root: Path, args: argparse.Namespace) -> int:
    checked = checked_or_report(root, "text")
    if checked is None:
        return EXIT_USAGE
    summary = inventory.model_summary(checked, args.model)
    if summary is None:
        known = ", ".join(row["model"] for row in inventory.model_rows(checked))
        print(f"mlplat describe: no model {args.model!r} (models: {known})", file=sys.stderr)
        return EXIT_USAGE
    summary["registry"] = registry_versions(root, args.model, args.tracking_uri)
    if args.format == "json":
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(_describe_text(summary))
    return EXIT_OK


def registry_versions(root: Path, model: str, tracking_uri: str | None) -> dict[str, Any]:
    """{"uri", "versions"} from the registry, or {"uri", "versions": [], "error"} where it cannot be read."""
    found = registry_of(root, [model], tracking_uri)
    return {"uri": found["uri"], "versions": found.get("models", {}).get(model, []),
            **({"error": found["error"]} if "error" in found else {})}


def registry_of(root: Path, models: list[str], tracking_uri: str | None) -> dict[str, Any]:
    """{"uri", "models": {model: versions}} from the registry, or {"uri", "error"} where it cannot be read.
    The embedded registry is read only where it exists: reading it creates nothing."""
    uri = tracking_uri or default_tracking(root)[0]
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return {"uri": uri, "error": "no registry yet (nothing has been registered on this machine)"}
    try:
        return {"uri": uri, "models": runtime_call.models_versions(root, models, uri)}
    except runtime_call.RuntimeCallError as exc:
        return {"uri": uri, "error": str(exc)}


def _served(serving: dict[str, Any] | None) -> str:
    if serving is None:
        return "-"
    candidate = serving["candidate"]
    if serving["rollout"] == "batch":
        return f"{serving['version']} (batch)"
    if candidate is None:
        return str(serving["version"])
    share = f" at {candidate['traffic']}%" if candidate["traffic"] else ""
    return f"{serving['version']} ({serving['rollout']} {candidate['version']}{share})"


def _describe_text(summary: dict[str, Any]) -> str:
    lines = [f"{summary['model']} ({summary['team']}): {summary['description']}",
             f"  owners {', '.join(summary['owners'])}; risk tier {summary['riskTier'] or '-'}; "
             f"{summary['task']}, {summary['framework']}; {summary['source']}", "", "  environments:"]
    gate_metrics: list[str] = []
    for env, facts in summary["environments"].items():
        gates = ", ".join(_gate(g) for g in facts["gates"]) or "no gates"
        gate_metrics += [g["metric"] for g in facts["gates"] if g["metric"] not in gate_metrics]
        data = facts["data"]
        source = f"feature service {data['featureService']}" if data["featureService"] else data["train"]
        pinned = facts["pinned"]
        scoring = facts["scoring"]
        batch = f"scores {scoring['input']} in batch ({scoring['schedule']})" if scoring else ""
        if pinned is None:
            served = "serves nothing" if facts["serving"] else "not served (no serving section)"
            served += f"; would {batch.replace('scores', 'score', 1)} once a version is pinned" if batch else ""
        elif facts["serving"] is None:
            served = f"version {pinned['version']} {batch}" if batch else f"pins {pinned['version']}, serves nothing"
        else:
            served = f"serves {_served({**pinned, 'rollout': facts['serving']['rollout']})}"
            served += f"; also {batch}" if batch else ""
            if pinned["approvedBy"]:
                served += f", approved by {', '.join(pinned['approvedBy'])}"
        lines += [f"    {env:<8} {served}",
                  f"    {'':<8} trains on {source}" + (f" ({facts['schedule']})" if facts["schedule"] else ""),
                  f"    {'':<8} gates: {gates}"]
    registry = summary["registry"]
    lines += ["", f"  registry {registry['uri']}:"]
    if registry.get("error"):
        lines.append(f"    {registry['error']}")
    elif not registry["versions"]:
        lines.append("    no versions registered")
    else:
        table = [["VERSION", "ALIASES", "GATE", "REGISTERED (UTC)", *gate_metrics]]
        for version in registry["versions"]:
            created = datetime.fromtimestamp(version["createdAt"] / 1000, UTC).strftime("%Y-%m-%d %H:%M")
            metrics = [_number(version["metrics"].get(m)) for m in gate_metrics]
            table.append([str(version["version"]), ",".join(version["aliases"]) or "-", version["gate"] or "-",
                          created, *metrics])
        lines += ["    " + line for line in _columns(table).splitlines()]
    return "\n".join(lines)


def _gate(gate: dict[str, Any]) -> str:
    bounds = [f">= {gate['min']:g}"] if "min" in gate else []
    bounds += [f"<= {gate['max']:g}"] if "max" in gate else []
    if "maxRegressionVsChampion" in gate:
        bounds.append(f"at most {gate['maxRegressionVsChampion']:g} worse than the champion")
    return f"{gate['metric']} {' and '.join(bounds)}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _columns(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in table)
