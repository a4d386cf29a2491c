"""HTTP load and growth (issue 8, items 2 and 3): wrk on loopback against the real endpoints, in the same run as
their raw-SQL twins and a constant endpoint (``bench.server``), at each data-set size.

    python -m bench.http [--fractions 0.1,0.3,1.0] [--quick]

For each fraction: a prepare step (a subprocess on that bench database, through the app's own code) writes the
requests every endpoint rotates over — bearer tokens and a session cookie of the data set's roles, the data set's
sample keys, POST bodies, one member card per check-in — then the bench app is served by uvicorn with 1 worker (and at
100 % also with 2) and, per round, wrk runs a warm-up and a measured run of ``--connections`` connections against the
constant endpoint and then each endpoint followed by its raw twin. At 100 % with one worker there are ``REPEATS``
rounds, with the server's resident memory read after each (the growth check). Results: ``http-<pct>-w<n>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT, bench_db_url, bench_env, machine, now, read_result, rss_kib, serve, write_result
from bench.dataset import pct_label

CONNECTIONS = 32
THREADS = 2  # wrk threads: one per core
PORT = 8110
REPEATS = 3  # rounds at 100 % with one worker: memory must not grow from one to the next
TARGETS = {"vs_constant": 0.35, "vs_raw": 0.60, "p99_ms": 50.0}
CHECK_IN_DRILLS = 20  # × the sample teams' members: the one-time check-ins a measured run can use
JOBS_TIMEOUT_S = 1800  # the scheduled jobs' start-up runs, which the server does before it is measured


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # as the report shows it
    raw: bool  # has a /bench/raw twin (the read endpoints)
    caller: str  # the bench login that asks (bench.dataset.BENCH_USERS)


# The league supervisor asks about the teams and drills of their league, the region coordinator for the region's
# dashboard, the national administrator where the sample keys lie all over the country (items, team lists of every
# league, open deployments, the check-in drills' teams).
ENDPOINTS = [
    Endpoint("roster_page", "GET", "/teams/{team}", True, "league (session cookie)"),
    Endpoint("roster_api", "GET", "/api/v1/teams/{team}/roster", True, "league"),
    Endpoint("scan", "GET", "/api/v1/equipment/items/{asset_tag}", True, "admin"),
    Endpoint("team_list", "GET", "/api/v1/teams/?league={league}&category={category}", True, "admin"),
    Endpoint("drill_calendar", "GET", "/api/v1/drills/?unit={league}&start={start}&end={end}", True, "league"),
    Endpoint("region_dashboard", "GET", "/api/v1/grading/dashboard?area={region or hub}", True, "region"),
    Endpoint("certificate_verify", "GET", "/verify/{token}", True, "anyone (no sign-in)"),
    Endpoint("progress_page", "GET", "/training/progress?unit={region or league}&year={year}", True, "region (session cookie)"),
    Endpoint("progress_api", "GET", "/api/v1/training/progress?unit={region or league}&year={year}", True, "region"),
    Endpoint("log_append", "POST", "/api/v1/deployments/{deployment}/log", False, "admin"),
    Endpoint("check_in", "POST", "/api/v1/drills/{drill}/check-ins", False, "admin"),
]


def requests_path(pct: str) -> Path:
    return RESULTS / f"requests-{pct}.json"


# --- prepare: in a process of its own on the bench database ----------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _check_in_drills(admin: Any, sample: dict[str, Any]) -> list[int]:
    """``CHECK_IN_DRILLS`` drills of the sample league inviting every sample team, open for attendance now, planned
    through drills.service once and reused (moved to start within the hour) by later runs."""
    from rescueops.drills import service as drills
    from rescueops.drills.schemas import DrillIn
    from rescueops.drills.tables import Drill, DrillStatus

    title = "基准测试签到"
    starts = datetime.now(UTC) + timedelta(minutes=30)
    found = [r["id"] for r in await Drill.select(Drill.id).where(Drill.title == title).order_by(Drill.id)]
    if found:
        await Drill.update({Drill.starts_at: starts, Drill.ends_at: starts + timedelta(hours=6),
                            Drill.status: DrillStatus.planned.value}).where(Drill.id.is_in(found))
        return found
    scenario = next(s for s in await drills.list_scenarios() if not s.problems)
    planned = []
    for _ in range(CHECK_IN_DRILLS):
        planned += await drills.plan_drill(admin, DrillIn(
            scenario_id=scenario.scenario_id, title=title, organiser_unit_code=sample["league"], starts_at=starts,
            ends_at=starts + timedelta(hours=6), place="基准测试集结点", team_codes=[t["code"] for t in sample["teams"]]))
    return [d.id for d in planned]


async def _cards(admin: Any, team_codes: list[str]) -> list[str]:
    """A member card (members.service.card) of every active or probationary member of the teams."""
    from rescueops.members import service as members

    cards = []
    for code in team_codes:
        roster = await members.roster(admin, code)
        cards += [(await members.card(admin, m.person_id)).token for m in roster.members if m.status.value in ("active", "probation")]
    return cards


async def _prepare(pct: str) -> dict[str, Any]:
    """The requests of every endpoint on the data set of ``pct`` (run with ``bench_env`` of its database)."""
    from rescueops.accounts import service as accounts
    from rescueops.accounts.tables import TokenKind
    from rescueops.db import engine

    dataset = read_result(f"dataset-{pct}")
    if dataset is None:
        raise SystemExit(f"no bench/results/dataset-{pct}.json: load the data set first (python -m bench.dataset)")
    sample = dataset["sample"]
    tokens, cookie = sample["tokens"], f"{sample['cookie']}={sample['sessions']['league']}"
    db = engine.database()
    await engine.prepare(db)
    try:
        admin = await accounts.principal_for_token(tokens["admin"], TokenKind.api)
        drill_ids = await _check_in_drills(admin, sample)
        cards = await _cards(admin, [t["code"] for t in sample["teams"]])
    finally:
        await engine.release(db)
    league, admin, calendar = _bearer(tokens["league"]), _bearer(tokens["admin"]), sample["drills"]
    training, region_cookie = sample["training"], f"{sample['cookie']}={sample['sessions']['region']}"
    spec: dict[str, list[dict[str, Any]]] = {
        "roster_page": [{"path": f"/teams/{t['code']}", "headers": {"Cookie": cookie}} for t in sample["teams"]
                        if t["league"] == sample["league"]],
        "roster_api": [{"path": f"/api/v1/teams/{t['code']}/roster", "headers": league} for t in sample["teams"]
                       if t["league"] == sample["league"]],
        "scan": [{"path": f"/api/v1/equipment/items/{tag}", "headers": admin} for tag in sample["asset_tags"]],
        "team_list": [{"path": f"/api/v1/teams/?league={t['league']}&category={t['category']}", "headers": admin}
                      for t in sample["teams"]],
        "drill_calendar": [{"path": f"/api/v1/drills/?unit={calendar['league']}&start={calendar['from']}T00:00:00Z"
                                    f"&end={calendar['to']}T00:00:00Z", "headers": league}],
        "region_dashboard": [{"path": f"/api/v1/grading/dashboard?area={area}", "headers": _bearer(tokens["region"])}
                             for area in (sample["region"], sample["hub"])],
        "certificate_verify": [{"path": f"/verify/{token}"} for token in training["verify_tokens"]],
        "progress_page": [{"path": f"/training/progress?unit={unit}&year={training['year']}", "headers": {"Cookie": region_cookie}}
                          for unit in (training["unit"], training["league"])],
        "progress_api": [{"path": f"/api/v1/training/progress?unit={unit}&year={training['year']}", "headers": _bearer(tokens["region"])}
                         for unit in (training["unit"], training["league"])],
        "log_append": [{"path": f"/api/v1/deployments/{d['id']}/log", "headers": admin,
                        "body": json.dumps({"kind": "note", "text": f"基准测试现场记录 {i}"}, ensure_ascii=False)}
                       for i, d in enumerate(sample["open_deployments"])],
        # Each card checks in once per drill: drill-major order, so the threads' shares use up every pair.
        "check_in": [{"path": f"/api/v1/drills/{drill}/check-ins", "headers": admin,
                      "body": json.dumps({"card": card})} for drill in drill_ids for card in cards],
    }
    return {
        e.name: {"method": e.method, "path": e.path, "raw": e.raw, "caller": e.caller,
                 "drills": drill_ids if e.name == "check_in" else None,
                 "requests": [{"method": e.method, "headers": {}, **r} for r in spec[e.name]]}
        for e in ENDPOINTS
    }


def prepare(pct: str) -> dict[str, Any]:
    """Run the prepare step on the bench database of ``pct`` and write ``requests-<pct>.json``; returns it."""
    subprocess.run([sys.executable, "-m", "bench.http", "--prepare", str(pct)], cwd=ROOT, check=True)
    return json.loads(requests_path(pct).read_text(encoding="utf-8"))


# --- wrk ---------------------------------------------------------------------------------------------


def _wrk_file(name: str, requests: list[dict[str, Any]]) -> Path:
    """The request lines bench/wrk/requests.lua rotates over (method, path, body, headers; tab-separated)."""
    path = RESULTS / f"wrk-{name}.tsv"
    lines = ["\t".join([r["method"], r["path"], r.get("body") or "", *(f"{k}: {v}" for k, v in r["headers"].items())])
             for r in requests]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_BENCH_LINE = re.compile(r"^BENCH (\{.*\})$", re.M)


def wrk(requests_file: Path, seconds: float, connections: int) -> dict[str, Any]:
    """One wrk run: rps, p50/p99 (ms), socket errors and non-2xx/3xx answers."""
    done = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
         "-s", str(ROOT / "bench" / "wrk" / "requests.lua"), f"http://127.0.0.1:{PORT}"],
        env={**os.environ, "BENCH_WRK_REQUESTS": str(requests_file), "BENCH_WRK_THREADS": str(THREADS)},
        capture_output=True, text=True, check=True,
    )
    return parse_wrk(done.stdout, done.stderr)


def parse_wrk(stdout: str, stderr: str = "") -> dict[str, Any]:
    """The figures of the ``BENCH {...}`` line bench/wrk/requests.lua's done() prints."""
    found = _BENCH_LINE.search(stdout)
    if found is None:
        raise RuntimeError(f"wrk printed no result line:\n{stdout}\n{stderr}")
    figures = json.loads(found.group(1))
    return {
        "rps": round(figures["requests"] / (figures["duration_us"] / 1e6), 1),
        "p50_ms": round(figures["p50_us"] / 1000, 2),
        "p99_ms": round(figures["p99_us"] / 1000, 2),
        "max_ms": round(figures["max_us"] / 1000, 2),
        "requests": figures["requests"],
        "errors": figures["connect"] + figures["read"] + figures["write"] + figures["timeout"],
        "non2xx": figures["non2xx"],
    }


