"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

from litestar import Response, get
from litestar.openapi import ResponseSpec
from piccolo.querystring import QueryString
from pydantic import BaseModel

from rescueops.db.engine import database
from rescueops.db.migrations import pending_migrations
from rescueops.settings import get_settings

_BROKER_TIMEOUT = 3.0


@get("/health/live", include_in_schema=True, tags=["health"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database() -> str:
    await database().run_querystring(QueryString("SELECT 1"))
    pending = await pending_migrations()
    return "ok" if not pending else f"{len(pending)} migrations pending"


async def _check_broker(url: str) -> str:
    import aio_pika

    connection = aio_pika.Connection(url, timeout=_BROKER_TIMEOUT)
    try:
        await connection.connect(timeout=_BROKER_TIMEOUT)
    finally:
        await connection.close()
    return "ok"


class Readiness(BaseModel):
    status: str  # "ok" or "unavailable"
    checks: dict[str, str]  # per dependency: "ok", or what is wrong


@get("/health/ready", tags=["health"], summary="Database (and broker, when configured) reachable and migrated",
     responses={503: ResponseSpec(Readiness, description="Not ready: the checks say which dependency failed",
                                  generate_examples=False)})
async def ready() -> Response[Readiness]:
    checks: dict[str, str] = {}
    try:
        checks["database"] = await _check_database()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(error).__name__}"
    amqp_url = get_settings().amqp_url
    if amqp_url:
        try:
            checks["broker"] = await _check_broker(amqp_url)
        except Exception as error:  # noqa: BLE001
            checks["broker"] = f"error: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return Response(Readiness(status="ok" if healthy else "unavailable", checks=checks), status_code=200 if healthy else 503)
