"""Untrusted text (spec fields, registry tags, MLflow errors) placed in Markdown that GitHub renders:
the pull-request comments and the model cards. It shows as written and never becomes markup: no
images, links, headings, HTML comments that hide rows, table cells split, or @team mentions."""

from __future__ import annotations

import html
import re

# Inline constructs: emphasis, code, links and images, strikethrough, table cells, escapes themselves
# (an underscore inside a word, as in roc_auc, emphasises nothing and stays as it is).
_INLINE = re.compile(r"[\\`*\[\]!|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What opens a block where a paragraph starts: heading, quote, list item, setext underline.
_BLOCK_START = re.compile(r"^(#|>|[-+=])")  # (`*`, backticks and `~` are escaped everywhere)
_ORDERED_ITEM = re.compile(r"^(\d+)([.)])")  # the escape goes before the dot: digits are not punctuation


def text(value: object) -> str:
    """One line of plain text: whitespace (newlines included) folded to single spaces, HTML escaped,
    Markdown punctuation backslash-escaped. For model cards, which no one is notified from."""
    flat = html.escape(" ".join(str(value).split()), quote=False)
    escaped = _INLINE.sub(lambda m: "\\" + m.group(), flat)
    return _ORDERED_ITEM.sub(r"\1\\\2", _BLOCK_START.sub(r"\\\1", escaped))


def code(value: object) -> str:
    """A code span, which GitHub renders literally and scans for no mentions or links; pipes escaped
    for table cells (GitHub honours `\\|` inside code in a table). For pull-request comments."""
    flat = " ".join(str(value).split()).replace("|", "\\|")
    if not flat:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"
