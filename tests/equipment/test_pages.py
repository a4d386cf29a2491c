from __future__ import annotations

from rescueops.equipment.tables import Checkout, Item
from tests.accounts.test_auth import csrf_from
from tests.equipment.test_kits import register
from tests.factories import make_team
from tests.web.test_pages import sign_in


async def test_scan_opens_the_item_page_with_quick_actions(client, make_user) -> None:
    team = await make_team(members=2)
    _, admin = await make_user("admin")
    await register(client, admin, "CF-WNT-R-001", "radio")
    anonymous = await client.get("/s/CF-WNT-R-001", follow_redirects=True)
    assert "/login" in str(anonymous.url)  # the label holds a URL; the page needs a login
    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/s/CF-WNT-R-001", follow_redirects=True)
    assert page.status_code == 200 and "对讲机" in page.text and 'id="checkout-form"' in page.text
    out = await client.post("/equipment/items/CF-WNT-R-001/check-out", data={
        "_csrf_token": csrf_from(page.text), "kind": "member", "person_id": str(team["people"][0])}, follow_redirects=False)
    assert out.status_code in (302, 303)
    after = await client.get("/equipment/items/CF-WNT-R-001")
    assert "已借出" in after.text and 'id="checkin-form"' in after.text
    again = await client.post("/equipment/items/CF-WNT-R-001/check-out", data={"_csrf_token": csrf_from(after.text), "kind": "drill", "reference": "x"})
    assert again.status_code == 409 and 'id="page-error"' in again.text
    inspected = await client.post("/equipment/items/CF-WNT-R-001/inspect", data={"_csrf_token": csrf_from(after.text), "passed": ["电池", "频率设置"]},
                                  follow_redirects=False)
    assert inspected.status_code in (302, 303)  # one point not ticked: a failed inspection
    assert await Checkout.count() == 1 and (await Item.select(Item.status).first())["status"] == "checked_out"


async def test_print_a_label_sheet_from_the_inventory(client, make_user) -> None:
    await make_team()
    _, admin = await make_user("admin")
    for i in range(3):
        await register(client, admin, f"CF-WNT-R-00{i}", "radio")
    await sign_in(client, make_user, "logistics", unit="150426")
    inventory = await client.get("/equipment?team=CF-WNT-01")
    assert inventory.status_code == 200 and inventory.text.count('name="asset_tags"') == 3
    sheet = await client.post("/equipment/labels", data={"_csrf_token": csrf_from(inventory.text), "asset_tags": ["CF-WNT-R-000", "CF-WNT-R-002"],
                                                         "format": "pdf"})
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")


async def test_register_items_from_a_spreadsheet_through_the_page(client, make_user) -> None:
    from tests.equipment.test_import import sheet

    await make_team()
    await sign_in(client, make_user, "logistics", unit="150426")
    inventory = await client.get("/equipment?team=CF-WNT-01")
    assert 'id="import"' in inventory.text
    token = csrf_from(inventory.text)
    content = sheet([["CF-WNT-BOAT-001", "冲锋舟（充气式）", "", "", "捐赠"], ["CF-WNT-BOAT-001", "冲锋舟（充气式）", "", "", ""]])
    checked = await client.post("/equipment/import?team=CF-WNT-01", files={"file": ("kit.xlsx", content)}, data={"_csrf_token": token, "mode": "commit"})
    assert checked.status_code == 422 and 'id="report-errors"' in checked.text and await Item.count() == 0
    good = sheet([["CF-WNT-BOAT-001", "冲锋舟（充气式）", "", "", "捐赠"]])
    done = await client.post("/equipment/import?team=CF-WNT-01", files={"file": ("kit.xlsx", good)}, data={"_csrf_token": token, "mode": "commit"},
                             follow_redirects=False)
    assert done.status_code in (302, 303) and await Item.count() == 1


async def test_scrap_request_from_the_item_page_and_the_aed_registry_page(client, make_user) -> None:
    from rescueops.equipment.tables import ScrapRequest
    from tests.equipment.test_aeds import WUDAN, aed

    await make_team()
    _, admin = await make_user("admin")
    await register(client, admin, "CF-WNT-R-009", "radio")
    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/equipment/items/CF-WNT-R-009")
    asked = await client.post("/equipment/items/CF-WNT-R-009/scrap", data={"_csrf_token": csrf_from(page.text), "reason": "摔坏无法修复"},
                              follow_redirects=False)
    assert asked.status_code in (302, 303) and await ScrapRequest.count() == 1
    from tests.conftest import bearer

    await client.post("/api/v1/aeds", json=aed("AED-WD-009", *WUDAN), headers=bearer(admin))
    registry = await client.get("/equipment/aeds?problems=true")
    assert registry.status_code == 200 and "AED-WD-009" in registry.text and "巡检逾期" in registry.text


