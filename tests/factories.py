"""Builders for teams and people, through the real services."""

from __future__ import annotations

import itertools
from contextlib import asynccontextmanager
from datetime import date, timedelta

from rescueops.members.identity import check_digit

_seq = itertools.count(1)


def born_on(seq: int) -> str:
    return (date(1980, 1, 1) + timedelta(days=seq)).strftime("%Y%m%d")


def id_number(seq: int, born: str | None = None, area: str = "150426", male: bool = True) -> str:
    """A valid 18-character ID number (a distinct birth date per ``seq``); the sequence is odd for men."""
    first17 = f"{area}{born or born_on(seq)}{(seq % 500) * 2 + (1 if male else 0):03d}"
    return first17 + check_digit(first17)


def person(seq: int | None = None, name: str | None = None, male: bool = True, **extra) -> dict:
    seq = next(_seq) if seq is None else seq
    born = extra.pop("born", born_on(seq))
    return {
        "name": name or f"队员{seq}",
        "gender": "male" if male else "female",
        "birth_date": f"{born[:4]}-{born[4:6]}-{born[6:]}",
        "id_number": id_number(seq, born, male=male),
        "phone": f"139{seq % 10**8:08d}",
        **extra,
    }


def team_body(code: str = "CF-WNT-01", unit: str = "150426", **extra) -> dict:
    return {
        "code": code,
        "unit_code": unit,
        "name_zh": "翁牛特旗红十字应急救援队",
        "name_en": "Wengniute Red Cross Rescue Team",
        "primary_category": "search_rescue",
        "specialties": ["water_rescue", "medical"],
        "registration_kind": "red_cross_filing",
        "registration_number": "翁红发〔2024〕3号",
        "filing_date": "2024-03-15",
        "founded_on": "2024-03-01",
        "contact_phone": "0476-6321234",
        **extra,
    }


async def make_team(code: str = "CF-WNT-01", unit: str = "150426", members: int = 0, leaders: bool = False, active: bool = False) -> dict:
    """A team with ``members`` active members; with ``leaders``, the first is captain and the next two deputies."""
    from rescueops.members import service as members_service
    from rescueops.members.schemas import JoinIn
    from rescueops.members.tables import Membership, TeamRole
    from rescueops.teams import service as teams_service
    from rescueops.teams.schemas import TeamCreate
    from rescueops.teams.tables import Team

    await teams_service.create_team(None, TeamCreate(**team_body(code, unit)))
    ids = []
    for _ in range(members):
        joined = await members_service.join_team(None, code, JoinIn(person=person(), status="active", joined_on=date(2024, 3, 1)))
        ids.append(joined.id)
    if leaders:
        await Membership.update({Membership.role: TeamRole.captain.value}).where(Membership.person == ids[0])
        await Membership.update({Membership.role: TeamRole.deputy_captain.value}).where(Membership.person.is_in(ids[1:3]))
    if active:
        await Team.update({Team.status: "active"}).where(Team.code == code)
    return {"code": code, "people": ids}


class Counter:
    count = 0


@asynccontextmanager
async def counting():
    """Count the statements the engine runs: Piccolo numbers every query it runs (engine.query_id)."""
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    counter, before = Counter(), engine.query_id
    try:
        yield counter
    finally:
        counter.count = engine.query_id - before
