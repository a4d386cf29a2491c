"""Evaluation from live records: every criterion kind at its boundary, cumulative levels, the gap in plain words.

The team (tests/grading/builders.water_team) is built once for the module through the real services; each test
reads it, none changes it (except where a test says so and restores it).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from rescueops.grading import evaluation as ev
from rescueops.grading import service
from rescueops.grading.rubric import Criterion, parse_rubric
from rescueops.teams import service as teams
from rescueops.teams.tables import Team
from tests.conftest import _empty_all_tables, _load_reference
from tests.factories import make_team
from tests.grading.builders import TODAY, admin_principal, water_team


@pytest.fixture(scope="module")
async def water(migrated):
    await _empty_all_tables()
    await _load_reference()
    admin = await admin_principal()
    return await water_team(admin)


async def _facts(code: str = "WR-01") -> ev.TeamFacts:
    rows = await teams.grading_teams(codes=[code])
    return (await service.gather(rows, TODAY))[rows[0]["id"]]


async def measure(kind: str, params: dict, code: str = "WR-01") -> ev.Measure:
    criterion = Criterion(id="probe", kind=kind, title_zh="探针", title_en="probe", level=3, params=params, source="default",
                          evidence="assessor" if kind == "assessor_score" else "automatic")
    rubric = (await service.current_rubrics())["water_rescue"][0]
    return ev.MEASURES[kind](criterion, await _facts(code), ev.Context(rubric, await service.references(), TODAY, None))


# kind, params for a threshold, the team's measured value, whether a larger threshold is stricter ("min") or not ("max")
BOUNDARIES = [
    ("min_members", lambda t: {"of": "active", "min": t}, 7, "min"),
    ("min_members", lambda t: {"of": "insured", "min": t}, 4, "min"),
    ("min_members", lambda t: {"of": "deployable", "min": t}, 4, "min"),
    ("role_coverage", lambda t: {"role": "deputy_captain", "min": t}, 2, "min"),
    ("min_certified_ratio", lambda t: {"certificate": "first_aid", "min_ratio": t}, 5 / 7, "ratio"),
    ("min_certified_count", lambda t: {"certificate": "water_rescue", "min": t}, 3, "min"),
    ("equipment", lambda t: {"type": "inflatable_boat", "min": t}, 2, "min"),
    ("equipment", lambda t: {"type": "inflatable_boat", "min": t, "inspected_within_months": 3}, 1, "min"),
    ("equipment", lambda t: {"type": "life_jacket", "min": t}, 12, "min"),
    ("kit_ready", lambda t: {"template": "water_rescue_boat_kit", "min": t}, 1, "min"),
    ("min_drills_last_12m", lambda t: {"min": t}, 2, "min"),
    ("min_drills_last_12m", lambda t: {"min": t, "joint": True}, 1, "min"),
    ("min_drills_last_12m", lambda t: {"min": t, "types": ["drill"]}, 2, "min"),
    ("max_mobilisation_minutes", lambda t: {"max": t}, 50, "max"),
    ("max_mobilisation_minutes", lambda t: {"max": t, "measure": "best"}, 40, "max"),
    ("self_sufficiency_hours", lambda t: {"min": t}, 72, "min"),
    ("min_years_active", lambda t: {"min": t}, 3, "years"),
    ("record_completeness", lambda t: {"min_ratio": t}, 15 / 18, "ratio"),
    ("record_completeness", lambda t: {"min_ratio": t, "of": "members"}, 6 / 8, "ratio"),
]


@pytest.mark.parametrize("kind, params, value, direction", BOUNDARIES, ids=lambda x: x if isinstance(x, str) else None)
async def test_each_kind_at_its_boundary(water, kind, params, value, direction) -> None:
    step = {"min": 1, "max": 1, "ratio": 0.01, "years": 0.1}[direction]
    at = await measure(kind, params(value))
    assert at.passed, f"{kind} at {value}: {at.measured_zh}"
    assert at.measured == pytest.approx(value, abs=0.01)
    stricter, looser = (value - step, value + step) if direction == "max" else (value + step, value - step)
    below = await measure(kind, params(stricter))
    assert not below.passed and below.gap_zh and below.gap_en, f"{kind} just below {stricter}"
    if looser > 0:  # a threshold of 0 is not a rubric's (kinds ask for at least 1)
        assert (await measure(kind, params(looser))).passed, f"{kind} just above {looser}"


async def test_no_type_of_drill_held_and_no_mobilisation_measured(water) -> None:
    tabletop = await measure("min_drills_last_12m", {"min": 1, "types": ["tabletop"]})
    assert not tabletop.passed and tabletop.measured == 0 and tabletop.gap_zh == "还需 1 次桌面推演（近 12 个月内）"
    invited = await measure("max_mobilisation_minutes", {"max": 240}, code="WR-01-B")
    assert invited.passed and invited.measured == 40  # the joint drill it was invited to counts for it too
    await make_team("WR-NONE", members=1, active=True)
    other = await measure("max_mobilisation_minutes", {"max": 240}, code="WR-NONE")
    assert not other.passed and other.measured is None and other.gap_zh == "需在演练中测量集结时间（不超过 240 分钟（4 小时））"


async def test_evidence_names_the_members_items_and_drills(water) -> None:
    deployable = await measure("min_members", {"of": "deployable", "min": 5})
    counted = {e.ref for e in deployable.evidence if e.ok}
    assert counted == {str(p) for p in water["people"][:4]}
    uninsured = next(e for e in deployable.evidence if e.ref == str(water["people"][4]))
    assert not uninsured.ok and "无有效保险" in uninsured.note
    boats = await measure("equipment", {"type": "inflatable_boat", "min": 2, "inspected_within_months": 3})
    notes = {e.ok: e.note for e in boats.evidence if e.kind == "item"}
    assert sum(e.ok for e in boats.evidence) == 1 and "in_maintenance" in " ".join(e.note for e in boats.evidence)
    assert any("近 3 个月未检查" in e.note for e in boats.evidence) and notes
    drills = await measure("min_drills_last_12m", {"min": 3})
    assert sorted(int(e.ref) for e in drills.evidence) == sorted(water["drills"])
    kit = await measure("kit_ready", {"min": 2})
    assert {e.ref: e.ok for e in kit.evidence} == {water["ready_kit"]: True, water["short_kit"]: False}


async def test_registration_and_party_organisation(water) -> None:
    assert (await measure("registration_valid", {})).passed
    assert (await measure("party_organisation", {})).passed
    assert not (await measure("party_organisation", {}, code="WR-01-B")).passed
    await Team.update({Team.status: "suspended"}).where(Team.code == "WR-01-B")
    try:
        suspended = await measure("registration_valid", {}, code="WR-01-B")
    finally:
        await Team.update({Team.status: "active"}).where(Team.code == "WR-01-B")
    assert not suspended.passed and "现为 suspended" in suspended.gap_zh


async def test_gap_texts_in_plain_words(water) -> None:
    assert (await measure("min_certified_count", {"certificate": "rc_first_aider", "min": 8})).gap_zh == "还需 3 名持有效红十字救护员证的队员"
    boats = await measure("equipment", {"type": "inflatable_boat", "min": 4})
    assert boats.gap_zh == "还需 2 艘在用的冲锋舟（充气式）" and boats.gap_en == "2 more Inflatable rescue boat in service"
    assert (await measure("equipment", {"type": "inflatable_boat", "min": 3, "inspected_within_months": 3})).gap_zh == (
        "还需 2 艘在用且近 3 个月内检查过的冲锋舟（充气式）")
    ratio = await measure("min_certified_ratio", {"certificate": "first_aid", "min_ratio": 1.0})
    assert ratio.gap_zh == "还需 2 名在队队员取得有效急救证书（救护员证、CPR+AED 培训证等）（达到 100%）"
    assert (await measure("min_members", {"of": "deployable", "min": 6})).gap_en == (
        "2 more deployable (active, insured, valid first-aid certificate) members")
    assert (await measure("max_mobilisation_minutes", {"max": 45})).gap_zh == "集结时间需缩短到 45 分钟以内（最近一次演练测得 50 分钟）"
    assert (await measure("self_sufficiency_hours", {"min": 96})).gap_zh == "自我保障时间需达到 96 小时（现申报 72 小时）"
    assert (await measure("kit_ready", {"template": "water_rescue_boat_kit", "min": 2})).gap_zh == "还需 1 套齐备的水上救援舟艇组"


def _rubric(refs, criteria: list[dict]) -> object:
    data = {"category": "water_rescue", "version": 1, "name_zh": "测试", "name_en": "Test", "criteria": [
        {"title_zh": c["id"], "title_en": c["id"], "source": "default", **c} for c in criteria]}
    return parse_rubric("test.yaml", data, refs)


LADDER = [
    {"id": "members_l3", "kind": "min_members", "level": 3, "params": {"of": "active", "min": 3}},
    {"id": "members_l2", "kind": "min_members", "level": 2, "params": {"of": "active", "min": 5}},
    {"id": "members_l1", "kind": "min_members", "level": 1, "params": {"of": "active", "min": 8}},
    {"id": "boats_l2", "kind": "equipment", "level": 2, "params": {"type": "inflatable_boat", "min": 2}},
    {"id": "joint_l1", "kind": "min_drills_last_12m", "level": 1, "params": {"min": 2, "joint": True}},
    {"id": "score_l1", "kind": "assessor_score", "level": 1, "evidence": "assessor", "params": {"max_score": 10, "pass_score": 6}},
    {"id": "divers", "kind": "min_certified_count", "level": 1, "hard": False, "params": {"certificate": "diving", "min": 1}},
]


async def test_levels_are_cumulative_and_the_gap_leads_to_the_next(water) -> None:
    refs = await service.references()
    rubric = _rubric(refs, LADDER)
    result = ev.evaluate(rubric, 1, await _facts(), refs, TODAY)
    assert result.levels == {3: True, 2: True, 1: False} and result.eligible_level == 2 and result.next_level == 1
    # One item per ladder, the strictest that applies: "1 more" for level 1, not also the level-2 and -3 steps.
    assert [(g.criterion_id, g.text_zh, g.pending) for g in result.gap] == [
        ("members_l1", "还需 1 名在队队员", False),
        ("joint_l1", "还需 1 次联合演练（近 12 个月内）", False),
        ("score_l1", "待评审员评分：score_l1（满分 10，6 分合格）", True),
    ]
    assert [a.criterion_id for a in result.advice] == ["divers"]
    # A failed level-3 criterion leaves the team without a level, though every level-2 criterion passes.
    stricter = _rubric(refs, [*LADDER, {"id": "insured", "kind": "min_members", "level": 3, "params": {"of": "insured", "min": 5}}])
    result = ev.evaluate(stricter, 1, await _facts(), refs, TODAY)
    assert result.eligible_level is None and result.next_level == 3
    assert [g.text_zh for g in result.gap] == ["还需 1 名在队且有有效保险的队员"]


async def test_assessor_scores_count_in_an_assessment(water) -> None:
    refs = await service.references()
    ladder = [c for c in LADDER if c["id"] != "members_l1" and c["id"] != "joint_l1"] + [
        {"id": "members_l1", "kind": "min_members", "level": 1, "params": {"of": "active", "min": 7}}]
    rubric = _rubric(refs, ladder)
    records = ev.evaluate(rubric, 1, await _facts(), refs, TODAY)
    assert records.eligible_level == 1 and not records.manual_counted  # on the records, the score is left out
    pending = ev.with_scores(records, rubric, {}, {})
    assert pending.eligible_level == 2 and pending.gap[0].pending
    low = ev.with_scores(records, rubric, {"score_l1": {"score": 5, "note": "", "scored_by_name": "评审员"}}, {})
    assert low.eligible_level == 2 and low.gap[0].text_zh == "score_l1需达到 6 分（现 5 分）"
    at = ev.with_scores(records, rubric, {"score_l1": {"score": 6, "note": "", "scored_by_name": "评审员"}}, {})
    assert at.eligible_level == 1 and at.next_level is None and at.gap == []


async def test_drills_due_before_the_grade_expires(water) -> None:
    refs = await service.references()
    rubric = _rubric(refs, LADDER)
    facts = await _facts()
    facts.grades["water_rescue"] = {"level": 2, "status": "active", "assessed_on": TODAY, "valid_until": TODAY + timedelta(days=120)}
    result = ev.evaluate(rubric, 1, facts, refs, TODAY)
    assert "未来 4 个月内还需 1 次联合演练" in [g.text_zh for g in result.gap]
    assert "1 joint drill in the next 4 months" in [g.text_en for g in result.gap]


async def test_the_shipped_rubric_on_a_real_team(water) -> None:
    result = await service.evaluate_team(None, "WR-01", "water_rescue")
    by_id = {r.criterion_id: r for r in result.results}
    assert by_id["deployable_l3"].status == "failed" and by_id["deployable_l3"].measured == 4
    assert by_id["first_aid_ratio_l3"].status == "failed"  # 5 of 7 is below the 80 % of 2030
    assert result.eligible_level is None and result.next_level == 3
    texts = [g.text_zh for g in result.gap]
    assert "还需 2 名可出动的（在队、有有效保险和急救证）队员" in texts
    assert "还需 1 名在队队员取得有效急救证书（救护员证、CPR+AED 培训证等）（达到 80%）" in texts
    assert any(g.pending and "应急预案" in g.text_zh for g in result.gap)
