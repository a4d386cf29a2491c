"""The demo data holds a graded team and an assessment in progress, made through the grading workflow."""

from __future__ import annotations

from rescueops import demo
from rescueops.accounts import service as accounts
from rescueops.grading import service
from rescueops.grading.tables import Readiness
from rescueops.settings import get_settings


async def test_demo_has_a_graded_team_and_an_assessment_in_progress(db) -> None:
    await demo.load_demo(get_settings())
    captain = await accounts.load_principal(await accounts.find_user_id("captain"))
    page = await service.team_grading(captain, "CF-WNT-01")
    water = next(c for c in page.categories if c.category == "water_rescue")
    assert water.grade.level == 3 and water.grade.status == "active" and water.history[0].action.value == "granted"
    search = next(c for c in page.categories if c.category == "search_rescue")
    assert search.grade is None and search.assessment_in_progress is not None and search.evaluation.gap
    applied = await service.get_assessment(captain, search.assessment_in_progress)
    assert applied.applied and applied.status.value == "open"
    assert await Readiness.count().where(Readiness.team_code == "CF-WNT-01") == 3
    region = await accounts.load_principal(await accounts.find_user_id("region"))
    board = await service.dashboard(region)
    assert ("CF-WNT-01", "water_rescue") in {(r.team_code, r.category) for r in board.below_grade}
