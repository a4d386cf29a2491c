"""The schedule, and the claim that makes each run happen once across api and worker processes."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rescueops.accounts import service as accounts
from rescueops.calendar import utc_now
from rescueops.coordination import service as coordination
from rescueops.drills import service as drills
from rescueops.equipment import service as equipment
from rescueops.grading import service as grading
from rescueops.jobs.tables import JobRun
from rescueops.members import service as members
from rescueops.teams import service as teams
from rescueops.training import service as training

log = logging.getLogger("rescueops.jobs")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)  # every process aligns its slots on this instant
_WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    id: str
    every: timedelta
    run: Callable[[], Awaitable[str]]  # returns a one-line outcome for the run record


RUNS_KEPT = timedelta(days=7)  # run records are for seeing what ran lately; the minute jobs would pile up


async def purge_runs() -> str:
    removed = await JobRun.delete().where(JobRun.scheduled_for < utc_now() - RUNS_KEPT).returning(JobRun.id)
    return f"{len(removed)} run records removed"


JOBS = [
    Job("accounts.purge_expired", timedelta(hours=1), accounts.purge_expired),
    Job("members.purge_imports", timedelta(hours=1), members.purge_imports),
    Job("training.purge_enrolment_imports", timedelta(hours=1), training.purge_enrolment_imports),
    Job("jobs.purge_runs", timedelta(hours=6), purge_runs),
    Job("drills.remind_upcoming", timedelta(minutes=15), drills.remind_upcoming),
    Job("drills.remind_unlogged", timedelta(hours=6), drills.remind_unlogged),
    Job("drills.release_injects", timedelta(minutes=1), drills.release_injects),
    Job("members.remind_expiring", timedelta(hours=6), members.remind_expiring),
    Job("equipment.remind_due_inspections", timedelta(hours=6), equipment.remind_due_inspections),
    Job("teams.remind_reassessment", timedelta(hours=24), teams.remind_reassessment),
    Job("grading.nightly", timedelta(hours=24), grading.nightly),  # expire grades past validity, refresh all readiness
    Job("coordination.expire_requests", timedelta(minutes=5), coordination.expire_requests),
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
            claimed_at=utc_now(),
        )
    ).on_conflict(target=JobRun.run_key, action="DO NOTHING").returning(JobRun.id)
    return bool(inserted)


async def run_once(job: Job, now: datetime | None = None) -> bool:
    """Run ``job`` for its current slot if no other process has; returns whether this one did."""
    scheduled_for = slot(job.every, now or utc_now())
    if not await claim(job.id, scheduled_for):
        return False
    try:
        outcome = await job.run()
    except Exception as error:  # keep the schedule alive; the record and the log say what failed
        log.exception("job failed", extra={"job": job.id})
        outcome = f"failed: {type(error).__name__}: {error}"[:500]
    await JobRun.update({JobRun.finished_at: utc_now(), JobRun.outcome: outcome[:500]}).where(
        JobRun.run_key == f"{job.id}@{scheduled_for.isoformat()}"
    )
    return True


def start_scheduler(jobs: list[Job] | None = None) -> AsyncIOScheduler:
    """Schedule ``jobs`` (default: all of ``JOBS``) in this process and start; every process runs the same schedule."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    started = utc_now()
    for job in JOBS if jobs is None else jobs:
        scheduler.add_job(
            run_once,
            IntervalTrigger(seconds=job.every.total_seconds(), start_date=EPOCH, timezone=UTC),
            args=[job],
            id=job.id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(job.every.total_seconds() // 2),
        )
        # Also once at start: a run missed while no process was up happens now (the claim keeps it single). A job of its
        # own, so the interval job keeps its EPOCH-aligned times (given a start-up run time, it would count on from there).
        scheduler.add_job(run_once, DateTrigger(started, timezone=UTC), args=[job], id=f"{job.id}@start", misfire_grace_time=None)
    scheduler.start()
    return scheduler
