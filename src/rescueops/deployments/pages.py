"""Deployment pages: the list (filters: status, team, incident), recording an incident, the incident's page with its
deployments and the dispatch form, the deployment page a captain works from a phone (status buttons, the log form,
members, equipment, closing), and the report with its downloads.

Times are shown and typed in China Standard Time; the services keep them aware (UTC in the database).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from rescueops.accounts.access import ROLE_ACTIONS, can, can_anywhere
from rescueops.accounts.auth import requires, signed_in
from rescueops.calendar import CHINA, china_time
from rescueops.db.pagination import PageParams
from rescueops.deployments import report, service
from rescueops.deployments.routes import report_file
from rescueops.deployments.schemas import (
    INCIDENT_KIND_LABELS,
    SEVERITY_LABELS,
    CloseIn,
    DeploymentDetail,
    DispatchIn,
    EquipmentIn,
    IncidentIn,
    LogEntryIn,
    MembersIn,
    ReleaseIn,
    ReturnIn,
    TransitionIn,
    VoidIn,
)
from rescueops.deployments.tables import DeploymentStatus, LogKind
from rescueops.drills.pages import parse_local, to_input  # the datetime-local fields read and shown as China time
from rescueops.equipment.tables import ReturnCondition
from rescueops.errors import DomainError
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind
from rescueops.teams import service as teams
from rescueops.web.i18n import current_locale, pick
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import page, submit

# --- labels ------------------------------------------------------------------------------------


def status_labels() -> dict[str, str]:
    return {
        DeploymentStatus.alerted.value: _("alerted"), DeploymentStatus.mobilising.value: _("mobilising"),
        DeploymentStatus.on_scene.value: _("on scene"), DeploymentStatus.demobilising.value: _("demobilising"),
        DeploymentStatus.closed.value: _("deployment closed"),
    }


def step_labels() -> dict[str, str]:
    """What the status buttons say: the step taken."""
    return {
        DeploymentStatus.mobilising.value: _("Team mobilising"), DeploymentStatus.on_scene.value: _("Arrived on scene"),
        DeploymentStatus.demobilising.value: _("Stand down, return"),
    }


def log_labels() -> dict[str, str]:
    return {
        LogKind.arrival.value: _("arrival"), LogKind.task.value: _("task"), LogKind.rescued.value: _("people rescued"),
        LogKind.treated.value: _("people treated"), LogKind.hazard.value: _("hazard"), LogKind.resource_request.value: _("resource request"),
        LogKind.demobilisation.value: _("demobilisation"), LogKind.note.value: _("note"),
    }


def condition_labels() -> dict[str, str]:
    return {ReturnCondition.ok.value: _("in good order"), ReturnCondition.damaged.value: _("damaged"), ReturnCondition.lost.value: _("lost")}


def kind_labels() -> dict[str, str]:
    return {kind.value: pick(zh, en) for kind, (zh, en) in INCIDENT_KIND_LABELS.items()}


def severity_labels() -> dict[int, str]:
    return {int(level): pick(zh, en) for level, (zh, en) in SEVERITY_LABELS.items()}


def _summaries() -> dict[str, str]:
    """What the deployments' error codes mean, in the page's language (the service's own words follow)."""
    return {
        "deployment_closed": _("This deployment is closed: its record is final."),
        "already_deployed": _("A member is already on a deployment."),
        "already_dispatched": _("This team is already on this incident."),
        "not_on_deployment": _("This person is not on the deployment."),
        "team_unavailable": _("This team cannot be dispatched."),
        "item_unavailable": _("The item is not in its store."),
        "item_expired": _("The item has expired."),
        "not_checked_out": _("The item is not out on this deployment."),
    }


def _localised(action: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """The action, with the deployments' error codes explained in Chinese first (the shared page helper knows the
    other domains' codes)."""
    async def run() -> Any:
        try:
            return await action()
        except DomainError as error:
            summary = _summaries().get(error.code)
            if summary is None or current_locale.get() == "en":
                raise
            raise type(error)(f"{summary}（{error.message}）", code=error.code, details=error.details) from error

    return run


async def _submit(action: Callable[[], Awaitable[Any]], *, done: str | Callable[[Any], str],
                  again: Callable[[str, int], Awaitable[Template]]) -> Template | Redirect:
    return await submit(_localised(action), done=done, again=again)


def when(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return china_time(moment, pattern) or "—"


def shared() -> dict[str, Any]:
    """What every deployment template may use."""
    return {"status_labels": status_labels(), "step_labels": step_labels(), "log_labels": log_labels(),
            "condition_labels": condition_labels(), "kind_labels": kind_labels(), "severity_labels": severity_labels(),
            "when": when, "to_input": to_input, "counted": (LogKind.rescued.value, LogKind.treated.value, LogKind.resource_request.value)}


# --- forms -------------------------------------------------------------------------------------


@dataclass
class IncidentForm:
    kind: str = ""
    title: str = ""
    place: str = ""
    unit_code: str = ""
    lat: str = ""
    lon: str = ""
    requesting_authority: str = ""
    severity: str = "4"
    started_at: str = ""


@dataclass
class DispatchForm:
    team_code: str = ""
    asset_tags: str = ""
    alerted_at: str = ""
    note: str = ""


@dataclass
class StatusForm:
    status: str = ""
    at: str = ""
    note: str = ""


@dataclass
class LogForm:
    kind: str = "task"
    count: str = ""
    text: str = ""
    occurred_at: str = ""


@dataclass
class EquipmentForm:
    asset_tags: str = ""


@dataclass
class ReturnForm:
    condition: str = "ok"
    note: str = ""


@dataclass
class ReleaseForm:
    note: str = ""


@dataclass
class VoidForm:
    reason: str = ""


def _optional(text: str) -> str | None:
    return text.strip() or None


def _tags(text: str) -> list[str]:
    for sep in ("，", "、", ";", "；", "\n", " "):
        text = text.replace(sep, ",")
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def _incident_in(form: IncidentForm) -> IncidentIn:
    return IncidentIn.model_validate({
        "kind": form.kind, "title": form.title, "place": form.place, "unit_code": form.unit_code.strip(), "lat": _optional(form.lat),
        "lon": _optional(form.lon), "requesting_authority": form.requesting_authority, "severity": form.severity.strip() or 4,
        "started_at": parse_local(form.started_at),
    })


# --- the pages' data ---------------------------------------------------------------------------


def _manager_team(request: Request) -> str:
    """The team of a captain's (or deputy's) grant, to preselect it."""
    for grant in request.user.grants:
        if grant.team_code and "deployments.manage" in ROLE_ACTIONS[grant.role]:
            return grant.team_code
    return ""


async def _dispatchable(request: Request) -> list[Any]:
    """Teams the caller may dispatch: within their scope, not suspended or exited."""
    if not can_anywhere(request.user, "deployments.manage"):
        return []
    found, _total = await teams.list_teams(request.user, PageParams(limit=200))
    return [t for t in found if t.status.value not in service.UNDISPATCHABLE and can(request.user, "deployments.manage", t.path)]


async def _incident_units() -> list[Any]:
    return [u for u in await orgs.all_units() if u.kind in (OrgKind.league, OrgKind.county)]


async def list_page(request: Request, *, status: str = "", team: str = "", incident: str = "") -> Template:
    error, status_code = None, 200
    chosen = None
    try:
        chosen = DeploymentStatus(status) if status else None
    except ValueError:
        error, status_code = _("Unknown status: %(status)s") % {"status": status}, 422
    incident_id = int(incident) if incident.isdigit() else None
    deployments = await service.list_deployments(request.user, status=chosen, incident_id=incident_id, team=team or None)
    incidents = await service.list_incidents(request.user)
    return page(request, "deployments/list.html", status_code=status_code, nav="deployments", deployments=deployments, incidents=incidents,
                filters={"status": status, "team": team, "incident": incident}, error=error,
                can_record=can_anywhere(request.user, "deployments.manage"), **shared())


async def incident_form_page(request: Request, form: IncidentForm, *, error: str | None = None, status_code: int = 200) -> Template:
    return page(request, "deployments/incident_new.html", status_code=status_code, nav="deployments", form=form, error=error,
                units=await _incident_units(), **shared())


async def incident_page(request: Request, incident_id: int, *, form: DispatchForm | None = None, error: str | None = None,
                        status_code: int = 200) -> Template:
    incident = await service.get_incident(request.user, incident_id)
    deployments = await service.list_deployments(request.user, incident_id=incident_id)
    choices = await _dispatchable(request)
    return page(request, "deployments/incident.html", status_code=status_code, nav="deployments", incident=incident, deployments=deployments,
                teams=choices, form=form or DispatchForm(team_code=_manager_team(request)), error=error, **shared())


async def _addable(request: Request, deployment: DeploymentDetail) -> list[Any]:
    """Active members of the team not on a deployment now, to tick on the phone (none when the roster is out of sight)."""
    if deployment.status is DeploymentStatus.closed:
        return []
    try:
        roster = await members.roster(request.user, deployment.team_code)
    except DomainError:
        return []  # e.g. a supervisor of the incident's place, who does not see another league's roster
    active = [m for m in roster.members if m.status.value == "active"]
    busy = await service.deployed_people([m.person_id for m in active])
    return [m for m in active if m.person_id not in busy]


async def deployment_page(request: Request, deployment_id: int, *, error: str | None = None, status_code: int = 200,
                          log_form: LogForm | None = None, form: dict[str, Any] | None = None) -> Template:
    deployment = await service.get_deployment(request.user, deployment_id)
    incident = await service.get_incident(None, deployment.incident_id)
    path = (await teams.team_row(deployment.team_code))["path"]
    unit = await orgs.get_unit(incident.unit_code)
    manage = can(request.user, "deployments.manage", path) or can(request.user, "deployments.manage", unit.path)
    open_ = deployment.status is not DeploymentStatus.closed
    return page(request, "deployments/deployment.html", status_code=status_code, nav="deployments", d=deployment, incident=incident,
                manage=manage and open_, can_report=True, error=error, log_form=log_form or LogForm(), form=form or {},
                addable=await _addable(request, deployment) if manage else [], steps=[s for s in deployment.next_statuses
                                                                                      if s is not DeploymentStatus.closed],
                outstanding=[i for i in deployment.equipment if i.returned_at is None], open=open_,
                kinds=[k.value for k in LogKind], conditions=[c.value for c in ReturnCondition], **shared())


async def report_page(request: Request, deployment_id: int) -> Template:
    data = await service.report(request.user, deployment_id)
    return page(request, "deployments/report.html", nav="deployments", r=data, d=data.deployment, incident=data.incident,
                title=report.title(data), standing=[e for e in sorted(data.deployment.log, key=lambda e: (e.occurred_at, e.id))
                                                    if e.voided_at is None], **shared())


# --- the controller -----------------------------------------------------------------------------


def _close_in(data: Any, deployment: DeploymentDetail) -> CloseIn:
    """The close form: the stand-down time, a summary, how each item still out came back, and whether the rest did."""
    returns = []
    for item in deployment.equipment:
        if item.returned_at is not None:
            continue
        condition = data.get(f"condition_{item.asset_tag}", "")
        if condition and condition != ReturnCondition.ok.value:
            returns.append({"asset_tag": item.asset_tag, "condition": condition, "note": data.get(f"note_{item.asset_tag}", "").strip()})
        elif condition == ReturnCondition.ok.value:
            returns.append({"asset_tag": item.asset_tag, "condition": condition})
    return CloseIn.model_validate({"at": parse_local(data.get("at", "")), "note": data.get("note", "").strip(), "returns": returns,
                                   "return_rest": data.get("return_rest") == "1"})


class DeploymentPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/deployments")
    async def list_deployments(self, request: Request, status: FromQuery[str | None] = None, team: FromQuery[str | None] = None,
                               incident: FromQuery[str | None] = None) -> Template:
        return await list_page(request, status=(status or "").strip(), team=(team or "").strip(), incident=(incident or "").strip())

    # --- incidents ---

    @get("/deployments/incidents/new", guards=[requires("deployments.manage")])
    async def new_incident(self, request: Request) -> Template:
        home = next((g.unit_code for g in request.user.grants if g.unit_code), "") or ""
        return await incident_form_page(request, IncidentForm(unit_code=home, started_at=datetime.now(CHINA).strftime("%Y-%m-%dT%H:%M")))

    @post("/deployments/incidents/new", guards=[requires("deployments.manage")])
    async def open_incident(self, request: Request, data: URLEncodedBody[IncidentForm]) -> Template | Redirect:
        return await _submit(lambda: service.open_incident(request.user, _incident_in(data)),
                            done=lambda incident: f"/deployments/incidents/{incident.id}",
                            again=lambda message, status: incident_form_page(request, data, error=message, status_code=status))

    @get("/deployments/incidents/{incident_id:int}")
    async def incident(self, request: Request, incident_id: FromPath[int]) -> Template:
        return await incident_page(request, incident_id)

    @post("/deployments/incidents/{incident_id:int}/dispatch")
    async def dispatch(self, request: Request, incident_id: FromPath[int], data: URLEncodedBody[DispatchForm]) -> Template | Redirect:
        async def send() -> Any:
            return await service.dispatch_team(request.user, incident_id, DispatchIn.model_validate({
                "team_code": data.team_code.strip(), "asset_tags": _tags(data.asset_tags), "alerted_at": parse_local(data.alerted_at),
                "note": data.note.strip()}))

        return await _submit(send, done=lambda deployment: f"/deployments/{deployment.id}",
                            again=lambda message, status: incident_page(request, incident_id, form=data, error=message, status_code=status))

    # --- one deployment ---

    @get("/deployments/{deployment_id:int}")
    async def deployment(self, request: Request, deployment_id: FromPath[int], kind: FromQuery[str | None] = None) -> Template:
        return await deployment_page(request, deployment_id, log_form=LogForm(kind=kind) if kind in {k.value for k in LogKind} else None)

    def _again(self, request: Request, deployment_id: int, **keep: Any) -> Callable[[str, int], Awaitable[Template]]:
        return lambda message, status: deployment_page(request, deployment_id, error=message, status_code=status, **keep)

    @post("/deployments/{deployment_id:int}/status")
    async def status(self, request: Request, deployment_id: FromPath[int], data: URLEncodedBody[StatusForm]) -> Template | Redirect:
        return await _submit(lambda: service.change_status(request.user, deployment_id, TransitionIn.model_validate(
            {"status": data.status, "at": parse_local(data.at), "note": data.note.strip()})),
            done=f"/deployments/{deployment_id}", again=self._again(request, deployment_id, form={"status": data}))

    @post("/deployments/{deployment_id:int}/log")
    async def log(self, request: Request, deployment_id: FromPath[int], data: URLEncodedBody[LogForm]) -> Template | Redirect:
        async def write() -> Any:
            return await service.add_log_entry(request.user, deployment_id, LogEntryIn.model_validate({
                "kind": data.kind, "count": _optional(data.count), "text": data.text, "occurred_at": parse_local(data.occurred_at)}))

        # After an entry the form comes back empty, keeping the kind: the next one is often of the same kind.
        return await _submit(write, done=f"/deployments/{deployment_id}?{urlencode({'kind': data.kind})}#log-form",
                            again=self._again(request, deployment_id, log_form=data))

    @post("/deployments/{deployment_id:int}/log/{entry_id:int}/void")
    async def void(self, request: Request, deployment_id: FromPath[int], entry_id: FromPath[int],
                   data: URLEncodedBody[VoidForm]) -> Template | Redirect:
        return await _submit(lambda: service.void_log_entry(request.user, deployment_id, entry_id, VoidIn(reason=data.reason.strip())),
                            done=f"/deployments/{deployment_id}#log", again=self._again(request, deployment_id))

    @post("/deployments/{deployment_id:int}/members")
    async def add_members(self, request: Request, deployment_id: FromPath[int]) -> Template | Redirect:
        ticked = [value for value in (await request.form()).getall("person", []) if value.isdigit()]
        if not ticked:
            return await self._again(request, deployment_id)(_("Tick the members who go."), 422)
        return await _submit(lambda: service.add_members(request.user, deployment_id, MembersIn(person_ids=[int(p) for p in ticked])),
                            done=f"/deployments/{deployment_id}#members", again=self._again(request, deployment_id))

    @post("/deployments/{deployment_id:int}/members/{person_id:int}/release")
    async def release(self, request: Request, deployment_id: FromPath[int], person_id: FromPath[int],
                      data: URLEncodedBody[ReleaseForm]) -> Template | Redirect:
        return await _submit(lambda: service.release_member(request.user, deployment_id, person_id, ReleaseIn(note=data.note.strip())),
                            done=f"/deployments/{deployment_id}#members", again=self._again(request, deployment_id))

    @post("/deployments/{deployment_id:int}/equipment")
    async def check_out(self, request: Request, deployment_id: FromPath[int], data: URLEncodedBody[EquipmentForm]) -> Template | Redirect:
        tags = _tags(data.asset_tags)
        if not tags:
            return await self._again(request, deployment_id, form={"equipment": data})(_("Scan or type the asset tags."), 422)
        return await _submit(lambda: service.check_out_equipment(request.user, deployment_id, EquipmentIn(asset_tags=tags)),
                            done=f"/deployments/{deployment_id}#equipment", again=self._again(request, deployment_id, form={"equipment": data}))

    @post("/deployments/{deployment_id:int}/equipment/{asset_tag:str}/return")
    async def return_item(self, request: Request, deployment_id: FromPath[int], asset_tag: FromPath[str],
                          data: URLEncodedBody[ReturnForm]) -> Template | Redirect:
        return await _submit(lambda: service.return_equipment(request.user, deployment_id, asset_tag, ReturnIn.model_validate(
            {"condition": data.condition, "note": data.note.strip()})), done=f"/deployments/{deployment_id}#equipment",
            again=self._again(request, deployment_id))

    @post("/deployments/{deployment_id:int}/close")
    async def close(self, request: Request, deployment_id: FromPath[int]) -> Template | Redirect:
        data = await request.form()
        deployment = await service.get_deployment(request.user, deployment_id)
        return await _submit(lambda: service.close_deployment(request.user, deployment_id, _close_in(data, deployment)),
                            done=f"/deployments/{deployment_id}/report", again=self._again(request, deployment_id))

    # --- the report ---

    @get("/deployments/{deployment_id:int}/report")
    async def report_view(self, request: Request, deployment_id: FromPath[int]) -> Template:
        return await report_page(request, deployment_id)

    @get("/deployments/{deployment_id:int}/report.md")
    async def report_markdown(self, request: Request, deployment_id: FromPath[int]) -> Response:
        return report_file(await service.report(request.user, deployment_id), "md")

    @get("/deployments/{deployment_id:int}/report.pdf")
    async def report_pdf(self, request: Request, deployment_id: FromPath[int]) -> Response:
        return report_file(await service.report(request.user, deployment_id), "pdf")

