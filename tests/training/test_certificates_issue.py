"""Certificates: issued on passing (or, without an exam, on full attendance) in one run per session, with unique
well-formed numbers also under concurrent runs, the roster copy and the tally in the same transaction; revocation;
the roster copy on the member page of a trainee who later joins a rescue team; the printed PDF and its QR."""

from __future__ import annotations

import asyncio
import io
from datetime import date, timedelta

import pypdfium2
import pytest
import zxingcpp
from openpyxl import load_workbook
from pypdf import PdfReader

from rescueops.accounts import service as accounts
from rescueops.calendar import add_months
from rescueops.db import consistency
from rescueops.errors import Conflict, InvalidInput
from rescueops.members import service as members
from rescueops.members.schemas import JoinIn
from rescueops.members.tables import Certificate as MemberCertificate
from rescueops.members.tables import Person
from rescueops.training import certificates
from rescueops.training.certificates import check_character, well_formed
from rescueops.training.schemas import CertificateIssueIn, CertificateRevokeIn
from rescueops.training.tables import (
    CertificateSerial,
    CourseKind,
    Enrolment,
    Tally,
    TrainingCertificate,
    TrainingSession,
)
from tests.conftest import bearer
from tests.factories import make_team, person
from tests.training import builders as b
from tests.training.test_exams_rules import Exam, code_of, enter, exam_setup, score, sit

TODAY = b.TODAY


async def passed_exam(make_user, trainees: int = 3, failing: int = 1, **version) -> Exam:
    """A session whose first ``trainees - failing`` trainees passed and the rest failed."""
    exam = await exam_setup(make_user, trainees=trainees, **version)
    await sit(exam)
    await enter(exam, 1, *(score(e, 90, 90) if i < trainees - failing else score(e, 10, 10) for i, e in enumerate(exam.enrolments)))
    return exam


async def tally_total() -> int:
    return sum(row["certificates"] for row in await Tally.select(Tally.certificates))


async def test_passed_trainees_are_certified_once_with_well_formed_numbers(make_user) -> None:
    exam = await passed_exam(make_user, trainees=3, failing=1)
    issued = await certificates.issue_certificates(exam.officer, exam.code)
    assert issued.issued == 2 and len(set(issued.numbers)) == 2
    year = TODAY.year % 100
    assert issued.numbers == [f"JH150426{year:02d}00000{n}" + check_character(f"JH150426{year:02d}00000{n}") for n in (1, 2)]
    assert all(well_formed(n) for n in issued.numbers)
    rows = await TrainingCertificate.select().order_by(TrainingCertificate.id)
    passed_people = {r["person"] for r in await Enrolment.select(Enrolment.person).where(Enrolment.id.is_in(exam.enrolments[:2]))}
    assert {r["person"] for r in rows} == passed_people
    for row in rows:
        assert row["examiner"] == exam.examiner_id and row["sitting"] is not None and row["kind"] == "first_aider"
        assert row["expires_on"] == add_months(row["issued_on"], 36) and len(row["verify_token"]) >= 20
        copy = await MemberCertificate.select().where(MemberCertificate.id == row["member_certificate"]).first()
        assert copy["source"] == "training" and copy["number"] == row["number"] and copy["person"] == row["person"]
        assert copy["expires_on"] == row["expires_on"]
    assert await tally_total() == 2
    again = await certificates.issue_certificates(exam.officer, exam.code)
    assert again.issued == 0 and await TrainingCertificate.count() == 2 and await tally_total() == 2
    assert (await CertificateSerial.select().first())["last"] == 2


