"""Memory: resident memory of a worker across repeated event runs, and of the api across the repeated HTTP rounds.

    python -m bench.memory [--runs 5] [--backlog 5000] [--rate 0] [--seconds 10]

The worker side is measured here: one ``rescueops worker --all`` takes ``runs`` rounds of the events benchmark
(a saturating backlog, then a fixed rate; bench/events.py) and its RSS (with its children) is read after each.
The api side was measured by the HTTP benchmark, which reads the server's RSS after each of its rounds
(``rss_kib_after`` of ``http-<pct>-w1.json``, the largest data set measured). The first rounds warm allocator
arenas, caches and connection pools, so RSS climbs and then levels off; no growth means the last round added
less than ``GROWTH_LIMIT`` to the RSS after the round before it.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from bench import common, events

GROWTH_LIMIT = 0.02  # share of the RSS the last round may add and still count as no growth


def grows(rss: list[int]) -> bool | None:
    """Whether the last round added more than ``GROWTH_LIMIT`` to the RSS; None with fewer than 2 rounds."""
    if len(rss) < 2:
        return None
    return rss[-1] - rss[-2] > GROWTH_LIMIT * rss[-2]


def api_rss() -> tuple[str | None, list[int]]:
    """The api's RSS after each HTTP round, from the largest data set's one-worker run: (result name, figures)."""
    runs = sorted((int(m.group(1)), path.stem) for path in common.RESULTS.glob("http-*-w1.json")
                  if (m := re.fullmatch(r"http-(\d+)-w1", path.stem)))
    if not runs:
        return None, []
    name = runs[-1][1]
    return name, list((common.read_result(name) or {}).get("rss_kib_after", []))


def run(runs: int = 5, *, backlog: int = 5_000, rate: float | None = None, seconds: float = 10.0) -> dict[str, Any]:
    """Measure the worker over ``runs`` event rounds, collect the api's figures; writes ``memory.json``."""
    started, clock = common.now(), time.monotonic()
    with events.throwaway("rescueops_bench_memory") as (url, amqp_url):
        measured = events.run_child(url, amqp_url, ["--workers", "1", "--backlog", str(backlog), "--rate", str(rate or 0),
                                                     "--seconds", str(seconds), "--runs", str(runs)])
    worker = [round_[0] for round_ in measured["worker_rss_kib"]]
    source, api = api_rss()
    result = {
        "started": started, "seconds": round(time.monotonic() - clock, 1), "api": api, "api_source": source,
        "worker": worker, "worker_rounds": {"backlog": backlog, "rate": rate, "seconds": seconds},
        "lost": sum(phase["lost"] for phase in measured["phases"]),
        "duplicated": sum(phase["duplicated"] for phase in measured["phases"]),
        "growth_limit": GROWTH_LIMIT, "api_grows": grows(api), "worker_grows": grows(worker),
    }
    common.write_result("memory", result)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backlog", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=0.0, help="fixed-rate events/s (0: half the saturation throughput)")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    result = run(args.runs, backlog=args.backlog, rate=args.rate or None, seconds=args.seconds)
    print(f"worker RSS after each round (KiB): {result['worker']}; api ({result['api_source']}): {result['api']}")


if __name__ == "__main__":
    main()
