"""One scheduler process, as an api or worker process runs it, for tests/jobs/test_scheduler.py.

    python -m tests.jobs.scheduler_process JOB_ID EVERY_SECONDS RUN_LOG

Schedules one job (its work appends a line to RUN_LOG), waits for the run every scheduler makes at start, prints what
happened as JSON (whether this process claimed the slot, its worker name, the trigger's next run) and exits. The database
is the one RESCUEOPS_DATABASE_URL names, shared with the test.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent

from rescueops.db import engine
from rescueops.jobs import service


async def main(job_id: str, every: timedelta, run_log: Path) -> dict[str, object]:
    db = engine.database()
    await engine.prepare(db)
    try:
        async def work() -> str:
            with run_log.open("a", encoding="utf-8") as log:
                log.write(f"{service._WORKER}\n")
            return "did the work"

        finished = asyncio.Event()
        seen: dict[str, object] = {}

        def on_run(event: JobExecutionEvent) -> None:
            seen["claimed"] = event.retval if event.exception is None else f"error: {event.exception}"
            finished.set()

        scheduler = service.start_scheduler([service.Job(job_id, every, work)])
        scheduler.add_listener(on_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)  # before the loop lets the start-up run go
        try:
            await asyncio.wait_for(finished.wait(), timeout=30)
            next_run = scheduler.get_job(job_id).next_run_time
        finally:
            scheduler.shutdown(wait=False)
        return {**seen, "worker": service._WORKER, "next_run": next_run.isoformat()}
    finally:
        await engine.release(db)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], timedelta(seconds=float(sys.argv[2])), Path(sys.argv[3])))))
