from __future__ import annotations

from datetime import datetime, timedelta

from rescueops import demo
from rescueops.accounts import service
from rescueops.accounts.tables import Role
from rescueops.settings import get_settings


async def test_demo_data_gives_a_working_login_per_role(db) -> None:
    logins = await demo.load_demo(get_settings())
    assert {login["role"] for login in logins} == {r.value for r in Role} - {Role.deputy_captain.value}
    for login in logins:
        user_id = await service.authenticate(login["username"], login["password"], "127.0.0.1")
        principal = await service.load_principal(user_id)
        assert [g.role.value for g in principal.grants] == [login["role"]]
    # A second run loads nothing more and prints the same logins.
    assert await demo.load_demo(get_settings()) == logins
    assert demo.read_logins(get_settings()) == logins


async def test_demo_team_was_built_through_the_workflow(db) -> None:
    from rescueops.accounts.tables import AuditEntry
    from rescueops.members import service as members
    from rescueops.teams import service as teams

    await demo.load_demo(get_settings())
    team = await teams.get_team(None, "CF-WNT-01")
    assert team.status.value == "active" and team.leadership_problem is None and team.active_members == 12
    captain = await service.load_principal(await service.find_user_id("captain"))
    roster = await members.roster(captain, "CF-WNT-01")
    # 6 from the roster's own certificates, and 李秀英's from the first-aid training course (see the training test).
    assert roster.certified == 7 and roster.active == 12 and len(roster.expiring) == 3
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action)}
    assert {"teams.filing.file", "teams.filing.approved", "teams.team.status", "members.membership.join"} <= actions
    member = await service.load_principal(await service.find_user_id("member"))
    assert await members.person_of_user(member.user_id) is not None


async def test_demo_equipment_shows_what_logistics_staff_work_with(db) -> None:
    from rescueops.equipment import service as equipment
    from rescueops.events.tables import OutboxEvent

    await demo.load_demo(get_settings())
    hub = await service.load_principal(await service.find_user_id("hub-east"))
    depots = {d.code: d for d in await equipment.list_depots(hub)}
    assert {b.type_code: b.quantity for b in depots["150400-D01"].stock} == {"tent_12m2": 120, "blanket": 800, "family_kit": 300}
    assert [(e.type_code, e.in_service) for e in depots["150400-D01"].equipment] == [("generator", 3)]
    captain = await service.load_principal(await service.find_user_id("captain"))
    [kit] = await equipment.team_kits(captain, "CF-WNT-01")
    assert kit.ready is False and [line.type_code for line in kit.lines if line.ready < line.needed] == ["radio"]
    aeds = {a.code: a for a in await equipment.list_aeds(hub)}
    assert aeds["AED-WNT-001"].usable and [p.value for p in aeds["AED-WNT-002"].problems] == ["pads_expired"]
    assert await OutboxEvent.count().where(OutboxEvent.type == "equipment_transfer.requested") == 1


async def test_demo_team_has_its_monthly_training_planned(db) -> None:
    from rescueops.calendar import CHINA
    from rescueops.db.pagination import PageParams
    from rescueops.drills import service as drills

    await demo.load_demo(get_settings())
    captain = await service.load_principal(await service.find_user_id("captain"))
    planned, total = await drills.list_drills(captain, PageParams(), team="CF-WNT-01")
    assert total == len(planned) == 3 and {d.scenario_id for d in planned} == {"water_rescue_monthly_training"}
    assert planned[0].starts_at.astimezone(CHINA).weekday() == 5  # a Saturday morning


