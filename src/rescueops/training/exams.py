"""Exams kept apart from teaching (教考分离): sittings with an examiner from the Red Cross's pool, theory and practical
scores, pass marks per course version, re-sits.

Rules (docs/training.md, "Exams and certificates"):

- An examiner never examines a session they taught: the examiner's person may not be the person of any of the session's
  instructors. Checked when the sitting is opened and again whenever scores are entered (an instructor may have been
  added since).
- The pool for a session: active examiners, qualified on the sitting's day (``qualified_until`` empty = no end), kept by
  the session's branch, one of the branches above it or one below it.
- ``attempt`` 1 is the first sitting; at most ``MAX_RESITS`` re-sits follow, each open only to trainees who failed or
  were absent at an earlier sitting and never passed. Opening a re-sit closes the earlier sittings' results.
- To sit, a trainee is enrolled (not withdrawn) and attended at least the course version's hours.
- A part with a pass mark (theory, practical) is examined; a trainee passes when every examined part meets its mark.
  Scores are integers 0–100; an absent trainee has no scores.
- Scores are entered only by the sitting's examiner (the login linked to the examiner's person, holding
  training.examine over the session) or an admin.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rescueops import spreadsheets
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, can
from rescueops.accounts.tables import Role
from rescueops.calendar import china_today, utc_now
from rescueops.db import write_transaction
from rescueops.db.paths import is_under
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.members.identity import mask_id
from rescueops.training import service as training
from rescueops.training.schemas import (
    ExamAttempt,
    ExamExaminerChoice,
    ExamResultsOut,
    ExamScoresIn,
    ExamSittingIn,
    ExamSittingOut,
    ExamTrainee,
)
from rescueops.training.tables import (
    EnrolmentStatus,
    Examiner,
    ExamScore,
    ExamSitting,
    SessionInstructor,
    SessionStatus,
    TrainingCertificate,
    TrainingSession,
)

# Re-sits after the first sitting: a trainee has at most 1 + MAX_RESITS attempts at a session's exam.
MAX_RESITS = 2
MAX_ATTEMPTS = 1 + MAX_RESITS



def _decimal(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def passes(theory: int | None, practical: int | None, absent: bool, theory_pass: int | None, practical_pass: int | None) -> bool:
    """Whether a result passes: present, and every examined part (one with a pass mark) at or above its mark."""
    if absent:
        return False
    return all(mark is None or (score is not None and score >= mark)
               for score, mark in ((theory, theory_pass), (practical, practical_pass)))


def _hours_text(hours: Decimal) -> str:
    return f"{hours.normalize():f}"


# --- the session, its examiners and instructors ----------------------------------------------------------------


async def session_for_exam(principal: Principal, code: str, action: str = "training.view") -> dict[str, Any]:
    session = await training.session_for(principal, code, action)
    session["hours"] = _decimal(session["hours"])
    session["exam_required"] = bool(session["exam_required"])
    return session


async def _examiner(examiner_id: int) -> dict[str, Any] | None:
    return await Examiner.select(
        Examiner.all_columns(), Examiner.person.name.as_alias("name"), Examiner.person.user.as_alias("user"),
        Examiner.unit.name_zh.as_alias("unit_name"),
    ).where(Examiner.id == examiner_id).first()


async def taught_hours(session_id: int, person_id: int) -> Decimal | None:
    """Hours ``person_id`` taught the session as one of its instructors; None when they did not teach it."""
    rows = await SessionInstructor.select(SessionInstructor.hours).where(
        (SessionInstructor.session == session_id) & (SessionInstructor.instructor.person == person_id))
    return sum((_decimal(r["hours"]) for r in rows), Decimal(0)) if rows else None


def _taught_error(name: str, hours: Decimal) -> Conflict:
    return Conflict(f"{name} taught this session ({_hours_text(hours)} hours) — 教考分离: choose another examiner.",
                    code="examiner_taught")


async def _refuse_if_taught(session_id: int, examiner: dict[str, Any]) -> None:
    hours = await taught_hours(session_id, examiner["person"])
    if hours is not None:
        raise _taught_error(examiner["name"], hours)


def _on_line(examiner_path: str, session_path: str) -> bool:
    """The examiner is kept by the session's branch, a branch above it, or one below it."""
    return is_under(session_path, examiner_path) or is_under(examiner_path, session_path)


