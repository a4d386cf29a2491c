"""The public verification (no sign-in): by the printed QR's token or by number and full name; valid, expired, revoked,
not found; nothing but validity, the course, the dates and a masked name; rate-limited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from rescueops.calendar import china_today
from rescueops.members.tables import Person
from rescueops.training import certificates
from rescueops.training.schemas import CertificateRevokeIn
from rescueops.training.tables import Enrolment, TrainingCertificate
from tests.accounts.test_auth import csrf_from
from tests.training import builders as b
from tests.training.test_exams_rules import enter, exam_setup, score, sit

TODAY = b.TODAY


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    certificates.VERIFY_LIMIT.reset()
    yield
    certificates.VERIFY_LIMIT.reset()


async def certified(make_user, name: str = "王小明", phone: str = "13912345678"):
    exam = await exam_setup(make_user, trainees=0)
    trainee = await b.new_person(name=name, phone=phone)
    enrolment = (await Enrolment.insert(Enrolment(session=exam.session_id, person=trainee, hours=16,
                                                  enrolled_at=b._now())).returning(Enrolment.id))[0]["id"]
    await sit(exam)
    await enter(exam, 1, score(enrolment, 88, 92))
    (number,) = (await certificates.issue_certificates(exam.officer, exam.code)).numbers
    row = await TrainingCertificate.select().where(TrainingCertificate.number == number).first()
    person = await Person.select().where(Person.id == trainee).first()
    examiner = (await Person.select(Person.name).where(Person.id == exam.examiner_person).first())["name"]
    return exam, number, row, person, examiner


def assert_nothing_leaks(text: str, number: str, person: dict, examiner: str) -> None:
    text = re.sub(r'name="_csrf_token" value="[^"]+"', "", text)  # random: it could hold any four digits
    assert number not in text
    assert person["id_number_last4"] not in text and person["phone"] not in text and person["phone"][-4:] not in text
    assert examiner not in text and person["name"] not in text


async def test_the_qr_page_shows_only_validity_course_dates_and_a_masked_name(client, make_user) -> None:
    exam, number, row, person, examiner = await certified(make_user)
    page = await client.get(f"/verify/{row['verify_token']}")
    assert page.status_code == 200
    assert 'data-status="valid"' in page.text and "有效" in page.text and "王*明" in page.text
    assert '<meta name="robots" content="noindex, nofollow">' in page.text and page.headers["x-robots-tag"] == "noindex, nofollow"
    assert "红十字救护员证" in page.text and str(row["issued_on"]) in page.text and str(row["expires_on"]) in page.text
    assert f'id="judged-on">{china_today()}<' in page.text
    assert_nothing_leaks(page.text, number, person, examiner)
    api = await client.get(f"/api/v1/public/certificates/{row['verify_token']}")
    assert api.status_code == 200
    assert set(api.json()) == {"status", "judged_on", "certificate_name_zh", "certificate_name_en", "course_name_zh", "course_name_en",
                               "issued_on", "expires_on", "holder"}
    assert api.json()["status"] == "valid" and api.json()["holder"] == "王*明"
    assert_nothing_leaks(api.text, number, person, examiner)


async def test_expired_and_revoked_certificates_say_so(client, make_user) -> None:
    exam, number, row, _, _ = await certified(make_user)
    await TrainingCertificate.update({TrainingCertificate.expires_on: TODAY - timedelta(days=1)}).where(TrainingCertificate.id == row["id"])
    page = await client.get(f"/verify/{row['verify_token']}")
    assert 'data-status="expired"' in page.text and "已过期" in page.text
    await certificates.revoke(exam.officer, number, CertificateRevokeIn(reason="证书信息有误"))
    page = await client.get(f"/verify/{row['verify_token']}")
    assert 'data-status="revoked"' in page.text and "已撤销" in page.text and "证书信息有误" not in page.text
    assert (await client.get(f"/api/v1/public/certificates/{row['verify_token']}")).json()["status"] == "revoked"


async def test_unknown_tokens_are_not_found(client, make_user) -> None:
    await certified(make_user)
    page = await client.get("/verify/not-a-real-token-at-all")
    assert page.status_code == 404 and "查无此证书" in page.text
    api = await client.get("/api/v1/public/certificates/not-a-real-token-at-all")
    assert api.status_code == 404 and api.json()["code"] == "certificate_not_found"


async def test_number_and_full_name_give_the_same_answer_and_nothing_else(client, make_user) -> None:
    _, number, row, person, examiner = await certified(make_user)
    form = await client.get("/verify")
    assert form.status_code == 200 and "按证书编号和姓名查询" in form.text
    token = csrf_from(form.text)
    found = await client.post("/verify", data={"_csrf_token": token, "number": number.lower(), "name": "王小明"})
    assert found.status_code == 200 and 'data-status="valid"' in found.text and "王*明" in found.text
    assert_nothing_leaks(found.text.replace(f'value="{number.lower()}"', ""), number, person, examiner)
    for wrong in ({"number": number, "name": "王小"}, {"number": number[:-1] + ("0" if number[-1] != "0" else "1"), "name": "王小明"},
                  {"number": "JH999", "name": "王小明"}):
        missed = await client.post("/verify", data={"_csrf_token": token, **wrong})
        assert missed.status_code == 404 and "查无此证书" in missed.text and "data-status" not in missed.text
    api = await client.post("/api/v1/public/certificates/lookup", json={"number": number, "name": "王小明"})
    assert api.status_code == 200 and api.json()["holder"] == "王*明"
    assert (await client.post("/api/v1/public/certificates/lookup", json={"number": number, "name": "李小明"})).status_code == 404


async def test_number_lookups_are_rate_limited_per_address_and_qr_checks_are_not(client, make_user) -> None:
    _, _, row, _, _ = await certified(make_user)
    for _ in range(certificates.VERIFY_LIMIT.limit + 5):  # a QR token cannot be guessed: no limit
        assert (await client.get(f"/api/v1/public/certificates/{row['verify_token']}")).status_code == 200
    guess = {"number": row["number"], "name": "李小明"}
    for _ in range(certificates.VERIFY_LIMIT.limit):
        assert (await client.post("/api/v1/public/certificates/lookup", json=guess)).status_code == 404
    limited = await client.post("/api/v1/public/certificates/lookup", json=guess)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    form = await client.get("/verify")
    assert (await client.post("/verify", data={"_csrf_token": csrf_from(form.text), **guess})).status_code == 429
