"""Concurrent writes through the real app: none fails with "database is locked" on SQLite."""

from __future__ import annotations

import asyncio

from rescueops.orgs.tables import OrgUnit
from tests.conftest import bearer


async def test_concurrent_writes_all_succeed(client, make_user) -> None:
    _, token = await make_user("admin")

    async def create(i: int):
        return await client.post(
            "/api/v1/orgs/units",
            json={"code": f"150426-D{i:02d}", "kind": "depot", "parent_code": "150426", "name_zh": f"储备点{i}", "name_en": f"Depot {i}"},
            headers=bearer(token),
        )

    async def rename(i: int):
        return await client.patch("/api/v1/orgs/units/150426", json={"name_en": f"Wengniute Banner {i}"}, headers=bearer(token))

    responses = await asyncio.gather(*[create(i) for i in range(20)], *[rename(i) for i in range(20)])
    assert [r.status_code for r in responses] == [201] * 20 + [200] * 20, [r.text for r in responses if r.status_code >= 400]
    assert await OrgUnit.count().where(OrgUnit.kind == "depot") == 20


async def test_the_same_code_twice_at_once_gives_one_unit_and_one_conflict(client, make_user) -> None:
    _, token = await make_user("admin")
    body = {"code": "RACE", "kind": "depot", "parent_code": "150400", "name_zh": "抢", "name_en": "race"}
    responses = await asyncio.gather(*[client.post("/api/v1/orgs/units", json=body, headers=bearer(token)) for _ in range(5)])
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert await OrgUnit.count().where(OrgUnit.code == "RACE") == 1
