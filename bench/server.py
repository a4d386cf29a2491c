"""The app under load: the real ``create_app()`` plus the two yardsticks the HTTP benchmark compares it with.

    uvicorn --factory bench.server:create_app --workers N

- ``GET /bench/constant``: a handler that returns a small constant, through the same middleware: what the
  framework and the server cost with no work at all.
- ``GET /bench/raw/<name>/<k>``: for the ``k``-th request of read endpoint ``name``, the very statements the real
  endpoint issued (with their arguments), run over a raw asyncpg pool of this handler's own and returned as JSON:
  what the SQL costs without the ORM, the services, the schemas and the templates.

The requests come from the file named by ``BENCH_REQUESTS`` (written by ``bench.http``). At start-up each one is sent
once through the app in-process and the SQL it issues is recorded (``bench.common.recorded_queries``); a second
send is the one recorded, so a first use's writes (a token's last-use time) are not replayed for ever.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from bench.common import recorded_queries
from rescueops.app import create_app as create_rescueops_app
from rescueops.db.engine import keep_session
from rescueops.settings import get_settings

# The same pool as the app's own (rescueops.db.engine.prepare): size and reset on release.
RAW_POOL_SIZE = (1, 10)

Statements = list[tuple[str, tuple[Any, ...]]]


@get("/bench/constant", include_in_schema=False)
async def constant() -> dict[str, str]:
    return {"status": "ok"}


@get("/bench/raw/{name:str}/{key:int}", include_in_schema=False)
async def raw(state: State, name: str, key: int) -> list[list[dict[str, Any]]]:
    statements: list[Statements] | None = state.bench_sql.get(name)
    if statements is None or not 0 <= key < len(statements):
        raise NotFoundException(f"no recorded request {name}/{key}")
    async with state.bench_pool.acquire() as connection:
        return [[dict(row) for row in await connection.fetch(sql, *args)] for sql, args in statements[key]]


def load_requests(path: str | None) -> dict[str, list[dict[str, Any]]]:
    """The read endpoints' requests: ``{name: [{"method", "path", "headers", "body"}, ...]}`` (the raw ones only)."""
    if not path:
        return {}
    endpoints = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: spec["requests"] for name, spec in endpoints.items() if spec["raw"]}


async def record_sql(app: Litestar, requests: dict[str, list[dict[str, Any]]]) -> dict[str, list[Statements]]:
    """Send every request through ``app`` in this task and keep the statements each one ran."""
    recorded: dict[str, list[Statements]] = {}
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for name, specs in requests.items():
            recorded[name] = []
            for spec in specs:
                send = dict(method=spec["method"], url=spec["path"], headers=spec["headers"], content=spec.get("body"))
                await client.request(**send)
                with recorded_queries() as statements:
                    response = await client.request(**send)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: {spec['method']} {spec['path']} answered {response.status_code}: "
                                       f"{response.text[:300]}")
                recorded[name].append(list(statements))
    return recorded


def create_app() -> Litestar:
    app = create_rescueops_app()
    app.register(constant)
    app.register(raw)

    async def start(app: Litestar) -> None:
        app.state.bench_sql = await record_sql(app, load_requests(os.environ.get("BENCH_REQUESTS")))
        low, high = RAW_POOL_SIZE
        app.state.bench_pool = await asyncpg.create_pool(get_settings().resolved_database_url, min_size=low, max_size=high,
                                                         reset=keep_session)
        logging.getLogger("bench").warning("bench app ready")  # bench.http counts these lines, one per worker

    async def stop(app: Litestar) -> None:
        if getattr(app.state, "bench_pool", None) is not None:
            await app.state.bench_pool.close()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    return app
