"""Drills: the library in the database, planning and recurrence, attendance, evaluation and closing, training plans."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count

from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can, scopes_for
from rescueops.calendar import CHINA, add_months, china_today, in_china, quarter_hours, utc_now
from rescueops.db import write_transaction
from rescueops.db.pagination import PageParams
from rescueops.db.paths import subtree_range, within
from rescueops.db.statements import Statement
from rescueops.drills import feed as feed_tokens
from rescueops.drills import library
from rescueops.drills.library import References, Scenario
from rescueops.drills.schemas import (
    AfterActionReport,
    AttendanceOut,
    CancelIn,
    CheckInIn,
    ClockOut,
    CloseItemIn,
    DrillEvent,
    DrillIn,
    DrillOut,
    EvaluationIn,
    ImprovementOut,
    InjectOut,
    MobilisationIn,
    ObjectiveResult,
    RecurrenceIn,
    RollCallIn,
    ScenarioSummary,
    TeamRef,
    TrainingPlanIn,
    TrainingProgressOut,
)
from rescueops.drills.tables import (
    Attendance,
    Drill,
    DrillSeries,
    DrillStatus,
    DrillTeam,
    DrillUnit,
    Evaluation,
    ImprovementItem,
    ImprovementStatus,
    InjectAck,
    InjectDelivery,
    ScenarioVersion,
    TrainingPlan,
)
from rescueops.equipment import service as equipment
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.events import service as events
from rescueops.members import service as members
from rescueops.members.tables import HoursSource, MemberStatus, Person
from rescueops.orgs import service as orgs
from rescueops.orgs.schemas import UnitRef
from rescueops.orgs.tables import OrgKind
from rescueops.teams import service as teams
from rescueops.teams.tables import Team

log = logging.getLogger("rescueops.drills")

# Members may check in this long before the start and after the end (early arrivals, late paperwork).
CHECK_IN_WINDOW = timedelta(hours=3)
PRESENT = {MemberStatus.active.value, MemberStatus.probation.value}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- the scenario library in the database ----------------------------------------------------


async def sync_library(directory: Path | None = None) -> list[str]:
    """Load every valid scenario version not yet in the database; report broken files and changed versions.

    A version once loaded is never overwritten, so past drills keep the scenario they were planned with;
    a file changed without a new version number is reported and left as it was.
    """
    found = library.read_library(directory)
    report = [f"scenario file {name}: skipped: {problem}" for name, problem in found.problems]
    existing = {(r["scenario_id"], r["version"]): r["body"] for r in await ScenarioVersion.select(
        ScenarioVersion.scenario_id, ScenarioVersion.version, ScenarioVersion.body)}
    added = 0
    async with write_transaction():
        for scenario in found.scenarios:
            body = scenario.model_dump_json()
            key = (scenario.id, scenario.version)
            if key in existing:
                if json.loads(existing[key]) != json.loads(body):
                    report.append(f"scenario {scenario.id}: changed without a new version number; "
                                  f"version {scenario.version} is kept as first loaded (raise 'version' to publish the change)")
                continue
            await ScenarioVersion.insert(ScenarioVersion(
                scenario_id=scenario.id, version=scenario.version, title_zh=scenario.title_zh, title_en=scenario.title_en,
                type=scenario.type.value, categories=json.dumps(scenario.categories), body=body, loaded_at=utc_now()))
            added += 1
    for line in report:
        log.warning(line)
    return [f"drill scenarios: {added} versions added, {len(found.scenarios)} valid files", *report]


@dataclass(frozen=True)
class StoredScenario:
    """A stored scenario version as read now: the scenario, and what it names that the catalogues no longer know."""

    scenario: Scenario
    problems: tuple[str, ...]


async def current_references() -> References:
    """What stored versions are checked against on every read: the capabilities shipped with this release and the
    team categories and equipment types in the catalogues now."""
    return References(capabilities=frozenset(library.capabilities()),
                      categories=frozenset(c.code for c in await teams.list_categories()),
                      equipment_types=frozenset(t.code for t in await equipment.list_types()))


def _unreadable(row: dict[str, Any], reason: str) -> Conflict:
    return Conflict(f"Scenario '{row['scenario_id']}' version {row['version']} as stored no longer reads ({reason}); "
                    "publish a corrected version of its file.", code="scenario_unreadable")


async def _stored(row: dict[str, Any], references: References | None = None) -> StoredScenario:
    """Re-validated on every read, so a reference removed since the version was loaded shows up as a problem of that
    version instead of an error wherever it is shown."""
    try:
        scenario, problems = library.read_stored(row["body"], references or await current_references())
    except ValueError as error:
        raise _unreadable(row, str(error)) from None
    return StoredScenario(scenario, tuple(problems))


def _summary(row: dict[str, Any], stored: StoredScenario | None, reason: str = "") -> ScenarioSummary:
    if stored is None:  # the stored text no longer fits the model: listed from its columns, flagged
        return ScenarioSummary(scenario_id=row["scenario_id"], version=row["version"], title_zh=row["title_zh"], title_en=row["title_en"],
                               type=row["type"], categories=_json(row["categories"]), difficulty="", duration_minutes=0, objectives=0,
                               injects=0, problems=[reason])
    scenario = stored.scenario
    return ScenarioSummary(scenario_id=scenario.id, version=scenario.version, title_zh=scenario.title_zh, title_en=scenario.title_en,
                           type=scenario.type, categories=scenario.categories, difficulty=scenario.difficulty,
                           duration_minutes=scenario.duration_minutes, objectives=len(scenario.objectives), injects=len(scenario.injects),
                           problems=list(stored.problems))


async def list_scenarios(category: str | None = None) -> list[ScenarioSummary]:
    """The latest version of every scenario; one needing attention is listed with the reasons, never dropped."""
    latest: dict[str, dict[str, Any]] = {}
    for row in await ScenarioVersion.select().order_by(ScenarioVersion.scenario_id).order_by(ScenarioVersion.version):
        latest[row["scenario_id"]] = row
    references = await current_references()
    summaries = []
    for row in latest.values():
        try:
            summaries.append(_summary(row, await _stored(row, references)))
        except Conflict as error:
            summaries.append(_summary(row, None, error.message))
    return [s for s in summaries if category in s.categories] if category else summaries


def library_file_problems(directory: Path | None = None) -> list[tuple[str, str]]:
    """(file, what is wrong) for each scenario file in the library folder that cannot be loaded."""
    return library.read_library(directory).problems


async def _scenario_row(scenario_id: str, version: int | None = None) -> dict[str, Any]:
    query = ScenarioVersion.select().where(ScenarioVersion.scenario_id == scenario_id)
    if version is not None:
        query = query.where(ScenarioVersion.version == version)
    row = await query.order_by(ScenarioVersion.version, ascending=False).first()
    if row is None:
        raise NotFound(f"No scenario '{scenario_id}'{f' version {version}' if version else ''} in the library.")
    return row


async def read_scenario(scenario_id: str, version: int | None = None) -> StoredScenario:
    return await _stored(await _scenario_row(scenario_id, version))


async def get_scenario(scenario_id: str, version: int | None = None) -> Scenario:
    return (await read_scenario(scenario_id, version)).scenario


# --- planning ---------------------------------------------------------------------------------


def occurrences(starts_at: datetime, ends_at: datetime, recurrence: RecurrenceIn | None) -> list[tuple[datetime, datetime]]:
    """The (start, end) of each occurrence; monthly ones keep the day of the month (or the month's last day)."""
    if recurrence is None:
        return [(starts_at, ends_at)]
    length, found = ends_at - starts_at, []
    for n in range(recurrence.occurrences):
        if recurrence.frequency == "weekly":
            start = starts_at + timedelta(weeks=n * recurrence.interval)
        else:
            start = datetime.combine(add_months(starts_at.date(), n * recurrence.interval), starts_at.timetz())
        found.append((start, start + length))
    return found


_DRILL_COLUMNS = (
    Drill.all_columns(),
    Drill.scenario.scenario_id.as_alias("scenario_id"), Drill.scenario.version.as_alias("scenario_version"),
    Drill.scenario.title_zh.as_alias("scenario_title_zh"), Drill.scenario.type.as_alias("type"),
    Drill.organiser_unit.code.as_alias("unit_code"), Drill.organiser_unit.name_zh.as_alias("unit_name"),
    Drill.organiser_team.code.as_alias("team_code"), Drill.organiser_team.name_zh.as_alias("team_name"),
)


def _clock(row: dict[str, Any], now: datetime | None = None) -> ClockOut:
    started = row["clock_started_at"]
    if started is None:
        return ClockOut(started_at=None, paused=False, elapsed_minutes=0)
    until = row["clock_paused_at"] or row["ended_at"] or now or utc_now()
    return ClockOut(started_at=started, paused=row["clock_paused_at"] is not None,
                    elapsed_minutes=max(0.0, ((until - started).total_seconds() - row["paused_seconds"]) / 60))


async def _drill_outs(rows: list[dict[str, Any]]) -> list[DrillOut]:
    ids = [row["id"] for row in rows] or [-1]
    invited: dict[int, list[TeamRef]] = {}
    for row in await DrillTeam.select(DrillTeam.drill, DrillTeam.team.code.as_alias("code"), DrillTeam.team.name_zh.as_alias("name_zh")).where(
            DrillTeam.drill.is_in(ids)).order_by(DrillTeam.id):
        invited.setdefault(row["drill"], []).append(TeamRef(code=row["code"], name_zh=row["name_zh"]))
    units: dict[int, list[UnitRef]] = {}
    for row in await DrillUnit.select(DrillUnit.drill, *orgs.unit_ref_columns(DrillUnit.unit, "unit")).where(
            DrillUnit.drill.is_in(ids)).order_by(DrillUnit.id):
        units.setdefault(row["drill"], []).append(orgs.unit_ref(row, "unit"))
    counts = {row["drill"]: row["count"] for row in await Attendance.select(Attendance.drill, Count()).where(
        Attendance.drill.is_in(ids)).group_by(Attendance.drill)}
    outs = []
    for row in rows:
        mobilisation = (row["assembled_at"] - row["called_at"]).total_seconds() / 60 if row["called_at"] and row["assembled_at"] else None
        outs.append(DrillOut(
            id=row["id"], title=row["title"], scenario_id=row["scenario_id"], scenario_version=row["scenario_version"],
            scenario_title_zh=row["scenario_title_zh"], type=row["type"], organiser_unit_code=row["unit_code"],
            organiser_unit_name_zh=row["unit_name"],
            organiser_team=TeamRef(code=row["team_code"], name_zh=row["team_name"]) if row["team_code"] else None,
            starts_at=row["starts_at"], ends_at=row["ends_at"], place=row["place"], lat=row["lat"], lon=row["lon"],
            teams=invited.get(row["id"], []), units=units.get(row["id"], []), other_participants=_json(row["other_participants"]),
            expected_participants=row["expected_participants"], equipment=_json(row["equipment"]), status=row["status"],
            series_id=row["series"], cancel_reason=row["cancel_reason"], called_at=row["called_at"], assembled_at=row["assembled_at"],
            mobilisation_minutes=round(mobilisation, 1) if mobilisation is not None else None, clock=_clock(row),
            checked_in=counts.get(row["id"], 0),
        ))
    return outs


# A drill's own lookups, made by every request about it (check-ins above all).
_DRILL_BY_ID = Statement(lambda drill_id: Drill.select(*_DRILL_COLUMNS).where(Drill.id == drill_id).limit(1))
_INVITED = Statement(lambda drill_id: DrillTeam.select(DrillTeam.team, DrillTeam.team.path.as_alias("path")).where(DrillTeam.drill == drill_id))
_UNITS = Statement(lambda drill_id: DrillUnit.select(DrillUnit.unit.path.as_alias("path")).where(DrillUnit.drill == drill_id))


async def _invited_paths(drill_id: int) -> dict[int, str]:
    """Invited team id -> team path."""
    return {r["team"]: r["path"] for r in await _INVITED.rows(drill_id)}


async def _unit_paths(drill_id: int) -> list[str]:
    """Paths of the organisation units taking part."""
    return [r["path"] for r in await _UNITS.rows(drill_id)]


async def _drill_row(principal: Principal, drill_id: int, action: str, *, organiser_only: bool = False) -> dict[str, Any]:
    """The drill, if the caller may see it and do ``action`` on it: as its organiser, or (unless ``organiser_only``)
    for a team it invited. Those over a unit taking part see it; running it stays with the organiser and the teams."""
    row = await _DRILL_BY_ID.first(drill_id)
    if row is None:
        raise NotFound(f"No drill #{drill_id}.")
    paths = [row["org_path"], *(await _invited_paths(drill_id)).values()]
    if not any(can(principal, "drills.view", path) for path in [*paths, *await _unit_paths(drill_id)]):
        raise NotFound(f"No drill #{drill_id}, or it is outside your scope.")
    if action == "drills.view" and not organiser_only:
        return row
    allowed = paths[:1] if organiser_only else paths
    if not any(can(principal, action, path) for path in allowed):
        raise PermissionDenied(f"Your roles do not allow '{action}' on this drill.", code="forbidden")
    return row


async def get_drill(principal: Principal, drill_id: int) -> DrillOut:
    return (await _drill_outs([await _drill_row(principal, drill_id, "drills.view")]))[0]


def _touching(paths: list[str]) -> Any:
    """Drills organised under one of the paths, or with an invited team or a unit taking part under one: the union of
    the three as one sub-select, so the database starts from the area's own drills and looks each up by its key. As
    three alternatives (organiser's path OR invited OR taking part) it could only filter drills found otherwise: the
    country's drills of a time window, or every drill in start order until a page filled (docs/performance.md)."""
    if "/" in paths:  # the root: every drill
        return Drill.id.is_not_null()

    def under_one(column: str) -> str:
        return "(" + " OR ".join(f"{column} >= {{}} AND {column} < {{}}" for _ in paths) + ")"

    bounds = [bound for path in paths for bound in subtree_range(path)]
    return WhereRaw(
        f'"drills_drill"."id" IN (SELECT d.id FROM drills_drill d WHERE {under_one("d.org_path")}'
        f" UNION SELECT dt.drill FROM drills_team dt JOIN teams_team t ON t.id = dt.team WHERE {under_one('t.path')}"
        f" UNION SELECT du.drill FROM drills_unit du JOIN orgs_unit u ON u.id = du.unit WHERE {under_one('u.path')})",
        *bounds, *bounds, *bounds)


async def region_paths(region: str) -> list[str]:
    """The org paths of a region: a regional hub's coverage (by hub code), or the whole autonomous region (its unit code)."""
    hubs = await orgs.hub_paths()
    if region in hubs:
        return list(hubs[region])
    try:
        unit = await orgs.get_unit(region)
    except NotFound:
        unit = None
    if unit is None or unit.kind is not OrgKind.region:
        raise NotFound(f"No region '{region}': give a regional hub ({', '.join(sorted(hubs))}) or the autonomous region's code.")
    return [unit.path]


DONE = (DrillStatus.ended, DrillStatus.closed)  # over, whatever its planned end said


async def list_drills(principal: Principal, page: PageParams, *, team: str | None = None, under_code: str | None = None,
                      region: str | None = None, start: datetime | None = None, end: datetime | None = None,
                      status: DrillStatus | None = None, past: bool | None = None) -> tuple[list[DrillOut], int]:
    """A page of the drills the caller may see (organised within their scopes, or with a team or a unit taking part within
    them), and how many there are in all; ``team``, ``under_code`` (a league or county) and ``region`` (a hub's region or
    the whole autonomous region) narrow them to those the team, unit or region takes part in. ``past``: only those over
    (their end passed, or ended or closed), latest first; ``past=False``: only those still to come or under way, soonest
    first; by default all, by start time."""
    scopes = scopes_for(principal, "drills.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing drills.")
    conditions = [_touching(scopes)]
    if team:
        try:
            team_id = (await teams.team_row(team))["id"]
        except NotFound:
            return [], 0  # as for a team out of scope: the answer does not tell which codes exist
        conditions.append(Drill.id.is_in(DrillTeam.select(DrillTeam.drill).where(DrillTeam.team == team_id)))
    if under_code:
        conditions.append(_touching([(await orgs.get_unit(under_code)).path]))
    if region:
        conditions.append(_touching(await region_paths(region)))
    if start:
        conditions.append(Drill.ends_at >= start)
    if end:
        conditions.append(Drill.starts_at < end)
    if status:
        conditions.append(Drill.status == status.value)
    if past is not None:
        now, done = utc_now(), [s.value for s in DONE]
        conditions.append(((Drill.ends_at < now) | Drill.status.is_in(done)) if past else (Drill.ends_at >= now) & Drill.status.not_in(done))
    query, count = Drill.select(*_DRILL_COLUMNS).where(*conditions), Drill.count().where(*conditions)
    query = query.order_by(Drill.starts_at, Drill.id, ascending=not past)
    return await _drill_outs(await query.limit(page.limit).offset(page.offset)), await count


ORGANISING_KINDS = (OrgKind.region, OrgKind.league, OrgKind.county)  # the branches: the autonomous region's, a league's, a county's
TAKING_PART_KINDS = (OrgKind.league, OrgKind.county, OrgKind.depot, OrgKind.partner_province)


async def _organiser(data: DrillIn) -> tuple[int, int | None, str]:
    """(org unit id, team id or None, org path) of the organiser."""
    if data.organiser_team_code:
        try:
            team = await teams.team_row(data.organiser_team_code)
        except NotFound:
            raise field_error("organiser_team_code", f"no team '{data.organiser_team_code}'") from None
        return await orgs.unit_id(team["unit_code"]), team["id"], team["path"]
    try:
        unit = await orgs.get_unit(data.organiser_unit_code or "")
    except NotFound:
        raise field_error("organiser_unit_code", f"no organisation unit '{data.organiser_unit_code}'") from None
    if unit.kind not in ORGANISING_KINDS:
        raise field_error("organiser_unit_code", f"{unit.name_zh} ({unit.code}) is not a Red Cross branch of the region; "
                                                 "name it among the units taking part (unit_codes)")
    return await orgs.unit_id(unit.code), None, unit.path


async def _units_taking_part(codes: list[str]) -> dict[str, int]:
    """Code -> id of each unit taking part, after checking it may: a league, county or depot of the region, or a
    partner province of a cooperation zone."""
    codes = list(dict.fromkeys(codes))
    found = await orgs.units_by_code(codes)
    missing = [code for code in codes if code not in found]
    if missing:
        raise field_error("unit_codes", f"no organisation unit {', '.join(repr(c) for c in missing)}")
    for code in codes:
        unit = found[code]
        if unit.kind is OrgKind.region:
            raise field_error("unit_codes", f"{unit.name_zh} ({code}) is the autonomous region: make it the organiser "
                                            "(organiser_unit_code) rather than a unit taking part")
        if unit.kind not in TAKING_PART_KINDS:
            raise field_error("unit_codes", f"{unit.name_zh} ({code}) cannot take part in a drill")
    partners = {code for code in codes if found[code].kind is OrgKind.partner_province}
    if partners:
        zone_members = {member.code for zone in await orgs.list_zones() for member in zone.members}
        outside = sorted(partners - zone_members)
        if outside:
            raise field_error("unit_codes", f"{', '.join(found[c].name_zh for c in outside)} is not in a cooperation zone with the region")
    return {code: await orgs.unit_id(code) for code in codes}


async def _check_equipment(lines: list[Any]) -> None:
    """What a drill brings must be in the equipment catalogue, one line per type."""
    known = {t.code for t in await equipment.list_types()}
    types = [line.type for line in lines]
    unknown = [t for t in dict.fromkeys(types) if t not in known]
    if unknown:
        raise field_error("equipment", f"unknown equipment type {', '.join(repr(t) for t in unknown)}: choose types from the equipment catalogue")
    twice = sorted({t for t in types if types.count(t) > 1})
    if twice:
        raise field_error("equipment", f"{', '.join(repr(t) for t in twice)} listed twice: give one line per type with the whole quantity")


async def plan_drill(principal: Principal, data: DrillIn) -> list[DrillOut]:
    """Plan a drill from a library scenario (and its repeats, for a recurring training)."""
    scenario_row = await _scenario_row(data.scenario_id, data.scenario_version)
    stored = await _stored(scenario_row)
    if stored.problems:
        raise field_error("scenario_id", f"scenario '{data.scenario_id}' version {scenario_row['version']} needs attention "
                                         f"({'; '.join(stored.problems)}); publish a corrected version before planning from it")
    scenario = stored.scenario
    unit_id, team_id, org_path = await _organiser(data)
    authorize(principal, "drills.manage", org_path)
    if data.starts_at <= utc_now():
        raise field_error("starts_at", "a drill is planned for the future; log a past one as a record instead")
    ends_at = data.ends_at or data.starts_at + timedelta(minutes=scenario.duration_minutes)
    last = scenario.last_inject()
    if last is not None and ends_at < data.starts_at + timedelta(minutes=last.offset_minutes):
        earliest = in_china(data.starts_at + timedelta(minutes=last.offset_minutes)).strftime("%Y-%m-%d %H:%M")
        raise field_error("ends_at", f"the drill would end {(ends_at - data.starts_at).total_seconds() / 60:.0f} min after it starts, before "
                                     f"the scenario's last inject '{last.id}' at {last.offset_minutes} min; end it at {earliest} "
                                     "(Beijing time) or later")
    invited = list(dict.fromkeys(([data.organiser_team_code] if data.organiser_team_code else []) + data.team_codes))
    if not invited:
        raise field_error("team_codes", "invite at least one team")
    team_rows = {}
    for code in invited:
        try:
            team_rows[code] = await teams.team_row(code)
        except NotFound:
            raise field_error("team_codes", f"no team '{code}'") from None
        if team_rows[code]["status"] == "exited":
            raise field_error("team_codes", f"team '{code}' has exited")
    units = await _units_taking_part(data.unit_codes)
    to_bring = data.equipment if data.equipment is not None else scenario.equipment
    await _check_equipment(to_bring)
    slots = occurrences(data.starts_at, ends_at, data.recurrence)
    created = []
    async with write_transaction():
        series_id = None
        if data.recurrence:
            series_id = (await DrillSeries.insert(DrillSeries(
                frequency=data.recurrence.frequency, interval=data.recurrence.interval, occurrences=data.recurrence.occurrences,
                created_at=utc_now())).returning(DrillSeries.id))[0]["id"]
        for start, end in slots:
            drill_id = (await Drill.insert(Drill(
                scenario=scenario_row["id"], series=series_id, title=data.title or scenario.title_zh, organiser_unit=unit_id,
                organiser_team=team_id, org_path=org_path, starts_at=start, ends_at=end, place=data.place, lat=data.lat, lon=data.lon,
                other_participants=json.dumps(data.other_participants, ensure_ascii=False), expected_participants=data.expected_participants,
                equipment=json.dumps([{"type": line.type, "quantity": line.quantity} for line in to_bring]), created_by=principal.username,
                created_at=utc_now(),
            )).returning(Drill.id))[0]["id"]
            for code in invited:
                await DrillTeam.insert(DrillTeam(drill=drill_id, team=team_rows[code]["id"]))
            for unit in units.values():
                await DrillUnit.insert(DrillUnit(drill=drill_id, unit=unit))
            await accounts.record_audit(principal, "drills.drill.plan", "drill", str(drill_id), org_path,
                                        {**data.model_dump(mode="json", exclude={"recurrence"}), "starts_at": start.isoformat()})
            await events.emit(principal, "drill.scheduled", DrillEvent(
                drill_id=drill_id, title=data.title or scenario.title_zh, scenario_id=scenario.id, scenario_version=scenario.version,
                starts_at=start, teams=invited, status=DrillStatus.planned), org_path=org_path, aggregate_id=str(drill_id))
            created.append(drill_id)
    return await _drill_outs(await Drill.select(*_DRILL_COLUMNS).where(Drill.id.is_in(created)).order_by(Drill.starts_at))


async def cancel_drill(principal: Principal, drill_id: int, data: CancelIn) -> DrillOut:
    row = await _drill_row(principal, drill_id, "drills.manage", organiser_only=True)
    async with write_transaction():
        won = await Drill.update({Drill.status: DrillStatus.cancelled.value, Drill.cancel_reason: data.reason}).where(
            (Drill.id == drill_id) & (Drill.status == DrillStatus.planned.value)).returning(Drill.id)
        if not won:
            raise Conflict(f"A {row['status']} drill cannot be cancelled; only a planned one.", code="invalid_transition")
        await accounts.record_audit(principal, "drills.drill.cancel", "drill", str(drill_id), row["org_path"], {"reason": data.reason})
        await _emit(principal, row, DrillStatus.cancelled, "drill.cancelled")
    return await get_drill(principal, drill_id)


async def _emit(principal: Principal, row: dict[str, Any], status: DrillStatus, event_type: str) -> None:
    invited = [t.code for t in (await _drill_outs([row]))[0].teams]
    await events.emit(principal, event_type, DrillEvent(
        drill_id=row["id"], title=row["title"], scenario_id=row["scenario_id"], scenario_version=row["scenario_version"],
        starts_at=row["starts_at"], teams=invited, status=status), org_path=row["org_path"], aggregate_id=str(row["id"]))


# --- attendance ---------------------------------------------------------------------------------


def _attendance_out(row: dict[str, Any]) -> AttendanceOut:
    return AttendanceOut(person_id=row["person"], name=row["name"], team_code=row["team_code"], role=row["role"] or None,
                         checked_in_at=row["checked_in_at"], checked_out_at=row["checked_out_at"], late=row["late"], method=row["method"])


_ATTENDANCE_COLUMNS = (Attendance.all_columns(), Attendance.person.name.as_alias("name"), Attendance.team.code.as_alias("team_code"))


async def attendance(principal: Principal, drill_id: int) -> list[AttendanceOut]:
    await _drill_row(principal, drill_id, "drills.view")
    rows = await Attendance.select(*_ATTENDANCE_COLUMNS).where(Attendance.drill == drill_id).order_by(Attendance.checked_in_at).order_by(
        Attendance.id)
    return [_attendance_out(row) for row in rows]


def _open_for_attendance(row: dict[str, Any], now: datetime) -> None:
    if row["status"] not in (DrillStatus.planned.value, DrillStatus.running.value):
        raise Conflict(f"The drill is {row['status']}: attendance is closed.", code="drill_not_open")
    if not row["starts_at"] - CHECK_IN_WINDOW <= now <= row["ends_at"] + CHECK_IN_WINDOW:
        raise Conflict("Check-in opens three hours before the drill starts and closes three hours after it ends.", code="drill_not_open")


async def _check_in(principal: Principal, row: dict[str, Any], person_ids: list[int], method: str, role: str | None,
                    now: datetime) -> None:
    """Write the check-ins (inside the caller's transaction) after the person and role checks: all of them, or none."""
    invited = await _invited_paths(row["id"])
    memberships = await members.open_memberships(person_ids)
    if role is not None:
        scenario = await get_scenario(row["scenario_id"], row["scenario_version"])
        if role not in {p.role for p in scenario.participants}:
            raise field_error("role", f"the scenario has no participant role '{role}'")
    for person_id in person_ids:
        membership = memberships.get(person_id)
        if membership is None or membership["team"] not in invited or membership["status"] not in PRESENT:
            name = (await Person.select(Person.name).where(Person.id == person_id).first() or {}).get("name", f"#{person_id}")
            raise InvalidInput(f"{name} is not an active member of a team invited to this drill.", code="not_invited")
        if not can(principal, "drills.manage", row["org_path"]) and not can(principal, "drills.manage", membership["team_path"]):
            raise PermissionDenied("You may check in members of your own team only.", code="forbidden")
        inserted = await Attendance.insert(Attendance(
            drill=row["id"], person=person_id, team=membership["team"], checked_in_at=now, late=now > row["starts_at"], method=method,
            recorded_by=principal.username, role=role or "",
        )).on_conflict(action="DO NOTHING").returning(Attendance.id)
        if not inserted:
            raise Conflict("This member is already checked in to this drill.", code="already_checked_in")


async def check_in(principal: Principal, drill_id: int, data: CheckInIn) -> AttendanceOut:
    """A member's card scanned at the assembly point, or one name called by the captain."""
    row = await _drill_row(principal, drill_id, "drills.manage")
    now = utc_now()
    _open_for_attendance(row, now)
    person_id = data.person_id
    if data.card is not None:
        holder = await members.verify_card(principal, data.card)  # a revoked or forged card raises here
        person_id = holder.person_id
    async with write_transaction():
        await _check_in(principal, row, [person_id], "scan" if data.card else "roll_call", data.role, now)
        await accounts.record_audit(principal, "drills.attendance.check_in", "drill", str(drill_id), row["org_path"], {"person": person_id})
    saved = await Attendance.select(*_ATTENDANCE_COLUMNS).where((Attendance.drill == drill_id) & (Attendance.person == person_id)).first()
    return _attendance_out(saved)


async def roll_call(principal: Principal, drill_id: int, data: RollCallIn) -> list[AttendanceOut]:
    """The captain marks those present; all of them or none (one who is already in is left as is)."""
    row = await _drill_row(principal, drill_id, "drills.manage")
    now = utc_now()
    _open_for_attendance(row, now)
    already = {r["person"] for r in await Attendance.select(Attendance.person).where(Attendance.drill == drill_id)}
    async with write_transaction():
        await _check_in(principal, row, [p for p in dict.fromkeys(data.present) if p not in already], "roll_call", None, now)
        await accounts.record_audit(principal, "drills.attendance.roll_call", "drill", str(drill_id), row["org_path"], {"present": data.present})
    return await attendance(principal, drill_id)


async def check_out(principal: Principal, drill_id: int, person_id: int) -> AttendanceOut:
    row = await _drill_row(principal, drill_id, "drills.manage")
    _open_for_attendance(row, utc_now())  # after the end, the hours are settled from the record as it stands
    async with write_transaction():
        done = await Attendance.update({Attendance.checked_out_at: utc_now()}).where(
            (Attendance.drill == drill_id) & (Attendance.person == person_id) & Attendance.checked_out_at.is_null()).returning(Attendance.id)
        if not done:
            raise Conflict("This member is not checked in, or has already checked out.", code="not_checked_in")
        await accounts.record_audit(principal, "drills.attendance.check_out", "drill", str(drill_id), row["org_path"], {"person": person_id})
    saved = await Attendance.select(*_ATTENDANCE_COLUMNS).where((Attendance.drill == drill_id) & (Attendance.person == person_id)).first()
    return _attendance_out(saved)


async def check_out_by_card(principal: Principal, drill_id: int, card: str) -> AttendanceOut:
    """A member leaving scans their card again."""
    await _drill_row(principal, drill_id, "drills.manage")  # before telling whose card it is
    holder = await members.verify_card(principal, card)
    return await check_out(principal, drill_id, holder.person_id)


async def record_mobilisation(principal: Principal, drill_id: int, data: MobilisationIn) -> DrillOut:
    """The measured mobilisation: from the call to the team assembled."""
    row = await _drill_row(principal, drill_id, "drills.manage")
    if row["status"] in (DrillStatus.closed.value, DrillStatus.cancelled.value):
        raise Conflict(f"The drill is {row['status']}.", code="invalid_transition")
    async with write_transaction():
        await Drill.update({Drill.called_at: data.called_at, Drill.assembled_at: data.assembled_at}).where(Drill.id == drill_id)
        await accounts.record_audit(principal, "drills.drill.mobilisation", "drill", str(drill_id), row["org_path"], data.model_dump(mode="json"))
    return await get_drill(principal, drill_id)


# --- evaluation, closing, the after-action report ---------------------------------------------


async def end_drill(principal: Principal, drill_id: int) -> DrillOut:
    """The exercise is over: attendance closes, the evaluation can be written."""
    row = await _drill_row(principal, drill_id, "drills.manage", organiser_only=True)
    if utc_now() < row["starts_at"] - CHECK_IN_WINDOW:
        raise Conflict("This drill has not begun: cancel it instead, or end it once it has taken place.", code="drill_not_open")
    now = utc_now()
    values: dict[Any, Any] = {Drill.status: DrillStatus.ended.value, Drill.ended_at: now, Drill.clock_paused_at: None}
    if row["clock_paused_at"] is not None:  # ended while paused: the pause stays out of the exercise time
        values[Drill.paused_seconds] = row["paused_seconds"] + int((now - row["clock_paused_at"]).total_seconds())
    async with write_transaction():
        won = await Drill.update(values).where(
            (Drill.id == drill_id) & Drill.status.is_in([DrillStatus.planned.value, DrillStatus.running.value])).returning(Drill.id)
        if not won:
            raise Conflict(f"A {row['status']} drill cannot be ended.", code="invalid_transition")
        await accounts.record_audit(principal, "drills.drill.end", "drill", str(drill_id), row["org_path"], {})
    return await get_drill(principal, drill_id)


async def evaluate(principal: Principal, drill_id: int, data: EvaluationIn) -> AfterActionReport:
    """Rate every objective (P/S/M/U, or NO when not observed) and set the improvement plan; again replaces, until closed."""
    row = await _drill_row(principal, drill_id, "drills.manage", organiser_only=True)
    if row["status"] != DrillStatus.ended.value:
        raise Conflict("Only an ended drill is evaluated: end it first; a closed drill keeps its evaluation."
                       if row["status"] != DrillStatus.closed.value else "The drill is closed: its evaluation can no longer change.",
                       code="invalid_transition")
    scenario = await get_scenario(row["scenario_id"], row["scenario_version"])
    objective_ids = [o.id for o in scenario.objectives]
    rated = [r.objective_id for r in data.ratings]
    unknown = sorted(set(rated) - set(objective_ids)) + sorted({i.objective_id for i in data.improvements} - set(objective_ids))
    if unknown:
        raise field_error("ratings", f"unknown objective(s): {', '.join(dict.fromkeys(unknown))}")
    if sorted(rated) != sorted(objective_ids):
        missing = [o for o in objective_ids if o not in rated]
        raise field_error("ratings", f"rate every objective once (missing: {', '.join(missing) or 'none'}; "
                                     f"twice: {', '.join(sorted({o for o in rated if rated.count(o) > 1})) or 'none'})")
    now = utc_now()
    async with write_transaction():
        await Evaluation.delete().where(Evaluation.drill == drill_id)
        await ImprovementItem.delete().where(ImprovementItem.drill == drill_id)
        for rating in data.ratings:
            await Evaluation.insert(Evaluation(drill=drill_id, objective_id=rating.objective_id, rating=rating.rating.value,
                                               observations=rating.observations, evaluators=json.dumps(data.evaluators, ensure_ascii=False),
                                               recorded_by=principal.username, recorded_at=now))
        for item in data.improvements:
            await ImprovementItem.insert(ImprovementItem(drill=drill_id, org_path=row["org_path"], objective_id=item.objective_id,
                                                         action=item.action, owner=item.owner, due_on=item.due_on))
        await Drill.update({Drill.strengths: json.dumps(data.strengths, ensure_ascii=False)}).where(Drill.id == drill_id)
        await accounts.record_audit(principal, "drills.drill.evaluate", "drill", str(drill_id), row["org_path"], data.model_dump(mode="json"))
    return await after_action_report(principal, drill_id)


_hours = quarter_hours  # quarter hours, rounded down; never negative


async def close_drill(principal: Principal, drill_id: int) -> DrillOut:
    """Close an evaluated drill: each member's time on it goes to their service hours."""
    row = await _drill_row(principal, drill_id, "drills.manage", organiser_only=True)
    if row["status"] != DrillStatus.ended.value:
        raise Conflict(f"A {row['status']} drill cannot be closed; end and evaluate it first.", code="invalid_transition")
    if not await Evaluation.exists().where(Evaluation.drill == drill_id):
        raise Conflict("Evaluate the drill before closing it.", code="not_evaluated")
    scenario = await get_scenario(row["scenario_id"], row["scenario_version"])
    if scenario.measures_mobilisation and row["assembled_at"] is None:
        raise Conflict("This scenario measures mobilisation: record the call and assembly times first.", code="mobilisation_missing")
    ended = row["ended_at"] or row["ends_at"]
    async with write_transaction():
        won = await Drill.update({Drill.status: DrillStatus.closed.value, Drill.closed_at: utc_now()}).where(
            (Drill.id == drill_id) & (Drill.status == DrillStatus.ended.value)).returning(Drill.id)
        if not won:
            raise Conflict("Someone else closed this drill a moment ago.", code="invalid_transition")
        for att in await Attendance.select().where(Attendance.drill == drill_id):
            hours = _hours(att["checked_in_at"], min(att["checked_out_at"] or ended, ended))
            if hours > 0:
                await members.add_hours(att["person"], att["team"], HoursSource.drill, f"drill:{drill_id}", row["starts_at"].date(), hours,
                                        row["title"])
        await accounts.record_audit(principal, "drills.drill.close", "drill", str(drill_id), row["org_path"], {})
        await _emit(principal, row, DrillStatus.closed, "drill.closed")
    return await get_drill(principal, drill_id)


async def after_action_report(principal: Principal, drill_id: int) -> AfterActionReport:
    row = await _drill_row(principal, drill_id, "drills.view")
    scenario = await get_scenario(row["scenario_id"], row["scenario_version"])
    ratings = {r["objective_id"]: r for r in await Evaluation.select().where(Evaluation.drill == drill_id)}
    if not ratings:
        raise Conflict("The drill has not been evaluated yet.", code="not_evaluated")
    automatic = await timing_results(drill_id, scenario)
    capabilities = library.capabilities()
    results = [ObjectiveResult(
        objective_id=o.id, title_zh=o.title_zh, criteria=o.criteria,
        capability_zh=capabilities[o.capability]["name_zh"] if o.capability in capabilities else o.capability,  # since removed: its code
        rating=ratings[o.id]["rating"] if o.id in ratings else None, observations=ratings[o.id]["observations"] if o.id in ratings else "",
        automatic=automatic.get(o.id)) for o in scenario.objectives]
    evaluators = _json(next(iter(ratings.values()))["evaluators"])
    return AfterActionReport(drill=(await _drill_outs([row]))[0], scenario_setting_zh=scenario.setting_zh, evaluators=evaluators,
                             attendance=await attendance(principal, drill_id), results=results, strengths=_json(row["strengths"]),
                             improvements=await _improvements([ImprovementItem.drill == drill_id]), generated_at=utc_now())


# --- improvement items ----------------------------------------------------------------------


async def _improvements(conditions: list[Any]) -> list[ImprovementOut]:
    today = china_today()
    query = ImprovementItem.select(ImprovementItem.all_columns(), ImprovementItem.drill.title.as_alias("drill_title")).order_by(
        ImprovementItem.due_on).order_by(ImprovementItem.id)
    for condition in conditions:
        query = query.where(condition)
    rows = await query
    return [ImprovementOut(id=r["id"], drill_id=r["drill"], drill_title=r["drill_title"], objective_id=r["objective_id"], action=r["action"],
                           owner=r["owner"], due_on=r["due_on"], status=r["status"],
                           overdue=r["status"] == ImprovementStatus.open.value and r["due_on"] < today, closed_at=r["closed_at"],
                           closing_note=r["closing_note"]) for r in rows]


async def list_improvements(principal: Principal, *, status: ImprovementStatus | None = None) -> list[ImprovementOut]:
    scopes = scopes_for(principal, "drills.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing drills.")
    conditions = [c for c in (within(ImprovementItem.org_path, scopes), ImprovementItem.status == status.value if status else None) if c is not None]
    return await _improvements(conditions)


async def close_improvement(principal: Principal, item_id: int, data: CloseItemIn) -> ImprovementOut:
    row = await ImprovementItem.select().where(ImprovementItem.id == item_id).first()
    if row is None:
        raise NotFound(f"No improvement item #{item_id}.")
    authorize(principal, "drills.manage", row["org_path"], hide=not can(principal, "drills.view", row["org_path"]))
    async with write_transaction():
        done = await ImprovementItem.update({ImprovementItem.status: ImprovementStatus.closed.value, ImprovementItem.closed_at: utc_now(),
                                             ImprovementItem.closing_note: data.note}).where(
            (ImprovementItem.id == item_id) & (ImprovementItem.status == ImprovementStatus.open.value)).returning(ImprovementItem.id)
        if not done:
            raise Conflict("This item is already closed.", code="already_decided")
        await accounts.record_audit(principal, "drills.improvement.close", "improvement", str(item_id), row["org_path"], {"note": data.note})
    return (await _improvements([ImprovementItem.id == item_id]))[0]


# --- annual training plans --------------------------------------------------------------------


async def set_training_plan(principal: Principal, team_code: str, data: TrainingPlanIn) -> TrainingProgressOut:
    team = await teams.team_row(team_code)
    authorize(principal, "drills.manage", team["path"], hide=not can(principal, "drills.view", team["path"]))
    async with write_transaction():
        updated = await TrainingPlan.update({TrainingPlan.target_count: data.target_count, TrainingPlan.note: data.note}).where(
            (TrainingPlan.team == team["id"]) & (TrainingPlan.year == data.year)).returning(TrainingPlan.id)
        if not updated:
            await TrainingPlan.insert(TrainingPlan(team=team["id"], year=data.year, target_count=data.target_count, note=data.note))
        await accounts.record_audit(principal, "drills.training_plan.set", "team", team_code, team["path"], data.model_dump(mode="json"))
    return (await training_progress(principal, data.year, team=team_code))[0]


async def training_progress(principal: Principal, year: int, *, team: str | None = None, under_code: str | None = None,
                            region: str | None = None) -> list[TrainingProgressOut]:
    """Per team (of one team, a unit or a region): the year's target, the drills held (ended or closed) and those still planned."""
    scopes = scopes_for(principal, "drills.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing drills.")
    query = Team.select(Team.id, Team.code, Team.name_zh, Team.path).where(Team.status != "exited").order_by(Team.code)
    visible = within(Team.path, scopes)
    if visible is not None:
        query = query.where(visible)
    if team:
        query = query.where(Team.code == team)
    if under_code:
        query = query.where(within(Team.path, [(await orgs.get_unit(under_code)).path]))
    if region:
        in_region = within(Team.path, await region_paths(region))
        if in_region is not None:
            query = query.where(in_region)
    team_rows = await query
    ids = [t["id"] for t in team_rows] or [-1]
    targets = {r["team"]: r["target_count"] for r in await TrainingPlan.select().where(TrainingPlan.team.is_in(ids) & (TrainingPlan.year == year))}
    start, end = datetime(year, 1, 1, tzinfo=CHINA), datetime(year + 1, 1, 1, tzinfo=CHINA)
    held: dict[int, int] = {}
    planned: dict[int, int] = {}
    for r in await DrillTeam.select(DrillTeam.team, DrillTeam.drill.status.as_alias("status")).where(
            DrillTeam.team.is_in(ids) & (DrillTeam.drill.starts_at >= start) & (DrillTeam.drill.starts_at < end)):
        if r["status"] in (DrillStatus.ended.value, DrillStatus.closed.value):
            held[r["team"]] = held.get(r["team"], 0) + 1
        elif r["status"] in (DrillStatus.planned.value, DrillStatus.running.value):
            planned[r["team"]] = planned.get(r["team"], 0) + 1
    return [TrainingProgressOut(
        team=TeamRef(code=t["code"], name_zh=t["name_zh"]), year=year, target_count=targets.get(t["id"]), held=held.get(t["id"], 0),
        planned=planned.get(t["id"], 0),
        on_track=None if targets.get(t["id"]) is None else held.get(t["id"], 0) + planned.get(t["id"], 0) >= targets[t["id"]],
    ) for t in team_rows]


# --- calendar feeds -------------------------------------------------------------------------

FEED_HISTORY = timedelta(days=90)  # how far back a feed reaches


async def feed(token: str) -> tuple[str, list[DrillOut]]:
    """(calendar name, drills) for a signed feed token: a team's drills, or those of a member's current team."""
    found = feed_tokens.read_token(token)
    if found is None:
        raise NotFound("This calendar link is not valid.")
    kind, key = found
    if kind == "team":
        team = await teams.team_row(key)
    else:
        membership = (await members.open_memberships([int(key)])).get(int(key))
        if membership is None:
            raise NotFound("This calendar link is no longer valid: the member is not on a team roster.")
        team = await teams.team_row(membership["team_code"])
    invited = [r["drill"] for r in await DrillTeam.select(DrillTeam.drill).where(DrillTeam.team == team["id"])]
    rows = await Drill.select(*_DRILL_COLUMNS).where(Drill.id.is_in(invited or [-1]) & (Drill.starts_at >= utc_now() - FEED_HISTORY)).order_by(
        Drill.starts_at)
    return f"{team['name_zh']} 训练演练", await _drill_outs(rows)


# --- reminders (scheduled jobs) ---------------------------------------------------------------

# (key, how far ahead, how the message says it): a week ahead (but more than a day), then the day before.
UPCOMING = (("t-7", timedelta(days=1), timedelta(days=7), "一周内"), ("t-1", timedelta(0), timedelta(days=1), "24 小时内"))
UNLOGGED_AFTER = timedelta(hours=12)  # a drill still open this long after its end was probably not logged


async def _invited_teams(drill_ids: list[int]) -> dict[int, list[int]]:
    """Drill id -> the ids of the teams invited to it, for many drills in one query."""
    rows = await DrillTeam.select(DrillTeam.drill, DrillTeam.team).where(DrillTeam.drill.is_in(list(drill_ids) or [-1]))
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row["drill"], []).append(row["team"])
    return found


