from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from rescueops.accounts.auth import requires, signed_in
from rescueops.deployments import report, service
from rescueops.deployments.schemas import (
    CloseIn,
    DeploymentDetail,
    DeploymentOut,
    DeploymentReport,
    DispatchIn,
    EquipmentIn,
    IncidentIn,
    IncidentOut,
    Label,
    LogEntryIn,
    LogEntryOut,
    MembersIn,
    ReleaseIn,
    ReturnIn,
    TransitionIn,
    VoidIn,
)
from rescueops.deployments.tables import DeploymentStatus


def report_file(data: DeploymentReport, kind: str) -> Response:
    """The deployment report as a download: ``kind`` "md" or "pdf"."""
    content, media_type = (report.pdf(data), "application/pdf") if kind == "pdf" else (
        report.markdown(data).encode(), "text/markdown; charset=utf-8")
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="deployment-{data.deployment.id}-report.{kind}"'})


class DeploymentController(Controller):
    path = "/api/v1/deployments"
    tags = ["deployments"]
    guards = [signed_in]

    @get("/incident-kinds", summary="Incident types, with their Chinese and English names")
    async def incident_kinds(self) -> list[Label]:
        return service.incident_kinds()

    @post("/incidents", summary="Record an incident (type, place, requesting authority, severity, start)",
          guards=[requires("deployments.manage")])
    async def open_incident(self, request: Request, data: JSONBody[IncidentIn]) -> IncidentOut:
        return await service.open_incident(request.user, data)

    @get("/incidents", summary="Incidents the caller may see, latest first (?open=true: those still with teams out)")
    async def list_incidents(self, request: Request, open: FromQuery[bool] = False) -> list[IncidentOut]:  # noqa: A002
        return await service.list_incidents(request.user, open_only=open)

    @get("/incidents/{incident_id:int}", summary="One incident")
    async def get_incident(self, request: Request, incident_id: FromPath[int]) -> IncidentOut:
        return await service.get_incident(request.user, incident_id)

    @post("/incidents/{incident_id:int}/deployments", summary="Dispatch a team to the incident, with members and equipment")
    async def dispatch(self, request: Request, incident_id: FromPath[int], data: JSONBody[DispatchIn]) -> DeploymentOut:
        return await service.dispatch_team(request.user, incident_id, data)

    @get("/", summary="Deployments the caller may see: open ones first, latest first")
    async def list_deployments(self, request: Request, status: FromQuery[DeploymentStatus | None] = None,
                               incident: FromQuery[int | None] = None, team: FromQuery[str | None] = None) -> list[DeploymentOut]:
        return await service.list_deployments(request.user, status=status, incident_id=incident, team=team)

    @get("/{deployment_id:int}", summary="One deployment: members, equipment, status changes and the log")
    async def get_deployment(self, request: Request, deployment_id: FromPath[int]) -> DeploymentDetail:
        return await service.get_deployment(request.user, deployment_id)

    @post("/{deployment_id:int}/members", summary="Add members (active members of the team, on no other deployment)", status_code=200)
    async def add_members(self, request: Request, deployment_id: FromPath[int], data: JSONBody[MembersIn]) -> DeploymentDetail:
        return await service.add_members(request.user, deployment_id, data)

    @post("/{deployment_id:int}/members/{person_id:int}/release", summary="Release a member before the team comes back",
          status_code=200)
    async def release_member(self, request: Request, deployment_id: FromPath[int], person_id: FromPath[int],
                             data: JSONBody[ReleaseIn]) -> DeploymentDetail:
        return await service.release_member(request.user, deployment_id, person_id, data)

    @post("/{deployment_id:int}/equipment", summary="Check items out to the deployment", status_code=200)
    async def check_out(self, request: Request, deployment_id: FromPath[int], data: JSONBody[EquipmentIn]) -> DeploymentDetail:
        return await service.check_out_equipment(request.user, deployment_id, data)

    @post("/{deployment_id:int}/equipment/{asset_tag:str}/return", summary="Check an item back in from the deployment", status_code=200)
    async def return_item(self, request: Request, deployment_id: FromPath[int], asset_tag: FromPath[str],
                          data: JSONBody[ReturnIn]) -> DeploymentDetail:
        return await service.return_equipment(request.user, deployment_id, asset_tag, data)

    @post("/{deployment_id:int}/status", summary="Move the status forward: mobilising, on_scene, demobilising", status_code=200)
    async def change_status(self, request: Request, deployment_id: FromPath[int], data: JSONBody[TransitionIn]) -> DeploymentOut:
        return await service.change_status(request.user, deployment_id, data)

    @post("/{deployment_id:int}/log", summary="Add a log entry from the scene (refused once closed)")
    async def add_log_entry(self, request: Request, deployment_id: FromPath[int], data: JSONBody[LogEntryIn]) -> LogEntryOut:
        return await service.add_log_entry(request.user, deployment_id, data)

    @post("/{deployment_id:int}/log/{entry_id:int}/void", summary="Void a mistaken log entry (kept on record, out of the totals)",
          status_code=200)
    async def void_log_entry(self, request: Request, deployment_id: FromPath[int], entry_id: FromPath[int],
                             data: JSONBody[VoidIn]) -> LogEntryOut:
        return await service.void_log_entry(request.user, deployment_id, entry_id, data)

    @post("/{deployment_id:int}/close", summary="Close a demobilised deployment: equipment back in, hours credited", status_code=200)
    async def close(self, request: Request, deployment_id: FromPath[int], data: JSONBody[CloseIn]) -> DeploymentDetail:
        return await service.close_deployment(request.user, deployment_id, data)

    @get("/{deployment_id:int}/report", summary="The deployment report (data)")
    async def report(self, request: Request, deployment_id: FromPath[int]) -> DeploymentReport:
        return await service.report(request.user, deployment_id)

    @get("/{deployment_id:int}/report.md", summary="The deployment report as Markdown (Chinese)", media_type="text/markdown")
    async def report_markdown(self, request: Request, deployment_id: FromPath[int]) -> Response:
        return report_file(await service.report(request.user, deployment_id), "md")

    @get("/{deployment_id:int}/report.pdf", summary="The deployment report as PDF (Chinese)", media_type="application/pdf")
    async def report_pdf(self, request: Request, deployment_id: FromPath[int]) -> Response:
        return report_file(await service.report(request.user, deployment_id), "pdf")
