"""One thing a plan changes in a resource, as data, and the one place it is put into words.

plandiff.py and feature_diff.py find what changed; `mlplat plan` writes it as text or markdown.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Detail:
    """`subject` went from `before` to `after`, said as people say it about models.

    A field reads "hyperparameter lr: 0.001 -> 0.002"; a phrase (`field=False`) reads on into its values:
    "train on 2 GPUs (h100) -> 4 GPUs (h100)". With `after` alone it is what a new thing is ("train on 1
    GPU"); with neither, a statement ("canary predictor removed", a changed line of a card). `note` follows
    the values: the models a feature change affects, what a removed thing was."""

    subject: str
    before: str | None = None
    after: str | None = None
    field: bool = True
    note: str = ""

    def text(self) -> str:
        if self.after is None:
            return self.subject + self.note
        joint = ": " if self.field else " "
        values = self.after if self.before is None else f"{self.before} -> {self.after}"
        return f"{self.subject}{joint}{values}{self.note}"


def more(count: int, what: str) -> Detail:
    """What a list cut short leaves out."""
    return Detail(f"... and {count} more{f' {what}' if what else ''}")
