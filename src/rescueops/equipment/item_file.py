"""Equipment spreadsheets: the template for registering a team's or depot's items and kits, and reading it."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from rescueops import spreadsheets

# (key, Chinese header, required, hint)
COLUMNS = [
    ("asset_tag", "资产标签号", True, "大写字母、数字和 -，如 CF-WNT-BOAT-001"),
    ("type", "装备类型", True, "类型名称或代码，如 冲锋舟（充气式）"),
    ("serial_number", "序列号", False, ""),
    ("storage_location", "存放位置", False, ""),
    ("acquired_on", "购置日期", False, "2024-03-15"),
    ("cost", "金额（元）", False, ""),
    ("funding", "资金来源", False, "财政 / 捐赠 / 项目"),
    ("expires_on", "有效期至", False, "留空按类型保质期"),
    ("notes", "备注", False, ""),
    ("kit_template", "套装模板", False, "登记箱组时填写模板名称或代码（如 绳索救援组）：这一行就是箱组本身，装备类型留空或填 装备箱组"),
    ("kit", "所属套装", False, "装入哪个箱组：填写箱组的资产标签号（本表中登记的，或本单位已登记的）"),
]
HEADER_OF = {key: header for key, header, _, _ in COLUMNS}
BY_HEADER = {header: key for key, header, _, _ in COLUMNS} | {key: key for key, *_ in COLUMNS}
FUNDING = {"财政": "fiscal", "捐赠": "donation", "项目": "project", "fiscal": "fiscal", "donation": "donation", "project": "project"}


def read(filename: str, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Rows as {column key: cell value}; raises SpreadsheetError for a file that cannot be read as a whole."""
    table = [(n, row) for n, row in spreadsheets.table(filename, content) if any(v not in (None, "") for v in row)]
    if not table:
        raise spreadsheets.SpreadsheetError("the file is empty")
    keys = [BY_HEADER.get(str(v or "").strip().rstrip("*").strip()) for v in table[0][1]]
    unknown = [str(v) for v, k in zip(table[0][1], keys, strict=False) if v not in (None, "") and k is None]
    missing = [header for key, header, required, _ in COLUMNS if required and key not in keys]
    if missing or unknown:
        parts = ([f"missing columns: {', '.join(missing)}"] if missing else []) + ([f"unknown columns: {', '.join(unknown)}"] if unknown else [])
        raise spreadsheets.SpreadsheetError("wrong headers — " + "; ".join(parts) + ". Use the template's first row.")
    return [(n, {k: v for k, v in zip(keys, row, strict=False) if k and v not in (None, "")}) for n, row in table[1:]]


def template() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "装备登记"
    sheet.append([f"{header}*" if required else header for _, header, required, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FDECEE")
    notes = book.create_sheet("填写说明")
    notes.append(["列", "必填", "说明"])
    for _, header, required, hint in COLUMNS:
        notes.append([header, "是" if required else "", hint])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
