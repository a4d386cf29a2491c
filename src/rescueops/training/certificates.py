"""Certificates of first-aid training: issue on passing, numbers, revocation, the printable PDF, the public check.

Number format (documented in docs/training.md): ``KK CCCCCC YY NNNNNN X`` without spaces, e.g. ``JH15042626000001`` + check:

- ``KK``: the course kind — JH 红十字救护员, CJ 初级救护员, CA CPR+AED, SZ 救护师资, FX 复训;
- ``CCCCCC``: the code of the session's organising branch (the county's, or the league's for a league session);
- ``YY``: the issue year's last two digits;
- ``NNNNNN``: a serial per prefix (kind, branch, year) from training_certificate_serial, taken for a whole issue run by
  one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (atomic on both engines; the row stays locked to the commit);
- ``X``: a check character (Luhn mod 36 over 0–9A–Z), so a mistyped number is refused without a look-up.

The person's roster copy is a members_certificate row (source "training"), so rosters, grading and readiness count it;
revoking deletes it. The progress tally is kept in the same transaction as every issue and revocation.
"""

from __future__ import annotations

import io
import re
import secrets
import time
from collections import deque
from datetime import date
from decimal import Decimal
from typing import Any

import pyqrcode
from piccolo.table import Table
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from rescueops import spreadsheets
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, scopes_for
from rescueops.calendar import add_months, china_today, utc_now
from rescueops.db import write_transaction
from rescueops.db.pagination import PageParams
from rescueops.db.paths import under, within
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooManyRequests, field_error
from rescueops.members.identity import mask_id
from rescueops.members.tables import Certificate as MemberCertificate
from rescueops.orgs.tables import OrgUnit
from rescueops.pdf import RED, cjk_font
from rescueops.settings import get_settings
from rescueops.training import progress
from rescueops.training.exams import session_for_exam
from rescueops.training.schemas import (
    CertificateIssueIn,
    CertificateIssueOut,
    CertificateLookupIn,
    CertificateRevokeIn,
    PublicCertificateOut,
    TrainingCertificateOut,
    TrainingCertificateSummary,
)
from rescueops.training.tables import (
    CourseKind,
    CourseVersion,
    Enrolment,
    EnrolmentStatus,
    ExamScore,
    SessionStatus,
    TrainingCertificate,
    TrainingSession,
)

KIND_LETTERS = {CourseKind.first_aider.value: "JH", CourseKind.junior_first_aider.value: "CJ", CourseKind.cpr_aed.value: "CA",
                CourseKind.instructor.value: "SZ", CourseKind.refresher.value: "FX"}
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SOURCE = "training"  # members_certificate.source of the roster copies
STATUSES = ("valid", "expired", "revoked")


# --- numbers ---------------------------------------------------------------------------------------------------


def check_character(body: str) -> str:
    """Luhn mod 36 over 0–9A–Z: catches every single mistyped character and most swaps of neighbours."""
    total, factor = 0, 2
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        total += addend // 36 + addend % 36
        factor = 1 if factor == 2 else 2
    return ALPHABET[(36 - total % 36) % 36]


def well_formed(number: str) -> bool:
    return len(number) >= 2 and all(c in ALPHABET for c in number) and check_character(number[:-1]) == number[-1]


def number_prefix(kind: str, unit_code: str, issued_on: date) -> str:
    return f"{KIND_LETTERS[kind]}{unit_code}{issued_on.year % 100:02d}"


def certificate_number(prefix: str, serial: int) -> str:
    body = f"{prefix}{serial:06d}"
    return body + check_character(body)


async def reserve_serials(prefix: str, count: int) -> int:
    """Take ``count`` serials of ``prefix`` inside the caller's transaction; returns the last one (the run is
    last - count + 1 … last). One statement, atomic on both engines; on PostgreSQL the row stays locked to the commit,
    so concurrent runs queue rather than share numbers."""
    rows = await Table.raw(
        'INSERT INTO training_certificate_serial (prefix, "last") VALUES ({}, {})'
        ' ON CONFLICT (prefix) DO UPDATE SET "last" = training_certificate_serial."last" + excluded."last" RETURNING "last"',
        prefix, int(count))
    return int(rows[0]["last"])


