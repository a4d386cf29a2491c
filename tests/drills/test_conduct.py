"""Reminders (once, across schedulers), live conduct: the exercise clock, injects released once at their offsets,
acknowledgements, and timing objectives scored from the logged events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from rescueops.calendar import china_today
from rescueops.drills import service as drills
from rescueops.drills.tables import Drill, InjectDelivery
from rescueops.events.tables import Notification, OutboxEvent
from rescueops.jobs import service as jobs
from rescueops.jobs.tables import JobRun
from tests.conftest import bearer
from tests.drills.test_drills import MONTHLY, plan, soon
from tests.factories import counting, make_team


async def _team_with_logins(client, make_user, members: int = 2) -> tuple[dict, str, list[str]]:
    """A team whose members have logins; returns (team, captain token, member tokens)."""
    team = await make_team(members=members)
    _, captain = await make_user("captain", team="CF-WNT-01")
    tokens = []
    for index, person_id in enumerate(team["people"]):
        _, token = await make_user("member", team="CF-WNT-01", username=f"member-{index}")
        linked = await client.put(f"/api/v1/members/{person_id}/account", json={"username": f"member-{index}"}, headers=bearer(captain))
        assert linked.status_code == 200, linked.text
        tokens.append(token)
    return team, captain, tokens


async def test_reminders_a_week_ahead_and_the_day_before_arrive_once(client, make_user) -> None:
    _, captain, tokens = await _team_with_logins(client, make_user)
    in_three_days = await plan(client, captain, starts_at=soon(60 * 72))
    tomorrow = await plan(client, captain, starts_at=soon(60 * 5))
    await plan(client, captain, starts_at=soon(60 * 24 * 20))  # too far ahead for any reminder
    assert await drills.remind_upcoming() == "6 reminders sent"  # two members and the captain, for each of two drills
    assert await drills.remind_upcoming() == "0 reminders sent"
    keys = sorted(r["dedupe_key"].rsplit(":", 1)[0] for r in await Notification.select(Notification.dedupe_key))
    assert keys == sorted([f"drill:{in_three_days['id']}:t-7"] * 3 + [f"drill:{tomorrow['id']}:t-1"] * 3)
    assert await OutboxEvent.count().where(OutboxEvent.type == "notification.sent") == 2
    inbox = (await client.get("/api/v1/notifications/?unread=true", headers=bearer(tokens[0]))).json()
    assert len(inbox) == 2 and all(m["title"].startswith("演练提醒") for m in inbox)
    read = await client.post(f"/api/v1/notifications/{inbox[0]['id']}/read", headers=bearer(tokens[0]))
    assert read.status_code == 200 and read.json()["read_at"]
    assert len((await client.get("/api/v1/notifications/?unread=true", headers=bearer(tokens[0]))).json()) == 1
    assert (await client.post(f"/api/v1/notifications/{inbox[0]['id']}/read", headers=bearer(tokens[1]))).status_code == 404  # not theirs
    # A drill that ended without being logged: its captain is asked to log it, once.
    await Drill.update({Drill.starts_at: datetime.now(UTC) - timedelta(days=2), Drill.ends_at: datetime.now(UTC) - timedelta(days=1)}).where(
        Drill.id == tomorrow["id"])
    assert await drills.remind_unlogged() == "1 reminders sent"
    assert await drills.remind_unlogged() == "0 reminders sent"


async def test_the_reminders_read_their_recipients_once_for_all_the_drills(client, make_user) -> None:
    """Only each drill's own messages (its inbox insert, its event) cost statements per drill: who to tell is read once."""
    _, captain, _ = await _team_with_logins(client, make_user)
    ended = datetime.now(UTC) - timedelta(days=1)

    async def statements(job) -> tuple[int, str]:
        async with counting() as queries:
            outcome = await job()
        return queries.count, outcome

    await plan(client, captain, starts_at=soon(60 * 72))
    one = await statements(drills.remind_upcoming)
    for hours in (70, 60, 50):
        await plan(client, captain, starts_at=soon(60 * hours))
    four = await statements(drills.remind_upcoming)
    assert (one[1], four[1]) == ("3 reminders sent", "9 reminders sent")  # the first drill's people were told before
    per_drill = (four[0] - one[0]) / 3
    assert per_drill <= 4, f"{per_drill} statements per drill"  # the inbox insert, the event's place and outbox row
    await Drill.update({Drill.starts_at: ended - timedelta(days=1), Drill.ends_at: ended}).where(Drill.id > 0)
    unlogged = await statements(drills.remind_unlogged)
    assert unlogged[1] == "4 reminders sent" and unlogged[0] <= 4 + 4 * 4, unlogged


