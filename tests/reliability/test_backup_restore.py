"""The documented backup of each engine, restored into an empty database, holds every row and passes `rescueops db
check`; the check finds deliberately broken rows; a restore never lands on a database that holds data.

Everything goes through the command line an operator types (``rescueops db backup|restore|check``), in a subprocess
pointed at the database by ``RESCUEOPS_DATABASE_URL``, against the real PostgreSQL server or SQLite files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from rescueops import demo
from rescueops.db import consistency
from rescueops.db.engine import database, sqlite_path
from rescueops.equipment import service as equipment
from rescueops.equipment.schemas import ItemIn, MovementIn
from rescueops.equipment.tables import Item, Movement, Stock
from rescueops.members.tables import Membership
from rescueops.settings import get_settings
from tests.conftest import _postgres, postgres_url
from tests.factories import make_team
from tests.reliability._integrity import held_open

SOURCE = os.environ["RESCUEOPS_DATABASE_URL"]  # the test database (set by tests/conftest.py before this is imported)


async def rescueops(*args: str, url: str = SOURCE) -> tuple[int, str, str]:
    """``rescueops ARGS`` on the database at ``url``: exit code, standard output, standard error."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rescueops", *args, env={**os.environ, "RESCUEOPS_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def empty_database(engine_name: str, folder: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database: on the PostgreSQL server (dropped afterwards), or an SQLite file not yet made."""
    if engine_name == "sqlite":
        yield f"sqlite:///{folder / 'restored.db'}"
        return
    name = f"rescueops_restore_{uuid.uuid4().hex[:10]}"
    await _postgres(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        await _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def row_counts(url: str) -> dict[str, int]:
    """Rows per table of the database at ``url`` (Piccolo's ``migration`` table included)."""
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(sqlite_path(url), timeout=30)) as connection:
            names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
            return {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
    connection = await asyncpg.connect(url)
    try:
        names = [r["tablename"] for r in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {name: await connection.fetchval(f'SELECT COUNT(*) FROM "{name}"') for name in names}
    finally:
        await connection.close()


async def test_a_backup_taken_during_a_write_restores_into_an_empty_database_with_every_committed_row(
        db, engine_name, tmp_path) -> None:
    await demo.load_demo(get_settings())
    committed = await row_counts(SOURCE)
    assert committed["members_person"] and committed["equipment_movement"] and committed["migration"]
    backup_file = tmp_path / "rescueops.backup"
    late = MovementIn(team_code="CF-WNT-01", type_code="life_jacket", kind="receive", quantity=7, reference="备份时入库")
    # A write is in flight (its transaction open, its locks held) for the whole backup: the backup neither waits for it
    # nor holds any of it.
    async with held_open(lambda: equipment.move_stock(None, late)):
        code, out, err = await rescueops("db", "backup", str(backup_file))
    assert code == 0, err
    assert out.startswith(f"wrote {backup_file}") and backup_file.stat().st_size > 0
    assert (await row_counts(SOURCE))["equipment_movement"] == committed["equipment_movement"] + 1
    code, _, err = await rescueops("db", "backup", str(backup_file))
    assert code == 2 and "exists already" in err  # a backup is never overwritten

    async with empty_database(engine_name, tmp_path) as target:
        code, out, err = await rescueops("db", "restore", str(backup_file), url=target)
        assert code == 0, err
        code, out, err = await rescueops("db", "check", url=target)
        assert code == 0 and out.strip().endswith("all ok"), out + err
        assert await row_counts(target) == committed
        # Restoring again would mix two copies: the target holds data now, so it is refused and left as it is.
        code, _, err = await rescueops("db", "restore", str(backup_file), url=target)
        assert code == 2 and "is not empty" in err, err
        assert await row_counts(target) == committed


async def test_the_check_finds_each_broken_rule_and_names_it(db, engine_name) -> None:
    team = await make_team(members=3, leaders=True, active=True)
    await equipment.move_stock(None, MovementIn(team_code="CF-WNT-01", type_code="life_jacket", kind="receive", quantity=20))
    await equipment.register_item(None, ItemIn(team_code="CF-WNT-01", asset_tag="CF-WNT-BOAT-001", type_code="inflatable_boat"))
    assert [f for f in await consistency.check() if f.problems] == []

    await Stock.update({Stock.quantity: Stock.quantity + 5}, force=True)  # a hand edit, no ledger row
    await Membership.update({Membership.role: "captain"}).where(Membership.person == team["people"][1])
    await Item.update({Item.status: "checked_out"}, force=True)  # "out", but no check-out says to whom
    orphan = ("INSERT INTO equipment_movement (stock, kind, quantity, balance_after, reference, note, at) "
              "VALUES (999999, 'receive', 1, 1, '', '', '2025-01-01')")
    if engine_name == "sqlite":  # the sqlite3 shell, or any tool not turning foreign keys on, writes this
        with contextlib.closing(sqlite3.connect(sqlite_path(SOURCE), timeout=30)) as connection, connection:
            connection.execute(orphan)
    else:  # what a restore with triggers off, or a hand edit as superuser, can leave behind
        async with database().transaction():
            await Movement.raw("SET LOCAL session_replication_role = replica")
            await Movement.raw(orphan)

    findings = {f.rule: f for f in await consistency.check() if f.problems}
    assert set(findings) == {
        "every foreign key leads to a row", "stock balances equal the sums of their ledgers", "at most one captain per team",
        "items are checked out or lent exactly while a check-out is open"}, findings
    assert findings["every foreign key leads to a row"].detail == "equipment_movement.stock: 1"
    assert findings["stock balances equal the sums of their ledgers"].detail.startswith("equipment_stock ")
    code, out, err = await rescueops("db", "check")
    assert code == 1
    assert "PROBLEM  at most one captain per team: 1" in out and "ok       no stock balance is below zero" in out
    assert "4 failing" in err and "stock balances equal the sums of their ledgers" in err
