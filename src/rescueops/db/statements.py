"""Hot queries whose SQL is built once.

Piccolo assembles a query's SQL in Python on every run, and each join copies the joined table's columns: 0.3–1 ms a
query on the benchmark machine (bench/results/http-profile.txt), more than the database spends on the small lookups
every request makes (the caller's token and roles, a team by its code, an item by its tag). A ``Statement`` builds its
query once, with markers where the values go, and each run binds only the values: the SQL sent is the query's own,
through the engine's ``run_querystring`` like any Piccolo query (in the caller's transaction, if any).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from typing import Any

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
