"""Instructors (救护师资) and the examiner pool (教考分离) of first-aid training.

Instructors belong to a county or league Red Cross, full-time (专职) or part-time (兼职), with their qualification, its
expiry, their last refresher and a star grade (评星) kept with its history. Refresher training is due when the last
refresher (or, before any, the qualification) is more than ``REFRESHER_EVERY_MONTHS`` months old, or when the
qualification ends within ``QUALIFICATION_WARNING_DAYS`` days (or has ended). Each county is checked against the
seed's "at least ``FULL_TIME_PER_COUNTY`` full-time instructors" with one grouped query.

Examiners are kept by a county, league or region Red Cross; a person may be both. An examiner tied to a login is
granted the examiner role over their unit, so they sign in and enter the scores of the sittings they examine.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table
from pydantic import ValidationError

from rescueops import spreadsheets
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can, scopes_for
from rescueops.accounts.schemas import GrantIn
from rescueops.accounts.tables import Role, RoleAssignment, User
from rescueops.calendar import CHINA, add_months, china_today, utc_now
from rescueops.db import write_transaction
from rescueops.db.engine import database
from rescueops.db.pagination import PageParams
from rescueops.db.paths import under, within
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.members import service as members
from rescueops.members.identity import mask_id, parse_id_number
from rescueops.members.schemas import PersonIn
from rescueops.members.tables import Person
from rescueops.orgs.tables import OrgKind, OrgUnit
from rescueops.training.schemas import (
    FULL_TIME_PER_COUNTY,
    QUALIFICATION_WARNING_DAYS,
    REFRESHER_EVERY_MONTHS,
    ActiveChangeIn,
    CountyCheck,
    ExaminerIn,
    ExaminerOut,
    InstructorDetail,
    InstructorIn,
    InstructorOut,
    InstructorUpdate,
    StarChangeIn,
    StarOut,
    TeachingYear,
    _check_qualification,
    _PersonByIdNumber,
)
from rescueops.training.tables import Examiner, Instructor, InstructorKind, InstructorStar, SessionStatus

INSTRUCTOR_UNITS = (OrgKind.county.value, OrgKind.league.value)
EXAMINER_UNITS = (OrgKind.county.value, OrgKind.league.value, OrgKind.region.value)
EXPORT_MAX = 20000
KIND_ZH = {InstructorKind.full_time.value: "专职", InstructorKind.part_time.value: "兼职"}



def _view_scopes(principal: Principal) -> list[str]:
    scopes = scopes_for(principal, "training.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing first-aid training records.", code="forbidden")
    return scopes


async def _unit(code: str, kinds: tuple[str, ...], field: str = "unit_code") -> dict[str, Any]:
    unit = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.path, OrgUnit.kind, OrgUnit.name_zh).where(OrgUnit.code == code).first()
    if unit is None:
        raise field_error(field, f"no org unit '{code}'")
    if unit["kind"] not in kinds:
        raise field_error(field, f"{unit['name_zh']} ({code}) is a {unit['kind']}; this needs a {' or '.join(kinds)} Red Cross")
    return unit


async def _person_for(data: _PersonByIdNumber) -> int:
    """The person with this ID number, or a new one made from it (call inside the write transaction)."""
    found = await members.find_person_by_id_number(data.id_number)
    if found is not None:
        return found["id"]
    if not data.name:
        raise field_error("name", "no one with this ID number is known yet: give their name to register them")
    _, born, gender = parse_id_number(data.id_number)
    try:
        person = PersonIn(name=data.name, gender=gender, birth_date=born, id_number=data.id_number, phone=data.phone)
    except ValidationError as error:
        raise InvalidInput(f"person: {error.errors()[0]['msg'].removeprefix('Value error, ')}") from error
    return await members.insert_person(person)


# --- instructors --------------------------------------------------------------------------------------------


def refresher_state(row: dict[str, Any], on: date) -> str:
    """'expiring', 'refresher' or '' (not due) for an instructor row on ``on``."""
    expires = row["qualification_expires_on"]
    if expires is not None and expires <= on + timedelta(days=QUALIFICATION_WARNING_DAYS):
        return "expiring"
    if (row["last_refresher_on"] or row["qualified_on"]) < add_months(on, -REFRESHER_EVERY_MONTHS):
        return "refresher"
    return ""


def _due_condition(on: date) -> Any:
    cutoff, horizon = add_months(on, -REFRESHER_EVERY_MONTHS), on + timedelta(days=QUALIFICATION_WARNING_DAYS)
    return (Instructor.active == True) & (  # noqa: E712
        (Instructor.last_refresher_on.is_null() & (Instructor.qualified_on < cutoff))
        | (Instructor.last_refresher_on < cutoff)
        | (Instructor.qualification_expires_on <= horizon))


def _valid_condition(on: date) -> Any:
    return (Instructor.qualified_on <= on) & (Instructor.qualification_expires_on.is_null() | (Instructor.qualification_expires_on >= on))


_INSTRUCTOR_COLUMNS = (
    Instructor.all_columns(), Instructor.person.name.as_alias("name"), Instructor.person.id_number_last4.as_alias("last4"),
    Instructor.unit.code.as_alias("unit_code"), Instructor.unit.name_zh.as_alias("unit_name_zh"),
    Instructor.unit.name_en.as_alias("unit_name_en"),
)


def _instructor_out(row: dict[str, Any], on: date, year: dict[str, Any] | None = None) -> InstructorOut:
    state = refresher_state(row, on)
    valid = row["qualified_on"] <= on and (row["qualification_expires_on"] is None or row["qualification_expires_on"] >= on)
    return InstructorOut(
        id=row["id"], person_id=row["person"], name=row["name"], id_number=mask_id(row["last4"]), unit_code=row["unit_code"],
        unit_name_zh=row["unit_name_zh"], unit_name_en=row["unit_name_en"], kind=row["kind"],
        qualification_number=row["qualification_number"], qualified_on=row["qualified_on"],
        qualification_expires_on=row["qualification_expires_on"], last_refresher_on=row["last_refresher_on"], stars=row["stars"],
        active=row["active"], qualification_valid=valid, refresher_due=bool(state) and row["active"],
        refresher_due_reason=state if row["active"] else "",
        sessions_this_year=(year or {}).get("sessions", 0), hours_this_year=(year or {}).get("hours", Decimal(0)),
    )


def _year_expression(column: str) -> str:
    if isinstance(database(), SQLiteEngine):
        return f"CAST(strftime('%Y', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(YEAR FROM {column}) AS INTEGER)"


def _hours(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.1"))


async def teaching_in_year(instructor_ids: list[int], year: int) -> dict[int, dict[str, Any]]:
    """Per instructor, sessions taught and hours in ``year`` (by the session's start; cancelled sessions left out):
    one grouped query."""
    if not instructor_ids:
        return {}
    marks = ", ".join("{}" for _ in instructor_ids)
    rows = await Table.raw(
        "SELECT si.instructor AS instructor, COUNT(DISTINCT si.session) AS sessions, SUM(si.hours) AS hours"
        " FROM training_session_instructor si JOIN training_session s ON s.id = si.session"
        f" WHERE si.instructor IN ({marks}) AND s.status <> {{}} AND s.starts_on >= {{}} AND s.starts_on < {{}}"
        " GROUP BY si.instructor",
        *instructor_ids, SessionStatus.cancelled.value, date(year, 1, 1), date(year + 1, 1, 1))
    return {row["instructor"]: {"sessions": int(row["sessions"]), "hours": _hours(row["hours"])} for row in rows}


async def teaching_by_year(instructor_id: int) -> list[TeachingYear]:
    """Sessions taught and hours per year, newest first (cancelled sessions left out): one grouped query."""
    year = _year_expression("s.starts_on")
    rows = await Table.raw(
        f"SELECT {year} AS year, COUNT(DISTINCT si.session) AS sessions, SUM(si.hours) AS hours"
        " FROM training_session_instructor si JOIN training_session s ON s.id = si.session"
        f" WHERE si.instructor = {{}} AND s.status <> {{}} GROUP BY {year} ORDER BY {year} DESC",
        int(instructor_id), SessionStatus.cancelled.value)
    return [TeachingYear(year=int(r["year"]), sessions=int(r["sessions"]), hours=_hours(r["hours"])) for r in rows]


def _instructor_filters(scopes: list[str], *, unit_path: str | None, kind: InstructorKind | None, stars: int | None,
                        due: bool | None, active: bool | None, on: date) -> list[Any]:
    conditions = [c for c in (within(Instructor.unit_path, scopes),) if c is not None]
    if unit_path:
        conditions.append(under(Instructor.unit_path, unit_path))
    if kind is not None:
        conditions.append(Instructor.kind == InstructorKind(kind).value)
    if stars is not None:
        conditions.append(Instructor.stars == stars)
    if active is not None:
        conditions.append(Instructor.active == active)
    if due is True:
        conditions.append(_due_condition(on))
    elif due is False:
        conditions.append(Instructor.id.not_in(Instructor.select(Instructor.id).where(_due_condition(on))))
    return conditions


async def _filter_unit(unit_code: str | None) -> str | None:
    if not unit_code:
        return None
    unit = await OrgUnit.select(OrgUnit.path).where(OrgUnit.code == unit_code).first()
    if unit is None:
        raise field_error("unit", f"no org unit '{unit_code}'")
    return unit["path"]


async def list_instructors(principal: Principal, page: PageParams, *, unit: str | None = None, kind: InstructorKind | None = None,
                           stars: int | None = None, due: bool | None = None, active: bool | None = None,
                           on: date | None = None) -> tuple[list[InstructorOut], int]:
    """Instructors within the caller's scopes (optionally under ``unit``, of a kind, with a star grade, due for a
    refresher — active ones only — or active/inactive), by unit and name; sessions and hours of ``on``'s year."""
    on = on or china_today()
    conditions = _instructor_filters(_view_scopes(principal), unit_path=await _filter_unit(unit), kind=kind, stars=stars, due=due,
                                     active=active, on=on)
    query = Instructor.select(*_INSTRUCTOR_COLUMNS).order_by(Instructor.unit_path, Instructor.person.name, Instructor.id)
    count = Instructor.count()
    for condition in conditions:
        query, count = query.where(condition), count.where(condition)
    rows = await query.limit(page.limit).offset(page.offset)
    year = await teaching_in_year([r["id"] for r in rows], on.year)
    return [_instructor_out(r, on, year.get(r["id"])) for r in rows], await count


