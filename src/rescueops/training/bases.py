"""Training bases and experience halls (培训基地、生命安全体验馆、培训教室) and the groups' bookings (预约).

A booking is one group on one day (China Standard Time), inside that weekday's opening hours, not in the past. Bookings
that overlap in time may share a base while their people together fit its capacity: the peak of the people already
booked during the new booking, plus its own, must not exceed the capacity, else it is refused naming the bookings in
the way. Adjacent bookings (one ends when the next starts) do not overlap; cancelled ones do not count.

Race safety: the check and the insert run in one write transaction. On SQLite that is BEGIN IMMEDIATE, which
serialises writers; on PostgreSQL the base's row is locked (SELECT … FOR UPDATE) first, so two bookings for the last
places of a base queue on that lock and the second sees the first.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from rescueops import spreadsheets
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can
from rescueops.calendar import CHINA, china_today, in_china, utc_now
from rescueops.db import write_transaction
from rescueops.db.engine import database
from rescueops.db.pagination import PageParams
from rescueops.db.paths import under, within
from rescueops.errors import Conflict, InvalidInput, NotFound, field_error
from rescueops.members.identity import mask_phone
from rescueops.orgs.tables import OrgKind
from rescueops.training.instructors import _filter_unit, _unit, _view_scopes
from rescueops.training.schemas import (
    BaseIn,
    BaseOut,
    BaseUpdate,
    BookingCancelIn,
    BookingDay,
    BookingIn,
    BookingOut,
    BookingPurpose,
    BookingWeek,
)
from rescueops.training.tables import BaseKind, Booking, BookingStatus, TrainingBase, TrainingSession

BASE_UNITS = (OrgKind.county.value, OrgKind.league.value, OrgKind.region.value)
EXPORT_MAX = 20000
WEEKDAYS = {1: "周一 Mon", 2: "周二 Tue", 3: "周三 Wed", 4: "周四 Thu", 5: "周五 Fri", 6: "周六 Sat", 7: "周日 Sun"}
KIND_ZH = {BaseKind.training_base.value: "应急救护培训基地", BaseKind.experience_hall.value: "生命安全体验馆",
           BaseKind.classroom.value: "培训教室"}
PURPOSE_ZH = {BookingPurpose.visit.value: "参观", BookingPurpose.experience.value: "体验", BookingPurpose.session.value: "培训班"}


def _opening(value: Any) -> dict[str, list[str]]:
    data = json.loads(value) if isinstance(value, str) else (value or {})
    return {day: list(hours) for day, hours in sorted(data.items())}


def opening_text(opening: dict[str, list[str]]) -> str:
    """The opening hours as people read them: "周二 Tue 08:30–17:00, …", or "closed every day"."""
    if not opening:
        return "closed every day (no opening hours set)"
    return ", ".join(f"{WEEKDAYS[int(day)]} {hours[0]}–{hours[1]}" for day, hours in sorted(opening.items()))


# --- bases ----------------------------------------------------------------------------------------------------

_BASE_COLUMNS = (TrainingBase.all_columns(), TrainingBase.unit.code.as_alias("unit_code"),
                 TrainingBase.unit.name_zh.as_alias("unit_name_zh"), TrainingBase.unit.name_en.as_alias("unit_name_en"))


def _base_out(row: dict[str, Any]) -> BaseOut:
    return BaseOut(id=row["id"], code=row["code"], unit_code=row["unit_code"], unit_name_zh=row["unit_name_zh"],
                   unit_name_en=row["unit_name_en"], kind=row["kind"], name_zh=row["name_zh"], name_en=row["name_en"],
                   address=row["address"], capacity=row["capacity"], opening=_opening(row["opening"]), active=row["active"])


async def _base_row(principal: Principal, code: str, action: str = "training.view") -> dict[str, Any]:
    row = await TrainingBase.select(*_BASE_COLUMNS).where(TrainingBase.code == code).first()
    if row is None:
        raise NotFound(f"No training base '{code}', or it is outside your scope.")
    authorize(principal, "training.view", row["unit_path"], hide=True)
    if action != "training.view":
        authorize(principal, action, row["unit_path"])
    return row


async def list_bases(principal: Principal, page: PageParams, *, unit: str | None = None, kind: BaseKind | None = None,
                     active: bool | None = None) -> tuple[list[BaseOut], int]:
    conditions = [c for c in (within(TrainingBase.unit_path, _view_scopes(principal)),) if c is not None]
    narrowed = await _filter_unit(unit)
    if narrowed:
        conditions.append(under(TrainingBase.unit_path, narrowed))
    if kind is not None:
        conditions.append(TrainingBase.kind == BaseKind(kind).value)
    if active is not None:
        conditions.append(TrainingBase.active == active)
    query = TrainingBase.select(*_BASE_COLUMNS).order_by(TrainingBase.unit_path, TrainingBase.code)
    count = TrainingBase.count()
    for condition in conditions:
        query, count = query.where(condition), count.where(condition)
    return [_base_out(r) for r in await query.limit(page.limit).offset(page.offset)], await count


async def get_base(principal: Principal, code: str) -> BaseOut:
    return _base_out(await _base_row(principal, code))


async def register_base(principal: Principal, data: BaseIn) -> BaseOut:
    unit = await _unit(data.unit_code, BASE_UNITS)
    authorize(principal, "training.manage", unit["path"])
    async with write_transaction():
        if await TrainingBase.exists().where(TrainingBase.code == data.code):
            raise Conflict(f"The base code '{data.code}' is already in use.", code="duplicate_code")
        await TrainingBase.insert(TrainingBase(
            code=data.code, unit=unit["id"], unit_path=unit["path"], kind=data.kind.value, name_zh=data.name_zh, name_en=data.name_en,
            address=data.address, capacity=data.capacity, opening=json.dumps(data.opening), active=data.active, created_at=utc_now()))
        await accounts.record_audit(principal, "training.base.register", "training_base", data.code, unit["path"],
                                    data.model_dump(mode="json"))
    return await get_base(principal, data.code)


async def update_base(principal: Principal, code: str, data: BaseUpdate) -> BaseOut:
    """Change a base's names, address, capacity, opening times or whether it takes bookings; bookings already made stay,
    so a capacity below the busiest moment of the bookings still to come is refused, naming them."""
    row = await _base_row(principal, code, "training.manage")
    changes = {name: value for name, value in data.model_dump(exclude_unset=True).items() if value is not None}
    if not changes:
        raise InvalidInput("Nothing to change: give at least one field.", code="no_change")
    values = {getattr(TrainingBase, name): json.dumps(value) if name == "opening" else value for name, value in changes.items()}
    async with write_transaction():
        if changes.get("capacity", row["capacity"]) < row["capacity"]:
            await _lock_base(row["id"])  # no booking slips in between the check and the change
            await _refuse_over_capacity(row, changes["capacity"])
        await TrainingBase.update(values).where(TrainingBase.id == row["id"])
        await accounts.record_audit(principal, "training.base.update", "training_base", code, row["unit_path"], changes)
    return await get_base(principal, code)


async def export_bases(principal: Principal, *, unit: str | None = None) -> bytes:
    items, _ = await list_bases(principal, PageParams(limit=EXPORT_MAX), unit=unit)
    book = Workbook()
    book.remove(book.active)
    spreadsheets.add_sheet(book, "培训基地", ["代码", "名称", "英文名称", "类型", "所属红十字会", "地址", "容量（人）", "开放时间", "状态"],
           [[b.code, b.name_zh, b.name_en, KIND_ZH[b.kind.value], b.unit_name_zh, b.address, b.capacity,
             opening_text(b.opening) if b.opening else "未设开放时间", "开放预约" if b.active else "停用"] for b in items])
    return spreadsheets.workbook_bytes(book)


# --- bookings -------------------------------------------------------------------------------------------------

_BOOKING_COLUMNS = (Booking.all_columns(), Booking.base.code.as_alias("base_code"), Booking.base.name_zh.as_alias("base_name_zh"),
                    Booking.session.code.as_alias("session_code"))


def _booking_out(row: dict[str, Any], show_phone: bool) -> BookingOut:
    return BookingOut(
        id=row["id"], base_code=row["base_code"], base_name_zh=row["base_name_zh"], group_name=row["group_name"],
        contact_name=row["contact_name"], contact_phone=row["contact_phone"] if show_phone else mask_phone(row["contact_phone"]),
        people=row["people"], starts_at=in_china(row["starts_at"]), ends_at=in_china(row["ends_at"]), purpose=row["purpose"],
        session_code=row["session_code"], status=row["status"], cancelled_reason=row["cancelled_reason"], created_at=row["created_at"])


def _local(moment: datetime) -> datetime:
    """A booking time on China Standard Time, to the minute (a time without a zone is taken as China's)."""
    moment = moment.replace(tzinfo=CHINA) if moment.tzinfo is None else moment.astimezone(CHINA)
    return moment.replace(second=0, microsecond=0)


def _when(base: dict[str, Any], data: BookingIn) -> tuple[datetime, datetime]:
    """The booking's times in UTC, once they are one day, in order, not past and inside that day's opening hours."""
    start, end = _local(data.starts_at), _local(data.ends_at)
    if end <= start:
        raise field_error("ends_at", f"the end ({end:%Y-%m-%d %H:%M}) must be after the start ({start:%Y-%m-%d %H:%M})")
    if end.date() != start.date():
        raise field_error("ends_at", "a booking starts and ends on the same day; book each day separately")
    if start < datetime.now(CHINA):
        raise field_error("starts_at", f"{start:%Y-%m-%d %H:%M} is in the past")
    opening = _opening(base["opening"])
    hours = opening.get(str(start.isoweekday()))
    if hours is None:
        raise InvalidInput(f"{base['name_zh']} is closed on {WEEKDAYS[start.isoweekday()]} ({start:%Y-%m-%d}). "
                           f"Opening hours: {opening_text(opening)}.", code="base_closed",
                           details=[{"field": "starts_at", "message": "closed that day"}])
    if start.strftime("%H:%M") < hours[0] or end.strftime("%H:%M") > hours[1]:
        raise InvalidInput(f"{start:%H:%M}–{end:%H:%M} is outside the opening hours of {base['name_zh']} on "
                           f"{WEEKDAYS[start.isoweekday()]}: {hours[0]}–{hours[1]}. Opening hours: {opening_text(opening)}.",
                           code="outside_opening_hours", details=[{"field": "starts_at", "message": "outside the opening hours"}])
    return start.astimezone(UTC), end.astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def peak(bookings: list[dict[str, Any]], start: datetime, end: datetime) -> tuple[int, list[dict[str, Any]]]:
    """The most people booked at one moment within [start, end), and the bookings present then."""
    moments = {start} | {_utc(b["starts_at"]) for b in bookings if start < _utc(b["starts_at"]) < end}
    best: tuple[int, list[dict[str, Any]]] = (0, [])
    for moment in sorted(moments):
        present = [b for b in bookings if _utc(b["starts_at"]) <= moment < _utc(b["ends_at"])]
        total = sum(b["people"] for b in present)
        if total > best[0]:
            best = (total, present)
    return best


async def _lock_base(base_id: int) -> None:
    """Hold the base's row until the transaction ends (PostgreSQL); SQLite's write transaction already serialises."""
    if isinstance(database(), PostgresEngine):
        await Table.raw("SELECT id FROM training_base WHERE id = {} FOR UPDATE", base_id)


def _listed(bookings: list[dict[str, Any]]) -> str:
    return "; ".join(f"{b['group_name']} {in_china(b['starts_at']):%H:%M}–{in_china(b['ends_at']):%H:%M} ({b['people']} people)"
                     for b in sorted(bookings, key=lambda b: _utc(b["starts_at"])))


async def _refuse_over_capacity(base: dict[str, Any], capacity: int) -> None:
    """Refuse a capacity smaller than the most people booked at once from now on (inside the caller's transaction)."""
    now = utc_now()
    coming = await Booking.select(Booking.id, Booking.group_name, Booking.people, Booking.starts_at, Booking.ends_at).where(
        (Booking.base == base["id"]) & (Booking.status == BookingStatus.booked.value) & (Booking.ends_at > now))
    if not coming:
        return
    taken, present = peak(coming, now, max(_utc(b["ends_at"]) for b in coming))
    if taken > capacity:
        busiest = max([now, *(_utc(b["starts_at"]) for b in present)])  # every booking present then has begun
        raise Conflict(f"{base['name_zh']} has {taken} people booked at once at {busiest.astimezone(CHINA):%Y-%m-%d %H:%M} "
                       f"({_listed(present)}): cancel or move bookings before lowering its capacity to {capacity}.",
                       code="capacity_below_bookings",
                       details=[{"booking": b["id"], "group_name": b["group_name"], "people": b["people"]} for b in present])


async def book(principal: Principal, code: str, data: BookingIn) -> BookingOut:
    """Book a group's visit, experience or session at a base, refusing what does not fit (see the module's docstring)."""
    base = await _base_row(principal, code, "training.manage")
    if not base["active"]:
        raise InvalidInput(f"{base['name_zh']} takes no bookings (it is not active).", code="base_inactive")
    if data.people > base["capacity"]:
        raise field_error("people", f"{data.people} people is more than the capacity of {base['name_zh']} ({base['capacity']} at once)")
    starts_at, ends_at = _when(base, data)
    session_id = None
    if data.session_code:
        session = await TrainingSession.select(TrainingSession.id, TrainingSession.base).where(
            TrainingSession.code == data.session_code).first()
        if session is None or session["base"] != base["id"]:
            raise field_error("session_code", f"no training session '{data.session_code}' held at {base['name_zh']}")
        session_id = session["id"]
    purpose = BookingPurpose.session if session_id else data.purpose
    async with write_transaction():
        await _lock_base(base["id"])
        capacity = (await TrainingBase.select(TrainingBase.capacity).where(TrainingBase.id == base["id"]).first())["capacity"]
        overlapping = await Booking.select(Booking.id, Booking.group_name, Booking.people, Booking.starts_at, Booking.ends_at).where(
            (Booking.base == base["id"]) & (Booking.status == BookingStatus.booked.value)
            & (Booking.starts_at < ends_at) & (Booking.ends_at > starts_at))
        taken, present = peak(overlapping, starts_at, ends_at)
        if taken + data.people > capacity:
            raise Conflict(f"{base['name_zh']} holds {capacity} at once; {taken} are already booked then ({_listed(present)}), so "
                           f"{data.people} more do not fit: at most {max(0, capacity - taken)}.", code="booking_conflict",
                           details=[{"booking": b["id"], "group_name": b["group_name"], "people": b["people"]} for b in present])
        rows = await Booking.insert(Booking(
            base=base["id"], unit_path=base["unit_path"], group_name=data.group_name, contact_name=data.contact_name,
            contact_phone=data.contact_phone, people=data.people, starts_at=starts_at, ends_at=ends_at, purpose=purpose.value,
            session=session_id, status=BookingStatus.booked.value, created_by=principal.user_id, created_at=utc_now())).returning(Booking.id)
        booking_id = rows[0]["id"]
        await accounts.record_audit(principal, "training.booking.create", "booking", str(booking_id), base["unit_path"],
                                    {"base": code, "group": data.group_name, "people": data.people, "starts_at": starts_at,
                                     "ends_at": ends_at, "purpose": purpose.value, "session": data.session_code})
    return await get_booking(principal, booking_id)


async def _booking_row(principal: Principal, booking_id: int) -> dict[str, Any]:
    row = await Booking.select(*_BOOKING_COLUMNS).where(Booking.id == booking_id).first()
    if row is None:
        raise NotFound(f"No booking #{booking_id}, or it is outside your scope.")
    authorize(principal, "training.view", row["unit_path"], hide=True)
    return row


async def get_booking(principal: Principal, booking_id: int) -> BookingOut:
    row = await _booking_row(principal, booking_id)
    return _booking_out(row, can(principal, "training.manage", row["unit_path"]))


async def cancel_booking(principal: Principal, booking_id: int, data: BookingCancelIn) -> BookingOut:
    row = await _booking_row(principal, booking_id)
    authorize(principal, "training.manage", row["unit_path"])
    async with write_transaction():
        current = await Booking.select(Booking.status).where(Booking.id == booking_id).first()
        if current["status"] == BookingStatus.cancelled.value:
            raise Conflict(f"The booking of {row['group_name']} is already cancelled.", code="already_cancelled")
        await Booking.update({Booking.status: BookingStatus.cancelled.value, Booking.cancelled_reason: data.reason}).where(
            Booking.id == booking_id)
        await accounts.record_audit(principal, "training.booking.cancel", "booking", str(booking_id), row["unit_path"],
                                    {"base": row["base_code"], "group": row["group_name"], "reason": data.reason})
    return await get_booking(principal, booking_id)


def _day_bounds(first: date, days: int) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(0), CHINA)
    return start.astimezone(UTC), (start + timedelta(days=days)).astimezone(UTC)


