"""Courses, organisations, sessions, enrolment (one by one and from a spreadsheet) and attendance of first-aid
training (应急救护培训). Other parts of the training domain read a session through ``session_for`` and its class
through ``enrolments_of``; they take the session's write lock with ``lock_session``.

Session codes are ``TR-<unit code>-<year>-<serial>``: the organising branch's code, the year the session starts and a
four-digit serial per branch and year (TR-150426-2025-0007).
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import asyncpg
import yaml
from piccolo.query.functions.aggregate import Count
from piccolo.table import Table

from rescueops import crypto, spreadsheets, uploads
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can, can_anywhere, scopes_for
from rescueops.calendar import china_today, utc_now
from rescueops.db import write_transaction
from rescueops.db.pagination import Page, PageParams
from rescueops.db.paths import is_under, under, within
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.members import service as members
from rescueops.members.identity import mask_id
from rescueops.members.schemas import ImportRowError
from rescueops.members.tables import CertificateType, Person
from rescueops.orgs.tables import OrgKind, OrgUnit
from rescueops.training import enrolment_file, progress
from rescueops.training.schemas import (
    AttendanceIn,
    AttendanceRow,
    AttendanceSheet,
    CourseOut,
    CourseVersionIn,
    CourseVersionOut,
    EnrolIn,
    EnrolmentImportReport,
    EnrolmentOut,
    OrganisationIn,
    OrganisationOut,
    ReportedAttendanceIn,
    SessionDetail,
    SessionIn,
    SessionInstructorIn,
    SessionInstructorOut,
    SessionStatusIn,
    SessionSummary,
)
from rescueops.training.tables import (
    Attendance,
    Course,
    CourseKind,
    CourseVersion,
    Enrolment,
    EnrolmentImport,
    EnrolmentStatus,
    Instructor,
    Organisation,
    SessionInstructor,
    SessionStatus,
    TrainingBase,
    TrainingSession,
)
from rescueops.training.targets_file import SECTOR_ZH

# Where a session may go from each status; cancelling needs a reason.
TRANSITIONS: dict[SessionStatus, set[SessionStatus]] = {
    SessionStatus.planned: {SessionStatus.open, SessionStatus.running, SessionStatus.cancelled},
    SessionStatus.open: {SessionStatus.running, SessionStatus.cancelled},
    SessionStatus.running: {SessionStatus.completed, SessionStatus.cancelled},
    SessionStatus.completed: set(),
    SessionStatus.cancelled: set(),
}
ENROLLING = (SessionStatus.planned, SessionStatus.open, SessionStatus.running)
ATTENDING = (SessionStatus.open, SessionStatus.running, SessionStatus.completed)
IMPORT_KEPT = timedelta(days=1)  # an uploaded trainee list not committed within a day is gone
SESSION_UNIT_KINDS = (OrgKind.county, OrgKind.league)
_UNIQUE_VIOLATIONS = (sqlite3.IntegrityError, asyncpg.exceptions.UniqueViolationError)



def _province(path: str) -> str:
    """The first level of an org path: the region (自治区) the unit is in."""
    parts = [p for p in path.split("/") if p]
    return f"/{parts[0]}/" if parts else "/"


# --- the course catalogue ----------------------------------------------------------------------------


def read_catalogue() -> list[dict[str, Any]]:
    text = resources.files("rescueops.training").joinpath("reference/courses.yaml").read_text("utf-8")
    return yaml.safe_load(text)["courses"]


_VERSION_FIELDS = ("syllabus", "hours", "exam_required", "theory_pass", "practical_pass", "validity_months")


async def load_courses(entries: list[dict[str, Any]] | None = None) -> list[str]:
    """Add the catalogue's missing courses and versions; a version no session uses yet is brought in line with the
    file, one a session was planned with is never rewritten (the file's figures for it are reported instead)."""
    entries = read_catalogue() if entries is None else entries
    types = {row["code"]: row["id"] for row in await CertificateType.select(CertificateType.id, CertificateType.code)}
    added: list[str] = []
    kept: list[str] = []
    async with write_transaction():
        for entry in entries:
            kind = CourseKind(entry["kind"])
            course = await Course.select(Course.id).where(Course.code == entry["code"]).first()
            if course is None:
                rows = await Course.insert(Course(code=entry["code"], kind=kind.value, name_zh=entry["name_zh"], name_en=entry["name_en"],
                                                  from_reference=True)).returning(Course.id)
                course_id = rows[0]["id"]
            else:
                course_id = course["id"]
                await Course.update({Course.name_zh: entry["name_zh"], Course.name_en: entry["name_en"]}).where(Course.id == course_id)
            for version in entry["versions"]:
                type_code = version.get("certificate_type")
                if type_code and type_code not in types:
                    raise ValueError(f"course {entry['code']} v{version['version']}: unknown certificate type '{type_code}'")
                values = {name: version.get(name) for name in _VERSION_FIELDS}
                values["hours"] = Decimal(str(values["hours"]))
                values["certificate_type"] = types.get(type_code) if type_code else None
                existing = await CourseVersion.select(CourseVersion.id).where(
                    (CourseVersion.course == course_id) & (CourseVersion.version == version["version"])).first()
                if existing is None:
                    await CourseVersion.insert(CourseVersion(course=course_id, version=version["version"], created_at=utc_now(), **values))
                    added.append(f"{entry['code']} v{version['version']}")
                elif await TrainingSession.exists().where(TrainingSession.course_version == existing["id"]):
                    current = await CourseVersion.select(*[getattr(CourseVersion, n) for n in (*_VERSION_FIELDS, "certificate_type")]
                                                         ).where(CourseVersion.id == existing["id"]).first()
                    if any(_differs(current[n], values[n]) for n in values):
                        kept.append(f"{entry['code']} v{version['version']}")
                else:
                    await CourseVersion.update(values).where(CourseVersion.id == existing["id"])
    lines = [f"training courses: {len(added)} versions added" + (f" ({', '.join(added)})" if added else "")]
    return lines + [f"training course {name}: in use by sessions, kept as it is (publish a new version to change it)" for name in kept]


def _differs(stored: Any, wanted: Any) -> bool:
    if isinstance(wanted, Decimal) or isinstance(stored, Decimal):
        return Decimal(str(stored)) != Decimal(str(wanted))
    return stored != wanted


async def list_courses(*, include_inactive: bool = False) -> list[CourseOut]:
    courses = await Course.select().order_by(Course.id)
    versions = await Table.raw(
        "SELECT v.*, t.code AS type_code, t.name_zh AS type_name_zh,"
        " (SELECT COUNT(*) FROM training_session s WHERE s.course_version = v.id) AS sessions"
        " FROM training_course_version v LEFT JOIN members_certificate_type t ON t.id = v.certificate_type"
        " ORDER BY v.course, v.version DESC")
    by_course: dict[int, list[CourseVersionOut]] = {}
    for v in versions:
        by_course.setdefault(v["course"], []).append(CourseVersionOut(
            id=v["id"], version=v["version"], syllabus=v["syllabus"], hours=v["hours"], exam_required=bool(v["exam_required"]),
            theory_pass=v["theory_pass"], practical_pass=v["practical_pass"], certificate_type=v["type_code"],
            certificate_name_zh=v["type_name_zh"], validity_months=v["validity_months"], created_at=v["created_at"],
            sessions=v["sessions"]))
    return [CourseOut(code=c["code"], kind=c["kind"], name_zh=c["name_zh"], name_en=c["name_en"], active=c["active"],
                      from_reference=c["from_reference"], versions=by_course.get(c["id"], []))
            for c in courses if include_inactive or c["active"]]


async def get_course(code: str) -> CourseOut:
    found = next((c for c in await list_courses(include_inactive=True) if c.code == code), None)
    if found is None:
        raise NotFound(f"No course '{code}'.")
    return found


async def publish_version(principal: Principal, code: str, data: CourseVersionIn) -> CourseOut:
    """A new version of a course, used by sessions planned from now on; who and why go to the audit log."""
    if not can_anywhere(principal, "training.courses"):
        raise PermissionDenied("Your roles do not allow publishing course versions (the region keeps the catalogue).", code="forbidden")
    course = await Course.select().where(Course.code == code).first()
    if course is None:
        raise NotFound(f"No course '{code}'.")
    if course["kind"] == CourseKind.awareness.value and data.exam_required:
        raise field_error("exam_required", "awareness training (普及培训) has no exam and no certificate")
    type_id = None
    if data.certificate_type:
        found = await CertificateType.select(CertificateType.id).where(CertificateType.code == data.certificate_type).first()
        if found is None:
            raise field_error("certificate_type", f"no certificate type '{data.certificate_type}'")
        type_id = found["id"]
    async with write_transaction():
        await Course.update({Course.active: Course.active}).where(Course.id == course["id"])  # one publisher at a time
        latest = await CourseVersion.select(CourseVersion.version).where(CourseVersion.course == course["id"]).order_by(
            CourseVersion.version, ascending=False).first()
        version = (latest["version"] + 1) if latest else 1
        await CourseVersion.insert(CourseVersion(
            course=course["id"], version=version, syllabus=data.syllabus, hours=data.hours, exam_required=data.exam_required,
            theory_pass=data.theory_pass, practical_pass=data.practical_pass, certificate_type=type_id,
            validity_months=data.validity_months, created_by=principal.user_id, created_at=utc_now()))
        await accounts.record_audit(principal, "training.course.version", "course", code, "/",
                                    {"version": version, **data.model_dump(mode="json")})
    return await get_course(code)


async def _latest_version(course_code: str) -> dict[str, Any]:
    rows = await Table.raw(
        "SELECT v.id, v.version, c.kind FROM training_course_version v JOIN training_course c ON c.id = v.course"
        " WHERE c.code = {} AND c.active = {} ORDER BY v.version DESC LIMIT 1", course_code, True)
    if not rows:
        raise field_error("course_code", f"no active course '{course_code}' with a version")
    return rows[0]


# --- organisations --------------------------------------------------------------------------------------


async def _unit(code: str, field: str = "unit_code") -> dict[str, Any]:
    row = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.kind, OrgUnit.path, OrgUnit.name_zh, OrgUnit.name_en).where(
        OrgUnit.code == code).first()
    if row is None:
        raise field_error(field, f"no organisation unit '{code}'")
    return row


