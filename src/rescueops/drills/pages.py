"""Drill pages: the calendar with the annual training progress, the scenario library, planning, the drill's page
(attendance, roll call, mobilisation, ending, closing), the phone check-in page for scanning member cards,
the evaluation form, the after-action report and the improvement items.

Times are shown and typed in China Standard Time; the services keep them aware (UTC in the database).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_skeleton
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template

from rescueops.accounts.access import ROLE_ACTIONS, can, can_anywhere
from rescueops.accounts.auth import requires, signed_in
from rescueops.calendar import CHINA, in_china, utc_now
from rescueops.db.pagination import MAX_OFFSET, PageParams
from rescueops.drills import feed, library, service
from rescueops.drills.library import DrillType, Scenario
from rescueops.drills.routes import report_file
from rescueops.drills.schemas import (
    AfterActionReport,
    CancelIn,
    CheckInIn,
    CloseItemIn,
    DrillIn,
    DrillOut,
    EvaluationIn,
    MobilisationIn,
    RollCallIn,
    TrainingPlanIn,
)
from rescueops.drills.tables import DrillStatus, ImprovementStatus, Rating
from rescueops.equipment import service as equipment
from rescueops.errors import Conflict, DomainError, NotFound
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind
from rescueops.teams import service as teams
from rescueops.web.i18n import current_locale, pick
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import page, problem, submit

INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what a datetime-local input sends and shows
PRESENT = ("active", "probation")
OPEN = (DrillStatus.planned, DrillStatus.running)
CALENDAR_PAGE = 100  # drills a calendar page lists; older or later ones are a page away
IMPROVEMENT_ROWS = 3  # blank improvement rows the evaluation form always offers
SPARE_EQUIPMENT_ROWS = 2  # blank rows the planning form offers below the equipment list


# --- labels ------------------------------------------------------------------------------------


def type_labels() -> dict[str, str]:
    return {
        DrillType.training_course.value: _("training course"), DrillType.tabletop.value: _("tabletop exercise"),
        DrillType.drill.value: _("single-skill drill"), DrillType.functional.value: _("functional exercise"),
        DrillType.full_scale.value: _("full-scale exercise"),
    }


def status_labels() -> dict[str, str]:
    return {
        DrillStatus.planned.value: _("planned"), DrillStatus.running.value: _("running"), DrillStatus.ended.value: _("ended"),
        DrillStatus.closed.value: _("closed"), DrillStatus.cancelled.value: _("cancelled"),
    }


def rating_labels() -> dict[str, str]:
    return {
        Rating.P.value: _("performed without challenges"), Rating.S.value: _("performed with some challenges"),
        Rating.M.value: _("performed with major challenges"), Rating.U.value: _("unable to be performed"),
        Rating.NO.value: _("not observed"),
    }


def difficulty_labels() -> dict[str, str]:
    return {"basic": _("basic"), "intermediate": _("intermediate"), "advanced": _("advanced")}


def method_labels() -> dict[str, str]:
    return {"scan": _("card scan"), "roll_call": _("roll call")}


def improvement_labels() -> dict[str, str]:
    return {ImprovementStatus.open.value: _("open"), ImprovementStatus.closed.value: _("done")}


# --- times --------------------------------------------------------------------------------------


def local(moment: datetime | None) -> datetime | None:
    return in_china(moment) if moment is not None else None


def when(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    found = local(moment)
    return found.strftime(pattern) if found else "—"


def span(start: datetime, end: datetime) -> str:
    first, last = local(start), local(end)
    if first.date() == last.date():
        return f"{first:%H:%M}–{last:%H:%M}"
    return f"{first:%H:%M} – {last:%m-%d %H:%M}"


def to_input(moment: datetime | None) -> str:
    found = local(moment)
    return found.strftime(INPUT_FORMAT) if found else ""


def parse_local(text: str) -> datetime | str | None:
    """A datetime-local value read as China Standard Time; what cannot be read goes on as typed, for the schema to refuse."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment.replace(tzinfo=CHINA) if moment.tzinfo is None else moment


def _locale() -> str:
    return "zh_CN" if current_locale.get() == "zh_CN" else "en"


def month_label(day: date) -> str:
    return format_skeleton("yMMMM", day, locale=_locale())


def day_label(day: date) -> str:
    return format_skeleton("MMMEd", day, locale=_locale())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _codes(text: str) -> list[str]:
    for sep in ("，", "、", ";", "；", "\n"):
        text = text.replace(sep, ",")
    return [code.strip() for code in text.split(",") if code.strip()]


