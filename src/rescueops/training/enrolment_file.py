"""Trainee lists (学员名单) as spreadsheets: the import template, reading an upload row by row, and the exports of the
session list, the class list and the attendance sheet.

Reading is the roster import's (members.roster_file, on rescueops.spreadsheets) with this file's columns; this module
only turns one row's cells into an enrolment and says per column what is wrong. The service decides what is written.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from pydantic import ValidationError

from rescueops import spreadsheets
from rescueops.members import roster_file
from rescueops.members.roster_file import Column, ParsedFile
from rescueops.training.schemas import EnrolIn

COLUMNS = [
    Column("name", "姓名", True),
    Column("gender", "性别", True, "男 / 女"),
    Column("id_number", "身份证号", True, "18 位；出生日期和性别取自身份证号"),
    Column("phone", "手机号", False, "11 位手机号或 0476-8888888 这样的座机"),
]
HEADER_OF = {c.key: c.header for c in COLUMNS}
SpreadsheetError = spreadsheets.SpreadsheetError


def read(filename: str, content: bytes) -> ParsedFile:
    """The rows of an uploaded trainee list; raises SpreadsheetError when the file as a whole cannot be read."""
    return roster_file.read(filename, content, COLUMNS)


def template() -> bytes:
    return roster_file.template(COLUMNS, "学员名单")


def to_enrolment(values: dict[str, Any]) -> tuple[EnrolIn | None, list[tuple[str, str]]]:
    """One row as an enrolment, or the problems as (column header, message)."""
    problems: list[tuple[str, str]] = []
    gender = str(values.get("gender", "")).strip().lower()
    if gender and gender not in roster_file.GENDERS:
        problems.append((HEADER_OF["gender"], f"'{values['gender']}': write 男 or 女"))
    for key in ("name", "gender", "id_number"):
        if key not in values:
            problems.append((HEADER_OF[key], "required"))
    if problems:
        return None, problems
    try:
        enrolment = EnrolIn(name=str(values["name"]), gender=roster_file.GENDERS[gender], id_number=str(values["id_number"]),
                            phone=str(values.get("phone", "")))
    except ValidationError as error:
        for item in error.errors():
            message = item["msg"].removeprefix("Value error, ")
            field, _, rest = message.partition(": ")
            key = field if rest and field in HEADER_OF else next((str(p) for p in item["loc"] if str(p) in HEADER_OF), None)
            problems.append((HEADER_OF[key] if key else "—", rest if rest and field in HEADER_OF else message))
        return None, problems
    return enrolment, []


# --- exports ----------------------------------------------------------------------------------------


def _book(title: str, rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        spreadsheets.append(sheet, row)
    return spreadsheets.workbook_bytes(book)


def number(value: Decimal | None) -> float | int:
    """Hours as a spreadsheet number: 8 rather than 8.0, 7.5 as it is."""
    value = Decimal(value or 0)
    return int(value) if value == value.to_integral_value() else float(value)



def sessions_book(rows: list[dict[str, Any]]) -> bytes:
    headers = ["编号", "名称", "课程", "课程版本", "组织单位", "培训对象单位", "领域", "地点", "开始日期", "结束日期", "容量", "已报名",
               "普及人次", "状态"]
    return _book("培训班", [headers, *[[r["code"], r["title"], r["course_name_zh"], r["course_version"], r["unit_name_zh"],
                                     r["organisation_name"] or "", r["sector"], r["base_name_zh"] or r["place"], r["starts_on"],
                                     r["ends_on"], r["capacity"], r["enrolled"], r["reported_attendance"], r["status"]]
                                    for r in rows]])


def class_book(session: dict[str, Any], rows: list[dict[str, Any]]) -> bytes:
    headers = ["序号", "姓名", "性别", "身份证号（后四位）", "状态", "已到课学时"]
    body = [[n, r["name"], r["gender"], "*" * 14 + r["id_number_last4"], r["status"], number(r["hours"])]
            for n, r in enumerate(rows, start=1)]
    return _book("学员名单", [[f"{session['code']} {session['title'] or session['course_name_zh']}"], headers, *body])


def attendance_book(session: dict[str, Any], days: list[date], rows: list[dict[str, Any]]) -> bytes:
    headers = ["姓名", "身份证号（后四位）", *[d.isoformat() for d in days], "合计学时"]
    body = [[r["name"], "*" * 14 + r["id_number_last4"], *[number(r["days"].get(d)) if d in r["days"] else "" for d in days],
             number(r["hours"])] for r in rows]
    return _book("考勤表", [[f"{session['code']} {session['title'] or session['course_name_zh']}"], headers, *body])
