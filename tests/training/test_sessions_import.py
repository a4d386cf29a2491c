"""Enrolling a trainee list from a spreadsheet: the template, the row-by-row preview, all or nothing on commit, the
kept (encrypted) file and its expiry."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import Workbook, load_workbook

from rescueops.members.tables import Person
from rescueops.training.tables import Enrolment, EnrolmentImport
from tests.conftest import bearer
from tests.factories import person
from tests.training import builders
from tests.training.test_sessions_api import API, _plan


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名*", "性别*", "身份证号*", "手机号"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _row(**extra) -> list:
    p = person(**extra)
    return [p["name"], "男" if p["gender"] == "male" else "女", p["id_number"], p["phone"]]


async def _upload(client, headers, code: str, content: bytes, name: str = "名单.xlsx"):
    return await client.post(f"{API}/sessions/{code}/enrolments/import", files={"file": (name, content)}, headers=headers)


async def test_the_template_has_the_chinese_headers(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150426")
    response = await client.get(f"{API}/sessions/template.xlsx", headers=bearer(token))
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]] == ["姓名*", "性别*", "身份证号*", "手机号"]


async def test_a_good_list_is_previewed_then_enrolled_and_the_file_dropped(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150426")
    headers = bearer(token)
    code = (await _plan(client, headers, capacity=10))["code"]
    existing = await builders.new_person(name="王老师")
    stored = await Person.select().where(Person.id == existing).first()
    from rescueops.crypto import decrypt
    rows = [_row(), _row(), ["王老师", "男" if stored["gender"] == "male" else "女", decrypt(stored["id_number_encrypted"]), ""]]
    report = await _upload(client, headers, code, _xlsx(rows))
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["rows"], body["valid_rows"], body["errors"], body["seats_left"]) == (3, 3, [], 10)
    assert await Enrolment.count() == 0
    batch = await EnrolmentImport.select().first()
    assert batch["content_encrypted"] and rows[0][2].encode() not in batch["content_encrypted"].encode()
    committed = await client.post(f"{API}/sessions/{code}/enrolments/import/{body['batch_id']}/commit", headers=headers)
    assert committed.status_code == 200 and committed.json()["committed"] == 3
    assert await Enrolment.count() == 3
    assert await Person.count().where(Person.name == "王老师") == 1  # found, not duplicated
    assert (await EnrolmentImport.select(EnrolmentImport.content_encrypted).first())["content_encrypted"] == ""
    again = await client.post(f"{API}/sessions/{code}/enrolments/import/{body['batch_id']}/commit", headers=headers)
    assert again.status_code == 409


async def test_a_mixed_list_reports_every_problem_and_commits_nothing(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150426")
    headers = bearer(token)
    code = (await _plan(client, headers, capacity=3))["code"]
    existing = await builders.new_person(name="张三")
    stored = await Person.select().where(Person.id == existing).first()
    from rescueops.crypto import decrypt
    duplicate = _row()
    rows = [
        _row(),                                          # 2 fine
        ["李四", "男", "150426198001010000", ""],           # 3 bad check digit
        [None, "女", _row()[2], ""],                      # 4 no name
        duplicate,                                       # 5 fine
        duplicate,                                       # 6 same as row 5
        ["李四", "男" if stored["gender"] == "male" else "女", decrypt(stored["id_number_encrypted"]), ""],  # 7 name differs
        _row()[:1] + ["未知"] + _row()[2:],                # 8 gender word
        _row(),                                          # 9 fine
        _row(),                                          # 10 over capacity (3 places, 4 valid rows)
    ]
    report = (await _upload(client, headers, code, _xlsx(rows))).json()
    problems = {(e["row"], e["column"]) for e in report["errors"]}
    assert {(3, "身份证号"), (4, "姓名"), (6, "身份证号"), (7, "姓名"), (8, "性别"), (10, "—")} <= problems, report["errors"]
    assert not any(e["row"] in (2, 5, 9) for e in report["errors"])
    assert "张三" not in str(report)  # the stored name is never revealed
    assert report["valid_rows"] == 3 and report["seats_left"] == 3
    people = await Person.count()
    refused = await client.post(f"{API}/sessions/{code}/enrolments/import/{report['batch_id']}/commit", headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "import_has_errors" and refused.json()["details"]
    assert await Enrolment.count() == 0 and await Person.count() == people


async def test_capacity_taken_after_the_check_is_caught_on_commit(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150426")
    headers = bearer(token)
    code = (await _plan(client, headers, capacity=2))["code"]
    report = (await _upload(client, headers, code, _xlsx([_row(), _row()]))).json()
    assert report["errors"] == []
    p = person()
    await client.post(f"{API}/sessions/{code}/enrolments", headers=headers,
                      json={"name": p["name"], "gender": p["gender"], "id_number": p["id_number"]})
    refused = await client.post(f"{API}/sessions/{code}/enrolments/import/{report['batch_id']}/commit", headers=headers)
    assert refused.status_code == 422 and "over capacity" in refused.text
    assert await Enrolment.count() == 1


async def test_unreadable_files_expired_uploads_and_others_uploads(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150426")
    headers = bearer(token)
    code = (await _plan(client, headers))["code"]
    wrong = await _upload(client, headers, code, b"not a workbook", "名单.xlsx")
    assert wrong.status_code == 422 and wrong.json()["code"] == "bad_enrolment_file"
    headers_only = await _upload(client, headers, code, "姓名,证件\n张三,1\n".encode(), "名单.csv")
    assert headers_only.status_code == 422 and "身份证号" in headers_only.text
    assert await EnrolmentImport.count() == 0
    report = (await _upload(client, headers, code, _xlsx([_row()]))).json()
    _, other_token = await make_user("training_officer", unit="150426")
    assert (await client.post(f"{API}/sessions/{code}/enrolments/import/{report['batch_id']}/commit",
                              headers=bearer(other_token))).status_code == 404
    await EnrolmentImport.update({EnrolmentImport.uploaded_at: datetime.now(UTC) - timedelta(days=2)}).where(
        EnrolmentImport.id == report["batch_id"])
    expired = await client.post(f"{API}/sessions/{code}/enrolments/import/{report['batch_id']}/commit", headers=headers)
    assert expired.status_code == 409 and expired.json()["code"] == "import_expired"
    from rescueops.training import service
    assert await service.purge_enrolment_imports() == "1 trainee-list uploads removed"
    assert await EnrolmentImport.count() == 0 and await Enrolment.count() == 0
    outsider_token = (await make_user("training_officer", unit="150428"))[1]
    assert (await _upload(client, bearer(outsider_token), code, _xlsx([_row()]))).status_code == 404
