"""Teams: registration, categories, status lifecycle, leadership and its filings (备案)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml

from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can, scopes_for
from rescueops.accounts.tables import Role
from rescueops.calendar import china_today, utc_now
from rescueops.db import write_transaction
from rescueops.db.pagination import PageParams
from rescueops.db.paths import under, within
from rescueops.db.search import contains
from rescueops.db.statements import Statement
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.events import service as events
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import Hub, OrgKind, OrgUnit
from rescueops.teams.schemas import (
    CategoryOut,
    DecisionIn,
    FilingIn,
    FilingOut,
    GradeOut,
    GradingDeclarationIn,
    Leadership,
    LeadershipEvent,
    StatusChangeOut,
    StatusIn,
    TeamCreate,
    TeamEvent,
    TeamOut,
    TeamUpdate,
)
from rescueops.teams.tables import (
    Category,
    FilingStatus,
    Grade,
    GradeStatus,
    LeadershipFiling,
    Specialty,
    StatusChange,
    Team,
    TeamStatus,
)

MIN_DEPUTIES, MAX_DEPUTIES = 2, 3

# Allowed moves of the team lifecycle; exited is final.
TRANSITIONS: dict[TeamStatus, set[TeamStatus]] = {
    TeamStatus.forming: {TeamStatus.active, TeamStatus.exited},
    TeamStatus.active: {TeamStatus.suspended, TeamStatus.exited},
    TeamStatus.suspended: {TeamStatus.active, TeamStatus.exited},
    TeamStatus.exited: set(),
}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- categories ----------------------------------------------------------------------------


_CATEGORIES = Statement(lambda: Category.select().order_by(Category.sort_order))


async def list_categories() -> list[CategoryOut]:
    return [CategoryOut.model_validate(row) for row in await _CATEGORIES.rows()]


@cache
def shipped_categories() -> list[dict[str, Any]]:
    """The team categories of the shipped reference file (what ``load_categories`` loads)."""
    text = resources.files("rescueops.teams").joinpath("reference/categories.yaml").read_text("utf-8")
    return yaml.safe_load(text)["categories"]


async def load_categories() -> int:
    """Load the shipped category list (idempotent); returns how many were added."""
    entries = shipped_categories()
    existing = {row["code"] for row in await Category.select(Category.code)}
    added = 0
    async with write_transaction():
        for order, entry in enumerate(entries):
            values = {"name_zh": entry["name_zh"], "name_en": entry["name_en"], "graded": entry["graded"], "sort_order": order}
            if entry["code"] in existing:
                await Category.update(values).where(Category.code == entry["code"])
            else:
                await Category.insert(Category(code=entry["code"], **values))
                added += 1
    return added


async def _category_ids(codes: list[str], field: str) -> dict[str, int]:
    rows = await Category.select(Category.id, Category.code).where(Category.code.is_in(codes)) if codes else []
    found = {row["code"]: row["id"] for row in rows}
    missing = [code for code in codes if code not in found]
    if missing:
        raise field_error(field, f"unknown category: {', '.join(missing)}")
    return found


# --- teams ---------------------------------------------------------------------------------

_TEAM_COLUMNS = (
    Team.id,
    Team.code,
    Team.name_zh,
    Team.name_en,
    Team.path,
    Team.registration_kind,
    Team.registration_number,
    Team.filing_date,
    Team.founded_on,
    Team.base_address,
    Team.lat,
    Team.lon,
    Team.status,
    Team.status_since,
    Team.contact_phone,
    Team.self_sufficiency_hours,
    Team.party_organisation,
    Team.hub.code.as_alias("hub_code"),
    *orgs.unit_ref_columns(Team.unit, "unit"),
    Team.primary_category.code.as_alias("category_code"),
)


def leadership_problem(status: str, leadership: Leadership) -> str | None:
    """Why an active team breaks the rule of one captain and two or three deputies, or None."""
    if status != TeamStatus.active.value:
        return None
    problems = []
    if leadership.captain is None:
        problems.append("no captain")
    if not MIN_DEPUTIES <= len(leadership.deputies) <= MAX_DEPUTIES:
        problems.append(f"{len(leadership.deputies)} deputy captains (needs {MIN_DEPUTIES}–{MAX_DEPUTIES})")
    return "; ".join(problems) or None


async def _team_outs(rows: list[dict[str, Any]]) -> list[TeamOut]:
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    categories = {c.code: c for c in await list_categories()}
    specialties: dict[int, list[CategoryOut]] = {}
    for s in await Specialty.select(Specialty.team, Specialty.category.code.as_alias("code")).where(
        Specialty.team.is_in(ids)
    ).order_by(Specialty.category.sort_order):
        specialties.setdefault(s["team"], []).append(categories[s["code"]])
    grades: dict[int, list[GradeOut]] = {}
    for g in await Grade.select(
        Grade.team, Grade.category.code.as_alias("category"), Grade.level, Grade.assessed_on, Grade.valid_until
    ).where(Grade.team.is_in(ids) & (Grade.status == GradeStatus.active.value)):
        grades.setdefault(g["team"], []).append(GradeOut.model_validate(g))
    leadership = await members.leadership_of(ids)
    counts = await members.active_counts(ids)
    out = []
    for row in rows:
        lead = leadership.get(row["id"], Leadership(captain=None, deputies=[]))
        out.append(
            TeamOut(
                **{k: row[k] for k in ("code", "name_zh", "name_en", "path", "registration_kind", "registration_number",
                                       "filing_date", "founded_on", "base_address", "lat", "lon", "status", "status_since",
                                       "hub_code", "contact_phone", "self_sufficiency_hours", "party_organisation")},
                unit=orgs.unit_ref(row, "unit"),
                primary_category=categories[row["category_code"]],
                specialties=specialties.get(row["id"], []),
                grades=grades.get(row["id"], []),
                leadership=lead,
                leadership_problem=leadership_problem(row["status"], lead),
                active_members=counts.get(row["id"], 0),
            )
        )
    return out


_TEAM_BY_CODE = Statement(lambda code: Team.select(*_TEAM_COLUMNS).where(Team.code == code).limit(1))


async def team_row(code: str) -> dict[str, Any]:
    row = await _TEAM_BY_CODE.first(code)
    if row is None:
        raise NotFound(f"No team with code '{code}'.")
    return row


async def get_team(principal: Principal | None, code: str) -> TeamOut:
    row = await team_row(code)
    if principal is not None:
        authorize(principal, "teams.view", row["path"], hide=True)
    return (await _team_outs([row]))[0]


async def list_teams(
    principal: Principal,
    page: PageParams,
    *,
    league: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    level: int | None = None,
    status: TeamStatus | None = None,
    q: str | None = None,
    outside_rule: bool = False,
) -> tuple[list[TeamOut], int]:
    scopes = scopes_for(principal, "teams.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing teams.")
    conditions = [within(Team.path, scopes)]
    for code in filter(None, (league, unit)):
        conditions.append(under(Team.path, (await orgs.get_unit(code)).path))
    # Sub-selects, not id lists: the SQL stays the same size however many teams have the specialty or grade.
    if category:
        category_id = (await _category_ids([category], "category"))[category]
        with_specialty = Specialty.select(Specialty.team).where(Specialty.category == category_id)
        conditions.append((Team.primary_category == category_id) | Team.id.is_in(with_specialty))
    if level is not None:
        conditions.append(Team.id.is_in(Grade.select(Grade.team).where((Grade.level == level) & (Grade.status == GradeStatus.active.value))))
    if status:
        conditions.append(Team.status == status.value)
    if q:
        conditions.append(contains(Team.name_zh, q) | contains(Team.name_en, q) | contains(Team.code, q))
    select = Team.select(*_TEAM_COLUMNS).order_by(Team.path)
    count = Team.count()
    for condition in filter(None, conditions):
        select, count = select.where(condition), count.where(condition)
    if outside_rule:
        # The rule depends on live memberships: filter the active teams in scope here.
        teams = [t for t in await _team_outs(await select.where(Team.status == TeamStatus.active.value)) if t.leadership_problem]
        return teams[page.offset : page.offset + page.limit], len(teams)
    rows = await select.limit(page.limit).offset(page.offset)
    return await _team_outs(rows), await count


async def teams_within(paths: list[str] | tuple[str, ...]) -> list[TeamOut]:
    """Every team under one of ``paths`` (e.g. a hub's coverage), by code, whatever its status: for services that
    pick teams on no caller's behalf (ranking candidates for assistance)."""
    if not paths:
        return []
    query = Team.select(*_TEAM_COLUMNS).order_by(Team.code)
    condition = within(Team.path, list(paths))
    if condition is not None:
        query = query.where(condition)
    return await _team_outs(await query)


async def team_ids(codes: list[str]) -> dict[str, int]:
    """Team code -> row id, for the foreign keys of other domains."""
    rows = await Team.select(Team.id, Team.code).where(Team.code.is_in(list(codes) or ["-"]))
    return {row["code"]: row["id"] for row in rows}


async def count_with_category(code: str) -> int:
    """How many teams, not exited, have ``code`` as their primary category or as a specialty."""
    row = await Category.select(Category.id).where(Category.code == code).first()
    if row is None:
        return 0
    with_specialty = [r["team"] for r in await Specialty.select(Specialty.team).where(Specialty.category == row["id"])]
    return await Team.count().where(
        ((Team.primary_category == row["id"]) | Team.id.is_in(with_specialty or [-1])) & (Team.status != TeamStatus.exited.value))


async def _supervising_unit(code: str) -> dict[str, Any]:
    unit = await OrgUnit.select(OrgUnit.id, OrgUnit.path, OrgUnit.kind).where(OrgUnit.code == code).first()
    if unit is None:
        raise field_error("unit_code", f"no org unit '{code}'")
    if unit["kind"] not in (OrgKind.league.value, OrgKind.county.value):
        raise field_error("unit_code", "a team is supervised by a league/city or a banner/county branch")
    return unit


async def _hub_id(code: str | None) -> int | None:
    if code is None:
        return None
    row = await Hub.select(Hub.id).where(Hub.code == code).first()
    if row is None:
        raise field_error("hub_code", f"no regional hub '{code}'")
    return row["id"]


def _team_values(data: TeamCreate | TeamUpdate) -> dict[str, Any]:
    return {
        "name_zh": data.name_zh,
        "name_en": data.name_en,
        "registration_kind": data.registration_kind.value,
        "registration_number": data.registration_number,
        "filing_date": data.filing_date,
        "founded_on": data.founded_on,
        "base_address": data.base_address,
        "lat": data.lat,
        "lon": data.lon,
        "contact_phone": data.contact_phone,
        "self_sufficiency_hours": data.self_sufficiency_hours,
        "party_organisation": data.party_organisation.value,
    }


async def create_team(principal: Principal | None, data: TeamCreate) -> TeamOut:
    unit = await _supervising_unit(data.unit_code)
    path = f"{unit['path']}t:{data.code}/"
    if principal is not None:
        authorize(principal, "teams.manage", path)
    categories = await _category_ids([data.primary_category, *data.specialties], "specialties")
    hub_id = await _hub_id(data.hub_code)
    async with write_transaction():
        if await Team.exists().where(Team.code == data.code):
            raise Conflict(f"A team with code '{data.code}' already exists.", code="duplicate_code")
        rows = await Team.insert(
            Team(
                code=data.code,
                unit=unit["id"],
                path=path,
                primary_category=categories[data.primary_category],
                status=TeamStatus.forming.value,
                status_since=china_today(),
                hub=hub_id,
                created_at=utc_now(),
                **_team_values(data),
            )
        ).returning(Team.id)
        team_id = rows[0]["id"]
        await _set_specialties(team_id, [categories[c] for c in data.specialties if c != data.primary_category])
        await StatusChange.insert(
            StatusChange(team=team_id, to_status=TeamStatus.forming.value, reason="created", effective_on=china_today(),
                         changed_by=principal.user_id if principal else None, changed_at=utc_now())
        )
        await accounts.record_audit(principal, "teams.team.create", "team", data.code, path, data.model_dump(mode="json"))
        await events.emit(principal, "team.created", TeamEvent(
            team_code=data.code, name_zh=data.name_zh, unit_code=data.unit_code, primary_category=data.primary_category,
            status=TeamStatus.forming, effective_on=china_today()), org_path=path, aggregate_id=data.code)
    return await get_team(None, data.code)


async def _set_specialties(team_id: int, category_ids: list[int]) -> None:
    await Specialty.delete().where(Specialty.team == team_id)
    if category_ids:
        await Specialty.insert(*[Specialty(team=team_id, category=c) for c in dict.fromkeys(category_ids)])


async def update_team(principal: Principal, code: str, data: TeamUpdate) -> TeamOut:
    row = await team_row(code)
    authorize(principal, "teams.manage", row["path"], hide=not can(principal, "teams.view", row["path"]))
    categories = await _category_ids([data.primary_category, *data.specialties], "specialties")
    hub_id = await _hub_id(data.hub_code)
    async with write_transaction():
        await Team.update({**_team_values(data), "primary_category": categories[data.primary_category], "hub": hub_id}).where(
            Team.id == row["id"]
        )
        await _set_specialties(row["id"], [categories[c] for c in data.specialties if c != data.primary_category])
        await accounts.record_audit(principal, "teams.team.update", "team", code, row["path"], data.model_dump(mode="json"))
    return await get_team(None, code)


async def change_status(principal: Principal, code: str, change: StatusIn) -> TeamOut:
    team = await get_team(principal, code)
    authorize(principal, "teams.manage", team.path)
    if change.status not in TRANSITIONS[team.status]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[team.status])) or "none (exited is final)"
        raise InvalidInput(
            f"A {team.status.value} team cannot become {change.status.value}; allowed: {allowed}.", code="invalid_transition"
        )
    if change.status in (TeamStatus.suspended, TeamStatus.exited) and len(change.reason.strip()) < 2:
        raise field_error("reason", f"say why the team is {change.status.value}")
    if change.status is TeamStatus.active:
        problem = leadership_problem(TeamStatus.active.value, team.leadership)
        if problem:
            raise InvalidInput(
                f"The team cannot become active: {problem}. File the leadership first and have it approved.",
                code="leadership_incomplete",
            )
    async with write_transaction():
        await Team.update({Team.status: change.status.value, Team.status_since: change.effective_on}).where(Team.code == code)
        await StatusChange.insert(
            StatusChange(team=(await team_row(code))["id"], from_status=team.status.value, to_status=change.status.value,
                         reason=change.reason, effective_on=change.effective_on, changed_by=principal.user_id, changed_at=utc_now())
        )
        await accounts.record_audit(
            principal, "teams.team.status", "team", code, team.path,
            {"from": team.status.value, "to": change.status.value, "reason": change.reason},
        )
        await events.emit(principal, "team.status_changed", TeamEvent(
            team_code=code, name_zh=team.name_zh, unit_code=team.unit.code, primary_category=team.primary_category.code,
            status=change.status, previous_status=team.status, reason=change.reason, effective_on=change.effective_on),
            org_path=team.path, aggregate_id=code)
    return await get_team(None, code)


