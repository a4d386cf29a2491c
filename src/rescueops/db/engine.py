"""The one database engine, chosen from the configured URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from rescueops.settings import SettingsError

# Seconds a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT = 30


def engine_from_url(url: str) -> Engine:
    scheme = urlsplit(url).scheme
    if scheme in ("postgres", "postgresql"):
        return PostgresEngine(config={"dsn": url})
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT)
    raise SettingsError(
        f"RESCUEOPS_DATABASE_URL: unsupported scheme {scheme!r}; "
        "use sqlite:///path/to/file.db or postgres://user@host/dbname"
    )


def database() -> Engine:
    """The engine named ``DB`` in the Piccolo configuration."""
    engine = engine_finder()
    if engine is None:  # pragma: no cover - the configuration always defines DB
        raise RuntimeError("no Piccolo engine configured (PICCOLO_CONF)")
    return engine


def write_transaction():
    """A transaction for writes.

    On SQLite it is ``BEGIN IMMEDIATE``: the write lock is taken up front, so two requests
    that both read-then-write queue on the busy timeout instead of one failing with
    "database is locked" when it tries to upgrade its read lock.
    """
    engine = database()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def prepare(engine: Engine) -> None:
    """Per-process start-up: WAL journal for SQLite (readers don't block the writer), pool for PostgreSQL."""
    if isinstance(engine, SQLiteEngine):
        await engine.run_ddl("PRAGMA journal_mode=WAL")
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10)


async def release(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
