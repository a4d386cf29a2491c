"""Builders for the deployment tests: incidents, dispatches and items through the real API and services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import bearer

TEAM = "CF-WNT-01"  # in Wengniute Banner (150426), Chifeng: the east hub's region
PLACE = "乌丹镇白音套海嘎查"


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def incident_body(**extra) -> dict:
    return {"kind": "blizzard", "title": "白音套海嘎查暴雪围困牧民", "place": PLACE, "unit_code": "150426", "lat": 42.97, "lon": 119.08,
            "requesting_authority": "翁牛特旗应急管理局", "severity": 3, "started_at": ago(hours=8), **extra}


async def open_incident(client, token: str, **extra) -> dict:
    response = await client.post("/api/v1/deployments/incidents", json=incident_body(**extra), headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


async def dispatch(client, token: str, incident_id: int, **body) -> dict:
    response = await client.post(f"/api/v1/deployments/incidents/{incident_id}/deployments", json={"team_code": TEAM, **body},
                                 headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()


async def step(client, token: str, deployment_id: int, status: str, **body):
    return await client.post(f"/api/v1/deployments/{deployment_id}/status", json={"status": status, **body}, headers=bearer(token))


async def log(client, token: str, deployment_id: int, kind: str, **body):
    return await client.post(f"/api/v1/deployments/{deployment_id}/log", json={"kind": kind, **body}, headers=bearer(token))


async def to_demobilising(client, token: str, deployment_id: int) -> None:
    for status in ("mobilising", "on_scene", "demobilising"):
        response = await step(client, token, deployment_id, status)
        assert response.status_code == 200, response.text


async def close(client, token: str, deployment_id: int, **body) -> dict:
    response = await client.post(f"/api/v1/deployments/{deployment_id}/close", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def register_items(team: str, *tags: str, type_code: str = "static_rope") -> None:
    from rescueops.equipment import service as equipment
    from rescueops.equipment.schemas import ItemIn

    for tag in tags:
        await equipment.register_item(None, ItemIn(team_code=team, asset_tag=tag, type_code=type_code, storage_location="队部装备间"))