async def status_history(principal: Principal, code: str) -> list[StatusChangeOut]:
    team = await get_team(principal, code)
    row = await team_row(team.code)
    rows = await StatusChange.select().where(StatusChange.team == row["id"]).order_by(StatusChange.id)
    return [StatusChangeOut.model_validate(r) for r in rows]


# --- leadership filings --------------------------------------------------------------------


def _filing_out(row: dict[str, Any], names: dict[int, str]) -> FilingOut:
    def leadership(value: Any) -> Leadership:
        data = _json(value) or {}
        captain = data.get("captain")
        return Leadership(
            captain={"id": captain, "name": names.get(captain, "?")} if captain else None,
            deputies=[{"id": d, "name": names.get(d, "?")} for d in data.get("deputies", [])],
        )

    return FilingOut(
        id=row["id"],
        team_code=row["team_code"],
        team_name=row["team_name"],
        status=row["status"],
        proposed=leadership(row["proposed"]),
        previous=leadership(row["previous"]),
        reason=row["reason"],
        filed_by_name=row["filed_by_name"],
        filed_at=row["filed_at"],
        decided_by_name=row["decided_by_name"],
        decided_at=row["decided_at"],
        decision_reason=row["decision_reason"],
    )


_FILING_COLUMNS = (
    LeadershipFiling.all_columns(exclude=[LeadershipFiling.team]),
    LeadershipFiling.team.code.as_alias("team_code"),
    LeadershipFiling.team.name_zh.as_alias("team_name"),
    LeadershipFiling.team.path.as_alias("team_path"),
)