async def test_two_schedulers_sharing_the_database_send_each_reminder_once(client, make_user) -> None:
    _, captain, _ = await _team_with_logins(client, make_user)
    await plan(client, captain, starts_at=soon(60 * 5))
    first, second = jobs.start_scheduler(), jobs.start_scheduler()  # as two api/worker processes would
    try:
        for _ in range(100):  # both run every job once at start; wait for the outcomes
            runs = await JobRun.select().where(JobRun.job_id == "drills.remind_upcoming")
            if runs and runs[0]["finished_at"] is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)
    await asyncio.sleep(0.3)
    runs = await JobRun.select(JobRun.job_id, JobRun.outcome).where(JobRun.job_id == "drills.remind_upcoming")
    assert runs == [{"job_id": "drills.remind_upcoming", "outcome": "3 reminders sent"}]
    assert await Notification.count() == 3


async def _running_drill(client, make_user, members: int) -> tuple[dict, dict, str, list[str], object]:
    team, captain, tokens = await _team_with_logins(client, make_user, members)
    drill = await plan(client, captain, starts_at=soon(5))
    scenario = await drills.get_scenario(MONTHLY)
    crew = scenario.injects[0].to_roles[0]
    for person_id in team["people"]:
        card = (await client.get(f"/api/v1/members/{person_id}/card", headers=bearer(captain))).json()
        checked = await client.post(f"/api/v1/drills/{drill['id']}/check-ins", json={"card": card["token"], "role": crew}, headers=bearer(captain))
        assert checked.status_code == 201, checked.text
    started = await client.post(f"/api/v1/drills/{drill['id']}/clock/start", headers=bearer(captain))
    assert started.status_code == 200 and started.json()["status"] == "running", started.text
    return drill, team, captain, tokens, scenario


