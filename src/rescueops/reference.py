"""All shipped reference data, loaded idempotently: organisation tree, team categories, certificate types,
equipment types, kit templates, the drill scenario library, the grading rubrics and the training course catalogue."""

from __future__ import annotations

from rescueops.drills import service as drills
from rescueops.equipment import service as equipment
from rescueops.grading import service as grading
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.teams import service as teams
from rescueops.training import service as training


async def load_all() -> list[str]:
    report = await orgs.load_reference()
    categories = await teams.load_categories()
    certificate_types = await members.load_certificate_types()
    equipment_types = await equipment.load_types()
    kit_templates = await equipment.load_kit_templates()
    return [
        f"organisation {report.version}: {report.units_added} units added, {report.units_updated} updated, "
        f"{report.hubs_added} hubs added, {report.coverage_added} coverage entries added, {report.zones_added} zones added",
        f"team categories: {categories} added",
        f"certificate types: {certificate_types} added",
        f"equipment types: {equipment_types} added",
        f"kit templates: {kit_templates} added",
        *await drills.sync_library(),
        *await grading.load_rubrics(),
        *await training.load_courses(),
    ]