def _organisation_out(row: dict[str, Any]) -> OrganisationOut:
    return OrganisationOut(id=row["id"], unit_code=row["unit_code"], unit_name_zh=row["unit_name_zh"], name=row["name"],
                           kind=row["kind"], sector=row["sector"])


_ORGANISATION_COLUMNS = (Organisation.id, Organisation.unit.code.as_alias("unit_code"), Organisation.unit.name_zh.as_alias("unit_name_zh"),
                         Organisation.unit_path, Organisation.name, Organisation.kind, Organisation.sector)


async def create_organisation(principal: Principal, data: OrganisationIn) -> OrganisationOut:
    unit = await _unit(data.unit_code)
    if unit["kind"] != OrgKind.county.value:
        raise field_error("unit_code", f"{unit['name_zh']} is not a county (旗县区): organisations are kept under their county")
    authorize(principal, "training.manage", unit["path"])
    async with write_transaction():
        if await Organisation.exists().where((Organisation.unit == unit["id"]) & (Organisation.name == data.name)):
            raise Conflict(f"{unit['name_zh']} already has an organisation named '{data.name}'.", code="duplicate_organisation")
        rows = await Organisation.insert(Organisation(unit=unit["id"], unit_path=unit["path"], name=data.name, kind=data.kind.value,
                                                      sector=data.sector.value, created_at=utc_now())).returning(Organisation.id)
        await accounts.record_audit(principal, "training.organisation.create", "organisation", str(rows[0]["id"]), unit["path"],
                                    data.model_dump(mode="json"))
    row = await Organisation.select(*_ORGANISATION_COLUMNS).where(Organisation.id == rows[0]["id"]).first()
    return _organisation_out(row)