async def remind_upcoming(now: datetime | None = None) -> str:
    """Tell the invited teams' members and leaders of a drill a week ahead and the day before, once each. The due
    drills' teams, their members and their leaders are read once for all of them; each drill's reminders are one
    transaction."""
    now, told = now or utc_now(), 0
    leaders = await accounts.holders_by_team(accounts.LEADERS)
    for key, nearest, farthest, when_zh in UPCOMING:
        rows = await Drill.select(Drill.id, Drill.title, Drill.starts_at, Drill.place, Drill.org_path).where(
            (Drill.status == DrillStatus.planned.value) & (Drill.starts_at > now + nearest) & (Drill.starts_at <= now + farthest))
        invited = await _invited_teams([row["id"] for row in rows])
        members_of = await members.users_by_team(sorted({team for teams in invited.values() for team in teams}))
        for row in rows:
            teams = invited.get(row["id"], [])
            users = [user for team in teams for user in members_of.get(team, [])] + [user for team in teams for user in leaders.get(team, [])]
            if not users:
                continue
            start = row["starts_at"].astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
            async with write_transaction():
                told += len(await events.notify(
                    users, kind="drill.reminder", title=f"演练提醒：{row['title']}（{when_zh}）",
                    body=f"{start} 在 {row['place']} 举行，请按时集合并携带装备。", link=f"/drills/{row['id']}",
                    key=f"drill:{row['id']}:{key}", org_path=row["org_path"]))
    return f"{told} reminders sent"


