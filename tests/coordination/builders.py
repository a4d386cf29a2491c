"""Teams for the coordination tests, built through the services: members with or without a valid first-aid
certificate, a grade, a location, equipment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from rescueops.calendar import china_today
from tests.factories import person, team_body


def window(hours: float = 24, start: datetime | None = None) -> dict[str, str]:
    start = start or datetime.now(UTC)
    return {"window_from": start.isoformat(), "window_until": (start + timedelta(hours=hours)).isoformat()}


def request_body(unit: str = "150426", **extra) -> dict:
    return {"category": "search_rescue", "people_needed": 3, "place": "乌丹镇敖包嘎查", "unit_code": unit, "urgency": "immediate",
            "incident_kind": "flood", **window(), **extra}


async def rescue_team(admin, code: str, unit: str, *, category: str = "search_rescue", specialties: tuple[str, ...] = (),
                      members: int = 4, certified: bool = True, level: int | None = 2, active: bool = True,
                      lat: float | None = None, lon: float | None = None, items: tuple[tuple[str, str], ...] = ()) -> list[int]:
    """A team with ``members`` active members; returns their person ids."""
    from rescueops.equipment import service as equipment
    from rescueops.equipment.schemas import ItemIn
    from rescueops.members import service as members_service
    from rescueops.members.schemas import CertificateIn, JoinIn
    from rescueops.teams import service as teams
    from rescueops.teams.schemas import TeamCreate
    from rescueops.teams.tables import Category, Grade, Team

    await teams.create_team(None, TeamCreate(**team_body(code, unit, name_zh=f"{code} 救援队", primary_category=category,
                                                         specialties=list(specialties), lat=lat, lon=lon)))
    people = []
    for _ in range(members):
        joined = await members_service.join_team(None, code, JoinIn(person=person(), status="active", joined_on=date(2024, 3, 1)))
        people.append(joined.id)
        # a three-year certificate: issued 100 days ago is valid, four years ago has expired
        issued = china_today() - timedelta(days=100 if certified else 4 * 365)
        await members_service.add_certificate(admin, joined.id, CertificateIn(type_code="rc_first_aider", issued_on=issued))
    if active:
        await Team.update({Team.status: "active"}).where(Team.code == code)
    if level is not None:
        team_id = (await Team.select(Team.id).where(Team.code == code).first())["id"]
        category_id = (await Category.select(Category.id).where(Category.code == category).first())["id"]
        await Grade.insert(Grade(team=team_id, category=category_id, level=level, assessed_on=china_today() - timedelta(days=30),
                                 valid_until=china_today() + timedelta(days=700)))
    for type_code, tag in items:
        await equipment.register_item(None, ItemIn(team_code=code, asset_tag=tag, type_code=type_code))
    return people


async def deploy(team_code: str, person_ids: list[int], unit: str) -> int:
    """Send the people on a deployment (another incident): they are then not available."""
    from rescueops.deployments import service as deployments
    from rescueops.deployments.schemas import DispatchIn, IncidentIn

    incident = await deployments.open_incident(None, IncidentIn(kind="grassland_fire", title="草原火灾扑救", place="灰腾梁", unit_code=unit,
                                                                started_at=datetime.now(UTC) - timedelta(hours=1)))
    deployment = await deployments.dispatch_team(None, incident.id, DispatchIn(team_code=team_code, person_ids=person_ids))
    return deployment.id
