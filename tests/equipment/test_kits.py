from __future__ import annotations

from tests.conftest import bearer
from tests.factories import make_team

KIT_ITEMS = {"BOAT-1": "inflatable_boat", "MOTOR-1": "outboard_motor", "SUIT-1": "dry_suit", "SUIT-2": "dry_suit",
             "RADIO-1": "radio", "RADIO-2": "radio"}


async def register(client, token: str, tag: str, type_code: str, team: str = "CF-WNT-01", **extra) -> None:
    response = await client.post("/api/v1/equipment/items", json={"team_code": team, "asset_tag": tag, "type_code": type_code, **extra},
                                 headers=bearer(token))
    assert response.status_code == 201, response.text


async def test_kit_readiness(client, make_user) -> None:
    await make_team()
    await make_team("CF-HS-01", unit="150402")
    _, logistics = await make_user("logistics", unit="150400")
    kit = await client.post("/api/v1/equipment/kits", json={"team_code": "CF-WNT-01", "asset_tag": "CF-WNT-KIT-WR1",
                                                             "template_code": "water_rescue_boat_kit"}, headers=bearer(logistics))
    assert kit.status_code == 201 and kit.json()["ready"] is False
    assert {line["type_code"]: line["problems"] for line in kit.json()["lines"]}["dry_suit"] == ["2 missing"]
    for tag, type_code in KIT_ITEMS.items():
        await register(client, logistics, tag, type_code)
    await register(client, logistics, "OTHER-SUIT", "dry_suit", team="CF-HS-01")
    foreign = await client.post("/api/v1/equipment/kits/CF-WNT-KIT-WR1/pack", json={"asset_tags": ["OTHER-SUIT", "NOPE"]}, headers=bearer(logistics))
    assert foreign.status_code == 422 and "another owner" in foreign.text and "no such item" in foreign.text
    packed = await client.post("/api/v1/equipment/kits/CF-WNT-KIT-WR1/pack", json={"asset_tags": list(KIT_ITEMS)}, headers=bearer(logistics))
    assert packed.status_code == 200 and packed.json()["ready"] is True
    # A radio goes out with a member: the kit is no longer ready, and says why.
    await client.post("/api/v1/equipment/items/RADIO-2/check-out", json={"kind": "drill", "reference": "夜间拉练"}, headers=bearer(logistics))
    kit = (await client.get("/api/v1/equipment/kits/CF-WNT-KIT-WR1", headers=bearer(logistics))).json()
    assert kit["ready"] is False
    assert {line["type_code"]: line["problems"] for line in kit["lines"]}["radio"] == ["RADIO-2: checked_out"]
    await client.post("/api/v1/equipment/items/RADIO-2/check-in", json={}, headers=bearer(logistics))
    team_kits = (await client.get("/api/v1/equipment/teams/CF-WNT-01/kits", headers=bearer(logistics))).json()
    assert [(k["asset_tag"], k["ready"]) for k in team_kits] == [("CF-WNT-KIT-WR1", True)]
    unpacked = await client.post("/api/v1/equipment/kits/CF-WNT-KIT-WR1/unpack", json={"asset_tags": ["BOAT-1"]}, headers=bearer(logistics))
    assert unpacked.json()["ready"] is False and "BOAT-1" not in unpacked.json()["contents"]


async def test_an_expired_item_makes_a_kit_not_ready(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await client.post("/api/v1/equipment/kits", json={"team_code": "CF-WNT-01", "asset_tag": "KIT-FA", "template_code": "first_aid_kit"},
                      headers=bearer(logistics))
    tags = {"AED-1": "aed", "TK-1": "trauma_kit", "TK-2": "trauma_kit", "ST-1": "stretcher", "ST-2": "stretcher", "OX-1": "oxygen_cylinder"}
    for tag, type_code in tags.items():
        await register(client, logistics, tag, type_code, **({"acquired_on": "2020-01-01"} if tag == "TK-2" else {}))
    kit = (await client.post("/api/v1/equipment/kits/KIT-FA/pack", json={"asset_tags": list(tags)}, headers=bearer(logistics))).json()
    assert kit["ready"] is False
    assert {line["type_code"]: line["problems"] for line in kit["lines"]}["trauma_kit"] == ["TK-2: expired"]


async def test_the_team_page_shows_kit_readiness(client, make_user) -> None:
    from tests.web.test_pages import sign_in

    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    await client.post("/api/v1/equipment/kits", json={"team_code": "CF-WNT-01", "asset_tag": "KIT-RR", "template_code": "rope_rescue_kit"},
                      headers=bearer(logistics))
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get("/teams/CF-WNT-01")
    assert 'id="kits"' in page.text and "绳索救援组" in page.text and "不齐备" in page.text and "2 missing" in page.text


async def test_due_list_of_one_team(client, make_user) -> None:
    await make_team("CF-WNT-01")
    await make_team("CF-HS-01", unit="150402")
    _, admin = await make_user("admin")
    await register(client, admin, "A-1", "radio")
    await register(client, admin, "B-1", "radio", team="CF-HS-01")
    due = (await client.get("/api/v1/equipment/due?team=CF-HS-01", headers=bearer(admin))).json()
    assert [d["asset_tag"] for d in due] == ["B-1"]
