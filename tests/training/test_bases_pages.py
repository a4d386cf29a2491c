"""The base pages, Chinese first: registering a base with its opening hours, the week view, booking a group (the
refusal reason shown, nothing written), cancelling, exports."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from openpyxl import load_workbook

from rescueops.calendar import CHINA
from rescueops.training.tables import Booking, TrainingBase
from tests.accounts.test_auth import csrf_from
from tests.web.test_pages import sign_in


def _next(weekday: int) -> str:
    day = datetime.now(CHINA).date() + timedelta(days=7)
    while day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day.isoformat()


async def _officer(client, make_user) -> None:
    client.cookies.clear()
    await sign_in(client, make_user, "training_officer", unit="150426")


async def _register(client) -> str:
    page = await client.get("/training/bases")
    token = csrf_from(page.text)
    form = {"_csrf_token": token, "code": "WNT-BASE", "unit_code": "150426", "kind": "training_base", "name_zh": "翁牛特旗应急救护培训基地",
            "name_en": "", "address": "乌丹镇", "capacity": "20"}
    for day in range(1, 6):
        form |= {f"open_{day}": "08:30", f"close_{day}": "17:00"}
    made = await client.post("/training/bases", data=form, follow_redirects=False)
    assert made.status_code in (302, 303), made.text[:800]
    return token


async def test_register_a_base_and_book_through_the_pages(client, make_user) -> None:
    await _officer(client, make_user)
    token = await _register(client)
    listed = await client.get("/training/bases")
    assert "培训基地" in listed.text and 'data-base="WNT-BASE"' in listed.text and "应急救护培训基地" in listed.text
    monday, saturday = _next(1), _next(6)
    page = await client.get("/training/bases/WNT-BASE", params={"week": monday})
    assert page.status_code == 200 and "团体预约" in page.text and "周六" in page.text
    booking = {"_csrf_token": token, "group_name": "乌丹二中", "contact_name": "赵老师", "contact_phone": "13800001111", "people": "15",
               "day": monday, "start": "09:00", "end": "11:00", "purpose": "visit", "session_code": ""}
    made = await client.post("/training/bases/WNT-BASE/bookings", data=booking, follow_redirects=False)
    assert made.status_code in (302, 303), made.text[:800]
    week = await client.get(made.headers["location"])
    assert "乌丹二中" in week.text and "15 / 20" in week.text
    # Over the capacity with the booking in the way: refused, the reason and the booking named, the form kept.
    full = await client.post("/training/bases/WNT-BASE/bookings", data=booking | {"group_name": "实验小学", "people": "6", "start": "10:00"})
    assert full.status_code == 409 and "该时段基地人数已满" in full.text and "乌丹二中 09:00–11:00" in full.text
    assert 'value="实验小学"' in full.text
    closed = await client.post("/training/bases/WNT-BASE/bookings", data=booking | {"day": saturday})
    assert closed.status_code == 422 and "基地当天不开放" in closed.text and "周一 Mon 08:30–17:00" in closed.text
    late = await client.post("/training/bases/WNT-BASE/bookings", data=booking | {"start": "16:00", "end": "18:00"})
    assert late.status_code == 422 and "不在开放时间内" in late.text
    assert await Booking.count() == 1
    # Cancel it; the week view marks it cancelled and the places are free again.
    booking_id = (await Booking.select(Booking.id).first())["id"]
    cancelled = await client.post(f"/training/bookings/{booking_id}/cancel", data={"_csrf_token": token, "reason": "下雪停课"},
                                  follow_redirects=False)
    assert cancelled.status_code in (302, 303)
    week = await client.get("/training/bases/WNT-BASE", params={"week": monday})
    assert 'data-status="cancelled"' in week.text and "下雪停课" in week.text and "0 / 20" in week.text
    exported = await client.get("/training/bookings.xlsx", params={"base": "WNT-BASE"})
    rows = list(load_workbook(io.BytesIO(exported.content))["预约"].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][10] == "已取消"
    bases = await client.get("/training/bases.xlsx")
    assert list(load_workbook(io.BytesIO(bases.content))["培训基地"].iter_rows(values_only=True))[1][0] == "WNT-BASE"


async def test_edit_opening_hours_and_bad_base_forms(client, make_user) -> None:
    await _officer(client, make_user)
    token = await _register(client)
    bad = await client.post("/training/bases/WNT-BASE/opening", data={"_csrf_token": token, "capacity": "20", "active": "true",
                                                                      "open_1": "17:00", "close_1": "09:00"})
    assert bad.status_code == 422 and "not after the opening time" in bad.text
    assert (await TrainingBase.select(TrainingBase.opening).first())["opening"].count("08:30") == 5
    saved = await client.post("/training/bases/WNT-BASE/opening", data={"_csrf_token": token, "capacity": "25", "active": "true",
                                                                        "open_6": "09:00", "close_6": "12:00"}, follow_redirects=False)
    assert saved.status_code in (302, 303)
    row = await TrainingBase.select(TrainingBase.opening, TrainingBase.capacity).first()
    assert row["capacity"] == 25 and '"6"' in row["opening"] and '"1"' not in row["opening"]
    duplicate = await client.post("/training/bases", data={"_csrf_token": token, "code": "WNT-BASE", "unit_code": "150426",
                                                           "kind": "classroom", "name_zh": "教室", "capacity": "10"})
    assert duplicate.status_code == 409 and await TrainingBase.count() == 1
    # A viewer (examiner) sees the base but no booking form.
    client.cookies.clear()
    await sign_in(client, make_user, "examiner", unit="150426")
    page = await client.get("/training/bases/WNT-BASE")
    assert page.status_code == 200 and 'id="booking-form"' not in page.text