def _examiner_problem(examiner: dict[str, Any], session: dict[str, Any], held_on: date) -> str:
    if not examiner["active"]:
        return "is no longer active in the examiner pool"
    if examiner["qualified_until"] is not None and examiner["qualified_until"] < held_on:
        return f"is qualified only until {examiner['qualified_until']}, before the sitting on {held_on}"
    if not _on_line(examiner["unit_path"], session["unit_path"]):
        return "is kept by a Red Cross branch that neither runs nor supervises this session"
    return ""


async def examiner_choices(principal: Principal, code: str, held_on: date | None = None) -> list[ExamExaminerChoice]:
    """The session's examiner pool on ``held_on`` (default today), those who taught it marked as refused."""
    session = await session_for_exam(principal, code)
    on = held_on or china_today()
    rows = await Examiner.select(
        Examiner.all_columns(), Examiner.person.name.as_alias("name"), Examiner.unit.name_zh.as_alias("unit_name"),
    ).where(Examiner.active == True).order_by(Examiner.unit_path, Examiner.id)  # noqa: E712
    taught = {r["person"]: _decimal(r["hours"]) for r in await SessionInstructor.select(
        SessionInstructor.instructor.person.as_alias("person"), SessionInstructor.hours).where(SessionInstructor.session == session["id"])}
    choices = []
    for row in rows:
        if not _on_line(row["unit_path"], session["unit_path"]):
            continue
        problem = _examiner_problem(row, session, on)
        hours = taught.get(row["person"])
        if hours is not None:
            problem = f"taught this session ({_hours_text(hours)} hours) — 教考分离"
        choices.append(ExamExaminerChoice(
            id=row["id"], name=row["name"], unit_name=row["unit_name"], qualification_number=row["qualification_number"],
            qualified_until=row["qualified_until"], taught_hours=hours, eligible=not problem, reason=problem))
    return choices


# --- sittings --------------------------------------------------------------------------------------------------


async def _sittings(session_id: int) -> list[dict[str, Any]]:
    return await ExamSitting.select(
        ExamSitting.all_columns(), ExamSitting.examiner.person.name.as_alias("examiner_name"),
        ExamSitting.examiner.person.user.as_alias("examiner_user"), ExamSitting.examiner.person.as_alias("examiner_person"),
        ExamSitting.examiner.unit.name_zh.as_alias("examiner_unit"),
    ).where(ExamSitting.session == session_id).order_by(ExamSitting.attempt)


async def _scores(session_id: int) -> list[dict[str, Any]]:
    return await ExamScore.select(ExamScore.all_columns(), ExamScore.sitting.attempt.as_alias("attempt")).where(
        ExamScore.sitting.session == session_id).order_by(ExamScore.sitting.attempt)


def _standing(enrolment: dict[str, Any], prior: list[dict[str, Any]], course_hours: Decimal, attempt: int) -> str:
    """Why a trainee may not be given a result at sitting ``attempt`` ("" when they may); ``prior``: their results at
    earlier sittings."""
    if enrolment["status"] != EnrolmentStatus.enrolled.value:
        return "withdrew from the session"
    hours = _decimal(enrolment["hours"])
    if hours < course_hours:
        return f"attended {_hours_text(hours)} of the course's {_hours_text(course_hours)} hours: not eligible to sit"
    passed = [s["attempt"] for s in prior if s["passed"]]
    if passed:
        return f"passed at sitting {passed[0]}: a passed trainee does not sit again"
    if attempt > 1 and not prior:
        return "a re-sit is open only to trainees who failed or were absent at an earlier sitting"
    return ""


