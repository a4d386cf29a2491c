"""`rescueops db check`: the rules the data must hold, each one set-based query counting the rows that break it.

The services and the indexes keep these rules as the data is written (a debit is conditional, a check-out wins the
item's status, one pending filing per team is a partial unique index). This is how an operator confirms they still
hold after a restore, a crash or a hand edit: a few queries whatever the size of the database, the same SQL on SQLite
and PostgreSQL. Foreign keys are read again too, since an SQLite file written without ``PRAGMA foreign_keys`` (the
``sqlite3`` shell, another tool) was never checked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from piccolo.conf.apps import Finder
from piccolo.querystring import QueryString

from rescueops.db import engine as db_engine
from rescueops.db.migrations import pending_migrations
from rescueops.db.paths import scopes_sql

# Offending keys shown per failing rule (the count is always complete).
SAMPLE = 5


@dataclass(frozen=True)
class Finding:
    """One rule's outcome: how many rows break it, and which (a few of them)."""

    rule: str
    problems: int
    detail: str = ""


@dataclass(frozen=True)
class Rule:
    """``sql`` selects one key (``k``) per row breaking the rule; ``keys`` names what the keys are."""

    name: str
    keys: str
    sql: str


RULES: tuple[Rule, ...] = (
    Rule("org units' paths and depths follow their parents", "orgs_unit", """
        SELECT u.id AS k FROM orgs_unit u LEFT JOIN orgs_unit p ON p.id = u.parent
        WHERE (u.parent IS NULL AND (u.path <> '/' || u.code || '/' OR u.depth <> 0))
           OR (p.id IS NOT NULL AND (u.path <> p.path || u.code || '/' OR u.depth <> p.depth + 1))"""),
    Rule("teams' paths follow their supervising units", "teams_team", """
        SELECT t.id AS k FROM teams_team t JOIN orgs_unit u ON u.id = t.unit WHERE t.path <> u.path || 't:' || t.code || '/'"""),
    Rule("items have one owner and carry its path", "equipment_item", """
        SELECT i.id AS k FROM equipment_item i LEFT JOIN teams_team t ON t.id = i.team LEFT JOIN orgs_unit d ON d.id = i.depot
        WHERE (i.team IS NULL) = (i.depot IS NULL) OR i.owner_path <> COALESCE(t.path, d.path)"""),
    Rule("stock balances have one owner and carry its path", "equipment_stock", """
        SELECT s.id AS k FROM equipment_stock s LEFT JOIN teams_team t ON t.id = s.team LEFT JOIN orgs_unit d ON d.id = s.depot
        WHERE (s.team IS NULL) = (s.depot IS NULL) OR s.owner_path <> COALESCE(t.path, d.path)"""),
    Rule("AEDs carry their unit's path", "equipment_aed", """
        SELECT a.id AS k FROM equipment_aed a JOIN orgs_unit u ON u.id = a.unit WHERE a.unit_path <> u.path"""),
    Rule("stock balances equal the sums of their ledgers", "equipment_stock", """
        SELECT s.id AS k FROM equipment_stock s
        LEFT JOIN (SELECT stock, SUM(quantity) AS total FROM equipment_movement GROUP BY stock) m ON m.stock = s.id
        WHERE s.quantity <> COALESCE(m.total, 0)"""),
    Rule("no stock balance is below zero", "equipment_stock", "SELECT id AS k FROM equipment_stock WHERE quantity < 0"),
    Rule("each ledger row's balance is the running sum, never below zero", "equipment_movement", """
        SELECT id AS k FROM (
            SELECT id, balance_after, SUM(quantity) OVER (PARTITION BY stock ORDER BY id ROWS UNBOUNDED PRECEDING) AS running
            FROM equipment_movement) ledger
        WHERE balance_after <> running OR balance_after < 0"""),
    Rule("at most one open check-out per item", "equipment_item", """
        SELECT item AS k FROM equipment_checkout WHERE returned_at IS NULL GROUP BY item HAVING COUNT(*) > 1"""),
    Rule("items are checked out or lent exactly while a check-out is open", "equipment_item", """
        SELECT i.id AS k FROM equipment_item i
        WHERE (i.status IN ('checked_out', 'lent'))
           <> EXISTS (SELECT 1 FROM equipment_checkout c WHERE c.item = i.id AND c.returned_at IS NULL)"""),
    Rule("at most one captain per team", "teams_team", """
        SELECT team AS k FROM members_membership WHERE left_on IS NULL AND role = 'captain' GROUP BY team HAVING COUNT(*) > 1"""),
    Rule("at most one open membership per person", "members_person", """
        SELECT person AS k FROM members_membership WHERE left_on IS NULL GROUP BY person HAVING COUNT(*) > 1"""),
    Rule("at most one pending leadership filing per team", "teams_team", """
        SELECT team AS k FROM teams_filing WHERE status = 'pending' GROUP BY team HAVING COUNT(*) > 1"""),
    Rule("outbox rows: routing key is region.type, a published row holds no claim", "events_outbox", """
        SELECT id AS k FROM events_outbox
        WHERE routing_key <> source_region || '.' || type
           OR (published_at IS NOT NULL AND (claimed_by <> '' OR claim_expires IS NOT NULL))"""),
    Rule("events consumers applied are in the outbox, keyed consumer:event", "events_processed", """
        SELECT p.id AS k FROM events_processed p
        WHERE p.key <> p.consumer || ':' || CAST(p.event_id AS TEXT)
           OR NOT EXISTS (SELECT 1 FROM events_outbox o WHERE o.event_id = p.event_id)"""),
    Rule("events the hubs received are in the outbox", "events_received", """
        SELECT r.id AS k FROM events_received r WHERE NOT EXISTS (SELECT 1 FROM events_outbox o WHERE o.event_id = r.event_id)"""),
    # The training tally (training.progress) against a recount: certificates not revoked, and awareness sessions' reported
    # heads, by the tally's key (unit path | organisation | sector | kind | month | expiry month, months as YYYY-MM).
    Rule("the training tally equals a recount of certificates and awareness attendances", "training_tally key", """
        SELECT k FROM (
            SELECT k, SUM(certificates) AS certificates, SUM(attendances) AS attendances FROM (
                SELECT y.unit_path || '|' || CAST(y.organisation AS TEXT) || '|' || y.sector || '|' || y.kind || '|'
                       || substr(CAST(y.month AS TEXT), 1, 7) || '|' || substr(CAST(y.expires_month AS TEXT), 1, 7) AS k,
                       y.certificates AS certificates, y.attendances AS attendances
                FROM training_tally y
                UNION ALL
                SELECT c.unit_path || '|' || CAST(COALESCE(s.organisation, 0) AS TEXT) || '|' || s.sector || '|' || c.kind || '|'
                       || substr(CAST(c.issued_on AS TEXT), 1, 7) || '|' || COALESCE(substr(CAST(c.expires_on AS TEXT), 1, 7), '9999-12'),
                       -COUNT(*), 0
                FROM training_certificate c JOIN training_session s ON s.id = c.session WHERE c.revoked_on IS NULL
                GROUP BY c.unit_path, s.organisation, s.sector, c.kind, substr(CAST(c.issued_on AS TEXT), 1, 7),
                         substr(CAST(c.expires_on AS TEXT), 1, 7)
                UNION ALL
                SELECT s.unit_path || '|' || CAST(COALESCE(s.organisation, 0) AS TEXT) || '|' || s.sector || '|' || co.kind || '|'
                       || substr(CAST(s.starts_on AS TEXT), 1, 7) || '|9999-12', 0, -s.reported_attendance
                FROM training_session s JOIN training_course_version v ON v.id = s.course_version
                JOIN training_course co ON co.id = v.course WHERE s.reported_attendance <> 0
            ) parts GROUP BY k
        ) sums WHERE certificates <> 0 OR attendances <> 0"""),
    Rule("the subtree tally equals the training tally summed over each unit's subtree", "training_subtree_tally key", f"""
        SELECT k FROM (
            SELECT k, SUM(certificates) AS certificates, SUM(attendances) AS attendances FROM (
                SELECT u.unit_path || '|' || u.kind || '|' || CAST(u.month AS TEXT) || '|' || CAST(u.expires_month AS TEXT) AS k,
                       u.certificates AS certificates, u.attendances AS attendances
                FROM training_subtree_tally u
                UNION ALL
                SELECT s.scope || '|' || y.kind || '|' || CAST(y.month AS TEXT) || '|' || CAST(y.expires_month AS TEXT),
                       -y.certificates, -y.attendances
                FROM training_tally y
                JOIN ({scopes_sql("SELECT DISTINCT unit_path AS path FROM training_tally")}) s ON s.unit_path = y.unit_path
            ) parts GROUP BY k
        ) sums WHERE certificates <> 0 OR attendances <> 0"""),
)