async def _filing_outs(rows: list[dict[str, Any]]) -> list[FilingOut]:
    ids: set[int] = set()
    for row in rows:
        for key in ("proposed", "previous"):
            data = _json(row[key]) or {}
            ids.update(filter(None, [data.get("captain"), *data.get("deputies", [])]))
    names = await members.names_of(sorted(ids))
    return [_filing_out(row, names) for row in rows]


async def file_leadership(principal: Principal, code: str, filing: FilingIn) -> FilingOut:
    team = await get_team(principal, code)
    authorize(principal, "filings.file", team.path)
    if team.status is TeamStatus.exited:
        raise InvalidInput("An exited team has no leadership to file.", code="team_exited")
    people = [filing.captain_id, *filing.deputy_ids]
    if len(set(people)) != len(people):
        raise field_error("deputy_ids", "the captain and the deputies must be different people")
    if not MIN_DEPUTIES <= len(filing.deputy_ids) <= MAX_DEPUTIES:
        raise field_error("deputy_ids", f"a team has {MIN_DEPUTIES} or {MAX_DEPUTIES} deputy captains, not {len(filing.deputy_ids)}")
    await members.require_active_members(team.code, people)
    previous = {"captain": team.leadership.captain.id if team.leadership.captain else None,
                "deputies": [d.id for d in team.leadership.deputies]}
    proposed = {"captain": filing.captain_id, "deputies": filing.deputy_ids}
    if proposed["captain"] == previous["captain"] and sorted(proposed["deputies"]) == sorted(previous["deputies"]):
        raise InvalidInput("The proposed leadership is the one already in place.", code="no_change")
    team_id = (await team_row(code))["id"]
    async with write_transaction():
        # One pending filing per team is a partial unique index: a second one, even filed at the same moment, inserts nothing.
        rows = await LeadershipFiling.insert(
            LeadershipFiling(team=team_id, status=FilingStatus.pending.value, proposed=json.dumps(proposed),
                             previous=json.dumps(previous), reason=filing.reason, filed_by=principal.user_id,
                             filed_by_name=principal.display_name, filed_at=utc_now())
        ).on_conflict(action="DO NOTHING").returning(LeadershipFiling.id)
        if not rows:
            raise Conflict("A leadership filing for this team is already waiting for a decision.", code="filing_pending")
        await accounts.record_audit(principal, "teams.filing.file", "filing", str(rows[0]["id"]), team.path,
                                    {"team": code, "proposed": proposed, "reason": filing.reason})
        await events.emit(principal, "leadership.filed", LeadershipEvent(
            filing_id=rows[0]["id"], team_code=code, captain_id=filing.captain_id, deputy_ids=filing.deputy_ids, reason=filing.reason),
            org_path=team.path, aggregate_id=code)
    return await get_filing(principal, rows[0]["id"])


