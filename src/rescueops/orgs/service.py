"""The organisation tree: units, regional hubs and their coverage, cooperation zones, reference data."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from piccolo.columns.combination import Where
from pydantic import ValidationError

from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize
from rescueops.calendar import utc_now
from rescueops.db import write_transaction
from rescueops.db.pagination import PageParams
from rescueops.db.paths import child_path, under
from rescueops.db.search import contains
from rescueops.db.statements import Statement
from rescueops.errors import Conflict, InvalidInput, NotFound, field_error
from rescueops.orgs.schemas import (
    CoverageOut,
    CoverageUpdate,
    HubOut,
    OrgUnitCreate,
    OrgUnitOut,
    OrgUnitUpdate,
    ReferenceFile,
    ReferenceReport,
    UnitRef,
    ZoneOut,
)
from rescueops.orgs.tables import (
    CooperationZone,
    CooperationZoneMember,
    CoverageRole,
    Hub,
    HubCoverage,
    OrgKind,
    OrgUnit,
    ReferenceLoad,
)

REFERENCE_NAME = "inner_mongolia"
TOP_LEVEL_KINDS = {OrgKind.region, OrgKind.partner_province}

_UNIT_COLUMNS = (
    OrgUnit.code,
    OrgUnit.kind,
    OrgUnit.parent.code.as_alias("parent_code"),
    OrgUnit.path,
    OrgUnit.depth,
    OrgUnit.name_zh,
    OrgUnit.name_en,
    OrgUnit.lat,
    OrgUnit.lon,
    OrgUnit.population_2020,
)


# --- units ---------------------------------------------------------------------------------


_UNIT_BY_CODE = Statement(lambda code: OrgUnit.select(*_UNIT_COLUMNS).where(OrgUnit.code == code).limit(1))


async def get_unit(code: str) -> OrgUnitOut:
    row = await _UNIT_BY_CODE.first(code)
    if row is None:
        raise NotFound(f"No organisation unit with code '{code}'.")
    return OrgUnitOut.model_validate(row)


async def unit_id(code: str) -> int:
    """The row id of a unit, for the foreign keys of other domains."""
    row = await OrgUnit.select(OrgUnit.id).where(OrgUnit.code == code).first()
    if row is None:
        raise NotFound(f"No organisation unit with code '{code}'.")
    return row["id"]


async def unit_ids_on_path(path: str) -> list[int]:
    """Row ids of the units a path runs through (a team's county, its league, the region): who supervises it."""
    codes = [part for part in path.strip("/").split("/") if part and not part.startswith("t:")]
    return [row["id"] for row in await OrgUnit.select(OrgUnit.id).where(OrgUnit.code.is_in(codes or ["-"]))]


async def units_by_code(codes: list[str]) -> dict[str, OrgUnitOut]:
    if not codes:
        return {}
    rows = await OrgUnit.select(*_UNIT_COLUMNS).where(OrgUnit.code.is_in(list(codes)))
    return {row["code"]: OrgUnitOut.model_validate(row) for row in rows}


async def list_units(
    page: PageParams,
    *,
    kind: OrgKind | None = None,
    parent: str | None = None,
    under_code: str | None = None,
    q: str | None = None,
) -> tuple[list[OrgUnitOut], int]:
    conditions: list[Where] = []
    if kind:
        conditions.append(OrgUnit.kind == kind.value)
    if parent:
        conditions.append(OrgUnit.parent.code == parent)
    if under_code:
        conditions.append(under(OrgUnit.path, (await get_unit(under_code)).path))
    if q:
        conditions.append(contains(OrgUnit.name_zh, q) | contains(OrgUnit.name_en, q) | contains(OrgUnit.code, q))
    select = OrgUnit.select(*_UNIT_COLUMNS).order_by(OrgUnit.path).limit(page.limit).offset(page.offset)
    count = OrgUnit.count()
    for condition in conditions:
        select = select.where(condition)
        count = count.where(condition)
    rows = await select
    return [OrgUnitOut.model_validate(row) for row in rows], await count


async def subtree(code: str) -> list[OrgUnitOut]:
    """The unit and everything under it, in path order (parents before children)."""
    root = await get_unit(code)
    rows = await OrgUnit.select(*_UNIT_COLUMNS).where(under(OrgUnit.path, root.path)).order_by(OrgUnit.path)
    return [OrgUnitOut.model_validate(row) for row in rows]


async def all_units() -> list[OrgUnitOut]:
    rows = await OrgUnit.select(*_UNIT_COLUMNS).order_by(OrgUnit.path)
    return [OrgUnitOut.model_validate(row) for row in rows]


async def ancestors(unit: OrgUnitOut) -> list[OrgUnitOut]:
    codes = [code for code in unit.path.strip("/").split("/")[:-1]]
    found = await units_by_code(codes)
    return [found[code] for code in codes if code in found]


def _check_parent_kind(kind: OrgKind, parent: OrgUnitOut | None) -> None:
    if kind in TOP_LEVEL_KINDS:
        if parent is not None:
            raise field_error("parent_code", f"a {kind.value} has no parent unit")
        return
    if parent is None:
        raise field_error("parent_code", f"a {kind.value} needs a parent unit")
    allowed = {
        OrgKind.league: {OrgKind.region},
        OrgKind.county: {OrgKind.league},
        OrgKind.depot: {OrgKind.region, OrgKind.league, OrgKind.county},
    }[kind]
    if parent.kind not in allowed:
        names = " or ".join(sorted(k.value for k in allowed))
        raise field_error("parent_code", f"a {kind.value} must sit under a {names}, not a {parent.kind.value}")


async def create_unit(principal: Principal | None, data: OrgUnitCreate) -> OrgUnitOut:
    """Create a unit; ``principal`` None is the local command line or a seed, trusted as a whole."""
    parent = await get_unit(data.parent_code) if data.parent_code else None
    _check_parent_kind(data.kind, parent)
    path = child_path(parent.path if parent else None, data.code)
    if principal is not None:
        authorize(principal, "orgs.manage", path)
    async with write_transaction():
        if await OrgUnit.exists().where(OrgUnit.code == data.code):
            raise Conflict(f"An organisation unit with code '{data.code}' already exists.", code="duplicate_code")
        parent_id = None
        if parent:
            parent_id = await unit_id(parent.code)
        await OrgUnit.insert(
            OrgUnit(
                code=data.code,
                kind=data.kind.value,
                parent=parent_id,
                path=path,
                depth=path.count("/") - 2,
                name_zh=data.name_zh,
                name_en=data.name_en,
                lat=data.lat,
                lon=data.lon,
            )
        )
        await accounts.record_audit(
            principal, "orgs.unit.create", "org_unit", data.code, path, data.model_dump(mode="json")
        )
    return await get_unit(data.code)


async def update_unit(principal: Principal, code: str, data: OrgUnitUpdate) -> OrgUnitOut:
    unit = await get_unit(code)
    authorize(principal, "orgs.manage", unit.path)
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("Nothing to change: send at least one of name_zh, name_en, lat, lon.")
    before = {key: getattr(unit, key) for key in changes}
    async with write_transaction():
        await OrgUnit.update(changes).where(OrgUnit.code == code)
        await accounts.record_audit(
            principal, "orgs.unit.update", "org_unit", code, unit.path, {"before": before, "after": changes}
        )
    return await get_unit(code)


# --- hubs and zones ------------------------------------------------------------------------


def unit_ref_columns(unit: Any, prefix: str) -> tuple[Any, ...]:
    """Columns to select through a foreign key to an org unit, for ``unit_ref`` to read back."""
    return (
        unit.code.as_alias(f"{prefix}_code"),
        unit.name_zh.as_alias(f"{prefix}_name_zh"),
        unit.name_en.as_alias(f"{prefix}_name_en"),
        unit.kind.as_alias(f"{prefix}_kind"),
    )


def unit_ref(row: dict[str, Any], prefix: str) -> UnitRef:
    return UnitRef(
        code=row[f"{prefix}_code"], name_zh=row[f"{prefix}_name_zh"], name_en=row[f"{prefix}_name_en"], kind=row[f"{prefix}_kind"]
    )


async def list_hubs() -> list[HubOut]:
    hubs = await Hub.select(
        Hub.id,
        Hub.code,
        Hub.name_zh,
        Hub.name_en,
        Hub.region_zh,
        Hub.region_en,
        Hub.colour,
        *unit_ref_columns(Hub.hub_city, "city"),
    ).order_by(Hub.id)
    coverage = await HubCoverage.select(
        HubCoverage.hub,
        HubCoverage.role,
        HubCoverage.default_split,
        *unit_ref_columns(HubCoverage.unit, "unit"),
        *unit_ref_columns(HubCoverage.unit.parent, "league"),
    ).order_by(HubCoverage.unit.path)
    by_hub: dict[int, list[CoverageOut]] = {}
    for row in coverage:
        league = unit_ref(row, "league") if row["league_kind"] == OrgKind.league.value else None
        by_hub.setdefault(row["hub"], []).append(
            CoverageOut(unit=unit_ref(row, "unit"), league=league, role=row["role"], default_split=row["default_split"])
        )
    return [
        HubOut(
            code=hub["code"],
            name_zh=hub["name_zh"],
            name_en=hub["name_en"],
            region_zh=hub["region_zh"],
            region_en=hub["region_en"],
            colour=hub["colour"],
            hub_city=unit_ref(hub, "city"),
            coverage=by_hub.get(hub["id"], []),
        )
        for hub in hubs
    ]


async def get_hub(code: str) -> HubOut:
    for hub in await list_hubs():
        if hub.code == code:
            return hub
    raise NotFound(f"No regional hub with code '{code}'.")


_HUB_COVERAGE = Statement(lambda: HubCoverage.select(HubCoverage.hub.code.as_alias("hub_code"), HubCoverage.unit.path.as_alias("path")))


async def hub_paths() -> dict[str, tuple[str, ...]]:
    """Each hub's scope as org paths: the units it covers (and what lies under them)."""
    rows = await _HUB_COVERAGE.rows()
    paths: dict[str, tuple[str, ...]] = {}
    for row in rows:
        paths[row["hub_code"]] = (*paths.get(row["hub_code"], ()), row["path"])
    return paths


ALL_REGIONS = "all"


async def regions_of(paths: list[str]) -> dict[str, str]:
    """The hub region each place belongs to, for routing its events; "all" when no single hub answers for it.

    Coverage overlaps (Hinggan has two secondary hubs) and splits leagues (a Xilingol-wide event
    lies in two halves), so only one covering hub, or one primary among several, names a region.
    """
    rows = await HubCoverage.select(HubCoverage.hub.code.as_alias("hub"), HubCoverage.role, HubCoverage.unit.path.as_alias("path"))
    regions = {}
    for path in paths:
        covering = {(row["hub"], row["role"]) for row in rows if path.startswith(row["path"])}
        hubs = {hub for hub, _ in covering}
        primary = {hub for hub, role in covering if role == CoverageRole.primary.value}
        regions[path] = hubs.pop() if len(hubs) == 1 else primary.pop() if len(primary) == 1 else ALL_REGIONS
    return regions


async def region_of(path: str) -> str:
    return (await regions_of([path]))[path]


async def hubs_covering(unit: OrgUnitOut) -> list[tuple[HubOut, CoverageOut]]:
    """Hubs whose coverage includes the unit, directly or through an ancestor or descendant."""
    found = []
    for hub in await list_hubs():
        for entry in hub.coverage:
            if entry.unit.code in unit.path.split("/") or (entry.league and entry.league.code == unit.code):
                found.append((hub, entry))
                break
    return found


async def set_coverage(principal: Principal, hub_code: str, update: CoverageUpdate) -> HubOut:
    """Replace a hub's coverage (e.g. move a Xilingol banner from the east half to the west)."""
    hub = await get_hub(hub_code)
    city = await get_unit(hub.hub_city.code)
    region_path = "/" + city.path.split("/")[1] + "/"  # hubs belong to the region of their city
    authorize(principal, "hubs.manage", region_path)
    codes = [entry.unit_code for entry in update.coverage]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise field_error("coverage", f"units listed twice: {', '.join(duplicates)}")
    units = await units_by_code(codes)
    missing = [code for code in codes if code not in units]
    if missing:
        raise field_error("coverage", f"unknown unit codes: {', '.join(missing)}")
    wrong_kind = [code for code in codes if units[code].kind not in (OrgKind.league, OrgKind.county)]
    if wrong_kind:
        raise field_error("coverage", f"a hub covers leagues and counties only, not: {', '.join(wrong_kind)}")
    hub_id = (await Hub.select(Hub.id).where(Hub.code == hub_code).first())["id"]
    unit_ids = {
        row["code"]: row["id"] for row in await OrgUnit.select(OrgUnit.id, OrgUnit.code).where(OrgUnit.code.is_in(codes))
    }
    async with write_transaction():
        await HubCoverage.delete().where(HubCoverage.hub == hub_id)
        await HubCoverage.insert(
            *[HubCoverage(hub=hub_id, unit=unit_ids[entry.unit_code], role=entry.role.value) for entry in update.coverage]
        )
        await accounts.record_audit(
            principal,
            "orgs.hub.coverage",
            "hub",
            hub_code,
            region_path,
            {
                "reason": update.reason,
                "before": [(c.unit.code, c.role.value) for c in hub.coverage],
                "after": [(e.unit_code, e.role.value) for e in update.coverage],
            },
        )
    return await get_hub(hub_code)


async def list_zones() -> list[ZoneOut]:
    zones = await CooperationZone.select().order_by(CooperationZone.code)
    members = await CooperationZoneMember.select(
        CooperationZoneMember.zone,
        *unit_ref_columns(CooperationZoneMember.unit, "unit"),
    ).order_by(CooperationZoneMember.unit.code)
    return [
        ZoneOut(
            code=zone["code"],
            name_zh=zone["name_zh"],
            name_en=zone["name_en"],
            members=[unit_ref(m, "unit") for m in members if m["zone"] == zone["id"]],
        )
        for zone in zones
    ]


# --- reference data ------------------------------------------------------------------------


def read_reference(text: str | None = None) -> ReferenceFile:
    """The shipped reference file, validated (or ``text`` in the same format)."""
    if text is None:
        text = resources.files("rescueops.orgs").joinpath(f"reference/{REFERENCE_NAME}.yaml").read_text("utf-8")
    try:
        return ReferenceFile.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        raise InvalidInput(f"reference data is invalid: {error}") from error


def _check_reference(ref: ReferenceFile) -> None:
    seen: set[str] = set()
    for unit in ref.units:
        if unit.code in seen:
            raise InvalidInput(f"reference data: unit {unit.code} appears twice")
        if unit.parent is not None and unit.parent not in seen:
            raise InvalidInput(f"reference data: unit {unit.code} comes before its parent {unit.parent}")
        seen.add(unit.code)
    for hub in ref.hubs:
        for code in [hub.hub_city, *(c.unit for c in hub.coverage)]:
            if code not in seen:
                raise InvalidInput(f"reference data: hub {hub.code} names unknown unit {code}")
    for zone in ref.zones:
        for code in zone.members:
            if code not in seen:
                raise InvalidInput(f"reference data: zone {zone.code} names unknown unit {code}")


async def load_reference(ref: ReferenceFile | None = None) -> ReferenceReport:
    """Load the reference data idempotently.

    Units, hubs and zones are inserted or brought up to date. A hub's coverage is written only
    while the hub has none, so an administrator's edits (the east/west splits) survive reloads.
    """
    ref = ref or read_reference()
    _check_reference(ref)
    report = ReferenceReport(
        version=ref.version, units_added=0, units_updated=0, hubs_added=0, coverage_added=0, zones_added=0
    )
    async with write_transaction():
        existing = {row["code"]: row for row in await OrgUnit.select()}
        ids = {code: row["id"] for code, row in existing.items()}
        paths = {code: row["path"] for code, row in existing.items()}
        # Parents come first in the file; insert each depth in one statement to learn the new ids.
        by_depth: dict[int, list[OrgUnit]] = {}
        changed: list[tuple[int, str | None, dict[str, Any]]] = []
        for unit in ref.units:
            path = child_path(paths[unit.parent] if unit.parent else None, unit.code)
            depth = path.count("/") - 2
            values = {
                "kind": unit.kind.value,
                "path": path,
                "depth": depth,
                "name_zh": unit.name_zh,
                "name_en": unit.name_en,
                "lat": unit.lat,
                "lon": unit.lon,
                "population_2020": unit.population_2020,
                "from_reference": True,
            }
            paths[unit.code] = path
            row = existing.get(unit.code)
            if row is None:
                by_depth.setdefault(depth, []).append(OrgUnit(code=unit.code, parent=unit.parent, **values))
                report.units_added += 1
            elif any(row[key] != value for key, value in values.items()) or row["parent"] != ids.get(unit.parent):
                changed.append((row["id"], unit.parent, values))
        for depth in sorted(by_depth):
            rows = by_depth[depth]
            for row in rows:  # the parent's code stands in for its id until the parent is inserted
                row.parent = ids[row.parent] if row.parent else None
            inserted = await OrgUnit.insert(*rows).returning(OrgUnit.id, OrgUnit.code)
            ids.update({item["code"]: item["id"] for item in inserted})
        for unit_id, parent, values in changed:  # after the inserts: a new parent has its id now
            await OrgUnit.update({**values, "parent": ids[parent] if parent else None}).where(OrgUnit.id == unit_id)
        report.units_updated = len(changed)

        hub_ids = {row["code"]: row["id"] for row in await Hub.select(Hub.id, Hub.code)}
        covered = {row["hub"] for row in await HubCoverage.select(HubCoverage.hub)}
        for hub in ref.hubs:
            values = {
                "name_zh": hub.name_zh,
                "name_en": hub.name_en,
                "region_zh": hub.region_zh,
                "region_en": hub.region_en,
                "hub_city": ids[hub.hub_city],
                "colour": hub.colour,
            }
            if hub.code in hub_ids:
                await Hub.update(values).where(Hub.id == hub_ids[hub.code])
            else:
                inserted = await Hub.insert(Hub(code=hub.code, **values)).returning(Hub.id)
                hub_ids[hub.code] = inserted[0]["id"]
                report.hubs_added += 1
            if hub_ids[hub.code] not in covered:
                await HubCoverage.insert(
                    *[
                        HubCoverage(hub=hub_ids[hub.code], unit=ids[c.unit], role=c.role.value, default_split=c.default_split)
                        for c in hub.coverage
                    ]
                )
                report.coverage_added += len(hub.coverage)

        zone_ids = {row["code"]: row["id"] for row in await CooperationZone.select(CooperationZone.id, CooperationZone.code)}
        members = {(row["zone"], row["unit"]) for row in await CooperationZoneMember.select()}
        for zone in ref.zones:
            if zone.code in zone_ids:
                await CooperationZone.update({"name_zh": zone.name_zh, "name_en": zone.name_en}).where(
                    CooperationZone.id == zone_ids[zone.code]
                )
            else:
                inserted = await CooperationZone.insert(
                    CooperationZone(code=zone.code, name_zh=zone.name_zh, name_en=zone.name_en)
                ).returning(CooperationZone.id)
                zone_ids[zone.code] = inserted[0]["id"]
                report.zones_added += 1
            new_members = [code for code in zone.members if (zone_ids[zone.code], ids[code]) not in members]
            if new_members:
                await CooperationZoneMember.insert(
                    *[CooperationZoneMember(zone=zone_ids[zone.code], unit=ids[code]) for code in new_members]
                )

        loaded = await ReferenceLoad.select().where(ReferenceLoad.name == REFERENCE_NAME).first()
        if loaded is None:
            await ReferenceLoad.insert(ReferenceLoad(name=REFERENCE_NAME, version=ref.version, loaded_at=utc_now()))
        else:
            await ReferenceLoad.update({"version": ref.version, "loaded_at": utc_now()}).where(
                ReferenceLoad.name == REFERENCE_NAME
            )
    return report