async def remind_unlogged(now: datetime | None = None) -> str:
    """Ask the leaders of the organising team (or the planner) to log a drill that ended but was never closed. The
    leaders of every team and the planners' logins are read once for all the drills."""
    now, told = now or utc_now(), 0
    rows = await Drill.select(Drill.id, Drill.title, Drill.organiser_team, Drill.created_by, Drill.org_path).where(
        Drill.status.is_in([DrillStatus.planned.value, DrillStatus.running.value, DrillStatus.ended.value])
        & (Drill.ends_at < now - UNLOGGED_AFTER))
    leaders = await accounts.holders_by_team(accounts.LEADERS) if rows else {}
    planners = await accounts.user_ids_by_name([row["created_by"] for row in rows])  # a planner's login may be gone
    for row in rows:
        users = [*leaders.get(row["organiser_team"], []), *([planners[row["created_by"]]] if row["created_by"] in planners else [])]
        if not users:
            continue
        async with write_transaction():
            told += len(await events.notify(
                users, kind="drill.unlogged", title=f"请登记演练：{row['title']}",
                body="演练已结束，请登记签到、评估并关闭演练，队员的志愿服务时长在关闭时计入。", link=f"/drills/{row['id']}",
                key=f"drill:{row['id']}:unlogged", org_path=row["org_path"]))
    return f"{told} reminders sent"