async def get_filing(principal: Principal, filing_id: int) -> FilingOut:
    row = await LeadershipFiling.select(*_FILING_COLUMNS).where(LeadershipFiling.id == filing_id).first()
    if row is None:
        raise NotFound(f"No filing #{filing_id}.")
    authorize(principal, "teams.view", row["team_path"], hide=True)
    return (await _filing_outs([row]))[0]


async def list_filings(
    principal: Principal, page: PageParams, *, status: FilingStatus | None = None, team: str | None = None
) -> tuple[list[FilingOut], int]:
    scopes = scopes_for(principal, "teams.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing filings.")
    conditions = [within(LeadershipFiling.team.path, scopes)]
    if status:
        conditions.append(LeadershipFiling.status == status.value)
    if team:
        conditions.append(LeadershipFiling.team.code == team)
    select = LeadershipFiling.select(*_FILING_COLUMNS).order_by(LeadershipFiling.id, ascending=False)
    count = LeadershipFiling.count()
    for condition in filter(None, conditions):
        select, count = select.where(condition), count.where(condition)
    rows = await select.limit(page.limit).offset(page.offset)
    return await _filing_outs(rows), await count


async def decide_filing(principal: Principal, filing_id: int, decision: DecisionIn) -> FilingOut:
    filing = await get_filing(principal, filing_id)
    row = await team_row(filing.team_code)
    authorize(principal, "filings.decide", row["path"])
    raw = await LeadershipFiling.select(LeadershipFiling.filed_by).where(LeadershipFiling.id == filing_id).first()
    if raw["filed_by"] == principal.user_id:
        raise PermissionDenied("You filed this change yourself; another officer must decide it.", code="own_filing")
    if filing.status is not FilingStatus.pending:
        raise Conflict(f"This filing was already {filing.status.value}.", code="already_decided")
    new_status = FilingStatus.approved if decision.approve else FilingStatus.rejected
    async with write_transaction():
        # Only one decision wins, even when two officers press the button at once.
        won = await LeadershipFiling.update(
            {
                LeadershipFiling.status: new_status.value,
                LeadershipFiling.decided_by: principal.user_id,
                LeadershipFiling.decided_by_name: principal.display_name,
                LeadershipFiling.decided_at: utc_now(),
                LeadershipFiling.decision_reason: decision.reason,
            }
        ).where((LeadershipFiling.id == filing_id) & (LeadershipFiling.status == FilingStatus.pending.value)).returning(
            LeadershipFiling.id
        )
        if not won:
            raise Conflict("This filing was decided by someone else a moment ago.", code="already_decided")
        if decision.approve:
            # People may have left since the filing; the leadership applied must still be valid, and stay so until it is.
            await members.lock_open_memberships(row["id"])
            proposed = [filing.proposed.captain.id, *[d.id for d in filing.proposed.deputies]]
            await members.require_active_members(filing.team_code, proposed)
            await members.apply_leadership(principal, row["id"], filing.proposed.captain.id, [d.id for d in filing.proposed.deputies])
        await accounts.record_audit(principal, f"teams.filing.{new_status.value}", "filing", str(filing_id), row["path"],
                                    {"team": filing.team_code, "reason": decision.reason})
        await events.emit(principal, f"leadership.{new_status.value}", LeadershipEvent(
            filing_id=filing_id, team_code=filing.team_code, captain_id=filing.proposed.captain.id,
            deputy_ids=[d.id for d in filing.proposed.deputies], reason=decision.reason), org_path=row["path"], aggregate_id=filing.team_code)
    return await get_filing(principal, filing_id)


