"""Importing yearly allocation tables (任务分配表) shaped like the Jiangyin 2022 one (seed 001, annex 3): the preview writes
nothing, the commit writes all lines or none, a re-import replaces the year's lines, bad rows are named by row and column."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from openpyxl import Workbook, load_workbook

from rescueops.accounts.tables import AuditEntry
from rescueops.orgs.tables import OrgUnit
from rescueops.training.tables import Organisation, Target
from tests.conftest import bearer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["序号", "单  位", "持证培训总数（名）\n（救护员、初级救护员、CPR+AED培训）", "初级救护员（名）", "普及培训（名）"]
# 赤峰市's twelve banners, counties and districts, then the Jiangyin table's three departments.
CHIFENG = [("红山区", 240, 60, 1080), ("元宝山区", 640, 160, 2880), ("松山区", 160, 40, 720), ("阿鲁科尔沁旗", 160, 40, 720),
           ("巴林左旗", 160, 40, 720), ("巴林右旗", 160, 40, 720), ("林西县", 200, 50, 900), ("克什克腾旗", 200, 50, 900),
           ("翁牛特旗", 160, 40, 720), ("喀喇沁旗", 240, 60, 1080), ("宁城县", 320, 80, 1440), ("敖汉旗", 280, 70, 1260),
           ("教育局", 200, 50, 8000), ("机关事业单位", 300, 50, 1000), ("企业", 500, 100, 3000)]


def table(lines, *, total: bool | tuple = True, title: str = "2025年应急救护培训任务分配表") -> bytes:
    """An .xlsx like the Jiangyin annex: a title row, the header, numbered lines, a 合　计 row (the lines' sum unless given)."""
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(HEADER)
    for number, line in enumerate(lines, start=1):
        sheet.append([number, *line])
    if total:
        sums = total if isinstance(total, tuple) else tuple(sum(line[i] for line in lines if isinstance(line[i], int)) for i in (1, 2, 3))
        sheet.append(["合　计", None, *sums])
    sheet.append(["备注：下一年度任务分配表另行制定。"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def upload(client, token: str, content: bytes, *, unit: str = "150400", year: int = 2025, commit: bool = False,
                 name: str = "任务分配表.xlsx"):
    return await client.post("/api/v1/training/targets/import", headers=bearer(token),
                             data={"unit": unit, "year": str(year), "commit": "true" if commit else "false"},
                             files={"file": (name, content, XLSX)})


async def test_a_jiangyin_shaped_table_is_previewed_then_committed(client, make_user) -> None:
    _, token = await make_user("league_supervisor", unit="150400")
    preview = await upload(client, token, table(CHIFENG))
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["errors"] == [] and report["committed"] is False and len(report["lines"]) == 15
    assert report["total"] == {"certified": 3920, "junior": 930, "awareness": 25140}
    assert await Target.count() == 0  # the preview writes nothing
    kinds = {line["label"]: (line["line_kind"], line["line_unit_code"] or line["sector"]) for line in report["lines"]}
    assert kinds["翁牛特旗"] == ("unit", "150426") and kinds["红山区"] == ("unit", "150402")
    assert kinds["教育局"] == ("sector", "schools") and kinds["机关事业单位"] == ("sector", "agencies") and kinds["企业"] == ("sector", "companies")
    assert report["lines"][0]["row"] == 3  # the title and the header come first

    committed = await upload(client, token, table(CHIFENG), commit=True)
    assert committed.status_code == 200, committed.text
    assert committed.json()["committed"] is True and committed.json()["replaced"] == 0
    assert await Target.count() == 15
    wengniute = await Target.select().where(Target.label == "翁牛特旗").first()
    county = await OrgUnit.select(OrgUnit.id).where(OrgUnit.code == "150426").first()
    assert (wengniute["line_unit"], wengniute["certified"], wengniute["junior"], wengniute["awareness"]) == (county["id"], 160, 40, 720)
    assert wengniute["year"] == 2025 and wengniute["unit_path"] == "/150000/150400/"
    assert await AuditEntry.count().where(AuditEntry.action == "training.targets.import") == 1

    shown = (await client.get("/api/v1/training/targets?unit=150400&year=2025", headers=bearer(token))).json()
    assert [line["label"] for line in shown["lines"]] == [line[0] for line in CHIFENG]
    assert shown["total"] == {"certified": 3920, "junior": 930, "awareness": 25140}


async def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_written(client, make_user) -> None:
    _, token = await make_user("league_supervisor", unit="150400")
    assert (await upload(client, token, table(CHIFENG[:3]), commit=True)).status_code == 200
    before = await Target.select(Target.label, Target.certified).order_by(Target.id)
    lines = [("红山区", 240, 60, 1080),
             ("江阴市", 100, 10, 100),  # not a unit under 赤峰市
             ("松山区", 40, 50, 100),  # junior > certified
             ("林西县", -5, 0, 100),  # negative
             ("敖汉旗", "12.5", 0, 100),  # not whole
             ("巴林左旗", "很多", 0, 100),  # not a number
             ("红山区", 1, 0, 1)]  # given twice
    content = table(lines, total=(999, 120, 1581))
    preview = await upload(client, token, content)
    assert preview.status_code == 200
    errors = {(e["row"], e["column"]): e["message"] for e in preview.json()["errors"]}
    assert "not a unit under 赤峰市" in errors[(4, "单位")]
    assert "more than the 40 certificates" in errors[(5, "初级救护员")]
    assert "-5 is negative" in errors[(6, "持证培训总数")]
    assert "not a whole number" in errors[(7, "持证培训总数")]
    assert "'很多' is not a number" in errors[(8, "持证培训总数")]
    assert "given twice (row 3)" in errors[(9, "单位")]
    total_row = 10
    assert "the 合计 row says 999" in errors[(total_row, "持证培训总数")]
    assert (total_row, "普及培训") not in errors  # 1581 is the sum of the awareness column
    assert [line["label"] for line in preview.json()["lines"]] == ["红山区"]  # only the clean rows are previewed as lines

    refused = await upload(client, token, content, commit=True)
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "targets_have_errors" and "nothing was imported" in body["message"]
    assert {(d["row"], d["column"]) for d in body["details"]} == set(errors)
    assert await Target.select(Target.label, Target.certified).order_by(Target.id) == before  # the old lines stand


async def test_a_file_that_is_not_a_table_is_refused_whole(client, make_user) -> None:
    _, token = await make_user("league_supervisor", unit="150400")
    book = Workbook()
    book.active.append(["姓名", "身份证号"])
    buffer = io.BytesIO()
    book.save(buffer)
    refused = await upload(client, token, buffer.getvalue(), commit=True)
    assert refused.status_code == 422 and refused.json()["code"] == "bad_targets_file" and "单位" in refused.json()["message"]
    missing = await upload(client, token, "单位,持证培训总数\n红山区,10\n".encode(), name="t.csv")
    assert missing.status_code == 422 and "missing columns: 初级救护员, 普及培训" in missing.json()["message"]
    bad_year = await upload(client, token, table(CHIFENG), year=1900)
    assert bad_year.status_code == 422 and "year" in bad_year.json()["message"]
    assert await Target.count() == 0


async def test_re_importing_the_same_year_and_unit_replaces_its_lines(client, make_user) -> None:
    _, token = await make_user("league_supervisor", unit="150400")
    assert (await upload(client, token, table(CHIFENG), commit=True)).status_code == 200
    assert (await upload(client, token, table(CHIFENG[:2]), year=2026, commit=True)).status_code == 200
    again = await upload(client, token, table([("翁牛特旗", 500, 100, 2000), ("教育局", 50, 10, 500)]), commit=True)
    assert again.status_code == 200 and again.json()["replaced"] == 15
    rows = await Target.select(Target.label, Target.certified, Target.year).where(Target.year == 2025).order_by(Target.id)
    assert [(r["label"], r["certified"]) for r in rows] == [("翁牛特旗", 500), ("教育局", 50)]
    assert await Target.count().where(Target.year == 2026) == 2  # another year is left alone


async def test_a_county_table_names_its_organisations_and_the_ten_actions(client, make_user) -> None:
    county = await OrgUnit.select(OrgUnit.id, OrgUnit.path).where(OrgUnit.code == "150426").first()
    for name, kind in (("乌丹镇", "community"), ("桥头镇", "village"), ("旗第一中学", "school")):
        await Organisation.insert(Organisation(unit=county["id"], unit_path=county["path"], name=name, kind=kind, created_at=datetime.now(UTC)))
    _, token = await make_user("county_officer", unit="150426")
    lines = [("乌丹镇", 100, 20, 1500), ("桥头镇", 60, 10, 800), ("旗第一中学", 30, 0, 600),
             ("“救在身边·校园守护”行动", 40, 10, 1000), ("救援先锋", 80, 0, 0), ("机关事业单位", 50, 10, 300)]
    report = (await upload(client, token, table(lines), unit="150426", commit=True)).json()
    assert report["errors"] == [], report
    found = {line["label"]: (line["line_kind"], line["matched"], line["sector"]) for line in report["lines"]}
    assert found["乌丹镇"] == ("organisation", "乌丹镇", None)
    assert found["“救在身边·校园守护”行动"] == ("sector", "campus", "campus")
    assert found["救援先锋"][2] == "rescue_forces" and found["机关事业单位"][2] == "agencies"
    assert await Target.count().where(Target.organisation.is_not_null()) == 3


async def test_only_the_allocating_units_officers_import(client, make_user) -> None:
    _, county = await make_user("county_officer", unit="150426")
    refused = await upload(client, county, table(CHIFENG), unit="150400", commit=True)
    assert refused.status_code == 403
    _, captain = await make_user("captain", unit="150426")
    assert (await upload(client, captain, table(CHIFENG), commit=True)).status_code == 403
    assert (await client.get("/api/v1/training/targets?unit=150400&year=2025", headers=bearer(county))).status_code == 403
    assert await Target.count() == 0


async def test_the_template_is_the_jiangyin_table_for_the_unit_and_imports_once_filled(client, make_user) -> None:
    _, token = await make_user("league_supervisor", unit="150400")
    response = await client.get("/api/v1/training/targets/template.xlsx?unit=150400&year=2025", headers=bearer(token))
    assert response.status_code == 200 and response.headers["content-type"].startswith(XLSX)
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert "任务分配表" in rows[0][0] and rows[1][:2] == ["序号", "单位"] and rows[1][2].startswith("持证培训总数")
    labels = [r[1] for r in rows[2:]]
    assert labels[:2] == ["红山区", "元宝山区"] and labels[-4:] == ["教育局", "机关事业单位", "企业", "合计"] and len(labels) == 16
    for index, row in enumerate(sheet.iter_rows(min_row=3, max_row=sheet.max_row - 1)):
        row[2].value, row[3].value, row[4].value = 100 + index, 10, 1000
    buffer = io.BytesIO()
    book.save(buffer)
    report = (await upload(client, token, buffer.getvalue(), commit=True)).json()
    assert report["errors"] == [] and len(report["lines"]) == 15 and report["total"]["certified"] == sum(range(100, 115))


async def test_a_csv_from_chinese_excel_and_an_edited_line(client, make_user) -> None:
    _, token = await make_user("league_supervisor", unit="150400")
    text = io.StringIO()
    csv.writer(text).writerows([["序号", "单位", "持证培训总数（名）", "初级救护员（名）", "普及培训（名）"], [1, "翁牛特旗", 160, 40, 720],
                                [2, "企业", "1,000", 100, 3000], ["合计", "", 1160, 140, 3720]])
    report = (await upload(client, token, text.getvalue().encode("gb18030"), name="分配表.csv", commit=True)).json()
    assert report["errors"] == [] and report["total"]["certified"] == 1160
    line = await Target.select(Target.id).where(Target.label == "翁牛特旗").first()
    edited = await client.put(f"/api/v1/training/targets/{line['id']}", headers=bearer(token),
                              json={"certified": 200, "junior": 50, "awareness": 900})
    assert edited.status_code == 200, edited.text
    assert edited.json()["total"] == {"certified": 1200, "junior": 150, "awareness": 3900}
    bad = await client.put(f"/api/v1/training/targets/{line['id']}", headers=bearer(token), json={"certified": 10, "junior": 50, "awareness": 0})
    assert bad.status_code == 422 and "junior" in bad.text
    negative = await client.put(f"/api/v1/training/targets/{line['id']}", headers=bearer(token), json={"certified": -1, "junior": 0, "awareness": 0})
    assert negative.status_code == 422
    assert (await Target.select(Target.certified).where(Target.id == line["id"]).first())["certified"] == 200
    _, other = await make_user("county_officer", unit="150426")
    assert (await client.put(f"/api/v1/training/targets/{line['id']}", headers=bearer(other),
                             json={"certified": 1, "junior": 0, "awareness": 0})).status_code == 404  # not theirs to see
