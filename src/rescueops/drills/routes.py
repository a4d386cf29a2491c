from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import Page, PageParams
from rescueops.drills import feed, report, service
from rescueops.drills.library import Scenario
from rescueops.drills.schemas import (
    AfterActionReport,
    AttendanceOut,
    CancelIn,
    CardIn,
    CheckInIn,
    CloseItemIn,
    DrillIn,
    DrillOut,
    EvaluationIn,
    ImprovementOut,
    InjectOut,
    MobilisationIn,
    RollCallIn,
    ScenarioSummary,
    TrainingPlanIn,
    TrainingProgressOut,
)
from rescueops.drills.tables import DrillStatus, ImprovementStatus
from rescueops.errors import NotFound
from rescueops.members import service as members
from rescueops.teams import service as teams


def report_file(aar: AfterActionReport, kind: str) -> Response:
    """The after-action report as a download: ``kind`` "md" or "pdf"."""
    content, media_type = (report.pdf(aar), "application/pdf") if kind == "pdf" else (report.markdown(aar).encode(), "text/markdown; charset=utf-8")
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="drill-{aar.drill.id}-aar.{kind}"'})


class DrillController(Controller):
    path = "/api/v1/drills"
    tags = ["drills"]
    guards = [signed_in]

    @get("/scenarios", summary="The scenario library (latest version of each)")
    async def scenarios(self, category: FromQuery[str | None] = None) -> list[ScenarioSummary]:
        return await service.list_scenarios(category)

    @get("/scenarios/{scenario_id:str}", summary="One scenario, whole (latest version, or ?version=)")
    async def scenario(self, scenario_id: FromPath[str], version: FromQuery[int | None] = None) -> Scenario:
        return await service.get_scenario(scenario_id, version)

    @post("/", summary="Plan a drill from a scenario (with a recurrence: every occurrence)", guards=[requires("drills.manage")])
    async def plan(self, request: Request, data: JSONBody[DrillIn]) -> list[DrillOut]:
        return await service.plan_drill(request.user, data)

    @get("/", summary="A page of the drills the caller may see, by start time: of a team (?team=), a league or county (?unit=), "
                      "a region (?region=: a regional hub's code, or the autonomous region's unit code); ?past=true: only those "
                      "over, latest first; ?past=false: only those to come or under way")
    async def list_drills(
        self, request: Request, page: NamedDependency[PageParams], team: FromQuery[str | None] = None, unit: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None, start: FromQuery[datetime | None] = None, end: FromQuery[datetime | None] = None,
        status: FromQuery[DrillStatus | None] = None, past: FromQuery[bool | None] = None,
    ) -> Page[DrillOut]:
        items, total = await service.list_drills(request.user, page, team=team, under_code=unit, region=region, start=start, end=end,
                                                 status=status, past=past)
        return Page.of(items, total, page)

    @get("/{drill_id:int}", summary="One drill")
    async def get_drill(self, request: Request, drill_id: FromPath[int]) -> DrillOut:
        return await service.get_drill(request.user, drill_id)

    @post("/{drill_id:int}/cancel", summary="Cancel a planned drill", status_code=200)
    async def cancel(self, request: Request, drill_id: FromPath[int], data: JSONBody[CancelIn]) -> DrillOut:
        return await service.cancel_drill(request.user, drill_id, data)

    @get("/{drill_id:int}/attendance", summary="Who checked in, when, and who was late")
    async def attendance(self, request: Request, drill_id: FromPath[int]) -> list[AttendanceOut]:
        return await service.attendance(request.user, drill_id)

    @post("/{drill_id:int}/check-ins", summary="Check a member in: a scanned QR card, or a person id (roll call)")
    async def check_in(self, request: Request, drill_id: FromPath[int], data: JSONBody[CheckInIn]) -> AttendanceOut:
        return await service.check_in(request.user, drill_id, data)

    @post("/{drill_id:int}/roll-call", summary="Mark the members present (all or none)", status_code=200)
    async def roll_call(self, request: Request, drill_id: FromPath[int], data: JSONBody[RollCallIn]) -> list[AttendanceOut]:
        return await service.roll_call(request.user, drill_id, data)

    @post("/{drill_id:int}/check-outs", summary="Check a member out by a scanned QR card", status_code=200)
    async def check_out_by_card(self, request: Request, drill_id: FromPath[int], data: JSONBody[CardIn]) -> AttendanceOut:
        return await service.check_out_by_card(request.user, drill_id, data.card)

    @post("/{drill_id:int}/check-outs/{person_id:int}", summary="Check a member out", status_code=200)
    async def check_out(self, request: Request, drill_id: FromPath[int], person_id: FromPath[int]) -> AttendanceOut:
        return await service.check_out(request.user, drill_id, person_id)

    @put("/{drill_id:int}/mobilisation", summary="Record the call and assembly times (mobilisation time)")
    async def mobilisation(self, request: Request, drill_id: FromPath[int], data: JSONBody[MobilisationIn]) -> DrillOut:
        return await service.record_mobilisation(request.user, drill_id, data)

    @post("/{drill_id:int}/clock/start", summary="Start the exercise clock: the injects go out at their offsets", status_code=200)
    async def start_clock(self, request: Request, drill_id: FromPath[int]) -> DrillOut:
        return await service.start_clock(request.user, drill_id)

    @post("/{drill_id:int}/clock/pause", summary="Pause the exercise clock (injects wait)", status_code=200)
    async def pause_clock(self, request: Request, drill_id: FromPath[int]) -> DrillOut:
        return await service.pause_clock(request.user, drill_id)

    @post("/{drill_id:int}/clock/resume", summary="Resume the exercise clock", status_code=200)
    async def resume_clock(self, request: Request, drill_id: FromPath[int]) -> DrillOut:
        return await service.pause_clock(request.user, drill_id, resume=True)

    @get("/{drill_id:int}/injects", summary="Injects released so far, newest first (each marked 演练 EXERCISE)")
    async def injects(self, request: Request, drill_id: FromPath[int]) -> list[InjectOut]:
        return await service.injects(request.user, drill_id)

    @post("/{drill_id:int}/injects/{inject_id:str}/ack", summary="Acknowledge an inject", status_code=200)
    async def acknowledge(self, request: Request, drill_id: FromPath[int], inject_id: FromPath[str]) -> InjectOut:
        return await service.acknowledge(request.user, drill_id, inject_id)

    @post("/{drill_id:int}/end", summary="End the exercise (attendance closes; evaluation opens)", status_code=200)
    async def end(self, request: Request, drill_id: FromPath[int]) -> DrillOut:
        return await service.end_drill(request.user, drill_id)

    @post("/{drill_id:int}/evaluation", summary="Rate every objective P/S/M/U (or NO) and set the improvement plan", status_code=200)
    async def evaluate(self, request: Request, drill_id: FromPath[int], data: JSONBody[EvaluationIn]) -> AfterActionReport:
        return await service.evaluate(request.user, drill_id, data)

    @post("/{drill_id:int}/close", summary="Close an evaluated drill: members' hours are credited", status_code=200)
    async def close(self, request: Request, drill_id: FromPath[int]) -> DrillOut:
        return await service.close_drill(request.user, drill_id)

    @get("/{drill_id:int}/report", summary="The after-action report (data)")
    async def report(self, request: Request, drill_id: FromPath[int]) -> AfterActionReport:
        return await service.after_action_report(request.user, drill_id)

    @get("/{drill_id:int}/report.md", summary="The after-action report as Markdown (Chinese)", media_type="text/markdown")
    async def report_markdown(self, request: Request, drill_id: FromPath[int]) -> Response:
        return report_file(await service.after_action_report(request.user, drill_id), "md")

    @get("/{drill_id:int}/report.pdf", summary="The after-action report as PDF (Chinese)", media_type="application/pdf")
    async def report_pdf(self, request: Request, drill_id: FromPath[int]) -> Response:
        return report_file(await service.after_action_report(request.user, drill_id), "pdf")

    @get("/improvements", summary="Improvement plan items within the caller's scope")
    async def improvements(self, request: Request, status: FromQuery[ImprovementStatus | None] = None) -> list[ImprovementOut]:
        return await service.list_improvements(request.user, status=status)

    @post("/improvements/{item_id:int}/close", summary="Close an improvement item, saying what was done", status_code=200)
    async def close_improvement(self, request: Request, item_id: FromPath[int], data: JSONBody[CloseItemIn]) -> ImprovementOut:
        return await service.close_improvement(request.user, item_id, data)

    @put("/training-plans/{team_code:str}", summary="Set a team's annual training target")
    async def set_plan(self, request: Request, team_code: FromPath[str], data: JSONBody[TrainingPlanIn]) -> TrainingProgressOut:
        return await service.set_training_plan(request.user, team_code, data)

    @get("/training-progress", summary="Per team: the year's target, drills held and still planned")
    async def progress(self, request: Request, year: Annotated[int, QueryParameter(ge=2000, le=2100)],
                       team: FromQuery[str | None] = None,
                       unit: FromQuery[str | None] = None, region: FromQuery[str | None] = None) -> list[TrainingProgressOut]:
        return await service.training_progress(request.user, year, team=team, under_code=unit, region=region)

    @get("/feeds", summary="Calendar (.ics) feed links: of a team (?team=), or of the caller as a member")
    async def feeds(self, request: Request, team: FromQuery[str | None] = None) -> dict[str, str]:
        if team:
            await teams.get_team(request.user, team)  # only a team the caller may see
            return {"url": feed.feed_url("team", team)}
        person_id = await members.person_of_user(request.user.user_id)
        if person_id is None:
            raise NotFound("Your login is not linked to a member; ask for a team's feed with ?team=CODE.")
        return {"url": feed.feed_url("member", str(person_id))}


@get("/ics/{token:str}", include_in_schema=False)
async def ics_feed(token: FromPath[str]) -> Response:
    """A calendar app's subscription: no login, the signed token names the team or the member."""
    name, drills = await service.feed(token.removesuffix(".ics"))
    return Response(feed.calendar(drills, name), media_type="text/calendar; charset=utf-8")