async def test_concurrent_issue_runs_give_unique_numbers_and_one_certificate_each(make_user) -> None:
    first = await passed_exam(make_user, trainees=6, failing=0)
    # A second session of the same kind, branch and year: the same number prefix, issued at the same moment.
    version_id = (await TrainingSession.select(TrainingSession.course_version).where(TrainingSession.id == first.session_id).first())[
        "course_version"]
    second_id = await b.session(version_id)
    second = Exam(await code_of(second_id), second_id, await b.enrol(second_id, 5), first.examiner_id, first.examiner_person,
                  first.examiner, first.examiner_token, first.officer, first.officer_token)
    await sit(second)
    await enter(second, 1, *(score(e, 90, 90) for e in second.enrolments))
    runs = await asyncio.gather(*(certificates.issue_certificates(exam.officer, exam.code)
                                  for exam in (first, second, first, second, first)))
    assert sorted(run.issued for run in runs) == [0, 0, 0, 5, 6]
    rows = await TrainingCertificate.select(TrainingCertificate.number, TrainingCertificate.person, TrainingCertificate.session)
    assert len(rows) == 11 and len({r["number"] for r in rows}) == 11
    assert len({(r["session"], r["person"]) for r in rows}) == 11
    serials = sorted(int(r["number"][-7:-1]) for r in rows)
    assert serials == list(range(1, 12))
    assert await MemberCertificate.count() == 11 and await tally_total() == 11
    assert [f for f in await consistency.check() if f.problems] == []  # the tally equals its recount, every key leads somewhere


async def test_nothing_to_certify_or_nothing_certifiable(make_user) -> None:
    exam = await exam_setup(make_user, trainees=2)
    assert (await certificates.issue_certificates(exam.officer, exam.code)).issued == 0  # nobody passed yet
    awareness = await b.session(await b.course_version(CourseKind.awareness))
    with pytest.raises(InvalidInput) as refused:
        await certificates.issue_certificates(exam.officer, await code_of(awareness))
    assert refused.value.code == "no_certificate"
    with pytest.raises(InvalidInput) as future:
        await certificates.issue_certificates(exam.officer, exam.code, CertificateIssueIn(issued_on=TODAY + timedelta(days=2)))
    assert "future" in future.value.message
    assert await TrainingCertificate.count() == 0 and await CertificateSerial.count() == 0


async def test_a_course_without_an_exam_certifies_on_full_attendance(make_user) -> None:
    version_id = await b.course_version(CourseKind.cpr_aed, validity_months=24)
    await b.CourseVersion.update({b.CourseVersion.exam_required: False, b.CourseVersion.theory_pass: None,
                                  b.CourseVersion.practical_pass: None}).where(b.CourseVersion.id == version_id)
    session_id = await b.session(version_id, status="running")
    full, short = await b.enrol(session_id, 2)
    await Enrolment.update({Enrolment.hours: 12}).where(Enrolment.id == short)
    officer_id, _ = await make_user("training_officer", unit="150426")
    officer = await accounts.load_principal(officer_id)
    code = await code_of(session_id)
    with pytest.raises(InvalidInput) as refused:
        await certificates.issue_certificates(officer, code)
    assert refused.value.code == "session_not_completed"
    await TrainingSession.update({TrainingSession.status: "completed"}).where(TrainingSession.id == session_id)
    issued = await certificates.issue_certificates(officer, code)
    assert issued.issued == 1 and issued.numbers[0].startswith("CA150426")
    row = await TrainingCertificate.select().first()
    assert row["person"] == (await Enrolment.select(Enrolment.person).where(Enrolment.id == full).first())["person"]
    assert row["examiner"] is None and row["sitting"] is None and row["expires_on"] == add_months(row["issued_on"], 24)


async def test_revocation_removes_the_roster_copy_and_counts_out_of_the_tally(client, make_user) -> None:
    exam = await passed_exam(make_user, trainees=2, failing=0)
    numbers = (await certificates.issue_certificates(exam.officer, exam.code)).numbers
    assert await tally_total() == 2
    short = await client.post(f"/api/v1/training/certificates/{numbers[0]}/revocation", json={"reason": "no"},
                              headers=bearer(exam.officer_token))
    assert short.status_code == 422
    assert (await TrainingCertificate.select(TrainingCertificate.revoked_on).where(TrainingCertificate.number == numbers[0]).first())[
        "revoked_on"] is None
    copy_id = (await TrainingCertificate.select(TrainingCertificate.member_certificate).where(
        TrainingCertificate.number == numbers[0]).first())["member_certificate"]
    done = await client.post(f"/api/v1/training/certificates/{numbers[0]}/revocation", json={"reason": "考核舞弊，经查属实"},
                             headers=bearer(exam.officer_token))
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "revoked" and body["revoked_reason"] == "考核舞弊，经查属实" and body["revoked_by"]
    assert not await MemberCertificate.exists().where(MemberCertificate.id == copy_id)
    assert await MemberCertificate.count() == 1
    assert await tally_total() == 1
    twice = await client.post(f"/api/v1/training/certificates/{numbers[0]}/revocation", json={"reason": "再次撤销看看"},
                              headers=bearer(exam.officer_token))
    assert twice.status_code == 409 and twice.json()["code"] == "already_revoked"
    assert await tally_total() == 1
    # A revoked certificate counts as issued for the session: the next run does not issue it again.
    assert (await certificates.issue_certificates(exam.officer, exam.code)).issued == 0
    pdf = await client.get(f"/api/v1/training/certificates/{numbers[0]}/pdf", headers=bearer(exam.officer_token))
    assert pdf.status_code == 409
    assert [f for f in await consistency.check() if f.problems] == []


