"""The outbox: one event per transfer step, written with the change or not at all, routed by region."""

from __future__ import annotations

import pytest

from rescueops.db import write_transaction
from rescueops.equipment.schemas import OwnerOut, TransferEvent
from rescueops.events import service as events
from rescueops.events.schemas import PAYLOADS, EventPayload
from rescueops.events.tables import OutboxEvent
from rescueops.orgs import service as orgs
from tests.conftest import bearer
from tests.equipment.test_stock import depot
from tests.factories import make_team


@pytest.mark.parametrize(("path", "region"), [
    ("/150000/150400/150426/", "east"),      # Wengniute, in Chifeng
    ("/150000/150600/", "west"),             # Ordos
    ("/150000/152200/152201/", "all"),       # Hinggan: two hubs, neither primary
    ("/150000/152500/152502/", "east"),      # Xilinhot, the eastern half of Xilingol by default
    ("/150000/152500/", "all"),              # Xilingol as a whole lies in two halves
    ("/150000/", "all"),
])
async def test_the_region_of_a_place(db, path: str, region: str) -> None:
    assert await orgs.region_of(path) == region


async def test_editing_a_hubs_coverage_moves_the_region(client, make_user) -> None:
    _, admin = await make_user("admin")
    hub = (await client.get("/api/v1/orgs/hubs/central", headers=bearer(admin))).json()
    units = [{"unit_code": c["unit"]["code"], "role": c["role"]} for c in hub["coverage"]] + [{"unit_code": "152502", "role": "primary"}]
    east = (await client.get("/api/v1/orgs/hubs/east", headers=bearer(admin))).json()
    east_units = [{"unit_code": c["unit"]["code"], "role": c["role"]} for c in east["coverage"] if c["unit"]["code"] != "152502"]
    for code, coverage in (("east", east_units), ("central", units)):
        response = await client.put(f"/api/v1/orgs/hubs/{code}/coverage", json={"coverage": coverage, "reason": "锡林浩特划归中部"}, headers=bearer(admin))
        assert response.status_code == 200, response.text
    assert await orgs.region_of("/150000/152500/152502/") == "central"


async def _transfer(client, make_user, *, depot_unit: str = "150600"):
    """A team in Chifeng (east) asks a depot in Ordos (west) for tents."""
    await make_team()
    _, admin = await make_user("admin")
    store = await depot(client, admin, code=f"{depot_unit}-D1", parent=depot_unit)
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": store, "type_code": "tent_12m2", "kind": "receive", "quantity": 20},
                      headers=bearer(admin))
    _, captain = await make_user("captain", team="CF-WNT-01")
    asked = await client.post("/api/v1/equipment/transfer-requests", json={
        "source": {"depot_code": store}, "destination": {"team_code": "CF-WNT-01"},
        "stock_lines": [{"type": "tent_12m2", "quantity": 8}], "reason": "白灾转移安置牧民"}, headers=bearer(captain))
    assert asked.status_code == 201, asked.text
    return asked.json()["id"], admin, captain


async def test_every_transfer_step_is_an_event_from_the_side_that_took_it(client, make_user) -> None:
    tid, admin, captain = await _transfer(client, make_user)
    for action, token in (("approve", admin), ("dispatch", admin), ("receive", captain)):
        step = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": action, "note": f"{action} ok"},
                                 headers=bearer(token))
        assert step.status_code == 200, step.text
    rows = await OutboxEvent.select().where(OutboxEvent.aggregate_id == str(tid)).order_by(OutboxEvent.id)
    assert [(r["type"], r["routing_key"]) for r in rows] == [
        ("equipment_transfer.requested", "east.equipment_transfer.requested"),
        ("equipment_transfer.approved", "west.equipment_transfer.approved"),
        ("equipment_transfer.dispatched", "west.equipment_transfer.dispatched"),
        ("equipment_transfer.received", "east.equipment_transfer.received"),
    ]
    assert all(r["published_at"] is None and r["version"] == 1 for r in rows)
    assert len({r["event_id"] for r in rows}) == 4
    dispatched = TransferEvent.model_validate_json(rows[2]["payload"])
    assert dispatched.status.value == "dispatched" and dispatched.note == "dispatch ok"
    assert dispatched.source == OwnerOut(kind="depot", code="150600-D1", name_zh="储备库")
    assert dispatched.destination.code == "CF-WNT-01" and [(line.type, line.quantity) for line in dispatched.stock_lines] == [("tent_12m2", 8)]