# --- live conduct: the exercise clock, injects, acknowledgements, timing objectives ------------

EXERCISE = "演练 EXERCISE"  # every inject message starts with this, so no one mistakes it for a real alert


async def start_clock(principal: Principal, drill_id: int) -> DrillOut:
    row = await _drill_row(principal, drill_id, "drills.manage", organiser_only=True)
    _open_for_attendance(row, utc_now())
    async with write_transaction():
        won = await Drill.update({Drill.status: DrillStatus.running.value, Drill.clock_started_at: utc_now()}).where(
            (Drill.id == drill_id) & (Drill.status == DrillStatus.planned.value)).returning(Drill.id)
        if not won:
            raise Conflict(f"The clock of a {row['status']} drill cannot be started.", code="invalid_transition")
        await accounts.record_audit(principal, "drills.clock.start", "drill", str(drill_id), row["org_path"], {})
    await release_injects(drill_id=drill_id)  # the injects at offset 0 go out at once
    return await get_drill(principal, drill_id)


async def pause_clock(principal: Principal, drill_id: int, *, resume: bool = False) -> DrillOut:
    """Pause (injects wait) or resume (the paused time does not count towards the offsets)."""
    row = await _drill_row(principal, drill_id, "drills.manage", organiser_only=True)
    now = utc_now()
    if row["status"] != DrillStatus.running.value or (row["clock_paused_at"] is None) == resume:
        raise Conflict("The clock is not running." if not resume else "The clock is not paused.", code="invalid_transition")
    values: dict[Any, Any] = {Drill.clock_paused_at: None if resume else now}
    if resume:
        values[Drill.paused_seconds] = row["paused_seconds"] + int((now - row["clock_paused_at"]).total_seconds())
    async with write_transaction():
        await Drill.update(values).where(Drill.id == drill_id)
        await accounts.record_audit(principal, f"drills.clock.{'resume' if resume else 'pause'}", "drill", str(drill_id), row["org_path"], {})
    if resume:
        await release_injects(drill_id=drill_id)
    return await get_drill(principal, drill_id)


