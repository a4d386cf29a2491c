"""Database faults against the real server: ``rescueops serve`` in a subprocess on the test session's database.

PostgreSQL is stopped under a load of reads and multi-row writes and started again: while it is away every request is
a 503 with a message a person can act on, the same server process serves again once it is back, and every write is
whole or absent. On SQLite, many writers at once through HTTP queue on the write lock: none sees "database is locked".
tests/db/test_concurrency.py checks the latter in process for org units; here it is the real server, with its
in-process event bus and scheduled jobs writing too, and writes of several kinds.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import count

import asyncpg
import httpx
import pytest

from rescueops.accounts import service as accounts
from rescueops.accounts.auth import SESSION_COOKIE
from rescueops.accounts.tables import AuditEntry, TokenKind
from rescueops.db import consistency, write_transaction
from rescueops.db.engine import database_unavailable
from rescueops.equipment.tables import Movement, Stock
from rescueops.events.tables import OutboxEvent
from rescueops.members.tables import Membership, Person
from rescueops.orgs.tables import OrgUnit
from tests.conftest import bearer
from tests.events.test_rabbitmq import until
from tests.factories import make_team, person
from tests.live_server import serving
from tests.reliability._services import postgres_down

TEAM, DEPOT, TENT = "CF-WNT-01", "150400-D1", "tent_12m2"
STOCK = 100_000  # tents in the depot at the start; transfers move them one at a time to the team
MESSAGE = "The database is unavailable at the moment. Try again in a few seconds."
WRITERS = 30  # concurrent requests of each of the four kinds of write, all sent at once


@dataclass(frozen=True)
class Answer:
    op: str
    sent: float
    received: float
    status: int
    body: str
    retry_after: str | None


Op = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def transfer(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    return client.post("/api/v1/equipment/stock/transfers", json={
        "type_code": TENT, "source": {"depot_code": DEPOT}, "destination": {"team_code": TEAM}, "quantity": 1})


def join(client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    return client.post(f"/api/v1/teams/{TEAM}/members", json={"person": person(), "status": "active"})


OPS: dict[str, Op] = {
    "transfer": transfer,  # two balances, two ledger rows and an audit row
    "join": join,  # a person, a membership, its status row, an audit row and an outbox event
    "stock": lambda client: client.get(f"/api/v1/equipment/stock?depot={DEPOT}"),
    "teams": lambda client: client.get("/api/v1/teams"),
}


async def setup_stock(client: httpx.AsyncClient) -> None:
    """A depot under Chifeng holding the tents, through the real API."""
    depot = await client.post("/api/v1/orgs/units", json={"code": DEPOT, "kind": "depot", "parent_code": "150400",
                                                          "name_zh": "赤峰市储备库", "name_en": "Chifeng depot"})
    received = await client.post("/api/v1/equipment/stock/movements", json={
        "depot_code": DEPOT, "type_code": TENT, "kind": "receive", "quantity": STOCK})
    assert (depot.status_code, received.status_code) == (201, 201), depot.text + received.text


async def run_load(client: httpx.AsyncClient, answers: list[Answer], stop: asyncio.Event, worker: int) -> None:
    """One client: the operations in turn (starting at its own), each answer kept with when it was sent and came back."""
    names = list(OPS)
    for turn in count(worker):
        if stop.is_set():
            return
        name = names[turn % len(names)]
        sent = time.monotonic()
        response = await OPS[name](client)
        answers.append(Answer(name, sent, time.monotonic(), response.status_code, response.text, response.headers.get("retry-after")))
        await asyncio.sleep(0.01)  # a busy client, not a hot loop of instant 503s


def successes_since(answers: list[Answer], since: float, op: str) -> int:
    return sum(1 for a in answers if a.op == op and a.sent > since and a.status < 300)


async def assert_writes_whole(joined: int, transferred: int) -> None:
    """Every write is all there or absent: nothing half written, whatever the restart cut short."""
    assert [finding for finding in await consistency.check() if finding.problems] == []
    people = {row["id"] for row in await Person.select(Person.id)}
    members = Counter(row["person"] for row in await Membership.select(Membership.person))
    audited = {int(row["entity_id"]) for row in await AuditEntry.select(AuditEntry.entity_id).where(
        AuditEntry.action == "members.membership.join")}
    announced = {int(row["aggregate_id"]) for row in await OutboxEvent.select(OutboxEvent.aggregate_id).where(
        OutboxEvent.type == "member.joined")}
    assert len(people) >= joined  # every join answered 201 is there (and perhaps some whose answer was cut off)
    assert set(members) == people and set(members.values()) == {1} and audited == people and announced == people

    balances = {row["depot"] is not None: row["quantity"] for row in await Stock.select(Stock.depot, Stock.quantity)}
    assert balances[True] + balances[False] == STOCK and balances[False] >= transferred  # conserved: moved, never lost
    kinds = Counter(row["kind"] for row in await Movement.select(Movement.kind))
    transfers = await AuditEntry.count().where(AuditEntry.action == "equipment.stock.transfer")
    assert kinds["transfer_out"] == kinds["transfer_in"] == transfers == balances[False]


@pytest.mark.faults
async def test_a_postgres_restart_under_load_answers_503_then_recovers_with_nothing_half_written(
        engine_name, db, make_user) -> None:
    if engine_name != "postgres":
        pytest.skip("restarts the PostgreSQL server")
    await make_team(TEAM)
    user_id, token = await make_user("admin")
    session, _, _ = await accounts.issue_token(user_id, TokenKind.session, ttl=timedelta(hours=1))
    answers: list[Answer] = []
    with serving({**os.environ, "RESCUEOPS_LOG_LEVEL": "WARNING"}) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token), timeout=30) as client:
            await setup_stock(client)
            stop = asyncio.Event()
            load = [asyncio.create_task(run_load(client, answers, stop, worker)) for worker in range(8)]
            try:
                await until(lambda: _progress(answers, 0, 10), 30, "writes before the restart")
                async with postgres_down():
                    down = time.monotonic()
                    await until(lambda: _progress_503(answers, down, 40), 30, "answers while PostgreSQL is down")
                    page = await client.get("/teams", headers={"Cookie": f"{SESSION_COOKIE}={session}"})
                    up = time.monotonic()
                await until(lambda: _ready(client), 30, "the same server ready again")
                back = time.monotonic()
                await until(lambda: _progress(answers, back, 10), 30, "writes after the restart")
            finally:
                stop.set()
                await asyncio.gather(*load)
            await until(_outbox_dispatched, 30, "the server's in-process bus to dispatch every event, the cut ones too")
        log = server.log(10**7)

    assert Counter(a.status for a in answers).keys() <= {200, 201, 503}, (Counter(a.status for a in answers), unhandled(log))
    unavailable = [a for a in answers if a.status == 503]
    assert {(a.body, a.retry_after) for a in unavailable} == {(f'{{"code":"service_unavailable","message":"{MESSAGE}"}}', "5")}
    assert all(a.status == 503 for a in answers if down < a.sent and a.received < up)  # nothing served while it was away
    assert all(a.status < 300 for a in answers if a.sent > back)  # and everything once back, by the same process
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "数据库暂时无法访问，请几秒钟后重试。" in page.text and "Traceback" not in page.text
    assert "unhandled error" not in log and "database unavailable" in log, unhandled(log)  # each 503 a warning line

    await assert_writes_whole(joined=sum(1 for a in answers if a.op == "join" and a.status == 201),
                              transferred=sum(1 for a in answers if a.op == "transfer" and a.status == 201))


def unhandled(log: str) -> str:
    """The server's log from its first unexpected error on, for the failure message."""
    return log[log.find("unhandled error"):][:4000] if "unhandled error" in log else ""


