"""Organisation pages: the region → league → county tree, a unit's page, hub coverage and its map."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from rescueops.accounts.access import can
from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import PageParams
from rescueops.errors import DomainError
from rescueops.orgs import service
from rescueops.orgs.schemas import CoverageIn, CoverageUpdate, HubOut, OrgUnitOut, UnitRef
from rescueops.orgs.tables import CoverageRole, OrgKind
from rescueops.web.i18n import gettext as _
from rescueops.web.i18n import pick
from rescueops.web.pages import page


def kind_labels() -> dict[str, str]:
    return {
        OrgKind.region: _("Autonomous region"),
        OrgKind.league: _("League / city"),
        OrgKind.county: _("Banner / county / district"),
        OrgKind.depot: _("Reserve depot"),
        OrgKind.partner_province: _("Partner province"),
    }


def role_labels() -> dict[str, str]:
    return {CoverageRole.primary: _("primary"), CoverageRole.secondary: _("secondary")}


def _labels() -> dict[str, Any]:
    return {"kind_labels": kind_labels(), "role_labels": role_labels(), "pick": pick}


# --- the tree ------------------------------------------------------------------------------


@dataclass
class LeagueNode:
    unit: OrgUnitOut
    children: list[OrgUnitOut] = field(default_factory=list)
    hubs: list[HubOut] = field(default_factory=list)
    partial: bool = False  # some counties covered on their own (a split league)


@dataclass
class RegionNode:
    unit: OrgUnitOut
    leagues: list[LeagueNode] = field(default_factory=list)

    @property
    def county_count(self) -> int:
        return sum(1 for league in self.leagues for child in league.children if child.kind is OrgKind.county)


def build_tree(units: list[OrgUnitOut], hubs: list[HubOut]) -> list[RegionNode]:
    regions: dict[str, RegionNode] = {}
    leagues: dict[str, LeagueNode] = {}
    for unit in units:  # path order: parents first
        if unit.kind is OrgKind.region:
            regions[unit.code] = RegionNode(unit)
        elif unit.kind is OrgKind.league and unit.parent_code in regions:
            leagues[unit.code] = LeagueNode(unit)
            regions[unit.parent_code].leagues.append(leagues[unit.code])
        elif unit.parent_code in leagues:
            leagues[unit.parent_code].children.append(unit)
    for hub in hubs:
        for entry in hub.coverage:
            league_code = entry.league.code if entry.league else entry.unit.code
            node = leagues.get(league_code)
            if node is not None and hub not in node.hubs:
                node.hubs.append(hub)
            if node is not None and entry.league:
                node.partial = True
    return list(regions.values())


# --- the coverage map ----------------------------------------------------------------------


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull (Andrew's monotone chain), counter-clockwise."""
    points = sorted(set(points))
    if len(points) <= 2:
        return points

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in points:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(points):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _grow(hull: list[tuple[float, float]], margin: float) -> list[tuple[float, float]]:
    """Push each hull point away from the centre so the dots sit inside the shaded area."""
    if not hull:
        return hull
    cx = sum(x for x, _ in hull) / len(hull)
    cy = sum(y for _, y in hull) / len(hull)
    grown = []
    for x, y in hull:
        distance = math.hypot(x - cx, y - cy) or 1.0
        grown.append((x + (x - cx) / distance * margin, y + (y - cy) / distance * margin))
    return grown


def coverage_map(units: list[OrgUnitOut], hubs: list[HubOut], width: int = 960) -> dict[str, Any]:
    """Geometry for the inline SVG map: an equirectangular projection of the seats in the data."""
    placed = [u for u in units if u.lat is not None and u.lon is not None and u.kind in (OrgKind.league, OrgKind.county)]
    if not placed:
        return {"width": width, "height": 200, "areas": [], "links": [], "counties": [], "leagues": [], "legend": []}
    pad = 40
    min_lon, max_lon = min(u.lon for u in placed), max(u.lon for u in placed)
    min_lat, max_lat = min(u.lat for u in placed), max(u.lat for u in placed)
    x_scale = math.cos(math.radians((min_lat + max_lat) / 2))  # keep shapes true at mid-latitude
    span_x = max((max_lon - min_lon) * x_scale, 1e-6)
    scale = (width - 2 * pad) / span_x
    height = int((max_lat - min_lat) * scale + 2 * pad)

    def xy(unit: OrgUnitOut) -> tuple[float, float]:
        return (round(pad + (unit.lon - min_lon) * x_scale * scale, 1), round(pad + (max_lat - unit.lat) * scale, 1))

    by_code = {u.code: u for u in placed}
    colours: dict[str, list[str]] = {}
    areas, links = [], []
    for hub in hubs:
        covered: list[OrgUnitOut] = []
        for entry in hub.coverage:
            if entry.unit.code not in by_code:
                continue
            if entry.unit.kind is OrgKind.league:
                covered += [u for u in placed if u.parent_code == entry.unit.code] or [by_code[entry.unit.code]]
            else:
                covered.append(by_code[entry.unit.code])
        for unit in covered:
            colours.setdefault(unit.code, []).append(hub.colour)
        points = [xy(u) for u in covered]
        hull = _grow(_hull(points), 14)
        areas.append(
            {
                "colour": hub.colour,
                "label": pick(hub.name_zh, hub.name_en),
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in hull),
            }
        )
        city = by_code.get(hub.hub_city.code)
        if city:
            cx, cy = xy(city)
            for entry in hub.coverage:
                target = by_code.get(entry.unit.code)
                if target and target.code != city.code and target.kind is OrgKind.league:
                    tx, ty = xy(target)
                    links.append({"x1": cx, "y1": cy, "x2": tx, "y2": ty, "colour": hub.colour})
    hub_cities = {hub.hub_city.code for hub in hubs}
    counties = [
        {"x": xy(u)[0], "y": xy(u)[1], "colours": colours.get(u.code, []), "label": pick(u.name_zh, u.name_en)}
        for u in placed
        if u.kind is OrgKind.county
    ]
    leagues = [
        {"x": xy(u)[0], "y": xy(u)[1], "label": pick(u.name_zh, u.name_en), "is_hub": u.code in hub_cities}
        for u in placed
        if u.kind is OrgKind.league
    ]
    legend = [{"colour": hub.colour, "label": f"{pick(hub.region_zh, hub.region_en)} · {pick(hub.hub_city.name_zh, hub.hub_city.name_en)}"} for hub in hubs]
    return {"width": width, "height": height, "areas": areas, "links": links, "counties": counties, "leagues": leagues, "legend": legend}


