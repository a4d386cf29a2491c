"""The after-action report (演练评估总结报告) of one drill, as Simplified Chinese Markdown or an A4 PDF.

Pure functions of an ``AfterActionReport``: both formats are built from the same sections below, so they say the same.
"""

from __future__ import annotations

from datetime import datetime

from rescueops import markdown as md
from rescueops import pdf as doc
from rescueops.calendar import china_time
from rescueops.drills.library import DrillType
from rescueops.drills.schemas import AfterActionReport
from rescueops.drills.tables import ImprovementStatus, Rating

TITLE = "演练评估总结报告"
NONE = "无"

TYPE_ZH = {
    DrillType.training_course: "培训课程",
    DrillType.tabletop: "桌面推演",
    DrillType.drill: "单项演练",
    DrillType.functional: "功能演练",
    DrillType.full_scale: "综合实战演练",
}
RATING_ZH = {
    Rating.P: "无挑战完成",
    Rating.S: "有一定挑战完成",
    Rating.M: "有重大挑战完成",
    Rating.U: "未能完成",
    Rating.NO: "未观察",
}
NEEDS_IMPROVEMENT = (Rating.S, Rating.M, Rating.U)

Row = list[str]


def _span(start: datetime, end: datetime) -> str:
    first, last = china_time(start), china_time(end)
    if first[:10] == last[:10]:
        return f"{first}—{last[11:]}"
    return f"{first} 至 {last}"


def _rating(rating: Rating | None) -> str:
    return "未评定" if rating is None else f"{rating.value} {RATING_ZH[rating]}"


def _names(names: list[str]) -> str:
    return "、".join(names) or NONE


def _facts(report: AfterActionReport) -> list[tuple[str, str]]:
    drill = report.drill
    organiser = drill.organiser_unit_name_zh
    if drill.organiser_team is not None:
        organiser = f"{drill.organiser_team.name_zh}（{organiser}）"
    late = sum(1 for person in report.attendance if person.late)
    facts = [
        ("演练名称", drill.title),
        ("演练脚本", f"{drill.scenario_id} 第 {drill.scenario_version} 版《{drill.scenario_title_zh}》"),
        ("演练类型", TYPE_ZH[drill.type]),
        ("演练时间", _span(drill.starts_at, drill.ends_at)),
        ("演练地点", drill.place),
        ("组织单位", organiser),
        ("参演队伍", _names([team.name_zh for team in drill.teams])),
        ("参演单位", _names([unit.name_zh for unit in drill.units])),
        ("其他参与单位", _names(drill.other_participants)),
        ("评估人员", _names(report.evaluators)),
        ("签到人数", f"{len(report.attendance)} 人（其中迟到 {late} 人）"),
    ]
    if drill.mobilisation_minutes is not None:
        facts.append(("集结用时", f"{round(drill.mobilisation_minutes, 1):g} 分钟"))
    return facts


def _timed(report: AfterActionReport) -> bool:
    """Whether the results table needs the column of what the logged events show."""
    return any(result.automatic for result in report.results)


def _results(report: AfterActionReport) -> tuple[Row, list[Row]]:
    header = ["序号", "评估目标", "核心能力", "评定结果", "观察记录"]
    rows = [
        [str(number), result.title_zh, result.capability_zh, _rating(result.rating), result.observations or NONE]
        for number, result in enumerate(report.results, 1)
    ]
    if _timed(report):
        header.append("系统计时")
        for row, result in zip(rows, report.results, strict=True):
            row.append(result.automatic or "—")
    return header, rows


def _areas(report: AfterActionReport) -> list[tuple[str, str, str]]:
    """(objective, rating, observations) of the objectives done with challenges or not done."""
    return [
        (result.title_zh, _rating(result.rating), result.observations or "（无观察记录）")
        for result in report.results
        if result.rating in NEEDS_IMPROVEMENT
    ]