async def list_organisations(principal: Principal, *, unit_code: str | None = None, limit: int = 500) -> list[OrganisationOut]:
    """The organisations the caller may see, optionally under one unit, by name."""
    query = Organisation.select(*_ORGANISATION_COLUMNS).order_by(Organisation.name).limit(limit)
    scope = within(Organisation.unit_path, scopes_for(principal, "training.view"))
    if not scopes_for(principal, "training.view"):
        return []
    if scope is not None:
        query = query.where(scope)
    if unit_code:
        query = query.where(under(Organisation.unit_path, (await _unit(unit_code)).get("path")))
    return [_organisation_out(row) for row in await query]


# --- sessions ---------------------------------------------------------------------------------------------

_SESSION_SQL = (
    "SELECT s.*, c.kind AS course_kind, c.code AS course_code, c.name_zh AS course_name_zh, c.name_en AS course_name_en,"
    " v.version AS course_version_number, v.syllabus, v.hours, v.exam_required, v.theory_pass, v.practical_pass,"
    " t.code AS certificate_type, v.validity_months, u.code AS unit_code, u.name_zh AS unit_name_zh"
    " FROM training_session s JOIN training_course_version v ON v.id = s.course_version"
    " JOIN training_course c ON c.id = v.course JOIN orgs_unit u ON u.id = s.unit"
    " LEFT JOIN members_certificate_type t ON t.id = v.certificate_type"
)


async def _session_row(where: str, value: Any) -> dict[str, Any] | None:
    rows = await Table.raw(f"{_SESSION_SQL} WHERE {where} = {{}}", value)
    return rows[0] if rows else None


async def session_for(principal: Principal, code: str, action: str = "training.view") -> dict[str, Any]:
    """The session ``code`` (all its columns, plus its course's and version's figures and its unit's code), once
    ``action`` is allowed on its unit; 404 when the principal may not even view it."""
    row = await _session_row("s.code", code)
    if row is None:
        raise NotFound(f"No training session '{code}', or it is outside your scope.")
    authorize(principal, "training.view", row["unit_path"], hide=True)
    if action != "training.view":
        authorize(principal, action, row["unit_path"])
    return row


async def lock_session(session_id: int) -> None:
    """Take the session row's write lock (a no-op update; call it first in the write transaction): enrolments, the
    instructors and the exam sittings of one session are then checked and written one request at a time."""
    await TrainingSession.update({TrainingSession.capacity: TrainingSession.capacity}).where(TrainingSession.id == session_id)


async def enrolments_of(session_id: int) -> list[dict[str, Any]]:
    """The session's enrolment rows (withdrawn ones too) with the person's name and ID number's last four, by name."""
    return await Table.raw(
        "SELECT e.id, e.session, e.person, e.status, e.hours, e.enrolled_by, e.enrolled_at,"
        " p.name AS name, p.id_number_last4 AS id_number_last4, p.gender AS gender"
        " FROM training_enrolment e JOIN members_person p ON p.id = e.person WHERE e.session = {} ORDER BY p.name, e.id",
        int(session_id))


async def _next_code(unit_code: str, year: int, offset: int) -> str:
    prefix = f"TR-{unit_code}-{year}-"
    count = await TrainingSession.count().where(TrainingSession.code.like(prefix + "%"))
    return f"{prefix}{count + 1 + offset:04d}"


async def _base_for(base_code: str, unit: dict[str, Any]) -> dict[str, Any]:
    base = await TrainingBase.select().where(TrainingBase.code == base_code).first()
    if base is None:
        raise field_error("base_code", f"no training base '{base_code}'")
    if not base["active"]:
        raise field_error("base_code", f"the training base {base['name_zh']} is closed (not active)")
    if not (is_under(base["unit_path"], unit["path"]) or is_under(unit["path"], base["unit_path"])):
        raise field_error("base_code", f"the training base {base['name_zh']} belongs to another branch, outside {unit['name_zh']}")
    return base


async def plan_session(principal: Principal, data: SessionIn) -> SessionDetail:
    unit = await _unit(data.unit_code)
    if unit["kind"] not in [k.value for k in SESSION_UNIT_KINDS]:
        raise field_error("unit_code", f"{unit['name_zh']} is not a county or league Red Cross branch")
    authorize(principal, "training.manage", unit["path"])
    version = await _latest_version(data.course_code)
    sector = data.sector.value
    if data.organisation_id is not None:
        organisation = await Organisation.select().where(Organisation.id == data.organisation_id).first()
        if organisation is None or not is_under(organisation["unit_path"], unit["path"]):
            raise field_error("organisation_id", f"no organisation #{data.organisation_id} under {unit['name_zh']}")
        if data.sector.value == "other":
            sector = organisation["sector"]
    base = await _base_for(data.base_code, unit) if data.base_code else None
    for attempt in range(5):
        try:
            async with write_transaction():
                code = await _next_code(unit["code"], data.starts_on.year, attempt)
                await TrainingSession.insert(TrainingSession(
                    code=code, course_version=version["id"], unit=unit["id"], unit_path=unit["path"], organisation=data.organisation_id,
                    sector=sector, base=base["id"] if base else None, place=data.place, title=data.title, starts_on=data.starts_on,
                    ends_on=data.ends_on, capacity=data.capacity, status=SessionStatus.planned.value, created_by=principal.user_id,
                    created_at=utc_now()))
                await accounts.record_audit(principal, "training.session.plan", "training_session", code, unit["path"],
                                            {**data.model_dump(mode="json"), "course_version": version["version"]})
            break
        except _UNIQUE_VIOLATIONS:
            if attempt == 4:
                raise
    return await get_session(principal, code)


