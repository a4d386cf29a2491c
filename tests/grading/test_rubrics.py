"""Rubrics as versioned data: the shipped files, bad files, and supervisors' edits making new versions."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from rescueops.grading import service
from rescueops.grading.rubric import RubricError, parse_rubric, read_common
from rescueops.grading.schemas import RubricEdit, ThresholdChange
from rescueops.grading.tables import RubricVersion

GRADED = {"relief", "medical", "water_supply", "public_health", "psychosocial", "search_rescue", "water_rescue", "ambulance", "base_camp"}


def shipped() -> Path:
    return Path(str(resources.files("rescueops.grading").joinpath("reference")))


async def test_every_graded_category_has_a_rubric_with_sourced_figures(db) -> None:
    rubrics = await service.list_rubrics()
    assert {r.category for r in rubrics} == GRADED
    water = await service.get_rubric("water_rescue")
    by_id = {c.id: c for c in water.criteria}
    # FEMA swiftwater 16/12/6 (types 1/2/3 → levels 1/2/3) is a sourced figure; drills per year is a default of ours.
    assert [(by_id[f"deployable_l{n}"].params["min"], by_id[f"deployable_l{n}"].verified) for n in (1, 2, 3)] == [
        (16, True), (12, True), (6, True)]
    assert by_id["deployable_l1"].source == "fema_swiftwater"
    assert by_id["drills_l1"].verified is False and by_id["drills_l1"].source == "default"
    assert {s.id for s in water.sources} >= {"fema_swiftwater", "default", "crcs_2023_42"}
    assert 0 < water.verified_share < 1
    collapse = {c.id: c for c in (await service.get_rubric("search_rescue")).criteria}
    assert collapse["deployable_l1"].params["min"] == 75 and collapse["mobilisation"].params["max"] == 240


async def test_loading_again_adds_no_version(db) -> None:
    before = await RubricVersion.count()
    lines = await service.load_rubrics()
    assert lines[0] == "grading rubrics: 0 versions added"
    assert await RubricVersion.count() == before == len(GRADED)


def _file(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "rubrics"
    if not folder.exists():
        shutil.copytree(shipped(), folder)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def _water(**changes) -> dict:
    data = yaml.safe_load((shipped() / "water_rescue.yaml").read_text(encoding="utf-8"))
    for criterion in data["criteria"]:
        criterion.update(changes.get(criterion["id"], {}))
    return data


async def _problems(data: dict) -> list[str]:
    common, _ = read_common()
    with pytest.raises(RubricError) as caught:
        parse_rubric("water_rescue.yaml", data, await service.references(), common)
    return caught.value.problems


async def test_unknown_kind_is_named_with_file_and_criterion(db) -> None:
    problems = await _problems(_water(boats_l3={"kind": "boats_afloat"}))
    assert any(p.startswith("water_rescue.yaml: criterion 'boats_l3'") and "unknown kind 'boats_afloat'" in p for p in problems)


async def test_threshold_of_the_wrong_type(db) -> None:
    problems = await _problems(_water(boats_l2={"params": {"type": "inflatable_boat", "min": "two", "inspected_within_months": 3}}))
    assert problems == ["water_rescue.yaml: criterion 'boats_l2': params.min: Input should be a valid integer (got 'two')"]


async def test_levels_that_are_not_cumulative(db) -> None:
    # Level 1 asking for fewer boats than level 2 would let a level-1 team fail level 2.
    problems = await _problems(_water(boats_l1={"params": {"type": "inflatable_boat", "min": 1, "inspected_within_months": 3}}))
    assert any("criterion 'boats_l1' (level 1) asks min = 1, less than criterion 'boats_l2' (level 2) with 2" in p for p in problems)
    # A longer inspection interval is looser, too.
    problems = await _problems(_water(boats_l1={"params": {"type": "inflatable_boat", "min": 3, "inspected_within_months": 6}}))
    assert any("'boats_l1' (level 1) asks inspected_within_months = 6" in p for p in problems)


async def test_other_bad_content(db) -> None:
    problems = await _problems(_water(boats_l3={"level": 4}))
    assert problems == ["water_rescue.yaml: criterion 'boats_l3': level: Input should be 1, 2 or 3"]
    problems = await _problems(_water(lifeguards_l3={"params": {"certificate": "sailing", "min": 4}}))
    assert problems == ["water_rescue.yaml: criterion 'lifeguards_l3': unknown certificate type 'sailing'"]
    bad = _water()
    bad["criteria"].append({"id": "stock_inspected", "kind": "equipment", "title_zh": "救生衣", "title_en": "Life jackets", "level": 2,
                            "params": {"type": "life_jacket", "min": 5, "inspected_within_months": 3}, "source": "nowhere"})
    problems = await _problems(bad)
    assert "water_rescue.yaml: criterion 'stock_inspected': unknown source 'nowhere' (see reference/sources.yaml)" in problems
    assert any("'life_jacket' is counted stock" in p for p in problems)
    # Every level adds a hard criterion of its own; otherwise two levels would be the same.
    flat = _water()
    flat["include"] = []
    flat["criteria"] = [c for c in flat["criteria"] if c["level"] != 2]
    assert any("level 2 has no hard criterion of its own" in p for p in await _problems(flat))


async def test_a_broken_file_is_reported_and_skipped_the_others_load(db, tmp_path) -> None:
    await RubricVersion.delete(force=True)
    broken = yaml.safe_load((shipped() / "relief.yaml").read_text(encoding="utf-8"))
    broken["criteria"][0]["kind"] = "how_many"
    folder = _file(tmp_path, "relief.yaml", yaml.safe_dump(broken, allow_unicode=True))
    lines = await service.load_rubrics(folder)
    assert lines[0].startswith("grading rubrics: 8 versions added")
    assert any("relief.yaml: criterion 'members_l3'" in line and "unknown kind 'how_many'" in line for line in lines[1:])
    assert "relief" not in {r.category for r in await service.list_rubrics()}


async def test_editing_thresholds_makes_a_new_version(db, make_principal) -> None:
    supervisor = await make_principal("league_supervisor", unit="150400")
    edited = await service.edit_rubric(supervisor, "water_rescue", RubricEdit(
        reason="盟市装备配置标准提高", changes=[ThresholdChange(criterion_id="boats_l2", params={"min": 3})]))
    assert edited.version == 2 and edited.reason == "盟市装备配置标准提高" and edited.created_by_name == supervisor.display_name
    boats = {c.id: c for c in edited.criteria}["boats_l2"]
    assert boats.params["min"] == 3 and boats.verified is False and "盟市装备配置标准提高" in boats.note
    old = await service.get_rubric("water_rescue", 1)
    assert {c.id: c for c in old.criteria}["boats_l2"].params["min"] == 2
    assert [v.version for v in await service.rubric_versions("water_rescue")] == [2, 1]


@pytest.mark.parametrize("change, message", [
    (ThresholdChange(criterion_id="boats_l2", params={"min": 4}), "less than criterion 'boats_l2' (level 2) with 4"),
    (ThresholdChange(criterion_id="boats_l2", params={"type": "dry_suit"}), "type is not a threshold"),
    (ThresholdChange(criterion_id="boats_l9", params={"min": 4}), "criterion 'boats_l9': not in the water_rescue rubric"),
    (ThresholdChange(criterion_id="boats_l2", params={"min": "4"}), "params.min: Input should be a valid integer"),
])
async def test_a_bad_edit_changes_nothing(db, make_principal, change, message) -> None:
    supervisor = await make_principal("league_supervisor", unit="150400")
    from rescueops.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        await service.edit_rubric(supervisor, "water_rescue", RubricEdit(reason="试一下新的阈值", changes=[change]))
    assert message in caught.value.message
    assert [v.version for v in await service.rubric_versions("water_rescue")] == [1]


async def test_only_supervising_roles_edit_rubrics(db, make_principal) -> None:
    from rescueops.errors import PermissionDenied

    captain_team = "150426"
    officer = await make_principal("county_officer", unit=captain_team)
    with pytest.raises(PermissionDenied):
        await service.edit_rubric(officer, "water_rescue", RubricEdit(reason="县级不能改", changes=[
            ThresholdChange(criterion_id="boats_l2", params={"min": 3})]))
