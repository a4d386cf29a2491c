"""The deployment report (救援行动报告) of one team on one incident, as Simplified Chinese Markdown or an A4 PDF.

Pure functions of a ``DeploymentReport``: both formats are built from the same sections below, so they say the same.
While the deployment is open it is a situation report as of its generation time.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from rescueops import markdown as md
from rescueops import pdf as doc
from rescueops.calendar import china_time
from rescueops.deployments.schemas import DeploymentReport
from rescueops.deployments.tables import DeploymentStatus, LogKind
from rescueops.equipment.tables import ReturnCondition
from rescueops.pdf import cjk_font

TITLE = "救援行动报告"
INTERIM = "救援行动情况报告"
NONE = "无"

STATUS_ZH = {
    DeploymentStatus.alerted: "接令待命",
    DeploymentStatus.mobilising: "集结出发",
    DeploymentStatus.on_scene: "到达现场",
    DeploymentStatus.demobilising: "撤离返回",
    DeploymentStatus.closed: "行动结束",
}
LOG_ZH = {
    LogKind.arrival: "到达",
    LogKind.task: "任务",
    LogKind.rescued: "救出",
    LogKind.treated: "救治",
    LogKind.hazard: "险情",
    LogKind.resource_request: "资源需求",
    LogKind.demobilisation: "撤离",
    LogKind.note: "备注",
}
CONDITION_ZH = {ReturnCondition.ok: "完好", ReturnCondition.damaged: "损坏", ReturnCondition.lost: "丢失"}

Row = list[str]


def title(report: DeploymentReport) -> str:
    return TITLE if report.deployment.status is DeploymentStatus.closed else INTERIM


def _time(moment: datetime | None) -> str:
    return china_time(moment) or "—"


def _hours(hours: Decimal) -> str:
    return f"{hours.normalize():f}"


def _facts(report: DeploymentReport) -> list[tuple[str, str]]:
    incident, deployment = report.incident, report.deployment
    place = f"{incident.place}（{incident.unit_name_zh}）"
    if incident.lat is not None and incident.lon is not None:
        place += f"，北纬 {incident.lat:.4f}°、东经 {incident.lon:.4f}°"
    facts = [
        ("事件名称", incident.title),
        ("事件类型", incident.kind_zh),
        ("事件级别", incident.severity_zh),
        ("发生地点", place),
        ("请求单位", incident.requesting_authority or "—"),
        ("事件发生时间", _time(incident.started_at)),
        ("出动队伍", f"{deployment.team_name}（{deployment.team_code}）"),
        ("行动状态", STATUS_ZH[deployment.status]),
        ("接令时间", _time(deployment.started_at)),
        ("到达现场", _time(deployment.on_scene_at)),
        ("撤离时间", _time(deployment.demobilising_at)),
        ("结束时间", _time(deployment.closed_at)),
        ("出动人数", f"{deployment.people} 人"),
        ("救出人数", f"{deployment.rescued} 人"),
        ("救治人数", f"{deployment.treated} 人"),
        ("志愿服务时长合计", f"{_hours(report.total_hours)} 小时"),
    ]
    if deployment.source:
        facts.insert(7, ("任务来源", deployment.source))
    return facts


def _course(report: DeploymentReport) -> tuple[Row, list[Row]]:
    rows = [[str(n), _time(t.at), STATUS_ZH[t.to_status], t.by_name, t.note or ""]
            for n, t in enumerate(report.deployment.transitions, 1)]
    return ["序号", "时间", "状态", "记录人", "说明"], rows


def _standing(report: DeploymentReport):
    """The log entries that stand, in time order (voided ones are left out and counted)."""
    return sorted((e for e in report.deployment.log if e.voided_at is None), key=lambda e: (e.occurred_at, e.id))


def _voided(report: DeploymentReport) -> int:
    return sum(1 for e in report.deployment.log if e.voided_at is not None)


def _log(report: DeploymentReport) -> tuple[Row, list[Row]]:
    rows = [[str(n), _time(e.occurred_at), LOG_ZH[e.kind], e.text or "—", str(e.count) if e.count else "", e.recorded_by_name]
            for n, e in enumerate(_standing(report), 1)]
    return ["序号", "时间", "类别", "内容", "人数/数量", "记录人"], rows


def _concerns(report: DeploymentReport) -> list[str]:
    """Hazards met and resources asked for, for whoever plans the next response."""
    found = []
    for e in _standing(report):
        if e.kind in (LogKind.hazard, LogKind.resource_request):
            quantity = f"（数量 {e.count}）" if e.count else ""
            found.append(f"{china_time(e.occurred_at)} {LOG_ZH[e.kind]}：{e.text}{quantity}")
    return found


def _members(report: DeploymentReport) -> tuple[Row, list[Row]]:
    until = "随队结束" if report.deployment.status is DeploymentStatus.closed else "仍在行动"
    rows = [[str(n), m.name, _time(m.added_at), _time(m.released_at) if m.released_at else until, _hours(m.hours)]
            for n, m in enumerate(report.deployment.members, 1)]
    return ["序号", "姓名", "加入时间", "离开时间", "服务时长（小时）"], rows


def _equipment(report: DeploymentReport) -> tuple[Row, list[Row]]:
    rows = [[str(n), i.asset_tag, i.type_name_zh, _time(i.out_at), _time(i.returned_at) if i.returned_at else "未归还",
             CONDITION_ZH[i.condition] if i.condition else "—"]
            for n, i in enumerate(report.deployment.equipment, 1)]
    return ["序号", "资产编号", "名称", "出库时间", "归还时间", "状况"], rows


def _generated(report: DeploymentReport) -> str:
    return f"报告生成时间：{china_time(report.generated_at)}（北京时间）"


def _voided_note(report: DeploymentReport) -> list[str]:
    count = _voided(report)
    return [f"另有 {count} 条记录已由记录人撤销，未列入上表及统计。"] if count else []


# Markdown


def markdown(report: DeploymentReport) -> str:
    lines = [f"# {title(report)}：{md.text(report.incident.title)}", "", f"**{md.text(report.deployment.team_name)}**", "",
             "## 一、基本情况", ""]
    lines += [md.item(f"**{label}**：{md.text(value)}") for label, value in _facts(report)]
    lines += ["", "## 二、行动经过", "", *md.table(*_course(report))]
    lines += ["", "## 三、现场记录", "", *md.table(*_log(report)), *(["", *_voided_note(report)] if _voided(report) else [])]
    lines += ["", "## 四、险情与资源需求", ""]
    lines += [md.item(md.text(text)) for text in _concerns(report)] or [NONE]
    lines += ["", "## 五、出动队员与服务时长", "", *md.table(*_members(report))]
    lines += ["", "## 六、装备", "", *md.table(*_equipment(report))]
    lines += ["", "## 七、总结", "", md.text(report.deployment.closing_note.strip()) or NONE]
    lines += ["", "---", "", _generated(report), ""]
    return "\n".join(lines)


# PDF


def pdf(report: DeploymentReport) -> bytes:
    styles = doc.report_styles(cjk_font())
    heading, body = styles["heading"], styles["body"]
    story = [
        doc.para(title(report), styles["title"]),
        doc.para(f"{report.incident.title} · {report.deployment.team_name}", styles["subtitle"]),
        doc.para("一、基本情况", heading),
        doc.table(["项目", "内容"], [[label, value] for label, value in _facts(report)], [1, 4], styles),
        doc.para("二、行动经过", heading),
        doc.table(*_course(report), [7, 20, 14, 16, 43], styles),
        doc.para("三、现场记录", heading),
        doc.table(*_log(report), [7, 18, 10, 43, 10, 12], styles),
        *[doc.para(text, body) for text in _voided_note(report)],
        doc.para("四、险情与资源需求", heading),
        *doc.bullets(_concerns(report), styles),
        doc.para("五、出动队员与服务时长", heading),
        doc.table(*_members(report), [7, 15, 26, 26, 16], styles),
        doc.para("六、装备", heading),
        doc.table(*_equipment(report), [7, 20, 20, 20, 20, 10], styles),
        doc.para("七、总结", heading),
        doc.para(report.deployment.closing_note.strip() or NONE, body),
        doc.para(_generated(report), styles["note"]),
    ]
    name = f"{title(report)}：{report.incident.title}"
    return doc.build(story, title=name, footer=title(report))
