"""`rescueops db backup FILE` and `rescueops db restore FILE`, for the configured database.

PostgreSQL: ``pg_dump --format=custom`` (one snapshot, taken while the system runs) and ``pg_restore`` in one
transaction. SQLite: ``VACUUM INTO`` (a consistent copy under a read transaction: in WAL mode writers go on meanwhile)
and SQLite's online backup API back. A restore goes only into an empty database, so it can never mix a backup with the
rows of another database or overwrite live data by a slip of the URL. The password of a PostgreSQL URL reaches the
client tools in ``PGPASSWORD``, never on their command line (visible to every user of the machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from rescueops.db.engine import SQLITE_BUSY_TIMEOUT, sqlite_path

PG_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _postgres(url: str) -> bool:
    scheme = urlsplit(url).scheme
    if scheme in ("postgres", "postgresql"):
        return True
    if scheme == "sqlite":
        return False
    raise BackupError(f"cannot back up or restore a {scheme!r} database; use sqlite:///… or postgres://…")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and the environment passing the password to pg_dump / pg_restore."""
    parts = urlsplit(url)
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    return urlunsplit(parts._replace(netloc=netloc)), env


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "?"


async def _tool(*args: str, env: dict[str, str]) -> str:
    """Run a PostgreSQL client tool; its standard output, or a BackupError with what it said."""
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not on PATH: install the PostgreSQL client tools of the server's major version "
                          "(Debian: postgresql-client)")
    process = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{args[0]} failed (exit {process.returncode}): {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


@contextlib.contextmanager
def _written_atomically(file: Path) -> Iterator[Path]:
    """A temporary file beside ``file``, renamed onto it only when the block succeeds: a failed backup leaves nothing
    that looks like one."""
    if file.exists():
        raise BackupError(f"{file} exists already; choose a new file name (backups are never overwritten)")
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(f".{file.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
        os.replace(partial, file)
    finally:
        partial.unlink(missing_ok=True)


def _magic(file: Path) -> bytes:
    if not file.is_file():
        raise BackupError(f"{file} does not exist")
    with file.open("rb") as handle:
        return handle.read(len(SQLITE_MAGIC))


# --- backup --------------------------------------------------------------------------------


async def backup(url: str, file: Path) -> str:
    """Write a backup of the database at ``url`` to ``file`` (a new file); a line saying what was written."""
    if _postgres(url):
        dsn, env = _libpq(url)
        with _written_atomically(file) as partial:
            await _tool("pg_dump", "--format=custom", f"--file={partial}", f"--dbname={dsn}", env=env)
            entries = await _tool("pg_restore", "--list", str(partial), env=env)  # the archive reads back
        tables = sum(1 for line in entries.splitlines() if " TABLE DATA " in line)
        return f"wrote {file} ({file.stat().st_size:,} bytes, {tables} tables) from PostgreSQL database {_database_name(url)}"
    source = sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    with _written_atomically(file) as partial:
        tables = await asyncio.to_thread(_vacuum_into, source, partial)
    return f"wrote {file} ({file.stat().st_size:,} bytes, {tables} tables) from SQLite database {source}"


def _vacuum_into(source: Path, target: Path) -> int:
    with contextlib.closing(sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT)) as connection:
        connection.execute("VACUUM INTO ?", (str(target),))
    with contextlib.closing(sqlite3.connect(target)) as copy:
        if (status := copy.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
            raise BackupError(f"the copy of {source} does not pass SQLite's quick_check: {status}")
        return copy.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]


# --- restore -------------------------------------------------------------------------------


async def restore(url: str, file: Path) -> str:
    """Restore ``file`` into the database at ``url``, which must be empty; a line saying what was restored."""
    magic = _magic(file)
    if _postgres(url):
        if not magic.startswith(PG_MAGIC):
            raise BackupError(f"{file} is not a pg_dump custom-format archive"
                              + (" (it is an SQLite database: restore it into a sqlite:/// database)" if magic == SQLITE_MAGIC else ""))
        relations = await _postgres_relations(url)
        if relations:
            raise BackupError(f"PostgreSQL database {_database_name(url)} is not empty ({relations} tables, sequences or views); "
                              "restore only into a new, empty database (createdb NAME), then point RESCUEOPS_DATABASE_URL at it")
        dsn, env = _libpq(url)
        await _tool("pg_restore", "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", f"--dbname={dsn}",
                    str(file), env=env)
        return f"restored {file} into PostgreSQL database {_database_name(url)}"
    if magic != SQLITE_MAGIC:
        raise BackupError(f"{file} is not an SQLite database"
                          + (" (it is a pg_dump archive: restore it into a postgres:// database)" if magic.startswith(PG_MAGIC) else ""))
    target = sqlite_path(url)
    tables = await asyncio.to_thread(_sqlite_restore, file, target)
    return f"restored {file} ({tables} tables) into SQLite database {target}"


async def _postgres_relations(url: str) -> int:
    """Tables, sequences and views outside PostgreSQL's own schemas: 0 for a database fresh from createdb."""
    try:
        connection = await asyncpg.connect(url, timeout=10)
    except asyncpg.InvalidCatalogNameError:
        raise BackupError(f"PostgreSQL database {_database_name(url)} does not exist; create it empty first "
                          f"(createdb {_database_name(url)})") from None
    try:
        return await connection.fetchval(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'")
    finally:
        await connection.close()


def _sqlite_restore(file: Path, target: Path) -> int:
    wal = target.with_name(target.name + "-wal")
    if wal.exists() and wal.stat().st_size:
        raise BackupError(f"{wal} holds a write-ahead log: the database at {target} is in use or was not closed cleanly; "
                          "restore only into a new, empty database file")
    with contextlib.closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as source:
        if (status := source.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
            raise BackupError(f"{file} does not pass SQLite's quick_check: {status}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(target, timeout=SQLITE_BUSY_TIMEOUT)) as destination:
            existing = destination.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if existing:
                raise BackupError(f"SQLite database {target} is not empty ({existing} tables); "
                                  "restore only into a new, empty database file")
            source.backup(destination)
            destination.execute("PRAGMA journal_mode=WAL")
            return destination.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
