"""Building blocks of the Markdown reports: tables and list items that survive any text put in them.

What people typed (titles, log entries, notes, names) goes through ``text`` (or ``cell``): a Markdown viewer then shows
it as typed, never as HTML, a link, an image or emphasis, so ``<img onerror=…>`` or ``[x](javascript:…)`` in a log entry
stays text in whatever renders the report.
"""

from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones that make markup of text:
# raw HTML and entities (< > &), links and images ([ ] !), emphasis and code (* _ `), table cells (|) and the escape.
_MARKUP = re.compile(r"([\\`*_\[\]<>&|!])")


def text(value: str) -> str:
    return _MARKUP.sub(r"\\\1", value)


def cell(value: str) -> str:
    # A line break would end the row; <br> is the line break tables allow.
    return text(value).replace("\r\n", "\n").replace("\n", "<br>")


def table(header: list[str], rows: list[list[str]], empty: str = "无") -> list[str]:
    if not rows:
        return [empty]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def item(markup: str) -> str:
    """A list item of Markdown already made (the caller escapes what people typed with ``text``); continuation lines
    are indented so a multi-line text stays inside its item."""
    return "- " + markup.strip().replace("\r\n", "\n").replace("\n", "\n  ")
