"""The assessment workflow: open (or apply) → evidence snapshot → assessors score and attach documents → the supervisor
decides (never above the eligible level without a reason) → level 1 confirmed by the region → granted with a validity →
one appeal within the deadline → suspension, cancellation, expiry, reminders. Every step audited and emitted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from rescueops.accounts.tables import AuditEntry
from rescueops.calendar import add_months
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from rescueops.events.tables import Notification, OutboxEvent
from rescueops.grading import service
from rescueops.grading.schemas import (
    AppealDecisionIn,
    AppealIn,
    AssessmentOpen,
    ConfirmationIn,
    DecisionIn,
    ReasonIn,
    RubricEdit,
    ScoreIn,
    ThresholdChange,
)
from rescueops.grading.tables import Assessment, GradeAction
from rescueops.teams import service as teams
from rescueops.teams.tables import Grade
from tests.grading.builders import TODAY, admin_principal, level3_water_team

PDF = b"%PDF-1.4 emergency plan"


@pytest.fixture
async def people(db, make_principal):
    admin = await admin_principal()
    team = await level3_water_team(admin)
    return {
        "admin": admin, "team": team,
        "supervisor": await make_principal("league_supervisor", unit="150400"),
        "officer": await make_principal("county_officer", unit="150426"),
        "region": await make_principal("region_coordinator", unit="150000"),
        "region2": await make_principal("region_coordinator", unit="150000"),
        "captain": await make_principal("captain", team="WR-L3"),
        "outsider": await make_principal("league_supervisor", unit="150200"),
    }


async def _opened(people, **extra):
    return await service.open_assessment(people["supervisor"], AssessmentOpen(team_code="WR-L3", category="water_rescue", **extra))


async def _scored(people):
    """An assessment with the level-3 assessor items done: the plans document scored 8/10, the spot check 7/10."""
    opened = await _opened(people)
    await service.attach_document(people["captain"], opened.id, title="应急预案 2026", criterion_id="plans", content=PDF,
                                  content_type="application/pdf")
    await service.score(people["officer"], opened.id, ScoreIn(criterion_id="plans", score=8, note="预案齐全"))
    return await service.score(people["officer"], opened.id, ScoreIn(criterion_id="spot_check", score=7))


async def _types(code: str = "WR-L3") -> list[str]:
    return [r["type"] for r in await OutboxEvent.select(OutboxEvent.type).where(OutboxEvent.aggregate_id == code).order_by(OutboxEvent.id)]


async def test_open_snapshots_the_evidence_and_refuses_a_second(people) -> None:
    opened = await _opened(people)
    assert opened.status.value == "open" and not opened.applied and opened.rubric_version == 1
    assert opened.snapshot_on == TODAY and opened.evaluation.manual_counted
    # On the records the team meets level 3; in the assessment the assessors' items are still to come.
    by_id = {r.criterion_id: r for r in opened.evaluation.results}
    assert by_id["deployable_l3"].status == "passed" and by_id["plans"].status == "pending"
    assert opened.eligible_level is None and any(g.pending for g in opened.evaluation.gap)
    with pytest.raises(Conflict) as caught:
        await service.open_assessment(people["officer"], AssessmentOpen(team_code="WR-L3", category="water_rescue"))
    assert caught.value.code == "assessment_in_progress"
    assert await Assessment.count() == 1
    with pytest.raises(InvalidInput):
        await service.open_assessment(people["supervisor"], AssessmentOpen(team_code="WR-L3", category="base_camp"))


async def test_the_snapshot_stays_while_the_records_change(people) -> None:
    opened = await _opened(people)
    from rescueops.members.tables import Membership

    await Membership.update({Membership.status: "inactive"}).where(Membership.person.is_in(people["team"]["people"][:4]))
    again = await service.get_assessment(people["supervisor"], opened.id)
    assert {r.criterion_id: r.measured for r in again.evaluation.results}["deployable_l3"] == 8
    refreshed = await service.refresh_evidence(people["supervisor"], opened.id)
    assert {r.criterion_id: r.measured for r in refreshed.evaluation.results}["deployable_l3"] == 4
    assert [s.step for s in refreshed.steps] == ["opened", "evidence"]


async def test_scores_and_documents_make_the_team_eligible(people) -> None:
    scored = await _scored(people)
    assert scored.eligible_level == 3
    assert [(s.criterion_id, s.score) for s in sorted(scored.scores, key=lambda s: s.criterion_id)] == [("plans", 8), ("spot_check", 7)]
    assert [d.title for d in scored.documents] == ["应急预案 2026"]
    content, media, _ = await service.read_document(people["captain"], scored.id, scored.documents[0].id)
    assert content == PDF and media == "application/pdf"
    with pytest.raises(InvalidInput):
        await service.score(people["officer"], scored.id, ScoreIn(criterion_id="plans", score=11))
    with pytest.raises(InvalidInput):
        await service.score(people["officer"], scored.id, ScoreIn(criterion_id="deployable_l3", score=5))
    with pytest.raises(PermissionDenied):
        await service.score(people["captain"], scored.id, ScoreIn(criterion_id="plans", score=10))
    with pytest.raises(InvalidInput) as caught:
        await service.attach_document(people["captain"], scored.id, title="x", criterion_id="", content=b"MZ", content_type="application/x-msdownload")
    assert caught.value.code == "bad_file_type"


async def test_a_decision_above_the_eligible_level_needs_a_reason(people) -> None:
    scored = await _scored(people)
    with pytest.raises(InvalidInput) as caught:
        await service.decide(people["supervisor"], scored.id, DecisionIn(level=2, reason="装备较好"))
    assert caught.value.code == "above_eligible" and "eligible level (3)" in caught.value.message
    still = await service.get_assessment(people["supervisor"], scored.id)
    assert still.status.value == "open" and still.decided_level is None
    assert not await Grade.exists() and "team.graded" not in await _types()
    decided = await service.decide(people["supervisor"], scored.id, DecisionIn(
        level=2, reason="装备较好", override_reason="汛期承担旗县主要水域救援任务，实战表现突出"))
    assert decided.status.value == "granted" and decided.decided_level == 2 and decided.override_reason.startswith("汛期")


async def test_granting_writes_the_grade_with_its_validity(people) -> None:
    scored = await _scored(people)
    decided = await service.decide(people["supervisor"], scored.id, DecisionIn(level=3, reason="符合三级条件"))
    assert decided.status.value == "granted" and decided.granted_on == TODAY
    assert decided.valid_until == add_months(TODAY, 36)
    team = await teams.get_team(None, "WR-L3")
    assert [(g.category, g.level, g.valid_until) for g in team.grades] == [("water_rescue", 3, add_months(TODAY, 36))]
    types = await _types()
    assert types[-1] == "team.graded" and "grading.assessment_decided" in types and types.count("grading.assessment_scored") == 2
    graded = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == "team.graded").first()
    assert json.loads(graded["payload"]) == {"team_code": "WR-L3", "category": "water_rescue", "level": 3,
                                              "valid_until": str(add_months(TODAY, 36)), "decision": "granted"}
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.entity_id == str(scored.id))}
    assert {"grading.assessment.opened", "grading.assessment.scored", "grading.assessment.document", "grading.assessment.decided"} <= actions
    page = await service.team_grading(people["captain"], "WR-L3")
    water = next(c for c in page.categories if c.category == "water_rescue")
    assert water.grade.level == 3 and [h.action for h in water.history] == [GradeAction.granted]


async def test_level_one_waits_for_the_region(people) -> None:
    scored = await _scored(people)
    decided = await service.decide(people["region"], scored.id, DecisionIn(level=1, reason="拟定一级", override_reason="区域骨干队，承担跨盟市救援任务"))
    assert decided.status.value == "awaiting_confirmation" and not await Grade.exists()
    told = await Notification.select(Notification.user, Notification.link).where(Notification.kind == "grading.confirmation")
    assert {r["link"] for r in told} == {f"/grading/assessments/{scored.id}"} and len(told) == 2
    with pytest.raises(PermissionDenied) as caught:
        await service.confirm(people["region"], scored.id, ConfirmationIn(confirm=True))
    assert caught.value.code == "own_decision"
    with pytest.raises(PermissionDenied):
        await service.confirm(people["supervisor"], scored.id, ConfirmationIn(confirm=True))
    confirmed = await service.confirm(people["region2"], scored.id, ConfirmationIn(confirm=True, note="同意"))
    assert confirmed.status.value == "granted" and confirmed.confirmed_by_name == people["region2"].display_name
    assert [(g.level) for g in (await teams.get_team(None, "WR-L3")).grades] == [1]
    assert "grading.assessment_confirmed" in await _types()


async def test_the_region_can_send_a_level_one_back(people) -> None:
    scored = await _scored(people)
    await service.decide(people["supervisor"], scored.id, DecisionIn(level=1, reason="拟定一级", override_reason="实战表现突出，请区里把关"))
    with pytest.raises(ValidationError):
        ConfirmationIn(confirm=False)
    back = await service.confirm(people["region"], scored.id, ConfirmationIn(confirm=False, note="队伍规模不足一级"))
    assert back.status.value == "open" and back.confirmation_note == "队伍规模不足一级"
    final = await service.decide(people["supervisor"], scored.id, DecisionIn(level=3, reason="按区意见定三级"))
    assert final.status.value == "granted" and [s.step for s in final.steps][-3:] == ["decided", "refused", "decided"]


async def test_one_appeal_within_the_deadline(people) -> None:
    scored = await _scored(people)
    decided = await service.decide(people["supervisor"], scored.id, DecisionIn(level=None, reason="暂不定级"))
    assert decided.status.value == "not_granted" and decided.appeal_deadline == TODAY + timedelta(days=30)
    with pytest.raises(ValidationError):
        AppealIn(reason="太短")
    with pytest.raises(PermissionDenied):
        await service.appeal(people["supervisor"], scored.id, AppealIn(reason="决定者本人不能申诉自己的决定"))
    appealed = await service.appeal(people["captain"], scored.id, AppealIn(reason="我队已达到三级全部条件，评审员评分合格"))
    assert appealed.status.value == "appealed"
    with pytest.raises(Conflict):
        await service.appeal(people["captain"], scored.id, AppealIn(reason="再申诉一次试试看看行不行"))
    upheld = await service.decide_appeal(people["region"], scored.id, AppealDecisionIn(uphold=True, level=3, note="申诉成立，定为三级"))
    assert upheld.status.value == "granted" and upheld.decided_level == 3 and upheld.appeal_outcome == "upheld"
    assert [g.level for g in (await teams.get_team(None, "WR-L3")).grades] == [3]
    with pytest.raises(Conflict) as caught:
        await service.appeal(people["captain"], scored.id, AppealIn(reason="一项决定只能申诉一次，第二次被拒绝"))
    assert caught.value.code == "already_appealed"
    assert "grading.assessment_appealed" in await _types() and "grading.appeal_decided" in await _types()


async def test_an_appeal_after_the_deadline_is_refused(people) -> None:
    scored = await _scored(people)
    await service.decide(people["supervisor"], scored.id, DecisionIn(level=3, reason="符合三级条件"))
    await Assessment.update({Assessment.final_at: datetime.now(UTC) - timedelta(days=31)}).where(Assessment.id == scored.id)
    with pytest.raises(Conflict) as caught:
        await service.appeal(people["captain"], scored.id, AppealIn(reason="我们认为应当评为二级，请复核"))
    assert caught.value.code == "appeal_too_late" and "30 days after the decision" in caught.value.message
    assert (await service.get_assessment(people["captain"], scored.id)).status.value == "granted"


async def test_a_dismissed_appeal_keeps_the_decision(people) -> None:
    scored = await _scored(people)
    await service.decide(people["supervisor"], scored.id, DecisionIn(level=3, reason="符合三级条件"))
    await service.appeal(people["captain"], scored.id, AppealIn(reason="我们认为应当评为二级，请复核"))
    with pytest.raises(InvalidInput):
        await service.decide_appeal(people["region"], scored.id, AppealDecisionIn(uphold=True, level=3, note="同级改判无意义"))
    dismissed = await service.decide_appeal(people["region"], scored.id, AppealDecisionIn(uphold=False, note="维持原决定"))
    assert dismissed.status.value == "granted" and dismissed.decided_level == 3 and dismissed.appeal_outcome == "dismissed"


async def test_old_assessments_keep_their_rubric_version(people) -> None:
    scored = await _scored(people)
    await service.decide(people["supervisor"], scored.id, DecisionIn(level=3, reason="符合三级条件"))
    await service.edit_rubric(people["supervisor"], "water_rescue", RubricEdit(
        reason="三级至少 2 艘舟艇", changes=[ThresholdChange(criterion_id="boats_l3", params={"min": 2})]))
    old = await service.get_assessment(people["supervisor"], scored.id)
    assert old.rubric_version == 1 and {r.criterion_id: r for r in old.evaluation.results}["boats_l3"].threshold == 1
    assert old.eligible_level == 3
    new = await _opened(people)
    assert new.rubric_version == 2
    boats = {r.criterion_id: r for r in new.evaluation.results}["boats_l3"]
    assert boats.threshold == 2 and boats.status == "failed" and boats.gap_zh == "还需 1 艘在用的冲锋舟（充气式）"


async def test_a_team_applies_and_cannot_decide(people) -> None:
    applied = await service.open_assessment(people["captain"], AssessmentOpen(team_code="WR-L3", category="water_rescue", requested_level=3))
    assert applied.applied and applied.requested_level == 3 and [s.step for s in applied.steps] == ["applied"]
    with pytest.raises(PermissionDenied):
        await service.decide(people["captain"], applied.id, DecisionIn(level=3, reason="自己定级"))
    with pytest.raises(NotFound):
        await service.get_assessment(people["outsider"], applied.id)
    withdrawn = await service.withdraw(people["captain"], applied.id, ReasonIn(reason="材料未备齐，下次再申请"))
    assert withdrawn.status.value == "withdrawn"
    assert (await _opened(people)).status.value == "open"  # a withdrawn one no longer blocks a new one


async def test_suspend_reinstate_cancel_and_expire(people) -> None:
    scored = await _scored(people)
    await service.decide(people["supervisor"], scored.id, DecisionIn(level=3, reason="符合三级条件"))
    await service.change_grade(people["officer"], "WR-L3", "water_rescue", GradeAction.suspended, ReasonIn(reason="发生安全责任事故"))
    assert (await teams.get_team(None, "WR-L3")).grades == []
    with pytest.raises(Conflict):
        await service.change_grade(people["officer"], "WR-L3", "water_rescue", GradeAction.suspended, ReasonIn(reason="再暂停一次"))
    with pytest.raises(PermissionDenied):
        await service.change_grade(people["captain"], "WR-L3", "water_rescue", GradeAction.reinstated, ReasonIn(reason="自己恢复"))
    await service.change_grade(people["officer"], "WR-L3", "water_rescue", GradeAction.reinstated, ReasonIn(reason="整改完成"))
    assert [g.level for g in (await teams.get_team(None, "WR-L3")).grades] == [3]
    payloads = [json.loads(r["payload"]) for r in await OutboxEvent.select(OutboxEvent.payload).where(
        OutboxEvent.type == "team.graded").order_by(OutboxEvent.id)]
    assert [(p["decision"], p["level"]) for p in payloads] == [("granted", 3), ("suspended", None), ("reinstated", 3)]
    # Past its validity, the nightly job marks the grade expired.
    await Grade.update({Grade.valid_until: TODAY - timedelta(days=1)}).where(Grade.level == 3)
    assert await service.expire_grades() == "1 grades expired"
    assert await service.expire_grades() == "0 grades expired"
    page = await service.team_grading(people["captain"], "WR-L3")
    water = next(c for c in page.categories if c.category == "water_rescue")
    assert water.grade.status == "expired" and water.history[0].action == GradeAction.expired
    await service.change_grade(people["supervisor"], "WR-L3", "water_rescue", GradeAction.cancelled, ReasonIn(reason="队伍撤销该专业"))
    assert not await Grade.exists()


async def test_the_reassessment_reminder_points_to_the_grading_page(people) -> None:
    scored = await _scored(people)
    await service.decide(people["supervisor"], scored.id, DecisionIn(level=3, reason="符合三级条件"))
    await Grade.update({Grade.valid_until: TODAY + timedelta(days=30)}).where(Grade.level == 3)
    assert await teams.remind_reassessment() != "0 reminders sent"
    links = {r["link"] for r in await Notification.select(Notification.link).where(Notification.kind == "teams.reassessment_due")}
    assert links == {"/grading/teams/WR-L3"}
    await Grade.update({Grade.status: "suspended"}).where(Grade.level == 3)
    await Notification.delete(force=True)
    assert await teams.remind_reassessment() == "0 reminders sent"  # a suspended grade is not re-assessed on schedule