async def open_sitting(principal: Principal, code: str, data: ExamSittingIn) -> ExamSittingOut:
    session = await session_for_exam(principal, code, "training.manage")
    if not session["exam_required"]:
        raise InvalidInput(f"The course of session {code} has no exam: its certificates are issued on full attendance.",
                           code="no_exam")
    if session["status"] == SessionStatus.cancelled.value:
        raise Conflict(f"Session {code} was cancelled.", code="session_cancelled")
    if data.held_on < session["starts_on"]:
        raise field_error("held_on", f"the sitting cannot be before the session starts ({session['starts_on']})")
    examiner = await _examiner(data.examiner_id)
    if examiner is None:
        raise field_error("examiner_id", f"no examiner #{data.examiner_id} in the pool")
    problem = _examiner_problem(examiner, session, data.held_on)
    if problem:
        raise field_error("examiner_id", f"{examiner['name']} {problem}")
    async with write_transaction():
        # The session's row lock: two sittings opened at once get attempts one after the other, not a clash.
        await TrainingSession.update({TrainingSession.status: TrainingSession.status}).where(TrainingSession.id == session["id"])
        await _refuse_if_taught(session["id"], examiner)
        sittings = await _sittings(session["id"])
        attempt = len(sittings) + 1
        if attempt > MAX_ATTEMPTS:
            raise Conflict(f"Session {code} has had its first sitting and {MAX_RESITS} re-sits: no further sitting.",
                           code="resit_cap")
        if sittings:
            last = sittings[-1]
            if data.held_on <= last["held_on"]:
                raise field_error("held_on", f"a re-sit comes after sitting {last['attempt']} ({last['held_on']})")
            scores = await _scores(session["id"])
            if not any(s["sitting"] == last["id"] for s in scores):
                raise Conflict(f"Sitting {last['attempt']} has no results yet: enter them before opening a re-sit.",
                               code="sitting_without_results")
            enrolments = {e["id"]: e for e in await training.enrolments_of(session["id"])}
            by_enrolment: dict[int, list[dict[str, Any]]] = {}
            for score in scores:
                by_enrolment.setdefault(score["enrolment"], []).append(score)
            if not any(not _standing(enrolments[e], prior, session["hours"], attempt)
                       for e, prior in by_enrolment.items() if e in enrolments):
                raise Conflict("Nobody failed or missed the earlier sittings without passing since: there is no one to re-sit.",
                               code="nobody_to_resit")
        rows = await ExamSitting.insert(ExamSitting(
            session=session["id"], examiner=examiner["id"], attempt=attempt, held_on=data.held_on, created_by=principal.user_id,
            created_at=utc_now())).returning(ExamSitting.id)
        await accounts.record_audit(principal, "training.exam.open", "session", code, session["unit_path"],
                                    {"attempt": attempt, "examiner": examiner["id"], "held_on": str(data.held_on)})
    return next(s for s in await list_sittings(principal, code) if s.id == rows[0]["id"])


async def list_sittings(principal: Principal, code: str) -> list[ExamSittingOut]:
    session = await session_for_exam(principal, code)
    sittings = await _sittings(session["id"])
    scored: dict[int, int] = {}
    for score in await _scores(session["id"]):
        scored[score["sitting"]] = scored.get(score["sitting"], 0) + 1
    return [ExamSittingOut(id=s["id"], attempt=s["attempt"], held_on=s["held_on"], examiner_id=s["examiner"],
                           examiner_name=s["examiner_name"], examiner_unit=s["examiner_unit"], scored=scored.get(s["id"], 0),
                           closed=s["attempt"] < len(sittings)) for s in sittings]


# --- scores ----------------------------------------------------------------------------------------------------


def _may_score(principal: Principal, sitting: dict[str, Any], path: str) -> bool:
    return can(principal, "training.examine", path) and (Role.admin in principal.roles or sitting["examiner_user"] == principal.user_id)


