"""Yearly targets (任务分配表) and progress against them and the population: the running tally and the pages' counts.

Two tallies are kept in the caller's transaction by set-based statements per change (an issue run, a revocation, an
awareness report): by unit, organisation and sector for the target lines, and by subtree (each count at its unit and at
every unit above it) for the figures and breakdowns, so a progress page sums at most a row per child, kind and month
instead of millions of certificates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from piccolo.table import Table

from rescueops import spreadsheets, uploads
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can
from rescueops.calendar import china_today, utc_now
from rescueops.db.engine import database, write_transaction
from rescueops.db.paths import scopes_sql, under
from rescueops.equipment.tables import Aed
from rescueops.errors import InvalidInput, NotFound, field_error
from rescueops.orgs.tables import OrgKind, OrgUnit
from rescueops.training import targets_file
from rescueops.training.schemas import (
    ChildProgressOut,
    Figures,
    GoalOut,
    ProgressOut,
    TargetImportLine,
    TargetImportProblem,
    TargetImportReport,
    TargetLineEdit,
    TargetLineOut,
    TargetTableOut,
    UnitLink,
)
from rescueops.training.tables import CERTIFIED_KINDS, CourseKind, Organisation, Sector, Target

NO_EXPIRY = "9999-12-01"


def _no_expiry() -> str:
    """SQL for the no-expiry sentinel as a date (a bare literal in a sub-select would be text to PostgreSQL)."""
    return f"DATE '{NO_EXPIRY}'" if database().engine_type == "postgres" else f"'{NO_EXPIRY}'"


def _month(column: str) -> str:
    """SQL for the first day of ``column``'s month, on either engine."""
    if database().engine_type == "postgres":
        return f"CAST(date_trunc('month', {column}) AS date)"
    return f"date({column}, 'start of month')"


_TALLY_KEY = "unit_path, organisation, sector, kind, month, expires_month"
_SUBTREE_KEY = "unit_path, kind, month, expires_month"


def _adding(table: str, key: str) -> str:
    return (f" ON CONFLICT ({key}) DO UPDATE SET certificates = {table}.certificates + excluded.certificates,"
            f" attendances = {table}.attendances + excluded.attendances")


def subtree_sums_sql(rows_sql: str) -> str:
    """An INSERT adding up the rows of ``rows_sql`` (unit_path, kind, month, expires_month, certificates, attendances) into
    the subtree tally: each row counted at its unit and at every unit above it."""
    return (f"INSERT INTO training_subtree_tally ({_SUBTREE_KEY}, certificates, attendances)"
            f" SELECT s.scope, r.kind, r.month, r.expires_month, SUM(r.certificates), SUM(r.attendances) FROM ({rows_sql}) AS r"
            f" JOIN ({scopes_sql(f'SELECT DISTINCT unit_path AS path FROM ({rows_sql}) AS d')}) AS s ON s.unit_path = r.unit_path"
            " GROUP BY s.scope, r.kind, r.month, r.expires_month")


async def _count(changes_sql: str, *args: Any) -> None:
    """Add the rows of ``changes_sql`` (unit_path, organisation, sector, kind, month, expires_month, certificates,
    attendances; one per certificate or session, bound to ``args``) to the tally and to the subtree tally."""
    await Table.raw(f"INSERT INTO training_tally ({_TALLY_KEY}, certificates, attendances)"
                    f" SELECT {_TALLY_KEY}, SUM(certificates), SUM(attendances) FROM ({changes_sql}) AS changes GROUP BY {_TALLY_KEY}"
                    + _adding("training_tally", _TALLY_KEY), *args)
    await Table.raw(subtree_sums_sql(changes_sql) + _adding("training_subtree_tally", _SUBTREE_KEY), *args, *args)


