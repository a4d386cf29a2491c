from __future__ import annotations

from datetime import timedelta

from rescueops.calendar import china_today
from tests.conftest import bearer

WUDAN = (42.94, 119.01)  # Wengniute Banner seat


def aed(code: str, lat: float, lon: float, **extra) -> dict:
    later = (china_today() + timedelta(days=300)).isoformat()
    return {"code": code, "unit_code": "150426", "place_name": f"{code} 广场", "address": "乌丹镇", "lat": lat, "lon": lon,
            "responsible_org": "乌丹镇人民政府", "contact_name": "王主任", "contact_phone": "13947600001",
            "pads_expire_on": later, "battery_expires_on": later, **extra}


async def test_registry_usability_and_overdue_checks(client, make_user) -> None:
    _, logistics = await make_user("logistics", unit="150426")
    created = await client.post("/api/v1/aeds", json=aed("AED-WD-001", *WUDAN), headers=bearer(logistics))
    assert created.status_code == 201 and created.json()["usable"] is False and created.json()["problems"] == ["check_overdue"]
    checked = await client.post("/api/v1/aeds/AED-WD-001/checks", json={"working": True}, headers=bearer(logistics))
    assert checked.status_code == 201 and checked.json()["usable"] is True
    assert checked.json()["check_due_on"] == (china_today() + timedelta(days=30)).isoformat()
    expired = await client.post("/api/v1/aeds", json=aed("AED-WD-002", 42.95, 119.02, pads_expire_on="2024-01-01"), headers=bearer(logistics))
    assert expired.json()["problems"] == ["pads_expired", "check_overdue"]
    problems = (await client.get("/api/v1/aeds?problems=true", headers=bearer(logistics))).json()
    assert [a["code"] for a in problems] == ["AED-WD-002"]
    duplicate = await client.post("/api/v1/aeds", json=aed("AED-WD-001", *WUDAN), headers=bearer(logistics))
    assert duplicate.status_code == 409
    _, baotou = await make_user("logistics", unit="150200")
    assert (await client.post("/api/v1/aeds", json=aed("AED-X", *WUDAN), headers=bearer(baotou))).status_code == 403
    assert (await client.get("/api/v1/aeds", headers=bearer(baotou))).json() == []


async def test_public_search_shows_no_personal_data(client, make_user) -> None:
    _, logistics = await make_user("logistics", unit="150426")
    await client.post("/api/v1/aeds", json=aed("AED-NEAR", 42.945, 119.015), headers=bearer(logistics))
    await client.post("/api/v1/aeds", json=aed("AED-FAR", 43.30, 119.50), headers=bearer(logistics))
    found = await client.get(f"/api/v1/public/aeds?lat={WUDAN[0]}&lon={WUDAN[1]}&radius_km=5")
    assert found.status_code == 200
    assert [a["place_name"] for a in found.json()] == ["AED-NEAR 广场"]
    assert 0 < found.json()[0]["distance_km"] < 1
    assert "王主任" not in found.text and "13947600001" not in found.text
    page = await client.get(f"/public/aeds?lat={WUDAN[0]}&lon={WUDAN[1]}")
    assert page.status_code == 200 and "AED-NEAR 广场" in page.text and "13947600001" not in page.text and "附近的 AED" in page.text
    bad = await client.get("/api/v1/public/aeds?lat=400&lon=1")
    assert bad.status_code == 422
