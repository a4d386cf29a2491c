"""Yearly allocation tables (任务分配表) as spreadsheets: reading an upload cell by cell, the template, the exports.

The shape is the Jiangyin 2022 table (seed 001, annex 3): 序号 / 单位 / 持证培训总数（名）/ 初级救护员（名）/ 普及培训（名）,
one line per town, department or sector, and a 合计 row. Reading only turns cells into numbers and says, per row and
column, what is wrong; the service matches the lines to units, organisations and sectors and decides what is written.
The reading itself (size, format, merged cells) and the formula-safe writing are rescueops.spreadsheets'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from rescueops import spreadsheets
from rescueops.training.tables import Sector

TargetsFileError = spreadsheets.SpreadsheetError

# The columns, as the Jiangyin table heads them (the English key is accepted as a header too).
LABEL, CERTIFIED, JUNIOR, AWARENESS = "label", "certified", "junior", "awareness"
HEADERS = {
    LABEL: "单位",
    CERTIFIED: "持证培训总数（名）（救护员、初级救护员、CPR+AED培训）",
    JUNIOR: "初级救护员（名）",
    AWARENESS: "普及培训（名）",
}
SHORT = {LABEL: "单位", CERTIFIED: "持证培训总数", JUNIOR: "初级救护员", AWARENESS: "普及培训"}
NUMBERS = (CERTIFIED, JUNIOR, AWARENESS)
TOTAL_LABELS = {"合计", "总计", "小计合计"}
# Rows that are notes, not lines: "备注：2023年、2024年应急救护培训任务分配表另行制定。"
NOTE_PREFIXES = ("备注", "注：", "注:", "说明")

# Which sector a line names, when it names no unit or organisation: the departments and places of the Jiangyin table
# and its "六进" (seed 001), the ten "救在身边" actions (seed 000, by their short names; "救在身边·" and "行动" are
# dropped before the look-up) and the lead departments seed 000 names for them. Documented in docs/training.md.
SECTOR_LINES: dict[str, Sector] = {
    # Jiangyin 2022 table, annex 3, lines 18–20, and the 六进 places
    "教育局": Sector.schools, "教育": Sector.schools, "学校": Sector.schools, "各级各类学校": Sector.schools,
    "机关事业单位": Sector.agencies, "机关": Sector.agencies, "事业单位": Sector.agencies,
    "企业": Sector.companies, "社区": Sector.communities, "农村": Sector.villages, "家庭": Sector.families,
    "进机关": Sector.agencies, "进学校": Sector.schools, "进社区": Sector.communities, "进农村": Sector.villages,
    "进企业": Sector.companies, "进家庭": Sector.families,
    # the ten 救在身边 actions
    "校园守护": Sector.campus, "交通伴行": Sector.transport, "机关先行": Sector.government, "景区守护": Sector.scenic,
    "安全生产": Sector.workplace_safety, "体育伴行": Sector.sports, "志愿同行": Sector.volunteers, "安老护老": Sector.elderly_care,
    "救援先锋": Sector.rescue_forces, "边疆守护": Sector.border_police,
    # the departments leading them (seed 000, the first named per action)
    "交通运输局": Sector.transport, "文化旅游体育局": Sector.scenic, "应急管理局": Sector.workplace_safety,
    "民政局": Sector.elderly_care, "公安局": Sector.border_police, "消防救援大队": Sector.rescue_forces,
    "红十字会": Sector.volunteers,
}

# What a sector line counts: its own sector, and for the 六进 places the 救在身边 action that reaches the same people
# (a school session may be filed under 进学校 or under 校园守护; the 教育局 line counts both).
SECTOR_FAMILIES: dict[Sector, tuple[Sector, ...]] = {
    Sector.schools: (Sector.schools, Sector.campus),
    Sector.agencies: (Sector.agencies, Sector.government),
    Sector.companies: (Sector.companies, Sector.workplace_safety),
}


# Sector names in the Chinese exports.
SECTOR_ZH = {
    Sector.campus: "校园守护", Sector.transport: "交通伴行", Sector.government: "机关先行", Sector.scenic: "景区守护",
    Sector.workplace_safety: "安全生产", Sector.sports: "体育伴行", Sector.volunteers: "志愿同行", Sector.elderly_care: "安老护老",
    Sector.rescue_forces: "救援先锋", Sector.border_police: "边疆守护", Sector.agencies: "进机关", Sector.schools: "进学校",
    Sector.communities: "进社区", Sector.villages: "进农村", Sector.companies: "进企业", Sector.families: "进家庭", Sector.other: "其他",
}
SECTOR_ZH = {**SECTOR_ZH, **{sector.value: name for sector, name in SECTOR_ZH.items()}}


def family(sector: Sector) -> tuple[Sector, ...]:
    return SECTOR_FAMILIES.get(sector, (sector,))


def normalise(text: Any) -> str:
    """A label as compared: no white space (the table pads names with full-width spaces), ASCII brackets as Chinese."""
    return re.sub(r"\s+", "", str(text or "")).replace("(", "（").replace(")", "）")


def sector_of(label: str) -> Sector | None:
    name = normalise(label).strip("“”\"'")
    name = name.removeprefix("救在身边").lstrip("·•・.").removesuffix("行动").strip("“”\"'")
    if name in SECTOR_LINES:
        return SECTOR_LINES[name]
    try:
        return Sector(name)  # the English key: schools, campus…
    except ValueError:
        return None


def _column_of(header: Any) -> str | None:
    text = normalise(header).rstrip("*").lower()
    if not text:
        return None
    if text in HEADERS:
        return text
    if text.startswith("持证"):
        return CERTIFIED
    if text.startswith("初级救护员"):
        return JUNIOR
    if text.startswith("普及"):
        return AWARENESS
    if text in ("单位", "单位名称", "任务单位", "地区/部门", "部门"):
        return LABEL
    return None


@dataclass
class Line:
    row: int
    label: str
    values: dict[str, int] = field(default_factory=dict)


@dataclass
class ParsedTable:
    lines: list[Line]
    total: Line | None = None  # the 合计 row, when the file has one
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column header, message)


def _number(value: Any) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not a number")
    if isinstance(value, float):
        raise ValueError(f"{value:g} is not a whole number of people")
    text = str(value).replace(",", "").replace("，", "").strip()
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        number = int(float(text))
        if number < 0:
            raise ValueError(f"{number} is negative")
        return number
    if re.fullmatch(r"[+-]?\d*\.\d+", text):
        raise ValueError(f"{text} is not a whole number of people")
    raise ValueError(f"'{text}' is not a number")


def read(filename: str, content: bytes) -> ParsedTable:
    """The table's lines with their numbers, problems per cell, and the 合计 row checked against the lines' sum."""
    table = [(n, row) for n, row in spreadsheets.table(filename, content) if any(v not in (None, "") for v in row)]
    header_at = next((i for i, (_, row) in enumerate(table[:10]) if LABEL in [_column_of(v) for v in row]), None)
    if header_at is None:
        raise TargetsFileError("no header row with a 单位 column (use the template: 序号 / 单位 / 持证培训总数（名）/ "
                               "初级救护员（名）/ 普及培训（名）)")
    keys = [_column_of(v) for v in table[header_at][1]]
    missing = [SHORT[k] for k in (LABEL, *NUMBERS) if k not in keys]
    if missing:
        raise TargetsFileError(f"missing columns: {', '.join(missing)}. Use the template's header row.")
    duplicated = sorted({SHORT[k] for k in keys if k and keys.count(k) > 1})
    if duplicated:
        raise TargetsFileError(f"columns given twice: {', '.join(duplicated)}")
    parsed = ParsedTable(lines=[])
    for number, row in table[header_at + 1:]:
        cells = {key: value for key, value in zip(keys, row, strict=False) if key}
        label = normalise(cells.get(LABEL))
        if not label and any(normalise(v) in TOTAL_LABELS for v in row):  # 合计 written under 序号 (the cells were merged)
            label = next(normalise(v) for v in row if normalise(v) in TOTAL_LABELS)
            cells[LABEL] = label
        if not label:
            if any(cells.get(k) not in (None, "") for k in NUMBERS):
                parsed.problems.append((number, SHORT[LABEL], "a row with numbers needs the unit, department or sector it is for"))
            continue
        if label.startswith(NOTE_PREFIXES) and all(cells.get(k) in (None, "") for k in NUMBERS):
            continue
        line = Line(row=number, label=str(cells.get(LABEL)).strip())
        total = label in TOTAL_LABELS
        for key in NUMBERS:
            if total and cells.get(key) in (None, ""):
                continue  # a 合计 cell left blank is not checked
            try:
                line.values[key] = _number(cells.get(key))
            except ValueError as error:
                parsed.problems.append((number, SHORT[key], str(error)))
        if total:
            if parsed.total is not None:
                parsed.problems.append((number, SHORT[LABEL], f"a second 合计 row (the first is row {parsed.total.row})"))
            parsed.total = line
            continue
        if len(line.label) > 100:
            parsed.problems.append((number, SHORT[LABEL], "longer than 100 characters"))
        if len(line.values) == len(NUMBERS) and line.values[JUNIOR] > line.values[CERTIFIED]:
            parsed.problems.append((number, SHORT[JUNIOR], f"{line.values[JUNIOR]} junior first-aiders is more than the "
                                                            f"{line.values[CERTIFIED]} certificates they are part of"))
        parsed.lines.append(line)
    if parsed.total is not None:
        for key in NUMBERS:
            given = parsed.total.values.get(key)
            if given is None:
                continue
            summed = sum(line.values.get(key, 0) for line in parsed.lines)
            if given != summed:
                parsed.problems.append((parsed.total.row, SHORT[key], f"the 合计 row says {given} but the lines add up to {summed}"))
    return parsed


def _header_style(sheet: Any, widths: list[int]) -> None:
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FDECEE")
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width


def template(year: int, unit_name: str, lines: list[str]) -> bytes:
    """The Jiangyin-shaped table for ``unit_name``'s ``year``, its lines named and the numbers left to fill in."""
    book = Workbook()
    sheet = book.active
    sheet.title = "任务分配表"
    spreadsheets.append(sheet, [f"{unit_name}{year}年应急救护培训任务分配表"])
    sheet["A1"].font = Font(bold=True, size=14)
    spreadsheets.append(sheet, ["序号", HEADERS[LABEL], HEADERS[CERTIFIED], HEADERS[JUNIOR], HEADERS[AWARENESS]])
    _header_style(sheet, [8, 28, 36, 18, 18])
    for number, label in enumerate(lines, start=1):
        spreadsheets.append(sheet, [number, label, None, None, None])
    spreadsheets.append(sheet, [None, "合计", None, None, None])
    notes = book.create_sheet("填写说明")
    for row in (
        ["列", "说明"],
        ["单位", "下级红十字会（旗县区、盟市）的名称、已登记的单位名称，或部门/领域：教育局、机关事业单位、企业，"
                 "“救在身边”十个专项行动（校园守护、交通伴行、机关先行、景区守护、安全生产、体育伴行、志愿同行、安老护老、救援先锋、边疆守护）"],
        ["持证培训总数（名）", "救护员、初级救护员、CPR+AED 培训取证人数，整数，不小于 0"],
        ["初级救护员（名）", "其中初级救护员人数，不大于持证培训总数"],
        ["普及培训（名）", "普及培训人次，整数"],
        ["合计", "可留空；填写时须等于各行之和"],
    ):
        spreadsheets.append(notes, row)
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 100
    return spreadsheets.workbook_bytes(book)
