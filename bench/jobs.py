"""Scheduled jobs at scale: each job of ``jobs.service.JOBS`` run once on the largest bench database, each in a fresh
process of its own, with its seconds, CPU, SQL statements and the process's peak resident memory above what the app
holds before the job starts. The jobs run inside api and worker processes (one claims each slot), so a job's peak is
what it adds to that process's memory.

    python -m bench.jobs [--fraction 1.0]

Jobs write what they would write in service (reminders, readiness, expired grades and requests): run this after the
HTTP benchmark of that database. Result: ``bench/results/jobs.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.common import (
    ROOT,
    bench_db_url,
    bench_env,
    machine,
    now,
    peak_rss_kib,
    read_result,
    recorded_queries,
    write_result,
)
from bench.dataset import pct_label

MARK = "bench.jobs result: "  # the child's one line of JSON follows this


async def _one(job_id: str) -> dict[str, Any]:
    from rescueops.db import engine
    from rescueops.jobs.service import JOBS

    job = next((j for j in JOBS if j.id == job_id), None)
    if job is None:
        raise SystemExit(f"no scheduled job '{job_id}'")
    db = engine.database()
    await engine.prepare(db)
    try:
        before = peak_rss_kib(os.getpid())
        with recorded_queries() as statements:
            started, began = time.perf_counter(), time.process_time()
            outcome = await job.run()
            seconds, cpu = time.perf_counter() - started, time.process_time() - began
        return {"job": job.id, "every_s": job.every.total_seconds(), "seconds": round(seconds, 2), "cpu_s": round(cpu, 2),
                "queries": len(statements), "outcome": outcome, "rss_before_kib": before, "peak_rss_kib": peak_rss_kib(os.getpid())}
    finally:
        await engine.release(db)


def run(fraction: float = 1.0) -> None:
    """Every job in its own child process on the ``fraction`` database; writes ``jobs.json``."""
    from rescueops.jobs.service import JOBS

    pct = pct_label(fraction)
    if read_result(f"dataset-{pct}") is None:
        raise SystemExit(f"no bench/results/dataset-{pct}.json: load the data set first (python -m bench.dataset)")
    started, clock, results = now(), time.monotonic(), []
    for job in JOBS:
        done = subprocess.run([sys.executable, "-m", "bench.jobs", "--one", job.id, "--fraction", str(fraction)], cwd=ROOT,
                              env=bench_env(bench_db_url(pct)), capture_output=True, text=True)
        line = next((text for text in done.stdout.splitlines() if text.startswith(MARK)), None)
        if done.returncode or line is None:
            raise RuntimeError(f"job {job.id} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        result = json.loads(line.removeprefix(MARK))
        print(f"jobs: {job.id}: {result['seconds']} s, {result['queries']} queries, peak {result['peak_rss_kib'] // 1024} MiB "
              f"(from {result['rss_before_kib'] // 1024} MiB): {result['outcome']}", flush=True)
        results.append(result)
    path = write_result("jobs", {"started": started, "seconds": round(time.monotonic() - clock, 1), "machine": machine(),
                                 "fraction": fraction, "jobs": results,
                                 "command": f"python -m bench.jobs --fraction {fraction:g}"})
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fraction", type=float, default=1.0, help="the data set to run the jobs on (its bench database)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child: run this one job (the environment names the database)
    args = parser.parse_args(argv)
    if args.one:
        print(MARK + json.dumps(asyncio.run(_one(args.one))), flush=True)
    else:
        run(args.fraction)


if __name__ == "__main__":
    main()