# Errors of a query the database refused (a table missing from an old or broken database): reported, not raised.
_QUERY_ERRORS = (sqlite3.Error, asyncpg.PostgresError)


async def _rows(sql: str) -> list[dict[str, Any]]:
    return await db_engine.database().run_querystring(QueryString(sql))


def foreign_keys_sql() -> str:
    """One query counting, per foreign key of every table, the rows whose reference leads nowhere."""
    parts = []
    for table in sorted(Finder().get_table_classes(), key=lambda t: t._meta.tablename):
        child = table._meta.tablename
        for column in table._meta.foreign_key_columns:
            meta = column._foreign_key_meta
            name, parent = column._meta.db_column_name, meta.resolved_references._meta.tablename
            target = meta.resolved_target_column._meta.db_column_name
            parts.append(f"SELECT '{child}.{name}' AS fk, COUNT(*) AS n FROM \"{child}\" c WHERE c.\"{name}\" IS NOT NULL "
                         f"AND NOT EXISTS (SELECT 1 FROM \"{parent}\" p WHERE p.\"{target}\" = c.\"{name}\")")
    return "\nUNION ALL\n".join(parts)


async def _foreign_keys() -> Finding:
    broken = [row for row in await _rows(foreign_keys_sql()) if row["n"]]
    detail = ", ".join(f"{row['fk']}: {row['n']}" for row in sorted(broken, key=lambda r: r["fk"]))
    return Finding("every foreign key leads to a row", sum(row["n"] for row in broken), detail)


