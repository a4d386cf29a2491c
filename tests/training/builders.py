"""Training records for tests, written straight into the tables: a course version, a session, trainees.

The parts of the training domain are tested on these without going through one another's services; each part's own
flows (planning a session, enrolling, examining, issuing) are tested through its service and API.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rescueops.calendar import china_today
from rescueops.members import service as members
from rescueops.members.schemas import PersonIn
from rescueops.members.tables import CertificateType
from rescueops.orgs.tables import OrgUnit
from rescueops.training.tables import (
    Course,
    CourseKind,
    CourseVersion,
    Enrolment,
    Examiner,
    Instructor,
    InstructorKind,
    SessionInstructor,
    TrainingSession,
)
from tests.factories import person

_seq = itertools.count(1)
TODAY = china_today()
# The shipped certificate type each course kind leads to.
CERTIFICATE_OF = {CourseKind.first_aider: "rc_first_aider", CourseKind.junior_first_aider: "junior_first_aider",
                  CourseKind.cpr_aed: "cpr_aed", CourseKind.instructor: "first_aid_instructor", CourseKind.refresher: "rc_first_aider"}


def _now() -> datetime:
    return datetime.now(UTC)


async def course_version(kind: CourseKind = CourseKind.first_aider, *, theory_pass: int | None = 80, practical_pass: int | None = 80,
                         validity_months: int | None = 36, hours: str = "16") -> int:
    """A course of ``kind`` with one version; its id."""
    n = next(_seq)
    course = (await Course.insert(Course(code=f"test-{kind.value}-{n}", kind=kind.value, name_zh=f"测试课程{n}",
                                         name_en=f"Test course {n}")).returning(Course.id))[0]["id"]
    type_id = None
    if kind in CERTIFICATE_OF:
        type_id = (await CertificateType.select(CertificateType.id).where(CertificateType.code == CERTIFICATE_OF[kind]).first())["id"]
    exam = kind is not CourseKind.awareness
    rows = await CourseVersion.insert(CourseVersion(
        course=course, version=1, syllabus="统一教学大纲（测试）", hours=Decimal(hours), exam_required=exam,
        theory_pass=theory_pass if exam else None, practical_pass=practical_pass if exam else None,
        certificate_type=type_id, validity_months=validity_months if exam else None, created_at=_now())).returning(CourseVersion.id)
    return rows[0]["id"]


async def unit(code: str = "150426") -> dict:
    return await OrgUnit.select(OrgUnit.id, OrgUnit.path, OrgUnit.code).where(OrgUnit.code == code).first()


async def session(version_id: int, *, unit_code: str = "150426", starts_on: date | None = None, days: int = 2,
                  capacity: int = 40, sector: str = "communities", organisation: int | None = None, status: str = "completed") -> int:
    where = await unit(unit_code)
    starts_on = starts_on or TODAY - timedelta(days=10)
    rows = await TrainingSession.insert(TrainingSession(
        code=f"TS-{next(_seq):06d}", course_version=version_id, unit=where["id"], unit_path=where["path"], organisation=organisation,
        sector=sector, place="旗红十字会培训室", starts_on=starts_on, ends_on=starts_on + timedelta(days=days - 1), capacity=capacity,
        status=status, created_at=_now())).returning(TrainingSession.id)
    return rows[0]["id"]


async def new_person(**extra) -> int:
    return await members.insert_person(PersonIn(**person(**extra)))


async def enrol(session_id: int, count: int = 1) -> list[int]:
    """``count`` new people enrolled in the session; their enrolment ids."""
    ids = []
    for _ in range(count):
        person_id = await new_person()
        rows = await Enrolment.insert(Enrolment(session=session_id, person=person_id, hours=Decimal("16"), enrolled_at=_now())
                                      ).returning(Enrolment.id)
        ids.append(rows[0]["id"])
    return ids


async def instructor(person_id: int | None = None, *, unit_code: str = "150426", kind: InstructorKind = InstructorKind.full_time,
                     expires_on: date | None = None) -> int:
    where = await unit(unit_code)
    rows = await Instructor.insert(Instructor(
        person=person_id or await new_person(), unit=where["id"], unit_path=where["path"], kind=kind.value,
        qualification_number=f"SZ{next(_seq):05d}", qualified_on=TODAY - timedelta(days=400),
        qualification_expires_on=expires_on or TODAY + timedelta(days=600), created_at=_now())).returning(Instructor.id)
    return rows[0]["id"]


async def teaches(session_id: int, instructor_id: int, hours: str = "8") -> None:
    await SessionInstructor.insert(SessionInstructor(session=session_id, instructor=instructor_id, hours=Decimal(hours)))


async def examiner(person_id: int | None = None, *, unit_code: str = "150400") -> int:
    where = await unit(unit_code)
    rows = await Examiner.insert(Examiner(
        person=person_id or await new_person(), unit=where["id"], unit_path=where["path"], qualification_number=f"KH{next(_seq):05d}",
        qualified_until=TODAY + timedelta(days=700), created_at=_now())).returning(Examiner.id)
    return rows[0]["id"]
