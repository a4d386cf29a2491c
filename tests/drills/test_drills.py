"""Planning, recurrence, attendance, evaluation, closing with hours, the AAR, calendar feeds and training plans."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from pypdf import PdfReader

from rescueops.drills.schemas import RecurrenceIn
from rescueops.drills.service import occurrences
from rescueops.drills.tables import Attendance, Drill
from rescueops.events.tables import OutboxEvent
from rescueops.members.tables import HoursEntry
from tests.conftest import bearer
from tests.factories import make_team

CST = ZoneInfo("Asia/Shanghai")
MONTHLY = "water_rescue_monthly_training"


def soon(minutes: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def plan_body(**extra) -> dict:
    return {"scenario_id": MONTHLY, "organiser_team_code": "CF-WNT-01", "starts_at": soon(), "place": "西拉木伦河乌丹段训练场",
            "lat": 42.93, "lon": 119.02, **extra}


async def plan(client, token: str, **extra) -> dict:
    response = await client.post("/api/v1/drills/", json=plan_body(**extra), headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()[0]


def test_recurrence_keeps_the_day_of_the_month_or_the_last_day() -> None:
    start = datetime(2027, 1, 31, 9, 0, tzinfo=CST)
    monthly = occurrences(start, start + timedelta(hours=3), RecurrenceIn(frequency="monthly", occurrences=4))
    assert [s.date().isoformat() for s, _ in monthly] == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]
    assert all(s.hour == 9 and e - s == timedelta(hours=3) for s, e in monthly)
    fortnightly = occurrences(start, start + timedelta(hours=2), RecurrenceIn(frequency="weekly", interval=2, occurrences=3))
    assert [s.date().isoformat() for s, _ in fortnightly] == ["2027-01-31", "2027-02-14", "2027-02-28"]
    assert occurrences(start, start + timedelta(hours=1), None) == [(start, start + timedelta(hours=1))]


async def test_a_captain_plans_a_monthly_training_from_the_library(client, make_user) -> None:
    await make_team(members=2)
    _, captain = await make_user("captain", team="CF-WNT-01")
    start = datetime(2027, 1, 31, 9, 0, tzinfo=CST)
    response = await client.post("/api/v1/drills/", json=plan_body(
        starts_at=start.isoformat(), recurrence={"frequency": "monthly", "occurrences": 3}), headers=bearer(captain))
    assert response.status_code == 201, response.text
    drills = response.json()
    assert [d["starts_at"][:10] for d in drills] == ["2027-01-31", "2027-02-28", "2027-03-31"]
    first = drills[0]
    assert first["scenario_id"] == MONTHLY and first["scenario_version"] == 1 and first["status"] == "planned"
    assert [t["code"] for t in first["teams"]] == ["CF-WNT-01"] and first["series_id"] == drills[2]["series_id"] is not None
    assert first["equipment"]  # what the scenario asks for, unless the plan says otherwise
    assert await OutboxEvent.count().where(OutboxEvent.type == "drill.scheduled") == 3
    listed = await client.get("/api/v1/drills/?team=CF-WNT-01&start=2027-02-01T00:00:00Z", headers=bearer(captain))
    assert listed.json()["total"] == 2 and [d["id"] for d in listed.json()["items"]] == [drills[1]["id"], drills[2]["id"]]


async def test_bad_plans_are_refused_and_write_nothing(client, make_user) -> None:
    await make_team()
    await make_team("BT-DH-01", unit="150202")
    _, captain = await make_user("captain", team="CF-WNT-01")
    cases = [
        (plan_body(starts_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat()), 422, "starts_at"),
        (plan_body(ends_at=(datetime.now(UTC) + timedelta(minutes=10)).isoformat()), 422, "ends_at"),
        (plan_body(scenario_id="no_such_scenario"), 404, None),
        (plan_body(team_codes=["NOPE-01"]), 422, "team_codes"),
        (plan_body(organiser_unit_code="150426"), 422, "organiser"),
        (plan_body(organiser_team_code="BT-DH-01"), 403, None),
        (plan_body(starts_at="2027-01-01T09:00:00"), 422, "starts_at"),  # no time zone: ambiguous
    ]
    for body, status, field in cases:
        response = await client.post("/api/v1/drills/", json=body, headers=bearer(captain))
        assert response.status_code == status, (body, response.text)
        if field:
            assert field in response.text
    assert await Drill.count() == 0


async def test_attendance_by_card_and_roll_call(client, make_user) -> None:
    team = await make_team(members=4)
    other = await make_team("BT-DH-01", unit="150202", members=1)
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, admin = await make_user("admin")
    drill = await plan(client, captain)
    card = (await client.get(f"/api/v1/members/{team['people'][0]}/card", headers=bearer(captain))).json()
    scanned = await client.post(f"/api/v1/drills/{drill['id']}/check-ins", json={"card": card["url"], "role": "boat_crew"},
                                headers=bearer(captain))
    if scanned.status_code == 422 and "role" in scanned.text:  # the scenario names its roles; use the first one
        roles = (await client.get(f"/api/v1/drills/scenarios/{MONTHLY}", headers=bearer(captain))).json()["participants"]
        scanned = await client.post(f"/api/v1/drills/{drill['id']}/check-ins", json={"card": card["url"], "role": roles[0]["role"]},
                                    headers=bearer(captain))
    assert scanned.status_code == 201, scanned.text
    assert scanned.json()["method"] == "scan" and scanned.json()["late"] is False
    again = await client.post(f"/api/v1/drills/{drill['id']}/check-ins", json={"card": card["token"]}, headers=bearer(captain))
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
    stranger = (await client.get(f"/api/v1/members/{other['people'][0]}/card", headers=bearer(admin))).json()
    refused = await client.post(f"/api/v1/drills/{drill['id']}/check-ins", json={"card": stranger["token"]}, headers=bearer(captain))
    assert refused.status_code == 422 and refused.json()["code"] == "not_invited"
    revoked = (await client.get(f"/api/v1/members/{team['people'][1]}/card", headers=bearer(captain))).json()
    await client.post(f"/api/v1/members/{team['people'][1]}/card/revoke", headers=bearer(captain))
    dead = await client.post(f"/api/v1/drills/{drill['id']}/check-ins", json={"card": revoked["token"]}, headers=bearer(captain))
    assert dead.status_code in (404, 422) and dead.json()["code"] == "card_invalid"
    # Roll call: all or none — one outsider in the list writes nothing.
    mixed = await client.post(f"/api/v1/drills/{drill['id']}/roll-call", json={"present": [team["people"][1], other["people"][0]]},
                              headers=bearer(captain))
    assert mixed.status_code == 422 and await Attendance.count() == 1
    # Time passes: the drill has started, so the next arrival is late.
    await Drill.update({Drill.starts_at: datetime.now(UTC) - timedelta(minutes=20)}).where(Drill.id == drill["id"])
    called = await client.post(f"/api/v1/drills/{drill['id']}/roll-call", json={"present": team["people"][1:3]}, headers=bearer(captain))
    assert called.status_code == 200, called.text
    by_person = {a["person_id"]: a for a in called.json()}
    assert by_person[team["people"][1]]["late"] is True and by_person[team["people"][1]]["method"] == "roll_call"
    assert by_person[team["people"][0]]["late"] is False
    out = await client.post(f"/api/v1/drills/{drill['id']}/check-outs/{team['people'][2]}", headers=bearer(captain))
    assert out.status_code == 200 and out.json()["checked_out_at"]
    assert (await client.post(f"/api/v1/drills/{drill['id']}/check-outs/{team['people'][2]}", headers=bearer(captain))).status_code == 409


async def _ended_drill_with_attendance(client, make_user) -> tuple[dict, dict, str]:
    team = await make_team(members=3)
    _, captain = await make_user("captain", team="CF-WNT-01")
    drill = await plan(client, captain)
    await client.post(f"/api/v1/drills/{drill['id']}/roll-call", json={"present": team["people"]}, headers=bearer(captain))
    # The exercise took place: the members checked in three hours before it ended.
    start = datetime.now(UTC) - timedelta(hours=3)
    await Drill.update({Drill.starts_at: start, Drill.ends_at: start + timedelta(hours=3)}).where(Drill.id == drill["id"])
    await Attendance.update({Attendance.checked_in_at: start - timedelta(minutes=10)}).where(Attendance.drill == drill["id"])
    ended = await client.post(f"/api/v1/drills/{drill['id']}/end", headers=bearer(captain))
    assert ended.status_code == 200 and ended.json()["status"] == "ended", ended.text
    return drill, team, captain


async def test_evaluate_close_credit_hours_and_the_report(client, make_user) -> None:
    drill, team, captain = await _ended_drill_with_attendance(client, make_user)
    scenario = (await client.get(f"/api/v1/drills/scenarios/{MONTHLY}", headers=bearer(captain))).json()
    objectives = [o["id"] for o in scenario["objectives"]]
    ratings = [{"objective_id": o, "rating": r, "observations": f"{o} 观察记录"} for o, r in zip(objectives, "PSMU" * 3, strict=False)]
    body = {"evaluators": ["张评估", "王评估"], "ratings": ratings, "strengths": ["集合迅速"],
            "improvements": [{"objective_id": objectives[1], "action": "增加翻船自救训练频次", "owner": "巴特尔", "due_on": "2027-03-01"}]}
    missing = await client.post(f"/api/v1/drills/{drill['id']}/evaluation", json={**body, "ratings": ratings[1:]}, headers=bearer(captain))
    assert missing.status_code == 422 and objectives[0] in missing.text
    unknown = await client.post(f"/api/v1/drills/{drill['id']}/evaluation",
                                json={**body, "ratings": [*ratings, {"objective_id": "flying", "rating": "P"}]}, headers=bearer(captain))
    assert unknown.status_code == 422 and "flying" in unknown.text
    evaluated = await client.post(f"/api/v1/drills/{drill['id']}/evaluation", json=body, headers=bearer(captain))
    assert evaluated.status_code == 200, evaluated.text
    aar = evaluated.json()
    assert [r["rating"] for r in aar["results"]] == [r["rating"] for r in ratings]
    assert aar["evaluators"] == ["张评估", "王评估"] and aar["improvements"][0]["owner"] == "巴特尔"
    if scenario["measures_mobilisation"]:
        early = await client.post(f"/api/v1/drills/{drill['id']}/close", headers=bearer(captain))
        assert early.status_code == 409 and early.json()["code"] == "mobilisation_missing"
        called = datetime.now(UTC) - timedelta(hours=4)
        mob = await client.put(f"/api/v1/drills/{drill['id']}/mobilisation", json={
            "called_at": called.isoformat(), "assembled_at": (called + timedelta(minutes=38)).isoformat()}, headers=bearer(captain))
        assert mob.status_code == 200 and mob.json()["mobilisation_minutes"] == 38.0
    closed = await client.post(f"/api/v1/drills/{drill['id']}/close", headers=bearer(captain))
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    hours = await HoursEntry.select(HoursEntry.person, HoursEntry.hours, HoursEntry.source, HoursEntry.status)
    assert sorted(h["person"] for h in hours) == sorted(team["people"])
    assert {(float(h["hours"]), h["source"], h["status"]) for h in hours} == {(3.0, "drill", "approved")}  # capped at the end
    second = await client.post(f"/api/v1/drills/{drill['id']}/evaluation", json=body, headers=bearer(captain))
    assert second.status_code == 409
    member = (await client.get(f"/api/v1/members/{team['people'][0]}", headers=bearer(captain))).json()
    assert float(member["hours_total"]) == 3.0
    markdown = await client.get(f"/api/v1/drills/{drill['id']}/report.md", headers=bearer(captain))
    assert markdown.status_code == 200 and "增加翻船自救训练频次" in markdown.text
    pdf = await client.get(f"/api/v1/drills/{drill['id']}/report.pdf", headers=bearer(captain))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "巴特尔" in text
    items = await client.get("/api/v1/drills/improvements?status=open", headers=bearer(captain))
    item = items.json()[0]
    done = await client.post(f"/api/v1/drills/improvements/{item['id']}/close", json={"note": "已增加到每月两次"}, headers=bearer(captain))
    assert done.status_code == 200 and done.json()["status"] == "closed"
    assert (await client.post(f"/api/v1/drills/improvements/{item['id']}/close", json={"note": "再次"}, headers=bearer(captain))).status_code == 409


async def test_drills_are_seen_and_run_within_scope(client, make_user) -> None:
    await make_team()
    await make_team("BT-DH-01", unit="150202")
    await make_team("CF-HSS-01", unit="150402")
    _, supervisor = await make_user("league_supervisor", unit="150400")
    _, baotou_captain = await make_user("captain", team="BT-DH-01")
    _, hss_captain = await make_user("captain", team="CF-HSS-01")
    joint = await client.post("/api/v1/drills/", json=plan_body(organiser_team_code=None, organiser_unit_code="150400",
                                                                team_codes=["CF-WNT-01", "CF-HSS-01"]), headers=bearer(supervisor))
    assert joint.status_code == 201, joint.text
    drill_id = joint.json()[0]["id"]
    assert (await client.get(f"/api/v1/drills/{drill_id}", headers=bearer(baotou_captain))).status_code == 404
    assert (await client.get(f"/api/v1/drills/{drill_id}", headers=bearer(hss_captain))).status_code == 200  # an invited team
    assert [d["id"] for d in (await client.get("/api/v1/drills/", headers=bearer(hss_captain))).json()["items"]] == [drill_id]
    assert (await client.get("/api/v1/drills/", headers=bearer(baotou_captain))).json()["items"] == []
    cancel = await client.post(f"/api/v1/drills/{drill_id}/cancel", json={"reason": "大风"}, headers=bearer(hss_captain))
    assert cancel.status_code == 403  # only the organiser cancels
    cancelled = await client.post(f"/api/v1/drills/{drill_id}/cancel", json={"reason": "大风蓝色预警，改期"}, headers=bearer(supervisor))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    roll = await client.post(f"/api/v1/drills/{drill_id}/roll-call", json={"present": [1]}, headers=bearer(supervisor))
    assert roll.status_code == 409 and roll.json()["code"] == "drill_not_open"


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_calendar_feeds_parse(client, make_user) -> None:
    team = await make_team(members=1)
    _, captain = await make_user("captain", team="CF-WNT-01")
    await plan(client, captain)
    await plan(client, captain, starts_at=soon(60 * 24 * 7), title="第二次训练")
    link = (await client.get("/api/v1/drills/feeds?team=CF-WNT-01", headers=bearer(captain))).json()["url"]
    feed = await client.get(_path(link))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert sorted(str(e["summary"]) for e in events)[1] == "演练：第二次训练"
    assert all(str(e["location"]) == "西拉木伦河乌丹段训练场" for e in events)
    _, member_token = await make_user("member", team="CF-WNT-01", username="qiqige")
    assert (await client.get("/api/v1/drills/feeds", headers=bearer(member_token))).status_code == 404  # not linked to a member yet
    linked = await client.put(f"/api/v1/members/{team['people'][0]}/account", json={"username": "qiqige"}, headers=bearer(captain))
    assert linked.status_code == 200, linked.text
    own = (await client.get("/api/v1/drills/feeds", headers=bearer(member_token))).json()["url"]
    assert own != link and len(Calendar.from_ical((await client.get(_path(own))).content).walk("VEVENT")) == 2
    assert (await client.get("/ics/forged-token.ics")).status_code == 404


async def test_training_plan_progress(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    year = datetime.now(CST).year + 1
    await plan(client, captain, starts_at=datetime(year, 3, 1, 9, tzinfo=CST).isoformat(),
               recurrence={"frequency": "monthly", "occurrences": 4})
    set_plan = await client.put("/api/v1/drills/training-plans/CF-WNT-01", json={"year": year, "target_count": 12}, headers=bearer(captain))
    assert set_plan.status_code == 200, set_plan.text
    assert set_plan.json() | {"team": None} == {"team": None, "year": year, "target_count": 12, "held": 0, "planned": 4, "on_track": False}
    lowered = await client.put("/api/v1/drills/training-plans/CF-WNT-01", json={"year": year, "target_count": 4}, headers=bearer(captain))
    assert lowered.json()["on_track"] is True


async def test_a_drill_not_yet_begun_cannot_be_ended_and_a_closed_one_takes_no_check_out(client, make_user) -> None:
    team = await make_team(members=1)
    _, captain = await make_user("captain", team="CF-WNT-01")
    later = await plan(client, captain, starts_at=soon(60 * 24 * 30))
    early = await client.post(f"/api/v1/drills/{later['id']}/end", headers=bearer(captain))
    assert early.status_code == 409 and early.json()["code"] == "drill_not_open"
    cancelled = await client.post(f"/api/v1/drills/{later['id']}/cancel", json={"reason": "改期"}, headers=bearer(captain))
    assert cancelled.json()["cancel_reason"] == "改期"
    assert (await client.post(f"/api/v1/drills/{later['id']}/cancel", json={"reason": "x"}, headers=bearer(captain))).status_code == 422
    now = await plan(client, captain)
    await client.post(f"/api/v1/drills/{now['id']}/roll-call", json={"present": team["people"]}, headers=bearer(captain))
    await client.post(f"/api/v1/drills/{now['id']}/end", headers=bearer(captain))
    out = await client.post(f"/api/v1/drills/{now['id']}/check-outs/{team['people'][0]}", headers=bearer(captain))
    assert out.status_code == 409 and out.json()["code"] == "drill_not_open"
    unknown = await client.post("/api/v1/drills/", json=plan_body(organiser_team_code="NOPE-01"), headers=bearer(captain))
    assert unknown.status_code == 422 and "organiser_team_code" in unknown.text
    assert (await client.get("/api/v1/drills/?team=NOPE-01", headers=bearer(captain))).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
