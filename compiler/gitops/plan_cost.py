"""The monthly cost change of a pull request, under `mlplat plan`: per environment, and per workload that
changed (compiler/reports/cost.py says how each is priced). Only the models whose priced objects
changed are priced, so a plan of a thousand models reads a few files, not all of them."""

from __future__ import annotations

from dataclasses import dataclass

from compiler.reports.cost import Workload
from renderers import markdown


@dataclass(frozen=True)
class CostChange:
    environment: str
    model: str
    kind: str
    before: Workload | None
    after: Workload | None

    @property
    def delta(self) -> float:
        return _amount(self.after) - _amount(self.before)


def diff(base: list[Workload], head: list[Workload]) -> list[CostChange]:
    """Workloads whose price or shape changed, appeared or went, by environment, model and kind."""
    before = {(w.environment, w.model, w.kind): w for w in base}
    after = {(w.environment, w.model, w.kind): w for w in head}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is None or new is None or (old.monthly, old.what) != (new.monthly, new.what):
            changes.append(CostChange(*key, old, new))
    return changes


def format_text(changes: list[CostChange], currency: str, environments: list[str]) -> str:
    if not changes:
        return f"\nmonthly cost ({currency}): no change\n"
    lines = ["", f"monthly cost change ({currency}; serving at minimum replicas, training at its timeout):"]
    for env in (e for e in environments if any(c.environment == e for c in changes)):
        lines.append(f"  {env}: {_signed(_env_delta(changes, env))}")
        for change in (c for c in changes if c.environment == env):
            lines.append(f"    {change.model} {change.kind}: {_money(_amount(change.before))} -> "
                         f"{_money(_amount(change.after))} ({_signed(change.delta)})")
            lines.append(f"        {_shape(change.before)} -> {_shape(change.after)}")
    return "\n".join(lines) + "\n"


def format_markdown(changes: list[CostChange], currency: str, environments: list[str]) -> str:
    if not changes:
        return f"\n**Monthly cost ({currency}):** no change.\n"
    out = ["", f"#### Monthly cost change ({currency})", "",
           "Serving at minimum replicas, training at its timeout (an upper bound).", "",
           "| environment | workload | before | after | change | how it is priced |", "|---|---|---:|---:|---:|---|"]
    for env in (e for e in environments if any(c.environment == e for c in changes)):
        out.append(f"| **{env}** | **all** | | | **{_signed(_env_delta(changes, env))}** | |")
        for change in (c for c in changes if c.environment == env):
            out.append(f"| {env} | `{change.model}` {change.kind} | {_money(_amount(change.before))} | "
                       f"{_money(_amount(change.after))} | {_signed(change.delta)} | "
                       f"{markdown.code(_shape(change.after or change.before))} |")
    return "\n".join(out) + "\n"


def _env_delta(changes: list[CostChange], env: str) -> float:
    return sum(c.delta for c in changes if c.environment == env)


def _amount(workload: Workload | None) -> float:
    return 0.0 if workload is None or workload.monthly is None else workload.monthly


def _shape(workload: Workload | None) -> str:
    return "(none)" if workload is None else workload.what


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}{abs(value):,.2f}"
