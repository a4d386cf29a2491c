"""Date arithmetic the domains share."""

from __future__ import annotations

import calendar as _calendar
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (31 Jan + 1 → 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


# Users read times in China Standard Time, whatever zone a timestamp was stored in.
CHINA = ZoneInfo("Asia/Shanghai")


def as_date(value: date | str | None) -> date | None:
    """A date read back from SQL: SQLite gives a value without a declared type (an aggregate, a sub-select) as ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def in_china(moment: datetime) -> datetime:
    """The same instant on China Standard Time (naive timestamps are UTC, as some engines hand them back)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(CHINA)


def utc_now() -> datetime:
    """Now, as timestamps are stored and compared: aware, in UTC."""
    return datetime.now(UTC)


def china_today() -> date:
    """Today as users date things: China's date, whatever zone the server's clock is on (between 16:00 and 24:00 UTC
    the two differ, and a day typed as "today" must sort and compare with timestamps read on China time)."""
    return datetime.now(CHINA).date()


def china_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A timestamp as users read it."""
    return in_china(moment).strftime(pattern) if moment is not None else ""


def quarter_hours(start: datetime, until: datetime) -> Decimal:
    """Service hours between two moments: whole quarter hours, rounded down; never negative (drills, deployments)."""
    return Decimal(max(0, math.floor((until - start).total_seconds() / 900))) / 4
