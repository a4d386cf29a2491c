"""Member pages: a member's page, adding a member, the roster import with its report, cards and scans."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from pydantic import ValidationError

from rescueops.accounts.access import can
from rescueops.accounts.auth import signed_in
from rescueops.calendar import china_today
from rescueops.errors import DomainError
from rescueops.members import cards, service
from rescueops.members.schemas import (
    CertificateIn,
    HoursDecisionIn,
    HoursIn,
    InsuranceIn,
    JoinIn,
    PersonIn,
    StatusChangeIn,
)
from rescueops.teams import service as teams
from rescueops.teams.pages import labels
from rescueops.uploads import DOCUMENT_REQUEST_MAX_BYTES, SPREADSHEET_REQUEST_MAX_BYTES
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import StatusForm, page, problem, submit


@dataclass
class MemberForm:
    name: str = ""
    gender: str = ""
    birth_date: str = ""
    id_number: str = ""
    phone: str = ""
    blood_type: str = ""
    emergency_contact: str = ""
    emergency_phone: str = ""
    status: str = "active"
    joined_on: str = ""


@dataclass
class CertificateForm:
    type_code: str = ""
    number: str = ""
    issued_on: str = ""
    expires_on: str = ""


@dataclass
class InsuranceForm:
    insurer: str = ""
    policy_number: str = ""
    starts_on: str = ""
    ends_on: str = ""


@dataclass
class HoursForm:
    worked_on: str = ""
    hours: str = ""
    note: str = ""


@dataclass
class DecisionForm:
    decision: str = ""
    team: str = ""


@dataclass
class ImportForm:
    """A multipart form with one file: a roster, or a scanned certificate or policy."""

    file: UploadFile


@dataclass
class CommitForm:
    valid_only: str = ""


async def member_page(request: Request, person_id: int, *, unmask: bool = False, error: str | None = None, status_code: int = 200) -> Template:
    member = await service.get_member(request.user, person_id, unmask=unmask)
    team_path = (await teams.team_row(member.membership.team_code))["path"] if member.membership else "/"
    return page(
        request, "members/detail.html", status_code=status_code, nav="teams", member=member, error=error,
        certificate_types=await service.certificate_types(),
        can_manage=can(request.user, "roster.manage", team_path),
        can_unmask=can(request.user, "members.personal", team_path),
        next_statuses=sorted(s.value for s in service.TRANSITIONS[member.membership.status]) if member.membership else [],
        **labels(),
    )


async def _form_or_error(request: Request, person_id: int, action) -> Template | Redirect:
    return await submit(action, done=f"/members/{person_id}",
                        again=lambda message, status: member_page(request, person_id, error=message, status_code=status))


class MemberPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/members/{person_id:int}")
    async def member(self, request: Request, person_id: FromPath[int], unmask: FromQuery[bool] = False) -> Template:
        return await member_page(request, person_id, unmask=unmask)

    @post("/members/{person_id:int}/status")
    async def status(self, request: Request, person_id: FromPath[int], data: URLEncodedBody[StatusForm]) -> Template | Redirect:
        return await _form_or_error(
            request, person_id,
            lambda: service.change_member_status(request.user, person_id, StatusChangeIn(status=data.status, reason=data.reason)),
        )

    @post("/members/{person_id:int}/certificates")
    async def certificate(self, request: Request, person_id: FromPath[int], data: URLEncodedBody[CertificateForm]) -> Template | Redirect:
        return await _form_or_error(
            request, person_id,
            lambda: service.add_certificate(request.user, person_id, CertificateIn(
                type_code=data.type_code, number=data.number, issued_on=data.issued_on, expires_on=data.expires_on or None)),
        )

    @post("/members/{person_id:int}/insurance")
    async def insurance(self, request: Request, person_id: FromPath[int], data: URLEncodedBody[InsuranceForm]) -> Template | Redirect:
        return await _form_or_error(
            request, person_id,
            lambda: service.add_insurance(request.user, person_id, InsuranceIn(
                insurer=data.insurer, policy_number=data.policy_number, starts_on=data.starts_on, ends_on=data.ends_on)),
        )

    @post("/members/{person_id:int}/scans/{kind:str}/{record_id:int}", request_max_body_size=DOCUMENT_REQUEST_MAX_BYTES)
    async def scan(self, request: Request, person_id: FromPath[int], kind: FromPath[str], record_id: FromPath[int],
                   data: MultipartBody[ImportForm]) -> Template | Redirect:
        content = await data.file.read()
        return await _form_or_error(
            request, person_id,
            lambda: service.attach_scan(request.user, person_id, kind if kind in ("certificate", "insurance") else "certificate",
                                        record_id, content, data.file.content_type),
        )

    @post("/members/{person_id:int}/hours")
    async def hours(self, request: Request, person_id: FromPath[int], data: URLEncodedBody[HoursForm]) -> Template | Redirect:
        return await _form_or_error(
            request, person_id,
            lambda: service.log_hours(request.user, person_id, HoursIn(worked_on=data.worked_on, hours=data.hours, note=data.note)),
        )

    @post("/members/{person_id:int}/card/revoke")
    async def revoke_card(self, request: Request, person_id: FromPath[int]) -> Template | Redirect:
        return await _form_or_error(request, person_id, lambda: service.revoke_cards(request.user, person_id))

    @post("/hours/{entry_id:int}/decision")
    async def decide_hours(self, request: Request, entry_id: FromPath[int], data: URLEncodedBody[DecisionForm]) -> Redirect:
        await service.decide_hours(request.user, entry_id, HoursDecisionIn(approve=data.decision == "approve"))
        return Redirect(f"/teams/{data.team}#pending-hours" if data.team else "/teams")

    @get("/members/{person_id:int}/card")
    async def card(self, request: Request, person_id: FromPath[int]) -> Template:
        member = await service.get_member(request.user, person_id)
        card = await service.card(request.user, person_id)
        role = labels()["member_labels"].get(member.membership.role.value, "") if member.membership else ""
        svg = cards.card_svg(card.url, member.name, member.membership.team_name if member.membership else "", role)
        return page(request, "members/card.html", nav="teams", member=member, card_svg=svg)

    @get("/c/{token:str}")
    async def scanned(self, request: Request, token: FromPath[str]) -> Template:
        try:
            holder = await service.verify_card(request.user, token)
        except DomainError as error:
            return page(request, "members/scanned.html", status_code=error.status_code, holder=None, error=error.message)
        return page(request, "members/scanned.html", holder=holder, error=None, **labels())

    @get("/teams/{code:str}/members/new")
    async def new_member(self, request: Request, code: FromPath[str]) -> Template:
        return page(request, "members/new.html", nav="teams", team=await teams.get_team(request.user, code), form=MemberForm(), error=None)

    @post("/teams/{code:str}/members/new")
    async def add_member(self, request: Request, code: FromPath[str], data: URLEncodedBody[MemberForm]) -> Template | Redirect:
        try:
            person = PersonIn(name=data.name, gender=data.gender, birth_date=data.birth_date, id_number=data.id_number,
                              phone=data.phone, blood_type=data.blood_type, emergency_contact=data.emergency_contact,
                              emergency_phone=data.emergency_phone)
            joined = await service.join_team(request.user, code, JoinIn(person=person, status=data.status,
                                                                        joined_on=data.joined_on or china_today()))
        except (DomainError, ValidationError) as error:
            message, status = problem(error)
            return page(request, "members/new.html", status_code=status, nav="teams", team=await teams.get_team(request.user, code),
                        form=data, error=message)
        return Redirect(f"/members/{joined.id}")

    @get("/teams/{code:str}/import")
    async def import_form(self, request: Request, code: FromPath[str]) -> Template:
        return page(request, "members/import.html", nav="teams", team=await teams.get_team(request.user, code), report=None, error=None)

    @post("/teams/{code:str}/import", request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def import_check(self, request: Request, code: FromPath[str], data: MultipartBody[ImportForm]) -> Template:
        team = await teams.get_team(request.user, code)
        try:
            report = await service.check_roster_file(request.user, code, data.file.filename or "roster", await data.file.read())
        except DomainError as error:
            return page(request, "members/import.html", status_code=error.status_code, nav="teams", team=team, report=None, error=error.message)
        return page(request, "members/import.html", nav="teams", team=team, report=report, error=None)

    @post("/teams/{code:str}/import/{batch_id:int}")
    async def import_commit(self, request: Request, code: FromPath[str], batch_id: FromPath[int], data: URLEncodedBody[CommitForm]) -> Template | Redirect:
        try:
            await service.commit_import(request.user, code, batch_id, valid_only=data.valid_only == "yes")
        except DomainError as error:
            team = await teams.get_team(request.user, code)
            return page(request, "members/import.html", status_code=error.status_code, nav="teams", team=team, report=None,
                        error=error.message or _("The import failed."))
        return Redirect(f"/teams/{code}#roster")