def _number(text: str) -> str | None:
    """An optional number field: None when empty, else as typed (the schema parses or refuses it)."""
    return text.strip() or None


@dataclass
class EquipmentName:
    name: str
    unit: str


async def equipment_names() -> dict[str, EquipmentName]:
    """The equipment catalogue by type code (a type no longer in it is shown by its code)."""
    return {t.code: EquipmentName(pick(t.name_zh, t.name_en), t.unit_zh) for t in await equipment.list_types()}


def capability_names() -> dict[str, str]:
    return {code: pick(c["name_zh"], c["name_en"]) for code, c in library.capabilities().items()}


def shared() -> dict[str, Any]:
    """What every drill template may use."""
    return {"type_labels": type_labels(), "status_labels": status_labels(), "rating_labels": rating_labels(),
            "difficulty_labels": difficulty_labels(), "method_labels": method_labels(), "when": when, "span": span, "pick": pick}


# --- forms -------------------------------------------------------------------------------------


@dataclass
class PlanForm:
    scenario: str = ""
    title: str = ""
    organiser_team_code: str = ""
    organiser_unit_code: str = ""
    starts_at: str = ""
    ends_at: str = ""
    place: str = ""
    lat: str = ""
    lon: str = ""
    team_codes: str = ""
    unit_codes: list[str] = field(default_factory=list)  # the ticked leagues and partner provinces
    more_unit_codes: str = ""  # other units taking part, by code (banners, counties, depots)
    other_participants: str = ""
    expected_participants: str = ""
    equipment: list[tuple[str, str]] = field(default_factory=list)  # (type, quantity) rows as typed
    equipment_for: str = ""  # the scenario whose list the rows were filled from
    frequency: str = ""
    interval: str = "1"
    occurrences: str = ""

    @classmethod
    def read(cls, data: Any) -> PlanForm:
        """The posted form: single fields by name, the ticked units and the equipment rows as lists."""
        single = {name: data.get(name, "") for name in ("scenario", "title", "organiser_team_code", "organiser_unit_code", "starts_at",
                                                         "ends_at", "place", "lat", "lon", "team_codes", "more_unit_codes",
                                                         "other_participants", "expected_participants", "equipment_for", "frequency",
                                                         "interval", "occurrences")}
        rows = [(t.strip(), q.strip()) for t, q in zip(data.getall("equipment_type", []), data.getall("equipment_quantity", []), strict=False)]
        return cls(**single, unit_codes=list(data.getall("unit_codes", [])), equipment=[r for r in rows if r[0] or r[1]])


@dataclass
class TrainingPlanForm:
    team_code: str = ""
    year: str = ""
    target_count: str = ""
    note: str = ""


@dataclass
class CheckInForm:
    card: str = ""
    role: str = ""
    direction: str = "in"  # "out": the member is leaving


@dataclass
class MobilisationForm:
    called_at: str = ""
    assembled_at: str = ""


@dataclass
class CancelForm:
    reason: str = ""


@dataclass
class CloseItemForm:
    note: str = ""


@dataclass
class EvaluationForm:
    evaluators: str = ""
    ratings: dict[str, str] = field(default_factory=dict)
    observations: dict[str, str] = field(default_factory=dict)
    strengths: str = ""
    rows: list[dict[str, str]] = field(default_factory=list)


def _manager_team(request: Request) -> str:
    """The team of a captain's (or deputy's) grant, to prefill the organiser."""
    for grant in request.user.grants:
        if grant.team_code and "drills.manage" in ROLE_ACTIONS[grant.role]:
            return grant.team_code
    return ""


def _drill_in(form: PlanForm) -> DrillIn:
    recurrence = None
    if form.frequency in ("weekly", "monthly"):
        recurrence = {"frequency": form.frequency, "interval": _number(form.interval) or 1}
        if _number(form.occurrences):
            recurrence["occurrences"] = form.occurrences.strip()
    values: dict[str, Any] = {
        "scenario_id": form.scenario.strip(), "title": form.title.strip() or None,
        "organiser_team_code": form.organiser_team_code.strip() or None, "organiser_unit_code": form.organiser_unit_code.strip() or None,
        "starts_at": parse_local(form.starts_at), "ends_at": parse_local(form.ends_at), "place": form.place,
        "lat": _number(form.lat), "lon": _number(form.lon), "team_codes": _codes(form.team_codes),
        "unit_codes": list(dict.fromkeys([*form.unit_codes, *_codes(form.more_unit_codes)])),
        "other_participants": _lines(form.other_participants), "expected_participants": _number(form.expected_participants) or 0,
        "equipment": [{"type": t, "quantity": _number(q)} for t, q in form.equipment], "recurrence": recurrence,
    }
    return DrillIn.model_validate(values)


