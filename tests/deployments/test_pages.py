"""The deployment pages in Chinese: the list, recording an incident, dispatching, the captain's phone page, the report."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from rescueops.deployments.tables import Deployment, Incident, LogEntry
from tests.accounts.test_auth import csrf_from
from tests.conftest import bearer
from tests.deployments.helpers import TEAM, dispatch, log, open_incident, register_items, to_demobilising
from tests.factories import make_team
from tests.web.test_pages import sign_in


async def _form(client, url: str, data: dict, page: str):
    response = await client.post(url, data={"_csrf_token": csrf_from(page), **data}, follow_redirects=False)
    return response


async def test_a_captain_works_a_deployment_from_the_pages(client, make_user) -> None:
    team = await make_team(members=3)
    await register_items(TEAM, "CF-WNT-ROPE-001")
    await sign_in(client, make_user, "captain", team=TEAM)
    listing = await client.get("/deployments")
    assert listing.status_code == 200
    for text in ("救援行动", "登记事件", "暂无救援行动。", "暂无事件。", 'lang="zh-CN"'):
        assert text in listing.text, text
    new = await client.get("/deployments/incidents/new")
    assert new.status_code == 200 and "事件类型" in new.text and "白灾（雪灾）" in new.text and "较大（Ⅲ级）" in new.text
    assert "翁牛特旗 (150426)" in new.text
    refused = await _form(client, "/deployments/incidents/new", {"kind": "blizzard", "title": "暴", "place": "乌丹镇", "unit_code": "150426",
                                                                 "severity": "3", "started_at": "2026-01-01T08:00"}, new.text)
    assert refused.status_code == 422 and 'id="page-error"' in refused.text and "title" in refused.text
    assert await Incident.count() == 0
    started = (datetime.now(UTC) - timedelta(hours=3)).astimezone().strftime("%Y-%m-%dT%H:%M")
    created = await _form(client, "/deployments/incidents/new", {
        "kind": "blizzard", "title": "白音套海嘎查暴雪围困牧民", "place": "乌丹镇白音套海嘎查", "unit_code": "150426", "severity": "3",
        "requesting_authority": "翁牛特旗应急管理局", "started_at": started, "lat": "", "lon": ""}, new.text)
    assert created.status_code in (302, 303), created.text
    incident_url = created.headers["location"]
    incident_page = await client.get(incident_url)
    for text in ("白音套海嘎查暴雪围困牧民", "翁牛特旗应急管理局", "派出队伍", "尚未派出队伍。", "翁牛特旗红十字应急救援队 (CF-WNT-01)"):
        assert text in incident_page.text, text
    sent = await _form(client, f"{incident_url}/dispatch", {"team_code": TEAM, "asset_tags": "CF-WNT-ROPE-001", "alerted_at": "", "note": ""},
                       incident_page.text)
    assert sent.status_code in (302, 303), sent.text
    deployment_url = sent.headers["location"]
    phone = await client.get(deployment_url)
    assert phone.status_code == 200
    for text in ("接令待命", "队伍集结出发", "到达现场", "现场日志", "记入日志", "救出人员", "险情", "资源需求", "添加出动队员",
                 "CF-WNT-ROPE-001", "静力绳（50 米）", "归还入库", 'name="viewport"'):
        assert text in phone.text, text
    assert len(re.findall(r'name="person" value="\d+"', phone.text)) == 3
    added = await _form(client, f"{deployment_url}/members", {"person": team["people"][:2]}, phone.text)
    assert added.status_code in (302, 303), added.text
    moved = await _form(client, f"{deployment_url}/status", {"status": "on_scene", "at": "", "note": ""}, phone.text)
    assert moved.status_code in (302, 303)
    logged = await _form(client, f"{deployment_url}/log", {"kind": "rescued", "count": "3", "text": "救出被困牧民 3 人", "occurred_at": ""},
                         phone.text)
    assert logged.status_code in (302, 303) and "kind=rescued" in logged.headers["location"]
    bad = await _form(client, f"{deployment_url}/log", {"kind": "treated", "count": "", "text": "", "occurred_at": ""}, phone.text)
    assert bad.status_code == 422 and 'id="page-error"' in bad.text and "count" in bad.text
    phone = await client.get(deployment_url + "?kind=rescued")
    assert 'value="rescued" checked' in phone.text and 'id="total-rescued">3<' in phone.text and "救出被困牧民 3 人" in phone.text
    assert 'id="step-demobilising"' in phone.text and 'id="step-mobilising"' not in phone.text  # forward only
    did = int(deployment_url.rsplit("/", 1)[1])
    await Deployment.update({Deployment.status: "demobilising", Deployment.demobilising_at: datetime.now(UTC)}).where(Deployment.id == did)
    phone = await client.get(deployment_url)
    assert "结束行动" in phone.text and "其余装备均完好归还" in phone.text
    closed = await _form(client, f"{deployment_url}/close", {"return_rest": "1", "at": "", "note": "牧民全部安置"}, phone.text)
    assert closed.status_code in (302, 303) and closed.headers["location"].endswith("/report")
    report = await client.get(closed.headers["location"])
    assert report.status_code == 200
    for text in ("救援行动报告", "下载 PDF", "救出被困牧民 3 人", "牧民全部安置", "出动队员与服务时长"):
        assert text in report.text, text
    final = await client.get(deployment_url)
    assert 'id="closed-notice"' in final.text and 'id="log-entry-form"' not in final.text and 'id="status-form"' not in final.text
    late = await _form(client, f"{deployment_url}/log", {"kind": "note", "count": "", "text": "补记", "occurred_at": ""}, final.text)
    assert late.status_code == 409 and "本次行动已结束，记录已定稿。" in late.text and 'id="page-error"' in late.text
    assert await LogEntry.count() == 1
    pdf = await client.get(f"{deployment_url}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    listing = await client.get("/deployments?status=closed")
    assert "白音套海嘎查暴雪围困牧民" in listing.text and "行动结束" in listing.text and f'data-deployment="{did}"' in listing.text
    assert f'data-deployment="{did}"' not in (await client.get("/deployments?status=on_scene")).text


async def test_pages_keep_to_the_scope_and_a_member_only_reads(client, make_user) -> None:
    await make_team(members=1)
    await make_team("BT-DH-01", unit="150202")
    _, captain = await make_user("captain", team=TEAM)
    did = (await dispatch(client, captain, (await open_incident(client, captain))["id"]))["id"]
    await log(client, captain, did, "hazard", text="河面冰层开裂")
    await sign_in(client, make_user, "member", team=TEAM)
    page = await client.get(f"/deployments/{did}")
    assert page.status_code == 200 and "河面冰层开裂" in page.text and 'id="log-entry-form"' not in page.text
    assert 'id="status-form"' not in page.text and 'id="new-incident"' not in (await client.get("/deployments")).text
    await sign_in(client, make_user, "captain", team="BT-DH-01")
    hidden = await client.get(f"/deployments/{did}")
    assert hidden.status_code == 404 and "河面冰层开裂" not in hidden.text
    assert "白音套海嘎查暴雪围困牧民" not in (await client.get("/deployments")).text
    assert (await client.get("/deployments?status=nonsense")).status_code == 422
    await to_demobilising(client, captain, did)
    english = await client.get(f"/api/v1/deployments/{did}", headers=bearer(captain))
    assert english.json()["status"] == "demobilising"
