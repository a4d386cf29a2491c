"""Reading uploaded spreadsheets (.xlsx or .csv) as rows of cells, with whole-file checks, and writing every export.

Shared by every import (rosters, equipment): the size, format, merged-cell and row-count checks
and the date formats people type are the same everywhere. Every .xlsx and .csv the system hands out
is written through ``append``/``csv_bytes``, so no exported cell can act as a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zipfile import BadZipFile, ZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from rescueops.uploads import SPREADSHEET_MAX_BYTES as MAX_BYTES

MAX_ROWS = 2000  # one team's roster or kit; larger files are refused rather than half-read
# An .xlsx is a zip: a few MB can unpack to gigabytes of XML. A full 2000-row, 17-column roster unpacks to 2 MB; 10 MB
# of the densest cells takes openpyxl about 8 s and 200 MB to load, which bounds what one upload can cost.
MAX_UNPACKED_BYTES = 10 * 1024 * 1024


class SpreadsheetError(ValueError):
    """The file as a whole cannot be read (format, size, headers, merged cells)."""


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def table(filename: str, content: bytes) -> list[tuple[int, list[Any]]]:
    if len(content) > MAX_BYTES:
        raise SpreadsheetError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    lowered = filename.lower()
    if lowered.endswith(".xlsx"):
        try:
            with ZipFile(io.BytesIO(content)) as archive:
                unpacked = sum(member.file_size for member in archive.infolist())
            if unpacked <= MAX_UNPACKED_BYTES:
                sheet = load_workbook(io.BytesIO(content), data_only=True).worksheets[0]
        except (InvalidFileException, BadZipFile, KeyError, ValueError, OSError) as error:
            raise SpreadsheetError(f"the file is not a readable .xlsx workbook ({error})") from error
        if unpacked > MAX_UNPACKED_BYTES:
            raise SpreadsheetError(f"the workbook unpacks to {unpacked // (1024 * 1024)} MB of data, more than a "
                                   f"{MAX_ROWS}-row sheet needs (at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB)")
        merged = [str(r) for r in sheet.merged_cells.ranges]
        if merged:
            raise SpreadsheetError(f"merged cells ({', '.join(merged[:5])}): unmerge them, one value per cell")
        if sheet.max_row - 1 > MAX_ROWS:
            raise SpreadsheetError(f"{sheet.max_row - 1} rows: at most {MAX_ROWS} rows per file")
        return [(number, [_cell(v) for v in row]) for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    if lowered.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):  # Excel in Chinese saves CSV as GB18030
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise SpreadsheetError("the CSV file is neither UTF-8 nor GB18030 text")
        rows = list(csv.reader(io.StringIO(text)))
        if len(rows) - 1 > MAX_ROWS:
            raise SpreadsheetError(f"{len(rows) - 1} rows: at most {MAX_ROWS} rows per file")
        return [(number, [_cell(v) for v in row]) for number, row in enumerate(rows, start=1)]
    raise SpreadsheetError("upload an .xlsx or .csv file (the template is an .xlsx)")


def parse_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date (write it as 2024-03-15)")




# --- writing exports ---------------------------------------------------------------------------------

# A spreadsheet reads text starting with one of these as a formula (OWASP "CSV injection"): =, +, - and @ start
# formulas and DDE calls (=cmd|' /C calc'!A0), a tab or carriage return can hide the character that follows.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters an .xlsx cannot hold (openpyxl refuses them); tab, line feed and carriage return stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def export_cell(value: Any) -> Any:
    """A value as an export cell: text that would start a formula is prefixed with an apostrophe, so Excel, WPS and
    LibreOffice show it as typed; control characters are dropped. Numbers, dates and empty cells stay as they are."""
    if not isinstance(value, str):
        return value
    text = _CONTROL.sub("", value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def append(sheet: Worksheet, row: Iterable[Any]) -> None:
    """Add a row of an exported workbook (cells through ``export_cell``)."""
    sheet.append([export_cell(value) for value in row])


def add_sheet(book: Workbook, title: str, header: list[str], rows: Iterable[Iterable[Any]]) -> Worksheet:
    """An export sheet: a bold, frozen header row, columns sized to it, every cell through ``export_cell``."""
    sheet = book.create_sheet(title[:31])  # Excel's limit on sheet names
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        append(sheet, row)
    sheet.freeze_panes = "A2"
    for column, name in zip(sheet.columns, header, strict=False):
        sheet.column_dimensions[column[0].column_letter].width = max(10, min(40, len(str(name)) * 2 + 2))
    return sheet


def export(sheets: Iterable[tuple[str, list[str], Iterable[Iterable[Any]]]]) -> bytes:
    """An exported workbook of (title, header, rows) sheets, in that order."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        add_sheet(book, title, header, rows)
    return workbook_bytes(book)


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    """An exported CSV file (cells through ``export_cell``), with the BOM that lets Excel open it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([["" if value is None else str(export_cell(value)) for value in row] for row in rows])
    return buffer.getvalue().encode("utf-8-sig")


def workbook_bytes(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
