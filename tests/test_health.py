from __future__ import annotations


async def test_live_and_ready(client) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_every_response_carries_a_request_id(client) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "probe-12345678"})
    assert response.headers["x-request-id"] == "probe-12345678"
    generated = await client.get("/health/live", headers={"X-Request-ID": "bad id!"})
    assert len(generated.headers["x-request-id"]) == 32


async def test_openapi_schema_lists_the_api(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/orgs/units" in schema["paths"] and "/api/v1/auth/token" in schema["paths"]
    assert not any(path.startswith("/orgs") for path in schema["paths"])  # pages stay out of the API
    assert (await client.get("/schema/swagger")).status_code == 200


async def test_unknown_route_is_json_on_the_api(client) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_ready_checks_the_broker_when_one_is_configured(client, monkeypatch) -> None:
    from rescueops.settings import get_settings

    settings = get_settings()
    monkeypatch.setattr(settings, "amqp_url", "amqp://guest:guest@127.0.0.1:5672/")
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    monkeypatch.setattr(settings, "amqp_url", "amqp://guest:guest@127.0.0.1:1/")
    down = await client.get("/health/ready")
    assert down.status_code == 503 and down.json()["checks"]["broker"].startswith("error")