async def test_injects_go_out_at_their_offsets_once_across_restarts(client, make_user) -> None:
    drill, _, captain, tokens, scenario = await _running_drill(client, make_user, 2)
    at_start = [i.id for i in scenario.injects if i.offset_minutes == 0]
    delivered = [r["inject_id"] for r in await InjectDelivery.select(InjectDelivery.inject_id)]
    assert delivered == at_start
    seen = (await client.get(f"/api/v1/drills/{drill['id']}/injects", headers=bearer(tokens[0]))).json()
    assert [i["inject_id"] for i in seen] == at_start and seen[0]["message"].startswith("演练 EXERCISE：")
    inbox = (await client.get("/api/v1/notifications/", headers=bearer(tokens[0]))).json()
    assert inbox and inbox[0]["title"].startswith("演练 EXERCISE") and inbox[0]["kind"] == "drill.inject"
    # An hour later the next injects are due; a second process (or a restart) releasing again changes nothing.
    later = datetime.now(UTC) + timedelta(minutes=61)
    due = sorted(i.id for i in scenario.injects if i.offset_minutes <= 61)
    await asyncio.gather(drills.release_injects(later), drills.release_injects(later))
    await drills.release_injects(later)
    assert sorted(r["inject_id"] for r in await InjectDelivery.select(InjectDelivery.inject_id)) == due
    # Paused, the clock stands still: nothing more goes out, however late it is.
    assert (await client.post(f"/api/v1/drills/{drill['id']}/clock/pause", headers=bearer(captain))).status_code == 200
    await drills.release_injects(datetime.now(UTC) + timedelta(days=2))
    assert await InjectDelivery.count() == len(due)
    assert (await client.post(f"/api/v1/drills/{drill['id']}/clock/pause", headers=bearer(captain))).status_code == 409
    resumed = await client.post(f"/api/v1/drills/{drill['id']}/clock/resume", headers=bearer(captain))
    assert resumed.status_code == 200 and resumed.json()["clock"]["paused"] is False
    # Acknowledgements: once each.
    first = at_start[0]
    acked = await client.post(f"/api/v1/drills/{drill['id']}/injects/{first}/ack", headers=bearer(tokens[0]))
    assert acked.status_code == 200 and acked.json()["acknowledged"] == 1 and acked.json()["acknowledged_by_me"]
    assert (await client.post(f"/api/v1/drills/{drill['id']}/injects/{first}/ack", headers=bearer(tokens[0]))).status_code == 409
    not_yet = [i.id for i in scenario.injects if i.id not in due]
    if not_yet:
        assert (await client.post(f"/api/v1/drills/{drill['id']}/injects/{not_yet[0]}/ack", headers=bearer(tokens[0]))).status_code == 404


async def test_timing_objectives_are_scored_from_the_logged_events(client, make_user) -> None:
    scenario = await drills.get_scenario(MONTHLY)
    timed = next(o for o in scenario.objectives if o.timing)
    drill, _, captain, _, _ = await _running_drill(client, make_user, timed.timing.count)
    row = await Drill.select(Drill.id).where(Drill.id == drill["id"]).first()
    results = await drills.timing_results(row["id"], scenario)
    assert results[timed.id].startswith("达到") and f"要求 {timed.timing.count} 人" in results[timed.id]
    # Had the alert gone out an hour before they checked in, the objective would not be met.
    await InjectDelivery.update({InjectDelivery.delivered_at: datetime.now(UTC) - timedelta(minutes=timed.timing.within_minutes + 60)}).where(
        InjectDelivery.inject_id == timed.timing.after_inject)
    assert (await drills.timing_results(row["id"], scenario))[timed.id].startswith("未达到")


async def test_expiry_reminders_in_batches_reach_everyone(client, make_user, monkeypatch) -> None:
    """The country's members go to the database in batches (its parameter limit): batches of one person change nothing."""

    from rescueops.members import service as members

    team, captain, _ = await _team_with_logins(client, make_user, 3)
    issued = (china_today() - timedelta(days=3 * 365 - 30)).isoformat()  # three-year certificates ending in about a month
    for n, person in enumerate(team["people"]):
        added = await client.post(f"/api/v1/members/{person}/certificates", json={
            "type_code": "rc_first_aider", "number": f"NM-2024-000{n}", "issued_on": issued}, headers=bearer(captain))
        assert added.status_code == 201, added.text
    monkeypatch.setattr(members, "REMINDER_BATCH", 1)
    assert await members.remind_expiring() == "6 reminders sent"  # each member, and the captain about each of them
    assert await members.remind_expiring() == "0 reminders sent"


