"""The instructor and examiner pages, Chinese first: the list with its filters and county checks, registering, the detail
page with the star history and a star change, the examiner pool; refusals shown on the page with nothing written."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from rescueops.calendar import china_today
from rescueops.training.tables import Examiner, Instructor, InstructorKind, InstructorStar
from tests.accounts.test_auth import csrf_from
from tests.factories import person
from tests.training import builders
from tests.web.test_pages import sign_in


async def _as(client, make_user, role: str = "training_officer", **scope) -> None:
    client.cookies.clear()
    await sign_in(client, make_user, role, **(scope or {"unit": "150400"}))


async def test_the_instructor_list_filters_and_shows_the_county_checks(client, make_user) -> None:
    for _ in range(2):
        fresh = await builders.instructor()
        await Instructor.update({Instructor.last_refresher_on: china_today() - timedelta(days=20)}).where(Instructor.id == fresh)
    stale = await builders.instructor(unit_code="150404", kind=InstructorKind.part_time)  # never refreshed: due
    await _as(client, make_user)
    page = await client.get("/training/instructors")
    assert page.status_code == 200 and "师资" in page.text and "各旗县区专职师资" in page.text
    assert page.text.count('data-instructor="') == 3
    assert re.search(r'data-county="150426" data-met="yes"', page.text) and re.search(r'data-county="150404" data-met="no"', page.text)
    assert "差 2 名" in page.text  # 松山区 has no full-time instructor
    due = await client.get("/training/instructors", params={"due": "true"})
    assert due.text.count('data-instructor="') == 1 and f'data-instructor="{stale}" data-due="refresher"' in due.text
    part = await client.get("/training/instructors", params={"kind": "part_time"})
    assert part.text.count('data-instructor="') == 1 and "兼职" in part.text
    exported = await client.get("/training/instructors.xlsx", params={"kind": "full_time"})
    assert exported.status_code == 200
    assert len(list(load_workbook(io.BytesIO(exported.content))["师资"].iter_rows(values_only=True))) == 3


async def test_register_an_instructor_through_the_page_and_see_refusals(client, make_user) -> None:
    await _as(client, make_user)
    page = await client.get("/training/instructors")
    token = csrf_from(page.text)
    number = person()["id_number"]
    form = {"_csrf_token": token, "id_number": number, "name": "陈静", "unit_code": "150426", "kind": "full_time",
            "qualification_number": "SZ-77", "qualified_on": str(china_today() - timedelta(days=30)), "stars": "2"}
    made = await client.post("/training/instructors", data=form, follow_redirects=False)
    assert made.status_code in (302, 303), made.text[:800]
    detail = await client.get(made.headers["location"])
    assert "陈静" in detail.text and 'data-stars="2"' in detail.text and "登记时的星级" in detail.text
    again = await client.post("/training/instructors", data=form)
    assert again.status_code == 409 and "此人已登记为师资" in again.text and 'value="陈静"' in again.text
    future = await client.post("/training/instructors", data=form | {"id_number": person()["id_number"],
                                                                     "qualified_on": str(china_today() + timedelta(days=5))})
    assert future.status_code == 422 and "cannot be in the future" in future.text
    assert await Instructor.count() == 1


async def test_star_change_and_deactivation_on_the_detail_page(client, make_user) -> None:
    instructor = await builders.instructor()
    version = await builders.course_version()
    session = await builders.session(version)
    await builders.teaches(session, instructor, "6")
    await _as(client, make_user, unit="150426")
    url = f"/training/instructors/{instructor}"
    page = await client.get(url)
    assert page.status_code == 200 and "历年授课场次与课时" in page.text and f'data-year="{(builders.TODAY - timedelta(days=10)).year}"' in page.text
    token = csrf_from(page.text)
    changed = await client.post(f"{url}/stars", data={"_csrf_token": token, "stars": "3", "awarded_on": str(china_today()), "reason": "年度评星"},
                                follow_redirects=False)
    assert changed.status_code in (302, 303)
    page = await client.get(url)
    assert 'data-stars="3"' in page.text and "年度评星" in page.text and page.text.count('class="star-change"') == 1
    refused = await client.post(f"{url}/stars", data={"_csrf_token": token, "stars": "9", "reason": "太多了"})
    assert refused.status_code == 422 and "stars" in refused.text
    assert await InstructorStar.count() == 1
    off = await client.post(f"{url}/active", data={"_csrf_token": token, "active": "false", "reason": "退休"}, follow_redirects=False)
    assert off.status_code in (302, 303)
    assert 'id="inactive-badge"' in (await client.get(url)).text
    # Someone of another league gets "not found".
    await _as(client, make_user, unit="150100")
    assert (await client.get(url)).status_code == 404


async def test_the_examiner_pool_page(client, make_user) -> None:
    instructor_person = await builders.new_person(name="黄医生")
    await builders.instructor(instructor_person)
    await builders.examiner(instructor_person)
    await _as(client, make_user)
    page = await client.get("/training/examiners")
    assert page.status_code == 200 and "考核员库" in page.text and "教考分离" in page.text and "同为师资" in page.text
    token = csrf_from(page.text)
    made = await client.post("/training/examiners", data={"_csrf_token": token, "id_number": person()["id_number"], "name": "吴考官",
                                                          "unit_code": "150400", "qualification_number": "KH-1"}, follow_redirects=False)
    assert made.status_code in (302, 303), made.text[:800]
    page = await client.get("/training/examiners")
    assert "吴考官" in page.text and page.text.count('data-examiner="') == 2
    missing = await client.post("/training/examiners", data={"_csrf_token": token, "id_number": person()["id_number"], "name": "",
                                                             "unit_code": "150400"})
    assert missing.status_code == 422 and "give their name" in missing.text
    assert await Examiner.count() == 2
    examiner_id = (await Examiner.select(Examiner.id).where(Examiner.qualification_number == "KH-1").first())["id"]
    off = await client.post(f"/training/examiners/{examiner_id}/active", data={"_csrf_token": token, "active": "false", "reason": "调离"},
                            follow_redirects=False)
    assert off.status_code in (302, 303)
    assert (await Examiner.select(Examiner.active).where(Examiner.id == examiner_id).first())["active"] is False
    exported = await client.get("/training/examiners.xlsx")
    assert len(list(load_workbook(io.BytesIO(exported.content))["考核员"].iter_rows(values_only=True))) == 3
