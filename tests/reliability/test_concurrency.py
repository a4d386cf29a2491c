"""Many writers on one record at once: the data's rules hold on both engines.

tests/equipment, tests/teams and tests/deployments race a handful of identical requests. These mix the operations that
touch one stock line, one item and one team's leadership, 20 to 50 at once; issue stock from several OS processes (one
SQLite file lock, or separate PostgreSQL connection pools); and, on PostgreSQL, force the interleavings a gather hits
only now and then: one transaction is held open until the other is seen waiting for its row lock. After each race
`rescueops db check` (``broken_rules``) must find nothing: balances equal their ledgers and never go below zero,
at most one open check-out per item, one captain and at most one pending filing per team.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rescueops.equipment.tables import Checkout, Item, Movement, Stock
from rescueops.members.tables import Membership, TeamRole
from rescueops.teams.tables import LeadershipFiling
from tests.conftest import bearer
from tests.factories import make_team
from tests.reliability._integrity import broken_rules, held_open

TEAM = "CF-WNT-01"
REPO = Path(__file__).resolve().parents[2]


async def post(client, token: str, url: str, body: dict[str, Any]):
    return await client.post(url, json=body, headers=bearer(token))


def move(team: str = TEAM, **body: Any) -> dict[str, Any]:
    return {"team_code": team, "type_code": "life_jacket", **body}


# --- stock: several processes, and every kind of movement at once ---------------------------------


def issue_from_this_process(count: int) -> None:
    """Child process: say "ready", wait for "go" on stdin, issue one life jacket ``count`` times at once, print the outcome.

    Run by the test below through ``python -c``; it shares the test database through the environment."""
    from rescueops.db import engine
    from rescueops.equipment import service
    from rescueops.equipment.schemas import MovementIn
    from rescueops.errors import Conflict

    async def issue_one() -> str:
        try:
            await service.move_stock(None, MovementIn(**move(kind="issue", quantity=1)))
            return "issued"
        except Conflict as refused:
            return refused.code
        except Exception as error:  # noqa: BLE001 - reported to the parent, which fails on anything else
            return f"{type(error).__name__}: {error}"

    async def main() -> Counter[str]:
        db = engine.database()
        await engine.prepare(db)
        try:
            print("ready", flush=True)
            sys.stdin.readline()
            return Counter(await asyncio.gather(*[issue_one() for _ in range(count)]))
        finally:
            await engine.release(db)

    print(json.dumps(asyncio.run(main())), flush=True)


async def test_stock_issued_from_several_processes_at_once_stops_at_zero(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    assert (await post(client, logistics, "/api/v1/equipment/stock/movements", move(kind="receive", quantity=30))).status_code == 201
    code = f"from {__name__} import issue_from_this_process; issue_from_this_process(15)"
    children = [await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=REPO, env=dict(os.environ),
                                                     stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
                for _ in range(3)]
    try:
        for child in children:  # all started, then all let go at once
            assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"ready"
        for child in children:
            child.stdin.write(b"go\n")
            await child.stdin.drain()
        outputs = await asyncio.wait_for(asyncio.gather(*[child.communicate() for child in children]), 120)
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
    outcomes = sum((Counter(json.loads(out.decode().splitlines()[-1])) for out, _ in outputs), Counter())
    assert outcomes == {"issued": 30, "insufficient_stock": 15}, outcomes  # nothing else: no "database is locked"
    assert (await Stock.select(Stock.quantity).first())["quantity"] == 0
    assert await broken_rules() == []


async def test_every_kind_of_movement_on_one_stock_line_at_once_keeps_it_equal_to_its_ledger(client, make_user) -> None:
    await make_team()
    _, admin = await make_user("admin")
    assert (await post(client, admin, "/api/v1/orgs/units", {"code": "150400-D1", "kind": "depot", "parent_code": "150400",
                                                               "name_zh": "赤峰储备库", "name_en": "Chifeng depot"})).status_code == 201
    received = await post(client, admin, "/api/v1/equipment/stock/movements", move(kind="receive", quantity=40, reference="入库单 1"))
    assert received.status_code == 201
    wrong = (await Movement.select(Movement.id).first())["id"]  # the delivery note said 40; 50 came
    to_depot = {"type_code": "life_jacket", "source": {"team_code": TEAM}, "destination": {"depot_code": "150400-D1"}, "quantity": 3}
    to_team = {**to_depot, "source": to_depot["destination"], "destination": to_depot["source"], "quantity": 1}
    work = ([("issue", "/api/v1/equipment/stock/movements", move(kind="issue", quantity=2))] * 14
            + [("consume", "/api/v1/equipment/stock/movements", move(kind="consume", quantity=1))] * 6
            + [("receive", "/api/v1/equipment/stock/movements", move(kind="receive", quantity=1))] * 8
            + [("to_depot", "/api/v1/equipment/stock/transfers", to_depot)] * 8
            + [("to_team", "/api/v1/equipment/stock/transfers", to_team)] * 4
            + [("correct", f"/api/v1/equipment/stock/movements/{wrong}/correction", {"quantity": 50, "note": "实收 50 件"})] * 6)
    random.Random(8).shuffle(work)
    responses = await asyncio.gather(*[post(client, admin, url, body) for _, url, body in work])
    done = Counter(kind for (kind, _, _), r in zip(work, responses, strict=True) if r.status_code == 201)
    refused = Counter((kind, r.status_code, r.json()["code"]) for (kind, _, _), r in zip(work, responses, strict=True) if r.status_code != 201)
    assert {(status, code) for _, status, code in refused} <= {(409, "insufficient_stock"), (422, "invalid_input")}, refused
    # Six people correcting the same receipt to 50 at once correct it once; the others are told it already says 50.
    assert done["correct"] == 1 and sum(n for (kind, status, _), n in refused.items() if status == 422 and kind == "correct") == 5, refused
    assert [m["quantity"] for m in await Movement.select(Movement.quantity).where(Movement.corrects == wrong)] == [10]
    on_hand = {row["depot"]: row["quantity"] for row in await Stock.select(Stock.depot, Stock.quantity)}
    assert sum(on_hand.values()) == 50 + done["receive"] - 2 * done["issue"] - done["consume"]  # transfers move, never make
    assert on_hand[None] >= 0 and sum(v for k, v in on_hand.items() if k is not None) == 3 * done["to_depot"] - done["to_team"]
    assert await broken_rules() == []


# --- one item: scans checking it out and in at once ---------------------------------------------


async def test_check_outs_and_check_ins_of_the_same_items_at_once_leave_at_most_one_open_each(client, make_user) -> None:
    await make_team()
    _, logistics = await make_user("logistics", unit="150426")
    tags = [f"CF-WNT-BOAT-00{i}" for i in range(1, 4)]
    for tag in tags:
        assert (await post(client, logistics, "/api/v1/equipment/items",
                           {"team_code": TEAM, "asset_tag": tag, "type_code": "inflatable_boat"})).status_code == 201
    out_now = dict.fromkeys(tags, 0)
    for round_ in range(3):
        work = [(tag, "out") for tag in tags for _ in range(7)] + [(tag, "in") for tag in tags for _ in range(7)]
        random.Random(round_).shuffle(work)
        responses = await asyncio.gather(*[
            post(client, logistics, f"/api/v1/equipment/items/{tag}/check-out", {"kind": "drill", "reference": f"第 {round_} 轮"})
            if way == "out" else post(client, logistics, f"/api/v1/equipment/items/{tag}/check-in", {}) for tag, way in work])
        assert all(r.status_code in (200, 201, 409) for r in responses), [r.text for r in responses if r.status_code not in (200, 201, 409)]
        for (tag, way), response in zip(work, responses, strict=True):
            if response.status_code < 300:
                out_now[tag] += 1 if way == "out" else -1
        open_rows = Counter(row["asset_tag"] for row in await Checkout.select(Checkout.item.asset_tag.as_alias("asset_tag")).where(
            Checkout.returned_at.is_null()))
        # Each success moved the item one step: out, in, out… so the successes add up to what is open now.
        assert {tag: open_rows.get(tag, 0) for tag in tags} == out_now and set(out_now.values()) <= {0, 1}
        assert await broken_rules() == []


# --- PostgreSQL: one transaction held open until the other waits for its lock --------------------


async def waiting_for_a_row_lock(task: asyncio.Task, timeout: float = 20) -> None:
    """Return once another connection of this database is blocked on a lock (or fail, saying what ``task`` did instead)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if task.done():
            raise AssertionError(f"finished without waiting for the lock: {task.result()!r}")
        waiting = await Stock.raw("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND wait_event_type = 'Lock'")
        if waiting[0]["n"]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("nobody waited for the lock")


