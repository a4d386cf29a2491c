"""Reading uploaded spreadsheets (.xlsx or .csv) as rows of cells, with whole-file checks.

Shared by every import (rosters, equipment): the size, format, merged-cell and row-count checks
and the date formats people type are the same everywhere.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

MAX_ROWS = 2000  # one team's roster or kit; larger files are refused rather than half-read
MAX_BYTES = 5 * 1024 * 1024


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
            sheet = load_workbook(io.BytesIO(content), data_only=True).worksheets[0]
        except (InvalidFileException, BadZipFile, KeyError, ValueError, OSError) as error:
            raise SpreadsheetError(f"the file is not a readable .xlsx workbook ({error})") from error
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