async def _scenario_equipment(scenario_id: str) -> list[tuple[str, str]]:
    """The rows the planning form starts from: what the scenario asks to bring."""
    if not scenario_id:
        return []
    try:
        scenario = await service.get_scenario(scenario_id)
    except DomainError:
        return []
    return [(line.type, str(line.quantity)) for line in scenario.equipment]


# --- the pages' data ---------------------------------------------------------------------------


async def _organiser_path(drill: DrillOut) -> str:
    if drill.organiser_team is not None:
        return (await teams.team_row(drill.organiser_team.code))["path"]
    return (await orgs.get_unit(drill.organiser_unit_code)).path


@dataclass
class Powers:
    organiser: bool  # may end, cancel, evaluate and close
    attendance: bool  # may check members in and record the mobilisation
    team_paths: dict[str, str]


async def _powers(request: Request, drill: DrillOut) -> Powers:
    org_path = await _organiser_path(drill)
    paths = {t.code: (await teams.team_row(t.code))["path"] for t in drill.teams}
    organiser = can(request.user, "drills.manage", org_path)
    return Powers(organiser=organiser, attendance=organiser or any(can(request.user, "drills.manage", p) for p in paths.values()),
                  team_paths=paths)


async def _evaluated(request: Request, drill: DrillOut) -> AfterActionReport | None:
    if drill.status not in (DrillStatus.ended, DrillStatus.closed):
        return None
    try:
        return await service.after_action_report(request.user, drill.id)
    except Conflict:
        return None


async def console_page(request: Request, drill_id: int, *, error: str | None = None, status_code: int = 200) -> Template:
    """The controller's view: the clock, what went out and who acknowledged it, what is still to come."""
    await service.release_injects(drill_id=drill_id)  # what is due goes out now, without waiting for the minute job
    drill = await service.get_drill(request.user, drill_id)
    scenario = await service.get_scenario(drill.scenario_id, drill.scenario_version)
    released = await service.injects(request.user, drill_id)
    done = {i.inject_id for i in released}
    return page(request, "drills/console.html", status_code=status_code, nav="drills", drill=drill, error=error, released=released,
                upcoming=[i for i in sorted(scenario.injects, key=lambda i: i.offset_minutes) if i.id not in done],
                roles={p.role: p.name_zh for p in scenario.participants}, powers=await _powers(request, drill), **shared())


async def injects_page(request: Request, drill_id: int, *, error: str | None = None, status_code: int = 200) -> Template:
    """A participant's phone view of the injects released so far, to acknowledge them."""
    drill = await service.get_drill(request.user, drill_id)
    scenario = await service.get_scenario(drill.scenario_id, drill.scenario_version)
    return page(request, "drills/injects.html", status_code=status_code, nav="drills", drill=drill, error=error,
                released=await service.injects(request.user, drill_id), roles={p.role: p.name_zh for p in scenario.participants},
                **shared())


async def region_choices() -> list[tuple[str, str]]:
    """(value, label) of the calendar's region views: the whole autonomous region, then each regional hub's region."""
    whole = [(u.code, _("%(name)s (whole region)") % {"name": pick(u.name_zh, u.name_en)})
             for u in (await orgs.list_units(PageParams(limit=10), kind=OrgKind.region))[0]]
    hubs = [(h.code, _("%(region)s region (hub: %(city)s)") % {"region": pick(h.region_zh, h.region_en),
                                                                 "city": pick(h.hub_city.name_zh, h.hub_city.name_en)})
            for h in await orgs.list_hubs()]
    return whole + hubs


