"""Courses, organisations, sessions, enrolment and attendance through the API, with the rules that refuse bad input
and write nothing when they do."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from rescueops.accounts.tables import AuditEntry
from rescueops.calendar import china_today
from rescueops.training import service
from rescueops.training.tables import (
    Attendance,
    Course,
    CourseKind,
    CourseVersion,
    Enrolment,
    ExamSitting,
    Organisation,
    SessionInstructor,
    Tally,
    TrainingBase,
    TrainingSession,
)
from tests.conftest import bearer
from tests.factories import person
from tests.training import builders

API = "/api/v1/training"
TODAY = china_today()


def _session_body(**extra) -> dict:
    return {"course_code": "first_aider", "unit_code": "150426", "sector": "campus", "place": "旗第一中学报告厅",
            "title": "教师救护员培训", "starts_on": (TODAY - timedelta(days=3)).isoformat(),
            "ends_on": (TODAY - timedelta(days=2)).isoformat(), "capacity": 30, **extra}


async def _officer(make_user, unit: str = "150426") -> dict:
    _, token = await make_user("training_officer", unit=unit)
    return bearer(token)


async def _plan(client, headers, **extra) -> dict:
    response = await client.post(f"{API}/sessions", json=_session_body(**extra), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _trainee(**extra) -> dict:
    p = person(**extra)
    return {"name": p["name"], "gender": p["gender"], "id_number": p["id_number"], "phone": p["phone"]}


async def test_the_catalogue_is_loaded_from_data_and_loading_again_changes_nothing(client, make_user) -> None:
    headers = await _officer(make_user)
    courses = (await client.get(f"{API}/courses", headers=headers)).json()
    by_kind = {c["kind"]: c for c in courses}
    assert set(by_kind) == {k.value for k in CourseKind}
    first_aider = by_kind["first_aider"]["versions"][0]
    assert first_aider["certificate_type"] == "rc_first_aider" and first_aider["exam_required"] is True and first_aider["validity_months"] == 36
    assert by_kind["awareness"]["versions"][0]["exam_required"] is False and by_kind["awareness"]["versions"][0]["certificate_type"] is None
    assert by_kind["cpr_aed"]["versions"][0]["certificate_type"] == "cpr_aed"
    before = await CourseVersion.count()
    assert (await service.load_courses())[0] == "training courses: 0 versions added"
    assert await CourseVersion.count() == before


async def test_a_used_version_is_never_rewritten_by_the_loader(db) -> None:
    version = await CourseVersion.select(CourseVersion.id).where(CourseVersion.course.code == "cpr_aed").first()
    await builders.session(version["id"])
    entries = service.read_catalogue()
    cpr = next(e for e in entries if e["code"] == "cpr_aed")
    cpr["versions"][0]["hours"] = 6
    lines = await service.load_courses(entries)
    assert any("cpr_aed v1: in use" in line for line in lines)
    assert (await CourseVersion.select(CourseVersion.hours).where(CourseVersion.id == version["id"]).first())["hours"] == Decimal("4")
    unused = next(e for e in entries if e["code"] == "junior_first_aider")
    unused["versions"][0]["hours"] = 6
    await service.load_courses(entries)
    row = await CourseVersion.select(CourseVersion.hours).where(CourseVersion.course.code == "junior_first_aider").first()
    assert row["hours"] == Decimal("6")


async def test_the_region_publishes_a_version_and_a_planned_session_keeps_its_own(client, make_user) -> None:
    county = await _officer(make_user)
    planned = await _plan(client, county)
    assert planned["course_version"] == 1 and planned["code"].startswith(f"TR-150426-{TODAY - timedelta(days=3):%Y}-")
    body = {"syllabus": "统一教学大纲（2024 版）", "hours": "12", "exam_required": True, "theory_pass": 85, "practical_pass": 85,
            "certificate_type": "rc_first_aider", "validity_months": 36, "reason": "新版大纲下发"}
    refused = await client.post(f"{API}/courses/first_aider/versions", json=body, headers=county)
    assert refused.status_code == 403
    _, token = await make_user("region_coordinator", unit="150000")
    region = bearer(token)
    bad = await client.post(f"{API}/courses/first_aider/versions", json={**body, "certificate_type": "nope"}, headers=region)
    assert bad.status_code == 422 and "certificate_type" in bad.text
    inconsistent = await client.post(f"{API}/courses/first_aider/versions", json={**body, "exam_required": False}, headers=region)
    assert inconsistent.status_code == 422
    assert await CourseVersion.count().where(CourseVersion.course.code == "first_aider") == 1
    published = await client.post(f"{API}/courses/first_aider/versions", json=body, headers=region)
    assert published.status_code == 201, published.text
    assert [v["version"] for v in published.json()["versions"]] == [2, 1]
    audit = await AuditEntry.select(AuditEntry.changes).where(AuditEntry.action == "training.course.version").first()
    assert "新版大纲下发" in audit["changes"]
    again = (await client.get(f"{API}/sessions/{planned['code']}", headers=county)).json()
    assert again["course_version"] == 1 and Decimal(again["hours"]) == Decimal("16")
    later = await _plan(client, county)
    assert later["course_version"] == 2 and Decimal(later["hours"]) == Decimal("12") and later["theory_pass"] == 85


async def test_organisations_are_unique_per_county(client, make_user) -> None:
    headers = await _officer(make_user)
    body = {"unit_code": "150426", "name": "翁牛特旗第一中学", "kind": "school", "sector": "campus"}
    created = await client.post(f"{API}/organisations", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["unit_code"] == "150426"
    twice = await client.post(f"{API}/organisations", json=body, headers=headers)
    assert twice.status_code == 409 and "already has" in twice.json()["message"]
    league = await client.post(f"{API}/organisations", json={**body, "unit_code": "150400"}, headers=headers)
    assert league.status_code == 422  # a league is not a county
    other = await client.post(f"{API}/organisations", json={**body, "unit_code": "150428"}, headers=headers)
    assert other.status_code == 403
    assert await Organisation.count() == 1
    listed = (await client.get(f"{API}/organisations", headers=headers)).json()
    assert [o["name"] for o in listed] == ["翁牛特旗第一中学"]
    outsider = await _officer(make_user, "150428")
    assert (await client.get(f"{API}/organisations", headers=outsider)).json() == []


async def test_planning_refuses_bad_input_and_writes_nothing(client, make_user) -> None:
    headers = await _officer(make_user)
    cases = [
        ({"ends_on": (TODAY - timedelta(days=5)).isoformat()}, 422, "ends_on"),
        ({"capacity": 0}, 422, "capacity"),
        ({"course_code": "nope"}, 422, "course_code"),
        ({"unit_code": "150428"}, 403, "training.manage"),
        ({"sector": "moon"}, 422, "sector"),
        ({"place": ""}, 422, "place"),
        ({"base_code": "NOPE"}, 422, "base_code"),
        ({"organisation_id": 999}, 422, "organisation_id"),
    ]
    for extra, status, word in cases:
        response = await client.post(f"{API}/sessions", json=_session_body(**extra), headers=headers)
        assert response.status_code == status, (extra, response.text)
        assert word in response.text, (extra, response.text)
    assert await TrainingSession.count() == 0
    where = await builders.unit("150428")
    await TrainingBase.insert(TrainingBase(code="AH-BASE", unit=where["id"], unit_path=where["path"], kind="training_base",
                                           name_zh="敖汉旗培训基地", capacity=50, created_at=TODAY))
    elsewhere = await client.post(f"{API}/sessions", json=_session_body(base_code="AH-BASE", place=""), headers=headers)
    assert elsewhere.status_code == 422 and "another branch" in elsewhere.text
    assert await TrainingSession.count() == 0


async def test_session_status_flow_and_cancellation_reason(client, make_user) -> None:
    headers = await _officer(make_user)
    code = (await _plan(client, headers))["code"]
    url = f"{API}/sessions/{code}/status"
    assert (await client.post(url, json={"status": "completed"}, headers=headers)).status_code == 409
    assert (await client.post(url, json={"status": "open"}, headers=headers)).json()["status"] == "open"
    assert (await client.post(url, json={"status": "cancelled"}, headers=headers)).status_code == 422  # no reason
    done = await client.post(url, json={"status": "cancelled", "reason": "学校停课"}, headers=headers)
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    audit = await AuditEntry.select(AuditEntry.changes).where(AuditEntry.action == "training.session.status").order_by(
        AuditEntry.id, ascending=False).first()
    assert "学校停课" in audit["changes"]
    assert (await client.post(url, json={"status": "open"}, headers=headers)).status_code == 409


async def test_listing_filters_and_scope(client, make_user) -> None:
    county = await _officer(make_user)
    await _plan(client, county)
    await _plan(client, county, course_code="cpr_aed", sector="transport", starts_on=(TODAY + timedelta(days=30)).isoformat(),
                ends_on=(TODAY + timedelta(days=30)).isoformat())
    other = await _officer(make_user, "150428")
    await _plan(client, other, unit_code="150428")
    listed = (await client.get(f"{API}/sessions", headers=county)).json()
    assert listed["total"] == 2 and all(s["unit_code"] == "150426" for s in listed["items"])
    assert (await client.get(f"{API}/sessions?kind=cpr_aed", headers=county)).json()["total"] == 1
    assert (await client.get(f"{API}/sessions?sector=campus", headers=county)).json()["total"] == 1
    assert (await client.get(f"{API}/sessions?status=planned&starts_from={TODAY}", headers=county)).json()["total"] == 1
    page = (await client.get(f"{API}/sessions?limit=1", headers=county)).json()
    assert len(page["items"]) == 1 and page["total"] == 2
    league = await _officer(make_user, "150400")
    assert (await client.get(f"{API}/sessions", headers=league)).json()["total"] == 3
    assert (await client.get(f"{API}/sessions?unit=150428", headers=league)).json()["total"] == 1
    hidden = listed["items"][0]["code"]
    assert (await client.get(f"{API}/sessions/{hidden}", headers=other)).status_code == 404
    export = await client.get(f"{API}/sessions/export.xlsx", headers=county)
    assert export.status_code == 200 and export.content[:2] == b"PK"


async def test_instructors_rules_including_examiner_separation(client, make_user) -> None:
    headers = await _officer(make_user)
    planned = await _plan(client, headers)
    code, session_id = planned["code"], (await TrainingSession.select(TrainingSession.id).first())["id"]
    url = f"{API}/sessions/{code}/instructors"
    good = await builders.instructor()
    added = await client.post(url, json={"instructor_id": good, "hours": "8"}, headers=headers)
    assert added.status_code == 201 and [i["instructor_id"] for i in added.json()["instructors"]] == [good]
    assert (await client.post(url, json={"instructor_id": good, "hours": "8"}, headers=headers)).status_code == 409
    too_long = await builders.instructor()
    assert (await client.post(url, json={"instructor_id": too_long, "hours": "17"}, headers=headers)).status_code == 422
    expiring = await builders.instructor(expires_on=TODAY - timedelta(days=3))
    expired = await client.post(url, json={"instructor_id": expiring, "hours": "4"}, headers=headers)
    assert expired.status_code == 422 and "qualification ends" in expired.text
    inactive = await builders.instructor()
    from rescueops.training.tables import Instructor
    await Instructor.update({Instructor.active: False}).where(Instructor.id == inactive)
    assert (await client.post(url, json={"instructor_id": inactive, "hours": "4"}, headers=headers)).status_code == 422
    # The examiner of one of the session's sittings cannot teach it.
    person_id = await builders.new_person()
    examiner = await builders.examiner(person_id)
    await ExamSitting.insert(ExamSitting(session=session_id, examiner=examiner, attempt=1, held_on=TODAY, created_at=TODAY))
    both = await builders.instructor(person_id)
    refused = await client.post(url, json={"instructor_id": both, "hours": "4"}, headers=headers)
    assert refused.status_code == 409 and "教考分离" in refused.json()["message"]
    assert await SessionInstructor.count() == 1
    removed = await client.delete(f"{url}/{good}", headers=headers)
    assert removed.status_code == 200 and removed.json()["instructors"] == []


async def test_enrolment_one_by_one(client, make_user) -> None:
    headers = await _officer(make_user)
    code = (await _plan(client, headers, capacity=2))["code"]
    url = f"{API}/sessions/{code}/enrolments"
    trainee = _trainee()
    first = await client.post(url, json=trainee, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["id_number"].endswith(trainee["id_number"][-4:]) and first.json()["id_number"].startswith("*")
    assert (await client.post(url, json=trainee, headers=headers)).status_code == 409
    # An existing person: found by ID number, never overwritten; a different name is refused without revealing the stored one.
    existing_id = await builders.new_person(name="张三")
    from rescueops.members.tables import Person
    stored = await Person.select().where(Person.id == existing_id).first()
    from rescueops.crypto import decrypt
    number = decrypt(stored["id_number_encrypted"])
    wrong = await client.post(url, json={"name": "李四", "gender": stored["gender"], "id_number": number}, headers=headers)
    assert wrong.status_code == 422 and "张三" not in wrong.text and "differs from the name on record" in wrong.text
    bad_gender = await client.post(url, json={**_trainee(), "gender": "female"}, headers=headers)
    assert bad_gender.status_code == 422 and "gender" in bad_gender.text
    bad_id = await client.post(url, json={**_trainee(), "id_number": "150426198001010000"}, headers=headers)
    assert bad_id.status_code == 422
    assert await Enrolment.count() == 1
    ok = await client.post(url, json={"name": "张三", "gender": stored["gender"], "id_number": number, "phone": "13900000000"}, headers=headers)
    assert ok.status_code == 201 and ok.json()["person_id"] == existing_id
    assert (await Person.select(Person.phone).where(Person.id == existing_id).first())["phone"] == stored["phone"]
    full = await client.post(url, json=_trainee(), headers=headers)
    assert full.status_code == 409 and "full" in full.text
    withdrawn = await client.post(f"{url}/{first.json()['id']}/withdraw", headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert (await client.post(url, json=_trainee(), headers=headers)).status_code == 201
    awareness = (await _plan(client, headers, course_code="awareness"))["code"]
    refused = await client.post(f"{API}/sessions/{awareness}/enrolments", json=_trainee(), headers=headers)
    assert refused.status_code == 409 and "heads" in refused.text


async def test_the_last_seat_goes_to_exactly_one_of_concurrent_enrolments(client, make_user, make_principal) -> None:
    headers = await _officer(make_user)
    code = (await _plan(client, headers, capacity=3))["code"]
    principal = await make_principal("training_officer", unit="150426")
    from rescueops.training.schemas import EnrolIn
    for _ in range(2):
        await service.enrol(principal, code, EnrolIn(**_trainee()))
    results = await asyncio.gather(*[service.enrol(principal, code, EnrolIn(**_trainee())) for _ in range(5)], return_exceptions=True)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(getattr(r, "code", "") == "session_full" for r in results if isinstance(r, Exception))
    assert await Enrolment.count() == 3


async def test_attendance_for_a_day_and_the_sums(client, make_user) -> None:
    headers = await _officer(make_user)
    planned = await _plan(client, headers)
    code = planned["code"]
    await client.post(f"{API}/sessions/{code}/status", json={"status": "running"}, headers=headers)
    ids = [(await client.post(f"{API}/sessions/{code}/enrolments", json=_trainee(), headers=headers)).json()["id"] for _ in range(2)]
    url = f"{API}/sessions/{code}/attendance"
    day1, day2 = planned["starts_on"], planned["ends_on"]
    sheet = await client.put(url, json={"day": day1, "entries": [{"enrolment_id": ids[0], "hours": "8"}, {"enrolment_id": ids[1], "hours": "6"}]},
                             headers=headers)
    assert sheet.status_code == 200, sheet.text
    assert await client.put(url, json={"day": day2, "entries": [{"enrolment_id": ids[0], "hours": "8"}]}, headers=headers)
    hours = {r["enrolment_id"]: Decimal(r["hours"]) for r in (await client.get(url, headers=headers)).json()["rows"]}
    assert hours == {ids[0]: Decimal("16"), ids[1]: Decimal("6")}
    # Correcting a day replaces it.
    await client.put(url, json={"day": day1, "entries": [{"enrolment_id": ids[1], "hours": "8"}]}, headers=headers)
    assert (await Enrolment.select(Enrolment.hours).where(Enrolment.id == ids[1]).first())["hours"] == Decimal("8")
    before = await Attendance.count()
    for body, word in [
        ({"day": (TODAY - timedelta(days=10)).isoformat(), "entries": [{"enrolment_id": ids[0], "hours": "1"}]}, "not a day of the session"),
        ({"day": day1, "entries": [{"enrolment_id": ids[0], "hours": "25"}]}, "hours"),
        ({"day": day1, "entries": [{"enrolment_id": ids[0], "hours": "9"}]}, "more than the course"),  # 9 + 8 > 16
        ({"day": day1, "entries": [{"enrolment_id": 999999, "hours": "1"}]}, "not in this session"),
        ({"day": day1, "entries": [{"enrolment_id": ids[0], "hours": "1"}, {"enrolment_id": ids[0], "hours": "2"}]}, "more than once"),
    ]:
        response = await client.put(url, json=body, headers=headers)
        assert response.status_code in (400, 422) and word in response.text, (body, response.text)
    assert await Attendance.count() == before
    assert (await Enrolment.select(Enrolment.hours).where(Enrolment.id == ids[0]).first())["hours"] == Decimal("16")
    for export in ("class.xlsx", "attendance.xlsx"):
        got = await client.get(f"{API}/sessions/{code}/{export}", headers=headers)
        assert got.status_code == 200 and got.content[:2] == b"PK"


async def test_awareness_heads_move_the_tally_by_the_difference(client, make_user) -> None:
    headers = await _officer(make_user)
    code = (await _plan(client, headers, course_code="awareness", capacity=500))["code"]
    url = f"{API}/sessions/{code}/reported-attendance"
    assert (await client.put(url, json={"count": 120}, headers=headers)).json()["reported_attendance"] == 120
    assert (await client.put(url, json={"count": 100, "note": "重复计数更正"}, headers=headers)).status_code == 200
    tally = await Tally.select(Tally.attendances, Tally.kind, Tally.sector)
    assert tally == [{"attendances": 100, "kind": "awareness", "sector": "campus"}]
    refused = await client.put(url, json={"count": -1}, headers=headers)
    assert refused.status_code in (400, 422)
    certified = (await _plan(client, headers))["code"]
    assert (await client.put(f"{API}/sessions/{certified}/reported-attendance", json={"count": 5}, headers=headers)).status_code == 409
    await client.post(f"{API}/sessions/{code}/status", json={"status": "cancelled", "reason": "天气原因取消"}, headers=headers)
    assert (await Tally.select(Tally.attendances).first())["attendances"] == 0
    assert await Course.count() == 6