async def tally_certificates(certificate_ids: Sequence[int], sign: int) -> None:
    """Count certificates in (``sign`` 1, on issue) or out (``sign`` -1, on revocation), inside the caller's transaction."""
    if not certificate_ids:
        return
    if sign not in (1, -1):
        raise ValueError("sign is 1 or -1")
    ids = ", ".join(str(int(i)) for i in certificate_ids)
    await _count(
        "SELECT c.unit_path AS unit_path, COALESCE(s.organisation, 0) AS organisation, s.sector AS sector, c.kind AS kind,"
        f" {_month('c.issued_on')} AS month, COALESCE({_month('c.expires_on')}, {_no_expiry()}) AS expires_month,"
        f" {sign} AS certificates, 0 AS attendances"
        f" FROM training_certificate c JOIN training_session s ON s.id = c.session WHERE c.id IN ({ids})")


async def tally_attendance(session_id: int, delta: int) -> None:
    """Add ``delta`` heads (negative to correct) to an awareness session's month, inside the caller's transaction."""
    if delta == 0:
        return
    await _count(
        "SELECT s.unit_path AS unit_path, COALESCE(s.organisation, 0) AS organisation, s.sector AS sector, c.kind AS kind,"
        f" {_month('s.starts_on')} AS month, {_no_expiry()} AS expires_month, 0 AS certificates, {int(delta)} AS attendances"
        " FROM training_session s JOIN training_course_version v ON v.id = s.course_version"
        " JOIN training_course c ON c.id = v.course WHERE s.id = {}", int(session_id))


# --- the plans' goals ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """A goal of the plans, with where it is written."""

    code: str
    value: float
    by_year: int
    source: str


_SEED_000 = "翁牛特旗关于促进应急救护工作高质量发展的实施方案（2025，据内政办发〔2024〕35号）"
CERTIFIED_SHARE = Goal("certified_share", 4.2, 2030, f"{_SEED_000} 一、总体要求：2030年取证人数占“七普”人口比例达到4.2%以上")
AWARENESS_SHARE = Goal("awareness_share", 30.0, 2030, f"{_SEED_000} 一、总体要求：2030年普及率累计达到“七普”人口比例的30%以上")
RESCUE_FORCES_CERTIFIED = Goal("rescue_forces_certified", 80.0, 2030,
                               f"{_SEED_000} 二（一）9 “救在身边·救援先锋”：到2030年取得红十字救护员证书比例不低于80%")
AEDS_PER_100K = Goal("aeds_per_100k", 30.0, 2030, f"{_SEED_000} 一、总体要求：到2030年，公共场所AED机设置达到每10万人30台")
FIRST_AIDERS_PER_AED = Goal("first_aiders_per_aed", 10.0, 2030, f"{_SEED_000} 二（三）3：按照至少1:10的比例培训取证救护员")
GOALS = (CERTIFIED_SHARE, AWARENESS_SHARE, RESCUE_FORCES_CERTIFIED, AEDS_PER_100K, FIRST_AIDERS_PER_AED)

YEARS = (2000, 2100)  # the years a target table may be for
_CERTIFIED = ", ".join(f"'{kind.value}'" for kind in CERTIFIED_KINDS)
_JUNIOR, _AWARENESS = CourseKind.junior_first_aider.value, CourseKind.awareness.value
_LINE_KINDS = (OrgKind.region, OrgKind.league, OrgKind.county)  # what a unit line or a child in the breakdown may be


def _raw(sql: str, **params: Any) -> Any:
    """``Table.raw`` with named parameters (``:name``), each bound as often as it appears."""
    args: list[Any] = []

    def bind(match: re.Match[str]) -> str:
        args.append(params[match.group(1)])
        return "{}"

    return Table.raw(re.sub(r":(\w+)", bind, sql), *args)


def _upper(path: str) -> str:
    return path[:-1] + "0"


def _year(year: int) -> tuple[date, date]:
    if not YEARS[0] <= year <= YEARS[1]:
        raise field_error("year", f"a year between {YEARS[0]} and {YEARS[1]}")
    return date(year, 1, 1), date(year + 1, 1, 1)


def _figures(row: dict[str, Any] | None) -> Figures:
    row = row or {}
    return Figures(certified=int(row.get("certified") or 0), junior=int(row.get("junior") or 0), awareness=int(row.get("awareness") or 0))


def _add(*parts: Figures) -> Figures:
    return Figures(certified=sum(p.certified for p in parts), junior=sum(p.junior for p in parts), awareness=sum(p.awareness for p in parts))


