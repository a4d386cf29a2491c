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
