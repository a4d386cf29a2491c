from __future__ import annotations

import pytest

from rescueops.errors import InvalidInput
from rescueops.orgs import service
from rescueops.orgs.schemas import CoverageIn, CoverageUpdate
from rescueops.orgs.tables import CooperationZoneMember, Hub, HubCoverage, OrgUnit


async def test_reference_data_is_the_inner_mongolia_tree(db) -> None:
    assert await OrgUnit.count().where(OrgUnit.kind == "region") == 1
    assert await OrgUnit.count().where(OrgUnit.kind == "league") == 12
    assert await OrgUnit.count().where(OrgUnit.kind == "county") == 103
    assert await OrgUnit.count().where(OrgUnit.kind == "partner_province") == 4
    assert await Hub.count() == 4
    assert await CooperationZoneMember.count() == 5
    wengniute = await service.get_unit("150426")
    assert wengniute.name_zh == "翁牛特旗"
    assert wengniute.path == "/150000/150400/150426/"
    chifeng = await service.get_unit("150400")
    assert chifeng.population_2020 == 4035967


async def test_league_populations_add_up_to_the_region(db) -> None:
    region = await service.get_unit("150000")
    leagues = [u for u in await service.all_units() if u.kind.value == "league"]
    assert sum(u.population_2020 for u in leagues) == region.population_2020 == 24049155


async def test_hubs_cover_what_the_annex_says(db) -> None:
    hubs = {hub.code: hub for hub in await service.list_hubs()}
    assert {h.hub_city.name_zh for h in hubs.values()} == {"呼伦贝尔市", "赤峰市", "乌兰察布市", "鄂尔多斯市"}
    covered = {code: {c.league.code if c.league else c.unit.code for c in hub.coverage} for code, hub in hubs.items()}
    assert covered["northeast"] == {"150700", "152200"}
    assert covered["east"] == {"150400", "150500", "152200", "152500"}
    assert covered["central"] == {"150900", "152500", "150100", "150200"}
    assert covered["west"] == {"150600", "150200", "150800", "150300", "152900"}
    # Xilingol and Baotou: every county in exactly one half.
    for league, pair in (("152500", ("east", "central")), ("150200", ("central", "west"))):
        counties = {u.code for u in await service.subtree(league) if u.kind.value == "county"}
        halves = [{c.unit.code for c in hubs[h].coverage if c.league and c.league.code == league} for h in pair]
        assert halves[0] | halves[1] == counties
        assert not halves[0] & halves[1]


async def test_loading_twice_changes_nothing(db) -> None:
    before = await OrgUnit.count(), await HubCoverage.count()
    report = await service.load_reference()
    assert (report.units_added, report.units_updated, report.hubs_added, report.coverage_added, report.zones_added) == (0, 0, 0, 0, 0)
    assert (await OrgUnit.count(), await HubCoverage.count()) == before


async def test_reload_keeps_an_administrators_coverage_edit(make_principal) -> None:
    admin = await make_principal("admin")
    await service.set_coverage(admin, "east", CoverageUpdate(
        coverage=[CoverageIn(unit_code="150400", role="primary"), CoverageIn(unit_code="152502", role="secondary")],
        reason="move Xilinhot only",
    ))
    await service.load_reference()
    east = await service.get_hub("east")
    assert [(c.unit.code, c.role.value) for c in east.coverage] == [("150400", "primary"), ("152502", "secondary")]


async def test_a_broken_reference_file_is_refused_and_loads_nothing(db) -> None:
    text = """
version: "x"
source: test
units:
  - {code: "999901", kind: county, parent: "999900", name_zh: 子, name_en: child}
  - {code: "999900", kind: league, parent: "150000", name_zh: 父, name_en: parent}
hubs: []
zones: []
"""
    with pytest.raises(InvalidInput, match="before its parent"):
        await service.load_reference(service.read_reference(text))
    assert not await OrgUnit.exists().where(OrgUnit.code.is_in(["999900", "999901"]))
    with pytest.raises(InvalidInput, match="invalid"):
        service.read_reference("version: 1\nunits: nope\n")


async def test_a_new_reference_version_updates_changed_units(db) -> None:
    ref = service.read_reference()
    wengniute = next(u for u in ref.units if u.code == "150426")
    wengniute.name_en = "Ongniud Banner"
    ref.version = "2026.2"
    report = await service.load_reference(ref)
    assert (report.units_added, report.units_updated) == (0, 1)
    assert (await service.get_unit("150426")).name_en == "Ongniud Banner"
