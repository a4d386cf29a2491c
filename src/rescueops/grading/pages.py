"""Grading pages: the supervisor's workspace, an assessment (evidence, scoring, documents, decision, confirmation, appeal),
a team's grade page with the gap to the next level (what the captain reads), the region dashboard (SVG charts, a coverage
map coloured by readiness, .xlsx export) and the rubrics with their sources, versions and threshold editing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from pydantic import BaseModel, ConfigDict, ValidationError

from rescueops.accounts.access import can, can_anywhere, scopes_for
from rescueops.accounts.auth import requires, signed_in
from rescueops.calendar import china_today
from rescueops.db.pagination import PageParams
from rescueops.errors import DomainError, field_error
from rescueops.grading import service
from rescueops.grading.readiness import EXPIRING_WITHIN, state_of
from rescueops.grading.routes import GRADE_ACTIONS
from rescueops.grading.schemas import (
    AppealDecisionIn,
    AppealIn,
    AssessmentOpen,
    ConfirmationIn,
    DashboardOut,
    DecisionIn,
    ReasonIn,
    RubricEdit,
    ScoreIn,
    ThresholdChange,
)
from rescueops.grading.tables import IN_PROGRESS, AssessmentStatus
from rescueops.members.routes import XLSX, attachment
from rescueops.orgs import service as orgs
from rescueops.orgs.pages import coverage_map
from rescueops.orgs.tables import OrgKind
from rescueops.teams import service as teams
from rescueops.teams.schemas import GradingDeclarationIn
from rescueops.teams.tables import PartyOrganisation
from rescueops.uploads import DOCUMENT_REQUEST_MAX_BYTES, DOCUMENT_TYPES
from rescueops.web.i18n import current_locale, pick
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import page, problem

STATE_COLOURS = {"ready": "#2e7d32", "partial": "#f9a825", "not_ready": "#c62828"}
LEVEL_COLOURS = {1: "#b71c1c", 2: "#e57373", 3: "#ffcdd2", None: "#cfd8dc"}


# --- labels --------------------------------------------------------------------------------------


def labels() -> dict[str, Any]:
    return {
        "status_labels": {
            AssessmentStatus.open.value: _("in progress"), AssessmentStatus.awaiting_confirmation.value: _("waiting for the region"),
            AssessmentStatus.granted.value: _("granted"), AssessmentStatus.not_granted.value: _("no level granted"),
            AssessmentStatus.appealed.value: _("appealed"), AssessmentStatus.withdrawn.value: _("withdrawn"),
        },
        "result_labels": {"passed": _("met"), "failed": _("not met"), "pending": _("to be assessed")},
        "grade_labels": {"active": _("in force"), "suspended": _("suspended"), "expired": _("expired")},
        "action_labels": {"granted": _("granted"), "suspended": _("suspended"), "reinstated": _("reinstated"),
                          "cancelled": _("cancelled"), "expired": _("expired")},
        "state_labels": {"ready": _("ready"), "partial": _("partly ready"), "not_ready": _("not ready")},
        "evidence_labels": {"automatic": _("records"), "document": _("document"), "assessor": _("assessor")},
        "step_labels": {
            "opened": _("opened by the supervisor"), "applied": _("applied for by the team"), "evidence": _("evidence taken again"),
            "scored": _("scored"), "document": _("document attached"), "decided": _("decided"), "confirmed": _("confirmed by the region"),
            "refused": _("sent back by the region"), "appealed": _("appealed"), "appeal_upheld": _("appeal upheld"),
            "appeal_dismissed": _("appeal dismissed"), "withdrawn": _("withdrawn"),
        },
        "kind_labels": {
            "min_members": _("members"), "role_coverage": _("leadership"), "min_certified_ratio": _("certified share"),
            "min_certified_count": _("certified members"), "equipment": _("equipment"), "kit_ready": _("ready kits"),
            "min_drills_last_12m": _("drills in 12 months"), "max_mobilisation_minutes": _("mobilisation time"),
            "self_sufficiency_hours": _("self-sufficiency"), "min_years_active": _("years active"),
            "registration_valid": _("registration"), "party_organisation": _("party organisation"),
            "record_completeness": _("record completeness"), "assessor_score": _("assessor's score"),
        },
        "party_labels": {PartyOrganisation.none.value: _("none"), PartyOrganisation.branch.value: _("party branch"),
                         PartyOrganisation.joint_branch.value: _("joint party branch"),
                         PartyOrganisation.working_group.value: _("party working group")},
        "level_name": level_name,
    }


def level_name(level: int | None) -> str:
    return _("Level %(n)s") % {"n": level} if level else _("no level")


def _explanations() -> dict[str, str]:
    """What the grading error codes mean, for pages in Chinese (web.pages.problem knows the shared ones)."""
    return {
        "assessment_in_progress": _("An assessment of this team in this category is already in progress."),
        "above_eligible": _("That level is above the eligible level: record an override reason, or decide a lower level."),
        "own_decision": _("You took this decision yourself; another officer must take the next step."),
        "already_appealed": _("A decision is appealed only once."),
        "appeal_too_late": _("The appeal period has ended."),
        "team_not_active": _("Only an active team is assessed."),
        "bad_rubric_edit": _("The new thresholds cannot be used: nothing was changed."),
        "rubric_changed": _("Someone saved a new version of this rubric meanwhile: reload it and edit again."),
        "rubric_unchanged": _("Nothing changes: the values given are the current ones."),
        "bad_file_type": _("A document is a PDF, JPEG or PNG file."),
        "bad_file_size": _("The file is empty or too large."),
    }


def explain(error: Exception) -> tuple[str, int]:
    message, status = problem(error)
    summary = _explanations().get(getattr(error, "code", ""))
    if summary and current_locale.get() != "en":
        return f"{summary}（{message}）", status
    return message, status


async def attempt(action: Callable[[], Awaitable[Any]], done: str | Callable[[Any], str],
                  again: Callable[[str, int], Awaitable[Template]]) -> Template | Redirect:
    """Run a form's action; on success go on, on a domain or validation error show the page again with the message."""
    try:
        result = await action()
    except (DomainError, ValidationError) as error:
        return await again(*explain(error))
    return Redirect(done(result) if callable(done) else done)


