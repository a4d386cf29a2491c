from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from rescueops.accounts.tables import AuditEntry
from rescueops.calendar import china_today
from rescueops.members.tables import Certificate, Membership, Person
from tests.conftest import bearer
from tests.factories import id_number, make_team, person


async def join(client, token: str, team: str = "CF-WNT-01", status: str = "active", **fields) -> dict:
    response = await client.post(f"/api/v1/teams/{team}/members", json={"person": person(**fields), "status": status}, headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


async def test_join_masks_and_encrypts(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, hub = await make_user("hub_coordinator", hub="east")
    member = await join(client, captain, seq=7, languages=["zh", "mn"], blood_type="o")
    assert member["id_number"].startswith("*" * 14) and member["masked"] is True
    assert member["membership"]["status"] == "active" and member["membership"]["role"] == "member"
    stored = await Person.select().where(Person.id == member["id"]).first()
    assert id_number(7) not in stored["id_number_encrypted"] and stored["blood_type"] == "O"
    unmasked = (await client.get(f"/api/v1/members/{member['id']}?unmask=true", headers=bearer(captain))).json()
    assert unmasked["id_number"] == id_number(7) and unmasked["masked"] is False and unmasked["languages"] == ["zh", "mn"]
    assert await AuditEntry.count().where(AuditEntry.action == "members.person.read_personal") == 1
    # A hub coordinator sees the member but never the ID number or the phone in full.
    seen = (await client.get(f"/api/v1/members/{member['id']}?unmask=true", headers=bearer(hub))).json()
    assert seen["masked"] is True and seen["id_number"].startswith("*") and seen["phone"] == "139****0007"
    assert await AuditEntry.count().where(AuditEntry.action == "members.person.read_personal") == 1


async def test_bad_person_input(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    base = person(seq=3)
    cases = [
        ({"id_number": base["id_number"][:17] + ("0" if base["id_number"][17] != "0" else "1")}, "check digit"),
        ({"birth_date": "1970-01-01"}, "differs from the birth date"),
        ({"gender": "female"}, "differs from the gender"),
        ({"phone": "555-1234"}, "phone"),
        ({"languages": ["klingon"]}, "unknown language"),
        ({"birth_date": "1990-02-30"}, "birth_date"),
    ]
    for change, message in cases:
        response = await client.post("/api/v1/teams/CF-WNT-01/members", json={"person": {**base, **change}}, headers=bearer(captain))
        assert response.status_code == 422 and message in response.text, (change, response.text)
    assert await Person.count() == 0


async def test_one_open_membership_per_person(client, make_user) -> None:
    await make_team("CF-WNT-01")
    await make_team("CF-HS-01", unit="150402")
    _, admin = await make_user("admin")
    member = await join(client, admin, seq=11)
    elsewhere = await client.post("/api/v1/teams/CF-HS-01/members", json={"person": person(seq=11)}, headers=bearer(admin))
    assert elsewhere.status_code == 409 and "翁牛特旗红十字应急救援队" in elsewhere.json()["message"]
    left = await client.post(f"/api/v1/members/{member['id']}/status", json={"status": "exited", "reason": "迁居红山区"}, headers=bearer(admin))
    assert left.status_code == 200 and left.json()["membership"] is None
    rejoined = await client.post("/api/v1/teams/CF-HS-01/members", json={"person": person(seq=11), "status": "probation"}, headers=bearer(admin))
    assert rejoined.status_code == 201 and rejoined.json()["id"] == member["id"]
    detail = (await client.get(f"/api/v1/members/{member['id']}", headers=bearer(admin))).json()
    assert [(m["team_code"], m["left_on"] is None) for m in detail["history"]] == [("CF-WNT-01", False), ("CF-HS-01", True)]


async def test_member_lifecycle(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    member = await join(client, captain, status="applicant", seq=21)
    pid = member["id"]
    assert member["membership"]["role"] == "probationary"
    steps = [("active", "", 200), ("probation", "", 422), ("inactive", "", 422), ("inactive", "长期外出", 200), ("applicant", "", 422),
             ("active", "", 200), ("exited", "退队", 200), ("active", "", 422)]
    for status, reason, expected in steps:
        response = await client.post(f"/api/v1/members/{pid}/status", json={"status": status, "reason": reason}, headers=bearer(captain))
        assert response.status_code == expected, (status, response.text)
    membership = await Membership.select().where(Membership.person == pid).first()
    assert membership["status"] == "exited" and membership["left_on"] == china_today() and membership["exit_reason"] == "退队"
    assert membership["role"] == "member"


async def test_certificate_validity_on_dates(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    pid = (await join(client, captain, seq=31))["id"]
    bad = await client.post(f"/api/v1/members/{pid}/certificates",
                            json={"type_code": "rc_first_aider", "issued_on": "2024-05-01", "expires_on": "2024-04-30"}, headers=bearer(captain))
    assert bad.status_code == 422 and "before it was issued" in bad.text
    unknown = await client.post(f"/api/v1/members/{pid}/certificates", json={"type_code": "wizard", "issued_on": "2024-05-01"}, headers=bearer(captain))
    assert unknown.status_code == 422
    added = await client.post(f"/api/v1/members/{pid}/certificates",
                              json={"type_code": "rc_first_aider", "number": "NM2024-0001", "issued_on": "2023-02-28"}, headers=bearer(captain))
    assert added.status_code == 201 and added.json()["expires_on"] == "2026-02-28"  # 36 months by default
    for on, valid in (("2023-02-27", False), ("2023-02-28", True), ("2026-02-28", True), ("2026-03-01", False)):
        certs = (await client.get(f"/api/v1/members/{pid}/certificates?on={on}", headers=bearer(captain))).json()
        assert certs[0]["valid"] is valid, on
    roster = (await client.get("/api/v1/teams/CF-WNT-01/roster?on=2025-06-01", headers=bearer(captain))).json()
    assert roster["certified"] == 1 and roster["certified_ratio"] == 1.0
    later = (await client.get("/api/v1/teams/CF-WNT-01/roster?on=2026-03-01", headers=bearer(captain))).json()
    assert later["certified"] == 0 and later["members"][0]["first_aid_valid"] is False
    soon = (await client.get("/api/v1/teams/CF-WNT-01/roster?on=2026-01-15", headers=bearer(captain))).json()
    assert [e["what"] for e in soon["expiring"]] == ["红十字救护员证"]


async def test_hours_need_approval_by_someone_else(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, deputy = await make_user("deputy_captain", team="CF-WNT-01")
    pid = (await join(client, captain, seq=41))["id"]
    logged = await client.post(f"/api/v1/members/{pid}/hours", json={"worked_on": "2025-07-01", "hours": "3.5", "note": "防汛值守"}, headers=bearer(captain))
    assert logged.status_code == 201 and logged.json()["status"] == "pending"
    own = await client.post(f"/api/v1/hours/{logged.json()['id']}/decision", json={"approve": True}, headers=bearer(captain))
    assert own.status_code == 422
    ok = await client.post(f"/api/v1/hours/{logged.json()['id']}/decision", json={"approve": True}, headers=bearer(deputy))
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    detail = (await client.get(f"/api/v1/members/{pid}?on=2025-12-31", headers=bearer(captain))).json()
    assert detail["hours_total"] == "3.50" or float(detail["hours_total"]) == 3.5
    future = await client.post(f"/api/v1/members/{pid}/hours", json={"worked_on": "2999-01-01", "hours": "1", "note": "x y"}, headers=bearer(captain))
    assert future.status_code == 422


async def test_card_token_verifies_and_revokes(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, stranger = await make_user("member", unit="150202")
    pid = (await join(client, captain, seq=51, name="巴特尔"))["id"]
    card = (await client.get(f"/api/v1/members/{pid}/card", headers=bearer(captain))).json()
    assert card["url"].endswith(card["token"]) and id_number(51) not in card["url"] and "巴特尔" not in card["url"]
    holder = await client.post("/api/v1/members/cards/verify", json={"token": card["url"]}, headers=bearer(stranger))
    assert holder.status_code == 200 and holder.json() == {
        "person_id": pid, "name": "巴特尔", "team_code": "CF-WNT-01", "team_name": "翁牛特旗红十字应急救援队", "status": "active"}
    forged = await client.post("/api/v1/members/cards/verify", json={"token": card["token"][:-2] + "xx"}, headers=bearer(stranger))
    assert forged.status_code == 404 and forged.json()["code"] == "card_invalid"
    new = (await client.post(f"/api/v1/members/{pid}/card/revoke", headers=bearer(captain))).json()
    assert new["token"] != card["token"]
    assert (await client.post("/api/v1/members/cards/verify", json={"token": card["token"]}, headers=bearer(stranger))).status_code == 404
    assert (await client.post("/api/v1/members/cards/verify", json={"token": new["token"]}, headers=bearer(stranger))).status_code == 200
    svg = await client.get(f"/api/v1/members/{pid}/card.svg", headers=bearer(captain))
    assert svg.headers["content-type"].startswith("image/svg+xml") and "巴特尔" in svg.text and "<path" in svg.text
    png = await client.get(f"/api/v1/members/{pid}/card.png", headers=bearer(captain))
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def xlsx(rows: list[list], headers: list[str] | None = None, merge: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers or ["姓名*", "性别*", "身份证号*", "手机号", "语言", "状态", "入队日期", "证书类型", "证书编号", "发证日期"])
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def roster_rows(count: int, start: int = 100) -> list[list]:
    return [[f"队员{i}", "男", id_number(i), f"139{i:08d}", "汉语、蒙古语", "在队", "2024-03-01", "红十字救护员证", f"NM-{i}", "2024-03-10"]
            for i in range(start, start + count)]


async def upload(client, token: str, content: bytes, name: str = "roster.xlsx", team: str = "CF-WNT-01"):
    return await client.post(f"/api/v1/teams/{team}/roster/import", files={"file": (name, content)}, headers=bearer(token))


async def test_import_a_good_roster(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    report = await upload(client, captain, xlsx(roster_rows(60)))
    assert report.status_code == 200, report.text
    assert report.json()["rows"] == 60 and report.json()["valid_rows"] == 60 and report.json()["errors"] == []
    assert await Person.count() == 0  # checking writes no member
    committed = await client.post(f"/api/v1/teams/CF-WNT-01/roster/import/{report.json()['batch_id']}/commit", headers=bearer(captain))
    assert committed.status_code == 200 and committed.json()["committed"] == 60
    roster = (await client.get("/api/v1/teams/CF-WNT-01/roster", headers=bearer(captain))).json()
    assert roster["active"] == 60 and roster["certified_ratio"] == 1.0
    assert await Certificate.count() == 60
    again = await client.post(f"/api/v1/teams/CF-WNT-01/roster/import/{report.json()['batch_id']}/commit", headers=bearer(captain))
    assert again.status_code == 409
    exported = await client.get("/api/v1/teams/CF-WNT-01/roster/export?format=xlsx", headers=bearer(captain))
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert sheet.max_row == 61 and sheet["A1"].value == "姓名" and sheet["C2"].value == id_number(100)
    csv_export = await client.get("/api/v1/teams/CF-WNT-01/roster/export?format=csv", headers=bearer(captain))
    assert csv_export.content.startswith(b"\xef\xbb\xbf") and "队员100" in csv_export.content.decode("utf-8-sig")
    # The exported file imports straight back (its people are now on the roster: each row says so).
    back = (await upload(client, captain, exported.content)).json()
    assert back["valid_rows"] == 0 and {e["message"] for e in back["errors"]} == {"already on this roster"}


async def test_a_mixed_file_writes_nothing_unless_asked(client, make_user) -> None:
    await make_team()
    await make_team("CF-HS-01", unit="150402", members=1)
    _, captain = await make_user("captain", team="CF-WNT-01")
    rows = roster_rows(5)
    rows[1][2] = rows[1][2][:17] + ("1" if rows[1][2][17] == "0" else "0")  # a mistyped ID number
    rows[2][2] = rows[0][2]  # the same person twice
    rows[3][7] = "魔法证书"  # unknown certificate type
    rows[4][9] = "2024-13-01"  # not a date
    report = (await upload(client, captain, xlsx(rows))).json()
    assert report["valid_rows"] == 1
    problems = {(e["row"], e["column"]) for e in report["errors"]}
    assert problems == {(3, "身份证号"), (4, "身份证号"), (5, "证书类型"), (6, "发证日期")}
    refused = await client.post(f"/api/v1/teams/CF-WNT-01/roster/import/{report['batch_id']}/commit", headers=bearer(captain))
    assert refused.status_code == 422 and refused.json()["code"] == "import_has_errors"
    assert await Person.count() == 1  # only the other team's member
    partial = await client.post(f"/api/v1/teams/CF-WNT-01/roster/import/{report['batch_id']}/commit?valid_only=true", headers=bearer(captain))
    assert partial.status_code == 200 and partial.json()["committed"] == 1
    assert await Membership.count().where(Membership.team.code == "CF-WNT-01") == 1


async def test_files_that_cannot_be_read(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    cases = [
        (xlsx([], headers=["名字", "性别*", "身份证号*"]), "roster.xlsx", "missing columns: 姓名"),
        (xlsx(roster_rows(2), merge="A2:B2"), "roster.xlsx", "merged cells"),
        (xlsx(roster_rows(2001, start=1000)), "roster.xlsx", "at most 2000"),
        (b"not a workbook", "roster.xlsx", "not a readable .xlsx"),
        (b"a,b\n", "roster.txt", "upload an .xlsx or .csv"),
    ]
    for content, name, message in cases:
        response = await upload(client, captain, content, name)
        assert response.status_code == 422 and message in response.json()["message"], (name, message, response.text)
    gbk = f"姓名,性别,身份证号\n张三,男,{id_number(9)}\n".encode("gb18030")
    report = (await upload(client, captain, gbk, "roster.csv")).json()
    assert report["valid_rows"] == 1


async def test_scanned_copies_are_kept_encrypted_and_read_by_the_right_roles(client, make_user) -> None:
    from rescueops.settings import get_settings

    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    _, hub = await make_user("hub_coordinator", hub="east")
    pid = (await join(client, captain, seq=61))["id"]
    cert = (await client.post(f"/api/v1/members/{pid}/certificates", json={"type_code": "cpr_aed", "issued_on": "2025-01-01"},
                              headers=bearer(captain))).json()
    pdf = b"%PDF-1.4 scanned certificate"
    wrong = await client.put(f"/api/v1/members/{pid}/scans/certificate/{cert['id']}", files={"file": ("x.exe", b"MZ", "application/x-msdownload")},
                             headers=bearer(captain))
    assert wrong.status_code == 422 and wrong.json()["code"] == "bad_file_type"
    stored = await client.put(f"/api/v1/members/{pid}/scans/certificate/{cert['id']}", files={"file": ("scan.pdf", pdf, "application/pdf")},
                              headers=bearer(captain))
    assert stored.status_code == 204
    files = list((get_settings().var_dir / "uploads").glob(f"certificate-{cert['id']}-*"))
    assert len(files) == 1 and b"scanned certificate" not in files[0].read_bytes()
    back = await client.get(f"/api/v1/members/{pid}/scans/certificate/{cert['id']}", headers=bearer(captain))
    assert back.status_code == 200 and back.content == pdf and back.headers["content-type"] == "application/pdf"
    assert (await client.get(f"/api/v1/members/{pid}/scans/certificate/{cert['id']}", headers=bearer(hub))).status_code == 403
    assert (await client.get(f"/api/v1/members/{pid}/certificates", headers=bearer(captain))).json()[0]["has_file"] is True


async def test_a_member_sees_their_own_page_through_a_linked_account(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    pid = (await join(client, captain, seq=71))["id"]
    other = (await join(client, captain, seq=72))["id"]
    _, own = await make_user(None, username="qiqige", unit="150426")
    assert (await client.get(f"/api/v1/members/{pid}", headers=bearer(own))).status_code == 404
    linked = await client.put(f"/api/v1/members/{pid}/account", json={"username": "qiqige"}, headers=bearer(captain))
    assert linked.status_code == 200
    mine = await client.get(f"/api/v1/members/{pid}?unmask=true", headers=bearer(own))
    assert mine.status_code == 200 and mine.json()["id_number"] == id_number(71)
    assert (await client.get(f"/api/v1/members/{other}", headers=bearer(own))).status_code == 404
    taken = await client.put(f"/api/v1/members/{other}/account", json={"username": "qiqige"}, headers=bearer(captain))
    assert taken.status_code == 409


async def test_an_empty_team_has_an_empty_roster(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    roster = (await client.get("/api/v1/teams/CF-WNT-01/roster", headers=bearer(captain))).json()
    assert roster["members"] == [] and roster["certified_ratio"] == 0.0 and roster["expiring"] == []
