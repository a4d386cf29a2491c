"""The schedule, and the claim that makes each run happen once across api and worker processes."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from rescueops.accounts import service as accounts
from rescueops.jobs.tables import JobRun
from rescueops.members import service as members

log = logging.getLogger("rescueops.jobs")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # every process aligns its slots on this instant
_WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    id: str
    every: timedelta
    run: Callable[[], Awaitable[str]]  # returns a one-line outcome for the run record


JOBS = [
    Job("accounts.purge_expired", timedelta(hours=1), accounts.purge_expired),
    Job("members.purge_imports", timedelta(hours=1), members.purge_imports),
]


def slot(every: timedelta, now: datetime) -> datetime:
    """The scheduled instant a run belongs to: the last multiple of ``every`` since EPOCH."""
    return EPOCH + ((now - EPOCH) // every) * every


async def claim(job_id: str, scheduled_for: datetime) -> bool:
    """True for exactly one caller per (job, slot), whichever process asks first."""
    inserted = await JobRun.insert(
        JobRun(
            run_key=f"{job_id}@{scheduled_for.isoformat()}",
            job_id=job_id,
            scheduled_for=scheduled_for,
            claimed_by=_WORKER,
            claimed_at=datetime.now(UTC),
        )
    ).on_conflict(target=JobRun.run_key, action="DO NOTHING").returning(JobRun.id)
    return bool(inserted)


async def run_once(job: Job, now: datetime | None = None) -> bool:
    """Run ``job`` for its current slot if no other process has; returns whether this one did."""
    scheduled_for = slot(job.every, now or datetime.now(UTC))
    if not await claim(job.id, scheduled_for):
        return False
    try:
        outcome = await job.run()
    except Exception as error:  # keep the schedule alive; the record and the log say what failed
        log.exception("job failed", extra={"job": job.id})
        outcome = f"failed: {type(error).__name__}: {error}"[:500]
    await JobRun.update({JobRun.finished_at: datetime.now(UTC), JobRun.outcome: outcome[:500]}).where(
        JobRun.run_key == f"{job.id}@{scheduled_for.isoformat()}"
    )
    return True


def start_scheduler() -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    for job in JOBS:
        scheduler.add_job(
            run_once,
            IntervalTrigger(seconds=job.every.total_seconds(), start_date=EPOCH, timezone=UTC),
            args=[job],
            id=job.id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(job.every.total_seconds() // 2),
        )
    scheduler.start()
    return scheduler