def evidence_link(ref: Any, assessment_id: int | None = None) -> str | None:
    return {"member": f"/members/{ref.ref}", "item": f"/equipment/items/{ref.ref}", "kit": f"/equipment/items/{ref.ref}",
            "drill": f"/drills/{ref.ref}", "team": f"/teams/{ref.ref}",
            "document": f"/grading/assessments/{assessment_id}/documents/{ref.ref}" if assessment_id else None}.get(ref.kind)


def _shared(request: Request) -> dict[str, Any]:
    return {"nav": "grading", "evidence_link": evidence_link, **labels()}


# --- forms ---------------------------------------------------------------------------------------


@dataclass
class OpenForm:
    team_code: str = ""
    category: str = ""
    requested_level: str = ""
    note: str = ""


@dataclass
class ScoreForm:
    criterion_id: str
    score: str
    note: str = ""


@dataclass
class DecisionForm:
    level: str = ""
    reason: str = ""
    override_reason: str = ""


@dataclass
class ConfirmForm:
    decision: str = ""
    note: str = ""


@dataclass
class AppealForm:
    reason: str = ""


@dataclass
class AppealDecisionForm:
    decision: str = ""
    level: str = ""
    note: str = ""


@dataclass
class ReasonForm:
    reason: str = ""


@dataclass
class DeclarationForm:
    self_sufficiency_hours: str = ""
    party_organisation: str = ""


