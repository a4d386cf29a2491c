"""Events: outbox → RabbitMQ (publisher confirms) → the regional consumers, through the real worker processes.

Each measurement gets a throwaway PostgreSQL database and a throwaway RabbitMQ vhost. The events are real
``notification.sent`` events written by ``rescueops.events.service.emit`` in committed transactions, for a
place in each hub's region (Hohhot, Chifeng, Hulunbuir, Ordos), so every one reaches two queues of its hub
(notifications, audit) and ``rescueops worker`` relays and applies them with the code production runs.

Two phases, measuring two different things:

- **saturation** (throughput): a backlog committed at once (one transaction, as after a burst) and drained;
  events/s = events / (last apply − commit). Latency in this phase is queueing, so it is not reported.
- **fixed rate** (latency): events committed in small batches at an offered rate below saturation (by default
  ``AUTO_RATE`` of the throughput the saturation phase just measured, so it stays below it on any machine);
  latency = the consumer's ``events_processed.processed_at`` (the apply, in the consumer's transaction)
  − the producer's clock right after its ``COMMIT`` returned, for every (event, consumer) pair.

Every phase counts produced vs applied: ``lost`` = (event, consumer) pairs the routing promises but no
``events_processed`` row shows; ``duplicated`` = extra ``events_received`` rows (the audit handler writes one
per application and has no unique key, so an event applied twice shows there).

The app reads its database URL once, on import: :func:`run` provisions the database and vhost and runs the
measurement in a child process (``python -m bench.events``) whose environment names them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import common

# One league per hub region: events about them route as <region>.notification.sent.
PLACES = ("/150000/150100/", "/150000/150400/", "/150000/150700/", "/150000/150600/")
REGIONS = ("northeast", "east", "central", "west")
AMQP = "amqp://guest:guest@127.0.0.1:5672"
READY_TIMEOUT_S = 60.0
STALL_TIMEOUT_S = 60.0  # a phase fails when nothing more was applied for this long
PRODUCER_BATCH = 10  # events per transaction in the fixed-rate phase: a handful of changes committed together
AUTO_RATE = 0.5  # the fixed rate, unless given: this share of the measured saturation throughput
TARGETS = {"events_per_s": 3000, "p99_ms": 250.0}  # issue 8: with publisher confirms; commit to consumer apply
PROFILE_BACKLOG, PROFILE_SECONDS = 5_000, 5.0  # the profiled re-run is shorter: cProfile slows the worker down
PROFILE_MARK = "--- profile ---"  # in a *-profile.txt, what comes before is the explanation the report quotes


# --- throwaway broker vhost and database (parent side) -----------------------------------------------


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


@contextlib.contextmanager
def throwaway(prefix: str, amqp_url: str | None = None) -> Iterator[tuple[str, str]]:
    """A migrated database holding the reference data and an empty vhost guest may use: (database url, amqp url).
    Both are deleted afterwards; a given ``amqp_url`` (an empty vhost of the caller's) is used and left alone."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = common.database_url(name)
    common.create_database(url)
    if amqp_url is None:
        rabbitmqctl("add_vhost", name)
    try:
        if amqp_url is None:
            rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        common.migrate(url)
        yield url, amqp_url or f"{AMQP}/{name}"
    finally:
        if amqp_url is None:
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                rabbitmqctl("delete_vhost", name)
        common.drop_database(url)


def run_child(url: str, amqp_url: str, args: list[str]) -> dict[str, Any]:
    """Run the measurement (``python -m bench.events --child ARGS``) on the database and vhost; its JSON result."""
    env = common.bench_env(url, RESCUEOPS_AMQP_URL=amqp_url)
    done = subprocess.run([sys.executable, "-m", "bench.events", "--child", *args], env=env, cwd=common.ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"bench.events {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measured_once(workers: int, backlog: int, rate: float | None, seconds: float, profile: bool = False,
                  amqp_url: str | None = None) -> dict[str, Any]:
    """The measurement's phases (saturation, fixed rate) and the workers' RSS, on a throwaway database and vhost."""
    with throwaway("rescueops_bench_events", amqp_url) as (url, amqp_url):
        return run_child(url, amqp_url, ["--workers", str(workers), "--backlog", str(backlog), "--rate", str(rate or 0),
                                          "--seconds", str(seconds), *(["--profile"] if profile else [])])


def meets_targets(result: dict[str, Any]) -> bool:
    return (result["events_per_s"] >= TARGETS["events_per_s"] and result["p99_ms"] < TARGETS["p99_ms"]
            and not result["lost"] and not result["duplicated"])


def run(workers: int, *, backlog: int = 20_000, rate: float | None = None, seconds: float = 20.0,
        profile: bool | None = None) -> dict[str, Any]:
    """One measurement with ``workers`` worker processes (1: ``--all``; 4: one ``--region`` each): a saturation
    phase of ``backlog`` events, then ``seconds`` at ``rate`` events/s (None: ``AUTO_RATE`` of the saturation
    throughput). Writes ``events-w<workers>.json``.

    ``profile`` (by default: when a target is missed) runs it again with the first worker under cProfile and
    writes ``events-w<workers>-profile.txt``: the CPU each part spends per event, and where the worker spends it."""
    started, clock, load_before = common.now(), time.monotonic(), os.getloadavg()
    measured = measured_once(workers, backlog, rate, seconds)
    saturation, fixed = measured["phases"]
    result = {
        "started": started, "seconds": round(time.monotonic() - clock, 1), "workers": workers,
        "events": saturation["events"] + fixed["events"], "events_per_s": saturation["events_per_s"],
        "p50_ms": fixed["p50_ms"], "p99_ms": fixed["p99_ms"], "offered_rate": fixed["offered_rate"],
        "lost": saturation["lost"] + fixed["lost"], "duplicated": saturation["duplicated"] + fixed["duplicated"],
        "targets": TARGETS, "saturation": saturation, "fixed_rate": fixed, "worker_rss_kib": measured["worker_rss_kib"],
        "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)], "cores": os.cpu_count(),
        "command": f"python -m bench.events --workers {workers} --backlog {backlog} --rate {rate or 0:g} --seconds {seconds:g}",
    }
    result["meets_targets"] = meets_targets(result)
    common.write_result(f"events-w{workers}", result)
    profile_file = common.RESULTS / f"events-w{workers}-profile.txt"
    if profile or (profile is None and not result["meets_targets"]):
        profiled = measured_once(workers, min(backlog, PROFILE_BACKLOG), rate, min(seconds, PROFILE_SECONDS), profile=True)
        profile_file.write_text(explain(result) + "\n\n" + profiled["profile"], encoding="utf-8")
    else:
        profile_file.unlink(missing_ok=True)  # an older run's profile would explain other figures
    return result


def explain(result: dict[str, Any]) -> str:
    """Where the time of an event goes, from the CPU each part used while the backlog drained."""
    from rescueops.events.bus import MESSAGE_EVENTS  # the app reads its settings on import: not in the parent's

    cpu = result["saturation"]["cpu_ms_per_event"]
    total = sum(cpu.values())
    cores = result["cores"]
    parts = ", ".join(f"{part} {ms:.3f} ms" for part, ms in cpu.items())
    lines = [
        f"Events, {result['workers']} worker process(es): {result['events_per_s']:.0f} events/s at saturation "
        f"(target {TARGETS['events_per_s']}), p99 commit-to-apply {result['p99_ms']:.0f} ms at {result['offered_rate']:.0f} "
        f"events/s offered (target < {TARGETS['p99_ms']:.0f} ms).",
        f"CPU per event while the backlog drained: {parts}; {total:.3f} ms in all "
        f"(the relay sends the events of one routing key together, up to {MESSAGE_EVENTS} a message: one publish with "
        "its confirm, one delivery to each of the two quorum queues, and two consumers applying each event; "
        "the broker's figure is the whole broker, whatever else used it meanwhile).",
        f"On {cores} cores that caps the pipeline at {cores * 1000 / total:.0f} events/s if nothing else ran "
        f"({TARGETS['events_per_s']:,} events/s would need at most {cores * 1000 / TARGETS['events_per_s']:.2f} ms per event "
        f"in all); the load average was {result['load_average'][0]} before and {result['load_average'][1]} after the run.",
        "Below: the first worker under cProfile (a shorter run), by own time, then by cumulative time.",
    ]
    return "\n".join(lines)


# --- the measurement (child side: the app is configured for the throwaway database) -----------------


class Worker:
    """``rescueops worker ARGS`` as a subprocess, its output in ``<folder>/worker-<name>.log``; under cProfile
    (into ``<folder>/worker-<name>.prof``) when ``profile``."""

    def __init__(self, folder: Path, name: str, args: list[str], profile: bool = False):
        self.log = folder / f"worker-{name}.log"
        self.profile = folder / f"worker-{name}.prof" if profile else None
        python = [sys.executable, "-m", "cProfile", "-o", str(self.profile)] if self.profile else [sys.executable]
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen([*python, "-m", "rescueops", "worker", *args], cwd=common.ROOT,
                                            stdout=output, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "worker ready" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"worker never became ready:\n{self.output()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_workers(folder: Path, count: int, profile: bool = False) -> list[Worker]:
    """One worker consuming every hub's queues, or one per hub region; the first under cProfile when ``profile``."""
    names = ["all"] if count == 1 else list(REGIONS[:count])
    workers = [Worker(folder, name, ["--all"] if name == "all" else ["--region", name], profile and not n)
               for n, name in enumerate(names)]
    for worker in workers:
        worker.wait_ready()
    return workers


def cpu_snapshot(workers: list[Worker], database: str) -> dict[str, dict[int, float]]:
    """CPU seconds (user + system) so far of the workers, the broker (beam.smp) and this database's PostgreSQL
    backends, by process, from /proc: what an event costs in each, whatever else the machine runs."""
    ticks = os.sysconf("SC_CLK_TCK")
    wanted = {worker.process.pid for worker in workers}
    found: dict[str, dict[int, float]] = {"worker": {}, "rabbitmq": {}, "postgresql": {}}
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (proc / "stat").read_text()
            command, fields = stat.split("(", 1)[1].rsplit(")", 1)[0], stat.rsplit(")", 1)[1].split()
            pid = int(proc.name)
            part = ("worker" if pid in wanted else "rabbitmq" if command == "beam.smp"
                    else "postgresql" if command == "postgres" and f" {database} " in (proc / "cmdline").read_text() else None)
            if part:
                found[part][pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each part used between two snapshots (processes that started meanwhile count whole)."""
    return {part: sum(seconds - before[part].get(pid, 0.0) for pid, seconds in after[part].items()) for part in after}


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def emit_batch(count: int, start: int) -> tuple[list[str], float]:
    """``count`` events in one committed transaction, spread over the four regions; (event ids, commit time)."""
    from rescueops.db import write_transaction
    from rescueops.events import service as events
    from rescueops.events.schemas import NotificationsSent

    async with write_transaction():
        ids = [str(await events.emit(None, "notification.sent", NotificationsSent(
            kind="bench.notice", key=f"bench:{n}", title=f"演练通知 {n}", body="", link="", user_ids=[]),
            org_path=PLACES[n % len(PLACES)], aggregate_id=f"bench:{n}")) for n in range(start, start + count)]
    return ids, time.time()


async def wait_applied(expected: int, since_id: int) -> None:
    """Until ``expected`` processed rows beyond ``since_id`` exist; fails when progress stalls."""
    from rescueops.events.tables import ProcessedEvent

    seen, last_progress = -1, time.monotonic()
    while True:
        done = await ProcessedEvent.count().where(ProcessedEvent.id > since_id)
        if done >= expected:
            return
        if done != seen:
            seen, last_progress = done, time.monotonic()
        elif time.monotonic() - last_progress > STALL_TIMEOUT_S:
            raise RuntimeError(f"only {done} of {expected} applications after {STALL_TIMEOUT_S:.0f} s without progress")
        await asyncio.sleep(0.2)


async def tally(commits: list[tuple[list[str], float]], since_id: int) -> dict[str, Any]:
    """Produced vs applied for the events of ``commits``; latency of each (event, consumer) from its commit."""
    from rescueops.events import topology
    from rescueops.events.tables import OutboxEvent, ProcessedEvent, ReceivedEvent

    committed = {event_id: at for ids, at in commits for event_id in ids}
    outbox = await OutboxEvent.select(OutboxEvent.event_id, OutboxEvent.routing_key, OutboxEvent.published_at).where(
        OutboxEvent.event_id.is_in(list(committed)))
    keys = {str(row["event_id"]): row["routing_key"] for row in outbox}
    expected = {(spec.consumer, event_id) for event_id in committed for spec in topology.consumers_for(keys[event_id])}
    processed = await ProcessedEvent.select(ProcessedEvent.consumer, ProcessedEvent.event_id, ProcessedEvent.processed_at).where(
        ProcessedEvent.id > since_id)
    applied = {(row["consumer"], str(row["event_id"])): row["processed_at"].timestamp() for row in processed}
    received = await ReceivedEvent.raw("SELECT count(*) AS n FROM events_received GROUP BY region, event_id HAVING count(*) > 1")
    latencies = [(at - committed[event_id]) * 1000 for (_, event_id), at in applied.items() if event_id in committed]
    # marked sent after the broker's confirm: the relay's share of the latency
    published = [(row["published_at"].timestamp() - committed[str(row["event_id"])]) * 1000 for row in outbox]
    last_commit = max(at for _, at in commits)
    return {
        "events": len(committed), "applications": len(expected & applied.keys()),
        "lost": len(expected - applied.keys()), "unexpected": len(applied.keys() - expected),
        "duplicated": sum(row["n"] - 1 for row in received),
        "first_commit": min(at for _, at in commits), "last_commit": last_commit, "last_apply": max(applied.values()),
        "last_publish": max(row["published_at"].timestamp() for row in outbox),
        "latencies_ms": latencies, "published_ms": published,
    }


async def saturation(workers: list[Worker], events: int, since_id: int) -> dict[str, Any]:
    """A backlog committed at once and drained: the throughput."""
    database = os.environ["RESCUEOPS_DATABASE_URL"].rsplit("/", 1)[1]
    commit = await emit_batch(events, 0)
    before = cpu_snapshot(workers, database)
    await wait_applied(2 * events, since_id)  # each event reaches its hub's notifications and audit queues
    cpu = cpu_used(before, cpu_snapshot(workers, database))
    found = await tally([commit], since_id)
    drain_s = found["last_apply"] - found["last_commit"]
    publish_s = found["last_publish"] - found["last_commit"]
    return {"phase": "saturation", "events": events, "applications": found["applications"], "drain_s": round(drain_s, 3),
            "events_per_s": round(events / drain_s, 1), "published_per_s": round(events / publish_s, 1),
            "cpu_ms_per_event": {part: round(1000 * seconds / events, 3) for part, seconds in cpu.items()},
            "lost": found["lost"], "duplicated": found["duplicated"], "unexpected": found["unexpected"]}


async def fixed_rate(rate: float, seconds: float, since_id: int, start: int) -> dict[str, Any]:
    """Small batches at ``rate`` events/s for ``seconds``: the latency below saturation."""
    interval, commits = PRODUCER_BATCH / rate, []
    began = time.monotonic()
    for k in range(max(1, round(rate * seconds / PRODUCER_BATCH))):
        commits.append(await emit_batch(PRODUCER_BATCH, start + k * PRODUCER_BATCH))
        await asyncio.sleep(max(0.0, began + (k + 1) * interval - time.monotonic()))
    events = len(commits) * PRODUCER_BATCH
    await wait_applied(2 * events, since_id)
    found = await tally(commits, since_id)
    latencies = found["latencies_ms"]
    offered = events / (found["last_commit"] - found["first_commit"] + interval)
    return {"phase": "fixed_rate", "events": events, "applications": found["applications"], "target_rate": rate, "batch": PRODUCER_BATCH,
            "offered_rate": round(offered, 1), "p50_ms": round(percentile(latencies, 0.50), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1), "max_ms": round(max(latencies), 1),
            "confirmed_p50_ms": round(percentile(found["published_ms"], 0.50), 1),
            "confirmed_p99_ms": round(percentile(found["published_ms"], 0.99), 1),
            "lost": found["lost"], "duplicated": found["duplicated"], "unexpected": found["unexpected"]}


async def measure(workers: list[Worker], backlog: int, rate: float, seconds: float, runs: int) -> dict[str, Any]:
    """``runs`` rounds of (saturation, fixed rate; ``rate`` 0: ``AUTO_RATE`` of the saturation throughput) against the
    running workers; their RSS after each round."""
    from rescueops.events.tables import ProcessedEvent

    phases, rss = [], []
    for round_ in range(runs):
        since = await ProcessedEvent.select(ProcessedEvent.id).order_by(ProcessedEvent.id, ascending=False).first()
        since_id = since["id"] if since else 0
        phases.append(await saturation(workers, backlog, since_id))
        since_id = (await ProcessedEvent.select(ProcessedEvent.id).order_by(ProcessedEvent.id, ascending=False).first())["id"]
        offered = rate or max(PRODUCER_BATCH, round(AUTO_RATE * phases[-1]["events_per_s"]))
        phases.append(await fixed_rate(offered, seconds, since_id, start=(round_ + 1) * 10_000_000))
        rss.append([common.rss_kib(worker.process.pid) for worker in workers])
    return {"phases": phases, "worker_rss_kib": rss}


async def child(args: argparse.Namespace) -> dict[str, Any]:
    from rescueops.db import engine

    db = engine.database()
    await engine.prepare(db)
    with tempfile.TemporaryDirectory(prefix="rescueops-bench-events-") as folder:
        workers = start_workers(Path(folder), args.workers, args.profile)
        try:
            result = await measure(workers, args.backlog, args.rate, args.seconds, args.runs)
        except Exception as error:  # say what the workers said: their logs go with the folder
            raise RuntimeError("\n".join(f"--- {w.log.name}\n{w.output()[-5000:]}" for w in workers)) from error
        finally:
            for worker in workers:
                worker.stop()
            await engine.release(db)
        if args.profile:
            result["profile"] = profile_text(workers[0].profile)
    return result


def profile_text(path: Path, top: int = 30) -> str:
    """The functions a worker spent its time in (own time first), from its cProfile file, after one line on the
    two that dominate a worker on a busy machine: sending on sockets (broker, database) and waiting for them."""
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out).strip_dirs()
    own = {name: (calls, seconds) for (_, _, name), (_, calls, seconds, _, _) in stats.stats.items()}  # type: ignore[attr-defined]
    sends, send_s = own.get("<method 'send' of '_socket.socket' objects>", (0, 0.0))
    _, wait_s = own.get("<method 'poll' of 'select.epoll' objects>", (0, 0.0))
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(f"Profiled worker: {total:.1f} s in all; {send_s:.1f} s ({send_s / total:.0%}) in {sends} socket sends "
              f"({1000 * send_s / max(sends, 1):.2f} ms each), {wait_s:.1f} s ({wait_s / total:.0%}) waiting in epoll.\n"
              f"{PROFILE_MARK}\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,4", help="worker set-ups to measure: 1 (--all) and/or 4 (one per region)")
    parser.add_argument("--backlog", type=int, default=20_000, help="events in the saturation phase")
    parser.add_argument("--rate", type=float, default=0.0,
                        help=f"offered events/s in the fixed-rate phase (0: {AUTO_RATE:.0%} of the saturation throughput)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the fixed-rate phase")
    parser.add_argument("--profile", action="store_true", help="also profile the worker (by default only when a target is missed)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the measuring process
    parser.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)  # rounds against the same workers (memory)
    args = parser.parse_args(argv)
    if args.child:
        args.workers = int(args.workers)
        print(json.dumps(asyncio.run(child(args))))
        return
    for workers in (int(w) for w in args.workers.split(",")):
        result = run(workers, backlog=args.backlog, rate=args.rate or None, seconds=args.seconds, profile=args.profile or None)
        print(f"events, {workers} worker(s): {result['events_per_s']:.0f} events/s at saturation; p50 {result['p50_ms']} ms, "
              f"p99 {result['p99_ms']} ms at {result['offered_rate']:.0f} events/s; lost {result['lost']}, "
              f"duplicated {result['duplicated']}")


if __name__ == "__main__":
    main()