async def _unit(code: str) -> dict[str, Any]:
    row = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.kind, OrgUnit.path, OrgUnit.parent, OrgUnit.name_zh, OrgUnit.name_en,
                               OrgUnit.population_2020).where(OrgUnit.code == code).first()
    if row is None:
        raise NotFound(f"No organisation unit with code '{code}'.")
    return row


# In-year figures of the tally rows in scope (``y`` is either tally).
_IN_YEAR = f"""
    SUM(CASE WHEN y.kind IN ({_CERTIFIED}) AND y.month >= :start AND y.month < :end THEN y.certificates ELSE 0 END) AS certified,
    SUM(CASE WHEN y.kind = '{_JUNIOR}' AND y.month >= :start AND y.month < :end THEN y.certificates ELSE 0 END) AS junior,
    SUM(CASE WHEN y.kind = '{_AWARENESS}' AND y.month >= :start AND y.month < :end THEN y.attendances ELSE 0 END) AS awareness"""
# Figures on the day: certificates valid in the current month (issued by it, expiring in a later month) and every awareness
# attendance so far.
_ON_DAY = f"""
    SUM(CASE WHEN y.kind IN ({_CERTIFIED}) AND y.month <= :this_month AND y.expires_month > :this_month
             THEN y.certificates ELSE 0 END) AS valid,
    SUM(CASE WHEN y.kind = '{_AWARENESS}' AND y.month <= :this_month THEN y.attendances ELSE 0 END) AS awareness_all"""


def _families_sql() -> str:
    pairs = [(line, counted) for line in Sector for counted in targets_file.family(line)]
    return " UNION ALL ".join(f"SELECT '{line.value}' AS line_sector, '{counted.value}' AS sector" for line, counted in pairs)


async def _line_actuals(unit: dict[str, Any], year: int) -> dict[int, Figures]:
    """Each target line's achievement in the year, in one statement: a unit line counts the tally under that unit, an
    organisation line its organisation, a sector line its sector family within the allocating unit's subtree (these two
    need the tally by organisation and sector; a unit line reads its unit's rows of the subtree tally)."""
    start, end = _year(year)
    in_year = "y.month >= :start AND y.month < :end"
    rows = await _raw(f"""
        WITH fam AS ({_families_sql()}),
        lines AS (SELECT t.id, t.line_unit, t.organisation, t.sector FROM training_target t WHERE t.unit = :unit AND t.year = :year),
        hits AS (
            SELECT l.id AS id, y.kind, y.month, y.certificates, y.attendances
            FROM lines l JOIN orgs_unit lu ON lu.id = l.line_unit JOIN training_subtree_tally y
              ON y.unit_path = lu.path AND {in_year}
            UNION ALL
            SELECT l.id, y.kind, y.month, y.certificates, y.attendances
            FROM lines l JOIN training_tally y
              ON y.organisation = l.organisation AND y.unit_path >= :lo AND y.unit_path < :hi AND {in_year}
            UNION ALL
            SELECT l.id, y.kind, y.month, y.certificates, y.attendances
            FROM lines l JOIN fam f ON f.line_sector = l.sector JOIN training_tally y
              ON y.sector = f.sector AND y.unit_path >= :lo AND y.unit_path < :hi AND {in_year})
        SELECT y.id AS id, {_IN_YEAR} FROM hits y GROUP BY y.id""",
                      start=start, end=end, lo=unit["path"], hi=_upper(unit["path"]), unit=unit["id"], year=year)
    return {row["id"]: _figures(row) for row in rows}


_LINE_COLUMNS = (Target.id, Target.label, Target.line_unit, Target.organisation, Target.sector, Target.certified, Target.junior,
                 Target.awareness, Target.imported_at, Target.line_unit.code.as_alias("line_unit_code"),
                 Target.line_unit.name_zh.as_alias("line_unit_name"), Target.organisation.name.as_alias("organisation_name"))


def _line_kind(row: dict[str, Any]) -> str:
    return "unit" if row["line_unit"] else "organisation" if row["organisation"] else "sector"


