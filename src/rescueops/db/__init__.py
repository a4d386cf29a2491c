"""Database plumbing shared by every domain: engine, transactions, migrations, pagination."""

from rescueops.db.engine import database, write_transaction

__all__ = ["database", "write_transaction"]
