"""Instructors (师资) and the examiner pool through the API, on both engines: registering by ID number, star grades with
their history, refresher due, sessions and hours per year from the sessions taught, the county checks of full-time
instructors, examiners tied to a login; bad input refused with nothing written."""

from __future__ import annotations

from datetime import date, timedelta

from rescueops.accounts.tables import AuditEntry, RoleAssignment
from rescueops.calendar import add_months, china_today
from rescueops.members.tables import Person
from rescueops.training.tables import Examiner, Instructor, InstructorKind, InstructorStar
from tests.conftest import bearer
from tests.factories import person
from tests.training import builders

API = "/api/v1/training"


def _id_number(**extra) -> str:
    return person(**extra)["id_number"]


def _wrong_check_digit() -> str:
    number = _id_number()
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def _instructor_body(**extra) -> dict:
    body = {"id_number": _id_number(), "name": "张明", "unit_code": "150426", "kind": "full_time", "qualification_number": "SZ-001",
            "qualified_on": str(china_today() - timedelta(days=100)), "qualification_expires_on": str(china_today() + timedelta(days=1000))}
    return body | extra


async def test_register_an_instructor_by_id_number_and_refuse_a_second_record(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150400")
    existing = await builders.new_person(name="李华")
    known = await Person.select(Person.id_number_encrypted).where(Person.id == existing).first()
    from rescueops import crypto

    number = crypto.decrypt(known["id_number_encrypted"])
    made = await client.post(f"{API}/instructors", json=_instructor_body(id_number=number, name="", stars=3), headers=bearer(token))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["person_id"] == existing and body["name"] == "李华" and body["id_number"].endswith(number[-4:])
    assert body["id_number"].startswith("*") and body["stars"] == 3 and [h["stars"] for h in body["star_history"]] == [3]
    assert body["qualification_valid"] is True and body["refresher_due"] is False
    # A new person is made from the ID number (birth date and gender from it) and the name.
    fresh = _id_number()
    made = await client.post(f"{API}/instructors", json=_instructor_body(id_number=fresh, name="王芳", kind="part_time"),
                             headers=bearer(token))
    assert made.status_code == 201 and made.json()["name"] == "王芳" and made.json()["kind"] == "part_time"
    # Same person again: 409, nothing written.
    people, rows, audits = await Person.count(), await Instructor.count(), await AuditEntry.count()
    again = await client.post(f"{API}/instructors", json=_instructor_body(id_number=fresh, unit_code="150400"), headers=bearer(token))
    assert again.status_code == 409 and "already instructor" in again.json()["message"]
    assert (await Person.count(), await Instructor.count(), await AuditEntry.count()) == (people, rows, audits)


async def test_bad_instructor_input_is_refused_and_nothing_written(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150400")
    cases = [
        (_instructor_body(id_number=_wrong_check_digit()), "check digit"),
        (_instructor_body(name=""), "give their name"),
        (_instructor_body(unit_code="150000"), "county or league"),
        (_instructor_body(unit_code="999999"), "no org unit"),
        (_instructor_body(qualified_on=str(china_today() + timedelta(days=3))), "future"),
        (_instructor_body(qualification_expires_on=str(china_today() - timedelta(days=200))), "after the qualification date"),
        (_instructor_body(stars=6), "stars"),
        (_instructor_body(kind="volunteer"), "kind"),
    ]
    for body, words in cases:
        refused = await client.post(f"{API}/instructors", json=body, headers=bearer(token))
        assert refused.status_code in (400, 422), (words, refused.text)
        assert words in refused.text, (words, refused.text)
    assert await Instructor.count() == 0 and await Person.count() == 0
    # Outside the officer's scope (another league): forbidden, nothing written.
    outside = await client.post(f"{API}/instructors", json=_instructor_body(unit_code="150102"), headers=bearer(token))
    assert outside.status_code == 403 and await Instructor.count() == 0


async def test_star_grade_history_is_kept_newest_first_and_the_latest_date_is_current(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150426")
    instructor = await builders.instructor()
    url = f"{API}/instructors/{instructor}/stars"
    first = await client.post(url, json={"stars": 2, "awarded_on": str(china_today() - timedelta(days=300)), "reason": "年度考核"},
                              headers=bearer(token))
    assert first.status_code == 200 and first.json()["stars"] == 2
    second = await client.post(url, json={"stars": 4, "awarded_on": str(china_today() - timedelta(days=10)), "reason": "技能大赛一等奖"},
                               headers=bearer(token))
    assert second.json()["stars"] == 4
    # Entered late for an earlier date: in the history, but the current grade stays the newest one.
    late = await client.post(url, json={"stars": 1, "awarded_on": str(china_today() - timedelta(days=200)), "reason": "补录"}, headers=bearer(token))
    body = late.json()
    assert body["stars"] == 4
    assert [(h["stars"], h["reason"]) for h in body["star_history"]] == [(4, "技能大赛一等奖"), (1, "补录"), (2, "年度考核")]
    assert all(h["by_name"] for h in body["star_history"])
    for bad in ({"stars": 6, "reason": "太多"}, {"stars": 3, "reason": ""},
                {"stars": 3, "reason": "未来", "awarded_on": str(china_today() + timedelta(days=1))}):
        assert (await client.post(url, json=bad, headers=bearer(token))).status_code == 422
    assert await InstructorStar.count() == 3
    assert (await Instructor.select(Instructor.stars).first())["stars"] == 4


async def test_refresher_due_filter(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150400")
    on = china_today()
    fresh = await builders.instructor()
    await Instructor.update({Instructor.last_refresher_on: on - timedelta(days=30)}).where(Instructor.id == fresh)
    stale = await builders.instructor()  # qualified 400 days ago, never refreshed
    refreshed_long_ago = await builders.instructor()
    await Instructor.update({Instructor.last_refresher_on: add_months(on, -12) - timedelta(days=1)}).where(Instructor.id == refreshed_long_ago)
    expiring = await builders.instructor(expires_on=on + timedelta(days=60))
    await Instructor.update({Instructor.last_refresher_on: on - timedelta(days=5)}).where(Instructor.id == expiring)
    stale_inactive = await builders.instructor()
    await Instructor.update({Instructor.active: False}).where(Instructor.id == stale_inactive)
    due = (await client.get(f"{API}/instructors", params={"due": "true"}, headers=bearer(token))).json()
    assert {i["id"]: i["refresher_due_reason"] for i in due["items"]} == {stale: "refresher", refreshed_long_ago: "refresher",
                                                                          expiring: "expiring"}
    assert due["total"] == 3
    not_due = (await client.get(f"{API}/instructors", params={"due": "false"}, headers=bearer(token))).json()
    assert {i["id"] for i in not_due["items"]} == {fresh, stale_inactive}
    everyone = (await client.get(f"{API}/instructors", headers=bearer(token))).json()
    assert everyone["total"] == 5


async def test_list_filters_and_scoping(client, make_user) -> None:
    county = await builders.instructor(kind=InstructorKind.full_time)
    league = await builders.instructor(unit_code="150400", kind=InstructorKind.part_time)
    elsewhere = await builders.instructor(unit_code="150100")
    await Instructor.update({Instructor.stars: 3}).where(Instructor.id == league)
    _, county_token = await make_user("county_officer", unit="150426")
    seen = (await client.get(f"{API}/instructors", headers=bearer(county_token))).json()
    assert [i["id"] for i in seen["items"]] == [county]
    _, league_token = await make_user("training_officer", unit="150400")
    assert {i["id"] for i in (await client.get(f"{API}/instructors", headers=bearer(league_token))).json()["items"]} == {county, league}
    assert [i["id"] for i in (await client.get(f"{API}/instructors", params={"kind": "part_time"}, headers=bearer(league_token))).json()["items"]] == [league]
    assert [i["id"] for i in (await client.get(f"{API}/instructors", params={"stars": 3}, headers=bearer(league_token))).json()["items"]] == [league]
    assert [i["id"] for i in (await client.get(f"{API}/instructors", params={"unit": "150426"}, headers=bearer(league_token))).json()["items"]] == [county]
    # Another league's instructor is not found (it does not leak).
    assert (await client.get(f"{API}/instructors/{elsewhere}", headers=bearer(county_token))).status_code == 404


async def test_sessions_and_hours_per_year_from_the_sessions_taught(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150400")
    version = await builders.course_version()
    instructor = await builders.instructor()
    other = await builders.instructor()
    this_year, last_year = china_today().year, china_today().year - 1
    a = await builders.session(version, starts_on=date(this_year, 1, 10))
    b = await builders.session(version, starts_on=date(this_year, 2, 3))
    c = await builders.session(version, starts_on=date(last_year, 6, 1))
    cancelled = await builders.session(version, starts_on=date(this_year, 3, 1), status="cancelled")
    await builders.teaches(a, instructor, "8")
    await builders.teaches(b, instructor, "4.5")
    await builders.teaches(c, instructor, "6")
    await builders.teaches(cancelled, instructor, "8")
    await builders.teaches(a, other, "8")
    detail = (await client.get(f"{API}/instructors/{instructor}", headers=bearer(token))).json()
    assert detail["teaching"] == [{"year": this_year, "sessions": 2, "hours": "12.5"}, {"year": last_year, "sessions": 1, "hours": "6.0"}]
    assert detail["sessions_this_year"] == 2 and detail["hours_this_year"] == "12.5"
    listed = {i["id"]: i for i in (await client.get(f"{API}/instructors", headers=bearer(token))).json()["items"]}
    assert (listed[instructor]["sessions_this_year"], listed[other]["sessions_this_year"]) == (2, 1)


async def test_county_checks_count_only_active_full_time_valid_qualifications(client, make_user) -> None:
    on = china_today()
    await builders.instructor()  # Wengniute: valid full-time
    await builders.instructor()  # and a second one: met
    part_time = await builders.instructor(kind=InstructorKind.part_time)
    expired = await builders.instructor(expires_on=on - timedelta(days=1))
    inactive = await builders.instructor()
    await Instructor.update({Instructor.active: False}).where(Instructor.id == inactive)
    await builders.instructor(unit_code="150404")  # 松山区? one valid: short by one
    not_yet = await builders.instructor(unit_code="150404")
    await Instructor.update({Instructor.qualified_on: on + timedelta(days=5)}).where(Instructor.id == not_yet)
    await builders.instructor(unit_code="150400")  # the league's own instructor: not a county's
    assert part_time and expired
    _, token = await make_user("training_officer", unit="150400")
    checks = (await client.get(f"{API}/instructors/county-checks", headers=bearer(token))).json()
    by_code = {c["unit_code"]: c for c in checks}
    assert all(c["league_code"] == "150400" for c in checks) and len(checks) >= 12
    assert (by_code["150426"]["full_time_valid"], by_code["150426"]["met"], by_code["150426"]["short_by"]) == (2, True, 0)
    assert (by_code["150404"]["full_time_valid"], by_code["150404"]["met"], by_code["150404"]["short_by"]) == (1, False, 1)
    assert sum(c["full_time_valid"] for c in checks) == 3
    assert sum(not c["met"] for c in checks) == len(checks) - 1
    # A county officer sees their county only; the region sees every county.
    _, county_token = await make_user("county_officer", unit="150426")
    assert [c["unit_code"] for c in (await client.get(f"{API}/instructors/county-checks", headers=bearer(county_token))).json()] == ["150426"]
    _, region_token = await make_user("region_coordinator", unit="150000")
    assert len((await client.get(f"{API}/instructors/county-checks", headers=bearer(region_token))).json()) == 103


async def test_edit_deactivate_and_reactivate_with_reason(client, make_user) -> None:
    _, token = await make_user("training_officer", unit="150400")
    instructor = await builders.instructor()
    url = f"{API}/instructors/{instructor}"
    edited = await client.patch(url, json={"kind": "part_time", "last_refresher_on": str(china_today() - timedelta(days=2)),
                                           "qualification_number": "SZ-NEW"}, headers=bearer(token))
    assert edited.status_code == 200, edited.text
    assert (edited.json()["kind"], edited.json()["qualification_number"]) == ("part_time", "SZ-NEW")
    # A refresher before the stored qualification date: refused, nothing changes.
    bad = await client.patch(url, json={"last_refresher_on": str(china_today() - timedelta(days=900))}, headers=bearer(token))
    assert bad.status_code == 422 and "before the qualification date" in bad.json()["message"]
    assert (await Instructor.select(Instructor.last_refresher_on).first())["last_refresher_on"] == china_today() - timedelta(days=2)
    assert (await client.patch(url, json={"unit_code": "150102"}, headers=bearer(token))).status_code == 403
    off = await client.post(f"{url}/active", json={"active": False, "reason": "调离红十字会"}, headers=bearer(token))
    assert off.status_code == 200 and off.json()["active"] is False
    assert (await client.post(f"{url}/active", json={"active": False, "reason": "再次"}, headers=bearer(token))).status_code == 409
    assert (await client.post(f"{url}/active", json={"active": True, "reason": ""}, headers=bearer(token))).status_code == 422
    on = await client.post(f"{url}/active", json={"active": True, "reason": "重新聘任"}, headers=bearer(token))
    assert on.json()["active"] is True
    audits = await AuditEntry.select(AuditEntry.action, AuditEntry.changes).where(AuditEntry.entity == "instructor").order_by(AuditEntry.id)
    assert [a["action"] for a in audits] == ["training.instructor.update", "training.instructor.deactivate", "training.instructor.reactivate"]
    assert "调离红十字会" in audits[1]["changes"]
    # Viewing only (an examiner) may not edit.
    _, viewer = await make_user("examiner", unit="150400")
    assert (await client.post(f"{url}/active", json={"active": False, "reason": "不可以"}, headers=bearer(viewer))).status_code == 403


async def test_examiner_pool_with_a_login_that_gets_the_examiner_role(client, make_user) -> None:
    officer_id, token = await make_user("training_officer", unit="150400")
    user_id, _ = await make_user(None, unit="150400", username="kaoheyuan-li")
    instructor_person = await builders.new_person(name="赵老师")
    await builders.instructor(instructor_person)
    from rescueops import crypto

    number = crypto.decrypt((await Person.select(Person.id_number_encrypted).where(Person.id == instructor_person).first())["id_number_encrypted"])
    made = await client.post(f"{API}/examiners", json={"id_number": number, "unit_code": "150400", "qualification_number": "KH-9",
                                                       "qualified_until": str(china_today() + timedelta(days=365)), "username": "kaoheyuan-li"},
                             headers=bearer(token))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["also_instructor"] is True and body["username"] == "kaoheyuan-li" and body["valid"] is True
    assert (await Person.select(Person.user).where(Person.id == instructor_person).first())["user"] == user_id
    assert await RoleAssignment.exists().where((RoleAssignment.user == user_id) & (RoleAssignment.role == "examiner"))
    # The login can now read training records (the examiner role), and lists show the pool.
    from rescueops.accounts import service as accounts
    from rescueops.accounts.tables import TokenKind

    examiner_token, _, _ = await accounts.issue_token(user_id, TokenKind.api, ttl=timedelta(hours=1))
    pool = await client.get(f"{API}/examiners", headers=bearer(examiner_token))
    assert pool.status_code == 200 and [e["name"] for e in pool.json()["items"]] == ["赵老师"]
    # The same person again, or the same login for someone else: refused, nothing written.
    examiners, people = await Examiner.count(), await Person.count()
    again = await client.post(f"{API}/examiners", json={"id_number": number, "unit_code": "150426"}, headers=bearer(token))
    assert again.status_code == 409
    taken = await client.post(f"{API}/examiners", json={"id_number": _id_number(), "name": "钱七", "unit_code": "150400",
                                                        "username": "kaoheyuan-li"}, headers=bearer(token))
    assert taken.status_code == 409 and "already belongs" in taken.json()["message"]
    unknown = await client.post(f"{API}/examiners", json={"id_number": _id_number(), "name": "孙八", "unit_code": "150400",
                                                          "username": "nobody-here"}, headers=bearer(token))
    assert unknown.status_code == 422 and "no login" in unknown.json()["message"]
    past = await client.post(f"{API}/examiners", json={"id_number": _id_number(), "name": "周九", "unit_code": "150400",
                                                       "qualified_until": str(china_today() - timedelta(days=1))}, headers=bearer(token))
    assert past.status_code == 422
    assert (await Examiner.count(), await Person.count()) == (examiners, people)
    # Deactivate with a reason.
    examiner_id = body["id"]
    off = await client.post(f"{API}/examiners/{examiner_id}/active", json={"active": False, "reason": "资格暂停"}, headers=bearer(token))
    assert off.status_code == 200 and off.json()["active"] is False and off.json()["valid"] is False
    assert (await client.get(f"{API}/examiners", params={"active": "true"}, headers=bearer(token))).json()["total"] == 0
    assert officer_id


async def test_exports_are_spreadsheets_with_chinese_headers(client, make_user) -> None:
    import io

    from openpyxl import load_workbook

    _, token = await make_user("training_officer", unit="150400")
    await builders.instructor()
    await builders.examiner()
    instructors = await client.get(f"{API}/instructors.xlsx", headers=bearer(token))
    assert instructors.status_code == 200
    book = load_workbook(io.BytesIO(instructors.content))
    assert book.sheetnames == ["师资", "旗县区专职师资"]
    rows = list(book["师资"].iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and len(rows) == 2 and rows[1][1].startswith("*")
    examiners = load_workbook(io.BytesIO((await client.get(f"{API}/examiners.xlsx", headers=bearer(token))).content))
    assert len(list(examiners["考核员"].iter_rows(values_only=True))) == 2
