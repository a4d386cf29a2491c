"""Helpers of the integrity tests (test_concurrency, test_backup_restore): the consistency oracle and a write held open."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from rescueops.db import consistency
from rescueops.db.engine import write_transaction


async def broken_rules() -> list[consistency.Finding]:
    """What `rescueops db check` finds wrong with the test database (nothing, after any test here)."""
    return [finding for finding in await consistency.check() if finding.problems]


@contextlib.asynccontextmanager
async def held_open(work: Callable[[], Awaitable[Any]]) -> AsyncIterator[None]:
    """Run ``work`` (real service code) inside a write transaction that stays open, its locks held, until the block
    ends; then commit. Nested write transactions join this one, so nothing of ``work`` is committed before."""
    done, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with write_transaction():
            await work()
            done.set()
            await release.wait()

    holder, started = asyncio.create_task(hold()), asyncio.create_task(done.wait())
    await asyncio.wait({holder, started}, return_when=asyncio.FIRST_COMPLETED)
    started.cancel()
    if holder.done():
        holder.result()  # the work failed: raise it here
    try:
        yield
    finally:
        release.set()
        await holder
