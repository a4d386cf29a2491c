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


def test_every_graded_category_has_a_kit_template_of_known_item_types() -> None:
    from importlib import resources

    import yaml

    from rescueops.equipment.service import shipped_kit_templates, shipped_types

    text = resources.files("rescueops.teams").joinpath("reference/categories.yaml").read_text("utf-8")
    categories = yaml.safe_load(text)["categories"]
    graded = {c["code"] for c in categories if c["graded"]}
    assert len(graded) == 9
    templates = shipped_kit_templates()
    assert graded <= {t["category"] for t in templates}
    assert {t["category"] for t in templates} <= {c["code"] for c in categories}
    item_types = {t["code"] for t in shipped_types() if t["tracking"] == "item"}
    for template in templates:
        assert template["lines"], template["code"]
        for line in template["lines"]:
            assert line["type"] in item_types and line["type"] != "kit" and line["quantity"] >= 1, (template["code"], line)
    assert len({t["code"] for t in templates}) == len(templates)


async def test_the_catalogue_shows_typical_kit_membership(client, make_user) -> None:
    from tests.web.test_pages import sign_in

    _, logistics = await make_user("logistics", unit="150426")
    types = {t["code"]: t for t in (await client.get("/api/v1/equipment/types", headers=bearer(logistics))).json()}
    radio = {(k["template_code"], k["quantity"]) for k in types["radio"]["kits"]}
    assert {("water_rescue_boat_kit", 2), ("rope_rescue_kit", 2), ("psychosocial_support_kit", 2), ("relief_shelter_kit", 2)} <= radio
    assert [(k["template_code"], k["quantity"]) for k in types["oxygen_cylinder"]["kits"]] == [("first_aid_kit", 1), ("ambulance_transfer_kit", 2)]
    assert types["life_jacket"]["kits"] == []  # stock is not packed in kits
    templates = (await client.get("/api/v1/equipment/kit-templates", headers=bearer(logistics))).json()
    assert {"relief", "public_health", "psychosocial", "ambulance"} <= {t["category"] for t in templates}
    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/equipment/types")
    assert page.status_code == 200 and "装备目录" in page.text
    row = page.text[page.text.index('id="type-spine_board"'):]
    row = row[:row.index("</tr>")]
    assert "脊柱固定板" in row and "救护转运随车组 × 1" in row


async def test_registering_a_kit_is_one_transaction(client, make_user) -> None:
    from rescueops.accounts.tables import AuditEntry
    from rescueops.equipment.tables import Item

    await make_team()
    await make_team("CF-HS-01", unit="150402")
    _, logistics = await make_user("logistics", unit="150400")
    for tag, type_code in (("PS-1", "psychosocial_kit"), ("PS-2", "psychosocial_kit"), ("CA-1", "child_activity_kit"),
                           ("R-1", "radio"), ("R-2", "radio")):
        await register(client, logistics, tag, type_code)
    await register(client, logistics, "HS-R-1", "radio", team="CF-HS-01")
    items, audits = await Item.count(), await AuditEntry.count()
    body = {"team_code": "CF-WNT-01", "asset_tag": "CF-WNT-KIT-PS1", "template_code": "psychosocial_support_kit",
            "asset_tags": ["PS-1", "PS-2", "CA-1", "R-1", "HS-R-1"]}
    refused = await client.post("/api/v1/equipment/kits", json=body, headers=bearer(logistics))
    # The kit row was written before packing found the other team's radio: the whole registration is undone.
    assert refused.status_code == 422 and "HS-R-1: belongs to another owner" in refused.text
    assert await Item.count() == items and await AuditEntry.count() == audits
    assert await Item.count().where(Item.container.is_not_null()) == 0
    done = await client.post("/api/v1/equipment/kits", json={**body, "asset_tags": ["PS-1", "PS-2", "CA-1", "R-1", "R-2"]},
                             headers=bearer(logistics))
    assert done.status_code == 201 and done.json()["ready"] is True and done.json()["name_zh"] == "心理支持组"
    assert sorted(done.json()["contents"]) == ["CA-1", "PS-1", "PS-2", "R-1", "R-2"]
    item = (await client.get("/api/v1/equipment/items/R-1", headers=bearer(logistics))).json()
    assert item["in_kit"] == "CF-WNT-KIT-PS1"
    kit = (await client.get("/api/v1/equipment/items/CF-WNT-KIT-PS1", headers=bearer(logistics))).json()
    assert kit["kit_template"] == "psychosocial_support_kit" and kit["type"]["code"] == "kit"