# --- reminders ---------------------------------------------------------------------------------

REASSESS_AHEAD = timedelta(days=60)  # time to prepare the evidence for a re-assessment (分级测评)
SUPERVISORS = {Role.league_supervisor, Role.county_officer}


async def remind_reassessment(on: date | None = None) -> str:
    """Tell a team's leaders and its supervising branches, once per grade, that the grade's validity ends within 60 days."""
    on = on or china_today()
    rows = await Grade.select(Grade.id, Grade.team, Grade.level, Grade.valid_until, Grade.category.name_zh.as_alias("category"),
                              Grade.team.name_zh.as_alias("team_name"), Grade.team.code.as_alias("team_code"),
                              Grade.team.path.as_alias("path")).where(
        Grade.valid_until.is_not_null() & (Grade.valid_until <= on + REASSESS_AHEAD) & (Grade.status == GradeStatus.active.value))
    told = 0
    for row in rows:
        users = [*await accounts.users_holding(accounts.LEADERS, team_ids=[row["team"]]),
                 *await accounts.users_holding(SUPERVISORS, unit_ids=await orgs.unit_ids_on_path(row["path"]))]
        async with write_transaction():
            told += len(await events.notify(
                users, kind="teams.reassessment_due", title=f"分级测评即将到期：{row['team_name']}（{row['category']}）",
                body=f"{row['category']}类 {row['level']} 级的有效期至 {row['valid_until']}，请准备复评。", link=f"/grading/teams/{row['team_code']}",
                key=f"grade:{row['id']}:{row['valid_until']}", org_path=row["path"]))
    return f"{told} reminders sent"