async def test_expiry_maintenance_and_reassessment_reminders_arrive_once(client, make_user) -> None:

    from rescueops.equipment import service as equipment
    from rescueops.members import service as members
    from rescueops.teams import service as teams
    from rescueops.teams.tables import Category, Grade, Team

    team, captain, tokens = await _team_with_logins(client, make_user, 1)
    person = team["people"][0]
    issued = (china_today() - timedelta(days=3 * 365 - 30)).isoformat()  # a three-year certificate ending in about a month
    added = await client.post(f"/api/v1/members/{person}/certificates", json={"type_code": "rc_first_aider", "number": "NM-2024-0001",
                                                                            "issued_on": issued}, headers=bearer(captain))
    assert added.status_code == 201, added.text
    assert await members.remind_expiring() == "2 reminders sent"  # the member and the captain
    assert await members.remind_expiring() == "0 reminders sent"
    registered = await client.post("/api/v1/equipment/items", json={"team_code": "CF-WNT-01", "asset_tag": "CF-WNT-R-777", "type_code": "radio"},
                                   headers=bearer(captain))
    assert registered.status_code == 201, registered.text
    assert await equipment.remind_due_inspections() == "1 reminders sent"  # never inspected: due now, told once
    assert await equipment.remind_due_inspections(china_today() + timedelta(days=1)) == "0 reminders sent"
    team_id = (await Team.select(Team.id).first())["id"]
    category = (await Category.select(Category.id).where(Category.code == "water_rescue").first())["id"]
    await Grade.insert(Grade(team=team_id, category=category, level=2, assessed_on=china_today() - timedelta(days=700),
                             valid_until=china_today() + timedelta(days=30)))
    _, supervisor = await make_user("league_supervisor", unit="150400")
    await make_user("county_officer", unit="150426")
    await make_user("league_supervisor", unit="150200")  # Baotou's: not this team's
    assert await teams.remind_reassessment() == "3 reminders sent"  # the captain, the banner's officer and the league's supervisor
    assert await teams.remind_reassessment() == "0 reminders sent"
    titles = [m["title"] for m in (await client.get("/api/v1/notifications/", headers=bearer(captain))).json()]
    assert any(t.startswith("证书即将到期") for t in titles) and any(t.startswith("装备检查") for t in titles)
    assert any(t.startswith("分级测评即将到期") for t in titles)
    assert [m["kind"] for m in (await client.get("/api/v1/notifications/", headers=bearer(supervisor))).json()] == ["teams.reassessment_due"]
    assert (await client.get("/api/v1/notifications/", headers=bearer(tokens[0]))).json()[0]["kind"] == "members.certificate_expiry"


async def _check_in_as(client, captain: str, drill_id: int, person_id: int, role: str) -> None:
    card = (await client.get(f"/api/v1/members/{person_id}/card", headers=bearer(captain))).json()
    checked = await client.post(f"/api/v1/drills/{drill_id}/check-ins", json={"card": card["token"], "role": role}, headers=bearer(captain))
    assert checked.status_code == 201, checked.text


async def test_paused_time_is_left_out_of_the_inject_offsets(client, make_user, tmp_path) -> None:
    import yaml

    from tests.drills.test_library import minimal

    scenario = minimal() | {"id": "pause_check"}
    scenario["injects"].append({"id": "second_call", "offset_minutes": 30, "from_whom": "旗应急管理局", "to_roles": ["rescuer"],
                                "message_zh": "下游又发现一人落水。", "expected_actions": ["派出第二组"], "objective": "throw"})
    (tmp_path / "pause_check.yaml").write_text(yaml.safe_dump(scenario, allow_unicode=True), "utf-8")
    await drills.sync_library(tmp_path)
    _, captain, _ = await _team_with_logins(client, make_user, 1)
    drill = await plan(client, captain, scenario_id="pause_check", starts_at=soon(5))
    assert (await client.post(f"/api/v1/drills/{drill['id']}/clock/start", headers=bearer(captain))).status_code == 200
    # The clock started 25 minutes ago and was paused from its 5th minute for 20 minutes, until now.
    now = datetime.now(UTC)
    await Drill.update({Drill.clock_started_at: now - timedelta(minutes=25)}).where(Drill.id == drill["id"])
    assert (await client.post(f"/api/v1/drills/{drill['id']}/clock/pause", headers=bearer(captain))).status_code == 200
    await Drill.update({Drill.clock_paused_at: now - timedelta(minutes=20)}).where(Drill.id == drill["id"])
    resumed = await client.post(f"/api/v1/drills/{drill['id']}/clock/resume", headers=bearer(captain))
    assert resumed.status_code == 200 and 4.9 < resumed.json()["clock"]["elapsed_minutes"] < 5.5
    delivered = lambda: InjectDelivery.select(InjectDelivery.inject_id).order_by(InjectDelivery.id)  # noqa: E731
    assert [r["inject_id"] for r in await delivered()] == ["alert"]
    # 30 minutes after the start only 10 minutes of exercise have run: the 30-minute inject waits…
    await drills.release_injects(now + timedelta(minutes=5))
    await drills.release_injects(now + timedelta(minutes=24))
    assert [r["inject_id"] for r in await delivered()] == ["alert"]
    # …until 30 minutes of exercise time, 50 minutes after the start.
    await drills.release_injects(now + timedelta(minutes=25, seconds=30))
    assert [r["inject_id"] for r in await delivered()] == ["alert", "second_call"]