async def _lines(unit: dict[str, Any], year: int) -> tuple[list[TargetLineOut], datetime | None]:
    rows = await Target.select(*_LINE_COLUMNS).where((Target.unit == unit["id"]) & (Target.year == year)).order_by(Target.id)
    actuals = await _line_actuals(unit, year) if rows else {}
    lines = [TargetLineOut(
        id=row["id"], label=row["label"], line_kind=_line_kind(row), line_unit_code=row["line_unit_code"],
        line_unit_name=row["line_unit_name"], organisation_id=row["organisation"], organisation_name=row["organisation_name"],
        sector=row["sector"], target=_figures(row), actual=actuals.get(row["id"], Figures())) for row in rows]
    imported = max((row["imported_at"] for row in rows), default=None)
    return lines, imported


async def _unit_actual(unit: dict[str, Any], year: int) -> Figures:
    start, end = _year(year)
    rows = await _raw(f"SELECT {_IN_YEAR} FROM training_subtree_tally y WHERE y.unit_path = :path",
                      start=start, end=end, path=unit["path"])
    return _figures(rows[0] if rows else None)


async def target_table(principal: Principal, unit_code: str, year: int) -> TargetTableOut:
    """A unit's allocation table for a year, each line with what was achieved against it."""
    unit = await _unit(unit_code)
    authorize(principal, "training.view", unit["path"])
    lines, imported = await _lines(unit, year)
    return TargetTableOut(year=year, unit_code=unit["code"], unit_name_zh=unit["name_zh"], unit_name_en=unit["name_en"], lines=lines,
                          total=_add(*(line.target for line in lines)), actual=await _unit_actual(unit, year), imported_at=imported)


async def edit_target(principal: Principal, target_id: int, data: TargetLineEdit) -> TargetTableOut:
    """Change one line's numbers."""
    row = await Target.select(Target.id, Target.year, Target.unit_path, Target.label, Target.certified, Target.junior, Target.awareness,
                              Target.unit.code.as_alias("unit_code")).where(Target.id == target_id).first()
    if row is None:
        raise NotFound(f"No target line #{target_id}.")
    authorize(principal, "training.targets", row["unit_path"], hide=not can(principal, "training.view", row["unit_path"]))
    before = {key: row[key] for key in ("certified", "junior", "awareness")}
    async with write_transaction():
        await Target.update({Target.certified: data.certified, Target.junior: data.junior, Target.awareness: data.awareness}).where(
            Target.id == target_id)
        await accounts.record_audit(principal, "training.target.edit", "training_target", str(target_id), row["unit_path"],
                                    {"year": row["year"], "label": row["label"], "before": before, "after": data.model_dump()})
    return await target_table(principal, row["unit_code"], row["year"])


# --- importing an allocation table -------------------------------------------------------------------------------------


def _variants(label: str) -> list[str]:
    """The names a line may go by: "高新区（城东街道）" is also 高新区 and 城东街道."""
    name = targets_file.normalise(label)
    found = [name]
    match = re.fullmatch(r"(.+?)（(.+)）", name)
    if match:
        found += [match.group(1), match.group(2)]
    return found


