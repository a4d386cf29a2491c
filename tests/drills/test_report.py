from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from pypdf import PdfReader

from rescueops import pdf as shared_pdf
from rescueops.drills import report
from rescueops.drills.library import DrillType, EquipmentNeed
from rescueops.drills.schemas import (
    AfterActionReport,
    AttendanceOut,
    ClockOut,
    DrillOut,
    ImprovementOut,
    ObjectiveResult,
    TeamRef,
)
from rescueops.drills.tables import DrillStatus, ImprovementStatus, Rating
from rescueops.errors import InvalidInput
from rescueops.orgs.schemas import UnitRef
from rescueops.orgs.tables import OrgKind

TITLE = "西拉木伦河冰面救援培训"
WNT = TeamRef(code="CF-WNT-01", name_zh="翁牛特旗红十字应急救援队")
HS = TeamRef(code="CF-HS-01", name_zh="红山区红十字水上救援队")


def _report() -> AfterActionReport:
    start = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 in Chifeng
    drill = DrillOut(
        id=7, title=TITLE, scenario_id="water-ice-rescue", scenario_version=2, scenario_title_zh="冰面落水人员救援",
        type=DrillType.training_course, organiser_unit_code="150426", organiser_unit_name_zh="翁牛特旗红十字会",
        organiser_team=WNT, starts_at=start, ends_at=start + timedelta(hours=3), place="西拉木伦河海日苏段",
        lat=43.0, lon=119.2, teams=[WNT, HS], other_participants=["翁牛特旗消防救援大队", "旗人民医院"],
        units=[UnitRef(code="150400", name_zh="赤峰市", name_en="Chifeng", kind=OrgKind.league),
               UnitRef(code="220000", name_zh="吉林省", name_en="Jilin", kind=OrgKind.partner_province)],
        expected_participants=20, equipment=[EquipmentNeed(type="inflatable_boat", quantity=2)],
        status=DrillStatus.ended, series_id=None, cancel_reason="", called_at=start - timedelta(minutes=40),
        assembled_at=start - timedelta(minutes=12), mobilisation_minutes=28.0,
        clock=ClockOut(started_at=start, paused=False, elapsed_minutes=180), checked_in=3,
    )
    results = [
        ObjectiveResult(objective_id="o1", title_zh="冰面安全评估", capability_zh="水上救援",
                        criteria=["测量冰厚"], rating=Rating.P, observations="冰厚测量规范。"),
        ObjectiveResult(objective_id="o2", title_zh="抛绳救援", capability_zh="水上救援",
                        criteria=["3 次内抛中"], rating=Rating.S, observations="第二次抛中 | 风大影响准度"),
        ObjectiveResult(objective_id="o3", title_zh="10 分钟内救出落水者", capability_zh="水上救援",
                        criteria=["≤10 分钟"], rating=Rating.U, observations="冰橇绳索缠绕，耗时过长。",
                        automatic="从入水到救出 14.5 分钟（目标 10 分钟）"),
    ]
    attendance = [
        AttendanceOut(person_id=1, name="包海龙", team_code="CF-WNT-01", role="救援组长",
                      checked_in_at=start - timedelta(minutes=20), checked_out_at=None, late=False, method="card"),
        AttendanceOut(person_id=2, name="乌日娜", team_code="CF-HS-01", role=None,
                      checked_in_at=start - timedelta(minutes=10), checked_out_at=None, late=False, method="roll_call"),
        AttendanceOut(person_id=3, name="张建国", team_code="CF-WNT-01", role=None,
                      checked_in_at=start + timedelta(minutes=15), checked_out_at=None, late=True, method="card"),
    ]
    improvements = [
        ImprovementOut(id=1, drill_id=7, drill_title=TITLE, objective_id="o3", action="每月开展冰橇绳索收放训练",
                       owner="包海龙", due_on=date(2027, 1, 15), status=ImprovementStatus.open, overdue=False,
                       closed_at=None, closing_note=""),
        ImprovementOut(id=2, drill_id=7, drill_title=TITLE, objective_id="o2", action="配备加重抛绳包",
                       owner="乌日娜", due_on=date(2026, 12, 20), status=ImprovementStatus.closed, overdue=False,
                       closed_at=datetime(2026, 12, 18, 6, 0, tzinfo=UTC), closing_note="已采购 4 个"),
    ]
    return AfterActionReport(
        drill=drill, scenario_setting_zh="冬季一名牧民驾车误入薄冰区落水，\n需从冰面实施救援。",
        evaluators=["王志强", "其木格"], attendance=attendance, results=results,
        strengths=["队员个人防护装备穿戴迅速规范。"], improvements=improvements,
        generated_at=datetime(2026, 12, 6, 20, 30, tzinfo=timezone(timedelta(hours=-5))),
    )