async def test_demo_first_aid_training_was_run_through_the_services(db) -> None:
    """Wengniute's training as the demo leaves it: a course taught, examined apart from teaching and certified (one
    certificate on a rescue-team member's page), an open session, an awareness headcount, instructors against the county
    check, a base and an experience hall with a booking, and Chifeng's allocation table with what was achieved."""
    from rescueops.accounts.tables import AuditEntry
    from rescueops.calendar import CHINA
    from rescueops.db.pagination import PageParams
    from rescueops.members import service as members
    from rescueops.training import bases, certificates, exams, instructors, progress
    from rescueops.training import service as training

    await demo.load_demo(get_settings())
    officer = await service.load_principal(await service.find_user_id("training"))
    examiner = await service.load_principal(await service.find_user_id("examiner"))
    year = datetime.now(CHINA).date().year

    sessions = (await training.list_sessions(officer, PageParams(limit=50), unit_code="150426")).items
    assert sorted((s.course_code, s.status.value) for s in sessions) == [
        ("awareness", "completed"), ("cpr_aed", "open"), ("first_aider", "completed")]
    course = next(s for s in sessions if s.course_code == "first_aider")
    assert course.organisation_name == "翁牛特旗乌丹第一中学" and course.base_code == "WNT-JD-01" and course.enrolled == 6
    assert next(s for s in sessions if s.course_code == "cpr_aed").enrolled == 2
    assert next(s for s in sessions if s.course_code == "awareness").reported_attendance == 126

    # Taught by the banner's two instructors, examined by the pool's examiner (who entered the scores under his own login).
    found = await exams.results(officer, course.code)
    assert [s.examiner_name for s in found.sittings] == ["孟和巴雅尔"]
    outcomes = {t.name: t.outcome for t in found.trainees}
    assert outcomes == {"李秀英": "passed", "王丽娟": "passed", "刘志强": "failed", "高娜": "passed", "白玉山": "not_eligible", "乌兰": "passed"}
    assert found.certified == 4 and found.to_certify == 0
    assert {s.name for s in (await training.get_session(officer, course.code)).instructors} == {"乌云", "张海军"}
    scored_by = (await AuditEntry.select(AuditEntry.actor).where(AuditEntry.action == "training.exam.scores").first())["actor"]
    assert scored_by == examiner.user_id
    listed, total = await certificates.list_certificates(officer, PageParams(limit=50))
    assert total == 4 and {c.status for c in listed} == {"valid"} and {c.kind for c in listed} == {"first_aider"}

    # 李秀英 of the demo team sees hers on her member page, marked as issued by training, with its verification link.
    captain = await service.load_principal(await service.find_user_id("captain"))
    li = next(m for m in (await members.roster(captain, "CF-WNT-01")).members if m.name == "李秀英")
    [held] = (await members.get_member(captain, li.person_id)).certificates
    assert held.source == "training" and held.valid and held.verify_url and held.number in {c.number for c in listed}

    checks = {c.unit_code: c for c in await instructors.county_checks(officer)}
    assert checks["150426"].met and checks["150426"].full_time_valid == 2
    assert not checks["150404"].met and checks["150404"].short_by == 1
    pool, _ = await instructors.list_examiners(officer, PageParams(limit=10))
    assert [(e.name, e.username, e.valid) for e in pool] == [("孟和巴雅尔", "examiner", True)]

    halls = {b.code: b for b in (await bases.list_bases(officer, PageParams(limit=10)))[0]}
    assert {code: b.kind.value for code, b in halls.items()} == {"WNT-JD-01": "training_base", "CF-TYG-01": "experience_hall"}
    booked = [b for d in (await bases.week(officer, "CF-TYG-01", datetime.now(CHINA).date() + timedelta(days=7))).days for b in d.bookings]
    booked += [b for d in (await bases.week(officer, "CF-TYG-01")).days for b in d.bookings]
    assert [(b.group_name, b.people) for b in booked] == [("乌丹第一中学初二（3）班", 25)]

    # Chifeng's table: its twelve banners/counties and the three sector lines; Wengniute's line counts what was done.
    table = await progress.target_table(officer, "150400", year)
    assert len(table.lines) == 15 and table.total.certified == sum(line.target.certified for line in table.lines)
    wengniute = next(line for line in table.lines if line.label == "翁牛特旗")
    assert wengniute.target.certified == 600 and (wengniute.actual.certified, wengniute.actual.awareness) == (4, 126)
    figures = await progress.progress(officer, "150426", year)
    assert (figures.actual.certified, figures.actual.awareness, figures.valid_certificates) == (4, 126, 4)