async def _match(unit: dict[str, Any], parsed: targets_file.ParsedTable) -> tuple[list[TargetImportLine], list[TargetImportProblem]]:
    """Each line matched to a child unit, an organisation registered under the unit, or a sector; problems by row and column."""
    problems = [TargetImportProblem(row=r, column=c, message=m) for r, c, m in parsed.problems]
    bad_rows = {p.row for p in problems}
    children = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name_zh).where(
        (OrgUnit.parent == unit["id"]) & OrgUnit.kind.is_in([k.value for k in _LINE_KINDS]))
    by_name = {targets_file.normalise(c["name_zh"]): c for c in children} | {c["code"]: c for c in children}
    organisations: dict[str, list[dict[str, Any]]] = {}
    for row in await Organisation.select(Organisation.id, Organisation.name, Organisation.unit.name_zh.as_alias("county")).where(
            under(Organisation.unit_path, unit["path"])):
        organisations.setdefault(targets_file.normalise(row["name"]), []).append(row)
    column = targets_file.SHORT[targets_file.LABEL]
    lines: list[TargetImportLine] = []
    seen_label: dict[str, int] = {}
    seen_key: dict[tuple[str, Any], int] = {}
    for line in parsed.lines:
        name = targets_file.normalise(line.label)
        if name in seen_label:
            problems.append(TargetImportProblem(row=line.row, column=column, message=f"'{line.label}' is given twice (row {seen_label[name]})"))
            continue
        seen_label[name] = line.row
        child = next((by_name[v] for v in _variants(line.label) if v in by_name), None)
        found = next((organisations[v] for v in _variants(line.label) if v in organisations), None)
        sector = targets_file.sector_of(line.label)
        if child is not None:
            key, matched = ("unit", child["id"]), child["name_zh"]
            out = {"line_kind": "unit", "line_unit_code": child["code"]}
        elif found and len(found) > 1:
            problems.append(TargetImportProblem(row=line.row, column=column, message=(
                f"'{line.label}' names {len(found)} organisations (under {', '.join(sorted(o['county'] for o in found))}): "
                "write the allocation in each county's own table")))
            continue
        elif found:
            key, matched = ("organisation", found[0]["id"]), found[0]["name"]
            out = {"line_kind": "organisation", "organisation_id": found[0]["id"]}
        elif sector is not None:
            key, matched = ("sector", sector.value), sector.value
            out = {"line_kind": "sector", "sector": sector.value}
        else:
            problems.append(TargetImportProblem(row=line.row, column=column, message=(
                f"'{line.label}' is not a unit under {unit['name_zh']}, an organisation registered under it, or a sector "
                "(教育局, 机关事业单位, 企业, or one of the ten 救在身边 actions)")))
            continue
        if key in seen_key:
            problems.append(TargetImportProblem(row=line.row, column=column,
                                                message=f"'{line.label}' is the same {key[0]} as row {seen_key[key]}"))
            continue
        seen_key[key] = line.row
        if line.row not in bad_rows:
            lines.append(TargetImportLine(row=line.row, label=line.label, matched=matched, target=Figures(**line.values), **out))
    return lines, sorted(problems, key=lambda p: (p.row, p.column))


async def _read_targets(principal: Principal, unit_code: str, year: int, file_name: str, content: bytes,
                        ) -> tuple[dict[str, Any], TargetImportReport, list[TargetImportLine]]:
    unit = await _unit(unit_code)
    authorize(principal, "training.targets", unit["path"])
    _year(year)
    file_name = uploads.display_name(file_name, "targets")
    try:
        parsed = targets_file.read(file_name, content)
    except targets_file.TargetsFileError as error:
        raise InvalidInput(f"{file_name}: {error}", code="bad_targets_file") from error
    if not parsed.lines and not parsed.problems:
        raise InvalidInput(f"{file_name}: the table has no lines", code="bad_targets_file")
    lines, problems = await _match(unit, parsed)
    report = TargetImportReport(year=year, unit_code=unit["code"], file_name=file_name, lines=lines, errors=problems,
                                total=_add(*(line.target for line in lines)))
    return unit, report, lines


async def check_targets_file(principal: Principal, unit_code: str, year: int, file_name: str, content: bytes) -> TargetImportReport:
    """Read and match an allocation table: the preview. Nothing is written."""
    _, report, _ = await _read_targets(principal, unit_code, year, file_name, content)
    return report


async def import_targets(principal: Principal, unit_code: str, year: int, file_name: str, content: bytes) -> TargetImportReport:
    """Write a table: all its lines, replacing the unit's lines for that year, in one transaction; nothing on any problem."""
    unit, report, lines = await _read_targets(principal, unit_code, year, file_name, content)
    if report.errors:
        raise InvalidInput(f"{len(report.errors)} problems in {len({e.row for e in report.errors})} rows: nothing was imported. "
                           "Correct the file and upload it again.", code="targets_have_errors",
                           details=[e.model_dump() for e in report.errors[:200]])
    units = {row["code"]: row["id"] for row in await OrgUnit.select(OrgUnit.id, OrgUnit.code).where(
        OrgUnit.code.is_in([line.line_unit_code for line in lines if line.line_unit_code] or ["-"]))}
    now = utc_now()
    async with write_transaction():
        replaced = await Target.count().where((Target.unit == unit["id"]) & (Target.year == year))
        await Target.delete().where((Target.unit == unit["id"]) & (Target.year == year))
        await Target.insert(*[Target(
            year=year, unit=unit["id"], unit_path=unit["path"], label=line.label[:100],
            line_unit=units.get(line.line_unit_code) if line.line_unit_code else None, organisation=line.organisation_id,
            sector=line.sector, certified=line.target.certified, junior=line.target.junior, awareness=line.target.awareness,
            imported_by=principal.user_id, imported_at=now) for line in lines])
        await accounts.record_audit(principal, "training.targets.import", "training_target", f"{unit['code']}:{year}", unit["path"],
                                    {"file": report.file_name, "lines": len(lines), "replaced": replaced, "total": report.total.model_dump()})
    return report.model_copy(update={"committed": True, "replaced": replaced})


