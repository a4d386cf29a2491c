"""The session pages, in Chinese first: the landing page, the catalogue, planning a session, its page (instructors,
enrolment, attendance, headcount), the trainee-list import; errors shown on the page with nothing written."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook

from rescueops.calendar import china_today
from rescueops.training.tables import (
    Attendance,
    CourseVersion,
    Enrolment,
    Organisation,
    SessionInstructor,
    TrainingSession,
)
from tests.accounts.test_auth import csrf_from
from tests.factories import person
from tests.training import builders
from tests.training.test_sessions_import import _row, _xlsx
from tests.web.test_pages import sign_in

TODAY = china_today()


async def _as(client, make_user, role: str = "training_officer", unit: str = "150426") -> None:
    client.cookies.clear()
    await sign_in(client, make_user, role, unit=unit)


async def _planned(client, **extra) -> str:
    form = await client.get("/training/sessions/new")
    data = {"_csrf_token": csrf_from(form.text), "course_code": "first_aider", "unit_code": "150426", "sector": "campus",
            "place": "旗一中报告厅", "title": "教师救护员培训", "starts_on": (TODAY - timedelta(days=1)).isoformat(),
            "ends_on": TODAY.isoformat(), "capacity": "20", **extra}
    planned = await client.post("/training/sessions/new", data=data, follow_redirects=False)
    assert planned.status_code in (302, 303), planned.text[:800]
    return planned.headers["location"].rsplit("/", 1)[1]


async def test_the_landing_page_links_every_part_and_the_nav_shows_training(client, make_user) -> None:
    await _as(client, make_user)
    landing = await client.get("/training")
    assert landing.status_code == 200 and "应急救护培训" in landing.text
    for href in ("/training/courses", "/training/sessions", "/training/certificates", "/training/instructors", "/training/examiners",
                 "/training/bases", "/training/targets", "/training/progress"):
        assert f'href="{href}"' in landing.text, href
    assert 'href="/training" aria-current="page"' in landing.text
    await _as(client, make_user, "member")
    assert (await client.get("/training")).status_code == 403
    assert 'href="/training"' not in (await client.get("/")).text


async def test_the_catalogue_page_and_publishing_a_version(client, make_user) -> None:
    await _as(client, make_user)
    catalogue = await client.get("/training/courses")
    assert catalogue.status_code == 200 and "红十字救护员培训" in catalogue.text and "“CPR+AED”培训" in catalogue.text
    assert 'id="publish-form"' not in catalogue.text
    await _as(client, make_user, "region_coordinator", "150000")
    catalogue = await client.get("/training/courses")
    token = csrf_from(catalogue.text)
    bad = await client.post("/training/courses/versions", data={"_csrf_token": token, "course_code": "cpr_aed", "syllabus": "新大纲",
                                                                "hours": "4", "exam_required": "yes", "reason": "更新"})
    assert bad.status_code == 422 and 'id="page-error"' in bad.text
    done = await client.post("/training/courses/versions", data={
        "_csrf_token": token, "course_code": "cpr_aed", "syllabus": "新大纲", "hours": "5", "exam_required": "yes", "practical_pass": "85",
        "certificate_type": "cpr_aed", "validity_months": "24", "reason": "更新学时"}, follow_redirects=False)
    assert done.status_code in (302, 303)
    assert await CourseVersion.count().where(CourseVersion.course.code == "cpr_aed") == 2


async def test_planning_a_session_and_an_organisation_through_the_pages(client, make_user) -> None:
    await _as(client, make_user)
    form = await client.get("/training/sessions/new")
    assert form.status_code == 200 and "校园守护" in form.text and "进社区" in form.text
    token = csrf_from(form.text)
    added = await client.post("/training/organisations", data={"_csrf_token": token, "unit_code": "150426", "name": "翁牛特旗第一中学",
                                                               "kind": "school", "sector": "campus"}, follow_redirects=False)
    assert added.status_code in (302, 303)
    twice = await client.post("/training/organisations", data={"_csrf_token": token, "unit_code": "150426", "name": "翁牛特旗第一中学",
                                                               "kind": "school", "sector": "campus"})
    assert twice.status_code == 409 and "已登记" in twice.text
    assert await Organisation.count() == 1
    refused = await client.post("/training/sessions/new", data={
        "_csrf_token": token, "course_code": "first_aider", "unit_code": "150426", "place": "x", "starts_on": TODAY.isoformat(),
        "ends_on": (TODAY - timedelta(days=1)).isoformat(), "capacity": "10"})
    assert refused.status_code == 422 and "ends_on" in refused.text and await TrainingSession.count() == 0
    organisation = (await Organisation.select(Organisation.id).first())["id"]
    code = await _planned(client, organisation_id=str(organisation), sector="other")
    detail = await client.get(f"/training/sessions/{code}")
    assert detail.status_code == 200 and "翁牛特旗第一中学" in detail.text and "校园守护" in detail.text  # the organisation's sector
    assert f'href="/training/sessions/{code}/exam"' in detail.text
    listing = await client.get("/training/sessions?sector=campus")
    assert listing.status_code == 200 and f'data-code="{code}"' in listing.text and "export.xlsx?sector=campus" in listing.text
    assert f'data-code="{code}"' not in (await client.get("/training/sessions?kind=cpr_aed")).text
    export = await client.get("/training/sessions/export.xlsx?sector=campus")
    assert export.status_code == 200, export.text[:300]
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet.cell(row=2, column=1).value == code
    await _as(client, make_user, unit="150428")
    assert (await client.get(f"/training/sessions/{code}")).status_code == 404
    assert f'data-code="{code}"' not in (await client.get("/training/sessions")).text


async def test_a_session_page_enrols_teaches_and_records_attendance(client, make_user) -> None:
    await _as(client, make_user)
    code = await _planned(client)
    url = f"/training/sessions/{code}"
    page = await client.get(url)
    token = csrf_from(page.text)
    instructor = await builders.instructor()
    page = await client.get(url)
    assert f'<option value="{instructor}">' in page.text
    assert (await client.post(f"{url}/instructors", data={"_csrf_token": token, "instructor_id": str(instructor), "hours": "20"})
            ).status_code == 422
    assert (await client.post(f"{url}/instructors", data={"_csrf_token": token, "instructor_id": str(instructor), "hours": "8"},
                              follow_redirects=False)).status_code in (302, 303)
    assert await SessionInstructor.count() == 1
    p = person()
    enrolled = await client.post(f"{url}/enrolments", data={"_csrf_token": token, "name": p["name"], "gender": p["gender"],
                                                            "id_number": p["id_number"], "phone": p["phone"]}, follow_redirects=False)
    assert enrolled.status_code in (302, 303)
    twice = await client.post(f"{url}/enrolments", data={"_csrf_token": token, "name": p["name"], "gender": p["gender"],
                                                         "id_number": p["id_number"]})
    assert twice.status_code == 409 and "已报名" in twice.text and p["id_number"] in twice.text  # the form keeps what was typed
    assert (await client.post(f"{url}/status", data={"_csrf_token": token, "status": "running"}, follow_redirects=False)).status_code in (302, 303)
    enrolment = (await Enrolment.select(Enrolment.id).first())["id"]
    page = await client.get(f"{url}?day={TODAY - timedelta(days=1)}")
    assert f'name="hours_{enrolment}"' in page.text
    saved = await client.post(f"{url}/attendance", data={"_csrf_token": token, "day": (TODAY - timedelta(days=1)).isoformat(),
                                                         f"hours_{enrolment}": "8"}, follow_redirects=False)
    assert saved.status_code in (302, 303)
    too_many = await client.post(f"{url}/attendance", data={"_csrf_token": token, "day": TODAY.isoformat(), f"hours_{enrolment}": "9"})
    assert too_many.status_code == 422 and await Attendance.count() == 1
    assert (await Enrolment.select(Enrolment.hours).first())["hours"] == Decimal("8")
    page = await client.get(url)
    assert re.search(rf'data-enrolment="{enrolment}">.*?8', page.text, re.S)
    withdrawn = await client.post(f"{url}/enrolments/{enrolment}/withdraw", data={"_csrf_token": token}, follow_redirects=False)
    assert withdrawn.status_code in (302, 303)
    assert (await Enrolment.select(Enrolment.status).first())["status"] == "withdrawn"


async def test_an_awareness_session_page_takes_a_headcount(client, make_user) -> None:
    await _as(client, make_user)
    code = await _planned(client, course_code="awareness", capacity="300")
    url = f"/training/sessions/{code}"
    page = await client.get(url)
    assert 'id="headcount-form"' in page.text and 'id="enrol-form"' not in page.text and 'id="exam-link"' not in page.text
    token = csrf_from(page.text)
    bad = await client.post(f"{url}/headcount", data={"_csrf_token": token, "count": "lots"})
    assert bad.status_code == 422
    saved = await client.post(f"{url}/headcount", data={"_csrf_token": token, "count": "180"}, follow_redirects=False)
    assert saved.status_code in (302, 303)
    assert 'id="reported">180<' in (await client.get(url)).text


async def test_the_import_page_previews_and_enrols(client, make_user) -> None:
    await _as(client, make_user)
    code = await _planned(client)
    url = f"/training/sessions/{code}/import"
    form = await client.get(url)
    assert form.status_code == 200 and "下载模板" in form.text
    token = csrf_from(form.text)
    mixed = await client.post(url, data={"_csrf_token": token}, files={"file": ("名单.xlsx", _xlsx([_row(), ["李四", "男", "123", ""]]))})
    assert mixed.status_code == 200 and 'id="report-errors"' in mixed.text and 'id="import-all"' not in mixed.text
    good = await client.post(url, data={"_csrf_token": token}, files={"file": ("名单.xlsx", _xlsx([_row(), _row()]))})
    action = re.search(rf'action="(/training/sessions/{code}/import/\d+)"', good.text).group(1)
    done = await client.post(action, data={"_csrf_token": token}, follow_redirects=False)
    assert done.status_code in (302, 303) and await Enrolment.count() == 2
    broken = await client.post(url, data={"_csrf_token": token}, files={"file": ("名单.xlsx", b"junk")})
    assert broken.status_code == 422 and 'id="page-error"' in broken.text
    await _as(client, make_user, "examiner")
    assert (await client.get(url)).status_code == 403