async def change_status(principal: Principal, code: str, data: SessionStatusIn) -> SessionDetail:
    session = await session_for(principal, code, "training.manage")
    current = SessionStatus(session["status"])
    if data.status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise Conflict(f"A {current.value} session cannot become {data.status.value} (allowed: {allowed}).", code="invalid_transition")
    async with write_transaction():
        await lock_session(session["id"])
        now = await TrainingSession.select(TrainingSession.status, TrainingSession.reported_attendance).where(
            TrainingSession.id == session["id"]).first()
        if now["status"] != current.value:
            raise Conflict("The session's status changed meanwhile; reload and try again.", code="invalid_transition")
        values: dict[Any, Any] = {TrainingSession.status: data.status.value}
        if data.status is SessionStatus.cancelled and now["reported_attendance"]:
            # A cancelled session reached no one: its reported heads leave the progress counts.
            await progress.tally_attendance(session["id"], -now["reported_attendance"])
            values[TrainingSession.reported_attendance] = 0
        await TrainingSession.update(values).where(TrainingSession.id == session["id"])
        await accounts.record_audit(principal, "training.session.status", "training_session", code, session["unit_path"],
                                    {"from": current.value, "to": data.status.value, "reason": data.reason,
                                     "reported_attendance_removed": now["reported_attendance"] if SessionStatus.cancelled == data.status else 0})
    return await get_session(principal, code)


_SUMMARY_SQL = (
    "SELECT s.id, s.code, s.title, s.sector, s.place, s.starts_on, s.ends_on, s.capacity, s.status, s.reported_attendance,"
    " s.organisation AS organisation_id, s.unit_path, s.created_at,"
    " c.code AS course_code, c.kind AS course_kind, c.name_zh AS course_name_zh, v.version AS course_version,"
    " u.code AS unit_code, u.name_zh AS unit_name_zh, o.name AS organisation_name, b.code AS base_code, b.name_zh AS base_name_zh,"
    " (SELECT COUNT(*) FROM training_enrolment e WHERE e.session = s.id AND e.status = 'enrolled') AS enrolled"
    " FROM training_session s JOIN training_course_version v ON v.id = s.course_version"
    " JOIN training_course c ON c.id = v.course JOIN orgs_unit u ON u.id = s.unit"
    " LEFT JOIN training_organisation o ON o.id = s.organisation LEFT JOIN training_base b ON b.id = s.base"
)


def _upper(path: str) -> str:
    return path[:-1] + "0"


async def _session_rows(principal: Principal, *, unit_code: str | None = None, kind: str | None = None, sector: str | None = None,
                        status: str | None = None, starts_from: date | None = None, starts_to: date | None = None,
                        page: PageParams | None = None) -> tuple[list[dict[str, Any]], int]:
    scopes = scopes_for(principal, "training.view")
    if not scopes:
        return [], 0
    conditions: list[str] = []
    args: list[Any] = []
    if "/" not in scopes:
        conditions.append("(" + " OR ".join("(s.unit_path >= {} AND s.unit_path < {})" for _ in scopes) + ")")
        for scope in scopes:
            args += [scope, _upper(scope)]
    if unit_code:
        path = (await _unit(unit_code, "unit"))["path"]
        conditions.append("s.unit_path >= {} AND s.unit_path < {}")
        args += [path, _upper(path)]
    for column, value in (("c.kind", kind), ("s.sector", sector), ("s.status", status)):
        if value:
            conditions.append(f"{column} = {{}}")
            args.append(value)
    if starts_from:
        conditions.append("s.starts_on >= {}")
        args.append(starts_from)
    if starts_to:
        conditions.append("s.starts_on <= {}")
        args.append(starts_to)
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    joins = (" FROM training_session s JOIN training_course_version v ON v.id = s.course_version"
             " JOIN training_course c ON c.id = v.course")
    total = (await Table.raw(f"SELECT COUNT(*) AS n{joins}{where}", *args))[0]["n"]
    limit = f" LIMIT {int(page.limit)} OFFSET {int(page.offset)}" if page else " LIMIT 20000"
    rows = await Table.raw(f"{_SUMMARY_SQL}{where} ORDER BY s.starts_on DESC, s.id DESC{limit}", *args)
    return rows, total


def _summary(row: dict[str, Any]) -> SessionSummary:
    return SessionSummary.model_validate({k: v for k, v in row.items() if k in SessionSummary.model_fields})


async def list_sessions(principal: Principal, page: PageParams, **filters: Any) -> Page[SessionSummary]:
    """Sessions within the caller's scope, newest first; filters: unit_code (its subtree), kind, sector, status,
    starts_from, starts_to (the start date's range)."""
    rows, total = await _session_rows(principal, page=page, **filters)
    return Page.of([_summary(r) for r in rows], total, page)


async def get_session(principal: Principal, code: str) -> SessionDetail:
    session = await session_for(principal, code)
    row = (await Table.raw(f"{_SUMMARY_SQL} WHERE s.id = {{}}", session["id"]))[0]
    return SessionDetail(
        **_summary(row).model_dump(), syllabus=session["syllabus"], hours=session["hours"], exam_required=session["exam_required"],
        theory_pass=session["theory_pass"], practical_pass=session["practical_pass"], certificate_type=session["certificate_type"],
        validity_months=session["validity_months"], instructors=await _instructors_of(session["id"]), created_at=session["created_at"])


# --- instructors of a session ------------------------------------------------------------------------------


async def _instructors_of(session_id: int) -> list[SessionInstructorOut]:
    rows = await Table.raw(
        "SELECT si.instructor, si.hours, i.person, i.kind, p.name, u.code AS unit_code FROM training_session_instructor si"
        " JOIN training_instructor i ON i.id = si.instructor JOIN members_person p ON p.id = i.person"
        " JOIN orgs_unit u ON u.id = i.unit WHERE si.session = {} ORDER BY p.name", session_id)
    return [SessionInstructorOut(instructor_id=r["instructor"], person_id=r["person"], name=r["name"], kind=r["kind"],
                                 unit_code=r["unit_code"], hours=r["hours"]) for r in rows]