@dataclass
class CoverageGroup:
    league: UnitRef
    role: str
    counties: list[UnitRef] = field(default_factory=list)
    default_split: bool = False


def coverage_groups(hub: HubOut) -> list[CoverageGroup]:
    """A hub's coverage per league: whole leagues, or the named banners of a split league."""
    groups: dict[str, CoverageGroup] = {}
    for entry in hub.coverage:
        if entry.league is None:
            groups[entry.unit.code] = CoverageGroup(entry.unit, entry.role.value)
            continue
        group = groups.setdefault(entry.league.code, CoverageGroup(entry.league, entry.role.value))
        group.counties.append(entry.unit)
        group.default_split = group.default_split or entry.default_split
    return list(groups.values())


@dataclass
class CoverageForm:
    reason: str = ""


class OrgPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/orgs")
    async def tree(self, request: Request) -> Template:
        units = await service.all_units()
        hubs = await service.list_hubs()
        return page(
            request, "orgs/tree.html", nav="orgs", regions=build_tree(units, hubs), zones=await service.list_zones(), **_labels()
        )

    @get("/orgs/search")
    async def search(self, request: Request, q: FromQuery[str] = "") -> Template:
        units, total = await service.list_units(PageParams(limit=50), q=q) if q.strip() else ([], 0)
        template = "orgs/_search.html" if request.headers.get("hx-request") else "orgs/search.html"
        return page(request, template, nav="orgs", q=q.strip(), units=units, total=total, **_labels())

    @get("/orgs/{code:str}")
    async def unit(self, request: Request, code: FromPath[str]) -> Template:
        unit = await service.get_unit(code)
        children, _total = await service.list_units(PageParams(limit=200), parent=code)
        return page(
            request,
            "orgs/unit.html",
            nav="orgs",
            unit=unit,
            ancestors=await service.ancestors(unit),
            children=children,
            hubs=await service.hubs_covering(unit),
            **_labels(),
        )

    @get("/hubs")
    async def hubs(self, request: Request) -> Template:
        hubs = await service.list_hubs()
        units = await service.all_units()
        return page(
            request,
            "orgs/hubs.html",
            nav="hubs",
            hubs=hubs,
            coverage_groups={hub.code: coverage_groups(hub) for hub in hubs},
            map=coverage_map(units, hubs),
            can_edit=can(request.user, "hubs.manage"),
            **_labels(),
        )

    async def _edit_page(self, request: Request, hub: HubOut, *, error: str | None = None, status_code: int = 200) -> Template:
        region = build_tree(await service.all_units(), [hub])
        choices = [("", _("not covered")), *role_labels().items()]
        return page(
            request,
            "orgs/hub_edit.html",
            status_code=status_code,
            nav="hubs",
            hub=hub,
            leagues=[league for node in region for league in node.leagues],
            current={entry.unit.code: entry.role.value for entry in hub.coverage},
            choices=[(str(value), label) for value, label in choices],
            error=error,
            **_labels(),
        )

    @get("/hubs/{code:str}/edit", guards=[requires("hubs.manage")])
    async def edit_coverage(self, request: Request, code: FromPath[str]) -> Template:
        return await self._edit_page(request, await service.get_hub(code))

    @post("/hubs/{code:str}/edit", guards=[requires("hubs.manage")])
    async def save_coverage(
        self, request: Request, code: FromPath[str], data: URLEncodedBody[CoverageForm]
    ) -> Template | Redirect:
        hub = await service.get_hub(code)
        form = await request.form()
        entries = [
            CoverageIn(unit_code=key.removeprefix("unit:"), role=value)
            for key, value in form.items()
            if key.startswith("unit:") and value in (CoverageRole.primary.value, CoverageRole.secondary.value)
        ]
        try:
            await service.set_coverage(request.user, code, CoverageUpdate(coverage=entries, reason=data.reason))
        except DomainError as error:
            return await self._edit_page(request, hub, error=error.message, status_code=error.status_code)
        except ValueError:  # pydantic: no coverage at all, or no reason
            return await self._edit_page(request, hub, error=_("Choose at least one area and give a reason."), status_code=422)
        return Redirect(f"/hubs#hub-{code}")
