"""Indexes the national-scale benchmark showed missing: a team's items, a kit's contents, a depot's items, an item's inspections, a team's stock (portable raw SQL).

Piccolo does not index foreign keys by itself; without these, the lookups scan the table (bench/results/http-profile.txt).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-03T12:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "foreign-key indexes for national-scale lookups"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="equipment", description=DESCRIPTION)

    async def create_indexes():
        await Table.raw('CREATE INDEX IF NOT EXISTS equipment_item_team ON equipment_item (team)')
        await Table.raw('CREATE INDEX IF NOT EXISTS equipment_item_depot ON equipment_item (depot)')
        await Table.raw('CREATE INDEX IF NOT EXISTS equipment_item_container ON equipment_item (container)')
        await Table.raw('CREATE INDEX IF NOT EXISTS equipment_inspection_item ON equipment_inspection (item, inspected_on)')
        await Table.raw('CREATE INDEX IF NOT EXISTS equipment_stock_team ON equipment_stock (team)')

    manager.add_raw(create_indexes)
    return manager