async def instructor_choices(session: dict[str, Any]) -> list[dict[str, Any]]:
    """Active instructors of the session's region qualified over its dates, for the page's choice (by name)."""
    province = _province(session["unit_path"])
    return await Table.raw(
        "SELECT i.id, p.name, i.kind, u.name_zh AS unit_name_zh FROM training_instructor i JOIN members_person p ON p.id = i.person"
        " JOIN orgs_unit u ON u.id = i.unit WHERE i.active = {} AND i.unit_path >= {} AND i.unit_path < {}"
        " AND i.qualified_on <= {} AND (i.qualification_expires_on IS NULL OR i.qualification_expires_on >= {})"
        " AND i.id NOT IN (SELECT instructor FROM training_session_instructor WHERE session = {}) ORDER BY p.name LIMIT 500",
        True, province, _upper(province), session["starts_on"], session["ends_on"], session["id"])


async def add_instructor(principal: Principal, code: str, data: SessionInstructorIn) -> SessionDetail:
    """An instructor teaches the session: active, of the same region, qualified over the session's dates, for at most
    the course's hours, and not the examiner of one of its exam sittings (教考分离)."""
    session = await session_for(principal, code, "training.manage")
    if session["status"] == SessionStatus.cancelled.value:
        raise Conflict("The session is cancelled.", code="session_closed")
    instructor = await Instructor.select(Instructor.id, Instructor.person, Instructor.person.name.as_alias("name"), Instructor.unit_path,
                                         Instructor.active, Instructor.qualified_on, Instructor.qualification_expires_on
                                         ).where(Instructor.id == data.instructor_id).first()
    if instructor is None:
        raise field_error("instructor_id", f"no instructor #{data.instructor_id}")
    name = instructor["name"]
    if not instructor["active"]:
        raise field_error("instructor_id", f"{name} is not an active instructor")
    if _province(instructor["unit_path"]) != _province(session["unit_path"]):
        raise field_error("instructor_id", f"{name} is an instructor of another province's Red Cross")
    if instructor["qualified_on"] > session["starts_on"]:
        raise field_error("instructor_id", f"{name} qualified on {instructor['qualified_on']}, after the session starts ({session['starts_on']})")
    expires = instructor["qualification_expires_on"]
    if expires is not None and expires < session["ends_on"]:
        raise field_error("instructor_id", f"{name}'s qualification ends on {expires}, before the session ends ({session['ends_on']})")
    if data.hours > Decimal(str(session["hours"])):
        raise field_error("hours", f"{data.hours} hours is more than the course's {session['hours']} hours")
    async with write_transaction():
        await lock_session(session["id"])
        sitting = await Table.raw(
            "SELECT x.attempt, x.held_on FROM training_exam_sitting x JOIN training_examiner e ON e.id = x.examiner"
            " WHERE x.session = {} AND e.person = {} ORDER BY x.attempt LIMIT 1", session["id"], instructor["person"])
        if sitting:
            raise Conflict(f"{name} is the examiner of this session's exam (sitting {sitting[0]['attempt']} on {sitting[0]['held_on']}): "
                           "examining is kept apart from teaching (教考分离), so they cannot also teach it.", code="examiner_cannot_teach")
        if await SessionInstructor.exists().where((SessionInstructor.session == session["id"]) & (SessionInstructor.instructor == instructor["id"])):
            raise Conflict(f"{name} already teaches this session.", code="already_teaching")
        await SessionInstructor.insert(SessionInstructor(session=session["id"], instructor=instructor["id"], hours=data.hours))
        await accounts.record_audit(principal, "training.session.instructor.add", "training_session", code, session["unit_path"],
                                    {"instructor": instructor["id"], "hours": str(data.hours)})
    return await get_session(principal, code)


async def remove_instructor(principal: Principal, code: str, instructor_id: int) -> SessionDetail:
    session = await session_for(principal, code, "training.manage")
    async with write_transaction():
        await lock_session(session["id"])
        where = (SessionInstructor.session == session["id"]) & (SessionInstructor.instructor == instructor_id)
        if not await SessionInstructor.exists().where(where):
            raise NotFound(f"Instructor #{instructor_id} does not teach session {code}.")
        await SessionInstructor.delete().where(where)
        await accounts.record_audit(principal, "training.session.instructor.remove", "training_session", code, session["unit_path"],
                                    {"instructor": instructor_id})
    return await get_session(principal, code)


# --- enrolment ----------------------------------------------------------------------------------------------


def _enrolment_out(row: dict[str, Any]) -> EnrolmentOut:
    return EnrolmentOut(id=row["id"], person_id=row["person"], name=row["name"], gender=row["gender"], id_number=mask_id(row["id_number_last4"]),
                        status=row["status"], hours=row["hours"], enrolled_at=row["enrolled_at"])


async def list_enrolments(principal: Principal, code: str) -> list[EnrolmentOut]:
    session = await session_for(principal, code)
    return [_enrolment_out(row) for row in await enrolments_of(session["id"])]


def _check_enrolling(session: dict[str, Any]) -> None:
    if session["course_kind"] == CourseKind.awareness.value:
        raise Conflict("Awareness sessions (普及培训) count heads rather than enrol named trainees: report the attendance instead.",
                       code="awareness_session")
    if session["status"] not in [s.value for s in ENROLLING]:
        raise Conflict(f"The session is {session['status']}: it takes no more enrolments.", code="session_closed")


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


async def _seats_left(session_id: int, capacity: int) -> int:
    taken = await Enrolment.count().where((Enrolment.session == session_id) & (Enrolment.status == EnrolmentStatus.enrolled.value))
    return capacity - taken


async def _enrol_one(principal: Principal, session: dict[str, Any], data: EnrolIn) -> int:
    """Inside the caller's write transaction, the session locked: find or add the person, then enrol them."""
    existing = await members.find_person_by_id_number(data.id_number)
    if existing is not None and not _same_name(existing["name"], data.name):
        raise field_error("name", "differs from the name on record for this ID number: check the name and the ID number")
    person_id = existing["id"] if existing else await members.insert_person(data.person())
    enrolment = await Enrolment.select(Enrolment.id, Enrolment.status).where(
        (Enrolment.session == session["id"]) & (Enrolment.person == person_id)).first()
    if enrolment is not None and enrolment["status"] == EnrolmentStatus.enrolled.value:
        raise Conflict(f"{data.name} is already enrolled in this session.", code="already_enrolled")
    if enrolment is not None:  # withdrawn earlier, back again: the same enrolment, its attendance kept
        await Enrolment.update({Enrolment.status: EnrolmentStatus.enrolled.value, Enrolment.enrolled_by: principal.user_id}).where(
            Enrolment.id == enrolment["id"])
        return enrolment["id"]
    rows = await Enrolment.insert(Enrolment(session=session["id"], person=person_id, enrolled_by=principal.user_id,
                                            enrolled_at=utc_now())).returning(Enrolment.id)
    return rows[0]["id"]