async def _migrations() -> Finding:
    pending = await pending_migrations()
    return Finding("migrations applied", len(pending), ", ".join(pending[:SAMPLE]) + (", …" if len(pending) > SAMPLE else ""))


async def _rule(rule: Rule) -> Finding:
    count = (await _rows(f"SELECT COUNT(*) AS n FROM ({rule.sql}) broken"))[0]["n"]
    if not count:
        return Finding(rule.name, 0)
    sample = [row["k"] for row in await _rows(f"SELECT k FROM ({rule.sql}) broken ORDER BY k LIMIT {SAMPLE}")]
    more = ", …" if count > SAMPLE else ""
    return Finding(rule.name, count, f"{rule.keys} {', '.join(map(str, sample))}{more}")


async def check() -> list[Finding]:
    """Every rule over the configured database; a rule whose query the database refuses counts as broken."""
    steps: list[tuple[str, Callable[[], Awaitable[Finding]]]] = [
        ("migrations applied", _migrations),
        ("every foreign key leads to a row", _foreign_keys),
        *[(rule.name, lambda rule=rule: _rule(rule)) for rule in RULES],
    ]
    findings = []
    for name, step in steps:
        try:
            findings.append(await step())
        except _QUERY_ERRORS as error:
            findings.append(Finding(name, 1, f"could not run: {error}"))
    return findings
