"""Building blocks of the Markdown reports: tables and list items that survive any text put in them."""

from __future__ import annotations


def cell(text: str) -> str:
    # A "|" would end the cell and a line break the row; <br> is the line break tables allow.
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def table(header: list[str], rows: list[list[str]], empty: str = "无") -> list[str]:
    if not rows:
        return [empty]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(text) for text in row) + " |" for row in rows]
    return lines


def item(text: str) -> str:
    # Indent continuation lines so a multi-line text stays inside its list item.
    return "- " + text.strip().replace("\n", "\n  ")
