from __future__ import annotations

from rescueops.accounts.tables import AuditEntry
from rescueops.orgs.tables import HubCoverage, OrgUnit
from tests.conftest import bearer


async def test_list_is_paginated_in_tree_order_with_a_total(client, make_user) -> None:
    _, token = await make_user("member", unit="150426")
    first = (await client.get("/api/v1/orgs/units?limit=5", headers=bearer(token))).json()
    second = (await client.get("/api/v1/orgs/units?limit=5&offset=5", headers=bearer(token))).json()
    assert first["total"] == second["total"] == 1 + 12 + 103 + 4
    paths = [u["path"] for u in first["items"] + second["items"]]
    assert paths == sorted(paths) and len(set(paths)) == 10
    assert first["items"][0]["code"] == "150000"


async def test_filters(client, make_user) -> None:
    _, token = await make_user("member", unit="150426")
    h = bearer(token)
    chifeng = (await client.get("/api/v1/orgs/units?under=150400&limit=200", headers=h)).json()
    assert chifeng["total"] == 13  # the city and its 12 banners, counties and districts
    assert all(u["path"].startswith("/150000/150400/") for u in chifeng["items"])
    leagues = (await client.get("/api/v1/orgs/units?kind=league&limit=200", headers=h)).json()
    assert leagues["total"] == 12
    children = (await client.get("/api/v1/orgs/units?parent=152500&limit=200", headers=h)).json()
    assert children["total"] == 12 and {u["parent_code"] for u in children["items"]} == {"152500"}
    found = (await client.get("/api/v1/orgs/units?q=翁牛特", headers=h)).json()
    assert [u["code"] for u in found["items"]] == ["150426"]
    found = (await client.get("/api/v1/orgs/units?q=wengniute", headers=h)).json()
    assert [u["code"] for u in found["items"]] == ["150426"]


async def test_bad_requests_get_clear_errors(client, make_user) -> None:
    _, token = await make_user("admin")
    h = bearer(token)
    missing = await client.get("/api/v1/orgs/units/999999", headers=h)
    assert missing.status_code == 404 and missing.json() == {"code": "not_found", "message": "No organisation unit with code '999999'."}
    too_big = await client.get("/api/v1/orgs/units?limit=5000", headers=h)
    assert too_big.status_code == 422 and too_big.json()["details"][0]["field"] == "limit"
    malformed = await client.post("/api/v1/orgs/units", content=b'{"code": "x",', headers={**h, "Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_body"
    invalid = await client.post("/api/v1/orgs/units", json={"code": "!", "kind": "volcano", "name_zh": "", "name_en": "x"}, headers=h)
    assert invalid.status_code == 422
    fields = {d["field"] for d in invalid.json()["details"]}
    assert {"code", "kind", "name_zh"} <= fields
    assert "Traceback" not in invalid.text


async def test_duplicate_code_is_a_conflict_and_changes_nothing(client, make_user) -> None:
    _, token = await make_user("admin")
    before = await OrgUnit.count(), await AuditEntry.count()
    response = await client.post(
        "/api/v1/orgs/units",
        json={"code": "150426", "kind": "depot", "parent_code": "150400", "name_zh": "重复", "name_en": "dup"},
        headers=bearer(token),
    )
    assert response.status_code == 409 and response.json()["code"] == "duplicate_code"
    assert (await OrgUnit.count(), await AuditEntry.count()) == before


async def test_wrong_parent_kind_is_refused(client, make_user) -> None:
    _, token = await make_user("admin")
    response = await client.post(
        "/api/v1/orgs/units",
        json={"code": "D1", "kind": "league", "parent_code": "150426", "name_zh": "错", "name_en": "wrong"},
        headers=bearer(token),
    )
    assert response.status_code == 422
    assert response.json()["details"] == [{"field": "parent_code", "message": "a league must sit under a region, not a county"}]


async def test_create_and_update_write_audit_rows(client, make_user) -> None:
    user_id, token = await make_user("league_supervisor", unit="150400")
    created = await client.post(
        "/api/v1/orgs/units",
        json={"code": "150426-D1", "kind": "depot", "parent_code": "150426", "name_zh": "翁牛特旗储备库", "name_en": "Wengniute depot"},
        headers={**bearer(token), "X-Request-ID": "test-request-0001"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["path"] == "/150000/150400/150426/150426-D1/"
    updated = await client.patch("/api/v1/orgs/units/150426-D1", json={"lat": 42.9, "lon": 119.0}, headers=bearer(token))
    assert updated.status_code == 200 and updated.json()["lat"] == 42.9
    rows = await AuditEntry.select().where(AuditEntry.entity_id == "150426-D1").order_by(AuditEntry.id)
    assert [r["action"] for r in rows] == ["orgs.unit.create", "orgs.unit.update"]
    assert all(r["actor"] == user_id for r in rows)
    assert rows[0]["request_id"] == "test-request-0001"
    assert rows[0]["scope_path"] == "/150000/150400/150426/150426-D1/"
    # The supervisor reads the log of their league and sees both.
    log = (await client.get("/api/v1/audit?entity_id=150426-D1", headers=bearer(token))).json()
    assert log["total"] == 2


async def test_audit_log_is_read_within_scope(client, make_user) -> None:
    _, admin = await make_user("admin")
    for parent, code in (("150426", "A-IN"), ("150202", "A-OUT")):
        response = await client.post(
            "/api/v1/orgs/units",
            json={"code": code, "kind": "depot", "parent_code": parent, "name_zh": "库", "name_en": "depot"},
            headers=bearer(admin),
        )
        assert response.status_code == 201
    _, supervisor = await make_user("league_supervisor", unit="150400")
    seen = {row["entity_id"] for row in (await client.get("/api/v1/audit?entity=org_unit", headers=bearer(supervisor))).json()["items"]}
    assert "A-IN" in seen and "A-OUT" not in seen


async def test_coverage_edit_validates_and_is_atomic(client, make_user) -> None:
    _, token = await make_user("region_coordinator")
    before = await HubCoverage.select(HubCoverage.unit).where(HubCoverage.hub.code == "east")
    bad = await client.put(
        "/api/v1/orgs/hubs/east/coverage",
        json={"coverage": [{"unit_code": "150400", "role": "primary"}, {"unit_code": "nope", "role": "primary"}], "reason": "x y"},
        headers=bearer(token),
    )
    assert bad.status_code == 422 and "nope" in bad.json()["message"]
    assert await HubCoverage.select(HubCoverage.unit).where(HubCoverage.hub.code == "east") == before
    moved = await client.put(
        "/api/v1/orgs/hubs/central/coverage",
        json={"coverage": [{"unit_code": "150900", "role": "primary"}, {"unit_code": "152502", "role": "secondary"}], "reason": "test move"},
        headers=bearer(token),
    )
    assert moved.status_code == 200
    assert [c["unit"]["code"] for c in moved.json()["coverage"]] == ["150900", "152502"]
    audit = await AuditEntry.select().where(AuditEntry.action == "orgs.hub.coverage").first()
    assert audit is not None and "test move" in str(audit["changes"])


async def test_search_treats_wildcards_literally(client, make_user) -> None:
    _, token = await make_user("member", unit="150426")
    everything = (await client.get("/api/v1/orgs/units?q=%25", headers=bearer(token))).json()
    assert everything["total"] == 0
    underscore = (await client.get("/api/v1/orgs/units?q=_", headers=bearer(token))).json()
    assert underscore["total"] == 0
    mixed_case = (await client.get("/api/v1/orgs/units?q=XILIN", headers=bearer(token))).json()
    assert {u["code"] for u in mixed_case["items"]} == {"152500", "152502"}