async def calendar_page(request: Request, *, team: str = "", league: str = "", region: str = "", past: bool = False, offset: int = 0,
                        error: str | None = None, status_code: int = 200, plan_form: TrainingPlanForm | None = None) -> Template:
    year = utc_now().astimezone(CHINA).year
    drills: list[DrillOut] = []
    total = 0
    progress = []
    feed_link = None
    narrow = {"team": team or None, "under_code": league or None, "region": region or None}
    params = PageParams(limit=CALENDAR_PAGE, offset=offset)
    try:
        # past: what is over (or was ended early), latest first; otherwise what is to come or under way, soonest first
        drills, total = await service.list_drills(request.user, params, **narrow, past=past)
        progress = await service.training_progress(request.user, year, **narrow)
        if team:
            await teams.get_team(request.user, team)  # only a team the caller may see
            feed_link = feed.feed_url("team", team)
    except DomainError as failure:  # an unknown team or league code
        message, status = problem(failure)
        if error is None:
            error, status_code = message, status
    months: list[tuple[str, list[tuple[str, list[DrillOut]]]]] = []
    for drill in drills:
        day = local(drill.starts_at).date()
        label = month_label(day)
        if not months or months[-1][0] != label:
            months.append((label, []))
        days = months[-1][1]
        if not days or days[-1][0] != day_label(day):
            days.append((day_label(day), []))
        days[-1][1].append(drill)
    can_plan = can_anywhere(request.user, "drills.manage")
    person_id = await members.person_of_user(request.user.user_id)
    my_feed = feed.feed_url("member", str(person_id)) if person_id is not None else None
    plan_form = plan_form or TrainingPlanForm(team_code=team or _manager_team(request), year=str(year))
    filters = {"team": team, "league": league, "region": region}
    return page(request, "drills/calendar.html", status_code=status_code, nav="drills", months=months, count=len(drills), past=past,
                total=total, offset=params.offset, limit=params.limit,
                filters=filters, error=error, can_plan=can_plan, feed_link=feed_link, my_feed=my_feed, progress=progress,
                year=year, plan_form=plan_form, leagues=(await orgs.list_units(PageParams(limit=50), kind=OrgKind.league))[0],
                regions=await region_choices(),
                query=lambda **extra: urlencode({k: v for k, v in {**filters, **extra}.items() if v}), **shared())


async def plan_page(request: Request, form: PlanForm, *, error: str | None = None, status_code: int = 200) -> Template:
    scenarios = await service.list_scenarios()
    every_unit = await orgs.all_units()
    # Organisers: the branches the planner runs drills for, the autonomous region's own among them.
    units = [u for u in every_unit if u.kind in service.ORGANISING_KINDS and can(request.user, "drills.manage", u.path)]
    partners = {m.code for zone in await orgs.list_zones() for m in zone.members}
    taking_part = [u for u in every_unit if u.kind is OrgKind.league] + [
        u for u in every_unit if u.kind is OrgKind.partner_province and u.code in partners]
    chosen = next((s for s in scenarios if s.scenario_id == form.scenario), None)
    return page(request, "drills/new.html", status_code=status_code, nav="drills", form=form, error=error, scenarios=scenarios,
                chosen=chosen, units=units, taking_part=taking_part, **await equipment_rows(form.equipment, form.equipment_for), **shared())


async def equipment_rows(lines: list[tuple[str, str]], scenario_id: str) -> dict[str, Any]:
    """What the equipment part of the planning form shows: the rows, spare blank ones, and the catalogue to pick from."""
    return {"equipment_lines": [*lines, *[("", "")] * SPARE_EQUIPMENT_ROWS], "equipment_for": scenario_id,
            "catalogue": await equipment.list_types()}


async def drill_page(request: Request, drill_id: int, *, error: str | None = None, status_code: int = 200,
                     form: dict[str, Any] | None = None) -> Template:
    drill = await service.get_drill(request.user, drill_id)
    try:
        scenario: Scenario | None = await service.get_scenario(drill.scenario_id, drill.scenario_version)
        scenario_error = None
    except Conflict as failure:  # the stored version no longer reads: the drill's own record still shows
        scenario, scenario_error = None, problem(failure)[0]
    powers = await _powers(request, drill)
    attendance = await service.attendance(request.user, drill_id)
    present = {a.person_id for a in attendance}
    roll: list[tuple[Any, list[Any]]] = []
    if powers.attendance and drill.status in OPEN:
        for team in drill.teams:
            path = powers.team_paths[team.code]
            if not (powers.organiser or can(request.user, "drills.manage", path)):
                continue
            try:
                roster = await members.roster(request.user, team.code)
            except DomainError:
                continue  # a team outside the caller's scope
            waiting = [m for m in roster.members if m.status.value in PRESENT and m.person_id not in present]
            roll.append((team, waiting))
    mobilisation = (form or {}).get("mobilisation") or MobilisationForm(to_input(drill.called_at), to_input(drill.assembled_at))
    return page(
        request, "drills/drill.html", status_code=status_code, nav="drills", drill=drill, scenario=scenario, powers=powers,
        attendance=attendance, roll=roll, error=error, form=form or {}, mobilisation=mobilisation, scenario_error=scenario_error,
        evaluated=await _evaluated(request, drill) is not None, equipment=await equipment_names(),
        roles={p.role: p.name_zh for p in scenario.participants} if scenario else {}, open=drill.status in OPEN,
        team_names={t.code: t.name_zh for t in drill.teams}, **shared(),
    )


