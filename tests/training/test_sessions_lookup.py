"""session_for and enrolments_of, the two reads the other training parts build on: the figures they carry, scoping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rescueops.errors import NotFound, PermissionDenied
from rescueops.training import service
from rescueops.training.tables import CourseKind, TrainingSession
from tests.training import builders


async def test_session_for_carries_the_course_figures_and_hides_out_of_scope(db, make_principal) -> None:
    version = await builders.course_version(CourseKind.cpr_aed, theory_pass=70, practical_pass=85, validity_months=24, hours="4")
    session_id = await builders.session(version)
    code = (await TrainingSession.select(TrainingSession.code).where(TrainingSession.id == session_id).first())["code"]
    await builders.enrol(session_id, 2)
    county = await make_principal("training_officer", unit="150426")
    row = await service.session_for(county, code, "training.manage")
    assert row["id"] == session_id and row["course_kind"] == "cpr_aed" and row["unit_code"] == "150426"
    assert row["hours"] == Decimal("4") and row["exam_required"] is True
    assert (row["theory_pass"], row["practical_pass"], row["validity_months"], row["certificate_type"]) == (70, 85, 24, "cpr_aed")
    assert row["course_code"].startswith("test-cpr_aed") and row["course_name_zh"].startswith("测试课程")
    other = await make_principal("training_officer", unit="150428")
    with pytest.raises(NotFound):
        await service.session_for(other, code)
    examiner = await make_principal("examiner", unit="150426")
    assert (await service.session_for(examiner, code))["id"] == session_id
    with pytest.raises(PermissionDenied):
        await service.session_for(examiner, code, "training.manage")
    with pytest.raises(NotFound):
        await service.session_for(county, "TS-NOPE")
    people = await service.enrolments_of(session_id)
    assert len(people) == 2 and all(len(p["id_number_last4"]) == 4 and p["name"] and p["status"] == "enrolled" for p in people)