async def targets_template(principal: Principal, unit_code: str, year: int) -> bytes:
    """The Jiangyin-shaped table for a unit: its child units, then the three sectors of the Jiangyin table."""
    unit = await _unit(unit_code)
    authorize(principal, "training.view", unit["path"])
    _year(year)
    children = await OrgUnit.select(OrgUnit.name_zh).where(
        (OrgUnit.parent == unit["id"]) & OrgUnit.kind.is_in([k.value for k in _LINE_KINDS])).order_by(OrgUnit.path)
    return targets_file.template(year, unit["name_zh"], [c["name_zh"] for c in children] + ["教育局", "机关事业单位", "企业"])


def _matched_zh(line: TargetLineOut) -> str:
    if line.line_kind == "unit":
        return line.line_unit_name or ""
    if line.line_kind == "organisation":
        return line.organisation_name or ""
    return targets_file.SECTOR_ZH.get(line.sector or "", line.sector or "")


def _percent(actual: int, target: int) -> float | None:
    return round(100 * actual / target, 1) if target else None


async def targets_xlsx(principal: Principal, unit_code: str, year: int) -> bytes:
    table = await target_table(principal, unit_code, year)
    header = ["序号", "单位", "对应", "持证培训目标", "持证培训完成", "完成率%", "初级救护员目标", "初级救护员完成", "普及培训目标", "普及培训完成"]
    rows = [[n, line.label, _matched_zh(line), line.target.certified, line.actual.certified,
             _percent(line.actual.certified, line.target.certified), line.target.junior, line.actual.junior, line.target.awareness,
             line.actual.awareness] for n, line in enumerate(table.lines, start=1)]
    rows.append(["合计", "", "", table.total.certified, table.actual.certified, _percent(table.actual.certified, table.total.certified),
                 table.total.junior, table.actual.junior, table.total.awareness, table.actual.awareness])
    return spreadsheets.export([(f"{table.unit_name_zh}{year}年任务分配表", header, rows)])


# --- progress against the targets and the population --------------------------------------------------------------------


def _populations(units: list[dict[str, Any]]) -> dict[int, tuple[int | None, bool]]:
    """Per unit id: its 2020 population, or its children's added up when it has none (True then); None when unknown."""
    children: dict[int, list[dict[str, Any]]] = {}
    for row in units:
        children.setdefault(row["parent"], []).append(row)
    found: dict[int, tuple[int | None, bool]] = {}

    def of(row: dict[str, Any]) -> int | None:
        if row["id"] in found:
            return found[row["id"]][0]
        if row["population_2020"] is not None:
            found[row["id"]] = (row["population_2020"], False)
        else:
            parts = [p for p in (of(child) for child in children.get(row["id"], [])) if p is not None]
            found[row["id"]] = (sum(parts) if parts else None, True)
        return found[row["id"]][0]

    for row in sorted(units, key=lambda r: -len(r["path"])):  # deepest first: no deep recursion
        of(row)
    return found