async def _instructor_row(instructor_id: int) -> dict[str, Any]:
    row = await Instructor.select(*_INSTRUCTOR_COLUMNS).where(Instructor.id == instructor_id).first()
    if row is None:
        raise NotFound(f"No instructor #{instructor_id}, or they are outside your scope.")
    return row


async def _visible_instructor(principal: Principal, instructor_id: int, action: str = "training.view") -> dict[str, Any]:
    row = await _instructor_row(instructor_id)
    authorize(principal, "training.view", row["unit_path"], hide=True)
    if action != "training.view":
        authorize(principal, action, row["unit_path"])
    return row


async def get_instructor(principal: Principal, instructor_id: int, *, on: date | None = None) -> InstructorDetail:
    on = on or china_today()
    row = await _visible_instructor(principal, instructor_id)
    history = await InstructorStar.select(InstructorStar.all_columns()).where(InstructorStar.instructor == instructor_id).order_by(
        InstructorStar.awarded_on, ascending=False).order_by(InstructorStar.id, ascending=False)
    names = {u["id"]: u["display_name"] for u in await User.select(User.id, User.display_name).where(
        User.id.is_in([h["by_user"] for h in history if h["by_user"]] or [-1]))}
    teaching = await teaching_by_year(instructor_id)
    this_year = next((t for t in teaching if t.year == on.year), None)
    base = _instructor_out(row, on, {"sessions": this_year.sessions, "hours": this_year.hours} if this_year else None)
    return InstructorDetail(**base.model_dump(), teaching=teaching, star_history=[
        StarOut(stars=h["stars"], awarded_on=h["awarded_on"], reason=h["reason"], by_user=h["by_user"],
                by_name=names.get(h["by_user"], "") if h["by_user"] else "", at=h["at"]) for h in history])