def verify_url(token: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/verify/{token}"


# --- status and masking ----------------------------------------------------------------------------------------


def status_of(row: dict[str, Any], on: date) -> str:
    if row["revoked_on"] is not None:
        return "revoked"
    if row["expires_on"] is not None and row["expires_on"] < on:
        return "expired"
    return "valid"


def mask_name(name: str) -> str:
    """The holder's name as the public page shows it: the first and last characters kept, every other one a "*"
    (王小明 → 王*明, 欧阳小明 → 欧**明); a two-character name keeps only the first (王明 → 王*); one character → *."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# --- issue -----------------------------------------------------------------------------------------------------


async def _to_certify(session: dict[str, Any]) -> list[dict[str, Any]]:
    """Trainees of the session who passed (or, without an exam, attended every hour) and hold no certificate of it:
    enrolment, person, and the sitting and examiner they passed with. One query, inside the issuing transaction."""
    issued = TrainingCertificate.select(TrainingCertificate.person).where(TrainingCertificate.session == session["id"])
    if session["exam_required"]:
        rows = await ExamScore.select(
            ExamScore.enrolment, ExamScore.enrolment.person.as_alias("person"), ExamScore.sitting,
            ExamScore.sitting.examiner.as_alias("examiner"), ExamScore.sitting.held_on.as_alias("held_on"),
        ).where((ExamScore.sitting.session == session["id"]) & (ExamScore.passed == True)  # noqa: E712
                & (ExamScore.enrolment.status == EnrolmentStatus.enrolled.value)
                & ExamScore.enrolment.person.not_in(issued)).order_by(ExamScore.enrolment)
    else:
        rows = [{"enrolment": r["id"], "person": r["person"], "sitting": None, "examiner": None, "held_on": None}
                for r in await Enrolment.select(Enrolment.id, Enrolment.person).where(
                    (Enrolment.session == session["id"]) & (Enrolment.status == EnrolmentStatus.enrolled.value)
                    & (Enrolment.hours >= session["hours"]) & Enrolment.person.not_in(issued)).order_by(Enrolment.id)]
    unique: dict[int, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["person"], row)
    return list(unique.values())


async def issue_certificates(principal: Principal, code: str, data: CertificateIssueIn | None = None) -> CertificateIssueOut:
    """Certificates for every trainee of the session who passed and has none of it yet, in one transaction."""
    session = await session_for_exam(principal, code, "training.certify")
    issued_on = (data.issued_on if data else None) or china_today()
    if not session["certificate_type"]:
        raise InvalidInput(f"The course of session {code} leads to no certificate.", code="no_certificate")
    if session["status"] == SessionStatus.cancelled.value:
        raise Conflict(f"Session {code} was cancelled.", code="session_cancelled")
    if not session["exam_required"] and session["status"] != SessionStatus.completed.value:
        raise InvalidInput("Without an exam a certificate is earned by attending every hour: mark the session completed first.",
                           code="session_not_completed")
    if issued_on > china_today():
        raise field_error("issued_on", "cannot be in the future")
    if issued_on < session["starts_on"]:
        raise field_error("issued_on", f"cannot be before the session starts ({session['starts_on']})")
    version = await CourseVersion.select(CourseVersion.certificate_type, CourseVersion.validity_months).where(
        CourseVersion.id == session["course_version"]).first()
    expires_on = add_months(issued_on, version["validity_months"]) if version["validity_months"] else None
    async with write_transaction():
        # The session's row lock first: a concurrent run for the same session waits here, then finds who is left.
        await TrainingSession.update({TrainingSession.status: TrainingSession.status}).where(TrainingSession.id == session["id"])
        candidates = await _to_certify(session)
        early = [c for c in candidates if c["held_on"] is not None and c["held_on"] > issued_on]
        if early:
            raise field_error("issued_on", f"cannot be before the sitting passed ({early[0]['held_on']})")
        if not candidates:
            return CertificateIssueOut(session_code=code, issued=0, numbers=[])
        prefix = number_prefix(session["course_kind"], session["unit_code"], issued_on)
        last = await reserve_serials(prefix, len(candidates))
        numbers = [certificate_number(prefix, serial) for serial in range(last - len(candidates) + 1, last + 1)]
        now = utc_now()
        copies = await MemberCertificate.insert(*[MemberCertificate(
            person=c["person"], type=version["certificate_type"], number=number, issued_on=issued_on, expires_on=expires_on,
            source=SOURCE, created_at=now) for c, number in zip(candidates, numbers, strict=True)]).returning(
            MemberCertificate.id, MemberCertificate.number)
        copy_of = {row["number"]: row["id"] for row in copies}
        rows = await TrainingCertificate.insert(*[TrainingCertificate(
            number=number, verify_token=secrets.token_urlsafe(18), person=c["person"], course_version=session["course_version"],
            session=session["id"], sitting=c["sitting"], examiner=c["examiner"], unit_path=session["unit_path"],
            kind=session["course_kind"], issued_on=issued_on, expires_on=expires_on, member_certificate=copy_of[number],
            issued_by=principal.user_id, created_at=now) for c, number in zip(candidates, numbers, strict=True)]).returning(
            TrainingCertificate.id)
        await progress.tally_certificates([row["id"] for row in rows], 1)
        await accounts.record_audit(principal, "training.certificates.issue", "session", code, session["unit_path"], {
            "issued": len(numbers), "first": numbers[0], "last": numbers[-1], "issued_on": str(issued_on)})
    return CertificateIssueOut(session_code=code, issued=len(numbers), numbers=numbers)


# --- reading ---------------------------------------------------------------------------------------------------

_COLUMNS = (
    TrainingCertificate.all_columns(), TrainingCertificate.person.name.as_alias("person_name"),
    TrainingCertificate.person.id_number_last4.as_alias("last4"),
    TrainingCertificate.course_version.version.as_alias("version"), TrainingCertificate.course_version.syllabus.as_alias("syllabus"),
    TrainingCertificate.course_version.hours.as_alias("hours"),
    TrainingCertificate.course_version.course.name_zh.as_alias("course_name_zh"),
    TrainingCertificate.course_version.course.name_en.as_alias("course_name_en"),
    TrainingCertificate.course_version.certificate_type.name_zh.as_alias("certificate_name_zh"),
    TrainingCertificate.course_version.certificate_type.name_en.as_alias("certificate_name_en"),
    TrainingCertificate.session.code.as_alias("session_code"), TrainingCertificate.session.unit.code.as_alias("unit_code"),
    TrainingCertificate.session.unit.name_zh.as_alias("unit_name_zh"),
    TrainingCertificate.examiner.person.name.as_alias("examiner_name"), TrainingCertificate.sitting.attempt.as_alias("attempt"),
)


def _summary(row: dict[str, Any], on: date) -> TrainingCertificateSummary:
    return TrainingCertificateSummary(
        id=row["id"], number=row["number"], person_name=row["person_name"], kind=row["kind"],
        certificate_name_zh=row["certificate_name_zh"] or "", certificate_name_en=row["certificate_name_en"] or "",
        course_name_zh=row["course_name_zh"], course_name_en=row["course_name_en"], unit_code=row["unit_code"],
        unit_name_zh=row["unit_name_zh"], session_code=row["session_code"], issued_on=row["issued_on"], expires_on=row["expires_on"],
        revoked_on=row["revoked_on"], status=status_of(row, on))


async def _row(number: str) -> dict[str, Any] | None:
    return await TrainingCertificate.select(*_COLUMNS).where(TrainingCertificate.number == number.strip().upper()).first()


async def _visible(principal: Principal, number: str, action: str = "training.view") -> dict[str, Any]:
    row = await _row(number)
    if row is None:
        raise NotFound(f"No certificate {number}, or it is outside your scope.")
    authorize(principal, "training.view", row["unit_path"], hide=True)
    if action != "training.view":
        authorize(principal, action, row["unit_path"])
    return row


async def certificate_scope(principal: Principal, number: str) -> str:
    """The org path a certificate is counted under (its session's branch), once the principal may view it."""
    return (await _visible(principal, number))["unit_path"]


async def _user_names(ids: list[int | None]) -> dict[int, str]:
    from rescueops.accounts.tables import User

    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {r["id"]: r["display_name"] for r in await User.select(User.id, User.display_name).where(User.id.is_in(wanted))}


async def get_certificate(principal: Principal, number: str) -> TrainingCertificateOut:
    row = await _visible(principal, number)
    users = await _user_names([row["issued_by"], row["revoked_by"]])
    return TrainingCertificateOut(
        **_summary(row, china_today()).model_dump(), person_id=row["person"], id_number=mask_id(row["last4"]), course_version=row["version"],
        syllabus=row["syllabus"], hours=Decimal(str(row["hours"])), examiner_name=row["examiner_name"], sitting_attempt=row["attempt"],
        revoked_reason=row["revoked_reason"], issued_by=users.get(row["issued_by"], ""), revoked_by=users.get(row["revoked_by"], ""),
        verify_url=verify_url(row["verify_token"]))


_NUMBER_TEXT = re.compile(r"[0-9A-Z]+")


def _filtered(principal: Principal, *, q: str = "", kind: str = "", unit_code_path: str | None = None, year: int | None = None,
              status: str = "", on: date | None = None) -> Any:
    on = on or china_today()
    conditions = []
    scope = within(TrainingCertificate.unit_path, scopes_for(principal, "training.view"))
    if scope is not None:
        conditions.append(scope)
    text = q.strip()
    if text:
        named = TrainingCertificate.person.name == text
        prefix = text.upper().replace(" ", "")
        # A number is 0-9 and A-Z only: text with anything else (a LIKE wildcard, a quote) is a name, never a prefix.
        conditions.append((TrainingCertificate.number.like(prefix + "%") | named) if _NUMBER_TEXT.fullmatch(prefix) else named)
    if kind:
        conditions.append(TrainingCertificate.kind == kind)
    if unit_code_path:
        conditions.append(under(TrainingCertificate.unit_path, unit_code_path))
    if year:
        conditions.append((TrainingCertificate.issued_on >= date(year, 1, 1)) & (TrainingCertificate.issued_on <= date(year, 12, 31)))
    if status == "revoked":
        conditions.append(TrainingCertificate.revoked_on.is_not_null())
    elif status == "expired":
        conditions.append(TrainingCertificate.revoked_on.is_null() & (TrainingCertificate.expires_on < on))
    elif status == "valid":
        conditions.append(TrainingCertificate.revoked_on.is_null()
                          & (TrainingCertificate.expires_on.is_null() | (TrainingCertificate.expires_on >= on)))
    return conditions


async def _unit_path(unit: str) -> str | None:
    if not unit:
        return None
    row = await OrgUnit.select(OrgUnit.path).where(OrgUnit.code == unit.strip()).first()
    if row is None:
        raise field_error("unit", f"no org unit '{unit}'")
    return row["path"]


def _check_filters(kind: str, status: str, year: int | None) -> None:
    if kind and kind not in KIND_LETTERS:
        raise field_error("kind", f"one of {', '.join(KIND_LETTERS)}")
    if status and status not in STATUSES:
        raise field_error("status", f"one of {', '.join(STATUSES)}")
    if year is not None and not 2000 <= year <= 2100:
        raise field_error("year", "a year between 2000 and 2100")


async def list_certificates(principal: Principal, page: PageParams, *, q: str = "", kind: str = "", unit: str = "",
                            year: int | None = None, status: str = "") -> tuple[list[TrainingCertificateSummary], int]:
    """Certificates within the caller's scopes, newest first: ``q`` a number (or its beginning) or a holder's full name."""
    if not scopes_for(principal, "training.view"):
        raise PermissionDenied("Your roles do not allow viewing training certificates.", code="forbidden")
    _check_filters(kind, status, year)
    on = china_today()
    conditions = _filtered(principal, q=q, kind=kind, unit_code_path=await _unit_path(unit), year=year, status=status, on=on)
    query = TrainingCertificate.select(*_COLUMNS)
    count = TrainingCertificate.count()
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.order_by(TrainingCertificate.issued_on, TrainingCertificate.id, ascending=False).limit(page.limit).offset(page.offset)
    return [_summary(row, on) for row in rows], await count


EXPORT_MAX = 50_000  # rows per export; narrow the filters for more
STATUS_ZH = {"valid": "有效", "expired": "已过期", "revoked": "已撤销"}


async def certificates_xlsx(principal: Principal, *, q: str = "", kind: str = "", unit: str = "", year: int | None = None,
                            status: str = "") -> bytes:
    items, total = await list_certificates(principal, PageParams(limit=EXPORT_MAX, offset=0), q=q, kind=kind, unit=unit, year=year,
                                           status=status)
    if total > EXPORT_MAX:
        raise InvalidInput(f"{total} certificates match: at most {EXPORT_MAX} per export; narrow the filters.", code="export_too_large")
    header = ["证书编号", "姓名", "证书", "课程", "发证机构", "培训班", "发证日期", "有效期至", "状态", "撤销日期"]
    rows = [[c.number, c.person_name, c.certificate_name_zh, c.course_name_zh, c.unit_name_zh, c.session_code, c.issued_on,
             c.expires_on or "长期", STATUS_ZH[c.status], c.revoked_on or ""] for c in items]
    await accounts.record_audit(principal, "training.certificates.export", "certificate", "", "/",
                                {"rows": len(items), "q": q, "kind": kind, "unit": unit, "year": year, "status": status})
    return spreadsheets.export([("证书", header, rows)])


# --- revocation ------------------------------------------------------------------------------------------------


async def revoke(principal: Principal, number: str, data: CertificateRevokeIn) -> TrainingCertificateOut:
    row = await _visible(principal, number, "training.certify")
    async with write_transaction():
        won = await TrainingCertificate.update({
            TrainingCertificate.revoked_on: china_today(), TrainingCertificate.revoked_reason: data.reason,
            TrainingCertificate.revoked_by: principal.user_id, TrainingCertificate.member_certificate: None,
        }).where((TrainingCertificate.id == row["id"]) & TrainingCertificate.revoked_on.is_null()).returning(TrainingCertificate.id)
        if not won:
            raise Conflict(f"Certificate {row['number']} was already revoked.", code="already_revoked")
        if row["member_certificate"] is not None:
            await MemberCertificate.delete().where(MemberCertificate.id == row["member_certificate"])
        await progress.tally_certificates([row["id"]], -1)
        await accounts.record_audit(principal, "training.certificate.revoke", "certificate", row["number"], row["unit_path"],
                                    {"reason": data.reason, "person": row["person"]})
    return await get_certificate(principal, row["number"])


# --- the printable certificate ---------------------------------------------------------------------------------


def _issuer(unit_name_zh: str) -> str:
    return unit_name_zh if unit_name_zh.endswith("红十字会") else f"{unit_name_zh}红十字会"


def certificate_pdf_bytes(c: TrainingCertificateOut, holder: str) -> bytes:
    """One A4 landscape page in Chinese: what the certificate is, whose, its number and dates, the issuing branch, the
    examiner, and a QR code that opens the public verification page."""
    font = cjk_font()
    width, height = landscape(A4)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=landscape(A4))
    pdf.setTitle(f"{c.certificate_name_zh} {c.number}")
    pdf.setAuthor(_issuer(c.unit_name_zh))
    pdf.setStrokeColor(RED)
    pdf.setLineWidth(3)
    pdf.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    pdf.setLineWidth(0.8)
    pdf.rect(16 * mm, 16 * mm, width - 32 * mm, height - 32 * mm)
    pdf.setFillColor(RED)
    cross_x, cross_y, arm = width / 2, height - 40 * mm, 4 * mm
    pdf.rect(cross_x - arm / 2, cross_y - arm * 1.5, arm, arm * 3, stroke=0, fill=1)
    pdf.rect(cross_x - arm * 1.5, cross_y - arm / 2, arm * 3, arm, stroke=0, fill=1)
    pdf.setFont(font, 30)
    pdf.drawCentredString(width / 2, height - 62 * mm, c.certificate_name_zh or c.course_name_zh)
    pdf.setFillColor(colors.black)
    pdf.setFont(font, 13)
    pdf.drawCentredString(width / 2, height - 72 * mm, "中国红十字会 应急救护培训合格证书")
    lines = [
        ("姓　　名", holder),
        ("证书编号", c.number),
        ("培训课程", f"{c.course_name_zh}（第 {c.course_version} 版）"),
        ("教学大纲", c.syllabus),
        ("学　　时", f"{c.hours.normalize():f} 学时"),
        ("发证日期", c.issued_on.isoformat()),
        ("有效期至", c.expires_on.isoformat() if c.expires_on else "长期有效"),
        ("发证机构", _issuer(c.unit_name_zh)),
        ("考　　官", c.examiner_name or "（无考核）"),
    ]
    y = height - 90 * mm
    for label, value in lines:
        pdf.setFont(font, 12)
        pdf.setFillColor(colors.grey)
        pdf.drawString(40 * mm, y, label)
        pdf.setFillColor(colors.black)
        pdf.setFont(font, 14 if label != "教学大纲" else 11)
        pdf.drawString(70 * mm, y, value)
        y -= 10 * mm
    qr = pyqrcode.create(c.verify_url, error="M")
    modules = qr.code
    size = 50 * mm
    cell = size / (len(modules) + 8)
    left, top = width - 40 * mm - size, 40 * mm + size
    pdf.setFillColor(colors.white)
    pdf.rect(left, top - size, size, size, stroke=0, fill=1)
    pdf.setFillColor(colors.black)
    for r, row in enumerate(modules):
        for col, bit in enumerate(row):
            if bit:
                pdf.rect(left + (col + 4) * cell, top - (r + 5) * cell, cell, cell, stroke=0, fill=1)
    pdf.setFont(font, 10)
    pdf.drawCentredString(left + size / 2, top - size - 6 * mm, "扫码核验证书真伪")
    pdf.setFont(font, 7)
    pdf.setFillColor(colors.grey)
    pdf.drawCentredString(left + size / 2, top - size - 10 * mm, c.verify_url)
    if c.revoked_on:
        pdf.setFillColor(RED)
        pdf.setFont(font, 40)
        pdf.drawCentredString(width / 2, height / 2, f"已撤销 {c.revoked_on}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


async def certificate_pdf(principal: Principal, number: str) -> tuple[bytes, str]:
    """The printable certificate and its file name; a revoked one is refused."""
    c = await get_certificate(principal, number)
    if c.status == "revoked":
        raise Conflict(f"Certificate {c.number} was revoked on {c.revoked_on}: it is not printed.", code="certificate_revoked")
    row = await _row(c.number)
    await accounts.record_audit(principal, "training.certificate.print", "certificate", c.number, row["unit_path"], {})
    return certificate_pdf_bytes(c, c.person_name), f"certificate-{c.number}.pdf"


# --- the public check ------------------------------------------------------------------------------------------


class RateLimit:
    """Per-address sliding window of public look-ups by number and name, in this process (each worker keeps its own):
    a guessed number costs the guesser a request each, at most ``limit`` a ``window`` seconds. QR tokens are not
    limited: 144 random bits cannot be guessed, and an employer's office behind one address checks many in a row."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str) -> None:
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            raise TooManyRequests("Too many certificate checks from this address; wait a minute and try again.",
                                  retry_after=max(1, int(hits[0] + self.window - now) + 1), code="verify_rate_limited")
        hits.append(now)
        if len(self._hits) > 10_000:  # forget quiet addresses
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window}

    def reset(self) -> None:
        self._hits.clear()


VERIFY_LIMIT = RateLimit(limit=30, window=60.0)
_NOT_FOUND = "No such certificate. Check the number and the name as printed."

_PUBLIC = (
    TrainingCertificate.issued_on, TrainingCertificate.expires_on, TrainingCertificate.revoked_on,
    TrainingCertificate.person.name.as_alias("name"),
    TrainingCertificate.course_version.course.name_zh.as_alias("course_name_zh"),
    TrainingCertificate.course_version.course.name_en.as_alias("course_name_en"),
    TrainingCertificate.course_version.certificate_type.name_zh.as_alias("certificate_name_zh"),
    TrainingCertificate.course_version.certificate_type.name_en.as_alias("certificate_name_en"),
)


def _public(row: dict[str, Any]) -> PublicCertificateOut:
    on = china_today()
    return PublicCertificateOut(
        status=status_of(row, on), judged_on=on, certificate_name_zh=row["certificate_name_zh"] or "",
        certificate_name_en=row["certificate_name_en"] or "", course_name_zh=row["course_name_zh"],
        course_name_en=row["course_name_en"], issued_on=row["issued_on"], expires_on=row["expires_on"], holder=mask_name(row["name"]))


async def verify_token(token: str, client: str | None) -> PublicCertificateOut:
    """Anyone: what the printed QR's page shows."""
    token = token.strip()
    row = await TrainingCertificate.select(*_PUBLIC).where(TrainingCertificate.verify_token == token).first() if 0 < len(token) <= 32 else None
    if row is None:
        raise NotFound(_NOT_FOUND, code="certificate_not_found")
    return _public(row)


async def verify_number(data: CertificateLookupIn, client: str | None) -> PublicCertificateOut:
    """Anyone: the same answer for a certificate's number and its holder's full name, when both match."""
    VERIFY_LIMIT.check(client or "unknown")
    number = data.number.strip().upper().replace(" ", "")
    row = None
    if well_formed(number):
        row = await TrainingCertificate.select(*_PUBLIC).where(TrainingCertificate.number == number).first()
    if row is None or row["name"].strip() != data.name.strip():
        raise NotFound(_NOT_FOUND, code="certificate_not_found")
    return _public(row)