async def _breakdown(unit: dict[str, Any], children: list[dict[str, Any]], year: int, this_month: date) -> dict[str, dict[str, Any]]:
    """The figures of each child (keyed by its path) and of the unit's own sessions (keyed by the unit's path: its subtree
    less its children's) in one GROUP BY over the subtree tally's rows of the unit and its children."""
    paths = {f"p{n}": path for n, path in enumerate([unit["path"], *(child["path"] for child in children)])}
    start, end = _year(year)
    rows = await _raw(f"""SELECT y.unit_path AS p, {_IN_YEAR}, {_ON_DAY} FROM training_subtree_tally y
                          WHERE y.unit_path IN ({", ".join(f":{name}" for name in paths)}) GROUP BY y.unit_path""",
                      start=start, end=end, this_month=this_month, **paths)
    found = {row["p"]: row for row in rows}
    total = found.pop(unit["path"], {})
    keys = ("certified", "junior", "awareness", "valid", "awareness_all")
    found[unit["path"]] = {key: int(total.get(key) or 0) - sum(int(row[key] or 0) for row in found.values()) for key in keys}
    return found


async def _rescue_forces(path: str, on: date) -> tuple[int, int]:
    """Active members on the rescue-team rosters under ``path``, and how many of them hold a first-aid certificate valid on ``on``."""
    rows = await _raw("""
        SELECT COUNT(*) AS members, COALESCE(SUM(CASE WHEN EXISTS (
            SELECT 1 FROM members_certificate c JOIN members_certificate_type ct ON ct.id = c.type
            WHERE c.person = m.person AND ct.first_aid = :yes AND c.issued_on <= :on AND (c.expires_on IS NULL OR c.expires_on >= :on))
          THEN 1 ELSE 0 END), 0) AS certified
        FROM members_membership m JOIN teams_team t ON t.id = m.team
        WHERE m.left_on IS NULL AND m.status = 'active' AND t.path >= :lo AND t.path < :hi""",
                      yes=True, on=on, lo=path, hi=_upper(path))
    return int(rows[0]["members"] or 0), int(rows[0]["certified"] or 0)


def _goal(goal: Goal, numerator: int, denominator: int | None, scale: float, note: str) -> GoalOut:
    actual = round(numerator * scale / denominator, 3) if denominator else None
    return GoalOut(code=goal.code, goal=goal.value, by_year=goal.by_year, actual=actual, numerator=numerator, denominator=denominator,
                   met=None if actual is None else actual >= goal.value, note="" if actual is not None else note, source=goal.source)


async def progress(principal: Principal, unit_code: str, year: int, on: date | None = None) -> ProgressOut:
    """A unit's year against its allocation table, broken down by its children, and where it stands on the plans' goals."""
    unit = await _unit(unit_code)
    authorize(principal, "training.view", unit["path"])
    on = on or china_today()
    this_month = on.replace(day=1)
    units = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.kind, OrgUnit.parent, OrgUnit.path, OrgUnit.name_zh, OrgUnit.name_en,
                                 OrgUnit.population_2020).where(under(OrgUnit.path, unit["path"]))
    populations = _populations(units)
    children = sorted((u for u in units if u["parent"] == unit["id"] and u["kind"] in {k.value for k in _LINE_KINDS}),
                      key=lambda u: u["path"])
    groups = await _breakdown(unit, children, year, this_month)
    lines, _ = await _lines(unit, year)
    line_of = {line.line_unit_code: line for line in lines if line.line_unit_code}
    child_paths = {child["path"] for child in children}
    out_children = []
    for child in children:
        row = groups.get(child["path"], {})
        population = populations.get(child["id"], (None, False))[0]
        valid = int(row.get("valid") or 0)
        out_children.append(ChildProgressOut(
            code=child["code"], name_zh=child["name_zh"], name_en=child["name_en"], kind=child["kind"], population=population,
            actual=_figures(row), target=line_of[child["code"]].target if child["code"] in line_of else None, valid_certificates=valid,
            certified_share=round(100 * valid / population, 3) if population else None))
    rest = [row for path, row in groups.items() if path not in child_paths]
    own = _add(*(_figures(row) for row in rest))
    actual = _add(own, *(child.actual for child in out_children))
    valid = sum(int(row.get("valid") or 0) for row in groups.values())
    awareness_all = sum(int(row.get("awareness_all") or 0) for row in groups.values())
    population, summed = populations.get(unit["id"], (None, False))
    aeds = await Aed.count().where(under(Aed.unit_path, unit["path"]) & (Aed.in_service == True))  # noqa: E712
    members, certified_members = await _rescue_forces(unit["path"], on)
    goals = [
        _goal(CERTIFIED_SHARE, valid, population, 100, "no population figure"),
        _goal(AWARENESS_SHARE, awareness_all, population, 100, "no population figure"),
        _goal(RESCUE_FORCES_CERTIFIED, certified_members, members, 100, "no active rescue-team members"),
        _goal(AEDS_PER_100K, aeds, population, 100_000, "no population figure"),
        _goal(FIRST_AIDERS_PER_AED, valid, aeds, 1, "no AEDs"),
    ]
    codes = unit["path"].strip("/").split("/")[:-1]
    names = {u["code"]: u for u in await OrgUnit.select(OrgUnit.code, OrgUnit.name_zh, OrgUnit.name_en).where(
        OrgUnit.code.is_in(codes or ["-"]))}
    return ProgressOut(
        unit_code=unit["code"], unit_name_zh=unit["name_zh"], unit_name_en=unit["name_en"], kind=unit["kind"], year=year, on=on,
        ancestors=[UnitLink(**names[c]) for c in codes if c in names], population=population, population_summed=summed and population is not None,
        actual=actual, target=_add(*(line.target for line in lines)) if lines else None, lines=lines, own=own, children=out_children,
        valid_certificates=valid, awareness_cumulative=awareness_all, aeds=aeds, rescue_members=members, rescue_certified=certified_members,
        goals=goals)


