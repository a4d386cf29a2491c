"""The drill pages: calendar, library, planning form, drill page, phone check-in, evaluation, report and improvement items."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from rescueops.drills.tables import Attendance, Drill, DrillStatus, Evaluation, ImprovementItem, TrainingPlan
from tests.accounts.test_auth import csrf_from
from tests.conftest import bearer
from tests.drills.test_drills import MONTHLY, plan
from tests.factories import make_team
from tests.web.test_pages import sign_in

CST = ZoneInfo("Asia/Shanghai")
PLACE = "西拉木伦河乌丹段训练场"


def local_input(moment: datetime) -> str:
    """What a datetime-local input sends: China Standard Time, no zone."""
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


def form_equipment(html: str) -> dict[str, list[str]]:
    """The equipment rows of a planning form as a browser would send them: each row's chosen type and its quantity."""
    rows = re.findall(r'<select name="equipment_type".*?</select>\s*<input name="equipment_quantity" value="([^"]*)"', html, re.S)
    types = [re.search(r'<option value="([^"]*)" selected', row) for row in re.findall(
        r'<select name="equipment_type".*?</select>', html, re.S)]
    return {"equipment_type": [t.group(1) if t else "" for t in types], "equipment_quantity": rows,
            "equipment_for": re.search(r'name="equipment_for" value="([^"]*)"', html).group(1)}


async def _captain(client, make_user, members: int = 3) -> tuple[dict, str]:
    """A team with members, a captain signed in on the pages, and a captain's API token (for planning and cards)."""
    team = await make_team(members=members)
    _, token = await make_user("captain", team="CF-WNT-01")
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    return team, token


