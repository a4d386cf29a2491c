"""Where each domain's migrations live: ``<repo>/migrations/<domain>/``."""

from __future__ import annotations

import os
from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder


def migrations_root() -> Path:
    # A source checkout keeps migrations beside src/; an image may put them elsewhere.
    configured = os.environ.get("RESCUEOPS_MIGRATIONS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "migrations"


def domain_app(domain: str, depends_on: tuple[str, ...] = ()) -> AppConfig:
    """The Piccolo app of one domain package: its tables and its migrations folder."""
    return AppConfig(
        app_name=domain,
        migrations_folder_path=str(migrations_root() / domain),
        table_classes=table_finder(modules=[f"rescueops.{domain}.tables"], exclude_imported=True),
        migration_dependencies=[f"rescueops.{name}.piccolo_app" for name in depends_on],
        commands=[],
    )
