"""Every table on the training pages has an .xlsx download: the ones added here are the course catalogue, the named
organisations, a session's instructors, one instructor's page (record, teaching per year, star history) and the exam's
sittings (a sheet of the results workbook). Each is scoped like its page and written through rescueops.spreadsheets."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from rescueops.training import instructors
from rescueops.training import service as training
from rescueops.training.schemas import CourseVersionIn, OrganisationIn, StarChangeIn
from rescueops.training.tables import CourseKind, InstructorKind
from tests.conftest import bearer
from tests.training import builders as b
from tests.training.test_exams_rules import code_of, enter, exam_setup, score, sit
from tests.web.test_pages import sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheets(response) -> dict[str, list[tuple]]:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith(XLSX)
    book = load_workbook(io.BytesIO(response.content))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


async def _as(client, make_user, role: str = "training_officer", unit: str = "150426") -> None:
    client.cookies.clear()
    await sign_in(client, make_user, role, unit=unit)


async def test_the_course_catalogue_exports_one_row_per_version(client, make_user, make_principal) -> None:
    region = await make_principal("region_coordinator", unit="150000")
    await training.publish_version(region, "first_aider", CourseVersionIn(
        syllabus="统一教学大纲（2026 修订）", hours="16", theory_pass=85, practical_pass=80, certificate_type="rc_first_aider",
        validity_months=36, reason="新版大纲"))
    version_one = next(v.id for v in (await training.get_course("first_aider")).versions if v.version == 1)
    await b.session(version_one)
    await _as(client, make_user)
    page = await client.get("/training/courses")
    assert 'href="/training/courses.xlsx"' in page.text
    [(title, rows)] = _sheets(await client.get("/training/courses.xlsx")).items()
    assert title == "课程目录" and rows[0][:5] == ("课程代码", "课程名称", "英文名称", "类别", "版本")
    by_version = {(r[0], r[4]): r for r in rows[1:]}
    assert {code for code, _ in by_version} >= {"awareness", "first_aider", "junior_first_aider", "cpr_aed", "instructor", "refresher"}
    newest, first = by_version[("first_aider", 2)], by_version[("first_aider", 1)]
    assert newest[5] == "是" and newest[9] == 85 and newest[13] == 0 and first[5] is None and first[9] == 80 and first[13] == 1
    assert first[3] == "红十字救护员" and first[7] == 16 and first[8] == "是" and first[11] == "红十字救护员证" and first[12] == 36
    awareness = by_version[("awareness", 1)]
    assert awareness[8] == "否" and awareness[9] is None and awareness[11] is None
    # The API gives the same file; a member, who does not see training, gets none.
    _, token = await make_user("training_officer", unit="150426")
    assert _sheets(await client.get("/api/v1/training/courses.xlsx", headers=bearer(token)))["课程目录"] == rows
    _, member = await make_user("member", unit="150426")
    assert (await client.get("/api/v1/training/courses.xlsx", headers=bearer(member))).status_code == 403


async def test_the_organisations_are_listed_on_the_sessions_page_and_exported_within_scope(client, make_user, make_principal) -> None:
    admin = await make_principal("admin", unit="150000")
    school = await training.create_organisation(admin, OrganisationIn(unit_code="150426", name="乌丹第一中学", kind="school", sector="schools"))
    tricky = await training.create_organisation(admin, OrganisationIn(unit_code="150426", name="=HYPERLINK(\"http://x\")", kind="company"))
    await training.create_organisation(admin, OrganisationIn(unit_code="150402", name="红山区第三小学", kind="school", sector="schools"))
    version = await b.course_version()
    await b.session(version, organisation=school.id)
    await b.session(version, organisation=school.id, status="cancelled")
    await _as(client, make_user)
    listing = await client.get("/training/sessions")
    assert f'data-organisation="{school.id}"' in listing.text and "红山区第三小学" not in listing.text
    assert 'href="/training/organisations.xlsx"' in listing.text
    rows = _sheets(await client.get("/training/organisations.xlsx"))["培训单位"]
    assert rows[0] == ("名称", "类型", "领域", "所属旗县区", "旗县区代码", "培训班次（未取消）")
    assert sorted(rows[1:]) == sorted([("乌丹第一中学", "学校", "进学校", "翁牛特旗", "150426", 1),
                                       ("'=HYPERLINK(\"http://x\")", "企业", "其他", "翁牛特旗", "150426", 0)])  # never a formula
    assert tricky.name.startswith("=")
    # The league sees both counties'; ?unit= narrows to one.
    _, league = await make_user("training_officer", unit="150400")
    everything = _sheets(await client.get("/api/v1/training/organisations.xlsx", headers=bearer(league)))["培训单位"]
    assert {r[0] for r in everything[1:]} == {"乌丹第一中学", "'=HYPERLINK(\"http://x\")", "红山区第三小学"}
    hongshan = _sheets(await client.get("/api/v1/training/organisations.xlsx", params={"unit": "150402"}, headers=bearer(league)))
    assert [r[0] for r in hongshan["培训单位"][1:]] == ["红山区第三小学"]


async def test_a_sessions_instructors_export_with_their_hours(client, make_user) -> None:
    session_id = await b.session(await b.course_version())
    await b.teaches(session_id, await b.instructor(await b.new_person(name="乌云")), "8")
    await b.teaches(session_id, await b.instructor(await b.new_person(name="张海军"), kind=InstructorKind.part_time), "7.5")
    code = await code_of(session_id)
    await _as(client, make_user)
    assert f'href="/training/sessions/{code}/instructors.xlsx"' in (await client.get(f"/training/sessions/{code}")).text
    rows = _sheets(await client.get(f"/training/sessions/{code}/instructors.xlsx"))["授课师资"]
    assert rows == [("姓名", "类别", "所属红十字会", "授课学时"), ("乌云", "专职", "翁牛特旗", 8), ("张海军", "兼职", "翁牛特旗", 7.5)]
    # Another county's officer does not learn the session exists.
    _, other = await make_user("training_officer", unit="150402")
    assert (await client.get(f"/api/v1/training/sessions/{code}/instructors.xlsx", headers=bearer(other))).status_code == 404
    _, own = await make_user("training_officer", unit="150426")
    assert _sheets(await client.get(f"/api/v1/training/sessions/{code}/instructors.xlsx", headers=bearer(own)))["授课师资"] == rows


async def test_an_instructors_page_exports_the_record_teaching_per_year_and_star_history(client, make_user, make_principal) -> None:
    officer = await make_principal("training_officer", unit="150426")
    instructor_id = await b.instructor(await b.new_person(name="乌云"))
    await instructors.change_stars(officer, instructor_id, StarChangeIn(stars=3, awarded_on=b.TODAY - timedelta(days=30), reason="年度评星"))
    version = await b.course_version(CourseKind.junior_first_aider, hours="8")
    for days_ago in (20, 10):
        await b.teaches(await b.session(version, starts_on=b.TODAY - timedelta(days=days_ago), days=1), instructor_id, "4")
    await _as(client, make_user)
    assert f'href="/training/instructors/{instructor_id}/export.xlsx"' in (await client.get(f"/training/instructors/{instructor_id}")).text
    sheets = _sheets(await client.get(f"/training/instructors/{instructor_id}/export.xlsx"))
    assert list(sheets) == ["师资信息", "授课统计", "星级记录"]
    record = dict(sheets["师资信息"][1:])
    assert record["姓名"] == "乌云" and record["类别"] == "专职" and record["星级"] == 3 and record["身份证号"].startswith("*")
    years = {r[0]: r[1:] for r in sheets["授课统计"][1:]}
    assert sum(n for n, _ in years.values()) == 2 and sum(h for _, h in years.values()) == 8
    assert [(r[1], r[2]) for r in sheets["星级记录"][1:]] == [(3, "年度评星")]
    _, other = await make_user("training_officer", unit="150402")
    assert (await client.get(f"/api/v1/training/instructors/{instructor_id}/export.xlsx", headers=bearer(other))).status_code == 404


async def test_the_exam_workbook_has_the_sittings_beside_the_results(client, make_user) -> None:
    exam = await exam_setup(make_user, trainees=2)
    await sit(exam, held_on=b.TODAY - timedelta(days=3))
    await enter(exam, 1, score(exam.enrolments[0], 90, 85), score(exam.enrolments[1], 50, 85))
    await sit(exam, held_on=b.TODAY - timedelta(days=1))
    await _as(client, make_user)
    page = await client.get(f"/training/sessions/{exam.code}/exam")
    assert 'id="sittings-export"' in page.text
    sheets = _sheets(await client.get(f"/training/sessions/{exam.code}/exam/results.xlsx"))
    assert list(sheets) == ["考核成绩", "考次"]
    sittings = sheets["考次"]
    assert sittings[0] == ("考次", "日期", "考核员", "考核员单位", "已录成绩", "状态")
    assert [(r[0], r[4], r[5]) for r in sittings[1:]] == [("第1次考核", 2, "已关闭"), ("第1次补考", 0, "当前")]
    assert len(sheets["考核成绩"]) == 3