# --- grading (分级测评): what the grading service reads and writes -------------------------------


async def grading_teams(*, paths: list[str] | None = None, codes: list[str] | None = None) -> list[dict[str, Any]]:
    """Teams not exited, under ``paths`` (None: everywhere) or with ``codes``, for grading: in three queries whatever their
    number, each team's record fields, its categories (primary first, then specialties) and its grades by category code
    (level, status, assessed_on, valid_until), suspended and expired ones included."""
    condition = Team.status != TeamStatus.exited.value
    if paths is not None:
        if not paths:
            return []
        scoped = within(Team.path, list(paths))
        condition = condition & scoped if scoped is not None else condition
    if codes is not None:
        condition = condition & Team.code.is_in(list(codes) or ["-"])
    rows = await Team.select(
        Team.id, Team.code, Team.name_zh, Team.path, Team.status, Team.registration_kind, Team.registration_number, Team.filing_date,
        Team.founded_on, Team.self_sufficiency_hours, Team.party_organisation, Team.lat, Team.lon,
        Team.primary_category.code.as_alias("primary_category"),
    ).where(condition).order_by(Team.path)
    chosen = Team.select(Team.id).where(condition)
    specialties: dict[int, list[str]] = {}
    for row in await Specialty.select(Specialty.team, Specialty.category.code.as_alias("code")).where(
            Specialty.team.is_in(chosen)).order_by(Specialty.category.sort_order):
        specialties.setdefault(row["team"], []).append(row["code"])
    grades: dict[int, dict[str, dict[str, Any]]] = {}
    for row in await Grade.select(Grade.team, Grade.category.code.as_alias("category"), Grade.level, Grade.status, Grade.assessed_on,
                                  Grade.valid_until).where(Grade.team.is_in(chosen)):
        grades.setdefault(row["team"], {})[row["category"]] = {k: row[k] for k in ("level", "status", "assessed_on", "valid_until")}
    for row in rows:
        row["categories"] = list(dict.fromkeys([row["primary_category"], *specialties.get(row["id"], [])]))
        row["grades"] = grades.get(row["id"], {})
    return rows


