"""Ranking explanations: each team of the central hub gets the reason for its place, in a deterministic order."""

from __future__ import annotations

from rescueops.coordination import ranking
from rescueops.events.bus import drain
from tests.conftest import bearer
from tests.coordination.builders import deploy, request_body, rescue_team

XILINHOT = {"unit_code": "152502", "lat": 43.93, "lon": 116.08, "place": "锡林浩特市白音锡勒牧场"}  # east half of Xilingol


async def _central_teams(admin) -> None:
    """Teams of the central hub's coverage, each failing one thing (or none)."""
    await rescue_team(admin, "C-NEAR", "152530", lat=42.25, lon=116.0, level=1,
                      items=(("rescue_vehicle", "C-NEAR-V1"), ("life_detector", "C-NEAR-L1")))
    await rescue_team(admin, "C-SPEC", "152530", category="relief", specialties=("search_rescue",), lat=42.25, lon=116.0, level=None)
    await rescue_team(admin, "C-FAR", "150202", lat=40.56, lon=109.5, items=(("rescue_vehicle", "C-FAR-V1"),))
    await rescue_team(admin, "C-LEVEL", "152530", lat=42.25, lon=116.0, level=3)
    await rescue_team(admin, "C-EXPIRED", "152530", lat=42.25, lon=116.0, certified=False)
    people = await rescue_team(admin, "C-DEPLOYED", "152530", lat=42.25, lon=116.0)
    await deploy("C-DEPLOYED", people, "152530")
    await rescue_team(admin, "C-FORMING", "152530", lat=42.25, lon=116.0, active=False)
    await rescue_team(admin, "C-PSY", "152530", category="psychosocial", lat=42.25, lon=116.0)
    await rescue_team(admin, "C-NOWHERE", "150902", level=2)  # no base location: its banner's


async def _central_ranking(client, token: str, **extra) -> list[dict]:
    raised = await client.post("/api/v1/coordination/requests", json=request_body(**XILINHOT, **extra), headers=bearer(token))
    assert raised.status_code == 201, raised.text
    await drain()
    [central] = (await client.get(f"/api/v1/coordination/requests/{raised.json()['id']}/candidates?hub=central",
                                  headers=bearer(token))).json()
    return central["candidates"]


def _reasons(candidate: dict) -> dict[str, tuple[str, str]]:
    return {r["code"]: (r["level"], r["en"]) for r in candidate["reasons"]}


