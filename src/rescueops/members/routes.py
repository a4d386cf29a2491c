from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter
from pydantic import BaseModel, ConfigDict

from rescueops.accounts.auth import requires, signed_in
from rescueops.errors import field_error
from rescueops.members import cards, roster_file, service
from rescueops.members.schemas import (
    AccountLink,
    CardCheck,
    CardHolder,
    CardOut,
    CertificateIn,
    CertificateOut,
    CertificateTypeOut,
    HoursDecisionIn,
    HoursIn,
    HoursOut,
    ImportReport,
    InsuranceIn,
    InsuranceOut,
    JoinIn,
    MemberDetail,
    MemberOut,
    PersonUpdate,
    StatusChangeIn,
    TeamRosterSummary,
)
from rescueops.members.tables import HoursStatus
from rescueops.uploads import DOCUMENT_REQUEST_MAX_BYTES, DOCUMENT_TYPES, SPREADSHEET_REQUEST_MAX_BYTES, attachment
from rescueops.web.openapi import file_operation

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scan_kind(kind: str) -> None:
    if kind not in ("certificate", "insurance"):
        raise field_error("kind", "certificate or insurance")


class FileUpload(BaseModel):
    """A multipart form with one file field, ``file``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    file: UploadFile


class RosterController(Controller):
    path = "/api/v1/teams/{code:str}"
    tags = ["members"]
    guards = [signed_in]

    @get("/roster", summary="A team's roster with certified ratio, expiries and hours")
    async def roster(
        self,
        request: Request,
        code: FromPath[str],
        on: Annotated[date | None, QueryParameter(description="Validity is computed on this date (default today)")] = None,
        include_exited: FromQuery[bool] = False,
    ) -> TeamRosterSummary:
        return await service.roster(request.user, code, on=on, include_exited=include_exited)

    @post("/members", summary="Add a person to the team", guards=[requires("roster.manage")])
    async def join(self, request: Request, code: FromPath[str], data: JSONBody[JoinIn]) -> MemberOut:
        return await service.join_team(request.user, code, data)

    @get("/hours", summary="Service hours logged for the team")
    async def hours(self, request: Request, code: FromPath[str], status: FromQuery[HoursStatus | None] = None) -> list[HoursOut]:
        return await service.team_hours(request.user, code, status=status)

    @get("/roster/template.xlsx", summary="The roster import template (Chinese headers)", media_type=XLSX)
    async def template(self, code: FromPath[str]) -> Response:
        return attachment(roster_file.template(), "roster-template.xlsx", XLSX)

    @get("/roster/export", summary="The roster as .xlsx or .csv, in the template's columns",
         operation_class=file_operation(XLSX, "text/csv"))
    async def export(self, request: Request, code: FromPath[str], format: FromQuery[str] = "xlsx") -> Response:
        if format not in ("xlsx", "csv"):
            raise field_error("format", "xlsx or csv")
        content = await service.export_roster(request.user, code, format)
        return attachment(content, f"roster-{code}.{format}", XLSX if format == "xlsx" else "text/csv; charset=utf-8")

    @post("/roster/import", summary="Upload a roster (.xlsx/.csv) and get the row-by-row report; writes no member",
          guards=[requires("roster.manage")], status_code=200, request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def check_import(self, request: Request, code: FromPath[str], data: MultipartBody[FileUpload]) -> ImportReport:
        content = await data.file.read()
        return await service.check_roster_file(request.user, code, data.file.filename or "roster", content)

    @post("/roster/import/{batch_id:int}/commit", summary="Import a checked upload: all rows, or only the valid ones",
          guards=[requires("roster.manage")], status_code=200)
    async def commit_import(
        self, request: Request, code: FromPath[str], batch_id: FromPath[int], valid_only: FromQuery[bool] = False
    ) -> ImportReport:
        return await service.commit_import(request.user, code, batch_id, valid_only=valid_only)


class MemberController(Controller):
    path = "/api/v1/members"
    tags = ["members"]
    guards = [signed_in]

    @get("/certificate-types", summary="Certificate types (data)")
    async def certificate_types(self) -> list[CertificateTypeOut]:
        return await service.certificate_types()

    @get("/{person_id:int}", summary="A member; personal data masked unless unmask=true and the role allows it (logged)")
    async def get_member(
        self, request: Request, person_id: FromPath[int], unmask: FromQuery[bool] = False, on: FromQuery[date | None] = None
    ) -> MemberDetail:
        return await service.get_member(request.user, person_id, unmask=unmask, on=on)

    @put("/{person_id:int}", summary="Update contact details and skills")
    async def update(self, request: Request, person_id: FromPath[int], data: JSONBody[PersonUpdate]) -> MemberOut:
        return await service.update_person(request.user, person_id, data)

    @post("/{person_id:int}/status", summary="Move a member through the lifecycle (exit closes the membership)",
          guards=[requires("roster.manage")], status_code=200)
    async def status(self, request: Request, person_id: FromPath[int], data: JSONBody[StatusChangeIn]) -> MemberOut:
        return await service.change_member_status(request.user, person_id, data)

    @get("/{person_id:int}/certificates", summary="Certificates with validity on a date")
    async def certificates(self, request: Request, person_id: FromPath[int], on: FromQuery[date | None] = None) -> list[CertificateOut]:
        return await service.list_certificates(request.user, person_id, on=on)

    @post("/{person_id:int}/certificates", summary="Add a certificate", guards=[requires("roster.manage")])
    async def add_certificate(self, request: Request, person_id: FromPath[int], data: JSONBody[CertificateIn]) -> CertificateOut:
        return await service.add_certificate(request.user, person_id, data)

    @delete("/{person_id:int}/certificates/{certificate_id:int}", summary="Remove a certificate entered by mistake",
            guards=[requires("roster.manage")])
    async def delete_certificate(self, request: Request, person_id: FromPath[int], certificate_id: FromPath[int]) -> None:
        await service.delete_certificate(request.user, person_id, certificate_id)

    @post("/{person_id:int}/insurance", summary="Add an insurance policy", guards=[requires("roster.manage")])
    async def add_insurance(self, request: Request, person_id: FromPath[int], data: JSONBody[InsuranceIn]) -> InsuranceOut:
        return await service.add_insurance(request.user, person_id, data)

    @put("/{person_id:int}/scans/{kind:str}/{record_id:int}", summary="Attach a scanned copy (PDF/JPEG/PNG) of a certificate or insurance policy",
         guards=[requires("roster.manage")], status_code=204, request_max_body_size=DOCUMENT_REQUEST_MAX_BYTES)
    async def attach_scan(self, request: Request, person_id: FromPath[int], kind: FromPath[str], record_id: FromPath[int],
                          data: MultipartBody[FileUpload]) -> None:
        _scan_kind(kind)
        await service.attach_scan(request.user, person_id, kind, record_id, await data.file.read(), data.file.content_type)

    @get("/{person_id:int}/scans/{kind:str}/{record_id:int}", summary="Download a scanned copy (logged)",
         operation_class=file_operation(*DOCUMENT_TYPES))
    async def read_scan(self, request: Request, person_id: FromPath[int], kind: FromPath[str], record_id: FromPath[int]) -> Response:
        _scan_kind(kind)
        content, media = await service.read_scan(request.user, person_id, kind, record_id)
        return attachment(content, f"{kind}-{record_id}{DOCUMENT_TYPES[media]}", media)

    @put("/{person_id:int}/account", summary="Tie a login to this member (their own page, card and hours)",
         guards=[requires("roster.manage")])
    async def link_account(self, request: Request, person_id: FromPath[int], data: JSONBody[AccountLink]) -> MemberOut:
        return await service.link_account(request.user, person_id, data.username)

    @post("/{person_id:int}/hours", summary="Log service hours by hand (pending until approved)")
    async def log_hours(self, request: Request, person_id: FromPath[int], data: JSONBody[HoursIn]) -> HoursOut:
        return await service.log_hours(request.user, person_id, data)

    @get("/{person_id:int}/card", summary="The member card's token and the URL its QR code holds")
    async def card(self, request: Request, person_id: FromPath[int]) -> CardOut:
        return await service.card(request.user, person_id)

    @get("/{person_id:int}/card.svg", summary="Printable member card (SVG)", media_type="image/svg+xml")
    async def card_svg(self, request: Request, person_id: FromPath[int]) -> Response:
        card, member = await service.card(request.user, person_id), await service.get_member(request.user, person_id)
        team = member.membership.team_name if member.membership else ""
        role = {"captain": "队长", "deputy_captain": "副队长", "member": "队员", "probationary": "见习队员"}.get(
            member.membership.role.value if member.membership else "", ""
        )
        return Response(cards.card_svg(card.url, member.name, team, role), media_type="image/svg+xml")

    @get("/{person_id:int}/card.png", summary="The card's QR code (PNG)", media_type="image/png")
    async def card_png(self, request: Request, person_id: FromPath[int]) -> Response:
        return Response(cards.qr_png((await service.card(request.user, person_id)).url), media_type="image/png")

    @post("/{person_id:int}/card/revoke", summary="Revoke every card printed so far and issue a new one",
          guards=[requires("roster.manage")], status_code=200)
    async def revoke_card(self, request: Request, person_id: FromPath[int]) -> CardOut:
        return await service.revoke_cards(request.user, person_id)

    @post("/cards/verify", summary="Who a scanned card belongs to (for check-ins)", status_code=200)
    async def verify(self, request: Request, data: JSONBody[CardCheck]) -> CardHolder:
        return await service.verify_card(request.user, data.token)


class HoursController(Controller):
    path = "/api/v1/hours"
    tags = ["members"]
    guards = [signed_in]

    @post("/{entry_id:int}/decision", summary="Approve or reject hours logged by hand", guards=[requires("hours.approve")],
          status_code=200)
    async def decide(self, request: Request, entry_id: FromPath[int], data: JSONBody[HoursDecisionIn]) -> HoursOut:
        return await service.decide_hours(request.user, entry_id, data)