async def enrol(principal: Principal, code: str, data: EnrolIn) -> EnrolmentOut:
    """Enrol one trainee; the place is counted and taken in one transaction, so the last seat goes to one request."""
    session = await session_for(principal, code, "training.manage")
    _check_enrolling(session)
    async with write_transaction():
        await lock_session(session["id"])
        if await _seats_left(session["id"], session["capacity"]) <= 0:
            raise Conflict(f"The session is full ({session['capacity']} places).", code="session_full")
        enrolment_id = await _enrol_one(principal, session, data)
        await accounts.record_audit(principal, "training.enrolment.add", "training_session", code, session["unit_path"],
                                    {"enrolment": enrolment_id})
    row = next(r for r in await enrolments_of(session["id"]) if r["id"] == enrolment_id)
    return _enrolment_out(row)


async def withdraw(principal: Principal, code: str, enrolment_id: int) -> EnrolmentOut:
    session = await session_for(principal, code, "training.manage")
    async with write_transaction():
        await lock_session(session["id"])
        row = await Enrolment.select(Enrolment.status).where((Enrolment.id == enrolment_id) & (Enrolment.session == session["id"])).first()
        if row is None:
            raise NotFound(f"No enrolment #{enrolment_id} in session {code}.")
        if row["status"] == EnrolmentStatus.withdrawn.value:
            raise Conflict("This trainee has already withdrawn.", code="already_withdrawn")
        await Enrolment.update({Enrolment.status: EnrolmentStatus.withdrawn.value}).where(Enrolment.id == enrolment_id)
        await accounts.record_audit(principal, "training.enrolment.withdraw", "training_session", code, session["unit_path"],
                                    {"enrolment": enrolment_id})
    row = next(r for r in await enrolments_of(session["id"]) if r["id"] == enrolment_id)
    return _enrolment_out(row)


# --- enrolment from a spreadsheet -------------------------------------------------------------------------------


async def _validate_list(session: dict[str, Any], parsed: Any) -> tuple[list[tuple[int, EnrolIn]], list[ImportRowError], int]:
    """Every row's problems, the same person twice in the file, people whose name differs from the one on record,
    people already enrolled, and rows past the free places."""
    header = enrolment_file.HEADER_OF
    errors: list[ImportRowError] = []
    valid: list[tuple[int, EnrolIn]] = []
    seen: dict[str, int] = {}
    for number, values in parsed.rows:
        enrolment, problems = enrolment_file.to_enrolment(values)
        if enrolment is not None:
            earlier = seen.get(enrolment.id_number)
            if earlier is not None:
                problems.append((header["id_number"], f"the same person as row {earlier}"))
            seen.setdefault(enrolment.id_number, number)
        errors += [ImportRowError(row=number, column=column, message=message) for column, message in problems]
        if enrolment is not None and not problems:
            valid.append((number, enrolment))
    hashes = {crypto.lookup_hash(e.id_number): (number, e) for number, e in valid}
    people = await Person.select(Person.id, Person.name, Person.id_number_hash).where(Person.id_number_hash.is_in(list(hashes) or [""]))
    enrolled = {row["person"] for row in await Enrolment.select(Enrolment.person).where(
        (Enrolment.session == session["id"]) & (Enrolment.status == EnrolmentStatus.enrolled.value)
        & Enrolment.person.is_in([p["id"] for p in people] or [0]))}
    bad: set[int] = set()
    for person in people:
        number, enrolment = hashes[person["id_number_hash"]]
        if not _same_name(person["name"], enrolment.name):
            errors.append(ImportRowError(row=number, column=header["name"],
                                         message="differs from the name on record for this ID number: check the name and the ID number"))
            bad.add(number)
        elif person["id"] in enrolled:
            errors.append(ImportRowError(row=number, column=header["id_number"], message="already enrolled in this session"))
            bad.add(number)
    valid = [item for item in valid if item[0] not in bad]
    seats = await _seats_left(session["id"], session["capacity"])
    for number, _ in valid[max(seats, 0):]:
        errors.append(ImportRowError(row=number, column="—", message=f"over capacity: the session has {max(seats, 0)} free places"))
    return valid[:max(seats, 0)], sorted(errors, key=lambda e: (e.row, e.column)), seats


def _read_list(file_name: str, content: bytes) -> Any:
    try:
        return enrolment_file.read(file_name, content)
    except enrolment_file.SpreadsheetError as error:
        raise InvalidInput(f"{file_name}: {error}", code="bad_enrolment_file") from error


async def check_enrolment_file(principal: Principal, code: str, file_name: str, content: bytes) -> EnrolmentImportReport:
    """Read and check an uploaded trainee list; nothing is written but the (encrypted) file, kept a day for the commit."""
    session = await session_for(principal, code, "training.manage")
    _check_enrolling(session)
    file_name = uploads.display_name(file_name, "trainees")
    parsed = _read_list(file_name, content)
    valid, errors, seats = await _validate_list(session, parsed)
    report = EnrolmentImportReport(batch_id=None, file_name=file_name, rows=len(parsed.rows), valid_rows=len(valid), errors=errors,
                                   seats_left=max(seats, 0))
    async with write_transaction():
        rows = await EnrolmentImport.insert(EnrolmentImport(
            session=session["id"], file_name=file_name, content_encrypted=crypto.encrypt_bytes(content), report=report.model_dump_json(),
            uploaded_by=principal.user_id, uploaded_at=utc_now())).returning(EnrolmentImport.id)
    return report.model_copy(update={"batch_id": rows[0]["id"]})