async def test_a_drill_ended_while_paused_leaves_the_pause_out(client, make_user) -> None:
    _, captain, _ = await _team_with_logins(client, make_user, 1)
    drill = await plan(client, captain, starts_at=soon(5))
    await client.post(f"/api/v1/drills/{drill['id']}/clock/start", headers=bearer(captain))
    assert (await client.post(f"/api/v1/drills/{drill['id']}/clock/pause", headers=bearer(captain))).status_code == 200
    now = datetime.now(UTC)  # it ran 30 minutes, then stood paused for 30
    await Drill.update({Drill.clock_started_at: now - timedelta(minutes=60), Drill.clock_paused_at: now - timedelta(minutes=30)}).where(
        Drill.id == drill["id"])
    ended = await client.post(f"/api/v1/drills/{drill['id']}/end", headers=bearer(captain))
    assert ended.status_code == 200 and 29.9 < ended.json()["clock"]["elapsed_minutes"] < 30.5, ended.text


async def test_participants_see_only_the_injects_addressed_to_their_role(client, make_user) -> None:
    from rescueops.events.tables import Notification

    team, captain, tokens = await _team_with_logins(client, make_user, 2)
    drill = await plan(client, captain, starts_at=soon(5))
    await _check_in_as(client, captain, drill["id"], team["people"][0], "boat_drivers")
    await _check_in_as(client, captain, drill["id"], team["people"][1], "team_captain")  # the training lead's part, not a login role
    assert (await client.post(f"/api/v1/drills/{drill['id']}/clock/start", headers=bearer(captain))).status_code == 200
    await drills.release_injects(datetime.now(UTC) + timedelta(minutes=46))  # phone_alert (drivers, members), roll_call (team captain)

    def ids(response) -> list[str]:
        assert response.status_code == 200, response.text
        return sorted(i["inject_id"] for i in response.json())

    url = f"/api/v1/drills/{drill['id']}/injects"
    assert ids(await client.get(url, headers=bearer(tokens[0]))) == ["phone_alert"]
    assert ids(await client.get(url, headers=bearer(tokens[1]))) == ["roll_call"]
    assert ids(await client.get(url, headers=bearer(captain))) == ["phone_alert", "roll_call"]  # the organiser sees every one
    refused = await client.post(f"/api/v1/drills/{drill['id']}/injects/phone_alert/ack", headers=bearer(tokens[1]))
    assert refused.status_code == 404 and "not addressed to you" in refused.json()["message"]
    assert (await client.post(f"/api/v1/drills/{drill['id']}/injects/roll_call/ack", headers=bearer(tokens[1]))).status_code == 200
    # Their inboxes hold the same: each only what was addressed to them.
    for token, expected in ((tokens[0], "phone_alert"), (tokens[1], "roll_call")):
        inbox = [m for m in (await client.get("/api/v1/notifications/", headers=bearer(token))).json() if m["kind"] == "drill.inject"]
        message = next(i.message_zh for i in (await drills.get_scenario(MONTHLY)).injects if i.id == expected)
        assert [m["body"] for m in inbox] == [f"演练 EXERCISE：{message}"], inbox
    keys = {r["dedupe_key"] for r in await Notification.select(Notification.dedupe_key).where(Notification.kind == "drill.inject")}
    assert {k.split(":")[3] for k in keys} == {"phone_alert", "roll_call"}
    # On the phone page too.
    from rescueops.accounts import service as accounts

    client.cookies.set("rescueops_session", await accounts.start_session(await accounts.find_user_id("member-1"), None))
    phone = await client.get(f"/drills/{drill['id']}/injects")
    assert phone.status_code == 200 and 'data-inject="roll_call"' in phone.text and 'data-inject="phone_alert"' not in phone.text