async def release_injects(now: datetime | None = None, *, drill_id: int | None = None) -> str:
    """Release every inject whose offset the exercise clock has reached. Each goes out once per drill, whatever
    the number of processes or restarts: the (drill, inject) key of its delivery row is unique."""
    now = now or utc_now()
    query = Drill.select(*_DRILL_COLUMNS).where((Drill.status == DrillStatus.running.value) & Drill.clock_paused_at.is_null())
    if drill_id is not None:
        query = query.where(Drill.id == drill_id)
    released = 0
    for row in await query:
        try:
            scenario = await get_scenario(row["scenario_id"], row["scenario_version"])
        except Conflict as error:  # one unreadable scenario must not hold up the other drills' injects
            log.error("drill injects not released", extra={"drill": row["id"], "reason": error.message})
            continue
        elapsed = _clock(row, now).elapsed_minutes
        done = {r["inject_id"] for r in await InjectDelivery.select(InjectDelivery.inject_id).where(InjectDelivery.drill == row["id"])}
        for inject in sorted(scenario.injects, key=lambda i: i.offset_minutes):
            if inject.offset_minutes > elapsed or inject.id in done:
                continue
            async with write_transaction():
                delivered = await InjectDelivery.insert(InjectDelivery(drill=row["id"], inject_id=inject.id, delivered_at=now)).on_conflict(
                    action="DO NOTHING").returning(InjectDelivery.id)
                if not delivered:
                    continue  # another process released it a moment ago
                await events.notify(await _addressed(row["id"], inject.to_roles), kind="drill.inject",
                                    title=f"{EXERCISE}｜{inject.from_whom}", body=f"{EXERCISE}：{inject.message_zh}",
                                    link=f"/drills/{row['id']}/injects", key=f"drill:{row['id']}:inject:{inject.id}", org_path=row["org_path"])
            released += 1
    return f"{released} injects released"


