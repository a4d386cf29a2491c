"""Members: people, their memberships and lifecycle, certificates, insurance, hours and QR cards."""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from piccolo.query.functions.aggregate import Count
from pydantic import ValidationError

from rescueops import crypto, uploads
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can
from rescueops.calendar import add_months, china_today, utc_now
from rescueops.db import write_transaction
from rescueops.db.statements import Statement
from rescueops.errors import Conflict, InvalidInput, NotFound, field_error
from rescueops.events import service as events
from rescueops.members import roster_file
from rescueops.members.identity import mask_id, mask_phone, parse_id_number
from rescueops.members.schemas import (
    CardHolder,
    CardOut,
    CertificateIn,
    CertificateOut,
    CertificateTypeOut,
    HoursDecisionIn,
    HoursIn,
    HoursOut,
    ImportReport,
    ImportRowError,
    InsuranceIn,
    InsuranceOut,
    JoinIn,
    MemberDetail,
    MemberOut,
    MembershipChanged,
    MembershipOut,
    PersonIn,
    PersonUpdate,
    RosterEntry,
    StatusChangeIn,
    TeamRosterSummary,
)
from rescueops.members.tables import (
    Certificate,
    CertificateType,
    HoursEntry,
    HoursSource,
    HoursStatus,
    ImportBatch,
    InsurancePolicy,
    Membership,
    MembershipEvent,
    MemberStatus,
    Person,
    TeamRole,
)
from rescueops.settings import get_settings
from rescueops.teams import service as teams
from rescueops.teams.schemas import Leadership, PersonRef

EXPIRY_WARNING_DAYS = 90
CARD_PURPOSE = "member-card"

# Allowed moves of a member's lifecycle; exited closes the membership.
TRANSITIONS: dict[MemberStatus, set[MemberStatus]] = {
    MemberStatus.applicant: {MemberStatus.probation, MemberStatus.active, MemberStatus.exited},
    MemberStatus.probation: {MemberStatus.active, MemberStatus.exited},
    MemberStatus.active: {MemberStatus.inactive, MemberStatus.exited},
    MemberStatus.inactive: {MemberStatus.active, MemberStatus.exited},
    MemberStatus.exited: set(),
}
# Members still on the roster (counted for leadership, certified ratio, check-ins).
ON_ROSTER = (MemberStatus.probation.value, MemberStatus.active.value)


# --- reference data ------------------------------------------------------------------------


async def load_certificate_types() -> int:
    text = resources.files("rescueops.members").joinpath("reference/certificate_types.yaml").read_text("utf-8")
    entries = yaml.safe_load(text)["certificate_types"]
    existing = {row["code"] for row in await CertificateType.select(CertificateType.code)}
    async with write_transaction():
        for entry in entries:
            values = {k: entry[k] for k in ("name_zh", "name_en", "issuer", "validity_months", "first_aid")}
            if entry["code"] in existing:
                await CertificateType.update(values).where(CertificateType.code == entry["code"])
            else:
                await CertificateType.insert(CertificateType(code=entry["code"], **values))
    return len([e for e in entries if e["code"] not in existing])


async def certificate_types() -> list[CertificateTypeOut]:
    rows = await CertificateType.select().order_by(CertificateType.id)
    return [CertificateTypeOut.model_validate(row) for row in rows]


# --- services for teams --------------------------------------------------------------------


async def leadership_of(team_ids: list[int]) -> dict[int, Leadership]:
    rows = await Membership.select(
        Membership.team, Membership.role, Membership.person.id.as_alias("pid"), Membership.person.name.as_alias("name")
    ).where(
        Membership.team.is_in(team_ids)
        & Membership.left_on.is_null()
        & Membership.role.is_in([TeamRole.captain.value, TeamRole.deputy_captain.value])
    ).order_by(Membership.id)
    result: dict[int, Leadership] = {}
    for row in rows:
        lead = result.setdefault(row["team"], Leadership(captain=None, deputies=[]))
        ref = PersonRef(id=row["pid"], name=row["name"])
        if row["role"] == TeamRole.captain.value:
            lead.captain = ref
        else:
            lead.deputies.append(ref)
    return result


async def active_counts(team_ids: list[int]) -> dict[int, int]:
    rows = await Membership.select(Membership.team, Count()).where(
        Membership.team.is_in(team_ids) & Membership.left_on.is_null() & Membership.status.is_in(list(ON_ROSTER))
    ).group_by(Membership.team)
    return {row["team"]: row["count"] for row in rows}


