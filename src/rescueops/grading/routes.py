from __future__ import annotations

from datetime import date

from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody
from pydantic import BaseModel, ConfigDict

from rescueops.accounts.access import scopes_for
from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import PageParams
from rescueops.errors import field_error
from rescueops.grading import service
from rescueops.grading.schemas import (
    AppealDecisionIn,
    AppealIn,
    AssessmentOpen,
    AssessmentOut,
    AssessmentSummary,
    ConfirmationIn,
    DashboardOut,
    DecisionIn,
    EvaluationOut,
    ReadinessOut,
    ReasonIn,
    RubricEdit,
    RubricOut,
    RubricSummary,
    ScoreIn,
    TeamGrading,
)
from rescueops.grading.tables import AssessmentStatus, GradeAction
from rescueops.members.routes import XLSX, attachment
from rescueops.uploads import DOCUMENT_REQUEST_MAX_BYTES, DOCUMENT_TYPES
from rescueops.web.openapi import file_operation

GRADE_ACTIONS = {"suspend": GradeAction.suspended, "reinstate": GradeAction.reinstated, "cancel": GradeAction.cancelled}


class DocumentUpload(BaseModel):
    """A multipart form: the file, its title, and the criterion it supports ("" for the assessment as a whole)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    file: UploadFile
    title: str = ""
    criterion_id: str = ""


def grade_action(action: str) -> GradeAction:
    if action not in GRADE_ACTIONS:
        raise field_error("action", f"one of {', '.join(GRADE_ACTIONS)}")
    return GRADE_ACTIONS[action]


class GradingController(Controller):
    path = "/api/v1/grading"
    tags = ["grading"]
    guards = [signed_in]

    @get("/rubrics", summary="The latest rubric version of every graded category")
    async def rubrics(self) -> list[RubricSummary]:
        return await service.list_rubrics()

    @get("/rubrics/{category:str}", summary="A category's rubric (the latest version, or ?version=), with its sources")
    async def rubric(self, category: FromPath[str], version: FromQuery[int | None] = None) -> RubricOut:
        return await service.get_rubric(category, version)

    @get("/rubrics/{category:str}/versions", summary="Every version of a category's rubric: who made it and why")
    async def versions(self, category: FromPath[str]) -> list[RubricSummary]:
        return await service.rubric_versions(category)

    @put("/rubrics/{category:str}", summary="Change thresholds: a new rubric version, with the reason", guards=[requires("grading.rubrics")])
    async def edit(self, request: Request, category: FromPath[str], data: JSONBody[RubricEdit]) -> RubricOut:
        return await service.edit_rubric(request.user, category, data)

    @get("/teams/{code:str}", summary="A team's grades, evaluation on the records and gap to the next level, per graded category")
    async def team(self, request: Request, code: FromPath[str]) -> TeamGrading:
        return await service.team_grading(request.user, code)

    @get("/teams/{code:str}/evaluation", summary="Evaluate a team in one category on a date, from the live records")
    async def evaluation(self, request: Request, code: FromPath[str], category: FromQuery[str], on: FromQuery[date | None] = None) -> EvaluationOut:
        return await service.evaluate_team(request.user, code, category, on)

    @get("/teams/{code:str}/readiness", summary="The team's precomputed readiness per category")
    async def readiness(self, request: Request, code: FromPath[str]) -> list[ReadinessOut]:
        return await service.team_readiness(request.user, code)

    @post("/teams/{code:str}/grades/{category:str}/{action:str}", summary="Suspend, reinstate or cancel a grade (action: suspend, "
          "reinstate, cancel), with a reason", guards=[requires("grading.assess")], status_code=200)
    async def change_grade(self, request: Request, code: FromPath[str], category: FromPath[str], action: FromPath[str],
                           data: JSONBody[ReasonIn]) -> TeamGrading:
        return await service.change_grade(request.user, code, category, grade_action(action), data)

    @get("/assessments", summary="Assessments within the caller's scopes, newest first")
    async def assessments(self, request: Request, status: FromQuery[list[AssessmentStatus] | None] = None,
                          team: FromQuery[str | None] = None, unit: FromQuery[str | None] = None) -> list[AssessmentSummary]:
        return await service.list_assessments(request.user, status=status, team=team, under_code=unit)

    @post("/assessments", summary="Open an assessment (a supervisor) or apply for one (the team): the evidence is snapshotted")
    async def open(self, request: Request, data: JSONBody[AssessmentOpen]) -> AssessmentOut:
        return await service.open_assessment(request.user, data)

    @get("/assessments/{assessment_id:int}", summary="An assessment: the evidence with the scores applied, documents, history")
    async def assessment(self, request: Request, assessment_id: FromPath[int]) -> AssessmentOut:
        return await service.get_assessment(request.user, assessment_id)

    @post("/assessments/{assessment_id:int}/evidence", summary="Snapshot the records again", status_code=200)
    async def evidence(self, request: Request, assessment_id: FromPath[int]) -> AssessmentOut:
        return await service.refresh_evidence(request.user, assessment_id)

    @post("/assessments/{assessment_id:int}/scores", summary="Score a manual criterion (assessors)", status_code=200)
    async def score(self, request: Request, assessment_id: FromPath[int], data: JSONBody[ScoreIn]) -> AssessmentOut:
        return await service.score(request.user, assessment_id, data)

    @post("/assessments/{assessment_id:int}/documents", summary="Attach a document (PDF, JPEG, PNG) to an open assessment",
          request_max_body_size=DOCUMENT_REQUEST_MAX_BYTES)
    async def attach(self, request: Request, assessment_id: FromPath[int], data: MultipartBody[DocumentUpload]) -> AssessmentOut:
        return await service.attach_document(request.user, assessment_id, title=data.title, criterion_id=data.criterion_id,
                                             content=await data.file.read(), content_type=data.file.content_type or "")

    @get("/assessments/{assessment_id:int}/documents/{document_id:int}", summary="Download an attached document",
         operation_class=file_operation(*DOCUMENT_TYPES))
    async def document(self, request: Request, assessment_id: FromPath[int], document_id: FromPath[int]) -> Response:
        content, media_type, _ = await service.read_document(request.user, assessment_id, document_id)
        return attachment(content, f"assessment-{assessment_id}-{document_id}{DOCUMENT_TYPES[media_type]}", media_type)

    @post("/assessments/{assessment_id:int}/decision", summary="Decide the level (above the eligible level only with an override "
          "reason; level 1 then waits for the region)", status_code=200)
    async def decide(self, request: Request, assessment_id: FromPath[int], data: JSONBody[DecisionIn]) -> AssessmentOut:
        return await service.decide(request.user, assessment_id, data)

    @post("/assessments/{assessment_id:int}/confirmation", summary="The region confirms a level-1 decision or sends it back",
          status_code=200)
    async def confirm(self, request: Request, assessment_id: FromPath[int], data: JSONBody[ConfirmationIn]) -> AssessmentOut:
        return await service.confirm(request.user, assessment_id, data)

    @post("/assessments/{assessment_id:int}/appeal", summary="The team appeals the decision (once, within the appeal period)",
          status_code=200)
    async def appeal(self, request: Request, assessment_id: FromPath[int], data: JSONBody[AppealIn]) -> AssessmentOut:
        return await service.appeal(request.user, assessment_id, data)

    @post("/assessments/{assessment_id:int}/appeal-decision", summary="The region decides an appeal", status_code=200)
    async def decide_appeal(self, request: Request, assessment_id: FromPath[int], data: JSONBody[AppealDecisionIn]) -> AssessmentOut:
        return await service.decide_appeal(request.user, assessment_id, data)

    @post("/assessments/{assessment_id:int}/withdraw", summary="Close an assessment in progress without a decision", status_code=200)
    async def withdraw(self, request: Request, assessment_id: FromPath[int], data: JSONBody[ReasonIn]) -> AssessmentOut:
        return await service.withdraw(request.user, assessment_id, data)

    @get("/dashboard", summary="Readiness by category, level and league; grades expiring within 90 days; teams below their "
         "grade (?area= a hub code or an org unit code)", guards=[requires("grading.readiness")])
    async def dashboard(self, request: Request, page: NamedDependency[PageParams], area: FromQuery[str | None] = None,
                        category: FromQuery[str | None] = None) -> DashboardOut:
        return await service.dashboard(request.user, area, category, page)

    @get("/dashboard.xlsx", summary="The dashboard tables as .xlsx", guards=[requires("grading.readiness")], media_type=XLSX)
    async def dashboard_xlsx(self, request: Request, area: FromQuery[str | None] = None, category: FromQuery[str | None] = None) -> Response:
        return attachment(await service.dashboard_xlsx(request.user, area, category), "readiness.xlsx", XLSX)

    @post("/readiness/refresh", summary="Recompute the readiness of the teams in the caller's scopes now (also nightly and on events)",
          guards=[requires("grading.readiness")], status_code=200)
    async def refresh(self, request: Request) -> dict[str, str]:
        return {"outcome": await service.refresh_readiness(paths=scopes_for(request.user, "grading.readiness"))}
