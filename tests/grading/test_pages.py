"""The grading pages, in Chinese first: a supervisor grades a team through them (evidence, scores, a document, the
decision, the region's level-1 confirmation), the captain reads the gap, the dashboard and rubrics render; scoping."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from rescueops.grading import service
from rescueops.grading.schemas import AssessmentOpen
from rescueops.grading.tables import Assessment, RubricVersion
from rescueops.teams import service as teams
from tests.accounts.test_auth import csrf_from
from tests.grading.builders import TODAY, admin_principal, level3_water_team
from tests.web.test_pages import sign_in


async def _as(client, make_user, role: str, **scope) -> None:
    client.cookies.clear()
    await sign_in(client, make_user, role, **scope)


async def test_a_supervisor_grades_a_team_through_the_pages(client, make_user) -> None:
    await level3_water_team(await admin_principal())
    await _as(client, make_user, "league_supervisor", unit="150400")
    workspace = await client.get("/grading")
    assert workspace.status_code == 200 and "分级测评" in workspace.text and "启动测评" in workspace.text
    opened = await client.post("/grading/assessments", data={"_csrf_token": csrf_from(workspace.text), "team_code": "WR-L3",
                                                             "category": "water_rescue", "note": "年度测评"}, follow_redirects=False)
    assert opened.status_code in (302, 303), opened.text[:500]
    url = opened.headers["location"]
    page = await client.get(url)
    assert page.status_code == 200 and "还需 4 名可出动的（在队、有有效保险和急救证）队员" in page.text  # for level 2: 12
    assert 'data-criterion="deployable_l3" data-status="passed"' in page.text and "待评审" in page.text
    token = csrf_from(page.text)
    assert (await client.post(f"{url}/scores", data={"_csrf_token": token, "criterion_id": "plans", "score": "8"},
                              follow_redirects=False)).status_code in (302, 303)
    uploaded = await client.post(f"{url}/documents", data={"_csrf_token": token, "criterion_id": "plans", "title": "应急预案"},
                                 files={"file": ("plan.pdf", b"%PDF-1.4 plan", "application/pdf")}, follow_redirects=False)
    assert uploaded.status_code in (302, 303), uploaded.text[:500]
    page = await client.get(url)
    assert re.search(r'id="eligible-level">([^<]*)<', page.text).group(1) == "3 级"
    document = re.search(rf'href="({url}/documents/\d+)"', page.text).group(1)
    assert (await client.get(document)).content == b"%PDF-1.4 plan"
    # Above the eligible level without a reason: refused, in Chinese, and nothing changes.
    refused = await client.post(f"{url}/decision", data={"_csrf_token": token, "level": "1", "reason": "拟定一级"})
    assert refused.status_code == 422 and "所定等级高于符合等级" in refused.text
    assert (await Assessment.select(Assessment.status).first())["status"] == "open"
    decided = await client.post(f"{url}/decision", data={"_csrf_token": token, "level": "1", "reason": "拟定一级",
                                                         "override_reason": "区域骨干队，承担跨盟市救援任务"}, follow_redirects=False)
    assert decided.status_code in (302, 303)
    page = await client.get(url)
    assert "待自治区确认" in page.text and 'id="confirm-button"' not in page.text
    await _as(client, make_user, "region_coordinator", unit="150000")
    page = await client.get(url)
    assert 'id="confirm-button"' in page.text
    confirmed = await client.post(f"{url}/confirmation", data={"_csrf_token": csrf_from(page.text), "decision": "confirm", "note": "同意"},
                                  follow_redirects=False)
    assert confirmed.status_code in (302, 303)
    page = await client.get(url)
    assert "已定级" in page.text and 'id="valid-until"' in page.text


async def test_the_captain_reads_the_gap(client, make_user) -> None:
    await level3_water_team(await admin_principal())
    await _as(client, make_user, "captain", team="WR-L3")
    page = await client.get("/grading/teams/WR-L3")
    assert page.status_code == 200 and "等级与晋级差距" in page.text
    water = page.text[page.text.index('id="category-water_rescue"'):]
    water = water[:water.index("</section>")]
    assert "按记录符合" in water and "距2 级还差" in water  # level 3 on the records; the gap leads to level 2
    assert "还需 4 名可出动的（在队、有有效保险和急救证）队员" in water and "待评审员评分：现场实操考核得分" in water
    assert 'id="apply-water_rescue"' in water and 'id="open-water_rescue"' not in water
    applied = await client.post("/grading/teams/WR-L3/apply", data={"_csrf_token": csrf_from(page.text), "category": "water_rescue"},
                                follow_redirects=False)
    assert applied.status_code in (302, 303)
    assert (await Assessment.select(Assessment.applied).first())["applied"] is True
    declared = await client.post("/grading/teams/WR-L3/declaration", data={"_csrf_token": csrf_from(page.text),
                                                                           "self_sufficiency_hours": "72", "party_organisation": "branch"},
                                 follow_redirects=False)
    assert declared.status_code in (302, 303)
    page = await client.get("/grading/teams/WR-L3")
    assert "72 小时" in page.text and "党支部" in page.text
    assert (await client.get("/grading/dashboard")).status_code == 403


async def test_pages_are_scoped(client, make_user) -> None:
    await level3_water_team(await admin_principal())
    opened = await service.open_assessment(await admin_principal(), AssessmentOpen(team_code="WR-L3", category="water_rescue"))
    await _as(client, make_user, "league_supervisor", unit="150200")  # Baotou: not the team's league
    assert (await client.get("/grading/teams/WR-L3")).status_code == 404
    assert (await client.get(f"/grading/assessments/{opened.id}")).status_code == 404
    workspace = await client.get("/grading")
    assert workspace.status_code == 200 and "WR-L3" not in workspace.text
    await _as(client, make_user, "hub_coordinator", hub="east")
    page = await client.get("/grading/teams/WR-L3")
    assert page.status_code == 200 and 'id="open-water_rescue"' not in page.text and "申请测评" not in page.text


async def test_dashboard_and_rubric_pages(client, make_user, monkeypatch) -> None:
    await level3_water_team(await admin_principal())
    for code in ("WR-L3", "WR-L3-B"):  # two grades expiring, of which the page lists one
        if code != "WR-L3":
            await level3_water_team(await admin_principal(), code)
        await teams.set_grade((await teams.team_row(code))["id"], "water_rescue", 3, TODAY - timedelta(days=700), TODAY + timedelta(days=20))
    await service.refresh_readiness()
    monkeypatch.setattr(service, "DASHBOARD_LISTED", 1)
    await _as(client, make_user, "league_supervisor", unit="150400")
    board = await client.get("/grading/dashboard")
    assert board.status_code == 200 and "战备状态看板" in board.text
    expiring = board.text.split('id="dashboard-expiring"')[1].split("</section>")[0]
    assert expiring.count("<li>") == 1 and "仅列出前 1 项，共 2 项" in expiring
    assert board.text.count("<svg") >= 3 and 'id="readiness-map"' in board.text and 'data-unit="150426"' in board.text
    assert "类别 × 等级 × 盟市" in board.text and "赤峰市" in board.text
    workbook = await client.get("/grading/dashboard.xlsx")
    assert workbook.status_code == 200 and load_workbook(io.BytesIO(workbook.content)).sheetnames[0] == "类别×等级×盟市"
    rubrics = await client.get("/grading/rubrics")
    assert rubrics.status_code == 200 and "水上救生类红十字应急救援队分级测评细则" in rubrics.text
    rubric = await client.get("/grading/rubrics/water_rescue")
    assert rubric.status_code == 200 and "fema_swiftwater" in rubric.text and 'name="t:boats_l2:min"' in rubric.text
    form = {"_csrf_token": csrf_from(rubric.text), "t:boats_l2:min": "3", "validity_months": "36", "appeal_days": "30", "reason": "提高二级舟艇数量"}
    edited = await client.post("/grading/rubrics/water_rescue", data=form, follow_redirects=False)
    assert edited.status_code in (302, 303), edited.text[:500]
    assert [r["version"] for r in await RubricVersion.select(RubricVersion.version).where(RubricVersion.category == "water_rescue")] == [1, 2]
    bad = await client.post("/grading/rubrics/water_rescue", data={**form, "_csrf_token": csrf_from(rubric.text), "t:boats_l2:min": "9",
                                                                   "reason": "二级比一级还多"})
    assert bad.status_code == 422 and "新阈值无法使用" in bad.text and "levels are cumulative" in bad.text
    old = await client.get("/grading/rubrics/water_rescue?version=1")
    assert old.status_code == 200 and 'name="t:boats_l2:min"' not in old.text  # old versions are read, not edited
    await _as(client, make_user, "county_officer", unit="150426")
    assert (await client.post("/grading/rubrics/water_rescue", data=form)).status_code == 403


async def test_pages_switch_to_english(client, make_user) -> None:
    await level3_water_team(await admin_principal())
    await _as(client, make_user, "captain", team="WR-L3")
    client.cookies.set("rescueops_locale", "en")
    from rescueops.accounts.tables import User

    await User.update({User.locale: "en"}).where(User.locale.is_null())
    page = await client.get("/grading/teams/WR-L3")
    assert "Grade and gap to the next level" in page.text and "attach a document for the assessors to score: Emergency plans" in page.text
    assert "4 more deployable (active, insured, valid first-aid certificate) members" in page.text
