"""Materialised org paths ("/150000/150400/150426/") and the "everything under X" query.

A unit's subtree is the index range ``[path, path with its last "/" raised to "0")``: every
descendant path starts with ``path`` and "0" is the character after "/". The range is exact
only under byte-wise ordering: SQLite compares BINARY by default, and on PostgreSQL each
path column is given ``COLLATE "C"`` by its migration (``binary_collation``), whatever the
database's locale.
"""

from __future__ import annotations

from piccolo.columns import Column
from piccolo.columns.combination import Where
from piccolo.engine.finder import engine_finder
from piccolo.table import Table


def child_path(parent_path: str | None, code: str) -> str:
    return f"{parent_path or '/'}{code}/"


def scopes_sql(paths_sql: str) -> str:
    """SQL for the pairs (unit_path, scope): each distinct path ``paths_sql`` selects (as ``path``) with the path of every
    org unit whose subtree holds it, its own included; a join with a few thousand units, whatever the rows behind the paths."""
    return (f"SELECT DISTINCT p.path AS unit_path, a.path AS scope FROM ({paths_sql}) AS p"
            " JOIN orgs_unit a ON p.path >= a.path AND p.path < substr(a.path, 1, length(a.path) - 1) || '0'")


def is_under(path: str, ancestor_path: str) -> bool:
    return path.startswith(ancestor_path)


def subtree_range(ancestor_path: str) -> tuple[str, str]:
    """The [lower, upper) bounds of every path in ``ancestor_path``'s subtree (the ancestor included), for raw SQL too."""
    return ancestor_path, ancestor_path[:-1] + "0"


def under(column: Column, ancestor_path: str) -> Where:
    """``column`` holds a path inside ``ancestor_path``'s subtree (the ancestor included)."""
    lower, upper = subtree_range(ancestor_path)
    return (column >= lower) & (column < upper)


def within(column: Column, scopes: list[str]) -> Where | None:
    """``column`` lies in one of the ``scopes`` subtrees; None when a scope is the root (no filter)."""
    if "/" in scopes:
        return None
    condition = under(column, scopes[0])
    for scope in scopes[1:]:
        condition = condition | under(column, scope)
    return condition


async def binary_collation(table: str, column: str, length: int = 512) -> None:
    """Migration step: make a path column compare byte-wise on PostgreSQL (SQLite already does)."""
    engine = engine_finder()
    if engine is not None and engine.engine_type == "postgres":
        await Table.raw(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({length}) COLLATE "C"')
