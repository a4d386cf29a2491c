"""Case-insensitive substring search that means the same on both engines."""

from __future__ import annotations

from piccolo.columns import Column
from piccolo.columns.combination import WhereRaw
from piccolo.engine.finder import engine_finder


def contains(column: Column, text: str) -> WhereRaw:
    """``column`` contains ``text``, ignoring (ASCII) case; ``%`` and ``_`` in the text are literal.

    Piccolo's like() adds no ESCAPE clause, and SQLite has no default escape character, hence raw SQL.
    """
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    engine = engine_finder()
    operator = "ILIKE" if engine is not None and engine.engine_type == "postgres" else "LIKE"  # SQLite's LIKE ignores case
    name = column._meta.get_full_name(with_alias=False)
    return WhereRaw(f"{name} {operator} {{}} ESCAPE '\\'", f"%{escaped}%")