async def _roles_played(drill_id: int) -> dict[int, str]:
    """Person -> the scenario role they play in the drill ("" for none), for everyone checked in."""
    return {r["person"]: r["role"] for r in await Attendance.select(Attendance.person, Attendance.role).where(Attendance.drill == drill_id)}


def _is_addressed(role: str, roles_played: dict[int, str], to_roles: list[str]) -> bool:
    """An inject reaches the participants playing the roles it names; when nobody was given a role, everyone checked in."""
    return role in to_roles or not any(roles_played.values())


async def _addressed(drill_id: int, roles: list[str]) -> list[int]:
    """Logins of the checked-in participants the inject is addressed to, and the invited teams' leaders, who follow
    every inject."""
    played = await _roles_played(drill_id)
    people = [person for person, role in played.items() if _is_addressed(role, played, roles)]
    users = list((await members.users_of(people)).values())
    return [*users, *await accounts.users_holding(accounts.LEADERS, team_ids=list(await _invited_paths(drill_id)))]


async def _reader(principal: Principal, row: dict[str, Any]) -> tuple[bool, str | None, dict[int, str]]:
    """(sees every inject, the role the caller plays or None, the roles played): the organisers and the leaders of the
    invited teams follow every inject, as their inboxes do; a participant sees those addressed to their role."""
    paths = [row["org_path"], *(await _invited_paths(row["id"])).values()]
    played = await _roles_played(row["id"])
    if any(can(principal, "drills.manage", path) for path in paths):
        return True, None, played
    person = await members.person_of_user(principal.user_id)
    return False, played.get(person) if person is not None else None, played


