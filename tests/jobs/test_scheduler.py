"""A run missed while no process was up happens once when a scheduler starts, and not again when another starts later
in the same slot: two scheduler processes against the database the test uses (SQLite file or PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rescueops.jobs import service
from rescueops.jobs.tables import JobRun

ROOT = Path(__file__).resolve().parents[2]
JOB = "test.weekly_digest"
EVERY = timedelta(days=7)  # long slots: the test never straddles a boundary


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite hands timestamps back without a zone


async def _scheduler_process(run_log: Path) -> dict:
    """Start a scheduler in a new process, let it make its start-up run, and read what it did."""
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "tests.jobs.scheduler_process", JOB, str(EVERY.total_seconds()), str(run_log)],
        cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_a_slot_missed_while_down_runs_once_at_start_and_not_again(db, tmp_path: Path) -> None:
    current = service.slot(EVERY, datetime.now(UTC))
    previous = current - EVERY
    # The job ran for the previous slot; then every process was down when the current slot began: no record of it.
    await JobRun.insert(JobRun(run_key=f"{JOB}@{previous.isoformat()}", job_id=JOB, scheduled_for=previous, claimed_by="gone:1",
                               claimed_at=previous, finished_at=previous, outcome="did the work"))
    run_log = tmp_path / "runs.log"

    first = await _scheduler_process(run_log)
    assert first["claimed"] is True  # the missed run happened at start…
    assert run_log.read_text().splitlines() == [first["worker"]]  # …once
    assert datetime.fromisoformat(first["next_run"]) == current + EVERY  # and the schedule goes on from the next slot

    second = await _scheduler_process(run_log)  # another process starting later, in the same slot
    assert second["claimed"] is False and second["worker"] != first["worker"]
    assert run_log.read_text().splitlines() == [first["worker"]]  # not run again

    runs = await JobRun.select(JobRun.scheduled_for, JobRun.claimed_by, JobRun.outcome, JobRun.finished_at).where(
        JobRun.job_id == JOB).order_by(JobRun.scheduled_for)
    assert [_utc(r["scheduled_for"]) for r in runs] == [previous, current]
    assert runs[1]["claimed_by"] == first["worker"] and runs[1]["outcome"] == "did the work" and runs[1]["finished_at"] is not None