async def _sql(url: str, statement: str, *args: Any) -> Any:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(statement, *args)
    finally:
        await connection.close()


def wait_for_jobs(url: str, since: datetime) -> float:
    """Seconds until the scheduled jobs the server claimed at start-up have finished (they run in the api process)."""
    started = time.monotonic()
    while time.monotonic() - started < JOBS_TIMEOUT_S:
        if not asyncio.run(_sql(url, "SELECT count(*) FROM jobs_run WHERE finished_at IS NULL AND claimed_at >= $1", since)):
            return round(time.monotonic() - started, 1)
        time.sleep(1)
    raise RuntimeError(f"the server's scheduled jobs did not finish within {JOBS_TIMEOUT_S} s")


def wait_for_workers(workers: int, port: int) -> None:
    """uvicorn's parent answers once one worker is up; every worker logs a line when its start-up is done."""
    log = RESULTS / f"server-{port}.log"
    deadline = time.monotonic() + 300
    while log.read_text(errors="replace").count("bench app ready") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every worker started: see {log}")
        time.sleep(0.5)


def run_round(spec: dict[str, Any], pct: str, url: str, seconds: float, warmup: float, connections: int) -> list[dict[str, Any]]:
    """Constant first, then each endpoint followed by its raw twin; a warm-up before every measured run."""
    results = []

    def measure(name: str, kind: str, method: str, path: str, requests: list[dict[str, Any]],
                one_time_drills: list[int] | None = None) -> dict[str, Any]:
        measured = warm = _wrk_file(f"{pct}-{name}", requests)
        if one_time_drills:
            # One-time check-ins: the prepared cards check in afresh, and the warm-up uses a quarter of them of its own
            # (requests still in flight when a wrk run stops must not meet the next run's reset).
            asyncio.run(_sql(url, "DELETE FROM drills_attendance WHERE drill = ANY($1::int[])", one_time_drills))
            cut = len(requests) - len(requests) // 4
            measured, warm = _wrk_file(f"{pct}-{name}", requests[:cut]), _wrk_file(f"{pct}-{name}.warm", requests[cut:])
        if warmup:
            wrk(warm, warmup, connections)
        entry = {"name": name, "method": method, "path": path, "kind": kind, **wrk(measured, seconds, connections)}
        print(f"  {name:<24} {entry['rps']:>8.1f} rps  p50 {entry['p50_ms']:>7.2f} ms  p99 {entry['p99_ms']:>7.2f} ms"
              f"  errors {entry['errors']}  non-2xx {entry['non2xx']}", flush=True)
        return entry

    results.append(measure("constant", "constant", "GET", "/bench/constant", [{"method": "GET", "path": "/bench/constant",
                                                                               "headers": {}}]))
    for name, endpoint in spec.items():
        results.append({**measure(name, "app", endpoint["method"], endpoint["path"], endpoint["requests"], endpoint["drills"]),
                        "caller": endpoint["caller"]})
        if endpoint["raw"]:
            raw = [{"method": "GET", "path": f"/bench/raw/{name}/{k}", "headers": {}} for k in range(len(endpoint["requests"]))]
            results.append(measure(f"{name}.raw", "raw", "GET", f"/bench/raw/{name}/{{k}}", raw))
    return results