GOAL_NAMES_ZH = {"certified_share": "取证人数占人口比例（%）", "awareness_share": "普及培训累计占人口比例（%）",
                 "rescue_forces_certified": "救援队员持证比例（%）", "aeds_per_100k": "每10万人AED台数", "first_aiders_per_aed": "每台AED对应取证救护员"}


async def progress_xlsx(principal: Principal, unit_code: str, year: int) -> bytes:
    data = await progress(principal, unit_code, year)
    target = data.target or Figures()
    summary = [
        ["单位", data.unit_name_zh], ["年度", data.year], ["统计日", data.on], ["人口（七普）", data.population],
        ["持证培训目标", target.certified if data.target else ""], ["持证培训完成", data.actual.certified],
        ["初级救护员目标", target.junior if data.target else ""], ["初级救护员完成", data.actual.junior],
        ["普及培训目标", target.awareness if data.target else ""], ["普及培训完成", data.actual.awareness],
        ["有效证书", data.valid_certificates], ["普及培训累计", data.awareness_cumulative], ["在用AED", data.aeds],
        ["救援队在队队员", data.rescue_members], ["其中持有效急救证", data.rescue_certified],
    ]
    goals = [[GOAL_NAMES_ZH[g.code], g.goal, g.by_year, g.actual if g.actual is not None else "", g.numerator,
              g.denominator if g.denominator is not None else "", "是" if g.met else "否" if g.met is False else "", g.note, g.source]
             for g in data.goals]
    children = [[c.code, c.name_zh, c.population or "", c.target.certified if c.target else "", c.actual.certified,
                 c.target.junior if c.target else "", c.actual.junior, c.target.awareness if c.target else "", c.actual.awareness,
                 c.valid_certificates, c.certified_share if c.certified_share is not None else ""] for c in data.children]
    children.append(["", f"{data.unit_name_zh}（本级）", "", "", data.own.certified, "", data.own.junior, "", data.own.awareness, "", ""])
    lines = [[line.label, _matched_zh(line), line.target.certified, line.actual.certified, line.target.junior, line.actual.junior,
              line.target.awareness, line.actual.awareness] for line in data.lines]
    return spreadsheets.export([
        ("概况", ["项目", "数值"], summary),
        ("目标", ["目标", "目标值", "年份", "现状", "分子", "分母", "达到", "说明", "依据"], goals),
        ("下级单位", ["代码", "单位", "人口", "持证目标", "持证完成", "初级目标", "初级完成", "普及目标", "普及完成", "有效证书", "持证占人口%"], children),
        ("任务分配", ["单位", "对应", "持证目标", "持证完成", "初级目标", "初级完成", "普及目标", "普及完成"], lines),
    ])