async def check_in_page(request: Request, drill_id: int, *, form: CheckInForm | None = None, person: int | None = None,
                        error: str | None = None, status_code: int = 200) -> Template:
    drill = await service.get_drill(request.user, drill_id)
    scenario = await service.get_scenario(drill.scenario_id, drill.scenario_version)
    powers = await _powers(request, drill)
    attendance = await service.attendance(request.user, drill_id)
    done = next((a for a in attendance if a.person_id == person), None) if person is not None else None
    return page(request, "drills/check_in.html", status_code=status_code, nav="drills", drill=drill, scenario=scenario, powers=powers,
                form=form or CheckInForm(), done=done, error=error, count=len(attendance), recent=attendance[::-1][:5],
                open=drill.status in OPEN, roles={p.role: p.name_zh for p in scenario.participants}, **shared())


async def evaluate_page(request: Request, drill_id: int, *, form: EvaluationForm | None = None, error: str | None = None,
                        status_code: int = 200) -> Template:
    drill = await service.get_drill(request.user, drill_id)
    scenario = await service.get_scenario(drill.scenario_id, drill.scenario_version)
    powers = await _powers(request, drill)
    if form is None:
        form = EvaluationForm()
        done = await _evaluated(request, drill)
        if done is not None:  # evaluating again replaces: start from what was recorded
            form = EvaluationForm(
                evaluators="\n".join(done.evaluators), ratings={r.objective_id: r.rating.value for r in done.results if r.rating},
                observations={r.objective_id: r.observations for r in done.results}, strengths="\n".join(done.strengths),
                rows=[{"objective_id": i.objective_id, "action": i.action, "owner": i.owner, "due_on": i.due_on.isoformat()}
                      for i in done.improvements])
    rows = list(form.rows) + [{"objective_id": "", "action": "", "owner": "", "due_on": ""}] * max(1, IMPROVEMENT_ROWS - len(form.rows))
    return page(request, "drills/evaluate.html", status_code=status_code, nav="drills", drill=drill, scenario=scenario, powers=powers,
                form=form, rows=rows, error=error, capabilities=capability_names(), ratings=[r.value for r in Rating], **shared())


async def improvements_page(request: Request, *, error: str | None = None, status_code: int = 200,
                            form: tuple[int, str] | None = None) -> Template:
    items = sorted(await service.list_improvements(request.user),
                   key=lambda i: (i.status != ImprovementStatus.open, not i.overdue, i.due_on, i.id))
    objectives: dict[int, dict[str, str]] = {}
    for drill_id in {i.drill_id for i in items}:
        try:
            drill = await service.get_drill(request.user, drill_id)
            scenario = await service.get_scenario(drill.scenario_id, drill.scenario_version)
        except DomainError:
            continue
        objectives[drill_id] = {o.id: o.title_zh for o in scenario.objectives}
    return page(request, "drills/improvements.html", status_code=status_code, nav="drills", items=items, objectives=objectives,
                error=error, form=form, can_manage=can_anywhere(request.user, "drills.manage"), labels=improvement_labels(), **shared())


def _evaluation_form(data: Any, scenario: Scenario) -> EvaluationForm:
    """What the evaluation form sent: one rating and observations per objective, improvement rows by position."""
    rows = [{"objective_id": o, "action": a, "owner": w, "due_on": d} for o, a, w, d in zip(
        data.getall("improvement_objective", []), data.getall("improvement_action", []), data.getall("improvement_owner", []),
        data.getall("improvement_due", []), strict=False)]
    return EvaluationForm(
        evaluators=data.get("evaluators", ""), strengths=data.get("strengths", ""),
        ratings={o.id: data.get(f"rating_{o.id}", "") for o in scenario.objectives if data.get(f"rating_{o.id}")},
        observations={o.id: data.get(f"observations_{o.id}", "") for o in scenario.objectives},
        rows=[r for r in rows if r["action"].strip() or r["owner"].strip() or r["due_on"].strip()],
    )


class DrillPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    # --- the calendar and the training plans ---

    @get("/drills")
    async def calendar(self, request: Request, team: FromQuery[str | None] = None, league: FromQuery[str | None] = None,
                       region: FromQuery[str | None] = None, past: FromQuery[bool] = False,
                       offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0) -> Template:
        return await calendar_page(request, team=(team or "").strip(), league=(league or "").strip(), region=(region or "").strip(),
                                   past=past, offset=offset)

    @post("/drills/training-plans")
    async def set_training_plan(self, request: Request, data: URLEncodedBody[TrainingPlanForm]) -> Template | Redirect:
        async def save() -> Any:
            plan = TrainingPlanIn.model_validate({"year": data.year.strip(), "target_count": data.target_count.strip(), "note": data.note.strip()})
            return await service.set_training_plan(request.user, data.team_code.strip(), plan)

        return await submit(save, done=f"/drills?{urlencode({'team': data.team_code.strip()})}#progress",
                             again=lambda message, status: calendar_page(request, team=data.team_code.strip(), error=message,
                                                                         status_code=status, plan_form=data))

    # --- the scenario library ---

    @get("/drills/scenarios")
    async def scenarios(self, request: Request, category: FromQuery[str | None] = None) -> Template:
        categories = await teams.list_categories()
        can_plan = can_anywhere(request.user, "drills.manage")
        return page(request, "drills/scenarios.html", nav="drills", scenarios=await service.list_scenarios(category or None),
                    category=category or "", categories=categories, category_names={c.code: pick(c.name_zh, c.name_en) for c in categories},
                    broken_files=service.library_file_problems() if can_plan else [], can_plan=can_plan, **shared())

    @get("/drills/scenarios/{scenario_id:str}")
    async def scenario(self, request: Request, scenario_id: FromPath[str], version: FromQuery[int | None] = None) -> Template:
        stored = await service.read_scenario(scenario_id, version)
        scenario = stored.scenario
        latest = (await service.read_scenario(scenario_id)).scenario.version if version is not None else scenario.version
        categories = await teams.list_categories()
        objectives = {o.id: o for o in scenario.objectives}
        return page(request, "drills/scenario.html", nav="drills", scenario=scenario, problems=stored.problems, latest=latest,
                    capabilities=capability_names(), injects=sorted(scenario.injects, key=lambda i: i.offset_minutes), objectives=objectives,
                    roles={p.role: p.name_zh for p in scenario.participants}, equipment=await equipment_names(),
                    category_names={c.code: pick(c.name_zh, c.name_en) for c in categories},
                    can_plan=can_anywhere(request.user, "drills.manage") and not stored.problems and latest == scenario.version, **shared())

    # --- planning ---

    @get("/drills/new", guards=[requires("drills.manage")])
    async def new_drill(self, request: Request, scenario: FromQuery[str | None] = None) -> Template:
        start = (datetime.now(CHINA) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        return await plan_page(request, PlanForm(scenario=scenario or "", organiser_team_code=_manager_team(request),
                                                 starts_at=start.strftime(INPUT_FORMAT), equipment=await _scenario_equipment(scenario or ""),
                                                 equipment_for=scenario or ""))

    @get("/drills/new/equipment", guards=[requires("drills.manage")])
    async def new_drill_equipment(self, request: Request, scenario: FromQuery[str | None] = None) -> Template:
        """The equipment rows again for another chosen scenario (htmx swaps them into the form)."""
        chosen = (scenario or "").strip()
        return page(request, "drills/_plan_equipment.html", **await equipment_rows(await _scenario_equipment(chosen), chosen))

    @post("/drills/new", guards=[requires("drills.manage")])
    async def plan_drill(self, request: Request) -> Template | Redirect:
        data = PlanForm.read(await request.form())
        if data.scenario.strip() and data.equipment_for != data.scenario.strip():
            # The rows were filled for another scenario (the page could not refresh them): start again from this one's list.
            again = replace(data, equipment=await _scenario_equipment(data.scenario.strip()), equipment_for=data.scenario.strip())
            return await plan_page(request, again, status_code=422, error=_(
                "The equipment list was for another scenario; it now shows what this scenario asks for. Check it and plan again."))
        return await submit(lambda: service.plan_drill(request.user, _drill_in(data)), done=lambda created: f"/drills/{created[0].id}",
                             again=lambda message, status: plan_page(request, data, error=message, status_code=status))

    # --- improvement items ---

    @get("/drills/improvements")
    async def improvements(self, request: Request) -> Template:
        return await improvements_page(request)

    @post("/drills/improvements/{item_id:int}/close")
    async def close_improvement(self, request: Request, item_id: FromPath[int], data: URLEncodedBody[CloseItemForm]) -> Template | Redirect:
        return await submit(lambda: service.close_improvement(request.user, item_id, CloseItemIn(note=data.note.strip())),
                             done="/drills/improvements",
                             again=lambda message, status: improvements_page(request, error=message, status_code=status,
                                                                             form=(item_id, data.note)))

    # --- one drill ---

    @get("/drills/{drill_id:int}")
    async def drill(self, request: Request, drill_id: FromPath[int]) -> Template:
        return await drill_page(request, drill_id)

    def _again(self, request: Request, drill_id: int, form: dict[str, Any] | None = None) -> Callable[[str, int], Awaitable[Template]]:
        return lambda message, status: drill_page(request, drill_id, error=message, status_code=status, form=form)

    @post("/drills/{drill_id:int}/roll-call")
    async def roll_call(self, request: Request, drill_id: FromPath[int]) -> Template | Redirect:
        ticked = [value for value in (await request.form()).getall("present", []) if value.isdigit()]
        again = self._again(request, drill_id, {"present": ticked})
        if not ticked:
            return await again(_("Tick the members who are present."), 422)
        return await submit(lambda: service.roll_call(request.user, drill_id, RollCallIn(present=[int(p) for p in ticked])),
                             done=f"/drills/{drill_id}#attendance", again=again)

    @post("/drills/{drill_id:int}/check-out/{person_id:int}")
    async def check_out(self, request: Request, drill_id: FromPath[int], person_id: FromPath[int]) -> Template | Redirect:
        return await submit(lambda: service.check_out(request.user, drill_id, person_id), done=f"/drills/{drill_id}#attendance",
                             again=self._again(request, drill_id))

    @post("/drills/{drill_id:int}/mobilisation")
    async def mobilisation(self, request: Request, drill_id: FromPath[int], data: URLEncodedBody[MobilisationForm]) -> Template | Redirect:
        return await submit(lambda: service.record_mobilisation(request.user, drill_id, MobilisationIn.model_validate(
            {"called_at": parse_local(data.called_at), "assembled_at": parse_local(data.assembled_at)})),
            done=f"/drills/{drill_id}#mobilisation", again=self._again(request, drill_id, {"mobilisation": data}))

    @post("/drills/{drill_id:int}/end")
    async def end(self, request: Request, drill_id: FromPath[int]) -> Template | Redirect:
        return await submit(lambda: service.end_drill(request.user, drill_id), done=f"/drills/{drill_id}", again=self._again(request, drill_id))

    @post("/drills/{drill_id:int}/cancel")
    async def cancel(self, request: Request, drill_id: FromPath[int], data: URLEncodedBody[CancelForm]) -> Template | Redirect:
        return await submit(lambda: service.cancel_drill(request.user, drill_id, CancelIn(reason=data.reason.strip())),
                             done=f"/drills/{drill_id}", again=self._again(request, drill_id, {"cancel": data}))

    @post("/drills/{drill_id:int}/close")
    async def close(self, request: Request, drill_id: FromPath[int]) -> Template | Redirect:
        return await submit(lambda: service.close_drill(request.user, drill_id), done=f"/drills/{drill_id}", again=self._again(request, drill_id))

    # --- the phone check-in page ---

    @get("/drills/{drill_id:int}/check-in")
    async def check_in_form(self, request: Request, drill_id: FromPath[int], person: FromQuery[int | None] = None,
                            role: FromQuery[str | None] = None, out: FromQuery[bool] = False) -> Template:
        return await check_in_page(request, drill_id, form=CheckInForm(role=role or "", direction="out" if out else "in"), person=person)

    @post("/drills/{drill_id:int}/check-in")
    async def check_in(self, request: Request, drill_id: FromPath[int], data: URLEncodedBody[CheckInForm]) -> Template | Redirect:
        def again(message: str, status: int) -> Awaitable[Template]:
            return check_in_page(request, drill_id, form=data, error=message, status_code=status)

        card = data.card.strip()
        if not card:
            return await again(_("Scan a member card, or type or paste its link."), 422)
        leaving = data.direction == "out"

        def done(found: Any) -> str:  # back to the page, ready for the next scan, with the same role chosen
            return f"/drills/{drill_id}/check-in?" + urlencode({"person": found.person_id, **({"role": data.role} if data.role else {}),
                                                                 **({"out": "1"} if leaving else {})})

        if leaving:
            return await submit(lambda: service.check_out_by_card(request.user, drill_id, card), done=done, again=again)
        return await submit(lambda: service.check_in(request.user, drill_id, CheckInIn(card=card, role=data.role or None)),
                             done=done, again=again)

    # --- evaluation and the after-action report ---

    @get("/drills/{drill_id:int}/evaluate")
    async def evaluate_form(self, request: Request, drill_id: FromPath[int]) -> Template:
        return await evaluate_page(request, drill_id)

    @post("/drills/{drill_id:int}/evaluate")
    async def evaluate(self, request: Request, drill_id: FromPath[int]) -> Template | Redirect:
        drill = await service.get_drill(request.user, drill_id)
        scenario = await service.get_scenario(drill.scenario_id, drill.scenario_version)
        form = _evaluation_form(await request.form(), scenario)

        def again(message: str, status: int) -> Awaitable[Template]:
            return evaluate_page(request, drill_id, form=form, error=message, status_code=status)

        unrated = [o.title_zh for o in scenario.objectives if o.id not in form.ratings]
        if unrated:
            return await again(_("Rate every objective (not yet rated: %(titles)s).") % {"titles": "、".join(unrated)}, 422)
        return await submit(lambda: service.evaluate(request.user, drill_id, EvaluationIn.model_validate({
            "evaluators": _lines(form.evaluators), "strengths": _lines(form.strengths),
            "ratings": [{"objective_id": o.id, "rating": form.ratings[o.id], "observations": form.observations.get(o.id, "").strip()}
                        for o in scenario.objectives],
            "improvements": [{"objective_id": r["objective_id"], "action": r["action"].strip(), "owner": r["owner"].strip(),
                              "due_on": r["due_on"].strip() or None} for r in form.rows],
        })), done=f"/drills/{drill_id}/report", again=again)

    @get("/drills/{drill_id:int}/report")
    async def report(self, request: Request, drill_id: FromPath[int]) -> Template:
        drill = await service.get_drill(request.user, drill_id)
        try:
            aar = await service.after_action_report(request.user, drill_id)
        except DomainError as failure:
            message, status = problem(failure)
            return page(request, "drills/report.html", status_code=status, nav="drills", drill=drill, aar=None, error=message, **shared())
        scenario = await service.get_scenario(drill.scenario_id, drill.scenario_version)
        return page(request, "drills/report.html", nav="drills", drill=drill, aar=aar, error=None,
                    objectives={o.id: o.title_zh for o in scenario.objectives}, roles={p.role: p.name_zh for p in scenario.participants},
                    areas=[r for r in aar.results if r.rating in (Rating.S, Rating.M, Rating.U)],
                    improvement_labels=improvement_labels(), team_names={t.code: t.name_zh for t in drill.teams}, **shared())

    @get("/drills/{drill_id:int}/report.md")
    async def report_markdown(self, request: Request, drill_id: FromPath[int]) -> Response:
        return report_file(await service.after_action_report(request.user, drill_id), "md")

    @get("/drills/{drill_id:int}/report.pdf")
    async def report_pdf(self, request: Request, drill_id: FromPath[int]) -> Response:
        return report_file(await service.after_action_report(request.user, drill_id), "pdf")

    # --- live conduct: the controller's console and the participants' injects ---

    @get("/drills/{drill_id:int}/console")
    async def console(self, request: Request, drill_id: FromPath[int]) -> Template:
        return await console_page(request, drill_id)

    @post("/drills/{drill_id:int}/clock/{action:str}")
    async def clock(self, request: Request, drill_id: FromPath[int], action: FromPath[str]) -> Template | Redirect:
        steps = {"start": lambda: service.start_clock(request.user, drill_id),
                 "pause": lambda: service.pause_clock(request.user, drill_id),
                 "resume": lambda: service.pause_clock(request.user, drill_id, resume=True)}
        if action not in steps:
            raise NotFound(f"No clock action '{action}'.")
        return await submit(steps[action], done=f"/drills/{drill_id}/console",
                            again=lambda message, status: console_page(request, drill_id, error=message, status_code=status))

    @get("/drills/{drill_id:int}/injects")
    async def injects(self, request: Request, drill_id: FromPath[int]) -> Template:
        return await injects_page(request, drill_id)

    @post("/drills/{drill_id:int}/injects/{inject_id:str}/ack")
    async def acknowledge(self, request: Request, drill_id: FromPath[int], inject_id: FromPath[str]) -> Template | Redirect:
        return await submit(lambda: service.acknowledge(request.user, drill_id, inject_id), done=f"/drills/{drill_id}/injects",
                            again=lambda message, status: injects_page(request, drill_id, error=message, status_code=status))