# The interleaving is forced by seeing PostgreSQL report the lock wait; SQLite writers wait at BEGIN IMMEDIATE, unseen.
postgres_only = pytest.mark.skipif("config.getoption('--engine') != 'postgres'",
                                   reason="forces an interleaving by watching PostgreSQL's lock waits (pg_stat_activity)")


@postgres_only
async def test_an_inspection_failing_while_the_item_goes_out_cannot_free_it_for_a_second_check_out(make_principal) -> None:
    from rescueops.equipment import service
    from rescueops.equipment.schemas import CheckoutIn, InspectionIn, ItemIn, RepairDoneIn
    from rescueops.errors import Conflict

    await make_team()
    logistics = await make_principal("logistics", unit="150426")
    tag = "CF-WNT-BOAT-001"
    await service.register_item(logistics, ItemIn(team_code=TEAM, asset_tag=tag, type_code="inflatable_boat"))
    failed = InspectionIn(results={"船体气密": False, "龙骨与底板": True, "船桨与锚": True, "拖曳绳": True}, note="漏气")
    async with held_open(lambda: service.check_out(logistics, tag, CheckoutIn(kind="drill", reference="防汛演练"))):
        # The inspector read the boat in service before the check-out committed.
        inspection = asyncio.create_task(service.record_inspection(logistics, tag, failed))
        await waiting_for_a_row_lock(inspection)
    await inspection
    assert (await Item.select(Item.status).first())["status"] == "checked_out"  # still out: it fails its inspection out there
    with pytest.raises(Conflict):
        await service.finish_repair(logistics, tag, RepairDoneIn(description="补胶"))
    with pytest.raises(Conflict):
        await service.check_out(logistics, tag, CheckoutIn(kind="drill", reference="第二次"))
    assert await Checkout.count().where(Checkout.returned_at.is_null()) == 1
    assert await broken_rules() == []


