"""The national data set (bench/dataset.py), loaded at a tiny fraction, read back through the app's own API.

The loader writes with PostgreSQL's COPY, so these run on the PostgreSQL engine only (the SQLite run skips them)."""

from __future__ import annotations

import pytest
from piccolo.querystring import QueryString

from rescueops.db.engine import database
from rescueops.members.identity import parse_id_number
from tests.conftest import bearer

FRACTION = 0.002


@pytest.fixture(scope="module")
async def loaded(migrated, engine_name) -> dict:
    """One load for the module (it takes seconds), onto the reference data alone, as the ``db`` fixture leaves it."""
    if engine_name != "postgres":
        pytest.skip("the benchmark data set is loaded with PostgreSQL's COPY")
    from bench import dataset
    from rescueops import reference
    from tests.conftest import _empty_all_tables

    await _empty_all_tables()
    await reference.load_all()
    return await dataset.load(FRACTION)


@pytest.fixture
async def client(app, loaded):
    """HTTP to the app on the loaded data (the shared ``client`` fixture would empty the tables first)."""
    import httpx

    transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client


async def _sql(statement: str, *args) -> list[dict]:
    return await database().run_querystring(QueryString(statement, *args))


async def test_counts_scale_with_the_fraction(loaded):
    from bench.dataset import FULL

    rows, counts = loaded["rows"], loaded["counts"]
    assert counts == {name: max(1, round(full * FRACTION)) for name, full in FULL.items()}
    assert rows["teams_team"] == counts["teams"]
    # People are the teams' members plus the public trained by the Red Cross (trainees, instructors, examiners).
    members = await _sql("SELECT count(DISTINCT person) AS n FROM members_membership")
    assert members[0]["n"] == counts["members"] < rows["members_person"]
    assert rows["training_session"] == counts["training_sessions"]
    assert 0 < rows["training_certificate"] <= rows["training_enrolment"]
    tallied = await _sql("SELECT (SELECT SUM(certificates) FROM training_tally) AS tallied, "
                         "(SELECT count(*) FROM training_certificate WHERE revoked_on IS NULL) AS issued")
    assert tallied[0]["tallied"] == tallied[0]["issued"]
    from rescueops.db import consistency

    tallies = {f.rule: f.problems for f in await consistency.check() if "tally" in f.rule}
    assert len(tallies) == 2 and set(tallies.values()) == {0}  # the tally and the subtree tally as the services keep them
    assert rows["equipment_item"] == counts["items"]
    assert rows["equipment_movement"] == counts["movements"]
    assert rows["drills_drill"] == counts["drills"] + len(loaded["sample"]["checkin"]["drill_ids"])
    assert rows["deployments_deployment"] == counts["deployments"]
    assert rows["drills_attendance"] > 0 and rows["members_certificate"] > 0 and rows["equipment_inspection"] > 0
    assert rows["grading_readiness"] > 0  # refreshed by grading.service on the loaded data


async def test_roster_lists_members_with_masked_and_decryptable_id_numbers(loaded, client):
    sample = loaded["sample"]
    captain = bearer(sample["tokens"]["captain"])
    code = sample["captain_team"]
    response = await client.get(f"/api/v1/teams/{code}/roster", headers=captain)
    assert response.status_code == 200, response.text
    roster = response.json()["members"]
    expected = await _sql("SELECT count(*) AS n FROM members_membership m JOIN teams_team t ON t.id = m.team "
                          "WHERE t.code = {} AND m.left_on IS NULL", code)
    assert len(roster) == expected[0]["n"] > 0
    person = roster[0]["person_id"]
    masked = (await client.get(f"/api/v1/members/{person}", headers=captain)).json()
    full = (await client.get(f"/api/v1/members/{person}", params={"unmask": "true"}, headers=captain)).json()
    assert masked["masked"] and masked["id_number"].startswith("*" * 14)
    number, born, gender = parse_id_number(full["id_number"])  # a valid GB 11643 number, decrypted with the app's key
    assert not full["masked"] and masked["id_number"][-4:] == number[-4:]
    assert (born.isoformat(), gender) == (full["birth_date"], full["gender"])


async def test_item_found_by_its_asset_tag(loaded, client):
    sample = loaded["sample"]
    tag = sample["asset_tags"][0]
    response = await client.get(f"/api/v1/equipment/items/{tag}", headers=bearer(sample["tokens"]["admin"]))
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["asset_tag"] == tag and tag.startswith(item["owner"]["code"] + "-")