class DocumentForm(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    file: UploadFile
    title: str = ""
    criterion_id: str = ""


def _level(text: str) -> int | None:
    return int(text) if text in ("1", "2", "3") else None


def _number(text: str) -> int | float | None:
    """A threshold typed in a form: whole numbers stay integers (the rubric's types are strict)."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # left for the rubric's validation to name


# --- page builders -------------------------------------------------------------------------------


async def workspace_page(request: Request, *, error: str | None = None, status_code: int = 200, form: OpenForm | None = None) -> Template:
    user = request.user
    in_progress = await service.list_assessments(user, status=list(IN_PROGRESS))
    recent = await service.list_assessments(user, status=[AssessmentStatus.granted, AssessmentStatus.not_granted,
                                                          AssessmentStatus.withdrawn], limit=20)
    waiting = [a for a in in_progress if a.status in (AssessmentStatus.awaiting_confirmation, AssessmentStatus.appealed)]
    board = None
    if can_anywhere(user, "grading.readiness"):
        board = await service.dashboard(user)
    own_teams = [g.team_code for g in user.grants if g.team_code]
    categories = [c for c in await teams.list_categories() if c.graded]
    return page(request, "grading/workspace.html", status_code=status_code, error=error, in_progress=in_progress, recent=recent,
                waiting=waiting, board=board, own_teams=own_teams, categories=categories, form=form or OpenForm(),
                can_assess=can_anywhere(user, "grading.assess"), can_confirm=can_anywhere(user, "grading.confirm"),
                can_apply=can_anywhere(user, "grading.apply"), **_shared(request))


async def assessment_page(request: Request, assessment_id: int, *, error: str | None = None, status_code: int = 200) -> Template:
    user = request.user
    a = await service.get_assessment(user, assessment_id)
    path = a.team_path
    status = a.status
    manual = [r for r in a.evaluation.results if r.kind == "assessor_score"]
    scores = {s.criterion_id: s for s in a.scores}
    rubric = await service.get_rubric(a.category, a.rubric_version)
    max_scores = {c.id: c.params.get("max_score") for c in rubric.criteria}
    category = next((c for c in await teams.list_categories() if c.code == a.category), None)
    may = {
        "score": status is AssessmentStatus.open and can(user, "grading.score", path),
        "attach": status is AssessmentStatus.open and (can(user, "grading.score", path) or can(user, "grading.apply", path)),
        "decide": status is AssessmentStatus.open and can(user, "grading.assess", path),
        "confirm": status is AssessmentStatus.awaiting_confirmation and can(user, "grading.confirm", path),
        "appeal": status in (AssessmentStatus.granted, AssessmentStatus.not_granted) and a.appealed_at is None
        and can(user, "grading.appeal", path) and not can(user, "grading.assess", path)
        and (a.appeal_deadline is None or china_today() <= a.appeal_deadline),
        "decide_appeal": status is AssessmentStatus.appealed and can(user, "grading.confirm", path),
        "withdraw": status in (AssessmentStatus.open, AssessmentStatus.awaiting_confirmation)
        and (can(user, "grading.assess", path) or (a.applied and can(user, "grading.apply", path))),
    }
    return page(request, "grading/assessment.html", status_code=status_code, error=error, a=a, manual=manual, scores=scores,
                max_scores=max_scores, may=may, category=category, **_shared(request))


async def team_page(request: Request, code: str, *, error: str | None = None, status_code: int = 200) -> Template:
    user = request.user
    grading = await service.team_grading(user, code)
    team = await teams.get_team(None, code)
    readiness = {r.category: r for r in await service.team_readiness(user, code)}
    path = grading.team_path
    return page(request, "grading/team.html", status_code=status_code, error=error, grading=grading, team=team, readiness=readiness,
                can_assess=can(user, "grading.assess", path), can_apply=can(user, "grading.apply", path),
                can_declare=can(user, "roster.manage", path), parties=[p.value for p in PartyOrganisation], **_shared(request))


def level_chart(board: DashboardOut, categories: list[Any], width: int = 640) -> dict[str, Any]:
    """Horizontal stacked bars: per graded category, its teams by granted level (1, 2, 3, none)."""
    totals: dict[str, dict[int | None, int]] = {c.code: {} for c in categories}
    for count in board.counts:
        if count.category in totals:
            totals[count.category][count.level] = totals[count.category].get(count.level, 0) + count.teams
    most = max([sum(v.values()) for v in totals.values()] + [1])
    left, bar, gap = 120, 22, 8
    rows = []
    for index, category in enumerate(categories):
        x, segments = float(left), []
        for level in (1, 2, 3, None):
            n = totals[category.code].get(level, 0)
            if n:
                w = (width - left - 40) * n / most
                segments.append({"x": round(x, 1), "w": round(w, 1), "colour": LEVEL_COLOURS[level], "n": n, "level": level})
                x += w
        rows.append({"y": 10 + index * (bar + gap), "label": pick(category.name_zh, category.name_en), "segments": segments,
                     "total": sum(totals[category.code].values()), "end": round(x, 1)})
    return {"width": width, "height": 20 + len(categories) * (bar + gap), "bar": bar, "rows": rows,
            "legend": [{"colour": LEVEL_COLOURS[level], "label": level_name(level)} for level in (1, 2, 3, None)]}


def state_chart(board: DashboardOut, hubs: list[Any], width: int = 640) -> dict[str, Any]:
    """Horizontal stacked bars: per hub region, team-categories by readiness state."""
    names = {h.code: pick(h.region_zh, h.region_en) for h in hubs} | {"all": _("several regions")}
    most = max([sum(v.values()) for v in board.by_region.values()] + [1])
    left, bar, gap = 120, 22, 8
    rows = []
    for index, (region, states) in enumerate(board.by_region.items()):
        x, segments = float(left), []
        for state in ("ready", "partial", "not_ready"):
            if states.get(state):
                w = (width - left - 40) * states[state] / most
                segments.append({"x": round(x, 1), "w": round(w, 1), "colour": STATE_COLOURS[state], "n": states[state], "state": state})
                x += w
        rows.append({"y": 10 + index * (bar + gap), "label": names.get(region, region), "segments": segments, "end": round(x, 1),
                     "total": sum(states.values())})
    return {"width": width, "height": 20 + max(1, len(rows)) * (bar + gap), "bar": bar, "rows": rows}


async def readiness_map(board: DashboardOut) -> dict[str, Any]:
    """The hubs' coverage map (orgs.pages.coverage_map), with each banner, county and league seat coloured by the mean
    readiness score of the teams it supervises (grey where there is none)."""
    units = await orgs.all_units()
    geometry = coverage_map(units, await orgs.list_hubs())
    # coverage_map places the seats in the order of the units it is given: pair its dots with the units that way.
    placed = [u for u in units if u.lat is not None and u.lon is not None]
    seats = [*zip([u for u in placed if u.kind is OrgKind.county], geometry["counties"], strict=False),
             *zip([u for u in placed if u.kind is OrgKind.league], geometry["leagues"], strict=False)]
    scores = {seat.code: seat for seat in board.seats}
    dots = []
    for unit, dot in seats:
        found = scores.get(unit.code)
        mean = found.score if found else None
        dots.append({"x": dot["x"], "y": dot["y"], "label": dot["label"], "code": unit.code, "league": unit.kind is OrgKind.league,
                     "teams": found.rows if found else 0, "score": mean,
                     "colour": STATE_COLOURS[state_of(mean)] if mean is not None else "#cfd8dc"})
    return {"width": geometry["width"], "height": geometry["height"], "areas": geometry["areas"], "dots": dots,
            "legend": [{"colour": colour, "label": labels()["state_labels"][state]} for state, colour in STATE_COLOURS.items()]
            + [{"colour": "#cfd8dc", "label": _("no team")}]}


async def dashboard_page(request: Request, area: str | None, category: str | None, *, error: str | None = None) -> Template:
    user = request.user
    board = await service.dashboard(user, area or None, category or None)
    categories = [c for c in await teams.list_categories() if c.graded]
    hubs = await orgs.list_hubs()
    leagues = await orgs.units_by_code(sorted({count.league_code for count in board.counts}))
    table: dict[tuple[str, str], dict[int | None, int]] = {}
    for count in board.counts:
        table.setdefault((count.category, count.league_code), {})[count.level] = count.teams
    names = {c.code: c for c in categories}
    query = urlencode({k: v for k, v in (("area", area), ("category", category)) if v})
    return page(request, "grading/dashboard.html", error=error, board=board, categories=categories, hubs=hubs, leagues=leagues,
                table=[{"category": c, "league": lg, "cells": cells} for (c, lg), cells in sorted(table.items())], category_names=names,
                area=area or "", category=category or "", query=query,
                levels=level_chart(board, [names[category]] if category in names else categories), states=state_chart(board, hubs),
                map=await readiness_map(board), expiring_days=EXPIRING_WITHIN.days,
                scope_choices=await _scope_choices(request), **_shared(request))


async def _scope_choices(request: Request) -> list[tuple[str, str]]:
    """What the dashboard can narrow to: the hubs and leagues within the caller's scopes."""
    scopes = scopes_for(request.user, "grading.readiness")
    hubs = await orgs.list_hubs()
    hub_paths = await orgs.hub_paths()
    units, _ = await orgs.list_units(PageParams(limit=50), kind=OrgKind.league)
    choices = [(h.code, pick(h.name_zh, h.name_en)) for h in hubs if any(p.startswith(s) for p in hub_paths.get(h.code, ()) for s in scopes)]
    return choices + [(u.code, pick(u.name_zh, u.name_en)) for u in units if any(u.path.startswith(s) or s.startswith(u.path) for s in scopes)]


async def rubric_page(request: Request, category: str, version: int | None = None, *, error: str | None = None,
                      status_code: int = 200) -> Template:
    rubric = await service.get_rubric(category, version)
    latest = await service.get_rubric(category)
    return page(request, "grading/rubric.html", status_code=status_code, error=error, rubric=rubric, latest=latest,
                versions=await service.rubric_versions(category), can_edit=can_anywhere(request.user, "grading.rubrics")
                and rubric.version == latest.version, **_shared(request))


# --- the controller ------------------------------------------------------------------------------


class GradingPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/grading")
    async def workspace(self, request: Request) -> Template:
        return await workspace_page(request)

    @post("/grading/assessments")
    async def open(self, request: Request, data: URLEncodedBody[OpenForm]) -> Template | Redirect:
        async def again(message: str, status: int) -> Template:
            return await workspace_page(request, error=message, status_code=status, form=data)

        return await attempt(lambda: service.open_assessment(request.user, AssessmentOpen(
            team_code=data.team_code.strip(), category=data.category, requested_level=_level(data.requested_level), note=data.note)),
            lambda a: f"/grading/assessments/{a.id}", again)

    @get("/grading/assessments/{assessment_id:int}")
    async def assessment(self, request: Request, assessment_id: FromPath[int]) -> Template:
        return await assessment_page(request, assessment_id)

    def _again(self, request: Request, assessment_id: int) -> Callable[[str, int], Awaitable[Template]]:
        async def again(message: str, status: int) -> Template:
            return await assessment_page(request, assessment_id, error=message, status_code=status)

        return again

    @post("/grading/assessments/{assessment_id:int}/scores")
    async def score(self, request: Request, assessment_id: FromPath[int], data: URLEncodedBody[ScoreForm]) -> Template | Redirect:
        return await attempt(lambda: service.score(request.user, assessment_id, ScoreIn(
            criterion_id=data.criterion_id, score=int(data.score) if data.score.strip().isdigit() else -1, note=data.note)),
            f"/grading/assessments/{assessment_id}#manual", self._again(request, assessment_id))

    @post("/grading/assessments/{assessment_id:int}/documents", request_max_body_size=DOCUMENT_REQUEST_MAX_BYTES)
    async def attach(self, request: Request, assessment_id: FromPath[int], data: MultipartBody[DocumentForm]) -> Template | Redirect:
        async def run() -> Any:
            return await service.attach_document(request.user, assessment_id, title=data.title, criterion_id=data.criterion_id,
                                                 content=await data.file.read(), content_type=data.file.content_type or "")

        return await attempt(run, f"/grading/assessments/{assessment_id}#documents", self._again(request, assessment_id))

    @get("/grading/assessments/{assessment_id:int}/documents/{document_id:int}")
    async def document(self, request: Request, assessment_id: FromPath[int], document_id: FromPath[int]) -> Response:
        content, media_type, _title = await service.read_document(request.user, assessment_id, document_id)
        return attachment(content, f"assessment-{assessment_id}-{document_id}{DOCUMENT_TYPES[media_type]}", media_type)

    @post("/grading/assessments/{assessment_id:int}/evidence")
    async def evidence(self, request: Request, assessment_id: FromPath[int]) -> Template | Redirect:
        return await attempt(lambda: service.refresh_evidence(request.user, assessment_id), f"/grading/assessments/{assessment_id}",
                             self._again(request, assessment_id))

    @post("/grading/assessments/{assessment_id:int}/decision")
    async def decide(self, request: Request, assessment_id: FromPath[int], data: URLEncodedBody[DecisionForm]) -> Template | Redirect:
        return await attempt(lambda: service.decide(request.user, assessment_id, DecisionIn(
            level=_level(data.level), reason=data.reason, override_reason=data.override_reason)),
            f"/grading/assessments/{assessment_id}", self._again(request, assessment_id))

    @post("/grading/assessments/{assessment_id:int}/confirmation")
    async def confirm(self, request: Request, assessment_id: FromPath[int], data: URLEncodedBody[ConfirmForm]) -> Template | Redirect:
        return await attempt(lambda: service.confirm(request.user, assessment_id, ConfirmationIn(
            confirm=data.decision == "confirm", note=data.note)), f"/grading/assessments/{assessment_id}", self._again(request, assessment_id))

    @post("/grading/assessments/{assessment_id:int}/appeal")
    async def appeal(self, request: Request, assessment_id: FromPath[int], data: URLEncodedBody[AppealForm]) -> Template | Redirect:
        return await attempt(lambda: service.appeal(request.user, assessment_id, AppealIn(reason=data.reason)),
                             f"/grading/assessments/{assessment_id}", self._again(request, assessment_id))

    @post("/grading/assessments/{assessment_id:int}/appeal-decision")
    async def decide_appeal(self, request: Request, assessment_id: FromPath[int],
                            data: URLEncodedBody[AppealDecisionForm]) -> Template | Redirect:
        return await attempt(lambda: service.decide_appeal(request.user, assessment_id, AppealDecisionIn(
            uphold=data.decision == "uphold", level=_level(data.level), note=data.note)),
            f"/grading/assessments/{assessment_id}", self._again(request, assessment_id))

    @post("/grading/assessments/{assessment_id:int}/withdraw")
    async def withdraw(self, request: Request, assessment_id: FromPath[int], data: URLEncodedBody[ReasonForm]) -> Template | Redirect:
        return await attempt(lambda: service.withdraw(request.user, assessment_id, ReasonIn(reason=data.reason)),
                             f"/grading/assessments/{assessment_id}", self._again(request, assessment_id))

    @get("/grading/teams/{code:str}")
    async def team(self, request: Request, code: FromPath[str]) -> Template:
        return await team_page(request, code)

    def _team_again(self, request: Request, code: str) -> Callable[[str, int], Awaitable[Template]]:
        async def again(message: str, status: int) -> Template:
            return await team_page(request, code, error=message, status_code=status)

        return again

    @post("/grading/teams/{code:str}/declaration")
    async def declare(self, request: Request, code: FromPath[str], data: URLEncodedBody[DeclarationForm]) -> Template | Redirect:
        return await attempt(lambda: teams.declare_for_grading(request.user, code, GradingDeclarationIn(
            self_sufficiency_hours=data.self_sufficiency_hours.strip() or None, party_organisation=data.party_organisation)),
            f"/grading/teams/{code}", self._team_again(request, code))

    @post("/grading/teams/{code:str}/apply")
    async def apply(self, request: Request, code: FromPath[str], data: URLEncodedBody[OpenForm]) -> Template | Redirect:
        return await attempt(lambda: service.open_assessment(request.user, AssessmentOpen(
            team_code=code, category=data.category, requested_level=_level(data.requested_level), note=data.note)),
            lambda a: f"/grading/assessments/{a.id}", self._team_again(request, code))

    @post("/grading/teams/{code:str}/grades/{category:str}/{action:str}")
    async def change_grade(self, request: Request, code: FromPath[str], category: FromPath[str], action: FromPath[str],
                           data: URLEncodedBody[ReasonForm]) -> Template | Redirect:
        async def run() -> Any:
            if action not in GRADE_ACTIONS:
                raise field_error("action", f"one of {', '.join(GRADE_ACTIONS)}")
            return await service.change_grade(request.user, code, category, GRADE_ACTIONS[action], ReasonIn(reason=data.reason))

        return await attempt(run, f"/grading/teams/{code}", self._team_again(request, code))

    @get("/grading/dashboard", guards=[requires("grading.readiness")])
    async def dashboard(self, request: Request, area: FromQuery[str] = "", category: FromQuery[str] = "") -> Template:
        return await dashboard_page(request, area, category)

    @get("/grading/dashboard.xlsx", guards=[requires("grading.readiness")])
    async def dashboard_xlsx(self, request: Request, area: FromQuery[str] = "", category: FromQuery[str] = "") -> Response:
        return attachment(await service.dashboard_xlsx(request.user, area or None, category or None), "readiness.xlsx", XLSX)

    @post("/grading/dashboard/refresh", guards=[requires("grading.readiness")])
    async def refresh(self, request: Request) -> Redirect:
        await service.refresh_readiness(paths=scopes_for(request.user, "grading.readiness"))
        return Redirect("/grading/dashboard")

    @get("/grading/rubrics")
    async def rubrics(self, request: Request) -> Template:
        return page(request, "grading/rubrics.html", rubrics=await service.list_rubrics(),
                    categories={c.code: c for c in await teams.list_categories()}, **_shared(request))

    @get("/grading/rubrics/{category:str}")
    async def rubric(self, request: Request, category: FromPath[str], version: FromQuery[int | None] = None) -> Template:
        return await rubric_page(request, category, version)

    @post("/grading/rubrics/{category:str}", guards=[requires("grading.rubrics")])
    async def edit_rubric(self, request: Request, category: FromPath[str]) -> Template | Redirect:
        form = await request.form()
        current = await service.get_rubric(category)

        async def run() -> Any:
            changes = []
            for c in current.criteria:
                params = {}
                for name in c.thresholds:
                    field = f"t:{c.id}:{name}"
                    if field in form:
                        value = _number(str(form[field]))
                        if value != c.params.get(name):
                            params[name] = value
                if params:
                    changes.append(ThresholdChange(criterion_id=c.id, params=params))
            validity = _number(str(form.get("validity_months", "")))
            appeal = _number(str(form.get("appeal_days", "")))
            return await service.edit_rubric(request.user, category, RubricEdit(
                reason=str(form.get("reason", "")), changes=changes,
                validity_months=validity if validity != current.validity_months else None,
                appeal_days=appeal if appeal != current.appeal_days else None))

        async def again(message: str, status: int) -> Template:
            return await rubric_page(request, category, error=message, status_code=status)

        return await attempt(run, f"/grading/rubrics/{category}", again)