async def register_instructor(principal: Principal, data: InstructorIn) -> InstructorDetail:
    """Register a person (found or made by their ID number) as an instructor of a county or league Red Cross."""
    unit = await _unit(data.unit_code, INSTRUCTOR_UNITS)
    authorize(principal, "training.instructors", unit["path"])
    async with write_transaction():
        person_id = await _person_for(data)
        taken = await Instructor.select(Instructor.id, Instructor.unit.name_zh.as_alias("unit")).where(Instructor.person == person_id).first()
        if taken is not None:
            raise Conflict(f"This person is already instructor #{taken['id']} of {taken['unit']}; edit that record instead.",
                           code="already_instructor")
        rows = await Instructor.insert(Instructor(
            person=person_id, unit=unit["id"], unit_path=unit["path"], kind=data.kind.value, qualification_number=data.qualification_number,
            qualified_on=data.qualified_on, qualification_expires_on=data.qualification_expires_on,
            last_refresher_on=data.last_refresher_on, stars=data.stars, active=True, created_at=utc_now())).returning(Instructor.id)
        instructor_id = rows[0]["id"]
        if data.stars:
            await InstructorStar.insert(InstructorStar(instructor=instructor_id, stars=data.stars, awarded_on=china_today(),
                                                       reason="登记时的星级 star grade on registering", by_user=principal.user_id, at=utc_now()))
        await accounts.record_audit(principal, "training.instructor.register", "instructor", str(instructor_id), unit["path"],
                                    {"person": person_id, "unit": unit["code"], "kind": data.kind.value, "stars": data.stars,
                                     "qualification_number": data.qualification_number})
    return await get_instructor(principal, instructor_id)


