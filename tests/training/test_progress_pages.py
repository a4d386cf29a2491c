"""The targets and progress pages, in Chinese first: a league officer imports the allocation table through the preview and
the commit, edits a line, reads the progress down the tree with its charts and goals, and exports both as .xlsx."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook

from rescueops.calendar import china_today
from rescueops.training.tables import CourseKind, Target
from tests.accounts.test_auth import csrf_from
from tests.training import builders
from tests.training.test_progress_counts import issue
from tests.training.test_targets_import import CHIFENG, XLSX, table
from tests.web.test_pages import sign_in

YEAR = china_today().year


async def test_a_league_officer_imports_its_table_through_the_pages(client, make_user) -> None:
    await sign_in(client, make_user, "league_supervisor", unit="150400")
    empty = await client.get(f"/training/targets?unit=150400&year={YEAR}")
    assert empty.status_code == 200 and "任务分配" in empty.text and 'id="no-targets"' in empty.text
    token = csrf_from(empty.text)
    template = await client.get(f"/training/targets/template.xlsx?unit=150400&year={YEAR}")
    assert template.status_code == 200 and load_workbook(io.BytesIO(template.content)).worksheets[0]["B3"].value == "红山区"

    garbage = await client.post("/training/targets/import", data={"_csrf_token": token, "unit": "150400", "year": str(YEAR)},
                                files={"file": ("分配表.xlsx", b"not a workbook", XLSX)})
    assert garbage.status_code == 422 and "无法读取该文件" in garbage.text
    tampered = await client.post("/training/targets/commit", data={"_csrf_token": token, "unit": "150400", "year": str(YEAR),
                                                                    "file_name": "x.xlsx", "content": "!!!"})
    assert tampered.status_code == 422 and await Target.count() == 0

    bad = [("红山区", 240, 60, 1080), ("火星", 1, 0, 1), ("松山区", 10, 20, 0)]
    checked = await client.post("/training/targets/import", data={"_csrf_token": token, "unit": "150400", "year": str(YEAR)},
                                files={"file": ("分配表.xlsx", table(bad), XLSX)})
    assert checked.status_code == 200 and 'id="targets-errors"' in checked.text and "火星" in checked.text
    assert 'id="targets-commit"' not in checked.text  # no commit for a table with problems
    assert await Target.count() == 0

    checked = await client.post("/training/targets/import", data={"_csrf_token": token, "unit": "150400", "year": str(YEAR)},
                                files={"file": ("分配表.xlsx", table(CHIFENG), XLSX)})
    assert checked.status_code == 200 and 'id="targets-commit"' in checked.text and "导入这 15 行" in checked.text
    assert await Target.count() == 0  # the preview writes nothing
    form = checked.text[checked.text.index('id="targets-commit"'):]
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    committed = await client.post("/training/targets/commit", data={**fields, "_csrf_token": token}, follow_redirects=False)
    assert committed.status_code in (302, 303), committed.text[:800]
    assert await Target.count() == 15
    shown = await client.get(committed.headers["location"])
    assert "翁牛特旗" in shown.text and 'id="targets-total"' in shown.text and "<svg" in shown.text

    line = await Target.select(Target.id).where(Target.label == "翁牛特旗").first()
    refused = await client.post(f"/training/targets/{line['id']}?unit=150400&year={YEAR}",
                                data={"_csrf_token": token, "certified": "10", "junior": "20", "awareness": "0"})
    assert refused.status_code == 422 and "junior" in refused.text
    edited = await client.post(f"/training/targets/{line['id']}?unit=150400&year={YEAR}",
                               data={"_csrf_token": token, "certified": "300", "junior": "60", "awareness": "900"}, follow_redirects=False)
    assert edited.status_code in (302, 303)
    assert (await Target.select(Target.certified).where(Target.id == line["id"]).first())["certified"] == 300
    export = await client.get(f"/training/targets.xlsx?unit=150400&year={YEAR}")
    rows = list(load_workbook(io.BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("序号", "单位") and rows[-1][0] == "合计" and rows[-1][3] == 3920 - 160 + 300


async def test_progress_down_the_tree(client, make_user) -> None:
    version = await builders.course_version(CourseKind.first_aider)
    session = await builders.session(version, unit_code="150426", sector="schools", starts_on=date(YEAR, 1, 1))
    await issue(session, 3, date(YEAR, 1, 2), date(YEAR + 3, 1, 2))
    await sign_in(client, make_user, "region_coordinator", unit="150000")
    region = await client.get("/training/progress")  # defaults: the caller's top unit, this year
    assert region.status_code == 200 and "内蒙古自治区" in region.text and "2030" in region.text
    assert f'href="/training/progress?unit=150400&amp;year={YEAR}"' in region.text
    assert 'id="goal-gauges"' in region.text and 'data-goal="certified_share"' in region.text
    league = await client.get(f"/training/progress?unit=150400&year={YEAR}")
    assert league.status_code == 200
    row = league.text[league.text.index('id="child-150426"'):]
    assert re.search(r'data-figure="certified">3<', row)
    assert f'href="/training/progress?unit=150426&amp;year={YEAR}"' in league.text
    county = await client.get(f"/training/progress?unit=150426&year={YEAR}")
    assert county.status_code == 200 and "赤峰市" in county.text  # the breadcrumb up the tree
    assert "无人口数据" in county.text  # the county has no census figure of its own
    export = await client.get(f"/training/progress.xlsx?unit=150400&year={YEAR}")
    book = load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["概况", "目标", "下级单位", "任务分配"]
    assert ("持证培训完成", 3) in [tuple(r) for r in book["概况"].iter_rows(values_only=True)]


async def test_a_county_officer_sees_only_its_county(client, make_user) -> None:
    await sign_in(client, make_user, "county_officer", unit="150426")
    mine = await client.get("/training/progress")
    assert mine.status_code == 200 and "翁牛特旗" in mine.text
    assert (await client.get(f"/training/progress?unit=150400&year={YEAR}")).status_code == 403
    assert (await client.get(f"/training/targets?unit=150400&year={YEAR}")).status_code == 403
    client.cookies.clear()
    await sign_in(client, make_user, "captain", unit="150426")
    assert (await client.get("/training/progress")).status_code == 403
