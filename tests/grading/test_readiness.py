"""Readiness per team and category, the precomputed dashboard (scoped), its .xlsx export, and the refresh on events."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from rescueops.db.pagination import PageParams
from rescueops.deployments import service as deployments
from rescueops.deployments.schemas import DispatchIn, IncidentIn
from rescueops.errors import PermissionDenied
from rescueops.events import bus
from rescueops.grading import readiness as rd
from rescueops.grading import service
from rescueops.grading.schemas import ReasonIn
from rescueops.grading.tables import GradeAction, Readiness
from rescueops.teams import service as teams
from tests.factories import make_team
from tests.grading.builders import TODAY, admin_principal, water_team


@pytest.fixture
async def water(db):
    admin = await admin_principal()
    return {"admin": admin, **await water_team(admin)}


async def _row(code: str = "WR-01", category: str = "water_rescue") -> dict:
    return await Readiness.select().where((Readiness.team_code == code) & (Readiness.category == category)).first()


async def test_readiness_of_a_team_in_each_category(water) -> None:
    assert await service.refresh_readiness(codes=["WR-01"]) == "readiness of 1 teams refreshed (3 rows)"
    row = await _row()
    assert (row["members_active"], row["people_available"]) == (7, 5)
    assert (row["kits_ready"], row["kits_total"]) == (1, 2)
    # Boats (two in service, one in maintenance, one expired), the motor, two dry suits, three radios.
    assert (row["equipment_in_service"], row["equipment_total"]) == (8, 10)
    assert row["last_drill_on"] == TODAY - timedelta(days=60)
    assert row["granted_level"] is None and row["eligible_level"] is None
    # people 35 + kits 15 × 1/2 + equipment 20 × 8/10 + drill 15 + no grade 0
    assert row["score"] == 74 and row["state"] == "partial"
    assert row["league_code"] == "150400" and row["county_code"] == "150426" and row["region"] == "east"
    assert {r["category"] for r in await Readiness.select(Readiness.category)} == {"search_rescue", "water_rescue", "medical"}


async def test_people_on_a_deployment_are_not_available(water) -> None:
    admin = water["admin"]
    incident = await deployments.open_incident(admin, IncidentIn(kind="flood", title="西拉木伦河洪水", place="乌丹镇", unit_code="150426",
                                                                 started_at=datetime.now(UTC)))
    await deployments.dispatch_team(admin, incident.id, DispatchIn(team_code="WR-01", person_ids=water["people"][:2]))
    await service.refresh_readiness(codes=["WR-01"])
    assert (await _row())["people_available"] == 3


async def test_dashboard_by_category_level_league(water, make_principal) -> None:
    team = await teams.team_row("WR-01")
    await teams.set_grade(team["id"], "water_rescue", 2, TODAY - timedelta(days=1000), TODAY + timedelta(days=60))
    await make_team("BT-01", unit="150202", members=2, active=True)
    await service.refresh_readiness()
    region = await make_principal("region_coordinator", unit="150000")
    board = await service.dashboard(region)
    assert board.teams == 3 and board.computed_on == TODAY
    counts = {(c.category, c.league_code, c.level): c.teams for c in board.counts}
    assert counts[("water_rescue", "150400", 2)] == 1 and counts[("search_rescue", "150200", None)] == 1
    assert [(r.team_code, r.category) for r in board.expiring] == [("WR-01", "water_rescue")]
    # The records no longer support level 2 (nor any level): the dashboard flags it.
    assert [(r.team_code, r.granted_level, r.eligible_level) for r in board.below_grade] == [("WR-01", 2, None)]
    assert board.below_grade[0].gap and sum(board.by_state.values()) == len(board.rows) == board.rows_total
    assert set(board.by_region) == {"east", "central"}  # Donghe District lies in eastern Baotou
    only_water = await service.dashboard(region, category="water_rescue")
    assert {r.category for r in only_water.rows} == {"water_rescue"}


async def test_the_dashboard_counts_every_row_in_the_database_and_reads_only_a_page(water, make_principal, monkeypatch) -> None:
    # Grades ending today, in 90 days, in 91 days and yesterday: the first two are "expiring within 90 days".
    for code, unit, ends in (("BT-01", "150202", 0), ("BT-02", "150203", 90), ("BT-03", "150204", 91), ("BT-04", "150205", -1)):
        await make_team(code, unit=unit, members=1, active=True)
        await teams.set_grade((await teams.team_row(code))["id"], "search_rescue", 3, TODAY - timedelta(days=300),
                              TODAY + timedelta(days=ends))
    team = await teams.team_row("WR-01")
    await teams.set_grade(team["id"], "water_rescue", 2, TODAY - timedelta(days=1000), TODAY + timedelta(days=60))
    await service.refresh_readiness()
    region = await make_principal("region_coordinator", unit="150000")
    whole = await service.dashboard(region, page=None)
    rows = await Readiness.select().order_by(Readiness.team_path).order_by(Readiness.category)
    assert whole.rows_total == len(whole.rows) == len(rows) > 6 and whole.limit is None
    assert [(r.team_code, r.category) for r in whole.rows] == [(r["team_code"], r["category"]) for r in rows]
    # The conditions the database filters on are the rules readiness.expiring and readiness.below_grade state.
    assert {(r.team_code, r.category) for r in whole.expiring} == {(r["team_code"], r["category"]) for r in rows if rd.expiring(r, TODAY)}
    assert {("BT-01", "search_rescue"), ("BT-02", "search_rescue"), ("WR-01", "water_rescue")} == {
        (r.team_code, r.category) for r in whole.expiring}
    assert [r.grade_valid_until for r in whole.expiring] == sorted(r.grade_valid_until for r in whole.expiring)  # soonest first
    assert {(r.team_code, r.category) for r in whole.below_grade} == {(r["team_code"], r["category"]) for r in rows if rd.below_grade(r)}
    assert whole.below_grade and whole.expiring_total == 3 and whole.below_grade_total == len(whole.below_grade)
    # By seat: the mean score of the team-categories of each county (or league, for a team under no county).
    seats: dict[str, list[int]] = {}
    for r in rows:
        seats.setdefault(r["county_code"] or r["league_code"], []).append(r["score"])
    assert {(s.code, s.rows, s.score) for s in whole.seats} == {(code, len(v), round(sum(v) / len(v))) for code, v in seats.items()}

    monkeypatch.setattr(service, "DASHBOARD_LISTED", 2)
    page = await service.dashboard(region, page=PageParams(limit=4, offset=2))
    assert [(r.team_code, r.category) for r in page.rows] == [(r.team_code, r.category) for r in whole.rows[2:6]]
    assert (page.rows_total, page.limit, page.offset) == (len(rows), 4, 2)
    assert page.expiring == whole.expiring[:2] and page.expiring_total == 3
    assert page.counts == whole.counts and page.by_state == whole.by_state and page.seats == whole.seats and page.teams == whole.teams
    assert sum(page.by_state.values()) == page.rows_total


async def test_dashboard_is_scoped(water, make_principal) -> None:
    await make_team("BT-01", unit="150202", members=2, active=True)
    await service.refresh_readiness()
    chifeng = await make_principal("league_supervisor", unit="150400")
    assert {r.team_code for r in (await service.dashboard(chifeng)).rows} == {"WR-01", "WR-01-B"}
    hub = await make_principal("hub_coordinator", hub="central")
    assert {r.team_code for r in (await service.dashboard(hub)).rows} == {"BT-01"}
    assert (await service.dashboard(await make_principal("region_coordinator", unit="150000"), scope="central")).teams == 1
    with pytest.raises(PermissionDenied):
        await service.dashboard(chifeng, scope="150200")
    with pytest.raises(PermissionDenied):
        await service.dashboard(await make_principal("captain", team="WR-01"))


async def test_dashboard_tables_as_xlsx(water, make_principal) -> None:
    team = await teams.team_row("WR-01")
    await teams.set_grade(team["id"], "water_rescue", 2, TODAY, TODAY + timedelta(days=30))
    await service.refresh_readiness()
    content = await service.dashboard_xlsx(await make_principal("league_supervisor", unit="150400"))
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["类别×等级×盟市", "90天内到期", "低于授予等级", "全部队伍"]
    summary = [list(r) for r in book["类别×等级×盟市"].iter_rows(values_only=True)]
    assert summary[0] == ["类别", "盟市", "一级", "二级", "三级", "未定级", "合计"]
    assert ["水上救生", "赤峰市", 0, 1, 0, 1, 2] in summary  # WR-01 at level 2, WR-01-B not graded
    expiring = list(book["90天内到期"].iter_rows(values_only=True))
    assert expiring[1][:5] == ("WR-01", "翁牛特旗红十字应急救援队", "赤峰市", "水上救生", "2 级")
    assert len(list(book["全部队伍"].iter_rows())) == 1 + 6


async def test_events_refresh_the_readiness(water, make_principal) -> None:
    await bus.drain()  # what building the team emitted: its rows appear
    assert (await _row())["grade_status"] == ""
    team = await teams.team_row("WR-01")
    await teams.set_grade(team["id"], "water_rescue", 3, TODAY, TODAY + timedelta(days=900))
    officer = await make_principal("county_officer", unit="150426")
    await service.change_grade(officer, "WR-01", "water_rescue", GradeAction.suspended, ReasonIn(reason="安全检查未通过"))
    assert (await _row())["grade_status"] == ""  # not yet: the event waits in the outbox
    await bus.drain()
    row = await _row()
    assert row["grade_status"] == "suspended" and row["granted_level"] == 3
    await make_team("WR-NEW", members=1, active=True)
    await bus.drain()
    assert await _row("WR-NEW", "search_rescue") is not None


async def test_refreshes_at_once_leave_one_set_of_rows(water) -> None:
    import asyncio

    alone = await service.refresh_readiness()
    rows = await Readiness.count()
    assert await asyncio.gather(*(service.refresh_readiness() for _ in range(4))) == [alone] * 4
    assert await Readiness.count() == rows and await Readiness.count().where(Readiness.team_code == "WR-01") == 3