async def enter_scores(principal: Principal, code: str, attempt: int, data: ExamScoresIn) -> ExamResultsOut:
    """Record (or correct) the results of a sitting for part or all of the class; all rows or none."""
    session = await session_for_exam(principal, code)
    sittings = await _sittings(session["id"])
    sitting = next((s for s in sittings if s["attempt"] == attempt), None)
    if sitting is None:
        raise NotFound(f"Session {code} has no sitting {attempt}.")
    if not _may_score(principal, sitting, session["unit_path"]):
        raise PermissionDenied(f"Only the examiner of this sitting ({sitting['examiner_name']}) enters its results (教考分离).",
                               code="not_the_examiner")
    if sitting["held_on"] > china_today():
        raise InvalidInput(f"The sitting is on {sitting['held_on']}: enter its results on or after that day.", code="sitting_ahead")
    if attempt < len(sittings):
        raise Conflict(f"Re-sit {len(sittings)} is open: the results of sitting {attempt} can no longer change.", code="sitting_closed")
    theory_pass, practical_pass = session["theory_pass"], session["practical_pass"]
    enrolments = {e["id"]: e for e in await training.enrolments_of(session["id"])}
    prior: dict[int, list[dict[str, Any]]] = {}
    for score in await _scores(session["id"]):
        if score["attempt"] < attempt:
            prior.setdefault(score["enrolment"], []).append(score)
    certified = {r["person"] for r in await TrainingCertificate.select(TrainingCertificate.person).where(
        TrainingCertificate.sitting == sitting["id"])}
    problems: list[dict[str, str]] = []
    seen: set[int] = set()
    rows = []
    for index, item in enumerate(data.scores):
        where = f"scores[{index}]"
        enrolment = enrolments.get(item.enrolment_id)
        if enrolment is None:
            problems.append({"field": f"{where}.enrolment_id", "message": f"no enrolment #{item.enrolment_id} in session {code}"})
            continue
        name = enrolment["name"]
        if item.enrolment_id in seen:
            problems.append({"field": f"{where}.enrolment_id", "message": f"{name} appears twice"})
            continue
        seen.add(item.enrolment_id)
        reason = _standing(enrolment, prior.get(item.enrolment_id, []), session["hours"], attempt)
        if reason:
            problems.append({"field": where, "message": f"{name} {reason}"})
            continue
        if enrolment["person"] in certified:
            problems.append({"field": where, "message": f"{name} holds a certificate from this sitting: revoke it before changing the result"})
            continue
        if item.absent:
            if item.theory is not None or item.practical is not None:
                problems.append({"field": where, "message": f"{name}: an absent trainee has no scores"})
                continue
        else:
            for part, score, mark in (("theory", item.theory, theory_pass), ("practical", item.practical, practical_pass)):
                if mark is not None and score is None:
                    problems.append({"field": f"{where}.{part}", "message": f"{name}: give the {part} score (0–100), or mark them absent"})
                elif mark is None and score is not None:
                    problems.append({"field": f"{where}.{part}", "message": f"{name}: {part} is not examined in this course"})
        rows.append(item)
    if problems:
        raise InvalidInput("Nothing was recorded: " + "; ".join(p["message"] for p in problems[:10])
                           + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "") + ".",
                           code="bad_scores", details=problems)
    async with write_transaction():
        # Taught since the sitting was opened? Checked in the writing transaction, after the session's lock.
        await TrainingSession.update({TrainingSession.status: TrainingSession.status}).where(TrainingSession.id == session["id"])
        await _refuse_if_taught(session["id"], {"person": sitting["examiner_person"], "name": sitting["examiner_name"]})
        if len(await _sittings(session["id"])) != len(sittings):
            raise Conflict(f"A re-sit was opened meanwhile: the results of sitting {attempt} can no longer change.", code="sitting_closed")
        ids = [item.enrolment_id for item in rows]
        await ExamScore.delete().where((ExamScore.sitting == sitting["id"]) & ExamScore.enrolment.is_in(ids))
        await ExamScore.insert(*[ExamScore(
            sitting=sitting["id"], enrolment=item.enrolment_id, theory=item.theory, practical=item.practical, absent=item.absent,
            passed=passes(item.theory, item.practical, item.absent, theory_pass, practical_pass), entered_by=principal.user_id,
            entered_at=utc_now()) for item in rows])
        await accounts.record_audit(principal, "training.exam.scores", "session", code, session["unit_path"], {
            "attempt": attempt, "results": [item.model_dump() for item in rows]})
    return await results(principal, code)


# --- results ---------------------------------------------------------------------------------------------------


