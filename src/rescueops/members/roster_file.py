"""Roster spreadsheets: the template, reading .xlsx/.csv uploads row by row, and writing exports.

Reading only turns cells into field values and says, per row and column, what is wrong; the
service decides what is written. Headers are Chinese (with the English key accepted too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from rescueops import spreadsheets


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    hint: str = ""


COLUMNS = [
    Column("name", "姓名", True),
    Column("gender", "性别", True, "男 / 女"),
    Column("id_number", "身份证号", True, "18 位"),
    Column("birth_date", "出生日期", False, "留空则取自身份证号"),
    Column("phone", "手机号"),
    Column("blood_type", "血型", False, "A / B / AB / O"),
    Column("emergency_contact", "紧急联系人"),
    Column("emergency_phone", "紧急联系电话"),
    Column("rc_member_number", "红十字会员号"),
    Column("skills", "技能"),
    Column("languages", "语言", False, "汉语、蒙古语"),
    Column("status", "状态", False, "申请 / 见习 / 在队（默认在队）"),
    Column("joined_on", "入队日期", False, "默认今天"),
    Column("cert_type", "证书类型", False, "如 红十字救护员证"),
    Column("cert_number", "证书编号"),
    Column("cert_issued_on", "发证日期"),
    Column("cert_expires_on", "证书有效期至", False, "留空按证书类型默认有效期"),
]
BY_HEADER = {c.header: c for c in COLUMNS} | {c.key: c for c in COLUMNS}
HEADER_OF = {c.key: c.header for c in COLUMNS}

GENDERS = {"男": "male", "女": "female", "male": "male", "female": "female", "m": "male", "f": "female"}
STATUSES = {"申请": "applicant", "见习": "probation", "在队": "active", "applicant": "applicant", "probation": "probation", "active": "active"}
LANGUAGE_NAMES = {"汉语": "zh", "中文": "zh", "蒙古语": "mn", "蒙语": "mn", "英语": "en", "俄语": "ru"}


# The roster's names for the shared reading pieces.
RosterFileError = spreadsheets.SpreadsheetError
parse_date = spreadsheets.parse_date


@dataclass
class ParsedFile:
    rows: list[tuple[int, dict[str, Any]]]  # (spreadsheet row number, raw values by column key)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column header, message)


def read(filename: str, content: bytes, columns: list[Column] | None = None) -> ParsedFile:
    """The rows of an upload under ``columns`` (the roster's by default; the training enrolment list passes its own)."""
    columns = columns or COLUMNS
    by_header = {c.header: c for c in columns} | {c.key: c for c in columns}
    header_of = {c.key: c.header for c in columns}
    table = [(n, row) for n, row in spreadsheets.table(filename, content) if any(v not in (None, "") for v in row)]
    if not table:
        raise RosterFileError("the file is empty")
    _, header_row = table[0]
    keys: list[str | None] = []
    unknown = []
    for value in header_row:
        header = str(value or "").strip().rstrip("*").strip()
        column = by_header.get(header)
        if header and column is None:
            unknown.append(header)
        keys.append(column.key if column else None)
    missing = [c.header for c in columns if c.required and c.key not in keys]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown columns: {', '.join(unknown)}")
        raise RosterFileError("wrong headers — " + "; ".join(parts) + ". Use the template's first row.")
    duplicated = sorted({k for k in keys if k and keys.count(k) > 1})
    if duplicated:
        raise RosterFileError(f"columns given twice: {', '.join(header_of[k] for k in duplicated)}")
    parsed = ParsedFile(rows=[])
    for number, row in table[1:]:
        values = {key: value for key, value in zip(keys, row, strict=False) if key and value not in (None, "")}
        parsed.rows.append((number, values))
    return parsed


def template(columns: list[Column] | None = None, title: str = "队员名册") -> bytes:
    """The import template: Chinese headers (required ones marked *), a hint row as a comment-like example."""
    columns = columns or COLUMNS
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append([f"{c.header}*" if c.required else c.header for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FDECEE")
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(12, len(column.header) * 2 + 4)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "必填", "说明"])
    for column in columns:
        notes.append([column.header, "是" if column.required else "", column.hint])
    return spreadsheets.workbook_bytes(book)


def write(rows: list[dict[str, Any]], fmt: str) -> bytes:
    headers = [c.header for c in COLUMNS]
    values = [[row.get(c.key, "") for c in COLUMNS] for row in rows]
    if fmt == "csv":
        return spreadsheets.csv_bytes([headers, *values])
    book = Workbook()
    sheet = book.active
    sheet.title = "队员名册"
    for row in [headers, *values]:
        spreadsheets.append(sheet, row)
    return spreadsheets.workbook_bytes(book)