async def test_inventory_by_league(client, make_user) -> None:
    await make_team("CF-WNT-01")
    await make_team("BT-DH-01", unit="150202")
    _, admin = await make_user("admin")
    await register(client, admin, "CF-R-1", "radio")
    await register(client, admin, "BT-R-1", "radio", team="BT-DH-01")
    await sign_in(client, make_user, "region_coordinator", unit="150000")
    chifeng = await client.get("/equipment?league=150400")
    assert "CF-R-1" in chifeng.text and "BT-R-1" not in chifeng.text
    assert "BT-R-1" in (await client.get("/equipment")).text


async def test_transfer_and_scrap_through_the_pages(client, make_user) -> None:
    from rescueops.equipment.tables import Item, ScrapRequest, TransferRequest
    from tests.conftest import bearer
    from tests.equipment.test_stock import depot

    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": store, "type_code": "blanket", "kind": "receive", "quantity": 10},
                      headers=bearer(admin))
    await register(client, admin, "CF-R-9", "radio")
    await client.post("/api/v1/equipment/items/CF-R-9/scrap", json={"reason": "损坏"}, headers=bearer(admin))
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get("/equipment/transfers")
    asked = await client.post("/equipment/transfers", data={"_csrf_token": csrf_from(page.text), "source_depot": store,
                              "destination_team": "CF-WNT-01", "type_code": "blanket", "quantity": "4", "reason": "安置点"}, follow_redirects=False)
    assert asked.status_code in (302, 303) and await TransferRequest.count() == 1
    client.cookies.clear()
    await sign_in(client, make_user, "county_officer", unit="150426")
    officer_page = await client.get("/equipment/transfers")
    assert "CF-R-9" in officer_page.text  # the scrap request waits for the supervising branch
    decided = await client.post(f"/equipment/scrap-requests/{(await ScrapRequest.select(ScrapRequest.id).first())['id']}",
                                data={"_csrf_token": csrf_from(officer_page.text), "decision": "approve"}, follow_redirects=False)
    assert decided.status_code in (302, 303) and (await Item.select(Item.status).where(Item.asset_tag == "CF-R-9").first())["status"] == "scrapped"
    client.cookies.clear()
    await sign_in(client, make_user, "logistics", unit=store)
    keeper = await client.get("/equipment/transfers")
    assert 'value="approve"' in keeper.text
    tid = (await TransferRequest.select(TransferRequest.id).first())["id"]
    for action in ("approve", "dispatch"):
        step = await client.post(f"/equipment/transfers/{tid}", data={"_csrf_token": csrf_from(keeper.text), "action": action}, follow_redirects=False)
        assert step.status_code in (302, 303)
    assert (await TransferRequest.select(TransferRequest.status).first())["status"] == "dispatched"


async def test_registering_and_checking_an_aed_on_the_registry_page(client, make_user) -> None:
    from rescueops.equipment.tables import Aed

    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/equipment/aeds")
    assert page.status_code == 200 and 'id="aed-form"' in page.text
    form = {"_csrf_token": csrf_from(page.text), "code": "AED-WD-101", "unit_code": "150426", "place_name": "乌丹镇文化广场",
            "address": "乌丹镇全宁街", "lat": "北纬42度", "lon": "119.01", "responsible_org": "乌丹镇人民政府", "contact_phone": "13947600001",
            "pads_expire_on": "2030-01-01", "battery_expires_on": "2030-06-01", "check_interval_days": "30"}
    refused = await client.post("/equipment/aeds", data=form)
    assert refused.status_code == 422 and "lat" in refused.text and 'value="乌丹镇文化广场"' in refused.text  # what was typed stays
    assert await Aed.count() == 0
    added = await client.post("/equipment/aeds", data={**form, "lat": "42.94"}, follow_redirects=False)
    assert added.status_code in (302, 303), added.text
    registry = await client.get("/equipment/aeds")
    assert "乌丹镇文化广场" in registry.text and "巡检逾期" in registry.text
    checked = await client.post("/equipment/aeds/AED-WD-101/checks", data={"_csrf_token": csrf_from(registry.text), "checked_on": "2026-01-05",
                                                                         "working": "yes", "pads_expire_on": "2031-01-01"},
                                follow_redirects=False)
    assert checked.status_code in (302, 303), checked.text
    row = await Aed.select(Aed.last_checked_on, Aed.pads_expire_on, Aed.in_service).first()
    assert (row["last_checked_on"].isoformat(), row["pads_expire_on"].isoformat(), row["in_service"]) == ("2026-01-05", "2031-01-01", True)
    broken = await client.post("/equipment/aeds/AED-WD-101/checks", data={"_csrf_token": csrf_from(registry.text)}, follow_redirects=False)
    assert broken.status_code in (302, 303)  # no "working" ticked: the device is out of service, and today is the check date
    assert "已停用" in (await client.get("/equipment/aeds")).text
