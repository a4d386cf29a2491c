"""The exam and certificate pages, in Chinese first: an officer assigns an examiner (the one who taught is refused, with
the reason shown), the examiner enters the class's results, the officer issues, finds, prints and revokes."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from rescueops.accounts import service as accounts
from rescueops.members.tables import Person
from rescueops.training import certificates
from rescueops.training.tables import ExamScore, ExamSitting, TrainingCertificate
from tests.accounts.test_auth import csrf_from
from tests.training import builders as b
from tests.training.test_exams_rules import exam_setup

TODAY = b.TODAY


async def as_user(client, user_id: int) -> None:
    client.cookies.clear()
    client.cookies.set("rescueops_session", await accounts.start_session(user_id, None))


async def test_an_officer_and_an_examiner_run_the_exam_through_the_pages(client, make_user) -> None:
    certificates.VERIFY_LIMIT.reset()
    exam = await exam_setup(make_user, trainees=3)
    passed, failed, absent = exam.enrolments
    teacher = await b.examiner()  # in the pool, but taught this session
    teacher_person = (await b.Examiner.select(b.Examiner.person).where(b.Examiner.id == teacher).first())["person"]
    await b.teaches(exam.session_id, await b.instructor(teacher_person), hours="8")
    teacher_name = (await Person.select(Person.name).where(Person.id == teacher_person).first())["name"]
    await as_user(client, exam.officer.user_id)
    url = f"/training/sessions/{exam.code}/exam"
    page = await client.get(url)
    assert page.status_code == 200 and "考核" in page.text and 'id="sitting-form"' in page.text
    assert 'id="score-form"' not in page.text  # the officer does not enter results
    assert re.search(rf'<option value="{teacher}" data-refused="1">{teacher_name}[^<]*教考分离', page.text)
    token = csrf_from(page.text)
    refused = await client.post(f"{url}/sittings", data={"_csrf_token": token, "examiner_id": str(teacher),
                                                         "held_on": str(TODAY - timedelta(days=2))})
    assert refused.status_code == 409
    assert "该考官讲授过本培训班" in refused.text and f"{teacher_name} taught this session (8 hours)" in refused.text
    assert await ExamSitting.count() == 0
    opened = await client.post(f"{url}/sittings", data={"_csrf_token": token, "examiner_id": str(exam.examiner_id),
                                                        "held_on": str(TODAY - timedelta(days=2))}, follow_redirects=False)
    assert opened.status_code in (302, 303), opened.text[:500]
    # The examiner signs in and enters the class's results in one form.
    await as_user(client, exam.examiner.user_id)
    page = await client.get(url)
    assert 'id="score-form"' in page.text and 'id="sitting-form"' not in page.text
    token = csrf_from(page.text)
    bad = await client.post(f"{url}/scores", data={"_csrf_token": token, f"theory_{passed}": "120", f"practical_{passed}": "90"})
    assert bad.status_code == 422 and await ExamScore.count() == 0
    saved = await client.post(f"{url}/scores", data={
        "_csrf_token": token, f"theory_{passed}": "90", f"practical_{passed}": "85", f"theory_{failed}": "79", f"practical_{failed}": "95",
        f"absent_{absent}": "on"}, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text[:800]
    outcomes = dict(re.findall(r'data-enrolment="(\d+)" data-outcome="(\w+)"', (await client.get(url)).text))
    assert outcomes == {str(passed): "passed", str(failed): "failed", str(absent): "absent"}
    # The officer issues the one certificate due.
    await as_user(client, exam.officer.user_id)
    page = await client.get(url)
    assert "颁发 1 张证书" in page.text
    issued = await client.post(f"/training/sessions/{exam.code}/certificates", data={"_csrf_token": csrf_from(page.text)},
                               follow_redirects=False)
    assert issued.status_code in (302, 303), issued.text[:500]
    number = (await TrainingCertificate.select(TrainingCertificate.number).first())["number"]
    page = await client.get(url)
    assert f'href="/training/certificates/{number}"' in page.text and 'id="issue-form"' not in page.text
    sheet = load_workbook(io.BytesIO((await client.get(f"{url}/results.xlsx")).content)).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert [r[-2] for r in rows.values()].count("合格") == 1 and number in [r[-1] for r in rows.values()]
    # Find it, read it, print it, revoke it.
    listing = await client.get("/training/certificates", params={"q": number})
    assert listing.status_code == 200 and f'data-number="{number}"' in listing.text and "共 1 张证书" in listing.text
    empty = await client.get("/training/certificates", params={"status": "revoked"})
    assert "共 0 张证书" in empty.text
    detail = await client.get(f"/training/certificates/{number}")
    assert detail.status_code == 200 and 'id="pdf-link"' in detail.text and "有效" in detail.text
    pdf = await client.get(f"/training/certificates/{number}/pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    token = csrf_from(detail.text)
    short = await client.post(f"/training/certificates/{number}/revocation", data={"_csrf_token": token, "reason": "错"})
    assert short.status_code == 422
    revoked = await client.post(f"/training/certificates/{number}/revocation", data={"_csrf_token": token, "reason": "冒名顶替参考"},
                                follow_redirects=False)
    assert revoked.status_code in (302, 303)
    detail = await client.get(f"/training/certificates/{number}")
    assert "已撤销" in detail.text and "冒名顶替参考" in detail.text and 'id="pdf-link"' not in detail.text
    again = await client.post(f"/training/certificates/{number}/revocation", data={"_csrf_token": token, "reason": "再撤销一次"})
    assert again.status_code == 409 and "该证书已被撤销" in again.text
    export = await client.get("/training/certificates.xlsx")
    assert export.status_code == 200 and load_workbook(io.BytesIO(export.content)).active.max_row == 2


async def test_the_pages_need_a_login_and_the_scope(client, make_user) -> None:
    exam = await exam_setup(make_user, trainees=1)
    client.cookies.clear()
    page = await client.get(f"/training/sessions/{exam.code}/exam", follow_redirects=False)
    assert page.status_code in (302, 303) and page.headers["location"].startswith("/login")
    outsider, _ = await make_user("training_officer", unit="150402")
    await as_user(client, outsider)
    assert (await client.get(f"/training/sessions/{exam.code}/exam")).status_code == 404
    # The verification form needs no login.
    client.cookies.clear()
    assert (await client.get("/verify")).status_code == 200