def test_the_markdown_report() -> None:
    text = report.markdown(_report())
    assert text.startswith(f"# 演练评估总结报告：{TITLE}\n")
    assert "**演练类型**：培训课程" in text and "**评估人员**：王志强、其木格" in text
    assert "**参演单位**：赤峰市、吉林省" in text and "**其他参与单位**：翁牛特旗消防救援大队、旗人民医院" in text
    assert "**签到人数**：3 人（其中迟到 1 人）" in text and "**集结用时**：28 分钟" in text
    assert "**演练时间**：2026-12-05 09:00—12:00" in text  # 01:00 UTC shown in China Standard Time
    assert "报告生成时间：2026-12-07 09:30" in text  # from UTC-5
    assert "| 1 | 冰面安全评估 | 水上救援 | P 无挑战完成 | 冰厚测量规范。 | — |" in text
    assert "S 有一定挑战完成 | 第二次抛中 \\| 风大影响准度 |" in text
    assert "U 未能完成" in text and "从入水到救出 14.5 分钟（目标 10 分钟）" in text
    assert "- 队员个人防护装备穿戴迅速规范。" in text
    areas = text.split("## 五、需改进的方面")[1].split("## 六")[0]
    assert "抛绳救援" in areas and "10 分钟内救出落水者" in areas and "冰面安全评估" not in areas
    assert "| 1 | 每月开展冰橇绳索收放训练 | 10 分钟内救出落水者 | 包海龙 | 2027-01-15 | 未完成 |" in text
    assert "| 2 | 配备加重抛绳包 | 抛绳救援 | 乌日娜 | 2026-12-20 | 已完成 |" in text
    assert "| 3 | 张建国 | 翁牛特旗红十字应急救援队 | — | 2026-12-05 09:15 | 迟到 |" in text
    assert "| 1 | 包海龙 | 翁牛特旗红十字应急救援队 | 救援组长 | 2026-12-05 08:40 |  |" in text


def test_empty_sections_say_none() -> None:
    empty = _report().model_copy(update={"strengths": [], "improvements": [], "attendance": []})
    text = report.markdown(empty)
    assert "## 四、优点与经验\n\n无\n" in text and "## 六、改进计划\n\n无\n" in text and "## 七、签到名单\n\n无\n" in text


def test_the_pdf_report_prints_chinese() -> None:
    content = report.pdf(_report())
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    # Lines wrap anywhere in Chinese: compare without the line breaks.
    text = "".join("".join(page.extract_text() for page in reader.pages).split())
    assert "演练评估总结报告" in text and TITLE in text
    assert "抛绳救援" in text and "包海龙" in text and "未能完成" in text and "迟到" in text
    assert "第二次抛中|风大影响准度" in text  # the Markdown escape stays out of the PDF


def test_pdf_text_is_escaped() -> None:
    risky = _report()
    risky.results[0].observations = "冰厚 <10 cm & 有裂缝 <b>"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(report.pdf(risky))).pages)
    assert "<10 cm & 有裂缝 <b>" in text


def test_a_missing_font_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(shared_pdf, "get_settings", lambda: SimpleNamespace(cjk_font=Path("/nowhere/font.ttc")))
    shared_pdf.cjk_font.cache_clear()
    try:
        with pytest.raises(InvalidInput) as error:
            report.pdf(_report())
    finally:
        shared_pdf.cjk_font.cache_clear()  # the next PDF registers the real font again
    assert error.value.code == "no_cjk_font" and "/nowhere/font.ttc" in str(error.value)