async def injects(principal: Principal, drill_id: int) -> list[InjectOut]:
    """The injects released so far that reach the caller, newest first, with who acknowledged them."""
    row = await _drill_row(principal, drill_id, "drills.view")
    scenario = await get_scenario(row["scenario_id"], row["scenario_version"])
    by_id = {i.id: i for i in scenario.injects}
    controller = can(principal, "drills.manage", row["org_path"])  # the expected actions are for the controllers and evaluators
    sees_all, role, played = await _reader(principal, row)
    deliveries = [d for d in await InjectDelivery.select().where(InjectDelivery.drill == drill_id).order_by(
        InjectDelivery.delivered_at, ascending=False)
        if d["inject_id"] in by_id and (sees_all or (role is not None and _is_addressed(role, played, by_id[d["inject_id"]].to_roles)))]
    acks = await InjectAck.select(InjectAck.delivery, InjectAck.user_id).where(InjectAck.delivery.is_in([d["id"] for d in deliveries] or [-1]))
    outs = []
    for delivery in deliveries:
        inject = by_id[delivery["inject_id"]]
        mine = [a for a in acks if a["delivery"] == delivery["id"]]
        outs.append(InjectOut(inject_id=inject.id, offset_minutes=inject.offset_minutes, from_whom=inject.from_whom, to_roles=inject.to_roles,
                              message=f"{EXERCISE}：{inject.message_zh}", expected_actions=inject.expected_actions if controller else [],
                              objective_id=inject.objective,
                              delivered_at=delivery["delivered_at"], acknowledged=len(mine),
                              acknowledged_by_me=any(a["user_id"] == principal.user_id for a in mine)))
    return outs