async def test_register_and_pack_a_kit_on_the_pages(client, make_user) -> None:
    from tests.accounts.test_auth import csrf_from
    from tests.web.test_pages import sign_in

    await make_team()
    _, admin = await make_user("admin")
    for tag, type_code in (("SP-1", "sprayer"), ("SP-2", "sprayer"), ("FG-1", "ulv_fogger"), ("WQ-1", "water_quality_kit"), ("MG-1", "megaphone")):
        await register(client, admin, tag, type_code)
    await sign_in(client, make_user, "logistics", unit="150426")
    inventory = await client.get("/equipment?team=CF-WNT-01")
    assert 'id="kit-form"' in inventory.text and "消杀防疫组" in inventory.text
    token = csrf_from(inventory.text)
    form = {"_csrf_token": token, "team_code": "CF-WNT-01", "template_code": "public_health_kit", "asset_tag": "cf-wnt-kit-ph1",
            "contents": "SP-1，SP-2 FG-1"}
    made = await client.post("/equipment/kits", data=form, follow_redirects=False)
    assert made.status_code in (302, 303) and made.headers["location"] == "/equipment?team=CF-WNT-01"
    page = await client.get("/equipment?team=CF-WNT-01")
    kit = page.text[page.text.index('id="kit-CF-WNT-KIT-PH1"'):]
    assert "不齐备" in kit[:kit.index("</table>")] and "1 missing" in kit[:kit.index("</table>")]
    again = await client.post("/equipment/kits", data=form)
    assert again.status_code == 409 and "该资产标签号已用于另一件装备" in again.text  # the error in Chinese, on the same page
    unknown = await client.post("/equipment/kits/CF-WNT-KIT-PH1/pack", data={"_csrf_token": token, "contents": "WQ-1, NOPE-9",
                                                                           "action": "pack", "back": "/equipment?team=CF-WNT-01"})
    assert unknown.status_code == 422 and "NOPE-9: no such item" in unknown.text and 'id="page-error"' in unknown.text
    packed = await client.post("/equipment/kits/CF-WNT-KIT-PH1/pack", data={"_csrf_token": token, "contents": "wq-1 MG-1", "action": "pack",
                                                                          "back": "/equipment?team=CF-WNT-01"}, follow_redirects=False)
    assert packed.status_code in (302, 303) and packed.headers["location"] == "/equipment?team=CF-WNT-01"
    item_page = await client.get("/equipment/items/CF-WNT-KIT-PH1")
    assert 'id="kit-ready"' in item_page.text and "齐备" in item_page.text and "不齐备" not in item_page.text and 'id="pack-form"' in item_page.text
    out = await client.post("/equipment/kits/CF-WNT-KIT-PH1/pack", data={"_csrf_token": token, "contents": "MG-1", "action": "unpack",
                                                                       "back": "/equipment/items/CF-WNT-KIT-PH1"}, follow_redirects=False)
    assert out.headers["location"] == "/equipment/items/CF-WNT-KIT-PH1"
    assert "不齐备" in (await client.get("/equipment/items/CF-WNT-KIT-PH1")).text
    assert "CF-WNT-KIT-PH1" in (await client.get("/equipment/items/SP-1")).text  # an item shows the kit it is in


async def test_a_teams_kits_take_the_same_queries_however_many(client, make_user) -> None:
    """The team page lists every kit with its readiness: one batch of queries, not a kit's worth per kit."""
    from rescueops.accounts import service as accounts
    from rescueops.equipment import service
    from rescueops.equipment.schemas import OwnerIn
    from tests.grading.test_batch import counting

    await make_team()
    user_id, logistics = await make_user("logistics", unit="150426")
    principal = await accounts.load_principal(user_id)

    async def add_kit(tag: str) -> None:
        response = await client.post("/api/v1/equipment/kits", json={"team_code": "CF-WNT-01", "asset_tag": tag,
                                                                     "template_code": "first_aid_kit"}, headers=bearer(logistics))
        assert response.status_code == 201, response.text
        await register(client, logistics, f"{tag}-AED", "aed")
        await client.post(f"/api/v1/equipment/kits/{tag}/pack", json={"asset_tags": [f"{tag}-AED"]}, headers=bearer(logistics))

    await add_kit("KIT-1")
    async with counting() as one:
        kits = await service.kits_of(principal, OwnerIn(team_code="CF-WNT-01"))
    assert [k.asset_tag for k in kits] == ["KIT-1"]
    for tag in ("KIT-2", "KIT-3", "KIT-4"):
        await add_kit(tag)
    async with counting() as four:
        kits = await service.kits_of(principal, OwnerIn(team_code="CF-WNT-01"))
    assert [k.asset_tag for k in kits] == ["KIT-1", "KIT-2", "KIT-3", "KIT-4"]
    assert all(k.contents == [f"{k.asset_tag}-AED"] for k in kits)
    assert four.count == one.count
