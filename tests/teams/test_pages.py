from __future__ import annotations

import re

from rescueops.members.tables import Membership
from rescueops.teams.tables import LeadershipFiling
from tests.accounts.test_auth import csrf_from
from tests.factories import make_team
from tests.members.test_api import roster_rows, xlsx
from tests.web.test_pages import sign_in


async def test_team_pages_render_in_chinese(client, make_user) -> None:
    team = await make_team(members=4, leaders=True, active=True)
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    listing = await client.get("/teams")
    assert listing.status_code == 200 and "翁牛特旗红十字应急救援队" in listing.text and "救援队" in listing.text
    detail = await client.get("/teams/CF-WNT-01")
    assert detail.status_code == 200
    assert "队长" in detail.text and 'id="roster-table"' in detail.text and "0 / 4" in detail.text
    member = await client.get(f"/members/{team['people'][0]}")
    assert member.status_code == 200 and "*" * 14 in member.text
    unmasked = await client.get(f"/members/{team['people'][0]}?unmask=true")
    assert "*" * 14 not in re.search(r'id="id-number">([^<]*)<', unmasked.text).group(1)
    card = await client.get(f"/members/{team['people'][0]}/card")
    assert card.status_code == 200 and "<svg" in card.text and "队员卡" in card.text


async def test_file_and_approve_through_the_pages(client, make_user) -> None:
    team = await make_team(members=5, leaders=True, active=True)
    people = team["people"]
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get("/teams/CF-WNT-01")
    form = {"_csrf_token": csrf_from(page.text), "captain_id": people[0], "deputy_1": people[1], "deputy_2": people[2],
            "deputy_3": people[3], "reason": "增补第三名副队长"}
    filed = await client.post("/teams/CF-WNT-01/filings", data=form, follow_redirects=False)
    assert filed.status_code in (302, 303), filed.text[:300]
    fourth = await client.post("/teams/CF-WNT-01/filings", data={**form, "reason": "再来一次"}, follow_redirects=False)
    assert fourth.status_code == 409 and "该队已有一件负责人变更备案正在等待审批" in fourth.text
    client.cookies.clear()
    await sign_in(client, make_user, "league_supervisor", unit="150400")
    inbox = await client.get("/filings")
    assert inbox.status_code == 200 and "增补第三名副队长" in inbox.text
    filing_id = (await LeadershipFiling.select(LeadershipFiling.id).first())["id"]
    approved = await client.post(f"/filings/{filing_id}/decision", data={"_csrf_token": csrf_from(inbox.text), "decision": "approve", "reason": "同意"},
                                 follow_redirects=False)
    assert approved.status_code in (302, 303)
    assert await Membership.count().where(Membership.role == "deputy_captain") == 3
    team_page = await client.get("/teams/CF-WNT-01")
    assert team_page.status_code == 200, team_page.text[-800:]
    assert 'data-status="approved"' in team_page.text


async def test_import_through_the_pages(client, make_user) -> None:
    await make_team()
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get("/teams/CF-WNT-01/import")
    assert page.status_code == 200 and "下载模板" in page.text
    rows = roster_rows(3)
    rows[2][2] = "123"
    checked = await client.post("/teams/CF-WNT-01/import", files={"file": ("名册.xlsx", xlsx(rows))},
                                data={"_csrf_token": csrf_from(page.text)})
    assert checked.status_code == 200 and 'id="report-errors"' in checked.text and "身份证号" in checked.text
    batch = re.search(r'action="/teams/CF-WNT-01/import/(\d+)"', checked.text).group(1)
    done = await client.post(f"/teams/CF-WNT-01/import/{batch}", data={"_csrf_token": csrf_from(checked.text), "valid_only": "yes"},
                             follow_redirects=False)
    assert done.status_code in (302, 303)
    assert await Membership.count() == 2


async def test_add_member_form_reports_a_bad_id_number(client, make_user) -> None:
    await make_team()
    await sign_in(client, make_user, "captain", team="CF-WNT-01")
    page = await client.get("/teams/CF-WNT-01/members/new")
    response = await client.post("/teams/CF-WNT-01/members/new", data={
        "_csrf_token": csrf_from(page.text), "name": "张三", "gender": "male", "birth_date": "1990-01-01", "id_number": "150426199001010011"})
    assert response.status_code == 422 and 'value="张三"' in response.text
    assert "部分字段填写有误" in response.text and "check digit" in response.text  # the meaning in Chinese, then the specifics


async def test_register_a_team_through_the_page(client, make_user) -> None:
    await sign_in(client, make_user, "league_supervisor", unit="150400")
    form = await client.get("/teams/new")
    assert form.status_code == 200 and "登记救援队" in form.text and 'value="150202"' not in form.text  # only units in scope
    data = {"_csrf_token": csrf_from(form.text), "code": "CF-HS-02", "name_zh": "红山区水上救援队", "unit_code": "150402",
            "primary_category": "water_rescue", "specialties": ["medical", "ambulance"], "registration_kind": "civil_affairs",
            "registration_number": "52150402MJY00002X"}
    created = await client.post("/teams/new", data=data, follow_redirects=False)
    assert created.status_code in (302, 303) and created.headers["location"] == "/teams/CF-HS-02"
    page = await client.get("/teams/CF-HS-02")
    assert "红山区水上救援队" in page.text and "医疗" in page.text and "救护转运" in page.text
    again = await client.post("/teams/new", data=data)
    assert again.status_code == 409 and "该代码已被使用" in again.text
    client.cookies.clear()
    await sign_in(client, make_user, "captain", team="CF-HS-02")
    assert (await client.get("/teams/new")).status_code == 403