async def test_timing_objectives_are_scored_on_acknowledgements(client, make_user) -> None:
    scenario = await drills.get_scenario("cross_region_joint_drill")
    timed = next(o for o in scenario.objectives if o.timing and o.timing.measure == "acknowledgements")  # shipped with one
    tasking = next(i for i in scenario.injects if i.id == timed.timing.after_inject)
    assert timed.timing.count == 2
    team, captain, tokens = await _team_with_logins(client, make_user, 3)
    drill = await plan(client, captain, scenario_id="cross_region_joint_drill", starts_at=soon(5))
    addressed_role, other_role = tasking.to_roles[0], "east_hub"
    assert other_role not in tasking.to_roles
    for person_id, role in zip(team["people"], [addressed_role, addressed_role, other_role], strict=True):
        await _check_in_as(client, captain, drill["id"], person_id, role)
    await client.post(f"/api/v1/drills/{drill['id']}/clock/start", headers=bearer(captain))
    # The clock has run past the tasking: it goes out now, and acknowledgements are timed from now.
    await Drill.update({Drill.clock_started_at: datetime.now(UTC) - timedelta(minutes=tasking.offset_minutes + 1)}).where(
        Drill.id == drill["id"])
    await drills.release_injects()
    ack = f"/api/v1/drills/{drill['id']}/injects/{tasking.id}/ack"
    assert (await client.post(ack, headers=bearer(tokens[2]))).status_code == 404  # not theirs to acknowledge
    assert (await client.post(ack, headers=bearer(tokens[0]))).status_code == 200
    assert (await drills.timing_results(drill["id"], scenario))[timed.id].startswith("未达到：注入后 15 分钟内确认 1 人")
    assert (await client.post(ack, headers=bearer(tokens[1]))).status_code == 200
    met = (await drills.timing_results(drill["id"], scenario))[timed.id]
    assert met.startswith("达到：注入后 15 分钟内确认 2 人（要求 2 人）")
    # Check-ins do not count for it: everyone checked in before the inject, yet a late acknowledgement misses the window.
    from rescueops.drills.tables import InjectAck

    released = (await InjectDelivery.select(InjectDelivery.delivered_at).where(InjectDelivery.inject_id == tasking.id).first())["delivered_at"]
    await InjectAck.update({InjectAck.acked_at: released + timedelta(minutes=timed.timing.within_minutes + 5)}).where(
        InjectAck.user_name == "member-1")
    assert (await drills.timing_results(drill["id"], scenario))[timed.id].startswith("未达到")
    # The result goes into the after-action report under the objective.
    await client.post(f"/api/v1/drills/{drill['id']}/end", headers=bearer(captain))
    body = {"evaluators": ["张评估"], "ratings": [{"objective_id": o.id, "rating": "S"} for o in scenario.objectives]}
    aar = (await client.post(f"/api/v1/drills/{drill['id']}/evaluation", json=body, headers=bearer(captain))).json()
    result = next(r for r in aar["results"] if r["objective_id"] == timed.id)
    assert result["automatic"].startswith("未达到：注入后 15 分钟内确认 1 人")
