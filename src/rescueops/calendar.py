"""Date arithmetic the domains share."""

from __future__ import annotations

import calendar as _calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 Jan + 1 → 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))