def with_ratios(endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each real endpoint's rps over the constant's and over its raw twin's, and whether it meets the targets."""
    by_name = {e["name"]: e for e in endpoints}
    constant = by_name["constant"]["rps"]
    for entry in endpoints:
        if entry["kind"] != "app":
            continue
        entry["vs_constant"] = round(entry["rps"] / constant, 3) if constant else None
        raw = by_name.get(f"{entry['name']}.raw")
        entry["vs_raw"] = round(entry["rps"] / raw["rps"], 3) if raw and raw["rps"] else None
        entry["meets_targets"] = (
            entry["vs_constant"] is not None and entry["vs_constant"] >= TARGETS["vs_constant"]
            and (entry["vs_raw"] is None or entry["vs_raw"] >= TARGETS["vs_raw"])
            and entry["p99_ms"] < TARGETS["p99_ms"] and not entry["errors"] and not entry["non2xx"]
        )
    return endpoints


def _median_round(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per endpoint, the entry of the round with its median rps (the rounds differ only by noise and warm caches)."""
    names = [e["name"] for e in rounds[0]]
    picked = []
    for name in names:
        entries = sorted((next(e for e in r if e["name"] == name) for r in rounds), key=lambda e: e["rps"])
        picked.append(entries[len(entries) // 2])
    return with_ratios([dict(e) for e in picked])


def bench_fraction(fraction: float, workers_list: list[int], seconds: float, warmup: float, connections: int,
                   repeats: int) -> list[Path]:
    pct = pct_label(fraction)
    url = bench_db_url(pct)
    print(f"http: {pct} % — preparing requests", flush=True)
    spec = prepare(pct)
    written = []
    for workers in workers_list:
        rounds_wanted = repeats if pct == "100" and workers == 1 else 1
        since = datetime.now(UTC) - timedelta(seconds=1)
        started = time.monotonic()
        argv = [sys.executable, "-m", "uvicorn", "--factory", "bench.server:create_app", "--host", "127.0.0.1",
                "--port", str(PORT), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        # At national scale the start-up runs of the scheduled jobs (the nightly readiness refresh above all) keep the
        # api process busy for a minute or more before it answers.
        with serve(url, workers, PORT, argv=argv, ready_timeout=JOBS_TIMEOUT_S, BENCH_REQUESTS=str(requests_path(pct))) as server:
            wait_for_workers(workers, PORT)
            jobs_s = wait_for_jobs(url, since)
            print(f"http: {pct} %, {workers} worker(s): up in {time.monotonic() - started:.1f} s "
                  f"(start-up jobs {jobs_s} s)", flush=True)
            rounds, rss = [], []
            for _ in range(rounds_wanted):
                rounds.append(run_round(spec, pct, url, seconds, warmup, connections))
                rss.append(rss_kib(server.pid))
        written.append(write_result(f"http-{pct}-w{workers}", {
            "started": now(), "seconds": round(time.monotonic() - started, 1), "machine": machine(),
            "fraction": fraction, "workers": workers, "connections": connections, "duration_s": seconds,
            "warmup_s": warmup, "threads": THREADS, "targets": TARGETS, "startup_jobs_s": jobs_s,
            "endpoints": _median_round(rounds), "rounds": [with_ratios(r) for r in rounds], "rss_kib_after": rss,
            "command": "python -m bench.http " + " ".join(sys.argv[1:]),
        }))
    return written


def run(fractions: list[float], quick: bool = False, connections: int = CONNECTIONS) -> list[Path]:
    """Every fraction with one worker, and 100 % with two as well; ``quick``: short runs, one round."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: bash bench/install-tools.sh (apt-get install -y wrk)")
    seconds, warmup = (3, 1) if quick else (10, 3)
    written = []
    for fraction in fractions:
        workers = [1, 2] if pct_label(fraction) == "100" else [1]
        written += bench_fraction(fraction, workers, seconds, warmup, connections, 1 if quick else REPEATS)
    # Where the time goes, on the largest data set: the evidence behind any target the numbers miss.
    subprocess.run([sys.executable, "-m", "bench.http", "--profile", pct_label(max(fractions)), *(["--quick"] if quick else [])],
                   cwd=ROOT, check=True)
    return [*written, RESULTS / "http-profile.txt"]


# --- where the time goes: bench/results/http-profile.txt ------------------------------------------------

PROFILE_REQUESTS = 200  # per endpoint, in-process (no sockets, no wrk), after one request to warm up

# Where a function's own CPU time is counted, by the file it is in (the first match wins).
_AREAS = [
    ("piccolo/", "Piccolo: building the SQL of each query, rows to dicts"),
    ("asyncpg/", "asyncpg: the wire protocol"),
    ("pydantic", "pydantic: schemas in and out"),
    ("jinja2/", "templates (Jinja2, MarkupSafe)"), ("markupsafe/", "templates (Jinja2, MarkupSafe)"),
    ("/templates/", "templates (Jinja2, MarkupSafe)"),
    ("litestar/", "Litestar: routing, middleware, parameters, JSON"), ("msgspec", "Litestar: routing, middleware, parameters, JSON"),
    ("rescueops/", "the app's own code (services, auth, pages)"),
    ("httpx/", "the in-process test client (not in the server)"),
    ("asyncio/", "event loop and sockets"), ("selectors", "event loop and sockets"), ("socket", "event loop and sockets"),
]


def _area(filename: str, name: str) -> str:
    where = filename if filename != "~" else name
    return next((area for needle, area in _AREAS if needle in where), "other (standard library, builtins)")


def cpu_by_area(stats: Any) -> dict[str, float]:
    """Own CPU time per area; a builtin's time (``dir``, ``isinstance``…) goes to the areas of its callers."""
    areas: dict[str, float] = {}
    for (filename, _, name), (_, _, own, _, callers) in stats.stats.items():
        if filename == "~" and callers:  # a builtin: split its time among its callers, as the profile recorded it
            for (caller_file, _, caller_name), figures in callers.items():
                areas[_area(caller_file, caller_name)] = areas.get(_area(caller_file, caller_name), 0.0) + figures[2]
        else:
            areas[_area(filename, name)] = areas.get(_area(filename, name), 0.0) + own
    return areas


async def _profile(pct: str, count: int) -> str:
    """Per endpoint: SQL statements and CPU per request, and the profile's split of that CPU by area; then the same for
    the country-wide grading evaluation. CPU time (``time.process_time``), so waiting on PostgreSQL is not in it."""
    import cProfile

    import httpx

    from bench.common import recorded_queries
    from rescueops.app import create_app
    from rescueops.db import engine
    from rescueops.grading import service as grading

    spec = json.loads(requests_path(pct).read_text(encoding="utf-8"))
    lines = [f"Where the time goes — data set {pct} %, {count} requests per endpoint in-process (no sockets), "
             f"CPU time of the app process only. Command: python -m bench.http --profile {pct}{' --quick' if count < PROFILE_REQUESTS else ''}", ""]
    app = create_app()
    db = engine.database()
    await engine.prepare(db)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            for name, endpoint in spec.items():
                requests = endpoint["requests"]  # check-ins: enough one-time cards for every request here
                if endpoint["drills"]:
                    await _sql(bench_db_url(pct), "DELETE FROM drills_attendance WHERE drill = ANY($1::int[])", endpoint["drills"])

                async def send(k: int, requests: list[dict[str, Any]] = requests) -> httpx.Response:
                    r = requests[k % len(requests)]
                    return await client.request(r["method"], r["path"], headers=r["headers"], content=r.get("body"))

                await send(0)
                with recorded_queries() as statements:
                    answer = await send(1)
                started = time.process_time()
                for k in range(2, count + 2):
                    await send(k)
                cpu_ms = (time.process_time() - started) / count * 1000
                profile = cProfile.Profile(time.process_time)
                profile.enable()
                for k in range(count + 2, 2 * count + 2):
                    await send(k)
                profile.disable()
                lines += _profile_section(f"{name} ({endpoint['method']} {endpoint['path']}): HTTP {answer.status_code}, "
                                          f"{len(statements)} SQL statements, {cpu_ms:.2f} ms CPU per request", profile)
        rubrics, refs = await grading.current_rubrics(), await grading.references()
        with recorded_queries() as statements:
            started = time.process_time()
            evaluated = await grading.evaluate_teams(rubrics=rubrics, refs=refs)
            cpu_s = time.process_time() - started
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        await grading.evaluate_teams(rubrics=rubrics, refs=refs)
        profile.disable()
        lines += _profile_section(f"grading, the whole country: {len(evaluated)} evaluations, {len(statements)} SQL statements, "
                                  f"{cpu_s:.2f} s CPU", profile)
    finally:
        await engine.release(db)
    return "\n".join(lines) + "\n"


def _profile_section(title: str, profile: Any) -> list[str]:
    import io
    import pstats

    stats = pstats.Stats(profile, stream=io.StringIO())
    areas = cpu_by_area(stats)
    total = sum(areas.values()) or 1.0
    return [title, *(f"  {share / total:6.1%}  {area}" for area, share in sorted(areas.items(), key=lambda a: -a[1])
                     if share / total >= 0.005), ""]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fractions", default="0.1,0.3,1.0", help="data-set sizes to load-test (comma-separated)")
    parser.add_argument("--quick", action="store_true", help="3 s runs after 1 s warm-ups, one round")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--prepare", metavar="PCT", help=argparse.SUPPRESS)  # the prepare subprocess
    parser.add_argument("--profile", metavar="PCT",
                        help="profile each endpoint (and country-wide grading) in-process on the data set of PCT %% "
                             "(prepared by a load run) and write bench/results/http-profile.txt")
    args = parser.parse_args(argv)
    if args.profile is not None:
        os.environ.update(bench_env(bench_db_url(args.profile)))
        path = RESULTS / "http-profile.txt"
        path.write_text(asyncio.run(_profile(args.profile, 50 if args.quick else PROFILE_REQUESTS)), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
        return
    if args.prepare is not None:
        os.environ.update(bench_env(bench_db_url(args.prepare)))  # before the app is imported: it reads its settings once
        spec = asyncio.run(_prepare(args.prepare))
        requests_path(args.prepare).write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")
        return
    for path in run([float(f) for f in args.fractions.split(",")], quick=args.quick, connections=args.connections):
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