async def test_the_roster_cannot_delete_a_training_certificate_and_a_trainee_who_joins_a_team_sees_it(client, make_user) -> None:
    exam = await exam_setup(make_user, trainees=0)
    details = person(name="王小明")
    trainee = await b.members.insert_person(b.PersonIn(**details))
    enrolment = (await Enrolment.insert(Enrolment(session=exam.session_id, person=trainee, hours=16,
                                                  enrolled_at=b._now())).returning(Enrolment.id))[0]["id"]
    await sit(exam)
    await enter(exam, 1, score(enrolment, 88, 92))
    number = (await certificates.issue_certificates(exam.officer, exam.code)).numbers[0]
    # Later the trainee joins a rescue team: found by the ID number, the certificate is on the member page.
    await make_team()
    joined = await members.join_team(None, "CF-WNT-01", JoinIn(person=details, status="active", joined_on=TODAY))
    assert joined.id == trainee and joined.first_aid_valid is True
    captain_id, captain_token = await make_user("captain", team="CF-WNT-01")
    listed = await client.get(f"/api/v1/members/{trainee}/certificates", headers=bearer(captain_token))
    assert listed.status_code == 200
    (item,) = listed.json()
    token = (await TrainingCertificate.select(TrainingCertificate.verify_token).first())["verify_token"]
    assert item["number"] == number and item["source"] == "training" and item["verify_url"].endswith(f"/verify/{token}")
    removed = await client.delete(f"/api/v1/members/{trainee}/certificates/{item['id']}", headers=bearer(captain_token))
    assert removed.status_code == 409 and "revoke it there" in removed.json()["message"]
    assert await MemberCertificate.count() == 1
    from tests.web.test_pages import sign_in  # noqa: PLC0415

    client.cookies.clear()
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get(f"/members/{trainee}")
    assert page.status_code == 200
    row = page.text[page.text.index(f'data-number="{number}"'):]
    row = row[:row.index("</tr>")]
    assert "应急救护培训颁发" in row and f'href="http://127.0.0.1:8000/verify/{token}"' in row


async def test_the_printed_certificate_is_chinese_and_its_qr_opens_the_verification_page(client, make_user) -> None:
    exam = await exam_setup(make_user, trainees=0)
    trainee = await b.new_person(name="李四海")
    enrolment = (await Enrolment.insert(Enrolment(session=exam.session_id, person=trainee, hours=16,
                                                  enrolled_at=b._now())).returning(Enrolment.id))[0]["id"]
    await sit(exam)
    await enter(exam, 1, score(enrolment, 88, 92))
    number = (await certificates.issue_certificates(exam.officer, exam.code)).numbers[0]
    pdf = await client.get(f"/api/v1/training/certificates/{number}/pdf", headers=bearer(exam.officer_token))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    examiner_name = (await Person.select(Person.name).where(Person.id == exam.examiner_person).first())["name"]
    for expected in ("李四海", number, "红十字救护员证", "翁牛特旗红十字会", examiner_name, "统一教学大纲（测试）", "16 学时"):
        assert expected in text, expected
    image = pypdfium2.PdfDocument(pdf.content)[0].render(scale=200 / 72).to_pil()
    (decoded,) = zxingcpp.read_barcodes(image)
    token = (await TrainingCertificate.select(TrainingCertificate.verify_token).first())["verify_token"]
    assert decoded.text == f"http://127.0.0.1:8000/verify/{token}"
    # The QR's address, opened without signing in, shows the certificate as valid.
    client.cookies.clear()
    opened = await client.get(decoded.text.removeprefix("http://127.0.0.1:8000"))
    assert opened.status_code == 200 and 'data-status="valid"' in opened.text and "李*海" in opened.text