def _plan(report: AfterActionReport) -> tuple[Row, list[Row]]:
    objectives = {result.objective_id: result.title_zh for result in report.results}
    rows = []
    for number, item in enumerate(report.improvements, 1):
        if item.status == ImprovementStatus.closed:
            status = "已完成"
        else:
            status = "未完成（已逾期）" if item.overdue else "未完成"
        rows.append([str(number), item.action, objectives.get(item.objective_id, item.objective_id), item.owner,
                     item.due_on.isoformat(), status])
    return ["序号", "改进措施", "相关目标", "责任人", "完成期限", "状态"], rows


def _attendance(report: AfterActionReport) -> tuple[Row, list[Row]]:
    drill = report.drill
    teams = {team.code: team.name_zh for team in drill.teams}
    if drill.organiser_team is not None:
        teams.setdefault(drill.organiser_team.code, drill.organiser_team.name_zh)
    rows = [
        [str(number), person.name, teams.get(person.team_code, person.team_code), person.role or "—",
         china_time(person.checked_in_at), "迟到" if person.late else ""]
        for number, person in enumerate(sorted(report.attendance, key=lambda person: person.checked_in_at), 1)
    ]
    return ["序号", "姓名", "所属队伍", "角色", "签到时间", "备注"], rows


# Markdown


def markdown(report: AfterActionReport) -> str:
    lines = [f"# {TITLE}：{md.text(report.drill.title)}", "", "## 一、基本情况", ""]
    lines += [md.item(f"**{label}**：{md.text(value)}") for label, value in _facts(report)]
    lines += ["", "## 二、演练情景", "", report.scenario_setting_zh.strip() or NONE]
    lines += ["", "## 三、评估结果", "", *md.table(*_results(report))]
    lines += ["", "## 四、优点与经验", ""]
    lines += [md.item(md.text(text)) for text in report.strengths] or [NONE]
    lines += ["", "## 五、需改进的方面", ""]
    lines += [md.item(f"**{md.text(title)}**（{rating}）：{md.text(observations)}") for title, rating, observations in _areas(report)] or [NONE]
    lines += ["", "## 六、改进计划", "", *md.table(*_plan(report))]
    lines += ["", "## 七、签到名单", "", *md.table(*_attendance(report))]
    lines += ["", "---", "", f"报告生成时间：{china_time(report.generated_at)}（北京时间）", ""]
    return "\n".join(lines)


# PDF


def pdf(report: AfterActionReport) -> bytes:
    styles = doc.report_styles(doc.cjk_font())
    heading, body = styles["heading"], styles["body"]
    results = _results(report)
    story = [
        doc.para(TITLE, styles["title"]),
        doc.para(report.drill.title, styles["subtitle"]),
        doc.para("一、基本情况", heading),
        doc.table(["项目", "内容"], [[label, value] for label, value in _facts(report)], [1, 4], styles),
        doc.para("二、演练情景", heading),
        doc.para(report.scenario_setting_zh.strip() or NONE, body),
        doc.para("三、评估结果", heading),
        doc.table(*results, [7, 18, 12, 17, 28, 18][:len(results[0])], styles),  # the last: 系统计时, if any
        doc.para("四、优点与经验", heading),
        *doc.bullets(report.strengths, styles),
        doc.para("五、需改进的方面", heading),
        *doc.bullets([f"{title}（{rating}）：{observations}" for title, rating, observations in _areas(report)], styles),
        doc.para("六、改进计划", heading),
        doc.table(*_plan(report), [7, 30, 16, 10, 13, 15], styles),
        doc.para("七、签到名单", heading),
        doc.table(*_attendance(report), [7, 10, 24, 12, 17, 7], styles),
        doc.para(f"报告生成时间：{china_time(report.generated_at)}（北京时间）", styles["note"]),
    ]
    return doc.build(story, title=f"{TITLE}：{report.drill.title}", footer=TITLE)
