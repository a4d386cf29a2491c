"""Grading at scale (issue 8, item 3): every team of one province, then of the whole country, evaluated on the records
through the real service (``grading.service.evaluate_teams``), with the seconds it takes and the SQL statements it
issues; before them, the nightly readiness refresh of the country (``grading.service.refresh_readiness``: the same
evaluation, in chunks of teams, and the rows written), with the process's peak memory.

    python -m bench.grading [--fraction 1.0] [--repeats 3]

Runs in a process of its own on the bench database of that fraction; queries are counted by wrapping the engine's
query execution (``bench.common.recorded_queries``; the refresh's COPY is not a query there). Besides wall seconds,
the CPU seconds of this process and of the PostgreSQL backends serving it (found by their application_name): on a
shared machine wall time also counts the waits for a core. Result: ``bench/results/grading.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

from bench.common import (
    bench_db_url,
    bench_env,
    machine,
    now,
    peak_rss_kib,
    read_result,
    recorded_queries,
    write_result,
)
from bench.dataset import cpu_seconds, pct_label

PROVINCE = "150000"  # Inner Mongolia, the region the reference data describes
TARGET_COUNTRY_S = 10.0
APP_NAME = "bench_grading"  # the application_name of this process's connections, to find their backends


async def _postgres_cpu_s() -> float:
    """CPU seconds so far of the PostgreSQL backends serving this process."""
    from piccolo.querystring import QueryString

    from rescueops.db.engine import database

    rows = await database().run_querystring(QueryString("SELECT pid FROM pg_stat_activity WHERE application_name = {}", APP_NAME))
    return sum(cpu_seconds(row["pid"]) for row in rows)


def _waited_for_cpu_s() -> float:
    """Seconds this process has so far spent ready to run but waiting for a core (Linux schedstat): the part of the
    wall time a busy machine adds."""
    with open("/proc/self/schedstat") as stats:
        return int(stats.read().split()[1]) / 1e9


async def _timed(work: Any, repeats: int) -> tuple[dict[str, Any], Any]:
    """``work()`` run ``repeats`` times: median wall, CPU of this process and of its backends, the wait for a core,
    the queries of the last run, and what the last run returned."""
    runs, cpu, postgres, waited, queries, outcome = [], [], [], [], 0, None
    for _ in range(repeats):
        before = await _postgres_cpu_s()
        with recorded_queries() as statements:
            started, began, queued = time.perf_counter(), time.process_time(), _waited_for_cpu_s()
            outcome = await work()
            runs.append(time.perf_counter() - started)
            cpu.append(time.process_time() - began)
            waited.append(_waited_for_cpu_s() - queued)
        postgres.append(await _postgres_cpu_s() - before)
        queries = len(statements)
    return {"seconds": round(statistics.median(runs), 3), "runs_s": [round(r, 3) for r in runs],
            "cpu_s": round(statistics.median(cpu), 2), "postgres_cpu_s": round(statistics.median(postgres), 2),
            "waited_for_cpu_s": round(statistics.median(waited), 2), "queries": queries}, outcome


async def _measure(paths: list[str] | None, repeats: int) -> dict[str, Any]:
    from rescueops.grading import service as grading

    measured, evaluated = await _timed(lambda: grading.evaluate_teams(paths=paths), repeats)
    return {**measured, "evaluations": len(evaluated)}


async def _measure_refresh(repeats: int) -> dict[str, Any]:
    """The nightly refresh of the whole country, first in the process, so the peak memory is the refresh's."""
    from rescueops.grading import service as grading

    measured, outcome = await _timed(grading.refresh_readiness, repeats)
    return {**measured, "outcome": outcome, "chunk_teams": grading.READINESS_CHUNK, "peak_rss_kib": peak_rss_kib(os.getpid())}


async def _run(repeats: int) -> dict[str, Any]:
    from rescueops.db import engine
    from rescueops.orgs import service as orgs
    from rescueops.teams import service as teams

    db = engine.database()
    await engine.prepare(db)
    try:
        province_path = (await orgs.get_unit(PROVINCE)).path
        results: dict[str, Any] = {"readiness": await _measure_refresh(repeats)}
        print(f"readiness refresh of the country: {results['readiness']['outcome']} in {results['readiness']['seconds']} s, "
              f"peak {results['readiness']['peak_rss_kib'] // 1024} MiB", flush=True)
        for scope, paths in (("province", [province_path]), ("country", None)):
            measured = await _measure(paths, repeats)
            results[scope] = {"teams": len(await teams.grading_teams(paths=paths)), **measured}
            print(f"grading {scope}: {results[scope]['teams']} teams, {measured['evaluations']} evaluations in "
                  f"{measured['seconds']} s (cpu {measured['cpu_s']} s, postgres {measured['postgres_cpu_s']} s, "
                  f"waiting for a core {measured['waited_for_cpu_s']} s), "
                  f"{measured['queries']} queries", flush=True)
        return results
    finally:
        await engine.release(db)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fraction", type=float, default=1.0, help="the data set to evaluate (its bench database)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each scope; the median is reported")
    args = parser.parse_args(argv)
    pct = pct_label(args.fraction)
    if read_result(f"dataset-{pct}") is None:
        raise SystemExit(f"no bench/results/dataset-{pct}.json: load the data set first (python -m bench.dataset)")
    # Before the app is imported (it reads its settings once); asyncpg sends the DSN's other parameters as settings.
    os.environ.update(bench_env(f"{bench_db_url(pct)}?application_name={APP_NAME}"))
    started, stamp = time.perf_counter(), now()
    results = asyncio.run(_run(args.repeats))
    path = write_result("grading", {
        "started": stamp, "seconds": round(time.perf_counter() - started, 1), "machine": machine(), "fraction": args.fraction,
        "province_code": PROVINCE, "repeats": args.repeats, "target_country_s": TARGET_COUNTRY_S, **results,
        "command": "python -m bench.grading " + " ".join(sys.argv[1:] if argv is None else argv),
    })
    print(f"wrote {path}")


def run(fraction: float = 1.0, quick: bool = False) -> None:
    """For bench.__main__: the same as the command line, in a process of its own (the app reads its settings once)."""
    import subprocess

    from bench.common import ROOT

    subprocess.run([sys.executable, "-m", "bench.grading", "--fraction", str(fraction), "--repeats", "1" if quick else "3"],
                   cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