@postgres_only
async def test_two_corrections_of_one_movement_at_once_correct_it_once(make_principal) -> None:
    from rescueops.equipment import service
    from rescueops.equipment.schemas import CorrectionIn, MovementIn
    from rescueops.errors import InvalidInput

    await make_team()
    logistics = await make_principal("logistics", unit="150426")
    await service.move_stock(logistics, MovementIn(**move(kind="receive", quantity=40)))
    wrong = (await Movement.select(Movement.id).first())["id"]
    to_50 = CorrectionIn(quantity=50, note="实收 50 件")
    async with held_open(lambda: service.correct_movement(logistics, wrong, to_50)):
        # The second one starts before the first commits: it must not count the ledger without it.
        second = asyncio.create_task(service.correct_movement(logistics, wrong, to_50))
        await waiting_for_a_row_lock(second)
    with pytest.raises(InvalidInput):
        await second
    assert (await Stock.select(Stock.quantity).first())["quantity"] == 50
    assert await broken_rules() == []


@postgres_only
async def test_approving_a_filing_while_its_captain_leaves_refuses_the_approval(make_principal) -> None:
    from rescueops.errors import InvalidInput
    from rescueops.members import service as members
    from rescueops.members.schemas import StatusChangeIn
    from rescueops.teams import service as teams
    from rescueops.teams.schemas import DecisionIn, FilingIn

    team = await make_team(members=6, leaders=True, active=True)
    old_captain, deputy_1, deputy_2, proposed = team["people"][:4]
    captain = await make_principal("captain", team=TEAM)
    supervisor = await make_principal("league_supervisor", unit="150400")
    filing = await teams.file_leadership(captain, TEAM, FilingIn(captain_id=proposed, deputy_ids=[deputy_1, deputy_2], reason="换届"))
    leaving = StatusChangeIn(status="exited", reason="工作调动")
    async with held_open(lambda: members.change_member_status(captain, proposed, leaving)):
        approval = asyncio.create_task(teams.decide_filing(supervisor, filing.id, DecisionIn(approve=True)))
        await waiting_for_a_row_lock(approval)
    with pytest.raises(InvalidInput) as refused:
        await approval
    assert refused.value.code == "not_active_member"
    assert (await LeadershipFiling.select(LeadershipFiling.status).first())["status"] == "pending"
    captains = await Membership.select(Membership.person).where(
        (Membership.role == TeamRole.captain.value) & Membership.left_on.is_null())
    assert captains == [{"person": old_captain}]
    assert await broken_rules() == []


