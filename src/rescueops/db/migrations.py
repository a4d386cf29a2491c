"""Apply migrations and tell whether any are pending."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.check import CheckMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards


class MigrationError(RuntimeError):
    pass


class DatabaseNotMigrated(RuntimeError):
    def __init__(self, pending: list[str]):
        self.pending = pending
        super().__init__(
            f"the database has {len(pending)} unapplied migration(s) "
            f"({', '.join(pending[:5])}{', …' if len(pending) > 5 else ''}); "
            "run `rescueops db upgrade` (or `make run`, which does it) and start again"
        )


async def pending_migrations() -> list[str]:
    """``app:migration_id`` of every migration not yet applied, in order."""
    statuses = await CheckMigrationManager(app_name="all").get_migration_statuses()
    return [f"{s.app_name}:{s.migration_id}" for s in statuses if not s.has_ran]


async def upgrade(verbose: bool = False) -> list[str]:
    """Apply every pending migration; returns what was applied (nothing when up to date)."""
    pending = await pending_migrations()
    if not pending:
        return []
    output = io.StringIO()
    # Piccolo prints its progress; keep it for errors and verbose runs only.
    with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(output):
        result = await run_forwards(app_name="all", migration_id="all")
    if not result.success:
        raise MigrationError(f"migration failed: {result.message}\n{output.getvalue()}")
    return pending


async def ensure_migrated() -> None:
    pending = await pending_migrations()
    if pending:
        raise DatabaseNotMigrated(pending)