async def commit_enrolment_import(principal: Principal, code: str, batch_id: int) -> EnrolmentImportReport:
    """Enrol every trainee of a checked list, or none: the file is read and checked again, under the session's lock."""
    session = await session_for(principal, code, "training.manage")
    _check_enrolling(session)
    batch = await EnrolmentImport.select().where((EnrolmentImport.id == batch_id) & (EnrolmentImport.session == session["id"])).first()
    if batch is None or batch["uploaded_by"] != principal.user_id:
        raise NotFound(f"No upload #{batch_id} of yours for session {code}; upload the file again.")
    if batch["committed_at"] is not None:
        raise Conflict("This file was imported already.", code="already_imported")
    if batch["uploaded_at"] < utc_now() - IMPORT_KEPT:
        raise Conflict("This upload is more than a day old and has expired; upload the file again.", code="import_expired")
    parsed = _read_list(batch["file_name"], crypto.decrypt_bytes(batch["content_encrypted"]))
    async with write_transaction():
        await lock_session(session["id"])
        valid, errors, seats = await _validate_list(session, parsed)
        if errors:
            raise InvalidInput(f"{len(errors)} problems in {len({e.row for e in errors})} rows: nothing was imported. "
                               "Correct the file and check it again.", code="import_has_errors",
                               details=[e.model_dump() for e in errors[:200]])
        for _, enrolment in valid:
            await _enrol_one(principal, session, enrolment)
        await EnrolmentImport.update({EnrolmentImport.committed_at: utc_now(), EnrolmentImport.content_encrypted: ""}).where(
            EnrolmentImport.id == batch_id)
        await accounts.record_audit(principal, "training.enrolment.import", "training_session", code, session["unit_path"],
                                    {"file": batch["file_name"], "enrolled": len(valid)})
    return EnrolmentImportReport(batch_id=batch_id, file_name=batch["file_name"], rows=len(parsed.rows), valid_rows=len(valid), errors=[],
                                 committed=len(valid), seats_left=max(seats - len(valid), 0))


async def purge_enrolment_imports() -> str:
    """Housekeeping: uploaded trainee lists not committed within a day are deleted (they hold ID numbers)."""
    cutoff = utc_now() - IMPORT_KEPT
    stale = await EnrolmentImport.count().where(EnrolmentImport.uploaded_at < cutoff)
    await EnrolmentImport.delete().where(EnrolmentImport.uploaded_at < cutoff)
    return f"{stale} trainee-list uploads removed"


# --- attendance ------------------------------------------------------------------------------------------------


async def record_attendance(principal: Principal, code: str, data: AttendanceIn) -> AttendanceSheet:
    """One day's hours for the class; each enrolment's hours become the sum of its days, in the same transaction."""
    session = await session_for(principal, code, "training.manage")
    if session["course_kind"] == CourseKind.awareness.value:
        raise Conflict("Awareness sessions (普及培训) report heads, not hours per trainee.", code="awareness_session")
    if session["status"] not in [s.value for s in ATTENDING]:
        raise Conflict(f"The session is {session['status']}: attendance is recorded once it is open or running.", code="session_closed")
    if not session["starts_on"] <= data.day <= session["ends_on"]:
        raise field_error("day", f"{data.day} is not a day of the session ({session['starts_on']} – {session['ends_on']})")
    if data.day > china_today():
        raise field_error("day", f"{data.day} is still to come")
    course_hours = Decimal(str(session["hours"]))
    async with write_transaction():
        await lock_session(session["id"])
        class_ = {r["id"]: r for r in await enrolments_of(session["id"])}
        other_days: dict[int, Decimal] = {}
        for row in await Attendance.select(Attendance.enrolment, Attendance.hours).where(
                Attendance.enrolment.is_in(list(class_) or [0]) & (Attendance.day != data.day)):
            other_days[row["enrolment"]] = other_days.get(row["enrolment"], Decimal(0)) + Decimal(str(row["hours"]))
        problems = []
        for entry in data.entries:
            trainee = class_.get(entry.enrolment_id)
            if trainee is None:
                problems.append(f"enrolment #{entry.enrolment_id} is not in this session")
            elif trainee["status"] != EnrolmentStatus.enrolled.value and entry.hours > 0:
                problems.append(f"{trainee['name']} has withdrawn")
            elif other_days.get(entry.enrolment_id, Decimal(0)) + entry.hours > course_hours:
                problems.append(f"{trainee['name']}: {other_days.get(entry.enrolment_id, Decimal(0)) + entry.hours} hours in all, "
                                f"more than the course's {course_hours}")
        if problems:
            raise InvalidInput("Nothing was recorded: " + "; ".join(problems) + ".", code="invalid_input",
                               details=[{"field": "entries", "message": p} for p in problems])
        ids = [e.enrolment_id for e in data.entries]
        await Attendance.delete().where(Attendance.enrolment.is_in(ids) & (Attendance.day == data.day))
        await Attendance.insert(*[Attendance(enrolment=e.enrolment_id, day=data.day, hours=e.hours, recorded_by=principal.user_id)
                                  for e in data.entries])
        await Table.raw(
            "UPDATE training_enrolment SET hours = (SELECT COALESCE(SUM(a.hours), 0) FROM training_attendance a"
            f" WHERE a.enrolment = training_enrolment.id) WHERE id IN ({', '.join(str(int(i)) for i in ids)})")
        await accounts.record_audit(principal, "training.attendance.record", "training_session", code, session["unit_path"],
                                    {"day": data.day.isoformat(), "entries": len(ids)})
    return await attendance_sheet(principal, code)


def _session_days(session: dict[str, Any]) -> list[date]:
    days = min((session["ends_on"] - session["starts_on"]).days, 366) + 1
    return [session["starts_on"] + timedelta(days=n) for n in range(days)]


