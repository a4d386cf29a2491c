from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from rescueops.accounts.tables import LoginAttempt, Token
from rescueops.jobs import service
from rescueops.jobs.tables import JobRun


def test_slots_are_aligned_for_every_process() -> None:
    every = timedelta(hours=1)
    a = service.slot(every, datetime(2026, 11, 24, 20, 5, 1, tzinfo=UTC))
    b = service.slot(every, datetime(2026, 11, 24, 20, 59, 59, tzinfo=UTC))
    assert a == b == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert service.slot(every, datetime(2026, 11, 24, 21, 0, tzinfo=UTC)) != a


async def test_a_slot_runs_once_however_many_processes_ask(db) -> None:
    ran: list[int] = []

    async def work() -> str:
        ran.append(1)
        return "did it"

    job = service.Job("test.once", timedelta(hours=1), work)
    now = datetime.now(UTC)
    results = await asyncio.gather(*[service.run_once(job, now) for _ in range(5)])
    assert sorted(results) == [False, False, False, False, True]
    assert ran == [1]
    run = await JobRun.select().where(JobRun.job_id == "test.once").first()
    assert run["outcome"] == "did it" and run["finished_at"] is not None
    assert await service.run_once(job, now + timedelta(hours=1)) is True  # the next slot runs again


async def test_a_failing_job_is_recorded_and_does_not_raise(db) -> None:
    async def broken() -> str:
        raise RuntimeError("depot offline")

    assert await service.run_once(service.Job("test.broken", timedelta(hours=1), broken)) is True
    run = await JobRun.select().where(JobRun.job_id == "test.broken").first()
    assert run["outcome"] == "failed: RuntimeError: depot offline"


async def test_purge_removes_only_long_dead_tokens_and_old_attempts(make_user) -> None:
    user_id, _ = await make_user("member")
    old = datetime.now(UTC) - timedelta(days=8)
    await Token.update({Token.expires_at: old}).where(Token.user == user_id)
    await LoginAttempt.insert(
        LoginAttempt(username="x", ip="1.2.3.4", at=old, succeeded=False),
        LoginAttempt(username="x", ip="1.2.3.4", at=datetime.now(UTC), succeeded=False),
    )
    outcome = await service.JOBS[0].run()
    assert outcome == "1 tokens and 1 login attempts removed"
    assert await Token.count().where(Token.user == user_id) == 0
    assert await LoginAttempt.count() == 1