async def acknowledge(principal: Principal, drill_id: int, inject_id: str) -> InjectOut:
    row = await _drill_row(principal, drill_id, "drills.view")
    delivery = await InjectDelivery.select().where((InjectDelivery.drill == drill_id) & (InjectDelivery.inject_id == inject_id)).first()
    if delivery is None or not any(i.inject_id == inject_id for i in await injects(principal, drill_id)):
        raise NotFound(f"Inject '{inject_id}' has not been released in this drill, or it is not addressed to you.")
    async with write_transaction():
        inserted = await InjectAck.insert(InjectAck(delivery=delivery["id"], user_id=principal.user_id, user_name=principal.display_name,
                                                    acked_at=utc_now())).on_conflict(action="DO NOTHING").returning(InjectAck.id)
        if not inserted:
            raise Conflict("You have already acknowledged this inject.", code="already_acknowledged")
        await accounts.record_audit(principal, "drills.inject.ack", "drill", str(drill_id), row["org_path"], {"inject": inject_id})
    return next(i for i in await injects(principal, drill_id) if i.inject_id == inject_id)


async def timing_results(drill_id: int, scenario: Scenario) -> dict[str, str]:
    """Timing objectives scored from the logged events: check-ins (or acknowledgements) within the window after an inject."""
    results = {}
    deliveries = {r["inject_id"]: r["delivered_at"] for r in await InjectDelivery.select().where(InjectDelivery.drill == drill_id)}
    for objective in scenario.objectives:
        rule = objective.timing
        if rule is None:
            continue
        released = deliveries.get(rule.after_inject)
        if released is None:
            results[objective.id] = f"未测定：注入“{rule.after_inject}”未发出（演练时钟未运行）"
            continue
        deadline = released + timedelta(minutes=rule.within_minutes)
        if rule.measure == "check_ins":
            times = [r["checked_in_at"] for r in await Attendance.select(Attendance.checked_in_at).where(Attendance.drill == drill_id)]
            what = "签到"
        else:
            delivery_id = (await InjectDelivery.select(InjectDelivery.id).where(
                (InjectDelivery.drill == drill_id) & (InjectDelivery.inject_id == rule.after_inject)).first())["id"]
            times = [r["acked_at"] for r in await InjectAck.select(InjectAck.acked_at).where(InjectAck.delivery == delivery_id)]
            what = "确认"
        within = sorted(t for t in times if released <= t <= deadline) if rule.measure == "acknowledgements" else sorted(
            t for t in times if t <= deadline)
        met = len(within) >= rule.count
        reached = f"，第 {rule.count} 人用时 {(within[rule.count - 1] - released).total_seconds() / 60:.0f} 分钟" if met else ""
        results[objective.id] = (f"{'达到' if met else '未达到'}：注入后 {rule.within_minutes} 分钟内{what} {len(within)} 人"
                                 f"（要求 {rule.count} 人）{reached}")
    return results


# --- read for grading (分级测评) ----------------------------------------------------------------------


async def grading_facts(team_ids: list[int], since: datetime, until: datetime) -> dict[int, list[dict[str, Any]]]:
    """Per team, the closed drills it took part in (organiser or invited) that started in [since, until), in three
    queries whatever the number of teams: drill id, title, type (the scenario's), ``starts_on`` (China date),
    ``joint`` (with another team, a unit taking part by name, other departments, or organised by a branch) and the
    measured ``mobilisation_minutes`` (None when not measured)."""
    if not team_ids:
        return {}
    taking_part = (DrillTeam.team.is_in(list(team_ids)) & (DrillTeam.drill.status == DrillStatus.closed.value)
                   & (DrillTeam.drill.starts_at >= since) & (DrillTeam.drill.starts_at < until))
    rows = await DrillTeam.select(
        DrillTeam.team, DrillTeam.drill, DrillTeam.drill.title.as_alias("title"), DrillTeam.drill.scenario.type.as_alias("type"),
        DrillTeam.drill.starts_at.as_alias("starts_at"), DrillTeam.drill.called_at.as_alias("called_at"),
        DrillTeam.drill.assembled_at.as_alias("assembled_at"), DrillTeam.drill.organiser_team.as_alias("organiser_team"),
        DrillTeam.drill.other_participants.as_alias("other_participants"),
    ).where(taking_part).order_by(DrillTeam.drill.starts_at)
    drills = DrillTeam.select(DrillTeam.drill).where(taking_part)
    teams_in: dict[int, int] = {}
    for row in await DrillTeam.select(DrillTeam.drill).where(DrillTeam.drill.is_in(drills)):
        teams_in[row["drill"]] = teams_in.get(row["drill"], 0) + 1
    with_units = {row["drill"] for row in await DrillUnit.select(DrillUnit.drill).where(DrillUnit.drill.is_in(drills))}
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        minutes = ((row["assembled_at"] - row["called_at"]).total_seconds() / 60
                   if row["called_at"] and row["assembled_at"] else None)
        joint = (teams_in.get(row["drill"], 0) > 1 or row["drill"] in with_units or bool(_json(row["other_participants"]))
                 or row["organiser_team"] is None)
        found.setdefault(row["team"], []).append({
            "id": row["drill"], "title": row["title"], "type": row["type"], "starts_on": in_china(row["starts_at"]).date(),
            "joint": joint, "mobilisation_minutes": round(minutes, 1) if minutes is not None else None,
        })
    return found