async def test_a_failed_step_emits_nothing(client, make_user) -> None:
    tid, admin, captain = await _transfer(client, make_user)
    await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "approve"}, headers=bearer(admin))
    await client.post("/api/v1/equipment/stock/movements", json={"depot_code": "150600-D1", "type_code": "tent_12m2", "kind": "issue",
                                                              "quantity": 15}, headers=bearer(admin))
    before = await OutboxEvent.count()
    dispatched = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "dispatch"}, headers=bearer(admin))
    assert dispatched.status_code == 409 and dispatched.json()["code"] == "insufficient_stock"
    unexplained = await client.post(f"/api/v1/equipment/transfer-requests/{tid}/steps", json={"action": "receive"}, headers=bearer(captain))
    assert unexplained.status_code == 409
    assert await OutboxEvent.count() == before


async def test_a_rolled_back_change_leaves_no_event(db) -> None:
    payload = TransferEvent(transfer_id=1, status="requested", source=OwnerOut(kind="depot", code="D", name_zh="库"),
                            destination=OwnerOut(kind="team", code="T", name_zh="队"), stock_lines=[], asset_tags=[], reason="演练", by="测试")
    with pytest.raises(RuntimeError):
        async with write_transaction():
            await events.emit(None, "equipment_transfer.requested", payload, org_path="/150000/150400/", aggregate_id="1")
            assert await OutboxEvent.count() == 1  # visible inside the transaction…
            raise RuntimeError("the change failed")
    assert await OutboxEvent.count() == 0  # …and gone with it
    async with write_transaction():
        await events.emit(None, "equipment_transfer.requested", payload, org_path="/150000/150400/", aggregate_id="1")
    assert (await OutboxEvent.select(OutboxEvent.actor, OutboxEvent.source_region).first()) == {"actor": "system", "source_region": "east"}


async def test_a_payload_must_carry_the_type_it_is_emitted_as(db) -> None:
    class Other(EventPayload):
        event_types = ("test_other.happened",)

    with pytest.raises(TypeError):
        await events.emit(None, "equipment_transfer.requested", Other(), org_path="/150000/", aggregate_id="1")
    with pytest.raises(ValueError, match="declared twice"):
        type("Again", (EventPayload,), {"__annotations__": {}, "event_types": ("test_other.happened",)})
    with pytest.raises(ValueError, match="<aggregate>.<event>"):
        type("Bad", (EventPayload,), {"__annotations__": {}, "event_types": ("no_event",)})
    assert PAYLOADS["equipment_transfer.received"] is TransferEvent
    del PAYLOADS["test_other.happened"]


async def test_events_are_read_within_scope(client, make_user) -> None:
    tid, admin, _ = await _transfer(client, make_user)
    _, east = await make_user("hub_coordinator", hub="east")
    _, west = await make_user("hub_coordinator", hub="west")
    _, chifeng = await make_user("league_supervisor", unit="150400")
    _, keeper = await make_user("logistics", unit="150400")
    seen = {}
    for name, token in (("admin", admin), ("east", east), ("west", west), ("chifeng", chifeng)):
        response = await client.get(f"/api/v1/events/?aggregate_id={tid}", headers=bearer(token))
        assert response.status_code == 200, response.text
        seen[name] = [e["type"] for e in response.json()["items"]]
    assert seen == {"admin": ["equipment_transfer.requested"], "east": ["equipment_transfer.requested"], "west": [],
                    "chifeng": ["equipment_transfer.requested"]}
    typed = await client.get("/api/v1/events/?type=equipment_transfer.received", headers=bearer(admin))
    assert typed.json()["total"] == 0
    assert (await client.get("/api/v1/events/", headers=bearer(keeper))).status_code == 403
    assert (await client.get("/api/v1/events/")).status_code == 401