async def test_each_team_gets_the_reason_for_its_rank(client, make_user, admin) -> None:
    await _central_teams(admin)
    _, east = await make_user("hub_coordinator", hub="east")
    candidates = await _central_ranking(client, east, min_level=2, people_needed=3,
                                        equipment=[{"type": "rescue_vehicle", "quantity": 1}, {"type": "life_detector", "quantity": 1}])
    order = [(c["team_code"], c["eligible"]) for c in candidates]
    assert order == [("C-NEAR", True), ("C-FAR", True), ("C-NOWHERE", True),
                     ("C-DEPLOYED", False), ("C-EXPIRED", False), ("C-FORMING", False), ("C-LEVEL", False), ("C-PSY", False),
                     ("C-SPEC", False)]
    assert [c["position"] for c in candidates] == list(range(1, 10))
    by_team = {c["team_code"]: c for c in candidates}

    near = _reasons(by_team["C-NEAR"])
    assert {level for level, _ in near.values()} == {"ok"}
    assert "primary category" in near["category"][1] and "level 1" in near["level"][1]
    assert by_team["C-NEAR"]["score"] > by_team["C-FAR"]["score"] > 0

    far = _reasons(by_team["C-FAR"])
    assert far["distance"][0] == "warn" and "far (over 800 km)" in far["distance"][1]
    assert far["equipment"][0] == "warn" and "life_detector" not in far["equipment"][1] and "0/1" in far["equipment"][1]
    assert by_team["C-FAR"]["distance_km"] > 800 > by_team["C-NEAR"]["distance_km"]

    nowhere = _reasons(by_team["C-NOWHERE"])
    assert nowhere["distance"][0] == "ok" and "from its unit's location" in nowhere["distance"][1]

    level = _reasons(by_team["C-LEVEL"])
    assert level["level"] == ("fail", "Search and rescue level 3, below the required level 2")
    assert [code for code, (lvl, _) in level.items() if lvl == "fail"] == ["level"]

    expired = _reasons(by_team["C-EXPIRED"])
    assert expired["members"][0] == "fail" and "4 without a valid first-aid certificate" in expired["members"][1]
    assert "0 already deployed" in expired["members"][1]
    assert [code for code, (lvl, _) in expired.items() if lvl == "fail"] == ["members"]

    deployed = _reasons(by_team["C-DEPLOYED"])
    assert deployed["members"][0] == "fail" and "4 already deployed" in deployed["members"][1]
    assert [code for code, (lvl, _) in deployed.items() if lvl == "fail"] == ["members"]

    assert _reasons(by_team["C-FORMING"])["status"] == ("fail", "team is forming: it cannot be sent")
    assert _reasons(by_team["C-PSY"])["category"] == ("fail", "does not cover Search and rescue")
    spec = _reasons(by_team["C-SPEC"])  # a specialty counts, but it holds no grade
    assert spec["category"][0] == "ok" and "specialty" in spec["category"][1] and spec["level"][0] == "fail"
    for candidate in candidates:  # every reason speaks both languages
        assert all(r["zh"] and r["en"] for r in candidate["reasons"])
        assert [r["code"] for r in candidate["reasons"]] == ["category", "level", "status", "members", "equipment", "distance"]
        assert candidate["eligible"] == all(r["level"] != "fail" for r in candidate["reasons"])
    assert "没有可派队员" in by_team["C-DEPLOYED"]["reasons"][3]["zh"] and "过远" in by_team["C-FAR"]["reasons"][5]["zh"]

    # Without a level required the specialty team qualifies, below the primary ones; the same facts give the same order.
    again = await _central_ranking(client, east, people_needed=3)
    assert [c["team_code"] for c in again if c["eligible"]][:1] == ["C-NEAR"] and "C-SPEC" in [c["team_code"] for c in again if c["eligible"]]
    assert [c["team_code"] for c in again] == [c["team_code"] for c in await _central_ranking(client, east, people_needed=3)]


async def test_fewer_available_than_needed_is_a_warning_and_ranks_lower(client, make_user, admin) -> None:
    await rescue_team(admin, "C-BIG", "152530", lat=42.25, lon=116.0, members=6)
    people = await rescue_team(admin, "C-HALF", "152530", lat=42.25, lon=116.0, members=6)
    await deploy("C-HALF", people[:4], "152530")
    _, east = await make_user("hub_coordinator", hub="east")
    candidates = await _central_ranking(client, east, people_needed=5)
    assert [(c["team_code"], c["available"]) for c in candidates] == [("C-BIG", 6), ("C-HALF", 2)]
    level, text = _reasons(candidates[1])["members"]
    assert level == "warn" and text.startswith("2 available of 5 needed, short") and "4 already deployed" in text


def test_the_score_follows_the_documented_weights() -> None:
    need = ranking.Need("search_rescue", "搜救", "Search and rescue", None, 4, (("radio", 2),), 43.0, 116.0)
    team = ranking.TeamFacts(code="T", name_zh="队", name_en="Team", status="active", primary=True, specialty=False, level=1,
                             level_valid_until=None, active=4, deployed=0, uncertified=2, available=2, equipment={"radio": 1},
                             lat=43.0, lon=116.0, located_by="team")
    assessed = ranking.assess(need, team, {"radio": ("对讲机", "Two-way radio")})
    # 30 primary + 15 level 1 + 25 × 2/4 members + 15 × 1/2 equipment + 15 × (1 − 0 km / 1500)
    assert assessed.eligible and assessed.score == 30 + 15 + 12.5 + 7.5 + 15
    assert ranking.road_km(need, team) == 0.0