async def results(principal: Principal, code: str) -> ExamResultsOut:
    session = await session_for_exam(principal, code)
    sittings = await _sittings(session["id"])
    latest = len(sittings)
    scores: dict[int, list[dict[str, Any]]] = {}
    for score in await _scores(session["id"]):
        scores.setdefault(score["enrolment"], []).append(score)
    certificates = {r["person"]: r["number"] for r in await TrainingCertificate.select(
        TrainingCertificate.person, TrainingCertificate.number).where(TrainingCertificate.session == session["id"])}
    trainees, passed = [], 0
    for enrolment in await training.enrolments_of(session["id"]):
        mine = scores.get(enrolment["id"], [])
        attempts = [ExamAttempt(attempt=s["attempt"], theory=s["theory"], practical=s["practical"], absent=bool(s["absent"]),
                                passed=bool(s["passed"])) for s in mine]
        passed_at = next((a.attempt for a in attempts if a.passed), None)
        hours = _decimal(enrolment["hours"])
        withdrawn = enrolment["status"] != EnrolmentStatus.enrolled.value
        if withdrawn:
            outcome = "withdrawn"
        elif passed_at is not None or (not session["exam_required"] and hours >= session["hours"]):
            outcome = "passed"
        elif hours < session["hours"] and not attempts:
            outcome = "not_eligible"
        elif attempts:
            outcome = "absent" if attempts[-1].absent else "failed"
        else:
            outcome = "not_examined"
        passed += outcome == "passed"
        reason = "no sitting is open" if not latest else _standing(
            enrolment, [s for s in mine if s["attempt"] < latest], session["hours"], latest)
        trainees.append(ExamTrainee(
            enrolment_id=enrolment["id"], person_id=enrolment["person"], name=enrolment["name"],
            id_number=mask_id(enrolment["id_number_last4"]), hours=hours, enrolment_status=enrolment["status"], attempts=attempts,
            outcome=outcome, passed_attempt=passed_at, may_sit=session["exam_required"] and not reason, reason=reason,
            certificate_number=certificates.get(enrolment["person"])))
    certified = sum(1 for t in trainees if t.certificate_number)
    to_certify = sum(1 for t in trainees if t.outcome == "passed" and not t.certificate_number) if session["certificate_type"] else 0
    scored: dict[int, int] = {}
    for mine in scores.values():
        for s in mine:
            scored[s["sitting"]] = scored.get(s["sitting"], 0) + 1
    return ExamResultsOut(
        session_code=code, course_name_zh=session["course_name_zh"], course_name_en=session["course_name_en"],
        exam_required=session["exam_required"], hours=session["hours"], theory_pass=session["theory_pass"],
        practical_pass=session["practical_pass"], certificate_type=session["certificate_type"], max_attempts=MAX_ATTEMPTS,
        sittings=[ExamSittingOut(id=s["id"], attempt=s["attempt"], held_on=s["held_on"], examiner_id=s["examiner"],
                                 examiner_name=s["examiner_name"], examiner_unit=s["examiner_unit"], scored=scored.get(s["id"], 0),
                                 closed=s["attempt"] < latest) for s in sittings],
        trainees=trainees, passed=passed, certified=certified, to_certify=to_certify)


async def may_enter_scores(principal: Principal, code: str) -> bool:
    """Whether the caller may enter results at the session's latest sitting (the page shows the form)."""
    session = await session_for_exam(principal, code)
    sittings = await _sittings(session["id"])
    return bool(sittings) and _may_score(principal, sittings[-1], session["unit_path"])


OUTCOMES_ZH = {"passed": "合格", "failed": "不合格", "absent": "缺考", "not_examined": "未考", "not_eligible": "学时不足",
               "withdrawn": "已退出"}


async def results_xlsx(principal: Principal, code: str) -> bytes:
    """The class's results as .xlsx: one row per trainee, a theory/practical/outcome column pair per sitting."""
    found = await results(principal, code)
    header = ["姓名", "身份证号", "学时"]
    for s in found.sittings:
        header += [f"第{s.attempt}次 理论", f"第{s.attempt}次 实操", f"第{s.attempt}次 结果"]
    header += ["结论", "证书编号"]
    rows = []
    for t in found.trainees:
        by_attempt = {a.attempt: a for a in t.attempts}
        row: list[Any] = [t.name, t.id_number, float(t.hours)]
        for s in found.sittings:
            a = by_attempt.get(s.attempt)
            row += ["", "", ""] if a is None else [
                a.theory if a.theory is not None else "", a.practical if a.practical is not None else "",
                "缺考" if a.absent else "合格" if a.passed else "不合格"]
        row += [OUTCOMES_ZH[t.outcome], t.certificate_number or ""]
        rows.append(row)
    sittings = [["第1次考核" if s.attempt == 1 else f"第{s.attempt - 1}次补考", s.held_on, s.examiner_name, s.examiner_unit, s.scored,
                 "已关闭" if s.closed else "当前"] for s in found.sittings]
    return spreadsheets.export([("考核成绩", header, rows), ("考次", ["考次", "日期", "考核员", "考核员单位", "已录成绩", "状态"], sittings)])
