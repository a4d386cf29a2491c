"""The one database engine, chosen from the configured URL."""

from __future__ import annotations

import errno
import socket
import sqlite3
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.query.base import Query

from rescueops.settings import SettingsError

# Seconds a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 30
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH}


def engine_from_url(url: str) -> Engine:
    scheme = urlsplit(url).scheme
    if scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": url})
    if scheme == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT)
    raise SettingsError(
        f"RESCUEOPS_DATABASE_URL: unsupported scheme {scheme!r}; "
        "use sqlite:///path/to/file.db or postgres://user@host/dbname"
    )


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///path`` URL."""
    return Path(url.removeprefix("sqlite:///"))


def database() -> Engine:
    """The engine named ``DB`` in the Piccolo configuration."""
    engine = engine_finder()
    if engine is None:  # pragma: no cover - the configuration always defines DB
        raise RuntimeError("no Piccolo engine configured (PICCOLO_CONF)")
    return engine


async def driver_rows(query: Query) -> list[Mapping[str, Any]]:
    """The rows of a one-statement select as the driver returns them (asyncpg Records, SQLite dicts), read by column
    name like Piccolo's dicts, without Piccolo first copying each row into a dict: that copy was a third of the CPU
    of reading a country's 600,000 equipment items for grading (bench/results/grading-profile.txt). In the caller's
    transaction, if any, like any Piccolo query."""
    (querystring,) = query.querystrings
    return await database().run_querystring(querystring)


def write_transaction() -> SQLiteTransaction | FinishedTransaction:
    """A transaction for writes.

    On SQLite it is ``BEGIN IMMEDIATE``: the write lock is taken up front, so two requests
    that both read-then-write queue on the busy timeout instead of one failing with
    "database is locked" when it tries to upgrade its read lock.
    """
    engine = database()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return FinishedTransaction(engine.transaction())


class FinishedTransaction:
    """Piccolo's PostgreSQL transaction, whose exit finishes even when the server cut its connection.

    When the rollback (or commit, or the pool's reset) raises on a connection PostgreSQL terminated, Piccolo 1.38 stops
    there: the transaction stays the task's current one and the connection is not given back. In a long-lived task (the
    relay, the in-process bus) every later query then fails on that dead transaction ("connection has been released
    back to the pool") until the process restarts. Here the connection goes back (the pool replaces a closed one) and
    the task's transaction is cleared; the error still propagates.
    """

    def __init__(self, transaction: PostgresTransaction):
        self.transaction = transaction

    async def __aenter__(self) -> PostgresTransaction:
        return await self.transaction.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> bool:
        transaction = self.transaction
        try:
            return await transaction.__aexit__(*exc_info)
        except BaseException:
            if transaction._parent is None:  # the outermost one: Piccolo did not get to release and reset
                with suppress(Exception):  # a failed release terminates the connection, which is what it deserves
                    if transaction.engine.pool:
                        await transaction.engine.pool.release(transaction.connection)
                    else:
                        transaction.connection.terminate()
                transaction.engine.current_transaction.reset(transaction.context)
            raise


def database_unavailable(error: BaseException) -> bool:
    """The database failed, not the code: unreachable, restarting, out of connections, or (SQLite) locked past the
    busy timeout. Such an error is worth trying again later (the api answers 503, a consumer keeps its event); any
    other error is a bug. Narrow on purpose: an unreadable font file or a misused connection must not pass for an outage."""
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error) or "unable to open" in str(error)
    if isinstance(error, OSError):  # connecting: refused, reset, timed out, no route, unknown host
        return isinstance(error, ConnectionError | TimeoutError | socket.gaierror) or error.errno in _UNREACHABLE
    if isinstance(error, asyncpg.InterfaceError):  # a connection the server cut, used again (a rollback, say)
        return "connection is closed" in str(error)
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        # The protocol caught mid-way by the cut, e.g. the pool resetting a connection the server is closing
        # ("cannot switch to state …; another operation is in progress"): the pool drops it, a retry gets a new one.
        return True
    return isinstance(error, asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError
                      | asyncpg.exceptions.TooManyConnectionsError)


async def keep_session(connection: Any) -> None:
    """asyncpg's ``reset`` for a connection going back to the pool: nothing more to do.

    The default runs ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every release — and Piccolo
    acquires a connection per query outside a transaction, so that doubled the round trips of every request. The app
    sets no session settings, takes no advisory locks, keeps no cursors and listens to nothing; an open transaction
    is still rolled back by asyncpg itself before this is called."""


async def prepare(engine: Engine) -> None:
    """Per-process start-up: WAL journal for SQLite (readers don't block the writer), pool for PostgreSQL."""
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10, reset=keep_session)


async def release(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
