"""``python -m bench``: every benchmark of issue 8 in turn, then the report (docs/performance.md).

    python -m bench [--fractions 0.1,0.3,1.0] [--only data,http,grading,events,memory,jobs,report] [--quick]

data loads each fraction's database (bench.dataset), http load-tests it (bench.http), grading evaluates a province
and the country (bench.grading), events measures the outbox → RabbitMQ → consumer pipeline with one and four
workers (bench.events), memory a worker across repeated event runs (bench.memory), jobs each scheduled job once
on the largest data set (bench.jobs, after http: jobs write); the report is rendered last
from whatever results exist. A part that fails is reported and the others still run; the command line and each
part's outcome are kept in ``bench/results/run.json``, which the report quotes.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from bench import common

PARTS = ("data", "http", "grading", "events", "memory", "jobs", "report")
FULL_FRACTIONS = "0.1,0.3,1.0"
QUICK_FRACTIONS = "0.01,0.02"  # --quick: small enough for a smoke test, still two sizes for the growth table
# Events: (backlog events, seconds at a fixed rate; the rate is half the measured saturation throughput).
# Memory: (rounds, backlog events, seconds) of one worker.
EVENTS_FULL, EVENTS_QUICK = (20_000, 20.0), (2_000, 3.0)
MEMORY_FULL, MEMORY_QUICK = (5, 5_000, 10.0), (3, 1_000, 2.0)


def data(fractions: list[float], quick: bool) -> None:
    for fraction in fractions:
        print(f"data: loading {fraction:g} of the national data set", flush=True)
        subprocess.run([sys.executable, "-m", "bench.dataset", "--fraction", str(fraction)], cwd=common.ROOT, check=True)


def http(fractions: list[float], quick: bool) -> None:
    from bench import http as load

    load.run(fractions, quick=quick)


def grading(fractions: list[float], quick: bool) -> None:
    from bench import grading as evaluation

    evaluation.run(max(fractions), quick=quick)


def events(fractions: list[float], quick: bool) -> None:
    from bench import events as pipeline

    backlog, seconds = EVENTS_QUICK if quick else EVENTS_FULL
    for workers in (1, 4):
        print(f"events: {workers} worker process(es), a backlog of {backlog} events, then {seconds:g} s at half that rate", flush=True)
        result = pipeline.run(workers, backlog=backlog, seconds=seconds, profile=False if quick else None)
        print(f"events: {result['events_per_s']:.0f} events/s; p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; "
              f"lost {result['lost']}, duplicated {result['duplicated']}", flush=True)


def memory(fractions: list[float], quick: bool) -> None:
    from bench import memory as rss

    rounds, backlog, seconds = MEMORY_QUICK if quick else MEMORY_FULL
    result = rss.run(rounds, backlog=backlog, seconds=seconds)
    print(f"memory: worker {result['worker']} KiB, api {result['api']} KiB", flush=True)


def jobs(fractions: list[float], quick: bool) -> None:
    from bench import jobs as scheduled

    scheduled.run(max(fractions))


def report(fractions: list[float], quick: bool) -> None:
    from bench import report as render

    print(f"report: wrote {render.render().relative_to(common.ROOT)}", flush=True)


STEPS: dict[str, Callable[[list[float], bool], None]] = {
    "data": data, "http": http, "grading": grading, "events": events, "memory": memory, "jobs": jobs, "report": report,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fractions", help=f"data-set sizes (default {FULL_FRACTIONS}; with --quick {QUICK_FRACTIONS})")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="tiny data sets and short runs: a smoke test, not a measurement")
    args = parser.parse_args(argv)
    only = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(only) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    fractions = [float(f) for f in (args.fractions or (QUICK_FRACTIONS if args.quick else FULL_FRACTIONS)).split(",")]
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    previous = common.read_result("run") or {}
    run: dict[str, Any] = {"command": command, "started": common.now(), "quick": args.quick, "fractions": fractions,
                           "machine": common.machine(), "parts": previous.get("parts", {})}
    failed = []
    for part in (p for p in PARTS if p in only):
        began, started = time.monotonic(), common.now()
        print(f"== {part} ==", flush=True)
        if part == "report":  # the report quotes this run's record: write it first
            common.write_result("run", run)
        try:
            STEPS[part](fractions, args.quick)
            outcome: dict[str, Any] = {"status": "measured"}
        except (Exception, SystemExit) as error:  # one part failing must not cost the others; the report says "not measured"
            traceback.print_exc()
            outcome = {"status": "failed", "error": f"{type(error).__name__}: {error}"[:2000]}
            failed.append(part)
        run["parts"][part] = {**outcome, "command": command, "started": started, "quick": args.quick, "fractions": fractions,
                              "seconds": round(time.monotonic() - began, 1)}
        common.write_result("run", run)
        print(f"== {part}: {outcome['status']} in {time.monotonic() - began:.0f} s ==", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)} (see above); the report marks them not measured", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