async def test_the_certificate_list_searches_filters_pages_and_exports_within_scope(client, make_user) -> None:
    exam = await passed_exam(make_user, trainees=3, failing=0)
    numbers = (await certificates.issue_certificates(exam.officer, exam.code)).numbers
    await certificates.revoke(exam.officer, numbers[2], CertificateRevokeIn(reason="录入错误"))
    await TrainingCertificate.update({TrainingCertificate.expires_on: TODAY - timedelta(days=1)}).where(
        TrainingCertificate.number == numbers[1])
    url = "/api/v1/training/certificates"
    h = bearer(exam.officer_token)
    listed = (await client.get(url, headers=h)).json()
    assert listed["total"] == 3
    assert {i["number"]: i["status"] for i in listed["items"]} == {numbers[0]: "valid", numbers[1]: "expired", numbers[2]: "revoked"}
    for params, expected in (({"status": "valid"}, [numbers[0]]), ({"status": "expired"}, [numbers[1]]),
                             ({"status": "revoked"}, [numbers[2]]), ({"q": numbers[1]}, [numbers[1]]),
                             ({"q": numbers[0][:8].lower()}, numbers), ({"kind": "cpr_aed"}, []), ({"unit": "150426"}, numbers),
                             ({"unit": "150402"}, []), ({"year": str(TODAY.year)}, numbers), ({"year": str(TODAY.year - 1)}, [])):
        found = (await client.get(url, params=params, headers=h)).json()
        assert sorted(i["number"] for i in found["items"]) == sorted(expected), params
    holder = listed["items"][0]["person_name"]
    assert [i["person_name"] for i in (await client.get(url, params={"q": holder}, headers=h)).json()["items"]] == [holder]
    paged = (await client.get(url, params={"limit": 2, "offset": 2}, headers=h)).json()
    assert paged["total"] == 3 and len(paged["items"]) == 1
    assert (await client.get(url, params={"status": "lost"}, headers=h)).status_code == 422
    sheet = load_workbook(io.BytesIO((await client.get(f"{url}.xlsx", headers=h)).content)).active
    assert [c.value for c in sheet[1]][:3] == ["证书编号", "姓名", "证书"] and sheet.max_row == 4
    # Another county's officer sees none of them, and not the certificate itself.
    _, outsider = await make_user("training_officer", unit="150402")
    assert (await client.get(url, headers=bearer(outsider))).json()["total"] == 0
    assert (await client.get(f"{url}/{numbers[0]}", headers=bearer(outsider))).status_code == 404
    assert (await client.post(f"{url}/{numbers[0]}/revocation", json={"reason": "越权撤销"}, headers=bearer(outsider))).status_code == 404


async def test_revoking_twice_at_once_counts_out_once(make_user) -> None:
    exam = await passed_exam(make_user, trainees=1, failing=0)
    (number,) = (await certificates.issue_certificates(exam.officer, exam.code)).numbers
    outcomes = await asyncio.gather(*(certificates.revoke(exam.officer, number, CertificateRevokeIn(reason="重复撤销测试"))
                                      for _ in range(3)), return_exceptions=True)
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, Exception))
    assert await tally_total() == 0


def test_the_check_character_catches_a_mistyped_character() -> None:
    number = certificates.certificate_number("JH15042626", 17)
    assert well_formed(number) and len(number) == 17
    for i in range(len(number) - 1):
        for other in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            if other != number[i]:
                assert not well_formed(number[:i] + other + number[i + 1:]), (i, other)
    assert certificates.mask_name("王小明") == "王*明" and certificates.mask_name("欧阳小明") == "欧**明"
    assert certificates.mask_name("王明") == "王*" and certificates.mask_name("王") == "*"
    assert certificates.number_prefix("junior_first_aider", "150400", date(2031, 5, 1)) == "CJ15040031"
