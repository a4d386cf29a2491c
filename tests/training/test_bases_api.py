"""Training bases and experience halls, and groups' bookings (预约), through the API and the service, on both engines:
capacity, opening hours, closed days, overlaps at capacity (adjacent bookings and cancelled ones do not count),
concurrent bookings for the last places, the week view, exports; refusals write nothing."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook

from rescueops.accounts.tables import AuditEntry
from rescueops.calendar import CHINA
from rescueops.errors import Conflict
from rescueops.training import bases
from rescueops.training.schemas import BookingIn
from rescueops.training.tables import Booking, TrainingBase, TrainingSession
from tests.conftest import bearer
from tests.training import builders

API = "/api/v1/training"
EVERY_DAY = {str(d): ["08:30", "17:00"] for d in range(1, 8)}


def _day(days_ahead: int = 7, weekday: int | None = None) -> str:
    """A China date ``days_ahead`` from now, moved forward to ``weekday`` (ISO) if given."""
    day = datetime.now(CHINA).date() + timedelta(days=days_ahead)
    while weekday is not None and day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day.isoformat()


def _base_body(**extra) -> dict:
    return {"code": "WNT-HALL", "unit_code": "150426", "kind": "experience_hall", "name_zh": "翁牛特旗生命安全体验馆",
            "name_en": "Wengniute life-safety hall", "address": "乌丹镇", "capacity": 30, "opening": EVERY_DAY} | extra


def _booking(start: str, end: str, people: int = 10, day: str | None = None, **extra) -> dict:
    day = day or _day()
    return {"group_name": extra.pop("group_name", "乌丹一中"), "contact_name": "刘老师", "contact_phone": "13912345678", "people": people,
            "starts_at": f"{day}T{start}", "ends_at": f"{day}T{end}", "purpose": "experience"} | extra


async def _officer(make_user) -> str:
    _, token = await make_user("training_officer", unit="150426")
    return token


async def test_register_a_base_and_refuse_bad_ones(client, make_user) -> None:
    token = await _officer(make_user)
    made = await client.post(f"{API}/bases", json=_base_body(opening={"2": ["08:30", "17:00"], "6": ["09:00", "12:00"]}),
                             headers=bearer(token))
    assert made.status_code == 201, made.text
    assert made.json()["opening"] == {"2": ["08:30", "17:00"], "6": ["09:00", "12:00"]} and made.json()["unit_code"] == "150426"
    cases = [
        (_base_body(), 409, "already in use"),
        (_base_body(code="X Y"), 422, "letters"),
        (_base_body(code="B2", capacity=0), 422, "capacity"),
        (_base_body(code="B3", opening={"8": ["08:00", "12:00"]}), 422, "ISO weekday"),
        (_base_body(code="B4", opening={"1": ["17:00", "08:00"]}), 422, "not after the opening time"),
        (_base_body(code="B5", opening={"1": ["8:00", "12:00"]}), 422, "two times"),
        (_base_body(code="B6", kind="museum"), 422, "kind"),
        (_base_body(code="B7", unit_code="150102"), 403, "training.manage"),
    ]
    for body, status, words in cases:
        refused = await client.post(f"{API}/bases", json=body, headers=bearer(token))
        assert (refused.status_code, words in refused.text) == (status, True), (body, refused.text)
    assert await TrainingBase.count() == 1
    listed = await client.get(f"{API}/bases", headers=bearer(token))
    assert [b["code"] for b in listed.json()["items"]] == ["WNT-HALL"]
    edited = await client.patch(f"{API}/bases/WNT-HALL", json={"opening": {"3": ["10:00", "16:00"]}, "capacity": 40}, headers=bearer(token))
    assert edited.status_code == 200 and edited.json()["opening"] == {"3": ["10:00", "16:00"]} and edited.json()["capacity"] == 40
    bad = await client.patch(f"{API}/bases/WNT-HALL", json={"opening": {"3": ["16:00", "10:00"]}}, headers=bearer(token))
    assert bad.status_code == 422
    assert (await client.get(f"{API}/bases/WNT-HALL", headers=bearer(token))).json()["opening"] == {"3": ["10:00", "16:00"]}
    # Another league's officer does not see it.
    _, other = await make_user("training_officer", unit="150100")
    assert (await client.get(f"{API}/bases/WNT-HALL", headers=bearer(other))).status_code == 404


async def test_booking_conflicts_overlap_adjacent_and_cancelled(client, make_user) -> None:
    token = await _officer(make_user)
    assert (await client.post(f"{API}/bases", json=_base_body(), headers=bearer(token))).status_code == 201
    url = f"{API}/bases/WNT-HALL/bookings"
    first = await client.post(url, json=_booking("09:00", "11:00", 20, group_name="乌丹一中"), headers=bearer(token))
    assert first.status_code == 201, first.text
    assert first.json()["starts_at"].startswith(f"{_day()}T09:00") and first.json()["contact_phone"] == "13912345678"
    # Overlapping and together over the capacity (20 + 11 > 30): 409, naming the booking in the way.
    count, audits = await Booking.count(), await AuditEntry.count()
    refused = await client.post(url, json=_booking("10:30", "12:00", 11, group_name="实验小学"), headers=bearer(token))
    assert refused.status_code == 409
    message = refused.json()["message"]
    assert "乌丹一中 09:00–11:00 (20 people)" in message and "at most 10" in message
    assert (await Booking.count(), await AuditEntry.count()) == (count, audits)
    # Overlapping but fitting (20 + 10 = 30): booked.
    assert (await client.post(url, json=_booking("10:00", "12:00", 10, group_name="二中"), headers=bearer(token))).status_code == 201
    # Adjacent (starts when the first ends): the first does not count, but 二中 (to 12:00) does: 10 + 20 = 30 fits.
    assert (await client.post(url, json=_booking("11:00", "13:00", 20, group_name="三中"), headers=bearer(token))).status_code == 201
    # 12:00–14:00 meets only 三中 (20): 15 more do not fit; it names 三中 and not the 09:00 or 10:00 groups.
    refused = await client.post(url, json=_booking("12:00", "14:00", 15, group_name="四中"), headers=bearer(token))
    assert refused.status_code == 409 and "三中" in refused.json()["message"] and "二中" not in refused.json()["message"]
    # Cancelling 三中 frees its places; cancelled bookings are ignored.
    third = (await Booking.select(Booking.id).where(Booking.group_name == "三中").first())["id"]
    cancelled = await client.post(f"{API}/bookings/{third}/cancel", json={"reason": "学校临时调课"}, headers=bearer(token))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await client.post(f"{API}/bookings/{third}/cancel", json={"reason": "再取消"}, headers=bearer(token))).status_code == 409
    assert (await client.post(url, json=_booking("12:00", "14:00", 15, group_name="四中"), headers=bearer(token))).status_code == 201
    # The week view shows the day's bookings (cancelled ones marked) and the peak.
    week = (await client.get(url, params={"week": _day()}, headers=bearer(token))).json()
    day = next(d for d in week["days"] if d["day"] == _day())
    assert [b["group_name"] for b in day["bookings"]] == ["乌丹一中", "二中", "三中", "四中"]
    assert [b["status"] for b in day["bookings"]] == ["booked", "booked", "cancelled", "booked"]
    assert day["people_peak"] == 30 and day["opening"] == ["08:30", "17:00"] and len(week["days"]) == 7


async def test_booking_rules_capacity_hours_closed_days_past_and_input(client, make_user) -> None:
    token = await _officer(make_user)
    opening = {"1": ["08:30", "17:00"], "2": ["08:30", "17:00"], "3": ["08:30", "17:00"], "4": ["08:30", "17:00"], "5": ["08:30", "12:00"]}
    assert (await client.post(f"{API}/bases", json=_base_body(opening=opening), headers=bearer(token))).status_code == 201
    url = f"{API}/bases/WNT-HALL/bookings"
    monday, friday, sunday = _day(7, 1), _day(7, 5), _day(7, 7)
    yesterday = (datetime.now(CHINA).date() - timedelta(days=1)).isoformat()
    cases = [
        (_booking("09:00", "10:00", 31, day=monday), 422, "more than the capacity"),
        (_booking("09:00", "10:00", 10, day=sunday), 422, "closed on 周日 Sun"),
        (_booking("08:00", "10:00", 10, day=monday), 422, "outside the opening hours"),
        (_booking("11:00", "13:00", 10, day=friday), 422, "08:30–12:00"),
        (_booking("10:00", "09:00", 10, day=monday), 422, "must be after the start"),
        (_booking("09:00", "10:00", 10, day=monday) | {"ends_at": f"{_day(8, 2)}T10:00"}, 422, "same day"),
        (_booking("09:00", "10:00", 10, day=yesterday), 422, "in the past"),
        (_booking("09:00", "10:00", 10, day=monday, contact_phone="12345"), 422, "phone"),
        (_booking("09:00", "10:00", 0, day=monday), 422, "people"),
        (_booking("09:00", "10:00", 10, day=monday, session_code="TS-NOPE"), 422, "no training session"),
    ]
    for body, status, words in cases:
        refused = await client.post(url, json=body, headers=bearer(token))
        assert (refused.status_code, words in refused.text) == (status, True), (words, refused.text)
    closed = await client.post(url, json=_booking("09:00", "10:00", 10, day=sunday), headers=bearer(token))
    assert "周一 Mon 08:30–17:00" in closed.json()["message"]  # the opening hours are shown
    assert await Booking.count() == 0 and not await AuditEntry.exists().where(AuditEntry.action == "training.booking.create")
    # A session held at this base can be booked with its code; times with a zone are taken as given.
    version = await builders.course_version()
    session = await builders.session(version)
    base_id = (await TrainingBase.select(TrainingBase.id).first())["id"]
    await TrainingSession.update({TrainingSession.base: base_id}).where(TrainingSession.id == session)
    code = (await TrainingSession.select(TrainingSession.code).where(TrainingSession.id == session).first())["code"]
    booked = await client.post(url, json=_booking("09:00", "10:00", 25, day=monday, session_code=code) | {
        "starts_at": f"{monday}T01:00:00Z", "ends_at": f"{monday}T02:00:00Z"}, headers=bearer(token))
    assert booked.status_code == 201, booked.text
    assert booked.json()["purpose"] == "session" and booked.json()["session_code"] == code
    assert booked.json()["starts_at"].startswith(f"{monday}T09:00")  # 01:00 UTC is 09:00 in China
    # An inactive base takes no bookings.
    await client.patch(f"{API}/bases/WNT-HALL", json={"active": False}, headers=bearer(token))
    refused = await client.post(url, json=_booking("13:00", "14:00", 1, day=monday), headers=bearer(token))
    assert refused.status_code == 422 and await Booking.count() == 1
    # A viewer without training.manage sees the contact phone masked and may not book or cancel.
    _, viewer = await make_user("examiner", unit="150426")
    seen = await client.get(f"{API}/bookings/{booked.json()['id']}", headers=bearer(viewer))
    assert seen.status_code == 200 and seen.json()["contact_phone"] == "139****5678"
    assert (await client.post(f"{API}/bookings/{booked.json()['id']}/cancel", json={"reason": "不行"}, headers=bearer(viewer))).status_code == 403


async def test_concurrent_bookings_for_the_last_places_never_exceed_the_capacity(client, make_principal, make_user) -> None:
    token = await _officer(make_user)
    assert (await client.post(f"{API}/bases", json=_base_body(capacity=30), headers=bearer(token))).status_code == 201
    principal = await make_principal("training_officer", unit="150426")
    await bases.book(principal, "WNT-HALL", BookingIn(**_booking("09:00", "12:00", 20, group_name="先到")))

    async def attempt(n: int) -> str:
        try:
            await bases.book(principal, "WNT-HALL", BookingIn(**_booking("10:00", "11:00", 4, group_name=f"团体{n}")))
            return "booked"
        except Conflict:
            return "refused"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(6)))
    assert sorted(outcomes) == ["booked", "booked"] + ["refused"] * 4
    rows = await Booking.select(Booking.people).where(Booking.status == "booked")
    assert sum(r["people"] for r in rows) == 28


async def test_exports_of_bases_and_bookings(client, make_user) -> None:
    token = await _officer(make_user)
    await client.post(f"{API}/bases", json=_base_body(), headers=bearer(token))
    await client.post(f"{API}/bases/WNT-HALL/bookings", json=_booking("09:00", "10:00", 5, group_name="=HYPERLINK(\"x\")"),
                      headers=bearer(token))
    listed = load_workbook(io.BytesIO((await client.get(f"{API}/bases.xlsx", headers=bearer(token))).content))
    rows = list(listed["培训基地"].iter_rows(values_only=True))
    assert rows[0][:2] == ("代码", "名称") and rows[1][0] == "WNT-HALL" and "周一 Mon 08:30–17:00" in rows[1][7]
    bookings = load_workbook(io.BytesIO((await client.get(f"{API}/bookings.xlsx", params={"base": "WNT-HALL"}, headers=bearer(token))).content))
    rows = list(bookings["预约"].iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][2] == "'=HYPERLINK(\"x\")" and rows[1][5] == 5  # formula neutralised


async def test_the_busiest_moment_counts_not_the_sum_of_every_overlapping_booking(client, make_user) -> None:
    token = await _officer(make_user)
    await client.post(f"{API}/bases", json=_base_body(capacity=30), headers=bearer(token))
    url = f"{API}/bases/WNT-HALL/bookings"
    assert (await client.post(url, json=_booking("09:00", "10:00", 20, group_name="上午一场"), headers=bearer(token))).status_code == 201
    assert (await client.post(url, json=_booking("10:00", "11:00", 20, group_name="上午二场"), headers=bearer(token))).status_code == 201
    # 09:00–11:00 meets both, but never at once: at most 20 + 10 = 30 at a time.
    spanning = await client.post(url, json=_booking("09:00", "11:00", 10, group_name="全程"), headers=bearer(token))
    assert spanning.status_code == 201, spanning.text
    refused = await client.post(url, json=_booking("09:30", "10:30", 1, group_name="再加一人"), headers=bearer(token))
    assert refused.status_code == 409 and "at most 0" in refused.json()["message"]


async def test_capacity_is_not_lowered_below_the_bookings_still_to_come(client, make_user) -> None:
    token = await _officer(make_user)
    await client.post(f"{API}/bases", json=_base_body(capacity=30), headers=bearer(token))
    url = f"{API}/bases/WNT-HALL/bookings"
    assert (await client.post(url, json=_booking("09:00", "11:00", 12, group_name="乌丹一中"), headers=bearer(token))).status_code == 201
    assert (await client.post(url, json=_booking("10:00", "12:00", 8, group_name="实验小学"), headers=bearer(token))).status_code == 201
    later = _booking("09:00", "10:00", 15, group_name="三中", day=_day(14))
    assert (await client.post(url, json=later, headers=bearer(token))).status_code == 201
    audits = await AuditEntry.count()
    # 20 at once from 10:00 on the first day: 19 is refused, naming the two groups there and not the later one.
    refused = await client.patch(f"{API}/bases/WNT-HALL", json={"capacity": 19, "address": "乌丹镇新址"}, headers=bearer(token))
    assert refused.status_code == 409 and refused.json()["code"] == "capacity_below_bookings"
    message = refused.json()["message"]
    assert f"20 people booked at once at {_day()} 10:00" in message and "乌丹一中" in message and "实验小学" in message
    assert "三中" not in message and "lowering its capacity to 19" in message
    row = await TrainingBase.select(TrainingBase.capacity, TrainingBase.address).first()
    assert row == {"capacity": 30, "address": "乌丹镇"} and await AuditEntry.count() == audits  # nothing written
    assert (await client.patch(f"{API}/bases/WNT-HALL", json={"capacity": 20}, headers=bearer(token))).json()["capacity"] == 20
    # Cancelled and past bookings do not hold places.
    first = (await Booking.select(Booking.id).where(Booking.group_name == "乌丹一中").first())["id"]
    assert (await client.post(f"{API}/bookings/{first}/cancel", json={"reason": "改期"}, headers=bearer(token))).status_code == 200
    await Booking.update({Booking.starts_at: Booking.starts_at - timedelta(days=60), Booking.ends_at: Booking.ends_at - timedelta(days=60)}).where(
        Booking.group_name == "实验小学")
    assert (await client.patch(f"{API}/bases/WNT-HALL", json={"capacity": 15}, headers=bearer(token))).json()["capacity"] == 15
    assert (await client.patch(f"{API}/bases/WNT-HALL", json={"capacity": 14}, headers=bearer(token))).status_code == 409  # 三中's 15
