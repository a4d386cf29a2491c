"""List endpoints: limit/offset pages with a total and a stable order."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from litestar.params import QueryParameter
from pydantic import BaseModel

T = TypeVar("T")

MAX_LIMIT = 200
MAX_OFFSET = 1_000_000_000  # past any table here; without a bound SQLite answers "datatype mismatch" beyond 2**63


class PageParams(BaseModel):
    limit: int = 50
    offset: int = 0


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> Page[T]:
        return cls(items=items, total=total, limit=params.limit, offset=params.offset)


def provide_page(
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1–{MAX_LIMIT}")] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> PageParams:
    """Litestar dependency ``page``: the limit/offset query parameters of every list endpoint."""
    return PageParams(limit=limit, offset=offset)