async def week(principal: Principal, code: str, week_of: date | None = None) -> BookingWeek:
    """A base's bookings (cancelled ones too, marked) in the week (Monday to Sunday, China time) holding ``week_of``."""
    row = await _base_row(principal, code)
    base = _base_out(row)
    monday = (week_of or china_today())
    monday -= timedelta(days=monday.weekday())
    start, end = _day_bounds(monday, 7)
    rows = await Booking.select(*_BOOKING_COLUMNS).where(
        (Booking.base == row["id"]) & (Booking.starts_at >= start) & (Booking.starts_at < end)).order_by(Booking.starts_at).order_by(Booking.id)
    show = can(principal, "training.manage", row["unit_path"])
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        mine = [r for r in rows if in_china(r["starts_at"]).date() == day]
        first, last = _day_bounds(day, 1)
        people, _ = peak([r for r in mine if r["status"] == BookingStatus.booked.value], first, last)
        days.append(BookingDay(day=day, weekday=day.isoweekday(), opening=base.opening.get(str(day.isoweekday())),
                               bookings=[_booking_out(r, show) for r in mine], people_peak=people))
    return BookingWeek(base=base, week_of=monday, days=days)


async def export_bookings(principal: Principal, *, base: str | None = None, since: date | None = None,
                          until: date | None = None) -> bytes:
    """Bookings within the caller's scopes (of one base, from ``since`` to ``until`` inclusive, China time) as .xlsx."""
    conditions = [c for c in (within(Booking.unit_path, _view_scopes(principal)),) if c is not None]
    if base:
        conditions.append(Booking.base == (await _base_row(principal, base))["id"])
    if since:
        conditions.append(Booking.starts_at >= _day_bounds(since, 1)[0])
    if until:
        conditions.append(Booking.starts_at < _day_bounds(until, 1)[1])
    query = Booking.select(*_BOOKING_COLUMNS).order_by(Booking.starts_at).order_by(Booking.id).limit(EXPORT_MAX)
    for condition in conditions:
        query = query.where(condition)
    rows = await query
    book_ = Workbook()
    book_.remove(book_.active)
    spreadsheets.add_sheet(book_, "预约", ["基地代码", "基地", "团体", "联系人", "联系电话", "人数", "开始", "结束", "目的", "培训班", "状态", "取消原因"],
           [[r["base_code"], r["base_name_zh"], r["group_name"], r["contact_name"],
             r["contact_phone"] if can(principal, "training.manage", r["unit_path"]) else mask_phone(r["contact_phone"]), r["people"],
             f"{in_china(r['starts_at']):%Y-%m-%d %H:%M}", f"{in_china(r['ends_at']):%H:%M}", PURPOSE_ZH.get(r["purpose"], r["purpose"]),
             r["session_code"] or "", "已预约" if r["status"] == BookingStatus.booked.value else "已取消", r["cancelled_reason"]]
            for r in rows])
    return spreadsheets.workbook_bytes(book_)