async def _progress(answers: list[Answer], since: float, writes: int) -> bool:
    return min(successes_since(answers, since, "join"), successes_since(answers, since, "transfer")) >= writes


async def _progress_503(answers: list[Answer], since: float, needed: int) -> bool:
    return sum(1 for a in answers if a.sent > since and a.status == 503) >= needed


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/health/ready")).status_code == 200


async def test_concurrent_writers_over_http_never_see_the_database_locked(engine_name, db, make_user) -> None:
    if engine_name != "sqlite":
        pytest.skip("SQLite's single writer; PostgreSQL's row locks are covered by the concurrency tests")
    await make_team(TEAM)
    _, token = await make_user("admin")
    with serving({**os.environ, "RESCUEOPS_LOG_LEVEL": "WARNING"}) as server:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token), timeout=60, limits=limits) as client:
            await setup_stock(client)
            writes = [*(transfer(client) for _ in range(WRITERS)), *(join(client) for _ in range(WRITERS)),
                      *(client.post("/api/v1/orgs/units", json={"code": f"150426-D{i:02d}", "kind": "depot", "parent_code": "150426",
                                                                "name_zh": f"储备点{i}", "name_en": f"Depot {i}"}) for i in range(WRITERS)),
                      *(client.patch("/api/v1/orgs/units/150426", json={"name_en": f"Wengniute Banner {i}"}) for i in range(WRITERS))]
            responses = await asyncio.gather(*writes)
            await until(_outbox_dispatched, 60, "the server's in-process bus to dispatch every event")
        log = server.log(10**7)
    assert Counter(r.status_code for r in responses) == {201: 3 * WRITERS, 200: WRITERS}, [r.text for r in responses if r.status_code >= 300][:5]
    assert "locked" not in log and "unhandled error" not in log and "database unavailable" not in log, unhandled(log)
    assert await OrgUnit.count().where(OrgUnit.kind == "depot") == WRITERS + 1 and await Person.count() == WRITERS
    await assert_writes_whole(joined=WRITERS, transferred=WRITERS)


async def _outbox_dispatched() -> bool:
    return await OutboxEvent.count().where(OutboxEvent.published_at.is_null()) == 0


async def test_a_transaction_the_server_cuts_leaves_its_task_able_to_query(engine_name, db) -> None:
    """A long-lived task (the relay, the in-process bus) goes on working after PostgreSQL cut its transaction."""
    if engine_name != "postgres":
        pytest.skip("PostgreSQL terminates a session")
    for _ in range(2):  # the second would run inside the first's dead transaction, were it left current
        with pytest.raises(asyncpg.InterfaceError) as cut:
            async with write_transaction():
                await OrgUnit.raw("SELECT pg_terminate_backend(pg_backend_pid())")
        assert database_unavailable(cut.value)  # answered 503, the event kept for later
    async with write_transaction():
        assert await OrgUnit.raw("SELECT count(*) AS units FROM orgs_unit") == [{"units": await OrgUnit.count()}]


async def test_only_outages_pass_for_the_database_being_unavailable(tmp_path) -> None:
    holder, waiter = sqlite3.connect(tmp_path / "busy.db"), sqlite3.connect(tmp_path / "busy.db", timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as missing_table:
        waiter.execute("SELECT * FROM nowhere")
    with pytest.raises(OSError) as refused:
        await asyncpg.connect("postgres://postgres@127.0.0.1:1/none", timeout=5)
    with pytest.raises(OSError) as missing_file:
        (tmp_path / "font.ttc").read_bytes()
    assert database_unavailable(locked.value) and database_unavailable(refused.value)
    assert not database_unavailable(missing_table.value) and not database_unavailable(missing_file.value)
