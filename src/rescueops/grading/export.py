"""The readiness dashboard's tables as an .xlsx workbook (Chinese headers, like the other exports)."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook

from rescueops import spreadsheets
from rescueops.grading.schemas import DashboardOut, ReadinessOut

STATES = {"ready": "就绪", "partial": "部分就绪", "not_ready": "未就绪"}
LEVELS = (1, 2, 3, None)


def _level(level: int | None) -> str:
    return f"{level} 级" if level else "未定级"


def _team(row: ReadinessOut, categories: dict[str, str], leagues: dict[str, str]) -> list[Any]:
    return [row.team_code, row.team_name, leagues.get(row.league_code, row.league_code), categories.get(row.category, row.category)]


def workbook(dashboard: DashboardOut, categories: dict[str, str], leagues: dict[str, str]) -> bytes:
    """Four sheets: teams by category × level × league, grades expiring within 90 days, teams below their grade, all teams."""
    book = Workbook()
    book.remove(book.active)
    table: dict[tuple[str, str], dict[int | None, int]] = {}
    for count in dashboard.counts:
        table.setdefault((count.category, count.league_code), {})[count.level] = count.teams
    spreadsheets.add_sheet(book, "类别×等级×盟市", ["类别", "盟市", "一级", "二级", "三级", "未定级", "合计"], (
        [categories.get(c, c), leagues.get(lg, lg), *(cells.get(level, 0) for level in LEVELS), sum(cells.values())]
        for (c, lg), cells in sorted(table.items())))
    spreadsheets.add_sheet(book, "90天内到期", ["队伍代码", "队伍", "盟市", "类别", "等级", "有效期至"], (
        [*_team(r, categories, leagues), _level(r.granted_level), r.grade_valid_until] for r in dashboard.expiring))
    spreadsheets.add_sheet(book, "低于授予等级", ["队伍代码", "队伍", "盟市", "类别", "授予等级", "按记录符合", "差距"], (
        [*_team(r, categories, leagues), _level(r.granted_level), _level(r.eligible_level), "；".join(g.text_zh for g in r.gap)]
        for r in dashboard.below_grade))
    spreadsheets.add_sheet(book, "全部队伍", ["队伍代码", "队伍", "盟市", "类别", "区域", "就绪状态", "就绪分", "可用人员", "在队队员", "齐备箱组",
                              "箱组", "在用装备", "装备", "最近演练", "授予等级", "按记录符合", "有效期至"], (
        [*_team(r, categories, leagues), r.region, STATES[r.state], r.score, r.people_available, r.members_active, r.kits_ready,
         r.kits_total, r.equipment_in_service, r.equipment_total, r.last_drill_on, _level(r.granted_level) if r.grade_status == "active" else "",
         _level(r.eligible_level), r.grade_valid_until] for r in dashboard.rows))
    return spreadsheets.workbook_bytes(book)
