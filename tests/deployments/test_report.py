"""The deployment report: Markdown and PDF in Chinese, from the same record."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from tests.conftest import bearer
from tests.deployments.helpers import TEAM, close, dispatch, log, open_incident, register_items, step, to_demobilising
from tests.factories import make_team


async def _closed_deployment(client, make_user) -> tuple[dict, str, dict]:
    team = await make_team(members=3)
    await register_items(TEAM, "CF-WNT-ROPE-001", "CF-WNT-ROPE-002")
    _, captain = await make_user("captain", team=TEAM)
    start = datetime.now(UTC) - timedelta(hours=7)
    incident = await open_incident(client, captain, started_at=(start - timedelta(hours=2)).isoformat())
    did = (await dispatch(client, captain, incident["id"], person_ids=team["people"][:2], alerted_at=start.isoformat(),
                          asset_tags=["CF-WNT-ROPE-001", "CF-WNT-ROPE-002"]))["id"]
    await step(client, captain, did, "mobilising", at=(start + timedelta(minutes=20)).isoformat(), note="两车出发")
    await step(client, captain, did, "on_scene", at=(start + timedelta(hours=2)).isoformat())
    entries = [("arrival", None, "抵达白音套海嘎查，与旗应急管理局指挥部会合"), ("rescued", 3, "从被困车辆中救出牧民 3 人"),
               ("treated", 2, "2 人轻度冻伤，现场处置后转送旗医院"), ("hazard", None, "河面冰层开裂 | 禁止车辆通行"),
               ("resource_request", 20, "请求调拨棉帐篷"), ("rescued", 40, "误录")]
    ids = []
    for kind, count, text in entries:
        response = await log(client, captain, did, kind, count=count, text=text)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    await client.post(f"/api/v1/deployments/{did}/log/{ids[-1]}/void", json={"reason": "重复录入"}, headers=bearer(captain))
    await step(client, captain, did, "demobilising", at=(start + timedelta(hours=5)).isoformat())
    await close(client, captain, did, at=(start + timedelta(hours=6)).isoformat(), note="被困牧民全部转移安置。",
                returns=[{"asset_tag": "CF-WNT-ROPE-002", "condition": "damaged", "note": "绳皮磨损"}])
    return {"id": did, "incident": incident, "team": team}, captain, {"start": start}


async def test_the_report_tells_the_deployment_in_chinese(client, make_user) -> None:
    deployment, captain, _ = await _closed_deployment(client, make_user)
    did = deployment["id"]
    data = (await client.get(f"/api/v1/deployments/{did}/report", headers=bearer(captain))).json()
    assert data["deployment"]["rescued"] == 3 and data["deployment"]["treated"] == 2 and float(data["total_hours"]) == 12.0
    markdown = await client.get(f"/api/v1/deployments/{did}/report.md", headers=bearer(captain))
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert f'deployment-{did}-report.md' in markdown.headers["content-disposition"]
    text = markdown.text
    assert text.startswith("# 救援行动报告：白音套海嘎查暴雪围困牧民")
    for expected in ("**事件类型**：白灾（雪灾）", "**事件级别**：较大（Ⅲ级）", "**请求单位**：翁牛特旗应急管理局", "**救出人数**：3 人",
                     "**救治人数**：2 人", "**出动人数**：2 人", "**志愿服务时长合计**：12 小时", "翁牛特旗红十字应急救援队",
                     "| 集结出发 |", "两车出发", "从被困车辆中救出牧民 3 人", "河面冰层开裂 \\| 禁止车辆通行", "请求调拨棉帐篷（数量 20）",
                     "另有 1 条记录已由记录人撤销", "| CF-WNT-ROPE-002 | 静力绳（50 米）", "损坏", "被困牧民全部转移安置。", "| 6 |"):
        assert expected in text, expected
    assert "误录" not in text  # a voided entry is left out of the report
    pdf = await client.get(f"/api/v1/deployments/{did}/report.pdf", headers=bearer(captain))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf.content))
    assert reader.metadata.title == "救援行动报告：白音套海嘎查暴雪围困牧民"
    pdf_text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    for expected in ("救援行动报告", "白灾（雪灾）", "翁牛特旗应急管理局", "从被困车辆中救出牧民", "河面冰层开裂", "被困牧民全部转移安置"):
        assert expected in pdf_text, expected
    assert "误录" not in pdf_text


async def test_an_open_deployment_reports_the_situation_so_far(client, make_user) -> None:
    team = await make_team(members=1)
    _, captain = await make_user("captain", team=TEAM)
    did = (await dispatch(client, captain, (await open_incident(client, captain))["id"], person_ids=team["people"]))["id"]
    await to_demobilising(client, captain, did)
    markdown = (await client.get(f"/api/v1/deployments/{did}/report.md", headers=bearer(captain))).text
    assert markdown.startswith("# 救援行动情况报告：") and "**行动状态**：撤离返回" in markdown and "仍在行动" in markdown
    assert "## 三、现场记录\n\n无" in markdown and "## 七、总结\n\n无" in markdown
    _, outsider = await make_user("captain", team=(await make_team("BT-DH-01", unit="150202"))["code"])
    assert (await client.get(f"/api/v1/deployments/{did}/report.pdf", headers=bearer(outsider))).status_code == 404
