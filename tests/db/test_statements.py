"""Statements built once (rescueops.db.statements) give what the Piccolo query gives, on each engine."""

from __future__ import annotations

from rescueops.db.statements import Statement
from rescueops.teams.tables import TeamStatus
from tests.factories import make_team


async def test_a_statement_answers_as_its_query_does(db) -> None:
    from rescueops.teams import service
    from rescueops.teams.tables import Team

    await make_team("CF-WNT-01")
    await make_team("CF-HS-01", unit="150402", active=True)
    by_code = Statement(lambda code: Team.select(*service._TEAM_COLUMNS).where(Team.code == code).limit(1))
    by_status = Statement(lambda status, code: Team.select(Team.code).where((Team.status == status) & (Team.code != code)))
    for code in ("CF-WNT-01", "CF-HS-01", "CF-WNT-01"):  # compiled once, bound to each value
        assert await by_code.first(code) == await Team.select(*service._TEAM_COLUMNS).where(Team.code == code).first()
    assert await by_code.first("NOPE") is None
    assert await by_status.rows(TeamStatus.active, "X") == [{"code": "CF-HS-01"}]  # an Enum binds as its value
    assert await by_status.rows("forming", "CF-HS-01") == [{"code": "CF-WNT-01"}]


async def test_a_statement_runs_in_the_callers_transaction(db) -> None:
    from rescueops.db import write_transaction
    from rescueops.teams.tables import Team

    await make_team("CF-WNT-01")
    name = Statement(lambda code: Team.select(Team.name_zh).where(Team.code == code))

    class Undone(Exception):
        pass

    try:
        async with write_transaction():
            await Team.update({Team.name_zh: "改名中"}).where(Team.code == "CF-WNT-01")
            assert await name.rows("CF-WNT-01") == [{"name_zh": "改名中"}]  # sees the transaction's own write
            raise Undone
    except Undone:
        pass
    assert await name.rows("CF-WNT-01") == [{"name_zh": "翁牛特旗红十字应急救援队"}]


async def test_a_bulk_insert_writes_the_rows_piccolo_would_and_skips_conflicts(db) -> None:
    import uuid
    from datetime import UTC, datetime

    from rescueops.db.statements import BulkInsert
    from rescueops.events.tables import ProcessedEvent

    insert = BulkInsert(ProcessedEvent.key, ProcessedEvent.consumer, ProcessedEvent.event_id, ProcessedEvent.type,
                        ProcessedEvent.processed_at, skip_conflicts_on=ProcessedEvent.key, returning=ProcessedEvent.key)
    at = datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
    ids = [uuid.uuid4() for _ in range(3)]
    rows = [(f"east.audit:{event_id}", "east.audit", event_id, "drill.planned", at) for event_id in ids]
    assert sorted(await insert.run(rows[:2])) == sorted(row[0] for row in rows[:2])
    assert await insert.run(rows) == [rows[2][0]]  # the two already there are skipped, and not returned
    assert await insert.run([]) == []
    stored = await ProcessedEvent.select(ProcessedEvent.key, ProcessedEvent.event_id, ProcessedEvent.processed_at).order_by(ProcessedEvent.id)
    assert [(row["key"], row["event_id"], row["processed_at"]) for row in stored] == [(key, event_id, at) for key, _, event_id, _, _ in rows]