async def set_grade(team_id: int, category: str, level: int, assessed_on: date, valid_until: date | None) -> None:
    """Make ``level`` the team's grade in ``category`` (in force); call it inside the granting transaction."""
    category_id = (await _category_ids([category], "category"))[category]
    values = {Grade.level: level, Grade.assessed_on: assessed_on, Grade.valid_until: valid_until, Grade.status: GradeStatus.active.value}
    updated = await Grade.update(values).where((Grade.team == team_id) & (Grade.category == category_id)).returning(Grade.id)
    if not updated:
        await Grade.insert(Grade(team=team_id, category=category_id, level=level, assessed_on=assessed_on, valid_until=valid_until,
                                 status=GradeStatus.active.value))


async def set_grade_status(team_id: int, category: str, status: GradeStatus, *, expected: GradeStatus) -> dict[str, Any] | None:
    """Move the team's grade in ``category`` from ``expected`` to ``status``; the grade (level, valid_until) when it moved,
    None when there is no such grade in that status (so of two racing changes one wins)."""
    category_id = (await _category_ids([category], "category"))[category]
    rows = await Grade.update({Grade.status: status.value}).where(
        (Grade.team == team_id) & (Grade.category == category_id) & (Grade.status == expected.value)).returning(Grade.level, Grade.valid_until)
    return rows[0] if rows else None


async def remove_grade(team_id: int, category: str) -> dict[str, Any] | None:
    """Delete the team's grade in ``category`` (cancelled); the grade removed, or None when there was none."""
    category_id = (await _category_ids([category], "category"))[category]
    rows = await Grade.delete().where((Grade.team == team_id) & (Grade.category == category_id)).returning(Grade.level, Grade.valid_until)
    return rows[0] if rows else None


async def declare_for_grading(principal: Principal, code: str, data: GradingDeclarationIn) -> TeamOut:
    """The team's own declarations for grading (self-sufficiency hours, party organisation), by whoever keeps its roster."""
    row = await team_row(code)
    authorize(principal, "roster.manage", row["path"], hide=not can(principal, "teams.view", row["path"]))
    async with write_transaction():
        await Team.update({Team.self_sufficiency_hours: data.self_sufficiency_hours,
                           Team.party_organisation: data.party_organisation.value}).where(Team.id == row["id"])
        await accounts.record_audit(principal, "teams.team.declare", "team", code, row["path"], data.model_dump(mode="json"))
    return await get_team(None, code)


async def grades_past_validity(on: date) -> list[dict[str, Any]]:
    """Grades in force whose validity ended before ``on`` (team id, code, path, category, level, valid_until)."""
    return await Grade.select(Grade.team, Grade.team.code.as_alias("team_code"), Grade.team.path.as_alias("path"),
                              Grade.category.code.as_alias("category"), Grade.level, Grade.valid_until).where(
        (Grade.status == GradeStatus.active.value) & Grade.valid_until.is_not_null() & (Grade.valid_until < on))