async def test_every_stock_balance_equals_its_ledger(loaded, client):
    broken = await _sql(
        "SELECT s.id FROM equipment_stock s LEFT JOIN LATERAL (SELECT COALESCE(sum(quantity), 0) AS total, "
        "min(balance_after) AS lowest, (array_agg(balance_after ORDER BY id DESC))[1] AS last FROM equipment_movement "
        "WHERE stock = s.id) m ON true WHERE m.total <> s.quantity OR m.last <> s.quantity OR m.lowest < 0")
    assert broken == []
    sample = loaded["sample"]
    code = sample["captain_team"]
    balances = (await client.get("/api/v1/equipment/stock", params={"team": code}, headers=bearer(sample["tokens"]["captain"]))).json()
    ledger = await _sql("SELECT t.code AS type, s.location, sum(m.quantity) AS total FROM equipment_movement m "
                        "JOIN equipment_stock s ON s.id = m.stock JOIN equipment_type t ON t.id = s.type "
                        "JOIN teams_team team ON team.id = s.team WHERE team.code = {} GROUP BY t.code, s.location", code)
    assert balances and {(b["type_code"], b["location"]): b["quantity"] for b in balances} == {
        (r["type"], r["location"]): r["total"] for r in ledger}


async def test_drill_attendance_is_readable(loaded, client):
    sample = loaded["sample"]
    rows = await _sql("SELECT a.drill, count(*) AS n FROM drills_attendance a JOIN teams_team t ON t.id = a.team "
                      "WHERE t.code = {} GROUP BY a.drill ORDER BY a.drill LIMIT 1", sample["captain_team"])
    response = await client.get(f"/api/v1/drills/{rows[0]['drill']}/attendance", headers=bearer(sample["tokens"]["captain"]))
    assert response.status_code == 200, response.text
    assert len(response.json()) == rows[0]["n"]


async def test_team_list_by_league_and_category(loaded, client):
    sample = loaded["sample"]
    team = sample["teams"][0]
    expected = await _sql(
        "SELECT count(*) AS n FROM teams_team t JOIN teams_category c ON c.id = t.primary_category "
        "JOIN orgs_unit u ON u.code = {} WHERE t.path LIKE u.path || '%' AND (c.code = {} OR t.id IN "
        "(SELECT s.team FROM teams_specialty s JOIN teams_category sc ON sc.id = s.category WHERE sc.code = {}))",
        team["league"], team["category"], team["category"])
    response = await client.get("/api/v1/teams/", params={"league": team["league"], "category": team["category"]},
                                headers=bearer(sample["tokens"]["admin"]))
    assert response.status_code == 200, response.text
    assert response.json()["total"] == expected[0]["n"] >= 1


async def test_sample_check_in_by_card_and_log_append(loaded, client):
    sample = loaded["sample"]
    captain = bearer(sample["tokens"]["captain"])
    checkin = sample["checkin"]
    card = checkin["cards"][0]
    response = await client.post(f"/api/v1/drills/{checkin['drill_ids'][0]}/check-ins", json={"card": card["card"]}, headers=captain)
    assert response.status_code == 201, response.text
    assert response.json()["person_id"] == card["person_id"]
    mine = next(d for d in sample["open_deployments"] if d["team_code"] == sample["captain_team"])
    response = await client.post(f"/api/v1/deployments/{mine['id']}/log", json={"kind": "note", "text": "基准测试"}, headers=captain)
    assert response.status_code == 201, response.text


async def test_foreign_key_check_finds_a_broken_key(loaded):
    """The load skips the per-row foreign-key triggers and checks every key afterwards: a dangling one is reported."""
    import asyncpg
    from bench.dataset import check_foreign_keys

    from rescueops.settings import get_settings

    conn = await asyncpg.connect(get_settings().resolved_database_url)
    transaction = conn.transaction()
    await transaction.start()
    try:
        assert await check_foreign_keys(conn) > 30  # the loaded data set as it is: every key holds
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("UPDATE equipment_movement SET stock = -1 WHERE id = (SELECT min(id) FROM equipment_movement)")
        with pytest.raises(RuntimeError, match="equipment_movement.stock name no row of equipment_stock"):
            await check_foreign_keys(conn)
    finally:
        await transaction.rollback()
        await conn.close()