async def names_of(person_ids: list[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    return {row["id"]: row["name"] for row in await Person.select(Person.id, Person.name).where(Person.id.is_in(person_ids))}


async def require_active_members(team_code: str, person_ids: list[int]) -> None:
    """Every person is an active member of this team (leaders are chosen among active members)."""
    rows = await Membership.select(Membership.person).where(
        (Membership.team.code == team_code)
        & Membership.left_on.is_null()
        & (Membership.status == MemberStatus.active.value)
        & Membership.person.is_in(person_ids)
    )
    missing = sorted(set(person_ids) - {row["person"] for row in rows})
    if missing:
        names = await names_of(missing)
        listed = ", ".join(f"{names.get(pid, '#' + str(pid))}" for pid in missing)
        raise InvalidInput(f"Not an active member of team {team_code}: {listed}.", code="not_active_member")


async def lock_open_memberships(team_id: int) -> None:
    """Take the write locks of the team's open memberships (a no-op update; call it first in the write transaction). On
    PostgreSQL an exit or a status change committing meanwhile then lands before the caller's checks, which see it, or
    waits for the caller's commit; never between a check and what the caller writes on the strength of it."""
    await Membership.update({Membership.role: Membership.role}).where((Membership.team == team_id) & Membership.left_on.is_null())


async def apply_leadership(principal: Principal, team_id: int, captain_id: int, deputy_ids: list[int]) -> None:
    """Make the approved leadership current (call inside the approving transaction)."""
    rows = await Membership.select(Membership.id, Membership.person, Membership.role).where(
        (Membership.team == team_id) & Membership.left_on.is_null()
    )
    wanted = {captain_id: TeamRole.captain.value, **{d: TeamRole.deputy_captain.value for d in deputy_ids}}
    for row in rows:
        new_role = wanted.get(row["person"])
        if new_role is None and row["role"] in (TeamRole.captain.value, TeamRole.deputy_captain.value):
            new_role = TeamRole.member.value
        if new_role and new_role != row["role"]:
            await Membership.update({Membership.role: new_role}).where(Membership.id == row["id"])
            await MembershipEvent.insert(
                MembershipEvent(membership=row["id"], kind="role", from_value=row["role"], to_value=new_role,
                                reason="leadership filing approved", effective_on=china_today(), by_user=principal.user_id, at=utc_now())
            )


# --- people and memberships ----------------------------------------------------------------


def _valid_on(expires_on: date | None, on: date, starts_on: date | None = None) -> bool:
    return (expires_on is None or expires_on >= on) and (starts_on is None or starts_on <= on)


async def _current(person_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = await Membership.select(
        Membership.all_columns(), Membership.team.code.as_alias("team_code"), Membership.team.name_zh.as_alias("team_name"),
        Membership.team.path.as_alias("team_path"),
    ).where(Membership.person.is_in(person_ids)).order_by(Membership.id)
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:  # the open one, else the last one: it decides who may see the person
        if row["left_on"] is None or row["person"] not in latest or latest[row["person"]]["left_on"] is not None:
            latest[row["person"]] = row
    return latest


async def open_memberships(person_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each person's open membership (team id, team_code, team_name, team_path, role, status), for the people on a roster now."""
    return {person: row for person, row in (await _current(person_ids)).items() if row["left_on"] is None}


async def users_of(person_ids: list[int]) -> dict[int, int]:
    """Person id -> the login tied to that person, for those who have one."""
    rows = await Person.select(Person.id, Person.user).where(Person.id.is_in(person_ids or [-1]) & Person.user.is_not_null())
    return {row["id"]: row["user"] for row in rows}


async def users_by_team(team_ids: list[int]) -> dict[int, list[int]]:
    """Team id -> logins of its active and probationary members, for many teams in one query."""
    rows = await Membership.select(Membership.team, Membership.person.user.as_alias("user")).where(
        Membership.team.is_in(list(team_ids) or [-1]) & Membership.left_on.is_null()
        & Membership.status.is_in([MemberStatus.active.value, MemberStatus.probation.value]) & Membership.person.user.is_not_null()
    ).order_by(Membership.id)
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row["team"], []).append(row["user"])
    return found


async def first_aid_of_active(team_codes: list[str], on: date) -> dict[str, dict[int, bool]]:
    """Each team's active members, person id -> whether they hold a valid first-aid certificate on ``on``:
    who could be sent on a deployment."""
    rows = await Membership.select(Membership.person, Membership.team.code.as_alias("team_code")).where(
        Membership.team.code.is_in(list(team_codes) or ["-"]) & Membership.left_on.is_null()
        & (Membership.status == MemberStatus.active.value)).order_by(Membership.person)
    certified = await _first_aid([row["person"] for row in rows], on)
    found: dict[str, dict[int, bool]] = {}
    for row in rows:
        found.setdefault(row["team_code"], {})[row["person"]] = row["person"] in certified
    return found


async def _first_aid(person_ids: list[int], on: date) -> dict[int, date | None]:
    """Latest expiry of a valid first-aid certificate per person (date.max for no expiry)."""
    if not person_ids:
        return {}
    rows = await Certificate.select(Certificate.person, Certificate.expires_on, Certificate.issued_on).where(
        Certificate.person.is_in(person_ids) & (Certificate.type.first_aid == True)  # noqa: E712
    )
    best: dict[int, date | None] = {}
    for row in rows:
        if _valid_on(row["expires_on"], on, row["issued_on"]):
            expiry = row["expires_on"] or date.max
            best[row["person"]] = max(best.get(row["person"]) or date.min, expiry)
    return best


async def _insured(person_ids: list[int], on: date) -> set[int]:
    if not person_ids:
        return set()
    rows = await InsurancePolicy.select(InsurancePolicy.person).where(
        InsurancePolicy.person.is_in(person_ids) & (InsurancePolicy.starts_on <= on) & (InsurancePolicy.ends_on >= on)
    )
    return {row["person"] for row in rows}


def _membership_out(row: dict[str, Any]) -> MembershipOut:
    return MembershipOut(
        id=row["id"], team_code=row["team_code"], team_name=row["team_name"], role=row["role"], status=row["status"],
        joined_on=row["joined_on"], left_on=row["left_on"], exit_reason=row["exit_reason"],
    )


async def _person_scope(person_id: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    person = await Person.select().where(Person.id == person_id).first()
    if person is None:
        raise NotFound(f"No member #{person_id}.")
    return person, (await _current([person_id])).get(person_id)


def _own_record(principal: Principal, person: dict[str, Any]) -> bool:
    return person["user"] is not None and person["user"] == principal.user_id


async def _visible_person(principal: Principal, person_id: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    person, membership = await _person_scope(person_id)
    if not _own_record(principal, person):
        authorize(principal, "teams.view", membership["team_path"] if membership else "/", hide=True)
    return person, membership


async def _member_out(principal: Principal, person: dict[str, Any], membership: dict[str, Any] | None, unmask: bool) -> MemberOut:
    path = membership["team_path"] if membership else "/"
    may_unmask = _own_record(principal, person) or can(principal, "members.personal", path)
    show = unmask and may_unmask
    if show:
        # Reading unmasked personal data is logged (个人信息保护法).
        await accounts.record_audit(principal, "members.person.read_personal", "person", str(person["id"]), path, {})
    today = china_today()
    first_aid = await _first_aid([person["id"]], today)
    return MemberOut(
        id=person["id"],
        name=person["name"],
        gender=person["gender"],
        birth_date=person["birth_date"],
        id_number=crypto.decrypt(person["id_number_encrypted"]) if show else mask_id(person["id_number_last4"]),
        phone=person["phone"] if show or may_unmask else mask_phone(person["phone"]),
        blood_type=person["blood_type"],
        emergency_contact=person["emergency_contact"],
        emergency_phone=person["emergency_phone"] if show or may_unmask else mask_phone(person["emergency_phone"]),
        rc_member_number=person["rc_member_number"],
        skills=person["skills"],
        languages=json.loads(person["languages"]) if isinstance(person["languages"], str) else person["languages"],
        masked=not show,
        membership=_membership_out(membership) if membership and membership["left_on"] is None else None,
        first_aid_valid=person["id"] in first_aid,
        insured=person["id"] in await _insured([person["id"]], today),
    )


async def get_member(principal: Principal, person_id: int, *, unmask: bool = False, on: date | None = None) -> MemberDetail:
    person, membership = await _visible_person(principal, person_id)
    base = await _member_out(principal, person, membership, unmask)
    on = on or china_today()
    history = await Membership.select(
        Membership.all_columns(), Membership.team.code.as_alias("team_code"), Membership.team.name_zh.as_alias("team_name")
    ).where(Membership.person == person_id).order_by(Membership.joined_on, Membership.id)
    hours = await HoursEntry.select(HoursEntry.hours, HoursEntry.worked_on).where(
        (HoursEntry.person == person_id) & (HoursEntry.status == HoursStatus.approved.value)
    )
    return MemberDetail(
        **base.model_dump(),
        history=[_membership_out(row) for row in history],
        certificates=await list_certificates(principal, person_id, on=on),
        insurance=await _insurance_of(person_id, on),
        hours_total=sum((Decimal(str(h["hours"])) for h in hours), Decimal(0)),
        hours_this_year=sum((Decimal(str(h["hours"])) for h in hours if h["worked_on"].year == on.year), Decimal(0)),
    )


async def find_person_by_id_number(id_number: str) -> dict[str, Any] | None:
    return await Person.select().where(Person.id_number_hash == crypto.lookup_hash(id_number)).first()


async def insert_person(data: PersonIn) -> int:
    """A new person row (inside the caller's transaction): the ID number encrypted, with its lookup hash."""
    rows = await Person.insert(
        Person(
            gender=data.gender.value,
            birth_date=data.birth_date,
            id_number_encrypted=crypto.encrypt(data.id_number),
            id_number_hash=crypto.lookup_hash(data.id_number),
            id_number_last4=data.id_number[-4:],
            created_at=utc_now(),
            **_person_values(data),
        )
    ).returning(Person.id)
    return rows[0]["id"]


def _person_values(data: PersonIn | PersonUpdate) -> dict[str, Any]:
    values = data.model_dump(exclude={"id_number", "gender", "birth_date"})
    values["languages"] = json.dumps(values["languages"])
    return values


async def join_team(principal: Principal | None, team_code: str, data: JoinIn) -> MemberOut:
    """Add a person to a team; someone already known (same ID number) joins again with their history."""
    team = await teams.team_row(team_code)
    if principal is not None:
        authorize(principal, "roster.manage", team["path"], hide=not can(principal, "teams.view", team["path"]))
    person_id = await _join(principal, team, data)
    person, membership = await _person_scope(person_id)
    return await _member_out(principal or _system(), person, membership, unmask=False)


def _system() -> Principal:
    return Principal(user_id=0, username="system", display_name="system", kind="service", locale=None, grants=())


async def _join(principal: Principal | None, team: dict[str, Any], data: JoinIn) -> int:
    if team["status"] == "exited":
        raise InvalidInput(f"Team {team['code']} has exited; it takes no new members.", code="team_exited")
    existing = await find_person_by_id_number(data.person.id_number)
    async with write_transaction():
        if existing is not None:
            open_membership = await Membership.select(Membership.team.code.as_alias("team_code"), Membership.team.name_zh.as_alias("name")).where(
                (Membership.person == existing["id"]) & Membership.left_on.is_null()
            ).first()
            if open_membership is not None:
                where = "this team" if open_membership["team_code"] == team["code"] else f"team {open_membership['name']} ({open_membership['team_code']})"
                raise Conflict(f"{existing['name']} is already a member of {where}; they must leave it first.", code="already_member")
            person_id = existing["id"]
            await Person.update(_person_values(data.person)).where(Person.id == person_id)
        else:
            person_id = await insert_person(data.person)
        role = TeamRole.member if data.status is MemberStatus.active else TeamRole.probationary
        rows = await Membership.insert(
            Membership(person=person_id, team=team["id"], role=role.value, status=data.status.value, joined_on=data.joined_on)
        ).returning(Membership.id)
        await MembershipEvent.insert(
            MembershipEvent(membership=rows[0]["id"], kind="status", to_value=data.status.value, reason="joined",
                            effective_on=data.joined_on, by_user=principal.user_id if principal else None, at=utc_now())
        )
        await accounts.record_audit(principal, "members.membership.join", "person", str(person_id), team["path"],
                                    {"team": team["code"], "status": data.status.value, "name": data.person.name})
        await events.emit(principal, "member.joined", MembershipChanged(
            person_id=person_id, team_code=team["code"], status=data.status, effective_on=data.joined_on, reason="joined"),
            org_path=team["path"], aggregate_id=str(person_id))
    return person_id


async def update_person(principal: Principal, person_id: int, data: PersonUpdate) -> MemberOut:
    person, membership = await _visible_person(principal, person_id)
    path = membership["team_path"] if membership else "/"
    if not _own_record(principal, person):
        authorize(principal, "roster.manage", path)
    async with write_transaction():
        await Person.update(_person_values(data)).where(Person.id == person_id)
        await accounts.record_audit(principal, "members.person.update", "person", str(person_id), path,
                                    {"fields": sorted(data.model_fields_set)})
    person, membership = await _person_scope(person_id)
    return await _member_out(principal, person, membership, unmask=False)


async def change_member_status(principal: Principal, person_id: int, change: StatusChangeIn) -> MemberOut:
    person, membership = await _visible_person(principal, person_id)
    if membership is None or membership["left_on"] is not None:
        raise InvalidInput(f"{person['name']} has no open membership to change.", code="no_membership")
    authorize(principal, "roster.manage", membership["team_path"])
    current = MemberStatus(membership["status"])
    if change.status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        raise InvalidInput(f"A member who is {current.value} cannot become {change.status.value}; allowed: {allowed}.",
                           code="invalid_transition")
    if change.status in (MemberStatus.exited, MemberStatus.inactive) and len(change.reason.strip()) < 2:
        raise field_error("reason", f"say why the member is {change.status.value}")
    if change.effective_on < membership["joined_on"]:
        raise field_error("effective_on", "cannot be before the member joined")
    values: dict[Any, Any] = {Membership.status: change.status.value}
    if change.status is MemberStatus.exited:
        values.update({Membership.left_on: change.effective_on, Membership.exit_reason: change.reason})
    if change.status is MemberStatus.active and membership["role"] == TeamRole.probationary.value:
        values[Membership.role] = TeamRole.member.value
    async with write_transaction():
        await Membership.update(values).where(Membership.id == membership["id"])
        await MembershipEvent.insert(
            MembershipEvent(membership=membership["id"], kind="status", from_value=current.value, to_value=change.status.value,
                            reason=change.reason, effective_on=change.effective_on, by_user=principal.user_id, at=utc_now())
        )
        await accounts.record_audit(principal, "members.membership.status", "person", str(person_id), membership["team_path"],
                                    {"from": current.value, "to": change.status.value, "reason": change.reason})
        await events.emit(principal, "member.left" if change.status is MemberStatus.exited else "member.status_changed",
                          MembershipChanged(person_id=person_id, team_code=membership["team_code"], status=change.status,
                                            previous_status=current, effective_on=change.effective_on, reason=change.reason),
                          org_path=membership["team_path"], aggregate_id=str(person_id))
    person, membership = await _person_scope(person_id)
    return await _member_out(principal, person, membership, unmask=False)


def _roster_query(team_id: Any) -> Any:
    return Membership.select(
        Membership.all_columns(), Membership.person.name.as_alias("name"), Membership.person.gender.as_alias("gender"),
        Membership.person.phone.as_alias("phone"),
    ).where(Membership.team == team_id).order_by(Membership.joined_on, Membership.id)


_ROSTER_EVER = Statement(_roster_query)
_ROSTER = Statement(lambda team_id: _roster_query(team_id).where(Membership.left_on.is_null()))


async def roster(principal: Principal, team_code: str, *, on: date | None = None, include_exited: bool = False) -> TeamRosterSummary:
    team = await teams.team_row(team_code)
    authorize(principal, "teams.view", team["path"], hide=True)
    on = on or china_today()
    rows = await (_ROSTER_EVER if include_exited else _ROSTER).rows(team["id"])
    ids = [row["person"] for row in rows]
    first_aid = await _first_aid(ids, on)
    insured = await _insured(ids, on)
    hours = await HoursEntry.select(HoursEntry.person, HoursEntry.hours).where(
        HoursEntry.person.is_in(ids or [-1]) & (HoursEntry.team == team["id"]) & (HoursEntry.status == HoursStatus.approved.value)
        & (HoursEntry.worked_on >= date(on.year, 1, 1)) & (HoursEntry.worked_on <= date(on.year, 12, 31))
    )
    per_person: dict[int, Decimal] = {}
    for h in hours:
        per_person[h["person"]] = per_person.get(h["person"], Decimal(0)) + Decimal(str(h["hours"]))
    show_phone = can(principal, "members.personal", team["path"])
    entries = [
        RosterEntry(
            person_id=row["person"], name=row["name"], gender=row["gender"], role=row["role"], status=row["status"],
            joined_on=row["joined_on"], phone=row["phone"] if show_phone else mask_phone(row["phone"]),
            first_aid_valid=row["person"] in first_aid,
            first_aid_expires_on=None if first_aid.get(row["person"]) in (None, date.max) else first_aid[row["person"]],
            insured=row["person"] in insured, hours_this_year=per_person.get(row["person"], Decimal(0)),
        )
        for row in rows
    ]
    counted = [e for e in entries if e.status.value in ON_ROSTER]
    certified = sum(1 for e in counted if e.first_aid_valid)
    return TeamRosterSummary(
        members=entries,
        active=len(counted),
        certified=certified,
        certified_ratio=round(certified / len(counted), 3) if counted else 0.0,
        expiring=await _expiring(ids, on),
        hours_this_year=sum(per_person.values(), Decimal(0)),
    )


async def _expiring(person_ids: list[int], on: date) -> list[dict[str, Any]]:
    if not person_ids:
        return []
    horizon = on + timedelta(days=EXPIRY_WARNING_DAYS)
    certificates = await Certificate.select(
        Certificate.id, Certificate.person, Certificate.person.name.as_alias("name"), Certificate.type.name_zh.as_alias("what"),
        Certificate.expires_on.as_alias("ends_on"),
    ).where(Certificate.person.is_in(person_ids) & (Certificate.expires_on >= on) & (Certificate.expires_on <= horizon))
    policies = await InsurancePolicy.select(
        InsurancePolicy.id, InsurancePolicy.person, InsurancePolicy.person.name.as_alias("name"), InsurancePolicy.insurer.as_alias("what"),
        InsurancePolicy.ends_on,
    ).where(InsurancePolicy.person.is_in(person_ids) & (InsurancePolicy.ends_on >= on) & (InsurancePolicy.ends_on <= horizon))
    items = [{**row, "kind": "certificate"} for row in certificates] + [{**row, "kind": "insurance"} for row in policies]
    return sorted(items, key=lambda item: item["ends_on"])


REMINDER_BATCH = 10_000  # people per query of the expiry reminders


async def remind_expiring(on: date | None = None) -> str:
    """Tell each member, and their team's leaders, once, that a certificate or insurance policy ends within 90 days."""
    on = on or china_today()
    memberships = await Membership.select(Membership.person, Membership.team, Membership.team.path.as_alias("path")).where(
        Membership.left_on.is_null() & Membership.status.is_in([MemberStatus.active.value, MemberStatus.probation.value]))
    team_of = {m["person"]: m for m in memberships}
    people, told = list(team_of), 0
    # In batches: the country's members would pass PostgreSQL's limit of 32,767 parameters in one IN list.
    expiring, users = [], {}
    for start in range(0, len(people), REMINDER_BATCH):
        batch = people[start:start + REMINDER_BATCH]
        users.update(await users_of(batch))
        expiring += await _expiring(batch, on)
    leaders_of = await accounts.holders_by_team(accounts.LEADERS)
    for item in sorted(expiring, key=lambda item: item["ends_on"]):
        membership = team_of[item["person"]]
        recipients = [*([users[item["person"]]] if item["person"] in users else []), *leaders_of.get(membership["team"], [])]
        if not recipients:
            continue  # nobody to tell: no transaction either
        what = "证书" if item["kind"] == "certificate" else "保险"
        async with write_transaction():
            told += len(await events.notify(
                recipients, kind=f"members.{item['kind']}_expiry",
                title=f"{what}即将到期：{item['name']} 的{item['what']}", body=f"有效期至 {item['ends_on']}，请及时复训或续保。",
                link=f"/members/{item['person']}", key=f"expiry:{item['kind']}:{item['id']}:{item['ends_on']}", org_path=membership["path"]))
    return f"{told} reminders sent"


# --- certificates and insurance ------------------------------------------------------------


async def _editable_person(principal: Principal, person_id: int) -> tuple[dict[str, Any], str]:
    person, membership = await _visible_person(principal, person_id)
    path = membership["team_path"] if membership else "/"
    authorize(principal, "roster.manage", path)
    return person, path


async def _insert_certificate(principal: Principal, person_id: int, path: str, data: CertificateIn) -> int:
    kind = await CertificateType.select().where(CertificateType.code == data.type_code).first()
    if kind is None:
        raise field_error("type_code", f"unknown certificate type '{data.type_code}'")
    expires_on = data.expires_on
    if expires_on is None and kind["validity_months"]:
        expires_on = add_months(data.issued_on, kind["validity_months"])
    rows = await Certificate.insert(
        Certificate(person=person_id, type=kind["id"], number=data.number, issued_on=data.issued_on,
                    expires_on=expires_on, created_at=utc_now())
    ).returning(Certificate.id)
    await accounts.record_audit(principal, "members.certificate.add", "person", str(person_id), path,
                                {**data.model_dump(mode="json"), "expires_on": str(expires_on)})
    return rows[0]["id"]


async def add_certificate(principal: Principal, person_id: int, data: CertificateIn) -> CertificateOut:
    _, path = await _editable_person(principal, person_id)
    async with write_transaction():
        certificate_id = await _insert_certificate(principal, person_id, path, data)
    return next(c for c in await list_certificates(principal, person_id) if c.id == certificate_id)


async def list_certificates(principal: Principal, person_id: int, *, on: date | None = None) -> list[CertificateOut]:
    await _visible_person(principal, person_id)
    on = on or china_today()
    rows = await Certificate.select(
        Certificate.all_columns(), Certificate.type.code.as_alias("type_code"), Certificate.type.name_zh.as_alias("type_name_zh"),
        Certificate.type.name_en.as_alias("type_name_en"), Certificate.type.first_aid.as_alias("first_aid"),
    ).where(Certificate.person == person_id).order_by(Certificate.issued_on, ascending=False)
    tokens = await _training_tokens([row["id"] for row in rows if row["source"] == TRAINING_SOURCE])
    return [
        CertificateOut(**{k: row[k] for k in ("id", "type_code", "type_name_zh", "type_name_en", "first_aid", "number", "issued_on", "expires_on",
                                              "source")},
                       valid=_valid_on(row["expires_on"], on, row["issued_on"]), has_file=bool(row["file_name"]),
                       verify_url=tokens.get(row["id"]))
        for row in rows
    ]


# members_certificate.source of the copies first-aid training keeps on the roster (training.certificates.SOURCE).
TRAINING_SOURCE = "training"


async def _training_tokens(certificate_ids: list[int]) -> dict[int, str]:
    """Roster copy id -> the public verification page of the training certificate behind it."""
    if not certificate_ids:
        return {}
    from rescueops.training.certificates import verify_url
    from rescueops.training.tables import TrainingCertificate

    rows = await TrainingCertificate.select(TrainingCertificate.member_certificate, TrainingCertificate.verify_token).where(
        TrainingCertificate.member_certificate.is_in(certificate_ids))
    return {row["member_certificate"]: verify_url(row["verify_token"]) for row in rows}


async def delete_certificate(principal: Principal, person_id: int, certificate_id: int) -> None:
    _, path = await _editable_person(principal, person_id)
    found = await Certificate.select(Certificate.source).where((Certificate.id == certificate_id) & (Certificate.person == person_id)).first()
    if found is None:
        raise NotFound(f"Member #{person_id} has no certificate #{certificate_id}.")
    if found["source"] == TRAINING_SOURCE:
        raise Conflict("This certificate was issued by first-aid training — revoke it there (培训证书请在应急救护培训中撤销).",
                       code="training_certificate")
    async with write_transaction():
        await Certificate.delete().where(Certificate.id == certificate_id)
        await accounts.record_audit(principal, "members.certificate.delete", "person", str(person_id), path, {"certificate": certificate_id})


async def _insurance_of(person_id: int, on: date) -> list[InsuranceOut]:
    rows = await InsurancePolicy.select().where(InsurancePolicy.person == person_id).order_by(InsurancePolicy.ends_on, ascending=False)
    return [InsuranceOut(**{k: row[k] for k in ("id", "insurer", "policy_number", "starts_on", "ends_on")},
                         valid=row["starts_on"] <= on <= row["ends_on"], has_file=bool(row["file_name"])) for row in rows]


async def add_insurance(principal: Principal, person_id: int, data: InsuranceIn) -> InsuranceOut:
    _, path = await _editable_person(principal, person_id)
    async with write_transaction():
        rows = await InsurancePolicy.insert(InsurancePolicy(person=person_id, created_at=utc_now(), **data.model_dump())).returning(InsurancePolicy.id)
        await accounts.record_audit(principal, "members.insurance.add", "person", str(person_id), path, data.model_dump(mode="json"))
    return next(p for p in await _insurance_of(person_id, china_today()) if p.id == rows[0]["id"])


# --- service hours -------------------------------------------------------------------------


def _hours_out(row: dict[str, Any]) -> HoursOut:
    return HoursOut(id=row["id"], person_id=row["person"], person_name=row["person_name"], team_code=row["team_code"],
                    source=row["source"], worked_on=row["worked_on"], hours=Decimal(str(row["hours"])), note=row["note"],
                    status=row["status"])


_HOURS_COLUMNS = (HoursEntry.all_columns(), HoursEntry.person.name.as_alias("person_name"), HoursEntry.team.code.as_alias("team_code"))


async def log_hours(principal: Principal, person_id: int, data: HoursIn) -> HoursOut:
    """Manual entry: pending until a captain or supervisor approves it (drills and deployments add approved rows)."""
    person, membership = await _visible_person(principal, person_id)
    if membership is None or membership["left_on"] is not None:
        raise InvalidInput(f"{person['name']} is not on a team roster.", code="no_membership")
    if not _own_record(principal, person):
        authorize(principal, "roster.manage", membership["team_path"])
    async with write_transaction():
        rows = await HoursEntry.insert(
            HoursEntry(person=person_id, team=membership["team"], source=HoursSource.manual.value, worked_on=data.worked_on,
                       hours=data.hours, note=data.note, status=HoursStatus.pending.value, entered_by=principal.user_id,
                       created_at=utc_now())
        ).returning(HoursEntry.id)
        await accounts.record_audit(principal, "members.hours.log", "person", str(person_id), membership["team_path"],
                                    data.model_dump(mode="json"))
    return _hours_out(await HoursEntry.select(*_HOURS_COLUMNS).where(HoursEntry.id == rows[0]["id"]).first())


async def add_hours(person_id: int, team_id: int, source: HoursSource, source_ref: str, worked_on: date, hours: Decimal, note: str) -> None:
    """For drills and deployments: approved hours, written inside the caller's transaction."""
    await HoursEntry.insert(
        HoursEntry(person=person_id, team=team_id, source=source.value, source_ref=source_ref, worked_on=worked_on,
                   hours=hours, note=note, status=HoursStatus.approved.value, created_at=utc_now())
    )


async def team_hours(principal: Principal, team_code: str, *, status: HoursStatus | None = None) -> list[HoursOut]:
    team = await teams.team_row(team_code)
    authorize(principal, "teams.view", team["path"], hide=True)
    query = HoursEntry.select(*_HOURS_COLUMNS).where(HoursEntry.team == team["id"]).order_by(HoursEntry.worked_on, ascending=False)
    if status:
        query = query.where(HoursEntry.status == status.value)
    return [_hours_out(row) for row in await query]


async def decide_hours(principal: Principal, entry_id: int, decision: HoursDecisionIn) -> HoursOut:
    row = await HoursEntry.select(*_HOURS_COLUMNS, HoursEntry.team.path.as_alias("team_path")).where(HoursEntry.id == entry_id).first()
    if row is None:
        raise NotFound(f"No hours entry #{entry_id}.")
    authorize(principal, "hours.approve", row["team_path"], hide=not can(principal, "teams.view", row["team_path"]))
    if row["entered_by"] == principal.user_id:
        raise InvalidInput("Hours you entered yourself are approved by someone else.", code="own_entry")
    status = HoursStatus.approved if decision.approve else HoursStatus.rejected
    async with write_transaction():
        won = await HoursEntry.update({HoursEntry.status: status.value, HoursEntry.decided_by: principal.user_id}).where(
            (HoursEntry.id == entry_id) & (HoursEntry.status == HoursStatus.pending.value)
        ).returning(HoursEntry.id)
        if not won:
            raise Conflict("This entry was already decided.", code="already_decided")
        await accounts.record_audit(principal, f"members.hours.{status.value}", "person", str(row["person"]), row["team_path"], {"entry": entry_id})
    return _hours_out(await HoursEntry.select(*_HOURS_COLUMNS).where(HoursEntry.id == entry_id).first())


# --- QR member cards -----------------------------------------------------------------------


def card_url(token: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/c/{token}"


async def card(principal: Principal, person_id: int) -> CardOut:
    person, _ = await _visible_person(principal, person_id)
    token = crypto.sign(CARD_PURPOSE, {"p": person["id"], "v": person["card_version"]})
    return CardOut(person_id=person["id"], token=token, url=card_url(token))


async def revoke_cards(principal: Principal, person_id: int) -> CardOut:
    """Invalidate every card printed so far (lost card); a new one is issued."""
    _, path = await _editable_person(principal, person_id)
    async with write_transaction():
        await Person.update({Person.card_version: Person.card_version + 1}).where(Person.id == person_id)
        await accounts.record_audit(principal, "members.card.revoke", "person", str(person_id), path, {})
    return await card(principal, person_id)


_CARD_HOLDER = Statement(lambda person_id: Person.select(Person.id, Person.name, Person.card_version).where(Person.id == person_id).limit(1))


async def verify_card(principal: Principal, token: str) -> CardHolder:
    """Who a scanned card belongs to: name and team only, never personal data."""
    payload = crypto.unsign(CARD_PURPOSE, token.rsplit("/", 1)[-1])
    person = await _CARD_HOLDER.first(payload.get("p", -1)) if payload else None
    if person is None or person["card_version"] != payload.get("v"):
        raise NotFound("This card is not valid: it was revoked, or it was not issued by this system.", code="card_invalid")
    membership = (await _current([person["id"]])).get(person["id"])
    open_membership = membership if membership and membership["left_on"] is None else None
    await accounts.record_audit(principal, "members.card.verify", "person", str(person["id"]),
                                open_membership["team_path"] if open_membership else "/", {})
    return CardHolder(
        person_id=person["id"], name=person["name"],
        team_code=open_membership["team_code"] if open_membership else None,
        team_name=open_membership["team_name"] if open_membership else None,
        status=open_membership["status"] if open_membership else None,
    )


# --- roster import and export --------------------------------------------------------------


def _problem_column(loc: tuple[Any, ...], message: str) -> tuple[str, str]:
    """The spreadsheet column a validation error belongs to, and the message without the field prefix."""
    key = next((str(part) for part in reversed(loc) if str(part) in roster_file.HEADER_OF), None)
    if key is None and ":" in message:
        prefix, _, rest = message.partition(":")
        candidate = prefix.replace("Value error,", "").strip()
        if candidate in roster_file.HEADER_OF:
            key, message = candidate, rest.strip()
    message = message.removeprefix("Value error, ")
    return (roster_file.HEADER_OF.get(key, "—") if key else "—"), message


def _row_to_join(values: dict[str, Any], types: dict[str, dict[str, Any]]) -> tuple[JoinIn, CertificateIn | None, list[tuple[str, str]]]:
    """Build the validated input of one row; returns (join, certificate, problems as (column, message))."""
    problems: list[tuple[str, str]] = []
    header = roster_file.HEADER_OF

    def convert(key: str, fn: Any, default: Any = None) -> Any:
        if key not in values:
            return default
        try:
            return fn(values[key])
        except (ValueError, KeyError) as error:
            problems.append((header[key], str(error).strip("'\"")))
            return default

    def gender(value: Any) -> str:
        if str(value).lower() not in roster_file.GENDERS:
            raise ValueError(f"'{value}': write 男 or 女")
        return roster_file.GENDERS[str(value).lower()]

    def status(value: Any) -> str:
        if str(value) not in roster_file.STATUSES:
            raise ValueError(f"'{value}': write 申请, 见习 or 在队")
        return roster_file.STATUSES[str(value)]

    def languages(value: Any) -> list[str]:
        names = [n for n in str(value).replace("，", ",").replace("、", ",").replace(";", ",").split(",") if n.strip()]
        unknown = [n for n in names if n.strip() not in roster_file.LANGUAGE_NAMES]
        if unknown:
            raise ValueError(f"unknown language {', '.join(unknown)}; write 汉语、蒙古语、英语 or 俄语")
        return [roster_file.LANGUAGE_NAMES[n.strip()] for n in names]

    def id_number(value: Any) -> tuple[str, date, str]:
        return parse_id_number(str(value))

    parsed_id = convert("id_number", id_number)
    person = {
        key: str(values[key])
        for key in ("name", "phone", "blood_type", "emergency_contact", "emergency_phone", "rc_member_number", "skills")
        if key in values
    }
    person["gender"] = convert("gender", gender)
    person["birth_date"] = convert("birth_date", roster_file.parse_date) or (parsed_id[1] if parsed_id else None)
    person["id_number"] = parsed_id[0] if parsed_id else str(values.get("id_number", ""))
    person["languages"] = convert("languages", languages, ["zh"])
    join: JoinIn | None = None
    certificate: CertificateIn | None = None
    if not problems:
        try:
            join = JoinIn(
                person=PersonIn(**person),
                status=convert("status", status, MemberStatus.active.value),
                joined_on=convert("joined_on", roster_file.parse_date, china_today()),
            )
        except ValidationError as error:
            problems += [_problem_column(e["loc"], e["msg"]) for e in error.errors()]
    if any(k.startswith("cert_") for k in values):
        kind = str(values.get("cert_type", ""))
        found = types.get(kind)
        if found is None:
            problems.append((header["cert_type"], f"unknown certificate type '{kind}'" if kind else "give the certificate type"))
        issued = convert("cert_issued_on", roster_file.parse_date)
        expires = convert("cert_expires_on", roster_file.parse_date)
        if issued is None and "cert_issued_on" not in values:
            problems.append((header["cert_issued_on"], "give the date the certificate was issued"))
        if found and issued and not problems:
            try:
                certificate = CertificateIn(type_code=found["code"], number=str(values.get("cert_number", "")), issued_on=issued, expires_on=expires)
            except ValidationError as error:
                problems += [_problem_column(("cert_" + str(e["loc"][-1]) if e["loc"] else "",), e["msg"]) for e in error.errors()]
    return join, certificate, problems


async def _validate_roster(team: dict[str, Any], parsed: roster_file.ParsedFile) -> tuple[list[tuple[int, JoinIn, CertificateIn | None]], list[ImportRowError]]:
    types = {}
    for row in await CertificateType.select():
        types[row["code"]] = row
        types[row["name_zh"]] = row
    errors: list[ImportRowError] = []
    valid: list[tuple[int, JoinIn, CertificateIn | None]] = []
    seen: dict[str, int] = {}
    for number, values in parsed.rows:
        join, certificate, problems = _row_to_join(values, types)
        if join is not None and not problems:
            earlier = seen.get(join.person.id_number)
            if earlier is not None:
                problems.append((roster_file.HEADER_OF["id_number"], f"the same person as row {earlier}"))
            seen.setdefault(join.person.id_number, number)
        errors += [ImportRowError(row=number, column=column, message=message) for column, message in problems]
        if join is not None and not problems:
            valid.append((number, join, certificate))
    # People already on a roster (this one or another), found by their ID numbers' keyed hashes.
    hashes = {crypto.lookup_hash(join.person.id_number): number for number, join, _ in valid}
    taken = await Membership.select(
        Membership.person.id_number_hash.as_alias("hash"), Membership.team.code.as_alias("team_code"),
        Membership.team.name_zh.as_alias("team_name"),
    ).where(Membership.left_on.is_null() & Membership.person.id_number_hash.is_in(list(hashes) or [""]))
    clashes = {hashes[row["hash"]]: row for row in taken}
    for number, clash in clashes.items():
        where = "already on this roster" if clash["team_code"] == team["code"] else f"active in team {clash['team_name']} ({clash['team_code']})"
        errors.append(ImportRowError(row=number, column=roster_file.HEADER_OF["id_number"], message=where))
    valid = [item for item in valid if item[0] not in clashes]
    return valid, sorted(errors, key=lambda e: (e.row, e.column))


async def _import_team(principal: Principal, team_code: str) -> dict[str, Any]:
    team = await teams.team_row(team_code)
    authorize(principal, "roster.manage", team["path"], hide=not can(principal, "teams.view", team["path"]))
    return team


async def check_roster_file(principal: Principal, team_code: str, file_name: str, content: bytes) -> ImportReport:
    """Read and validate an upload; nothing is written but the (encrypted) file, kept for the commit."""
    team = await _import_team(principal, team_code)
    file_name = uploads.display_name(file_name, "roster")
    try:
        parsed = roster_file.read(file_name, content)
    except roster_file.RosterFileError as error:
        raise InvalidInput(f"{file_name}: {error}", code="bad_roster_file") from error
    valid, errors = await _validate_roster(team, parsed)
    report = ImportReport(batch_id=None, file_name=file_name, rows=len(parsed.rows), valid_rows=len(valid), errors=errors)
    async with write_transaction():
        rows = await ImportBatch.insert(
            ImportBatch(team=team["id"], file_name=file_name, content_encrypted=crypto.encrypt_bytes(content),
                        report=report.model_dump_json(), uploaded_by=principal.user_id, uploaded_at=utc_now())
        ).returning(ImportBatch.id)
    return report.model_copy(update={"batch_id": rows[0]["id"]})


async def commit_import(principal: Principal, team_code: str, batch_id: int, *, valid_only: bool = False) -> ImportReport:
    """Write a checked file: all of it, or (when asked) only its valid rows; one transaction either way."""
    team = await _import_team(principal, team_code)
    batch = await ImportBatch.select().where((ImportBatch.id == batch_id) & (ImportBatch.team == team["id"])).first()
    if batch is None or batch["uploaded_by"] != principal.user_id:
        raise NotFound(f"No upload #{batch_id} of yours for team {team_code}; upload the file again.")
    if batch["committed_at"] is not None:
        raise Conflict("This file was imported already.", code="already_imported")
    parsed = roster_file.read(batch["file_name"], crypto.decrypt_bytes(batch["content_encrypted"]))
    valid, errors = await _validate_roster(team, parsed)  # again: the roster may have changed since the check
    if errors and not valid_only:
        raise InvalidInput(
            f"{len(errors)} problems in {len({e.row for e in errors})} rows: nothing was imported. "
            "Correct the file, or choose to import only the valid rows.",
            code="import_has_errors",
            details=[e.model_dump() for e in errors[:200]],
        )
    async with write_transaction():
        for _, join, certificate in valid:
            person_id = await _join(principal, team, join)
            if certificate is not None:
                await _insert_certificate(principal, person_id, team["path"], certificate)
        await ImportBatch.update({ImportBatch.committed_at: utc_now(), ImportBatch.content_encrypted: ""}).where(ImportBatch.id == batch_id)
        await accounts.record_audit(principal, "members.import.commit", "team", team_code, team["path"],
                                    {"file": batch["file_name"], "imported": len(valid), "skipped_rows": sorted({e.row for e in errors})})
    return ImportReport(batch_id=batch_id, file_name=batch["file_name"], rows=len(parsed.rows), valid_rows=len(valid),
                        errors=errors, committed=len(valid))


async def purge_imports() -> str:
    """Housekeeping: uploaded files not imported within a day are deleted (they hold ID numbers)."""
    cutoff = utc_now() - timedelta(days=1)
    stale = await ImportBatch.count().where(ImportBatch.uploaded_at < cutoff)
    await ImportBatch.delete().where(ImportBatch.uploaded_at < cutoff)
    return f"{stale} uploads removed"


async def export_roster(principal: Principal, team_code: str, fmt: str) -> bytes:
    team = await teams.team_row(team_code)
    authorize(principal, "teams.view", team["path"], hide=True)
    personal = can(principal, "members.personal", team["path"])
    rows = await Membership.select(Membership.all_columns(), Membership.person.all_columns()).where(
        (Membership.team == team["id"]) & Membership.left_on.is_null()
    ).order_by(Membership.joined_on, Membership.id)
    certificates = await Certificate.select(
        Certificate.person, Certificate.number, Certificate.issued_on, Certificate.expires_on, Certificate.type.name_zh.as_alias("type")
    ).where(Certificate.person.is_in([r["person"] for r in rows] or [-1]) & (Certificate.type.first_aid == True)).order_by(Certificate.issued_on)  # noqa: E712
    latest = {c["person"]: c for c in certificates}
    status_names = {v: k for k, v in roster_file.STATUSES.items() if not k.isascii()}
    language_names = {v: k for k, v in reversed(list(roster_file.LANGUAGE_NAMES.items()))}
    out = []
    for row in rows:
        p = {k.removeprefix("person."): v for k, v in row.items() if k.startswith("person.")}
        cert = latest.get(row["person"], {})
        languages = json.loads(p["languages"]) if isinstance(p["languages"], str) else p["languages"]
        out.append({
            "name": p["name"], "gender": "男" if p["gender"] == "male" else "女",
            "id_number": crypto.decrypt(p["id_number_encrypted"]) if personal else mask_id(p["id_number_last4"]),
            "birth_date": p["birth_date"], "phone": p["phone"] if personal else mask_phone(p["phone"]),
            "blood_type": p["blood_type"], "emergency_contact": p["emergency_contact"],
            "emergency_phone": p["emergency_phone"] if personal else mask_phone(p["emergency_phone"]),
            "rc_member_number": p["rc_member_number"], "skills": p["skills"],
            "languages": "、".join(language_names.get(code, code) for code in languages),
            "status": status_names.get(row["status"], row["status"]), "joined_on": row["joined_on"],
            "cert_type": cert.get("type", ""), "cert_number": cert.get("number", ""),
            "cert_issued_on": cert.get("issued_on", ""), "cert_expires_on": cert.get("expires_on") or "",
        })
    if personal:
        await accounts.record_audit(principal, "members.roster.export", "team", team_code, team["path"], {"rows": len(out), "format": fmt})
    return roster_file.write(out, fmt)


# --- scanned copies of certificates and insurance policies --------------------------------

_SCANNED = {"certificate": Certificate, "insurance": InsurancePolicy}


def _scan_dir() -> Path:
    return get_settings().var_dir / "uploads"


async def attach_scan(principal: Principal, person_id: int, kind: str, record_id: int, content: bytes, content_type: str) -> None:
    """Keep a scanned copy (PDF, JPEG or PNG) of a certificate or policy, encrypted at rest like the ID number."""
    _, path = await _editable_person(principal, person_id)
    table = _SCANNED[kind]
    row = await table.select(table.id, table.file_name).where((table.id == record_id) & (table.person == person_id)).first()
    if row is None:
        raise NotFound(f"Member #{person_id} has no {kind} #{record_id}.")
    media = uploads.document_type(content, content_type, "A scan")
    folder = _scan_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{kind}-{record_id}-{secrets.token_hex(8)}{uploads.DOCUMENT_TYPES[media]}"
    (folder / name).write_text(crypto.encrypt_bytes(content))
    async with write_transaction():
        await table.update({table.file_name: name, table.file_type: media}).where(table.id == record_id)
        await accounts.record_audit(principal, f"members.{kind}.scan", "person", str(person_id), path, {"record": record_id, "file": name})
    if row["file_name"]:
        (folder / row["file_name"]).unlink(missing_ok=True)  # the replaced scan


async def read_scan(principal: Principal, person_id: int, kind: str, record_id: int) -> tuple[bytes, str]:
    person, membership = await _visible_person(principal, person_id)
    path = membership["team_path"] if membership else "/"
    if not _own_record(principal, person):
        authorize(principal, "members.personal", path)
    table = _SCANNED[kind]
    row = await table.select(table.file_name, table.file_type).where((table.id == record_id) & (table.person == person_id)).first()
    if row is None or not row["file_name"]:
        raise NotFound(f"No scan for {kind} #{record_id}.")
    await accounts.record_audit(principal, f"members.{kind}.scan_read", "person", str(person_id), path, {"record": record_id})
    return crypto.decrypt_bytes((_scan_dir() / row["file_name"]).read_text()), row["file_type"]


async def link_account(principal: Principal, person_id: int, username: str | None) -> MemberOut:
    """Tie a login to a person so they see their own page, card and hours (or untie it with None)."""
    person, path = await _editable_person(principal, person_id)
    user_id = await accounts.find_user_id(username) if username else None
    if user_id is not None and await Person.exists().where((Person.user == user_id) & (Person.id != person_id)):
        raise Conflict(f"The account '{username}' already belongs to another member.", code="account_taken")
    async with write_transaction():
        await Person.update({Person.user: user_id}).where(Person.id == person_id)
        await accounts.record_audit(principal, "members.person.account", "person", str(person_id), path, {"username": username})
    person, membership = await _person_scope(person_id)
    return await _member_out(principal, person, membership, unmask=False)


async def person_summary(person_id: int) -> tuple[str, str | None]:
    """A person's name and the path of their current team (None when on no roster)."""
    person, membership = await _person_scope(person_id)
    open_membership = membership if membership and membership["left_on"] is None else None
    return person["name"], open_membership["team_path"] if open_membership else None


async def person_of_user(user_id: int) -> int | None:
    row = await Person.select(Person.id).where(Person.user == user_id).first()
    return row["id"] if row else None


# --- read for grading (分级测评) ----------------------------------------------------------------------

# The personal-record fields a complete member record has (record completeness counts in the grading).
RECORD_FIELDS = {"phone": "电话 phone", "emergency_contact": "紧急联系人 emergency contact", "emergency_phone": "紧急联系电话 emergency phone"}


async def grading_facts(team_ids: list[int], on: date) -> dict[int, list[dict[str, Any]]]:
    """Per team, the people on its roster (open memberships, probation or active, joined by ``on``), in three queries
    whatever the number of teams: person id, name, role, status, whether insured on ``on``, the certificate types they
    hold valid on ``on`` (``certificates``: type code -> latest expiry, None for no expiry), whether one of them is a
    first-aid certificate, and which record fields are missing (``missing``: labels from RECORD_FIELDS)."""
    if not team_ids:
        return {}
    on_roster = (Membership.team.is_in(list(team_ids)) & Membership.left_on.is_null() & Membership.status.is_in(list(ON_ROSTER))
                 & (Membership.joined_on <= on))
    rows = await Membership.select(
        Membership.team, Membership.person, Membership.role, Membership.status, Membership.person.name.as_alias("name"),
        *(getattr(Membership.person, name).as_alias(name) for name in RECORD_FIELDS),
    ).where(on_roster).order_by(Membership.person)
    people = Membership.select(Membership.person).where(on_roster)
    held: dict[int, dict[str, date | None]] = {}
    first_aid: set[int] = set()
    for row in await Certificate.select(Certificate.person, Certificate.expires_on, Certificate.type.code.as_alias("code"),
                                        Certificate.type.first_aid.as_alias("first_aid")).where(
            Certificate.person.is_in(people) & (Certificate.issued_on <= on)
            & (Certificate.expires_on.is_null() | (Certificate.expires_on >= on))):
        mine = held.setdefault(row["person"], {})
        known = mine.get(row["code"], date.min)
        mine[row["code"]] = None if row["expires_on"] is None or known is None else max(known, row["expires_on"])
        if row["first_aid"]:
            first_aid.add(row["person"])
    insured = {row["person"] for row in await InsurancePolicy.select(InsurancePolicy.person).where(
        InsurancePolicy.person.is_in(people) & (InsurancePolicy.starts_on <= on) & (InsurancePolicy.ends_on >= on))}
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["team"], []).append({
            "person": row["person"], "name": row["name"], "role": row["role"], "status": row["status"],
            "insured": row["person"] in insured, "certificates": held.get(row["person"], {}), "first_aid": row["person"] in first_aid,
            "missing": [label for name, label in RECORD_FIELDS.items() if not (row[name] or "").strip()],
        })
    return found
