"""Hot queries whose SQL is built once.

Piccolo assembles a query's SQL in Python on every run, and each join copies the joined table's columns: 0.3–1 ms a
query on the benchmark machine (bench/results/http-profile.txt), more than the database spends on the small lookups
every request makes (the caller's token and roles, a team by its code, an item by its tag). A ``Statement`` builds its
query once, with markers where the values go, and each run binds only the values: the SQL sent is the query's own,
through the engine's ``run_querystring`` like any Piccolo query (in the caller's transaction, if any).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

from piccolo.columns import Column
from piccolo.query.base import Query
from piccolo.querystring import QueryString

from rescueops.db.engine import database


class _Marker:
    """Stands for the ``index``-th value while the query is built; found again among the compiled arguments."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class Statement:
    """``Statement(lambda code: Team.select(...).where(Team.code == code))``, then ``await statement.first(code)``.

    ``build`` takes one argument per value and returns a query with exactly one statement (a select, a count…);
    values are bound as they are, so pass plain ones (Enums become their value), and only where a query takes a
    single value — a list for ``is_in`` changes the SQL with its length."""

    def __init__(self, build: Callable[..., Query]) -> None:
        self._build = build
        self._arity = len(inspect.signature(build).parameters)
        self._template: str | None = None
        self._args: list[Any] = []

    def _compile(self) -> str:
        (querystring,) = self._build(*(_Marker(i) for i in range(self._arity))).querystrings
        _, fragments, args = querystring.bundle(start_index=1, bundled=[], combined_args=[])
        escaped = (f.prefix.replace("{", "{{").replace("}", "}}") for f in fragments)
        self._template = "".join(prefix + ("" if f.no_arg else "{}") for prefix, f in zip(escaped, fragments, strict=True))
        self._args = args
        return self._template

    async def rows(self, *values: Any) -> list[dict[str, Any]]:
        template = self._template or self._compile()
        bound = [values[a.index] if isinstance(a, _Marker) else a for a in self._args]
        engine = database()
        results = await engine.run_querystring(QueryString(template, *(v.value if isinstance(v, Enum) else v for v in bound)))
        return engine.transform_response_to_dicts(results) if results else []

    async def first(self, *values: Any) -> dict[str, Any] | None:
        rows = await self.rows(*values)
        return rows[0] if rows else None


class BulkInsert:
    """``BulkInsert(ReceivedEvent.region, ReceivedEvent.event_id, …)``, then ``await insert.run(rows)`` with one tuple
    of values per row: many rows in one statement, with no Table object and no SQL built per row (for Piccolo, a
    hundred rows are a hundred objects whose values are converted and assembled one by one).

    On PostgreSQL the rows go as one array per column into a fixed ``INSERT … SELECT * FROM unnest(…)``, the same
    statement whatever their number (prepared once per connection); on SQLite as a multi-row ``VALUES``.
    ``skip_conflicts_on`` adds ``ON CONFLICT (column) DO NOTHING``; ``returning`` names the column whose values
    :meth:`run` returns, for the rows it inserted."""

    def __init__(self, *columns: Column, skip_conflicts_on: Column | None = None, returning: Column | None = None) -> None:
        table = columns[0]._meta.table
        if any(column._meta.table is not table for column in columns):
            raise ValueError("a BulkInsert writes to one table")
        names = ", ".join(f'"{column._meta.db_column_name}"' for column in columns)
        self._head = f'INSERT INTO "{table._meta.tablename}" ({names}) '
        self._tail = (f' ON CONFLICT ("{skip_conflicts_on._meta.db_column_name}") DO NOTHING' if skip_conflicts_on else "") + (
            f' RETURNING "{returning._meta.db_column_name}"' if returning else "")
        self._types = [column.column_type for column in columns]
        self._returning = returning._meta.db_column_name if returning else None
        self._values: dict[int, str] = {}  # SQLite's VALUES list, by number of rows

    def _sql(self, engine_type: str, count: int) -> str:
        if engine_type == "postgres":
            arrays = ", ".join(f"{{}}::{column_type}[]" for column_type in self._types)
            return f"{self._head}SELECT * FROM unnest({arrays}){self._tail}"
        if count not in self._values:
            row = f"({', '.join('{}' for _ in self._types)})"
            self._values[count] = f"{self._head}VALUES {', '.join([row] * count)}{self._tail}"
        return self._values[count]

    async def run(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """Insert ``rows`` (in the caller's transaction, if any); the ``returning`` values of those inserted."""
        if not rows:
            return []
        engine = database()
        if engine.engine_type == "postgres":
            args = [list(column) for column in zip(*rows, strict=True)]
        else:
            args = [value for row in rows for value in row]
        results = await engine.run_querystring(QueryString(self._sql(engine.engine_type, len(rows)), *args))
        if not self._returning or not results:
            return []
        return [row[self._returning] for row in engine.transform_response_to_dicts(results)]
