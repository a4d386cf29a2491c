from __future__ import annotations

from rescueops.equipment.tables import Checkout, Item
from tests.accounts.test_auth import csrf_from
from tests.conftest import bearer
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
    asked = await client.post("/equipment/transfers", data={"_csrf_token": csrf_from(page.text), "source_kind": "depot", "source_code": store,
                              "destination_kind": "team", "destination_code": "CF-WNT-01", "type_code": "blanket", "quantity": "4",
                              "reason": "安置点"}, follow_redirects=False)
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


async def test_the_scan_page_opens_the_item(client, make_user) -> None:
    await make_team()
    await make_team("BT-DH-01", unit="150202")
    _, admin = await make_user("admin")
    await register(client, admin, "CF-WNT-R-001", "radio")
    await register(client, admin, "BT-R-1", "radio", team="BT-DH-01")
    assert "/login" in str((await client.get("/scan", follow_redirects=True)).url)
    await sign_in(client, make_user, "logistics", unit="150426")
    scan = await client.get("/scan")
    assert scan.status_code == 200 and 'id="tag-input"' in scan.text and 'src="/static/js/scan.js" data-input="tag-input"' in scan.text and 'id="camera-button" hidden' in scan.text
    script = await client.get("/static/js/scan.js")  # the camera reader the check-in page shares
    assert script.status_code == 200 and "BarcodeDetector" in script.text
    assert 'name="viewport"' in scan.text and 'class="scan-input"' in scan.text  # a phone page
    for typed in ("cf-wnt-r-001", " CF-WNT-R-001 ", "http://127.0.0.1:8000/s/CF-WNT-R-001"):  # typed, scanner, camera reading the label
        opened = await client.get("/scan", params={"tag": typed}, follow_redirects=False)
        assert opened.status_code in (302, 303) and opened.headers["location"] == "/equipment/items/CF-WNT-R-001", typed
    for unknown in ("NOPE-1", "BT-R-1"):  # no such item; another league's team item
        refused = await client.get("/scan", params={"tag": unknown})
        assert refused.status_code == 404 and "没有资产标签号为" in refused.text and f'value="{unknown}"' in refused.text
    assert (await client.get("/s/CF-WNT-R-001", follow_redirects=False)).headers["location"] == "/equipment/items/CF-WNT-R-001"
    assert 'href="/scan"' in (await client.get("/equipment")).text


async def test_the_item_history_is_one_chronological_list(client, make_user) -> None:
    from rescueops.equipment.tables import ScrapRequest
    from tests.equipment.test_stock import depot

    team = await make_team(members=1)
    _, admin = await make_user("admin")
    store = await depot(client, admin)
    await client.post("/api/v1/equipment/items", json={"depot_code": store, "asset_tag": "D-GEN-1", "type_code": "generator"},
                      headers=bearer(admin))
    asked = await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"depot_code": store}, "destination": {"team_code": "CF-WNT-01"}, "asset_tags": ["D-GEN-1"], "reason": "安置点供电"},
        headers=bearer(admin))
    assert asked.status_code == 201
    tid = (await client.get("/api/v1/equipment/transfer-requests", headers=bearer(admin))).json()[0]["id"]
    for action in ("approve", "dispatch", "receive"):
        await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": action}, headers=bearer(admin))
    await client.post("/api/v1/equipment/items/D-GEN-1/check-out", json={"kind": "member", "person_id": team["people"][0]}, headers=bearer(admin))
    await client.post("/api/v1/equipment/items/D-GEN-1/check-in", json={"condition": "damaged", "note": "拉绳断了"}, headers=bearer(admin))
    await client.post("/api/v1/equipment/items/D-GEN-1/repairs/finish", json={"description": "更换拉绳"}, headers=bearer(admin))
    checklist = {"启动试车": True, "机油": True, "燃油": True, "输出电压": False}
    await client.post("/api/v1/equipment/items/D-GEN-1/inspections", json={"results": checklist, "note": "电压不稳"}, headers=bearer(admin))
    await client.post("/api/v1/equipment/items/D-GEN-1/scrap", json={"reason": "电压无法稳定"}, headers=bearer(admin))
    _, officer = await make_user("county_officer", unit="150426")
    sid = (await ScrapRequest.select(ScrapRequest.id).first())["id"]
    await client.post(f"/api/v1/equipment/scrap-requests/{sid}/decision", json={"approve": False, "reason": "先送厂家检修"}, headers=bearer(officer))
    timeline = (await client.get("/api/v1/equipment/items/D-GEN-1/timeline", headers=bearer(admin))).json()
    assert [(h["kind"], h["status"]) for h in timeline] == [
        ("registered", ""), ("transfer", "requested"), ("transfer", "approved"), ("transfer", "dispatched"), ("transfer", "received"),
        ("owner_changed", ""), ("checked_out", "member"), ("returned", "damaged"), ("repair_started", ""), ("repair_finished", ""),
        ("inspected", "failed"), ("scrap_requested", ""), ("scrap_decided", "rejected")]
    assert timeline[0]["detail"] == "储备库" and timeline[5]["detail"] == "储备库 → 翁牛特旗红十字应急救援队"
    assert "输出电压" in timeline[10]["detail"] and timeline[12]["detail"] == "先送厂家检修"
    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/equipment/items/D-GEN-1")
    history = page.text[page.text.index('id="history"'):]
    order = ["登记", "调拨", "归属变更", "借出", "归还", "开始维修", "维修完成", "检查", "申请报废", "报废审批"]
    positions = [history.index(f"<td>{label}") for label in order]
    assert positions == sorted(positions) and "已驳回" in history and "拉绳断了" in history


async def test_filter_the_inventory_by_type(client, make_user) -> None:
    await make_team()
    _, admin = await make_user("admin")
    await register(client, admin, "CF-R-1", "radio")
    await register(client, admin, "CF-BOAT-1", "inflatable_boat")
    await client.post("/api/v1/equipment/kits", json={"team_code": "CF-WNT-01", "asset_tag": "CF-KIT-1", "template_code": "rope_rescue_kit"},
                      headers=bearer(admin))
    await sign_in(client, make_user, "logistics", unit="150426")
    page = await client.get("/equipment?team=CF-WNT-01")
    assert 'id="type-filter"' in page.text
    radios = await client.get("/equipment?team=CF-WNT-01&type=radio")
    listed = radios.text[radios.text.index('id="item-list"'):]
    assert "CF-R-1" in listed and "CF-BOAT-1" not in listed and "CF-KIT-1" not in listed
    assert '<option value="radio" selected>' in radios.text
    kits = await client.get("/equipment?type=kit")
    listed = kits.text[kits.text.index('id="item-list"'):]
    assert "CF-KIT-1" in listed and "CF-R-1" not in listed
    unknown = (await client.get("/api/v1/equipment/items?type=nope", headers=bearer(admin)))
    assert unknown.status_code == 422
