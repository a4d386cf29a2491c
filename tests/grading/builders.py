"""Building teams with graded records through the real services (drills are planned, then moved into the past)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from rescueops.calendar import CHINA, add_months
from rescueops.drills import service as drills
from rescueops.drills.schemas import DrillIn
from rescueops.drills.tables import Drill, DrillStatus
from rescueops.equipment import service as equipment
from rescueops.equipment.schemas import InspectionIn, ItemIn, KitIn, MovementIn, RepairIn
from rescueops.members import service as members
from rescueops.members.schemas import CertificateIn, InsuranceIn, JoinIn
from rescueops.members.tables import Person
from rescueops.teams.tables import Team
from tests.factories import make_team, person

TODAY = datetime.now(CHINA).date()
_tags = itertools.count(1)


async def admin_principal():
    from rescueops.accounts import service as accounts
    from rescueops.accounts.schemas import GrantIn, UserCreate
    from rescueops.accounts.tables import Role

    user = await accounts.create_user(None, UserCreate(username=f"gradmin{next(_tags)}", display_name="测评管理员",
                                                        password="long enough password", home_unit_code="150000"))
    await accounts.grant_role(None, user.id, GrantIn(role=Role.admin, unit_code="150000"))
    return await accounts.load_principal(user.id)


async def certify(admin, people: list[int], type_code: str = "rc_first_aider", *, issued_on: date | None = None,
                  expires_on: date | None = None) -> None:
    for pid in people:
        await members.add_certificate(admin, pid, CertificateIn(type_code=type_code, issued_on=issued_on or TODAY - timedelta(days=100),
                                                                expires_on=expires_on))


async def insure(admin, people: list[int], *, ends_on: date | None = None) -> None:
    for pid in people:
        await members.add_insurance(admin, pid, InsuranceIn(insurer="中国人寿", policy_number=f"P{pid}-{next(_tags)}",
                                                            starts_on=TODAY - timedelta(days=30), ends_on=ends_on or TODAY + timedelta(days=300)))


async def complete_records(people: list[int]) -> None:
    await Person.update({Person.emergency_contact: "家属", Person.emergency_phone: "13900000000"}).where(Person.id.is_in(people))


async def item(admin, team: str, type_code: str, *, inspected_on: date | None = None, tag: str | None = None, serial: str = "SN",
               expires_on: date | None = None) -> str:
    tag = tag or f"G-{type_code.upper().replace('_', '')[:8]}-{next(_tags):04d}"
    await equipment.register_item(admin, ItemIn(team_code=team, asset_tag=tag, type_code=type_code, serial_number=serial,
                                                acquired_on=date(2024, 5, 1), expires_on=expires_on))
    if inspected_on:
        found = await equipment.get_item(admin, tag)
        await equipment.record_inspection(admin, tag, InspectionIn(inspected_on=inspected_on,
                                                                   results={p: True for p in found.type.checklist}))
    return tag


async def to_maintenance(admin, tag: str) -> None:
    await equipment.record_repair(admin, tag, RepairIn(description="船底漏气"))


async def stock(admin, team: str, type_code: str, quantity: int) -> None:
    await equipment.move_stock(admin, MovementIn(team_code=team, type_code=type_code, kind="receive", quantity=quantity))


async def kit(admin, team: str, template: str, tags: list[str]) -> str:
    tag = f"G-KIT-{next(_tags):04d}"
    await equipment.register_kit(admin, KitIn(team_code=team, asset_tag=tag, template_code=template, asset_tags=tags))
    return tag


async def closed_drill(admin, organiser: str, starts_on: date, *, teams: list[str] = (), mobilisation: float | None = None,
                       status: DrillStatus = DrillStatus.closed, scenario: str = "water_rescue_monthly_training") -> int:
    """A drill planned through the service, then moved into the past and closed (as if held and evaluated)."""
    planned = await drills.plan_drill(admin, DrillIn(
        scenario_id=scenario, organiser_team_code=organiser, team_codes=list(teams), place="西拉木伦河训练场",
        starts_at=datetime.now(UTC) + timedelta(days=3)))
    drill_id = planned[0].id
    start = datetime.combine(starts_on, time(9, 0), tzinfo=CHINA)
    values = {Drill.starts_at: start, Drill.ends_at: start + timedelta(hours=3), Drill.status: status.value}
    if mobilisation is not None:
        values |= {Drill.called_at: start - timedelta(minutes=mobilisation), Drill.assembled_at: start}
    await Drill.update(values).where(Drill.id == drill_id)
    return drill_id


async def probation_member(team: str) -> int:
    joined = await members.join_team(None, team, JoinIn(person=person(), status="probation", joined_on=date(2024, 3, 1)))
    return joined.id


async def water_team(admin, code: str = "WR-01", *, unit: str = "150426") -> dict:
    """A water-rescue team with known counts (see test_evaluation for what each criterion should measure)."""
    team = await make_team(code, unit=unit, members=7, leaders=True, active=True)
    people = team["people"]
    await Team.update({Team.founded_on: add_months(TODAY, -36), Team.self_sufficiency_hours: 72, Team.party_organisation: "branch"}).where(
        Team.code == code)
    team["probation"] = await probation_member(code)
    await certify(admin, people[:5])
    await certify(admin, people[5:6], issued_on=TODAY - timedelta(days=1500), expires_on=TODAY - timedelta(days=400))
    await certify(admin, people[:3], "water_rescue")
    await insure(admin, people[:4])
    await insure(admin, people[4:5], ends_on=TODAY - timedelta(days=1))
    await complete_records(people[:6])
    fresh = await item(admin, code, "inflatable_boat", inspected_on=TODAY - timedelta(days=30))
    stale = await item(admin, code, "inflatable_boat", inspected_on=TODAY - timedelta(days=150))
    broken = await item(admin, code, "inflatable_boat", inspected_on=TODAY - timedelta(days=10))
    await to_maintenance(admin, broken)
    await item(admin, code, "inflatable_boat", expires_on=TODAY - timedelta(days=1))
    motor = await item(admin, code, "outboard_motor", serial="")
    suits = [await item(admin, code, "dry_suit") for _ in range(2)]
    radios = [await item(admin, code, "radio") for _ in range(3)]
    team["ready_kit"] = await kit(admin, code, "water_rescue_boat_kit", [fresh, motor, *suits, *radios[:2]])
    team["short_kit"] = await kit(admin, code, "water_rescue_boat_kit", [stale, radios[2]])
    await stock(admin, code, "life_jacket", 12)
    await make_team(f"{code}-B", unit=unit, members=1, active=True)
    team["drills"] = [
        await closed_drill(admin, code, TODAY - timedelta(days=60), mobilisation=50),
        await closed_drill(admin, code, TODAY - timedelta(days=150), teams=[f"{code}-B"], mobilisation=40),
    ]
    await closed_drill(admin, code, TODAY - timedelta(days=400), mobilisation=20)  # outside the 12 months
    await closed_drill(admin, code, TODAY - timedelta(days=20), status=DrillStatus.ended, mobilisation=10)  # not closed
    return team


async def level3_water_team(admin, code: str = "WR-L3", *, unit: str = "150426") -> dict:
    """A water-rescue team meeting every level-3 criterion of the shipped rubric on the records (the assessors'
    items aside): 8 deployable members, licences, a boat, life jackets, four measured drills."""
    team = await make_team(code, unit=unit, members=8, leaders=True, active=True)
    people = team["people"]
    await certify(admin, people)
    await certify(admin, people[:4], "water_rescue")
    await certify(admin, people[:1], "swiftwater")
    await insure(admin, people)
    await complete_records(people)
    team["boat"] = await item(admin, code, "inflatable_boat", inspected_on=TODAY - timedelta(days=20))
    await stock(admin, code, "life_jacket", 10)
    team["drills"] = [await closed_drill(admin, code, TODAY - timedelta(days=30 * (k + 1)), mobilisation=60) for k in range(4)]
    return team
