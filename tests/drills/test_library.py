"""The scenario library: every shipped file validates; each kind of bad file is refused with the reason; versions stick."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rescueops.drills import library
from rescueops.drills import service as drills
from rescueops.drills.tables import ScenarioVersion

SHIPPED = library.library_dir()


def minimal() -> dict:
    return {
        "id": "river_check", "version": 1, "title_zh": "河道巡查演练", "title_en": "River patrol drill", "type": "drill",
        "categories": ["water_rescue"], "difficulty": "basic", "duration_minutes": 120,
        "setting_zh": "汛期前对西拉木伦河乌丹段进行巡查和救生演练。",
        "objectives": [{"id": "throw", "capability": "water_rescue", "title_zh": "抛投救援", "title_en": "Throw-bag rescue",
                        "judged_by": "评估员观察", "criteria": ["三次内抛中目标"]}],
        "participants": [{"role": "rescuer", "name_zh": "救援队员", "count": 6}],
        "equipment": [{"type": "throw_bag", "quantity": 6}],
        "safety_notes": ["全员穿着救生衣"],
        "injects": [{"id": "alert", "offset_minutes": 0, "from_whom": "旗应急管理局", "to_roles": ["rescuer"],
                     "message_zh": "有人落水，请立即出动。", "expected_actions": ["集合出动"], "objective": "throw"}],
    }


def test_every_shipped_scenario_validates() -> None:
    found = library.read_library(SHIPPED)
    assert found.problems == []
    assert len(found.scenarios) >= 9
    types = {s.type.value for s in found.scenarios}
    assert {"tabletop", "drill", "functional", "full_scale"} <= types
    for scenario in found.scenarios:
        assert (SHIPPED / f"{scenario.id}.yaml").is_file()


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("title_zh"), "title_zh: Field required"),
    (lambda d: d["injects"][0].update(offset_minutes=500), "past the end of the drill"),
    (lambda d: d["equipment"].append({"type": "hovercraft", "quantity": 1}), "unknown equipment type 'hovercraft'"),
    (lambda d: d["objectives"][0].update(capability="telepathy"), "unknown capability 'telepathy'"),
    (lambda d: d.update(categories=["ice_hockey"]), "unknown category 'ice_hockey'"),
    (lambda d: d["injects"][0].update(to_roles=["mayor"]), "unknown participant role 'mayor'"),
    (lambda d: d["injects"][0].update(objective="nothing"), "unknown objective 'nothing'"),
    (lambda d: d.update(injects=[]), "at least one inject"),
    (lambda d: d["objectives"][0].update(timing={"after_inject": "later", "count": 2, "within_minutes": 30}), "unknown inject 'later'"),
    (lambda d: d.update(surprise=True), "surprise: Extra inputs are not permitted"),
    (lambda d: d["objectives"].append(d["objectives"][0]), "'throw' appears twice"),
])
def test_each_kind_of_bad_file_is_refused_with_the_reason(change, message: str) -> None:
    data = minimal()
    change(data)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        library.parse_scenario(yaml.safe_dump(data, allow_unicode=True), "river_check.yaml")


def test_file_name_must_be_the_id_and_yaml_must_parse() -> None:
    with pytest.raises(ValueError, match="must be named river_check.yaml"):
        library.parse_scenario(yaml.safe_dump(minimal(), allow_unicode=True), "other.yaml")
    with pytest.raises(ValueError, match="not valid YAML"):
        library.parse_scenario("id: [unclosed", "x.yaml")
    with pytest.raises(ValueError, match="one mapping"):
        library.parse_scenario("- a\n- b\n", "x.yaml")


def _write(directory: Path, data: dict, name: str | None = None) -> None:
    (directory / (name or f"{data['id']}.yaml")).write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


async def test_a_broken_file_is_reported_and_skipped_and_versions_never_change(db, tmp_path: Path) -> None:
    _write(tmp_path, minimal())
    broken = minimal() | {"id": "broken_one"}
    broken["objectives"][0]["capability"] = "telepathy"
    _write(tmp_path, broken)
    report = await drills.sync_library(tmp_path)
    assert "1 versions added" in report[0] and any("broken_one.yaml" in line and "telepathy" in line for line in report)
    assert [r["scenario_id"] for r in await ScenarioVersion.select().where(ScenarioVersion.scenario_id.is_in(["river_check", "broken_one"]))] == [
        "river_check"]
    # Changing a loaded version is refused (past drills keep what they used); a new version is added beside it.
    changed = minimal() | {"title_zh": "河道巡查演练（修订）"}
    _write(tmp_path, changed)
    report = await drills.sync_library(tmp_path)
    assert any("changed without a new version number" in line for line in report)
    assert (await drills.get_scenario("river_check")).title_zh == "河道巡查演练"
    _write(tmp_path, changed | {"version": 2})
    await drills.sync_library(tmp_path)
    assert (await drills.get_scenario("river_check")).title_zh == "河道巡查演练（修订）"
    assert (await drills.get_scenario("river_check", 1)).title_zh == "河道巡查演练"


async def test_the_library_over_the_api(client, make_user) -> None:
    from tests.conftest import bearer

    _, token = await make_user("captain", unit="150426")
    listed = await client.get("/api/v1/drills/scenarios?category=water_rescue", headers=bearer(token))
    assert listed.status_code == 200 and listed.json()
    assert all("water_rescue" in s["categories"] for s in listed.json())
    one = listed.json()[0]
    whole = await client.get(f"/api/v1/drills/scenarios/{one['scenario_id']}", headers=bearer(token))
    assert whole.status_code == 200 and len(whole.json()["objectives"]) == one["objectives"]
    assert (await client.get("/api/v1/drills/scenarios/nope", headers=bearer(token))).status_code == 404


def test_the_check_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from rescueops.cli import cli

    good = CliRunner().invoke(cli, ["drills", "check"])
    assert good.exit_code == 0 and "scenario files are valid" in good.output
    _write(tmp_path, minimal())
    (tmp_path / "half.yaml").write_text("id: half\nversion: 1\n", "utf-8")
    bad = CliRunner().invoke(cli, ["drills", "check", str(tmp_path)])
    assert bad.exit_code == 2 and "ok       river_check.yaml" in bad.output
    assert "BROKEN   half.yaml: title_zh: Field required" in bad.output
