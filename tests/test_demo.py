from __future__ import annotations

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
    assert roster.certified == 6 and roster.active == 12 and len(roster.expiring) == 3
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
    from rescueops.drills import service as drills

    await demo.load_demo(get_settings())
    captain = await service.load_principal(await service.find_user_id("captain"))
    planned = await drills.list_drills(captain, team="CF-WNT-01")
    assert len(planned) == 3 and {d.scenario_id for d in planned} == {"water_rescue_monthly_training"}
    assert planned[0].starts_at.astimezone(CHINA).weekday() == 5  # a Saturday morning
