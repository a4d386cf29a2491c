"""Exams kept apart from teaching (教考分离): the examiner pool, the refusal of an examiner who taught the session (when
the sitting is opened and again when results are entered), who enters results, pass marks, eligibility and re-sits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from rescueops.members.tables import Person
from rescueops.training import exams
from rescueops.training.schemas import ExamScoreIn, ExamScoresIn, ExamSittingIn
from rescueops.training.tables import Enrolment, Examiner, ExamScore, ExamSitting, TrainingSession
from tests.conftest import bearer
from tests.training import builders as b

TODAY = b.TODAY


@dataclass
class Exam:
    """A completed session of a first-aider course with trainees, an examiner with a login, and a training officer."""

    code: str
    session_id: int
    enrolments: list[int]
    examiner_id: int
    examiner_person: int
    examiner: Principal
    examiner_token: str
    officer: Principal
    officer_token: str


async def code_of(session_id: int) -> str:
    return (await TrainingSession.select(TrainingSession.code).where(TrainingSession.id == session_id).first())["code"]


async def examiner_with_login(make_user, unit: str = "150400") -> tuple[int, int, Principal, str]:
    """An examiner of the pool whose person is linked to a login holding the examiner role; (examiner id, person id,
    principal, API token)."""
    user_id, token = await make_user("examiner", unit=unit)
    person_id = await b.new_person()
    await Person.update({Person.user: user_id}).where(Person.id == person_id)
    return await b.examiner(person_id, unit_code=unit), person_id, await accounts.load_principal(user_id), token


async def exam_setup(make_user, *, trainees: int = 3, **version: object) -> Exam:
    version_id = await b.course_version(**version)
    session_id = await b.session(version_id)
    enrolments = await b.enrol(session_id, trainees)
    examiner_id, person_id, examiner, examiner_token = await examiner_with_login(make_user)
    officer_id, officer_token = await make_user("training_officer", unit="150426")
    return Exam(await code_of(session_id), session_id, enrolments, examiner_id, person_id, examiner, examiner_token,
                await accounts.load_principal(officer_id), officer_token)


async def sit(exam: Exam, held_on: date | None = None, examiner_id: int | None = None):
    return await exams.open_sitting(exam.officer, exam.code, ExamSittingIn(examiner_id=examiner_id or exam.examiner_id,
                                                                             held_on=held_on or TODAY - timedelta(days=3)))


def score(enrolment: int, theory: int | None = None, practical: int | None = None, absent: bool = False) -> ExamScoreIn:
    return ExamScoreIn(enrolment_id=enrolment, theory=theory, practical=practical, absent=absent)


async def enter(exam: Exam, attempt: int, *rows: ExamScoreIn, principal: Principal | None = None):
    return await exams.enter_scores(principal or exam.examiner, exam.code, attempt, ExamScoresIn(scores=list(rows)))


# --- the examiner who taught ------------------------------------------------------------------------------------


async def test_an_examiner_who_taught_the_session_is_refused_when_the_sitting_is_opened(make_user) -> None:
    exam = await exam_setup(make_user)
    await b.teaches(exam.session_id, await b.instructor(exam.examiner_person), hours="8")
    with pytest.raises(Conflict) as refused:
        await sit(exam)
    assert refused.value.code == "examiner_taught"
    name = (await Person.select(Person.name).where(Person.id == exam.examiner_person).first())["name"]
    assert refused.value.message == f"{name} taught this session (8 hours) — 教考分离: choose another examiner."
    assert await ExamSitting.count() == 0
    # The pool shows them as refused, with the reason; another examiner is fine.
    other = await b.examiner()
    choices = {c.id: c for c in await exams.examiner_choices(exam.officer, exam.code)}
    assert choices[exam.examiner_id].eligible is False and choices[exam.examiner_id].taught_hours == Decimal("8")
    assert "教考分离" in choices[exam.examiner_id].reason and choices[other].eligible is True
    assert (await sit(exam, examiner_id=other)).attempt == 1


async def test_an_examiner_who_taught_since_the_sitting_opened_cannot_enter_results(make_user) -> None:
    exam = await exam_setup(make_user)
    await sit(exam)
    await b.teaches(exam.session_id, await b.instructor(exam.examiner_person), hours="4")
    with pytest.raises(Conflict) as refused:
        await enter(exam, 1, score(exam.enrolments[0], 90, 90))
    assert refused.value.code == "examiner_taught" and "(4 hours)" in refused.value.message
    assert await ExamScore.count() == 0


async def test_the_pool_is_active_qualified_examiners_of_the_sessions_line(make_user) -> None:
    exam = await exam_setup(make_user)
    expired = await b.examiner()
    await Examiner.update({Examiner.qualified_until: TODAY - timedelta(days=5)}).where(Examiner.id == expired)
    inactive = await b.examiner()
    await Examiner.update({Examiner.active: False}).where(Examiner.id == inactive)
    elsewhere = await b.examiner(unit_code="150200")  # Baotou: neither above nor below Wengniute
    region = await b.examiner(unit_code="150000")
    for examiner_id, words in ((expired, "is qualified only until"), (inactive, "no longer active"), (elsewhere, "neither runs")):
        with pytest.raises(InvalidInput) as refused:
            await sit(exam, examiner_id=examiner_id)
        assert words in refused.value.message
    with pytest.raises(InvalidInput) as early:
        await sit(exam, held_on=TODAY - timedelta(days=11))  # the session started 10 days ago
    assert "before the session starts" in early.value.message
    assert await ExamSitting.count() == 0
    ids = {c.id for c in await exams.examiner_choices(exam.officer, exam.code)}
    assert {exam.examiner_id, region, expired} <= ids and elsewhere not in ids and inactive not in ids
    assert (await sit(exam, examiner_id=region)).attempt == 1


async def test_a_course_without_an_exam_has_no_sitting(make_user) -> None:
    exam = await exam_setup(make_user)
    await TrainingSession.update({TrainingSession.course_version: await b.course_version(b.CourseKind.awareness)}).where(
        TrainingSession.id == exam.session_id)
    with pytest.raises(InvalidInput) as refused:
        await sit(exam)
    assert refused.value.code == "no_exam"


# --- who enters results --------------------------------------------------------------------------------------------


async def test_only_the_sittings_examiner_or_an_admin_enters_results(client, make_user) -> None:
    exam = await exam_setup(make_user)
    await sit(exam)
    _, _, other_examiner, _ = await examiner_with_login(make_user)
    with pytest.raises(PermissionDenied) as refused:
        await enter(exam, 1, score(exam.enrolments[0], 90, 90), principal=other_examiner)
    assert refused.value.code == "not_the_examiner"
    body = {"scores": [{"enrolment_id": exam.enrolments[0], "theory": 90, "practical": 90}]}
    url = f"/api/v1/training/sessions/{exam.code}/exam/sittings/1/scores"
    assert (await client.put(url, json=body, headers=bearer(exam.officer_token))).status_code == 403  # no training.examine
    assert await ExamScore.count() == 0
    done = await client.put(url, json=body, headers=bearer(exam.examiner_token))
    assert done.status_code == 200, done.text
    assert next(t for t in done.json()["trainees"] if t["enrolment_id"] == exam.enrolments[0])["outcome"] == "passed"
    admin_id, _ = await make_user("admin", unit="150000")
    await enter(exam, 1, score(exam.enrolments[1], 50, 90), principal=await accounts.load_principal(admin_id))
    assert await ExamScore.count() == 2


async def test_scores_out_of_range_or_incomplete_are_refused_and_nothing_is_written(client, make_user) -> None:
    exam = await exam_setup(make_user)
    await sit(exam)
    url = f"/api/v1/training/sessions/{exam.code}/exam/sittings/1/scores"
    for scores in ([{"enrolment_id": exam.enrolments[0], "theory": 101, "practical": 90}],
                   [{"enrolment_id": exam.enrolments[0], "theory": -1, "practical": 90}],
                   [{"enrolment_id": exam.enrolments[0], "theory": 85.5, "practical": 90}]):
        refused = await client.put(url, json={"scores": scores}, headers=bearer(exam.examiner_token))
        assert refused.status_code == 422, refused.text
    # One good row and one bad one: neither is written, and the message names the trainee.
    name = (await exams.results(exam.officer, exam.code)).trainees
    by_id = {t.enrolment_id: t.name for t in name}
    refused = await client.put(url, json={"scores": [{"enrolment_id": exam.enrolments[0], "theory": 90, "practical": 90},
                                                     {"enrolment_id": exam.enrolments[1], "theory": 90}]},
                               headers=bearer(exam.examiner_token))
    assert refused.status_code == 422 and refused.json()["code"] == "bad_scores"
    assert f"{by_id[exam.enrolments[1]]}: give the practical score (0–100), or mark them absent" in refused.json()["message"]
    refused = await client.put(url, json={"scores": [{"enrolment_id": exam.enrolments[0], "theory": 90, "absent": True}]},
                               headers=bearer(exam.examiner_token))
    assert refused.status_code == 422 and "an absent trainee has no scores" in refused.json()["message"]
    refused = await client.put(url, json={"scores": [{"enrolment_id": 999999, "theory": 90, "practical": 90}]},
                               headers=bearer(exam.examiner_token))
    assert refused.status_code == 422 and "no enrolment #999999" in refused.json()["message"]
    assert await ExamScore.count() == 0


@pytest.mark.parametrize(("theory", "practical", "passed"), [(80, 80, True), (79, 80, False), (80, 79, False), (100, 100, True),
                                                              (0, 100, False)])
async def test_pass_marks_are_met_at_the_mark(make_user, theory, practical, passed) -> None:
    exam = await exam_setup(make_user, trainees=1, theory_pass=80, practical_pass=80)
    await sit(exam)
    found = await enter(exam, 1, score(exam.enrolments[0], theory, practical))
    assert found.trainees[0].outcome == ("passed" if passed else "failed")
    assert (await ExamScore.select(ExamScore.passed).first())["passed"] is passed


async def test_a_part_without_a_pass_mark_is_not_examined(make_user) -> None:
    exam = await exam_setup(make_user, trainees=2, theory_pass=None, practical_pass=70)
    await sit(exam)
    with pytest.raises(InvalidInput) as refused:
        await enter(exam, 1, score(exam.enrolments[0], 90, 90))
    assert "theory is not examined in this course" in refused.value.message
    found = await enter(exam, 1, score(exam.enrolments[0], None, 70), score(exam.enrolments[1], None, 69))
    assert [t.outcome for t in sorted(found.trainees, key=lambda t: t.enrolment_id)] == ["passed", "failed"]
    assert exams.passes(None, 70, False, None, 70) and not exams.passes(None, None, True, None, None)


async def test_to_sit_a_trainee_attended_every_hour_and_did_not_withdraw(make_user) -> None:
    exam = await exam_setup(make_user, trainees=3)
    short, gone, fine = exam.enrolments
    await Enrolment.update({Enrolment.hours: Decimal("8")}).where(Enrolment.id == short)
    await Enrolment.update({Enrolment.status: "withdrawn"}).where(Enrolment.id == gone)
    await sit(exam)
    with pytest.raises(InvalidInput) as refused:
        await enter(exam, 1, score(short, 90, 90), score(gone, 90, 90), score(fine, 90, 90))
    assert "attended 8 of the course's 16 hours: not eligible to sit" in refused.value.message
    assert "withdrew from the session" in refused.value.message
    assert await ExamScore.count() == 0
    found = await enter(exam, 1, score(fine, 90, 90))
    outcomes = {t.enrolment_id: t.outcome for t in found.trainees}
    assert outcomes == {short: "not_eligible", gone: "withdrawn", fine: "passed"}


async def test_results_are_entered_on_or_after_the_sitting_day(make_user) -> None:
    exam = await exam_setup(make_user)
    await sit(exam, held_on=TODAY + timedelta(days=3))
    with pytest.raises(InvalidInput) as refused:
        await enter(exam, 1, score(exam.enrolments[0], 90, 90))
    assert refused.value.code == "sitting_ahead"


# --- re-sits --------------------------------------------------------------------------------------------------------


async def test_re_sits_are_for_those_who_failed_or_were_absent_and_are_capped(make_user) -> None:
    exam = await exam_setup(make_user, trainees=3)
    passed, failed, absent = exam.enrolments
    await sit(exam, TODAY - timedelta(days=6))
    with pytest.raises(Conflict) as early:
        await sit(exam, TODAY - timedelta(days=5))
    assert early.value.code == "sitting_without_results"
    await enter(exam, 1, score(passed, 95, 90), score(failed, 60, 90), score(absent, absent=True))
    second = await sit(exam, TODAY - timedelta(days=5))
    assert second.attempt == 2
    with pytest.raises(InvalidInput) as refused:
        await enter(exam, 2, score(passed, 99, 99))
    assert "passed at sitting 1: a passed trainee does not sit again" in refused.value.message
    with pytest.raises(Conflict) as closed:
        await enter(exam, 1, score(failed, 90, 90))
    assert closed.value.code == "sitting_closed"
    found = await enter(exam, 2, score(failed, 70, 90), score(absent, 85, 85))
    assert {t.enrolment_id: t.outcome for t in found.trainees} == {passed: "passed", failed: "failed", absent: "passed"}
    assert {t.enrolment_id: t.passed_attempt for t in found.trainees} == {passed: 1, failed: None, absent: 2}
    third = await sit(exam, TODAY - timedelta(days=4))
    assert third.attempt == exams.MAX_ATTEMPTS == 3
    with pytest.raises(InvalidInput):
        await enter(exam, 3, score(absent, 90, 90))  # passed at the re-sit
    await enter(exam, 3, score(failed, 60, 60))
    with pytest.raises(Conflict) as capped:
        await sit(exam, TODAY - timedelta(days=3))
    assert capped.value.code == "resit_cap" and f"{exams.MAX_RESITS} re-sits" in capped.value.message
    assert await ExamSitting.count() == 3


async def test_no_re_sit_when_everyone_passed(make_user) -> None:
    exam = await exam_setup(make_user, trainees=2)
    await sit(exam, TODAY - timedelta(days=6))
    await enter(exam, 1, *(score(e, 90, 90) for e in exam.enrolments))
    with pytest.raises(Conflict) as refused:
        await sit(exam, TODAY - timedelta(days=5))
    assert refused.value.code == "nobody_to_resit"
    with pytest.raises(InvalidInput):
        await sit(exam, TODAY - timedelta(days=6))  # not after the first sitting either


async def test_a_session_outside_the_scope_is_not_found(make_user) -> None:
    exam = await exam_setup(make_user)
    outsider_id, _ = await make_user("training_officer", unit="150200")
    with pytest.raises(NotFound):
        await exams.open_sitting(await accounts.load_principal(outsider_id), exam.code,
                                 ExamSittingIn(examiner_id=exam.examiner_id, held_on=TODAY))


async def test_the_api_opens_sittings_and_lists_results(client, make_user) -> None:
    exam = await exam_setup(make_user)
    url = f"/api/v1/training/sessions/{exam.code}/exam"
    refused = await client.post(f"{url}/sittings", json={"examiner_id": exam.examiner_id, "held_on": str(TODAY)},
                                headers=bearer(exam.examiner_token))
    assert refused.status_code == 403  # an examiner does not assign themselves
    opened = await client.post(f"{url}/sittings", json={"examiner_id": exam.examiner_id, "held_on": str(TODAY)},
                               headers=bearer(exam.officer_token))
    assert opened.status_code == 201, opened.text
    assert opened.json()["attempt"] == 1
    again = await client.post(f"{url}/sittings", json={"examiner_id": exam.examiner_id, "held_on": str(TODAY + timedelta(days=1))},
                              headers=bearer(exam.officer_token))
    assert again.status_code == 409 and again.json()["code"] == "sitting_without_results"
    results = await client.get(url, headers=bearer(exam.officer_token))
    assert results.status_code == 200 and len(results.json()["trainees"]) == 3
    assert all(t["may_sit"] for t in results.json()["trainees"])
    pool = await client.get(f"{url}/examiners", headers=bearer(exam.officer_token))
    assert [c["id"] for c in pool.json()] == [exam.examiner_id]
    sheet = await client.get(f"{url}/results.xlsx", headers=bearer(exam.officer_token))
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