async def update_instructor(principal: Principal, instructor_id: int, data: InstructorUpdate) -> InstructorDetail:
    row = await _visible_instructor(principal, instructor_id, "training.instructors")
    changes = data.model_dump(exclude_unset=True)
    values: dict[Any, Any] = {}
    if changes.get("unit_code") is not None and changes["unit_code"] != row["unit_code"]:
        unit = await _unit(changes["unit_code"], INSTRUCTOR_UNITS)
        authorize(principal, "training.instructors", unit["path"])
        values.update({Instructor.unit: unit["id"], Instructor.unit_path: unit["path"]})
    changes.pop("unit_code", None)
    if "qualified_on" in changes and changes["qualified_on"] is None:
        raise field_error("qualified_on", "an instructor has a qualification date")
    if changes.get("kind") is None:
        changes.pop("kind", None)
    if changes.get("qualification_number") is None:
        changes.pop("qualification_number", None)
    merged = {name: changes.get(name, row[name]) for name in ("qualified_on", "qualification_expires_on", "last_refresher_on")}
    try:
        _check_qualification(merged["qualified_on"], merged["qualification_expires_on"], merged["last_refresher_on"])
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        raise field_error(field, message) from error
    for name, value in changes.items():
        values[getattr(Instructor, name)] = value.value if isinstance(value, InstructorKind) else value
    if not values:
        raise InvalidInput("Nothing to change: give at least one field.", code="no_change")
    async with write_transaction():
        await Instructor.update(values).where(Instructor.id == instructor_id)
        await accounts.record_audit(principal, "training.instructor.update", "instructor", str(instructor_id), row["unit_path"],
                                    {column._meta.name: value for column, value in values.items()})
    return await get_instructor(principal, instructor_id)


async def set_instructor_active(principal: Principal, instructor_id: int, data: ActiveChangeIn) -> InstructorDetail:
    """Deactivate (or reactivate) an instructor, with the reason (audited)."""
    row = await _visible_instructor(principal, instructor_id, "training.instructors")
    if row["active"] == data.active:
        raise Conflict(f"{row['name']} is already {'active' if data.active else 'inactive'}.", code="no_change")
    async with write_transaction():
        await Instructor.update({Instructor.active: data.active}).where(Instructor.id == instructor_id)
        await accounts.record_audit(principal, "training.instructor." + ("reactivate" if data.active else "deactivate"), "instructor",
                                    str(instructor_id), row["unit_path"], {"reason": data.reason})
    return await get_instructor(principal, instructor_id)


async def change_stars(principal: Principal, instructor_id: int, data: StarChangeIn) -> InstructorDetail:
    """A star grade change (评星) with its date, reason and who: kept in the history; the current grade is the one
    awarded last (by date), so a change entered late for an earlier date does not replace a newer one."""
    row = await _visible_instructor(principal, instructor_id, "training.instructors")
    async with write_transaction():
        await InstructorStar.insert(InstructorStar(instructor=instructor_id, stars=data.stars, awarded_on=data.awarded_on,
                                                   reason=data.reason, by_user=principal.user_id, at=utc_now()))
        latest = await InstructorStar.select(InstructorStar.stars).where(InstructorStar.instructor == instructor_id).order_by(
            InstructorStar.awarded_on, ascending=False).order_by(InstructorStar.id, ascending=False).first()
        await Instructor.update({Instructor.stars: latest["stars"]}).where(Instructor.id == instructor_id)
        await accounts.record_audit(principal, "training.instructor.stars", "instructor", str(instructor_id), row["unit_path"],
                                    {"from": row["stars"], "stars": data.stars, "awarded_on": data.awarded_on, "reason": data.reason,
                                     "current": latest["stars"]})
    return await get_instructor(principal, instructor_id)