# --- one team: officers deciding and leaders filing at once --------------------------------------


async def test_officers_deciding_and_leaders_filing_at_once_leave_one_captain_and_one_pending_filing(client, make_user) -> None:
    team = await make_team(members=7, leaders=True, active=True)
    people = team["people"]
    _, captain = await make_user("captain", team=TEAM)
    _, deputy = await make_user("deputy_captain", team=TEAM)
    officers = [(await make_user(role, unit=unit))[1] for role, unit in [("league_supervisor", "150400"), ("county_officer", "150426")] * 2]
    proposals = [(people[3], [people[1], people[2]]), (people[4], [people[5], people[6]]), (people[0], [people[3], people[4]])]
    for round_, (proposed_captain, deputies) in enumerate(proposals):
        pending = await LeadershipFiling.select(LeadershipFiling.id).where(LeadershipFiling.status == "pending").first()
        if pending is None:
            filed = await post(client, captain, f"/api/v1/teams/{TEAM}/filings",
                               {"captain_id": proposed_captain, "deputy_ids": deputies, "reason": f"第 {round_} 次换届"})
            assert filed.status_code == 201, filed.text
            pending = filed.json()
        decisions = [post(client, officers[i % 4], f"/api/v1/filings/{pending['id']}/decision",
                          {"approve": i % 2 == 0, "reason": "" if i % 2 == 0 else "材料不全"}) for i in range(20)]
        filings = [post(client, [captain, deputy][i % 2], f"/api/v1/teams/{TEAM}/filings",
                        {"captain_id": people[6], "deputy_ids": [people[1], people[5]], "reason": f"抢先申请 {i}"}) for i in range(10)]
        results = await asyncio.gather(*decisions, *filings)
        decided, filed_again = results[:20], results[20:]
        assert sorted(r.status_code for r in decided) == [200] + [409] * 19, [r.text for r in decided]
        assert {r.json()["code"] for r in decided if r.status_code == 409} <= {"already_decided"}
        assert sum(r.status_code == 201 for r in filed_again) <= 1
        # A filing landing after an approval of the same leadership is "no_change"; every other one waits its turn.
        assert {r.json()["code"] for r in filed_again if r.status_code != 201} <= {"filing_pending", "no_change"}, [r.text for r in filed_again]
        captains = [row["person"] for row in await Membership.select(Membership.person).where(
            (Membership.role == TeamRole.captain.value) & Membership.left_on.is_null())]
        winner = next(r for r in decided if r.status_code == 200).json()
        assert len(captains) == 1 and (winner["status"] != "approved" or captains == [winner["proposed"]["captain"]["id"]])
        assert await LeadershipFiling.count().where(LeadershipFiling.status == "pending") <= 1
        assert await broken_rules() == []