async def _sheet_rows(session: dict[str, Any]) -> list[dict[str, Any]]:
    class_ = await enrolments_of(session["id"])
    days: dict[int, dict[date, Decimal]] = {}
    for row in await Attendance.select(Attendance.enrolment, Attendance.day, Attendance.hours).where(
            Attendance.enrolment.is_in([r["id"] for r in class_] or [0])):
        days.setdefault(row["enrolment"], {})[row["day"]] = Decimal(str(row["hours"]))
    return [{**r, "days": days.get(r["id"], {})} for r in class_]


async def attendance_sheet(principal: Principal, code: str) -> AttendanceSheet:
    session = await session_for(principal, code)
    rows = await _sheet_rows(session)
    return AttendanceSheet(code=code, days=_session_days(session), course_hours=session["hours"], rows=[
        AttendanceRow(enrolment_id=r["id"], name=r["name"], id_number=mask_id(r["id_number_last4"]), status=r["status"], days=r["days"],
                      hours=r["hours"]) for r in rows])


async def set_reported_attendance(principal: Principal, code: str, data: ReportedAttendanceIn) -> SessionDetail:
    """An awareness session's heads (人次), set or corrected; the progress tally moves by the difference in the same
    transaction."""
    session = await session_for(principal, code, "training.manage")
    if session["course_kind"] != CourseKind.awareness.value:
        raise Conflict("Only awareness sessions (普及培训) report heads; enrol the trainees of this one.", code="not_awareness")
    if session["status"] == SessionStatus.cancelled.value:
        raise Conflict("The session is cancelled.", code="session_closed")
    async with write_transaction():
        await lock_session(session["id"])
        old = (await TrainingSession.select(TrainingSession.reported_attendance).where(TrainingSession.id == session["id"]).first())[
            "reported_attendance"]
        await TrainingSession.update({TrainingSession.reported_attendance: data.count}).where(TrainingSession.id == session["id"])
        await progress.tally_attendance(session["id"], data.count - old)
        await accounts.record_audit(principal, "training.attendance.report", "training_session", code, session["unit_path"],
                                    {"from": old, "to": data.count, "note": data.note})
    return await get_session(principal, code)


# --- exports ------------------------------------------------------------------------------------------------------


async def export_sessions(principal: Principal, **filters: Any) -> bytes:
    rows, _ = await _session_rows(principal, **filters)
    return enrolment_file.sessions_book(rows)


async def export_class(principal: Principal, code: str) -> bytes:
    session = await session_for(principal, code)
    return enrolment_file.class_book(session, await enrolments_of(session["id"]))


async def export_attendance(principal: Principal, code: str) -> bytes:
    session = await session_for(principal, code)
    return enrolment_file.attendance_book(session, _session_days(session), await _sheet_rows(session))


# Chinese names in the exports of the catalogue and the organisations.
COURSE_KIND_ZH = {CourseKind.awareness.value: "普及培训", CourseKind.first_aider.value: "红十字救护员", CourseKind.junior_first_aider.value:
                  "初级救护员", CourseKind.cpr_aed.value: "“CPR+AED”", CourseKind.instructor.value: "救护师资", CourseKind.refresher.value: "复训"}
ORGANISATION_KIND_ZH = {"school": "学校", "company": "企业", "agency": "机关事业单位", "village": "村（嘎查）", "community": "社区", "other": "其他"}


def _mark(value: int | None) -> int | str:
    return "" if value is None else value


async def export_courses() -> bytes:
    """The course catalogue as .xlsx: one row per course version, newest first within a course, as on the page."""
    rows = [[c.code, c.name_zh, c.name_en, COURSE_KIND_ZH[c.kind.value], v.version, "是" if index == 0 else "", v.syllabus,
             enrolment_file.number(v.hours), "是" if v.exam_required else "否", _mark(v.theory_pass), _mark(v.practical_pass),
             v.certificate_name_zh or "", _mark(v.validity_months), v.sessions, "启用" if c.active else "停用"]
            for c in await list_courses(include_inactive=True) for index, v in enumerate(c.versions)]
    return spreadsheets.export([("课程目录", ["课程代码", "课程名称", "英文名称", "类别", "版本", "现行版本", "教学大纲", "学时", "需考核",
                                          "理论合格分", "实操合格分", "证书", "有效期（月）", "已开班次", "状态"], rows)])


async def export_organisations(principal: Principal, *, unit_code: str | None = None) -> bytes:
    """The named organisations the caller may see (optionally under one unit) as .xlsx, with the sessions held for each."""
    found = await list_organisations(principal, unit_code=unit_code, limit=50_000)
    held: dict[int, int] = {}
    for row in await TrainingSession.select(TrainingSession.organisation, Count()).where(
            TrainingSession.organisation.is_in([o.id for o in found] or [0]) & (TrainingSession.status != SessionStatus.cancelled.value)
            ).group_by(TrainingSession.organisation):
        held[row["organisation"]] = row["count"]
    rows = [[o.name, ORGANISATION_KIND_ZH[o.kind.value], SECTOR_ZH[o.sector.value], o.unit_name_zh, o.unit_code, held.get(o.id, 0)]
            for o in found]
    return spreadsheets.export([("培训单位", ["名称", "类型", "领域", "所属旗县区", "旗县区代码", "培训班次（未取消）"], rows)])


async def export_session_instructors(principal: Principal, code: str) -> bytes:
    """The instructors who teach a session, with their hours, as .xlsx."""
    session = await session_for(principal, code)
    names = {r["code"]: r["name_zh"] for r in await OrgUnit.select(OrgUnit.code, OrgUnit.name_zh)}
    rows = [[i.name, {"full_time": "专职", "part_time": "兼职"}.get(i.kind, i.kind), names.get(i.unit_code, i.unit_code),
             enrolment_file.number(i.hours)] for i in await _instructors_of(session["id"])]
    return spreadsheets.export([("授课师资", ["姓名", "类别", "所属红十字会", "授课学时"], rows)])


def can_manage(principal: Principal, session: dict[str, Any] | SessionDetail) -> bool:
    path = session["unit_path"] if isinstance(session, dict) else session.unit_path
    return can(principal, "training.manage", path)