async def county_checks(principal: Principal, unit: str | None = None, *, on: date | None = None) -> list[CountyCheck]:
    """For each county (旗县区) within the caller's scopes (and under ``unit``): the active full-time instructors with a
    qualification valid on ``on``, against ``FULL_TIME_PER_COUNTY``. One grouped query."""
    on = on or china_today()
    scopes = _view_scopes(principal)
    narrowed = await _filter_unit(unit)
    params: list[Any] = [True, InstructorKind.full_time.value, on, on, OrgKind.county.value]
    where = ""
    ranges = [] if "/" in scopes else scopes
    if ranges:
        where += " AND (" + " OR ".join("(u.path >= {} AND u.path < {})" for _ in ranges) + ")"
        for scope in ranges:
            params += [scope, scope[:-1] + "0"]
    if narrowed:
        where += " AND u.path >= {} AND u.path < {}"
        params += [narrowed, narrowed[:-1] + "0"]
    rows = await Table.raw(
        "SELECT u.code AS code, u.name_zh AS name_zh, u.name_en AS name_en, COALESCE(l.code, '') AS league_code,"
        " COALESCE(l.name_zh, '') AS league_name_zh, COUNT(i.id) AS n"
        " FROM orgs_unit u LEFT JOIN orgs_unit l ON l.id = u.parent"
        " LEFT JOIN training_instructor i ON i.unit = u.id AND i.active = {} AND i.kind = {} AND i.qualified_on <= {}"
        " AND (i.qualification_expires_on IS NULL OR i.qualification_expires_on >= {})"
        f" WHERE u.kind = {{}}{where}"
        " GROUP BY u.id, u.code, u.name_zh, u.name_en, l.code, l.name_zh, u.path ORDER BY u.path", *params)
    return [CountyCheck(unit_code=r["code"], name_zh=r["name_zh"], name_en=r["name_en"], league_code=r["league_code"],
                        league_name_zh=r["league_name_zh"], full_time_valid=int(r["n"]), required=FULL_TIME_PER_COUNTY,
                        met=int(r["n"]) >= FULL_TIME_PER_COUNTY, short_by=max(0, FULL_TIME_PER_COUNTY - int(r["n"]))) for r in rows]


DUE_ZH = {"refresher": "超过12个月未复训", "expiring": "资格90天内到期或已到期", "": ""}


async def export_instructors(principal: Principal, *, unit: str | None = None, kind: InstructorKind | None = None,
                             stars: int | None = None, due: bool | None = None, active: bool | None = None) -> bytes:
    """The instructor list (same filters) and the county checks as an .xlsx workbook, Chinese headers; ID numbers masked."""
    on = china_today()
    items, _ = await list_instructors(principal, PageParams(limit=EXPORT_MAX), unit=unit, kind=kind, stars=stars, due=due, active=active, on=on)
    checks = await county_checks(principal, unit, on=on)
    book = Workbook()
    book.remove(book.active)
    spreadsheets.add_sheet(book, "师资", ["姓名", "身份证号", "单位", "类别", "资格证号", "取得资格", "资格有效期至", "最近复训", "星级", "状态",
                        "需复训", f"{on.year}年授课场次", f"{on.year}年课时"],
           [[i.name, i.id_number, i.unit_name_zh, KIND_ZH[i.kind.value], i.qualification_number, i.qualified_on,
             i.qualification_expires_on, i.last_refresher_on, i.stars, "在册" if i.active else "停用", DUE_ZH[i.refresher_due_reason],
             i.sessions_this_year, float(i.hours_this_year)] for i in items])
    spreadsheets.add_sheet(book, "旗县区专职师资", ["旗县区代码", "旗县区", "盟市", "有效专职师资", "要求", "达标", "差额"],
           [[c.unit_code, c.name_zh, c.league_name_zh, c.full_time_valid, c.required, "达标" if c.met else "未达标", c.short_by]
            for c in checks])
    return spreadsheets.workbook_bytes(book)


