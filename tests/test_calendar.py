"""Users date things on China's calendar: between 00:00 and 08:00 in China the server's UTC clock is still on the day
before, and a date typed as "today" must be accepted, and defaulted, as today everywhere."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from rescueops import calendar
from rescueops.calendar import CHINA

# 01:30 in China on the day after the machine's UTC date: 17:30 UTC on that UTC date. A check against the server's
# own date (date.today() on a UTC clock) would take China's today for tomorrow.
CHINA_TODAY = date.today() + timedelta(days=1)
NIGHT = datetime.combine(CHINA_TODAY, time(1, 30), tzinfo=CHINA)


class _ChinaNight(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return NIGHT.astimezone(tz) if tz else NIGHT.replace(tzinfo=None)


@pytest.fixture
def china_night(monkeypatch):
    monkeypatch.setattr(calendar, "datetime", _ChinaNight)


def test_the_night_moment_is_on_different_dates_in_china_and_in_utc(china_night) -> None:
    assert calendar.china_today() == CHINA_TODAY
    assert calendar.utc_now().date() == CHINA_TODAY - timedelta(days=1)


def _schemas():
    from rescueops.equipment.schemas import CheckoutIn, InspectionIn, ItemIn
    from rescueops.members.schemas import CertificateIn, HoursIn
    from rescueops.teams.schemas import TeamCreate
    from tests.factories import team_body

    today, tomorrow = CHINA_TODAY.isoformat(), (CHINA_TODAY + timedelta(days=1)).isoformat()
    return [
        (CertificateIn, {"type_code": "rc_first_aider", "issued_on": today}, {"issued_on": tomorrow}),
        (HoursIn, {"worked_on": today, "hours": "2", "note": "夜间值班"}, {"worked_on": tomorrow}),
        (TeamCreate, team_body("CF-WNT-09", "150426") | {"founded_on": today}, {"founded_on": tomorrow}),
        (ItemIn, {"team_code": "CF-WNT-01", "asset_tag": "T-1", "type_code": "radio", "acquired_on": today}, {"acquired_on": tomorrow}),
        (InspectionIn, {"inspected_on": today, "results": {}}, {"inspected_on": tomorrow}),
    ], (CheckoutIn, {"kind": "drill", "reference": "夜间演练", "due_back": today},
        {"due_back": (CHINA_TODAY - timedelta(days=1)).isoformat()})


def test_china_today_is_accepted_and_china_tomorrow_refused(china_night) -> None:
    not_after_today, not_before_today = _schemas()
    for schema, valid, future in not_after_today:
        schema.model_validate(valid)  # China's today: the UTC date's tomorrow
        with pytest.raises(ValidationError):
            schema.model_validate(valid | future)
    schema, valid, past = not_before_today
    schema.model_validate(valid)  # due back today, China's day: not in the past
    with pytest.raises(ValidationError):
        schema.model_validate(valid | past)


async def test_dates_left_out_default_to_china_today(db, china_night) -> None:
    from rescueops.equipment.schemas import InspectionIn
    from rescueops.members import service as members
    from rescueops.members.schemas import JoinIn
    from tests.factories import make_team, person

    assert InspectionIn.model_validate({"results": {}}).inspected_on == CHINA_TODAY
    await make_team()
    joined = await members.join_team(None, "CF-WNT-01", JoinIn(person=person(), status="active"))
    assert joined.membership.joined_on == CHINA_TODAY