async def _card(client, token: str, person_id: int) -> str:
    response = await client.get(f"/api/v1/members/{person_id}/card", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["url"]



async def test_the_calendar_and_the_list_come_in_pages_with_past_apart_from_upcoming(client, make_user, monkeypatch) -> None:
    """A region's drills of every year would not fit one answer: the API and the calendar page give a page at a time with
    the total; upcoming drills soonest first, past ones (over, or ended early) latest first."""
    from rescueops.drills import pages

    _, token = await _captain(client, make_user)
    in_two_days, in_a_week, in_a_month, last_week, yesterday = [
        await plan(client, token, starts_at=(datetime.now(UTC) + timedelta(days=d)).isoformat()) for d in (2, 7, 30, 3, 4)]
    for drill, days_ago in ((last_week, 7), (yesterday, 1)):
        await Drill.update({Drill.starts_at: datetime.now(UTC) - timedelta(days=days_ago),
                            Drill.ends_at: datetime.now(UTC) - timedelta(days=days_ago) + timedelta(hours=3)}).where(Drill.id == drill["id"])

    def ids(answer) -> list[int]:
        assert answer.status_code == 200, answer.text
        return [d["id"] for d in answer.json()["items"]]

    upcoming = [in_two_days["id"], in_a_week["id"], in_a_month["id"]]
    assert ids(await client.get("/api/v1/drills/?past=false", headers=bearer(token))) == upcoming
    assert ids(await client.get("/api/v1/drills/?past=true", headers=bearer(token))) == [yesterday["id"], last_week["id"]]
    first = await client.get("/api/v1/drills/?limit=2", headers=bearer(token))
    assert ids(first) == [last_week["id"], yesterday["id"]] and first.json()["total"] == 5  # all of them, by start time
    assert ids(await client.get("/api/v1/drills/?past=false&limit=2&offset=2", headers=bearer(token))) == [in_a_month["id"]]
    assert (await client.get("/api/v1/drills/?limit=0", headers=bearer(token))).status_code == 422

    monkeypatch.setattr(pages, "CALENDAR_PAGE", 2)
    page_one = await client.get("/drills")
    assert re.findall(r'href="/drills/(\d+)" class="drill-title"', page_one.text) == [str(i) for i in upcoming[:2]]
    assert "第 1–2 场，共 3 场演练" in page_one.text and 'id="calendar-previous"' not in page_one.text
    following = re.search(r'href="(/drills\?[^"]+)" id="calendar-next"', page_one.text).group(1)
    page_two = await client.get(following.replace("&amp;", "&"))
    assert re.findall(r'href="/drills/(\d+)" class="drill-title"', page_two.text) == [str(upcoming[2])]
    assert "第 3–3 场，共 3 场演练" in page_two.text and 'id="calendar-next"' not in page_two.text
    past = await client.get("/drills?past=true")
    assert re.findall(r'href="/drills/(\d+)" class="drill-title"', past.text) == [str(yesterday["id"]), str(last_week["id"])]
    assert 'id="calendar-pager"' not in past.text  # two fit one page


async def test_every_page_renders_in_chinese_for_a_captain(client, make_user) -> None:
    team, token = await _captain(client, make_user)
    drill = await plan(client, token)
    calendar = await client.get("/drills")
    assert calendar.status_code == 200
    for text in ("训练演练", "水上救生月度技能训练", "单项演练", "已计划", PLACE, "计划演练", "演练脚本库", "整改事项", "年度训练计划"):
        assert text in calendar.text, text
    assert f'href="/drills/{drill["id"]}"' in calendar.text
    filtered = await client.get("/drills?team=CF-WNT-01")
    assert filtered.status_code == 200 and 'id="feed-link"' in filtered.text and "/ics/" in filtered.text
    unknown = await client.get("/drills?team=NOPE-99")
    assert unknown.status_code == 404 and 'id="page-error"' in unknown.text  # a message, not a stack trace
    assert "水上救生月度技能训练" not in (await client.get("/drills?past=true")).text

    library = await client.get("/drills/scenarios")
    assert library.status_code == 200 and "水上救生月度技能训练" in library.text and "基础" in library.text and "180 分钟" in library.text
    scenario = await client.get(f"/drills/scenarios/{MONTHLY}")
    assert scenario.status_code == 200
    for text in ("情景设定", "集结出动", "电话集结与到队签到", "安全注意事项", "情景注入", "用此脚本计划演练", "冲锋舟"):
        assert text in scenario.text, text
    injects = re.findall(r'id="inject-([a-z_]+)"', scenario.text)
    assert injects[0] == "phone_alert" and injects[-1] == "wrap_up"  # in offset order
    assert (await client.get("/drills/scenarios/no_such_scenario")).status_code == 404

    new = await client.get(f"/drills/new?scenario={MONTHLY}")
    assert new.status_code == 200 and "开始时间（北京时间）" in new.text
    assert f'<option value="{MONTHLY}" selected' in new.text and 'value="CF-WNT-01"' in new.text  # the captain's team

    page = await client.get(f"/drills/{drill['id']}")
    assert page.status_code == 200
    for text in ("签到记录", "点名签到", "扫码签到", "结束演练", "取消演练", "集结用时", "还没有人签到", "冲锋舟"):
        assert text in page.text, text
    assert page.text.count('name="present"') == 3  # the active members not yet checked in

    check_in = await client.get(f"/drills/{drill['id']}/check-in")
    assert check_in.status_code == 200 and "扫描队员证" in check_in.text and "autofocus" in check_in.text
    assert "队长（训练负责人）" in check_in.text  # the scenario's participant roles
    evaluate = await client.get(f"/drills/{drill['id']}/evaluate")
    assert evaluate.status_code == 200 and "只有已结束的演练才能评估" in evaluate.text
    report = await client.get(f"/drills/{drill['id']}/report")
    assert report.status_code == 409 and "尚未评估" in report.text
    improvements = await client.get("/drills/improvements")
    assert improvements.status_code == 200 and "暂无整改事项" in improvements.text


async def test_planning_through_the_form(client, make_user) -> None:
    await make_team("BT-DH-01", unit="150202")
    await _captain(client, make_user)
    form = await client.get(f"/drills/new?scenario={MONTHLY}")
    start = (datetime.now(CST) + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {"_csrf_token": csrf_from(form.text), "scenario": MONTHLY, "title": "", "organiser_team_code": "CF-WNT-01",
            "organiser_unit_code": "", "starts_at": local_input(datetime.now(UTC) - timedelta(hours=2)), "ends_at": "", "place": PLACE,
            "lat": "42.93", "lon": "119.02", "team_codes": "BT-DH-01，", "other_participants": "翁牛特旗消防救援大队\n乌丹镇卫生院\n",
            "expected_participants": "16", "frequency": "monthly", "interval": "1", "occurrences": "3", **form_equipment(form.text)}
    assert body["equipment_for"] == MONTHLY and "inflatable_boat" in body["equipment_type"]  # the scenario's list, to change
    past = await client.post("/drills/new", data=body)
    assert past.status_code == 422 and 'id="page-error"' in past.text and "starts_at" in past.text
    assert f'value="{PLACE}"' in past.text and "乌丹镇卫生院" in past.text and 'value="BT-DH-01，"' in past.text  # what was typed stays
    assert await Drill.count() == 0
    created = await client.post("/drills/new", data={**body, "starts_at": local_input(start)}, follow_redirects=False)
    assert created.status_code in (302, 303), created.text
    drills = await Drill.select(Drill.id, Drill.starts_at, Drill.ends_at, Drill.title).order_by(Drill.starts_at)
    assert len(drills) == 3 and created.headers["location"] == f"/drills/{drills[0]['id']}"
    first = drills[0]["starts_at"].replace(tzinfo=drills[0]["starts_at"].tzinfo or UTC)
    assert first == start and first.astimezone(CST).hour == 9  # typed as Beijing time
    assert drills[0]["ends_at"].replace(tzinfo=UTC) - first.replace(tzinfo=UTC) == timedelta(minutes=180)
    page = await client.get(created.headers["location"])
    assert "翁牛特旗红十字应急救援队" in page.text and "周期性训练中的一次" in page.text and "乌丹镇卫生院" in page.text
    bad = await client.post("/drills/new", data={**body, "starts_at": local_input(start), "lat": "北纬42度", "frequency": ""})
    assert bad.status_code == 422 and "lat" in bad.text and await Drill.count() == 3
    client.cookies.clear()
    await sign_in(client, make_user, "member", team="CF-WNT-01")
    assert (await client.get("/drills/new")).status_code == 403  # a member plans nothing
    assert 'id="plan-drill"' not in (await client.get("/drills")).text


async def test_scanning_cards_on_the_check_in_page(client, make_user) -> None:
    team, token = await _captain(client, make_user)
    drill = await plan(client, token)
    url = f"/drills/{drill['id']}/check-in"
    page = await client.get(url)
    card = await _card(client, token, team["people"][0])
    scanned = await client.post(url, data={"_csrf_token": csrf_from(page.text), "card": card + "\n", "role": "boat_drivers"},
                                follow_redirects=False)
    assert scanned.status_code in (302, 303), scanned.text
    assert scanned.headers["location"].startswith(f"{url}?person={team['people'][0]}")
    after = await client.get(scanned.headers["location"])
    assert "已签到：队员" in after.text and 'id="check-in-count">1<' in after.text
    assert '<option value="boat_drivers" selected' in after.text  # ready for the next scan with the same role
    again = await client.post(url, data={"_csrf_token": csrf_from(page.text), "card": card})
    assert again.status_code == 409 and "已签到过" in again.text and f'value="{card}"' in again.text
    revoked = await _card(client, token, team["people"][1])
    assert (await client.post(f"/api/v1/members/{team['people'][1]}/card/revoke", headers=bearer(token))).status_code in (200, 204)
    dead = await client.post(url, data={"_csrf_token": csrf_from(page.text), "card": revoked})
    assert dead.status_code in (404, 422) and "队员证无效" in dead.text and 'id="page-error"' in dead.text
    empty = await client.post(url, data={"_csrf_token": csrf_from(page.text), "card": "  "})
    assert empty.status_code == 422 and "请扫描队员证" in empty.text
    assert await Attendance.count() == 1
    # The captain calls the roll for the others on the drill page, then signs one out.
    drill_page = await client.get(f"/drills/{drill['id']}")
    none_ticked = await client.post(f"/drills/{drill['id']}/roll-call", data={"_csrf_token": csrf_from(drill_page.text)})
    assert none_ticked.status_code == 422 and "请勾选到场的队员" in none_ticked.text
    called = await client.post(f"/drills/{drill['id']}/roll-call", data={"_csrf_token": csrf_from(drill_page.text),
                                                                         "present": [str(p) for p in team["people"][1:]]},
                               follow_redirects=False)
    assert called.status_code in (302, 303), called.text
    listed = await client.get(f"/drills/{drill['id']}")
    assert "点名" in listed.text and "扫码" in listed.text and listed.text.count('name="present"') == 0
    out = await client.post(f"/drills/{drill['id']}/check-out/{team['people'][2]}", data={"_csrf_token": csrf_from(listed.text)},
                            follow_redirects=False)
    assert out.status_code in (302, 303)
    twice = await client.post(f"/drills/{drill['id']}/check-out/{team['people'][2]}", data={"_csrf_token": csrf_from(listed.text)})
    assert twice.status_code == 409 and 'id="page-error"' in twice.text
    assert await Attendance.count() == 3


def _hours_shown(member_page) -> list[Decimal]:
    """This year's and all-time service hours on a member's page (the engines print decimals differently: 3 or 3.00)."""
    assert member_page.status_code == 200
    hours = re.search(r"<h2>志愿服务时长</h2>\s*<p>(.*?)</p>", member_page.text, re.S).group(1)
    return [Decimal(n) for n in re.findall(r"<strong>([^<]+)</strong>", hours)]


async def _ended(client, token: str, team: dict) -> dict:
    """A drill that took place: planned, the members present, its times moved into the past, then ended on its page."""
    drill = await plan(client, token)
    await client.post(f"/api/v1/drills/{drill['id']}/roll-call", json={"present": team["people"]}, headers=bearer(token))
    start = datetime.now(UTC) - timedelta(hours=3)
    await Drill.update({Drill.starts_at: start, Drill.ends_at: start + timedelta(hours=3)}).where(Drill.id == drill["id"])
    await Attendance.update({Attendance.checked_in_at: start - timedelta(minutes=10)}).where(Attendance.drill == drill["id"])
    page = await client.get(f"/drills/{drill['id']}")
    ended = await client.post(f"/drills/{drill['id']}/end", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert ended.status_code in (302, 303), ended.text
    return drill


async def test_evaluate_record_mobilisation_close_and_download_the_report(client, make_user) -> None:
    team, token = await _captain(client, make_user)
    drill = await _ended(client, token, team)
    base = f"/drills/{drill['id']}"
    page = await client.get(base)
    assert "已结束" in page.text and 'id="evaluate-link"' in page.text and 'id="close-drill"' not in page.text
    form = await client.get(f"{base}/evaluate")
    objectives = re.findall(r'name="rating_([a-z_]+)" value="P"', form.text)
    assert objectives == ["phone_assembly", "ppe_check", "boat_handling", "throw_bag_accuracy", "dummy_rescue"]
    assert form.text.count('name="improvement_action"') >= 3 and "无挑战完成" in form.text
    body = {"_csrf_token": csrf_from(form.text), "evaluators": "张评估\n王评估\n", "strengths": "集合迅速\n互检认真",
            **{f"rating_{o}": r for o, r in zip(objectives, ["P", "S", "M", "U", "NO"], strict=True)},
            **{f"observations_{o}": f"{o} 观察记录" for o in objectives},
            "improvement_objective": [objectives[1], objectives[0], objectives[0]], "improvement_action": ["增加翻船自救训练频次", "", ""],
            "improvement_owner": ["巴特尔", "", ""], "improvement_due": ["2027-03-01", "", ""]}
    missing = await client.post(f"{base}/evaluate", data={k: v for k, v in body.items() if k != f"rating_{objectives[2]}"})
    assert missing.status_code == 422 and "尚未评定" in missing.text and "冲锋舟下水、试车与翻艇复位" in missing.text
    assert "张评估" in missing.text and "增加翻船自救训练频次" in missing.text and "ppe_check 观察记录" in missing.text  # kept
    half_row = await client.post(f"{base}/evaluate", data={**body, "improvement_action": ["增加翻船自救训练频次", "补充备用头盔", ""]})
    assert half_row.status_code == 422 and "improvements" in half_row.text and "补充备用头盔" in half_row.text
    assert await Evaluation.count() == 0
    saved = await client.post(f"{base}/evaluate", data=body, follow_redirects=False)
    assert saved.status_code in (302, 303) and saved.headers["location"] == f"{base}/report", saved.text
    ratings = {r["objective_id"]: r["rating"] for r in await Evaluation.select(Evaluation.objective_id, Evaluation.rating)}
    assert ratings == dict(zip(objectives, ["P", "S", "M", "U", "NO"], strict=True))
    assert await ImprovementItem.count() == 1
    report = await client.get(f"{base}/report")
    assert report.status_code == 200
    for text in ("演练评估总结报告", "无挑战完成", "有一定挑战完成", "未能完成", "未观察", "集合迅速", "增加翻船自救训练频次", "巴特尔", "张评估"):
        assert text in report.text, text
    again = await client.get(f"{base}/evaluate")
    assert "张评估" in again.text and 'name="rating_ppe_check" value="S" checked' in again.text  # evaluating again starts from it

    page = await client.get(base)
    early = await client.post(f"{base}/close", data={"_csrf_token": csrf_from(page.text)})
    assert early.status_code == 409 and "请先记录集结通知时间" in early.text
    called = datetime.now(UTC) - timedelta(hours=4)
    backwards = await client.post(f"{base}/mobilisation", data={"_csrf_token": csrf_from(page.text), "called_at": local_input(called),
                                                                "assembled_at": local_input(called - timedelta(minutes=5))})
    assert backwards.status_code == 422 and local_input(called) in backwards.text
    recorded = await client.post(f"{base}/mobilisation", data={"_csrf_token": csrf_from(page.text), "called_at": local_input(called),
                                                               "assembled_at": local_input(called + timedelta(minutes=38))}, follow_redirects=False)
    assert recorded.status_code in (302, 303)
    assert "38.0 分钟" in (await client.get(base)).text
    assert _hours_shown(await client.get(f"/members/{team['people'][0]}")) == [0, 0]  # no hours until the drill is closed
    closed = await client.post(f"{base}/close", data={"_csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert closed.status_code in (302, 303)
    assert (await Drill.select(Drill.status).first())["status"] == DrillStatus.closed.value
    assert "已关闭" in (await client.get(base)).text
    # Each member's page now shows the drill's hours (3 h 10 min present, rounded down to quarter hours).
    assert _hours_shown(await client.get(f"/members/{team['people'][0]}")) == [3, 3]
    assert f'href="{base}"' in (await client.get("/drills?past=true")).text  # over: on the past tab only
    assert f'href="{base}"' not in (await client.get("/drills")).text

    markdown = await client.get(f"{base}/report.md")
    assert markdown.status_code == 200 and "attachment" in markdown.headers["content-disposition"]
    assert "增加翻船自救训练频次" in markdown.text
    pdf = await client.get(f"{base}/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]


async def test_closing_an_improvement_item(client, make_user) -> None:
    team, token = await _captain(client, make_user)
    drill = await _ended(client, token, team)
    scenario = (await client.get(f"/api/v1/drills/scenarios/{MONTHLY}", headers=bearer(token))).json()
    await client.post(f"/api/v1/drills/{drill['id']}/evaluation", headers=bearer(token), json={
        "evaluators": ["张评估"], "ratings": [{"objective_id": o["id"], "rating": "S"} for o in scenario["objectives"]],
        "improvements": [{"objective_id": "throw_bag_accuracy", "action": "抛绳包每周加练", "owner": "巴特尔", "due_on": "2020-01-01"},
                         {"objective_id": "ppe_check", "action": "补充备用头盔", "owner": "其其格", "due_on": "2099-01-01"}]})
    page = await client.get("/drills/improvements")
    assert page.status_code == 200 and "抛绳包每周加练" in page.text and "已逾期" in page.text and "抛绳包准确度考核" in page.text
    assert page.text.index("抛绳包每周加练") < page.text.index("补充备用头盔")  # overdue first
    item = (await ImprovementItem.select(ImprovementItem.id).where(ImprovementItem.action == "抛绳包每周加练").first())["id"]
    short = await client.post(f"/drills/improvements/{item}/close", data={"_csrf_token": csrf_from(page.text), "note": "好"})
    assert short.status_code == 422 and 'value="好"' in short.text
    done = await client.post(f"/drills/improvements/{item}/close", data={"_csrf_token": csrf_from(page.text), "note": "已改为每周两次"},
                             follow_redirects=False)
    assert done.status_code in (302, 303)
    after = await client.get("/drills/improvements")
    assert "已改为每周两次" in after.text and after.text.index("补充备用头盔") < after.text.index("抛绳包每周加练")  # open first
    twice = await client.post(f"/drills/improvements/{item}/close", data={"_csrf_token": csrf_from(page.text), "note": "再次关闭"})
    assert twice.status_code == 409 and 'id="page-error"' in twice.text


async def test_setting_a_yearly_target_on_the_calendar(client, make_user) -> None:
    await _captain(client, make_user)
    calendar = await client.get("/drills")
    year = datetime.now(CST).year
    bad = await client.post("/drills/training-plans", data={"_csrf_token": csrf_from(calendar.text), "team_code": "CF-WNT-01",
                                                            "year": str(year), "target_count": "0", "note": "每月一次"})
    assert bad.status_code == 422 and 'value="每月一次"' in bad.text and await TrainingPlan.count() == 0
    saved = await client.post("/drills/training-plans", data={"_csrf_token": csrf_from(calendar.text), "team_code": "CF-WNT-01",
                                                              "year": str(year), "target_count": "12", "note": "每月一次"},
                              follow_redirects=False)
    assert saved.status_code in (302, 303)
    progress = await client.get(saved.headers["location"])
    row = re.search(r'<tr data-team="CF-WNT-01">(.*?)</tr>', progress.text, re.S).group(1)
    assert ">12<" in row and "落后" in row


async def test_a_drill_outside_the_scope_is_not_found(client, make_user) -> None:
    await make_team()
    await make_team("BT-DH-01", unit="150202", members=1)
    _, baotou = await make_user("captain", team="BT-DH-01")
    drill = await plan(client, baotou, organiser_team_code="BT-DH-01")
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    for path in ("", "/check-in", "/evaluate", "/report", "/report.md", "/report.pdf"):
        response = await client.get(f"/drills/{drill['id']}{path}")
        assert response.status_code == 404, path
    calendar = await client.get("/drills")
    page = await client.get("/drills/improvements")
    assert drill["title"] not in calendar.text
    posted = await client.post(f"/drills/{drill['id']}/end", data={"_csrf_token": csrf_from(page.text)})
    assert posted.status_code == 404 and (await Drill.select(Drill.status).first())["status"] == "planned"


async def test_console_releases_injects_and_participants_acknowledge_them(client, make_user) -> None:
    from tests.drills.test_conduct import _team_with_logins

    team, token, _ = await _team_with_logins(client, make_user, 1)
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    drill = await plan(client, token, starts_at=(datetime.now(UTC) + timedelta(minutes=5)).isoformat())
    await client.post(f"/api/v1/drills/{drill['id']}/roll-call", json={"present": team["people"]}, headers=bearer(token))
    console = await client.get(f"/drills/{drill['id']}/console")
    assert console.status_code == 200 and "演练控制台" in console.text and 'id="clock-start"' in console.text
    started = await client.post(f"/drills/{drill['id']}/clock/start", data={"_csrf_token": csrf_from(console.text)}, follow_redirects=False)
    assert started.status_code in (302, 303), started.text
    console = await client.get(f"/drills/{drill['id']}/console")
    assert 'data-inject="phone_alert"' in console.text and "演练 EXERCISE：" in console.text and "预期行动" in console.text
    again = await client.post(f"/drills/{drill['id']}/clock/start", data={"_csrf_token": csrf_from(console.text)})
    assert again.status_code == 409 and 'id="page-error"' in again.text
    # The member, on their phone: the message without what the evaluators expect, and a button to acknowledge it.
    client.cookies.clear()
    from rescueops.accounts import service as accounts

    member_id = await accounts.find_user_id("member-0")
    client.cookies.set("rescueops_session", await accounts.start_session(member_id, None))
    phone = await client.get(f"/drills/{drill['id']}/injects")
    assert phone.status_code == 200 and "演练 EXERCISE：" in phone.text and "预期行动" not in phone.text
    acked = await client.post(f"/drills/{drill['id']}/injects/phone_alert/ack", data={"_csrf_token": csrf_from(phone.text)}, follow_redirects=False)
    assert acked.status_code in (302, 303)
    assert "✔" in (await client.get(f"/drills/{drill['id']}/injects")).text
    inbox = await client.get("/inbox")
    assert "演练 EXERCISE" in inbox.text


async def test_a_member_finds_their_own_calendar_feed(client, make_user) -> None:
    from tests.drills.test_conduct import _team_with_logins

    await _team_with_logins(client, make_user, 1)
    from rescueops.accounts import service as accounts

    client.cookies.set("rescueops_session", await accounts.start_session(await accounts.find_user_id("member-0"), None))
    page = await client.get("/drills")
    assert page.status_code == 200 and 'id="my-feed-link"' in page.text and "/ics/" in page.text


async def test_a_member_leaving_scans_the_card_again_to_sign_out(client, make_user) -> None:
    team, token = await _captain(client, make_user, members=1)
    drill = await plan(client, token)
    card = await _card(client, token, team["people"][0])
    form = await client.get(f"/drills/{drill['id']}/check-in")
    checked = await client.post(f"/drills/{drill['id']}/check-in", data={"_csrf_token": csrf_from(form.text), "card": card, "direction": "in"},
                                follow_redirects=True)
    assert checked.status_code == 200 and "已签到" in checked.text
    left = await client.post(f"/drills/{drill['id']}/check-in", data={"_csrf_token": csrf_from(form.text), "card": card, "direction": "out"},
                             follow_redirects=True)
    assert left.status_code == 200 and "已签退" in left.text
    assert (await Attendance.select(Attendance.checked_out_at).first())["checked_out_at"] is not None
    twice = await client.post(f"/api/v1/drills/{drill['id']}/check-outs", json={"card": card}, headers=bearer(token))
    assert twice.status_code == 409 and twice.json()["code"] == "not_checked_in"