async def export_instructor(principal: Principal, instructor_id: int) -> bytes:
    """One instructor's page as .xlsx: the record, sessions and hours taught per year, and the star-grade history."""
    i = await get_instructor(principal, instructor_id)
    record = [["姓名", i.name], ["身份证号", i.id_number], ["所属红十字会", i.unit_name_zh], ["类别", KIND_ZH[i.kind.value]],
              ["资格证号", i.qualification_number], ["取得资格", i.qualified_on], ["资格有效期至", i.qualification_expires_on or ""],
              ["最近复训", i.last_refresher_on or ""], ["需复训", DUE_ZH[i.refresher_due_reason]], ["星级", i.stars],
              ["状态", "在册" if i.active else "停用"]]
    return spreadsheets.export([
        ("师资信息", ["项目", "内容"], record),
        ("授课统计", ["年度", "授课场次", "课时"], [[t.year, t.sessions, float(t.hours)] for t in i.teaching]),
        ("星级记录", ["评定日期", "星级", "原因", "评定人", "记录时间"],
         [[h.awarded_on, h.stars, h.reason, h.by_name, h.at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")] for h in i.star_history]),
    ])


# --- the examiner pool ------------------------------------------------------------------------------------


_EXAMINER_COLUMNS = (
    Examiner.all_columns(), Examiner.person.name.as_alias("name"), Examiner.person.id_number_last4.as_alias("last4"),
    Examiner.person.user.username.as_alias("username"), Examiner.unit.code.as_alias("unit_code"),
    Examiner.unit.name_zh.as_alias("unit_name_zh"), Examiner.unit.name_en.as_alias("unit_name_en"),
)


def _examiner_out(row: dict[str, Any], on: date, instructors: set[int]) -> ExaminerOut:
    valid = row["active"] and (row["qualified_until"] is None or row["qualified_until"] >= on)
    return ExaminerOut(
        id=row["id"], person_id=row["person"], name=row["name"], id_number=mask_id(row["last4"]), unit_code=row["unit_code"],
        unit_name_zh=row["unit_name_zh"], unit_name_en=row["unit_name_en"], qualification_number=row["qualification_number"],
        qualified_until=row["qualified_until"], active=row["active"], valid=valid, username=row["username"],
        also_instructor=row["person"] in instructors)


async def _instructor_people(person_ids: list[int]) -> set[int]:
    rows = await Instructor.select(Instructor.person).where(Instructor.person.is_in(person_ids or [-1]))
    return {r["person"] for r in rows}


async def list_examiners(principal: Principal, page: PageParams, *, unit: str | None = None,
                         active: bool | None = None) -> tuple[list[ExaminerOut], int]:
    on = china_today()
    conditions = [c for c in (within(Examiner.unit_path, _view_scopes(principal)),) if c is not None]
    narrowed = await _filter_unit(unit)
    if narrowed:
        conditions.append(under(Examiner.unit_path, narrowed))
    if active is not None:
        conditions.append(Examiner.active == active)
    query = Examiner.select(*_EXAMINER_COLUMNS).order_by(Examiner.unit_path, Examiner.person.name, Examiner.id)
    count = Examiner.count()
    for condition in conditions:
        query, count = query.where(condition), count.where(condition)
    rows = await query.limit(page.limit).offset(page.offset)
    instructors = await _instructor_people([r["person"] for r in rows])
    return [_examiner_out(r, on, instructors) for r in rows], await count


async def get_examiner(principal: Principal, examiner_id: int) -> ExaminerOut:
    row = await Examiner.select(*_EXAMINER_COLUMNS).where(Examiner.id == examiner_id).first()
    if row is None:
        raise NotFound(f"No examiner #{examiner_id}, or they are outside your scope.")
    authorize(principal, "training.view", row["unit_path"], hide=True)
    return _examiner_out(row, china_today(), await _instructor_people([row["person"]]))


async def _login_for(principal: Principal, username: str, person_id: int) -> dict[str, Any]:
    user = await User.select(User.id, User.username, User.home_unit.path.as_alias("home_path")).where(User.username == username).first()
    if user is None:
        raise field_error("username", f"no login '{username}'; create the account first")
    if not can(principal, "training.instructors", user["home_path"] or "/"):
        raise field_error("username", f"the login '{username}' belongs to a unit outside your scope")
    other = await Person.select(Person.id, Person.name).where((Person.user == user["id"]) & (Person.id != person_id)).first()
    if other is not None:
        raise Conflict(f"The login '{username}' already belongs to {other['name']}.", code="account_taken")
    return user


async def register_examiner(principal: Principal, data: ExaminerIn) -> ExaminerOut:
    """Put a person (found or made by their ID number) in a Red Cross's examiner pool; with ``username``, tie that login to
    them and grant it the examiner role over the unit."""
    unit = await _unit(data.unit_code, EXAMINER_UNITS)
    authorize(principal, "training.instructors", unit["path"])
    async with write_transaction():
        person_id = await _person_for(data)
        taken = await Examiner.select(Examiner.id, Examiner.unit.name_zh.as_alias("unit")).where(Examiner.person == person_id).first()
        if taken is not None:
            raise Conflict(f"This person is already examiner #{taken['id']} in the pool of {taken['unit']}.", code="already_examiner")
        user = None
        if data.username:
            user = await _login_for(principal, data.username, person_id)
            linked = await Person.select(Person.user.username.as_alias("username")).where(
                (Person.id == person_id) & Person.user.is_not_null()).first()
            if linked is not None and linked["username"] != data.username:
                raise Conflict(f"This person's record is tied to the login '{linked['username']}' already.", code="account_taken")
        rows = await Examiner.insert(Examiner(
            person=person_id, unit=unit["id"], unit_path=unit["path"], qualification_number=data.qualification_number,
            qualified_until=data.qualified_until, active=True, created_at=utc_now())).returning(Examiner.id)
        examiner_id = rows[0]["id"]
        if user is not None:
            await Person.update({Person.user: user["id"]}).where(Person.id == person_id)
            held = await RoleAssignment.exists().where((RoleAssignment.user == user["id"]) & (RoleAssignment.role == Role.examiner.value)
                                                      & (RoleAssignment.unit == unit["id"]))
            if not held:
                # Granted on the pool keeper's authority (training.instructors over the unit), who may not hold users.manage.
                await accounts.grant_role(None, user["id"], GrantIn(role=Role.examiner, unit_code=unit["code"]))
        await accounts.record_audit(principal, "training.examiner.register", "examiner", str(examiner_id), unit["path"],
                                    {"person": person_id, "unit": unit["code"], "qualification_number": data.qualification_number,
                                     "qualified_until": data.qualified_until, "username": data.username})
    return await get_examiner(principal, examiner_id)


async def set_examiner_active(principal: Principal, examiner_id: int, data: ActiveChangeIn) -> ExaminerOut:
    """Take an examiner out of the pool (or back), with the reason (audited). Their login keeps its role: an inactive
    examiner is refused on new sittings by the exams part."""
    row = await Examiner.select(Examiner.id, Examiner.active, Examiner.unit_path, Examiner.person.name.as_alias("name")).where(
        Examiner.id == examiner_id).first()
    if row is None:
        raise NotFound(f"No examiner #{examiner_id}, or they are outside your scope.")
    authorize(principal, "training.view", row["unit_path"], hide=True)
    authorize(principal, "training.instructors", row["unit_path"])
    if row["active"] == data.active:
        raise Conflict(f"{row['name']} is already {'active' if data.active else 'inactive'} in the pool.", code="no_change")
    async with write_transaction():
        await Examiner.update({Examiner.active: data.active}).where(Examiner.id == examiner_id)
        await accounts.record_audit(principal, "training.examiner." + ("reactivate" if data.active else "deactivate"), "examiner",
                                    str(examiner_id), row["unit_path"], {"reason": data.reason})
    return await get_examiner(principal, examiner_id)


async def export_examiners(principal: Principal, *, unit: str | None = None, active: bool | None = None) -> bytes:
    items, _ = await list_examiners(principal, PageParams(limit=EXPORT_MAX), unit=unit, active=active)
    book = Workbook()
    book.remove(book.active)
    spreadsheets.add_sheet(book, "考核员", ["姓名", "身份证号", "所属红十字会", "资格证号", "资格有效期至", "状态", "登录账号", "同为师资"],
           [[e.name, e.id_number, e.unit_name_zh, e.qualification_number, e.qualified_until,
             ("有效" if e.valid else "资格已过期") if e.active else "停用", e.username or "", "是" if e.also_instructor else ""]
            for e in items])
    return spreadsheets.workbook_bytes(book)

