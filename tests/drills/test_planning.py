"""Planning in full: participating leagues and partner provinces beside the invited teams, a region-level organiser, the
equipment to bring, the end after the last inject; the calendar per team, league and region; held drills in the
training plan; scenario versions kept by past drills."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from rescueops.drills import library
from rescueops.drills import service as drills
from rescueops.drills.tables import Drill, DrillTeam, DrillUnit
from tests.accounts.test_auth import csrf_from
from tests.conftest import bearer
from tests.drills.test_drills import MONTHLY, _ended_drill_with_attendance, plan, plan_body, soon
from tests.drills.test_pages import PLACE, form_equipment, local_input
from tests.factories import make_team
from tests.web.test_pages import sign_in

CST = ZoneInfo("Asia/Shanghai")
JOINT = {"organiser_team_code": None, "organiser_unit_code": "150000", "team_codes": ["CF-WNT-01", "BT-DH-01"],
         "unit_codes": ["150400", "150200", "220000"], "other_participants": ["兴安盟应急管理局", "吉林省白城市消防救援支队"]}


async def _two_leagues() -> None:
    await make_team()  # Wengniute Banner, Chifeng
    await make_team("BT-DH-01", unit="150202")  # Donghe District, Baotou


async def test_a_region_organised_drill_with_two_leagues_and_a_partner_province(client, make_user) -> None:
    await _two_leagues()
    _, region = await make_user("region_coordinator", unit="150000")
    response = await client.post("/api/v1/drills/", json=plan_body(**JOINT), headers=bearer(region))
    assert response.status_code == 201, response.text
    drill = response.json()[0]
    assert drill["organiser_unit_code"] == "150000" and drill["organiser_team"] is None
    assert [t["code"] for t in drill["teams"]] == ["CF-WNT-01", "BT-DH-01"]
    assert [(u["code"], u["kind"]) for u in drill["units"]] == [("150400", "league"), ("150200", "league"), ("220000", "partner_province")]
    assert drill["other_participants"] == JOINT["other_participants"]
    # Each taking part sees it: the invited teams' captains, the leagues' supervisors, the partner province's liaison.
    for role, scope in (("captain", {"team": "BT-DH-01"}), ("league_supervisor", {"unit": "150200"}), ("league_supervisor", {"unit": "220000"})):
        _, token = await make_user(role, **scope)
        assert (await client.get(f"/api/v1/drills/{drill['id']}", headers=bearer(token))).status_code == 200, (role, scope)
        assert [d["id"] for d in (await client.get("/api/v1/drills/", headers=bearer(token))).json()["items"]] == [drill["id"]]
        # Seeing is not running: only the organiser cancels.
        assert (await client.post(f"/api/v1/drills/{drill['id']}/cancel", json={"reason": "改期"}, headers=bearer(token))).status_code == 403
    _, ordos = await make_user("league_supervisor", unit="150600")
    assert (await client.get(f"/api/v1/drills/{drill['id']}", headers=bearer(ordos))).status_code == 404  # not taking part


async def test_units_taking_part_are_checked(client, make_user) -> None:
    await _two_leagues()
    _, region = await make_user("region_coordinator", unit="150000")
    _, captain = await make_user("captain", team="CF-WNT-01")
    cases = [
        (region, {"unit_codes": ["150000"]}, "make it the organiser"),
        (region, {"unit_codes": ["999999"]}, "no organisation unit '999999'"),
        (region, {"organiser_unit_code": "220000"}, "not a Red Cross branch of the region"),
        (captain, {}, None),  # a captain does not organise for the autonomous region
    ]
    for token, change, message in cases:
        response = await client.post("/api/v1/drills/", json=plan_body(**{**JOINT, **change}), headers=bearer(token))
        assert response.status_code == (422 if message else 403), (change, response.text)
        if message:
            assert message in response.json()["message"] and response.json()["details"][0]["field"] in ("unit_codes", "organiser_unit_code")
    assert await Drill.count() == 0 and await DrillUnit.count() == 0


async def test_the_planning_page_offers_the_region_leagues_and_partner_provinces(client, make_user) -> None:
    await _two_leagues()
    await sign_in(client, make_user, "region_coordinator", unit="150000")
    form = await client.get(f"/drills/new?scenario={MONTHLY}")
    assert form.status_code == 200
    assert re.search(r'<option value="150000"\s*>内蒙古自治区（自治区红十字会）</option>', form.text)  # the region organises
    for code in ("150400", "150200", "150900", "210000", "220000", "230000", "370000"):
        assert f'id="unit-{code}"' in form.text, code
    start = (datetime.now(CST) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {"_csrf_token": csrf_from(form.text), "scenario": MONTHLY, "title": "自治区水上救援联合训练", "organiser_team_code": "",
            "organiser_unit_code": "150000", "starts_at": local_input(start), "ends_at": "", "place": PLACE, "lat": "", "lon": "",
            "team_codes": "CF-WNT-01，BT-DH-01", "unit_codes": ["150400", "150200", "220000"], "more_unit_codes": "150426",
            "other_participants": "兴安盟应急管理局\n", "expected_participants": "40", "frequency": "", "interval": "1", "occurrences": "",
            **form_equipment(form.text)}
    created = await client.post("/drills/new", data=body, follow_redirects=False)
    assert created.status_code in (302, 303), created.text
    page = await client.get(created.headers["location"])
    units = re.search(r'<dd id="drill-units">(.*?)</dd>', page.text, re.S).group(1)
    assert [n for n in ("赤峰市", "包头市", "吉林省", "翁牛特旗") if n in units] == ["赤峰市", "包头市", "吉林省", "翁牛特旗"]
    assert 'href="/drills?league=150400"' in units  # a league's own calendar
    teams = re.search(r'<dd id="drill-teams">(.*?)</dd>', page.text, re.S).group(1)
    assert teams.count("<a ") == 2 and "兴安盟应急管理局" in page.text and "内蒙古自治区" in page.text
    assert await DrillUnit.count() == 4 and await DrillTeam.count() == 2
    bad = await client.post("/drills/new", data={**body, "unit_codes": ["150000"], "more_unit_codes": ""})
    assert bad.status_code == 422 and "unit_codes" in bad.text and 'id="page-error"' in bad.text
    assert 'value="150000" id="unit-150000"' not in bad.text and 'id="unit-220000" checked' not in bad.text  # the ticks sent come back
    assert await Drill.count() == 1


async def test_equipment_to_bring_is_stored_as_changed_and_checked_against_the_catalogue(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    changed = [{"type": "life_jacket", "quantity": 20}, {"type": "throw_bag", "quantity": 3}]
    drill = await plan(client, captain, equipment=changed)
    assert drill["equipment"] == changed
    assert (await client.get(f"/api/v1/drills/{drill['id']}", headers=bearer(captain))).json()["equipment"] == changed
    unknown = await client.post("/api/v1/drills/", json=plan_body(equipment=[*changed, {"type": "hovercraft", "quantity": 1}]),
                                headers=bearer(captain))
    assert unknown.status_code == 422 and "unknown equipment type 'hovercraft'" in unknown.json()["message"]
    assert unknown.json()["details"][0]["field"] == "equipment"
    twice = await client.post("/api/v1/drills/", json=plan_body(equipment=[*changed, {"type": "throw_bag", "quantity": 2}]),
                              headers=bearer(captain))
    assert twice.status_code == 422 and "'throw_bag' listed twice" in twice.json()["message"]
    assert await Drill.count() == 1


async def test_equipment_on_the_planning_page(client, make_user) -> None:
    await make_team()
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    scenario = await drills.get_scenario(MONTHLY)
    form = await client.get(f"/drills/new?scenario={MONTHLY}")
    sent = form_equipment(form.text)
    lines = [(t, q) for t, q in zip(sent["equipment_type"], sent["equipment_quantity"], strict=True) if t]
    assert lines == [(line.type, str(line.quantity)) for line in scenario.equipment]  # prefilled from the scenario
    assert sent["equipment_type"][-2:] == ["", ""]  # and room to add
    # Fewer life jackets, no first boat, headlamps added.
    types = [t for t, _ in lines][1:] + ["headlamp"]
    quantities = ["12" if t == "life_jacket" else q for t, q in lines][1:] + ["14"]
    start = datetime.now(UTC) + timedelta(days=2)
    body = {"_csrf_token": csrf_from(form.text), "scenario": MONTHLY, "organiser_team_code": "CF-WNT-01", "starts_at": local_input(start),
            "place": PLACE, "equipment_for": MONTHLY, "equipment_type": [*types, ""], "equipment_quantity": [*quantities, ""]}
    created = await client.post("/drills/new", data=body, follow_redirects=False)
    assert created.status_code in (302, 303), created.text
    stored = (await Drill.select(Drill.equipment).first())["equipment"]
    expected = [{"type": t, "quantity": int(q)} for t, q in zip(types, quantities, strict=True)]
    assert json.loads(stored) == expected and expected[0]["type"] != "inflatable_boat"
    assert {"type": "life_jacket", "quantity": 12} in expected
    page = await client.get(created.headers["location"])
    table = re.search(r'<table class="table compact" id="equipment-table">(.*?)</table>', page.text, re.S).group(1)
    assert "头灯" in table and '<td class="num">14 个</td>' in table
    assert table.count("<tr>") == len(expected)
    # A type the catalogue does not hold is refused, and the rows come back as typed.
    bad = await client.post("/drills/new", data={**body, "equipment_type": [*types, "hovercraft"], "equipment_quantity": [*quantities, "1"]})
    assert bad.status_code == 422 and "hovercraft" in bad.text and 'id="page-error"' in bad.text
    assert '<option value="hovercraft" selected>hovercraft</option>' in bad.text
    no_quantity = await client.post("/drills/new", data={**body, "equipment_type": [*types, "radio"], "equipment_quantity": [*quantities, ""]})
    assert no_quantity.status_code == 422 and "equipment" in no_quantity.text
    assert await Drill.count() == 1
    # Choosing another scenario swaps in its list (htmx); rows left from another scenario are not taken for this one.
    other = await client.get("/drills/new/equipment?scenario=cross_region_joint_drill")
    assert other.status_code == 200 and 'value="cross_region_joint_drill"' in other.text and "<html" not in other.text
    joint = await drills.get_scenario("cross_region_joint_drill")
    assert form_equipment(other.text)["equipment_type"][:len(joint.equipment)] == [line.type for line in joint.equipment]
    stale = await client.post("/drills/new", data={**body, "scenario": "cross_region_joint_drill"})
    assert stale.status_code == 422 and "另一个演练脚本" in stale.text
    assert form_equipment(stale.text)["equipment_for"] == "cross_region_joint_drill" and await Drill.count() == 1


async def test_a_drill_cannot_end_before_the_last_inject(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    last = (await drills.get_scenario(MONTHLY)).last_inject()
    start = datetime.now(UTC) + timedelta(days=1)
    early = await client.post("/api/v1/drills/", json=plan_body(starts_at=start.isoformat(),
                                                                ends_at=(start + timedelta(minutes=120)).isoformat()), headers=bearer(captain))
    assert early.status_code == 422, early.text
    message = early.json()["message"]
    assert message.startswith("ends_at: the drill would end 120 min after it starts")
    assert f"last inject '{last.id}' at {last.offset_minutes} min" in message
    assert (start + timedelta(minutes=last.offset_minutes)).astimezone(CST).strftime("%Y-%m-%d %H:%M") in message
    assert await Drill.count() == 0
    just = await client.post("/api/v1/drills/", json=plan_body(starts_at=start.isoformat(), ends_at=(
        start + timedelta(minutes=last.offset_minutes)).isoformat()), headers=bearer(captain))
    assert just.status_code == 201, just.text
    # On the page the same message, with the form as typed.
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    form = await client.get(f"/drills/new?scenario={MONTHLY}")
    body = {"_csrf_token": csrf_from(form.text), "scenario": MONTHLY, "organiser_team_code": "CF-WNT-01", "starts_at": local_input(start),
            "ends_at": local_input(start + timedelta(minutes=60)), "place": PLACE, **form_equipment(form.text)}
    refused = await client.post("/drills/new", data=body)
    assert refused.status_code == 422 and f"last inject &#39;{last.id}&#39;" in refused.text and await Drill.count() == 1


async def test_the_calendar_per_team_league_and_region(client, make_user) -> None:
    await _two_leagues()
    await make_team("OR-DS-01", unit="150602")  # Dongsheng District, Ordos: the west region
    _, admin = await make_user("admin")
    east = await plan(client, admin, title="赤峰队训练")
    central = await plan(client, admin, organiser_team_code="BT-DH-01", title="包头队训练")
    west = await plan(client, admin, organiser_team_code="OR-DS-01", title="鄂尔多斯队训练")
    joint = await plan(client, admin, title="自治区联合演练", organiser_team_code=None, organiser_unit_code="150000", team_codes=["CF-WNT-01"],
                       unit_codes=["150600", "220000"])
    every = {"east": east, "central": central, "west": west, "joint": joint}
    await sign_in(client, make_user, "admin")

    async def shown(query: str) -> list[str]:
        page = await client.get(f"/drills?{query}")
        assert page.status_code == 200, (query, page.text[:500])
        return sorted(name for name, d in every.items() if f'href="/drills/{d["id"]}"' in page.text)

    assert await shown("") == ["central", "east", "joint", "west"]
    assert await shown("team=CF-WNT-01") == ["east", "joint"]
    assert await shown("team=OR-DS-01") == ["west"]
    assert await shown("league=150400") == ["east", "joint"]
    assert await shown("league=150600") == ["joint", "west"]  # Ordos takes part in the joint drill
    assert await shown("region=east") == ["east", "joint"]
    assert await shown("region=central") == ["central"]
    assert await shown("region=west") == ["joint", "west"]
    assert await shown("region=150000") == ["central", "east", "joint", "west"]  # the whole autonomous region
    assert await shown("region=east&league=150600") == ["joint"]
    page = await client.get("/drills?region=west")
    assert '<option value="west" selected>' in page.text and "西部区域（骨干队：鄂尔多斯市）" in page.text
    assert re.findall(r'<tr data-team="([^"]+)">', page.text) == ["OR-DS-01"]  # the training plans of the region's teams
    nowhere = await client.get("/drills?region=south")
    assert nowhere.status_code == 404 and 'id="page-error"' in nowhere.text
    listed = await client.get("/api/v1/drills/?region=central", headers=bearer(admin))
    assert [d["id"] for d in listed.json()["items"]] == [central["id"]]


async def test_a_drill_held_counts_towards_the_training_plan(client, make_user) -> None:
    drill, team, captain = await _ended_drill_with_attendance(client, make_user)
    year = (await Drill.select(Drill.starts_at).where(Drill.id == drill["id"]).first())["starts_at"].astimezone(CST).year
    cancelled = await plan(client, captain, starts_at=soon(60))
    await client.post(f"/api/v1/drills/{cancelled['id']}/cancel", json={"reason": "大风蓝色预警"}, headers=bearer(captain))
    await client.put("/api/v1/drills/training-plans/CF-WNT-01", json={"year": year, "target_count": 2}, headers=bearer(captain))
    before = (await client.get(f"/api/v1/drills/training-progress?year={year}&team=CF-WNT-01", headers=bearer(captain))).json()[0]
    assert (before["held"], before["planned"]) == (1, 0)  # ended counts as held; the cancelled one not at all
    scenario = await drills.get_scenario(MONTHLY)
    await client.post(f"/api/v1/drills/{drill['id']}/evaluation", json={
        "evaluators": ["张评估"], "ratings": [{"objective_id": o.id, "rating": "P"} for o in scenario.objectives]}, headers=bearer(captain))
    called = datetime.now(UTC) - timedelta(hours=4)
    await client.put(f"/api/v1/drills/{drill['id']}/mobilisation", json={
        "called_at": called.isoformat(), "assembled_at": (called + timedelta(minutes=30)).isoformat()}, headers=bearer(captain))
    closed = await client.post(f"/api/v1/drills/{drill['id']}/close", headers=bearer(captain))
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    after = (await client.get(f"/api/v1/drills/training-progress?year={year}&team=CF-WNT-01", headers=bearer(captain))).json()[0]
    assert (after["target_count"], after["held"], after["planned"], after["on_track"]) == (2, 1, 0, False)
    # The calendar's training plan shows it as held.
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    await client.put("/api/v1/drills/training-plans/CF-WNT-01", json={"year": datetime.now(CST).year, "target_count": 2},
                     headers=bearer(captain))
    row = re.search(r'<tr data-team="CF-WNT-01">(.*?)</tr>', (await client.get("/drills")).text, re.S).group(1)
    if year == datetime.now(CST).year:  # the drill began three hours ago: the same year except just after New Year
        assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["2", "1", "0"]


async def test_training_progress_of_a_year_out_of_range_is_refused(client, make_user) -> None:
    _, admin = await make_user("admin")
    for year in (0, 1999, 2101, 9999):  # outside the range a training plan may have; 0 and 9999 broke the date arithmetic
        response = await client.get("/api/v1/drills/training-progress", params={"year": year}, headers=bearer(admin))
        assert response.status_code == 422 and response.json()["details"][0]["field"] == "year", response.text
    assert (await client.get("/api/v1/drills/training-progress", params={"year": 2100}, headers=bearer(admin))).status_code == 200


async def test_a_past_drill_keeps_its_scenario_version_and_new_plans_get_the_new_one(client, make_user, tmp_path: Path) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    old = await plan(client, captain)
    assert old["scenario_version"] == 1 and old["title"] == "水上救生月度技能训练"
    v1 = await drills.get_scenario(MONTHLY)
    data = yaml.safe_load((library.library_dir() / f"{MONTHLY}.yaml").read_text("utf-8"))
    data.update(version=2, title_zh="水上救生月度技能训练（2027 版）")
    data["injects"][0]["message_zh"] = "紧急集合（2027 版）：请两个艇组立即到队部签到。"
    data["equipment"].append({"type": "megaphone", "quantity": 1})
    (tmp_path / f"{MONTHLY}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    report = await drills.sync_library(tmp_path)
    assert "1 versions added" in report[0]

    again = (await client.get(f"/api/v1/drills/{old['id']}", headers=bearer(captain))).json()
    assert again["scenario_version"] == 1 and again["equipment"] == [line.model_dump() for line in v1.equipment]
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get(f"/drills/{old['id']}")
    assert f'href="/drills/scenarios/{MONTHLY}?version=1"' in page.text and "2027 版" not in page.text
    shown = await client.get(f"/drills/scenarios/{MONTHLY}?version=1")
    assert shown.status_code == 200 and v1.injects[0].message_zh in shown.text and "2027 版" not in shown.text.split('id="older-version"')[0]
    assert 'id="older-version"' in shown.text and 'id="plan-from-scenario"' not in shown.text
    console = await client.get(f"/drills/{old['id']}/console")
    assert v1.injects[0].message_zh in console.text and "紧急集合（2027 版）" not in console.text
    latest = await client.get(f"/drills/scenarios/{MONTHLY}")
    assert "紧急集合（2027 版）" in latest.text and 'id="older-version"' not in latest.text

    new = await plan(client, captain, starts_at=soon(60 * 24 * 3))
    assert new["scenario_version"] == 2 and new["title"] == "水上救生月度技能训练（2027 版）"
    assert {"type": "megaphone", "quantity": 1} in new["equipment"]
    pinned = await plan(client, captain, scenario_version=1, starts_at=soon(60 * 24 * 4))
    assert pinned["scenario_version"] == 1
