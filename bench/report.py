"""The report: docs/performance.md and docs/performance-latency.png, rendered from bench/results/*.json.

    python -m bench.report [--results bench/results] [--output docs/performance.md]

Nothing in the report is typed by hand: every figure, verdict and explanation comes from a results file (the
machine and the command from ``run.json``, the profiles' explanations from ``*-profile.txt``). A part without
results is shown as not measured.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench import common
from bench.events import PROFILE_MARK

DOCS = common.ROOT / "docs"
HTTP_TARGETS = {"vs_constant": 0.35, "vs_raw": 0.60, "p99_ms": 50.0}  # issue 8, for the read endpoints
GRADING_TARGET_S = 10.0  # country-wide evaluation
EVENTS_TARGETS = {"events_per_s": 3000, "p99_ms": 250.0}
GROWTH_LIMIT = 1.5  # a read endpoint's p50 at the largest data set over its p50 at the smallest: above this it "grows"
MET, NOT_MET, NOT_MEASURED = "met", "**not met**", "not measured"


# --- reading the results ---------------------------------------------------------------------------


def load(results: Path) -> dict[str, Any]:
    """Every result file in ``results``, by name (without .json); the profiles as ``{name: text}``."""
    found = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(results.glob("*.json"))}
    found["profiles"] = {path.stem: path.read_text(encoding="utf-8") for path in sorted(results.glob("*-profile.txt"))}
    return found


def _numbered(found: dict[str, Any], pattern: str) -> list[dict[str, Any]]:
    """The results whose names match ``pattern`` (one numeric group, then optional more), in numeric order."""
    picked = []
    for name, result in found.items():
        match = re.fullmatch(pattern, name)
        if match:
            picked.append((tuple(int(g) for g in match.groups()), result))
    return [result for _, result in sorted(picked, key=lambda pair: pair[0])]


def _of_last_run(found: dict[str, Any], part: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results of the sizes ``python -m bench`` last ran ``part`` for (others in the folder are older runs')."""
    fractions = ((found.get("run") or {}).get("parts", {}).get(part) or {}).get("fractions")
    return results if fractions is None else [r for r in results if r.get("fraction") in fractions]


def datasets(found: dict[str, Any]) -> list[dict[str, Any]]:
    return _of_last_run(found, "data", _numbered(found, r"dataset-(\d+)"))


def http_runs(found: dict[str, Any]) -> list[dict[str, Any]]:
    """HTTP results by data-set size, then server processes."""
    return _of_last_run(found, "http", _numbered(found, r"http-(\d+)-w(\d+)"))


def pct(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# --- verdicts ----------------------------------------------------------------------------------------


def is_read(entry: dict[str, Any]) -> bool:
    return entry.get("kind") == "app" and entry.get("method") == "GET"


def http_verdict(entry: dict[str, Any], endpoints: list[dict[str, Any]], targets: dict[str, float]) -> tuple[str, dict[str, Any]]:
    """Whether a read endpoint meets the targets in its run, with its ratios; writes have no ratio target."""
    by_name = {e["name"]: e for e in endpoints}
    constant = by_name.get("constant", {}).get("rps")
    raw = by_name.get(f"{entry['name']}.raw", {}).get("rps")
    ratios = {"vs_constant": entry["rps"] / constant if constant else None, "vs_raw": entry["rps"] / raw if raw else None}
    if not is_read(entry):
        return "not a target (write)", ratios
    missed = []
    if ratios["vs_constant"] is None or ratios["vs_constant"] < targets["vs_constant"]:
        missed.append(f"< {targets['vs_constant']:.0%} of constant")
    if ratios["vs_raw"] is not None and ratios["vs_raw"] < targets["vs_raw"]:
        missed.append(f"< {targets['vs_raw']:.0%} of raw")
    if entry["p99_ms"] >= targets["p99_ms"]:
        missed.append(f"p99 ≥ {targets['p99_ms']:g} ms")
    if entry.get("errors") or entry.get("non2xx"):
        missed.append("errors")
    return (MET if not missed else f"{NOT_MET} ({', '.join(missed)})"), ratios


def growth(runs: list[dict[str, Any]]) -> dict[str, list[tuple[float, dict[str, Any]]]]:
    """Per app endpoint, (fraction, entry) of every one-process HTTP run, smallest data set first."""
    curves: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for run in runs:
        if run.get("workers") != 1:
            continue
        for entry in run["endpoints"]:
            if entry.get("kind") == "app":
                curves.setdefault(entry["name"], []).append((run["fraction"], entry))
    return curves


def growth_verdict(curve: list[tuple[float, dict[str, Any]]]) -> tuple[str, float | None]:
    """Whether p50 stayed within ``GROWTH_LIMIT`` from the smallest to the largest data set; a size where the
    endpoint answered nothing (or only errors) has no latency to compare."""
    if len(curve) < 2:
        return NOT_MEASURED + " (one data-set size)", None
    silent = [fraction for fraction, entry in curve if not entry["rps"] or not entry["p50_ms"] or entry.get("errors")]
    if silent:
        return f"{NOT_MEASURED} (no clean answers at {', '.join(pct(f) for f in silent)})", None
    ratio = curve[-1][1]["p50_ms"] / curve[0][1]["p50_ms"]
    return (MET if ratio <= GROWTH_LIMIT else NOT_MET), ratio


def events_verdict(result: dict[str, Any] | None) -> str:
    if result is None:
        return NOT_MEASURED
    missed = []
    if result["events_per_s"] < EVENTS_TARGETS["events_per_s"]:
        missed.append(f"{result['events_per_s']:,.0f} < {EVENTS_TARGETS['events_per_s']:,} events/s")
    if result["p99_ms"] >= EVENTS_TARGETS["p99_ms"]:
        missed.append(f"p99 {result['p99_ms']:g} ≥ {EVENTS_TARGETS['p99_ms']:g} ms")
    if result["lost"] or result["duplicated"]:
        missed.append(f"lost {result['lost']}, duplicated {result['duplicated']}")
    return MET if not missed else f"{NOT_MET} ({'; '.join(missed)})"


def memory_verdict(grows: bool | None) -> str:
    return NOT_MEASURED if grows is None else NOT_MET if grows else MET


# --- sections ------------------------------------------------------------------------------------------


def header(found: dict[str, Any]) -> str:
    run = found.get("run") or {}
    machine = run.get("machine") or common.machine()
    started = [r.get("started") for r in found.values() if isinstance(r, dict) and r.get("started")]
    lines = [
        "# Performance",
        "",
        "Generated by `python -m bench.report` from `bench/results/*.json` (`make bench` runs everything and then this); "
        "do not edit by hand. Every figure below was measured on this machine by the command shown.",
        "",
        f"- Measured: {min(started) if started else 'never'} to {max(started) if started else 'never'} (UTC)",
        f"- Rendered after: `{run.get('command', 'not recorded')}`; each part's command is in the table below",
        *(["- **Some parts are quick smoke runs (tiny data, short runs): their figures are not measurements**"]
          if any(part.get("quick") for part in (run.get("parts") or {}).values()) else []),
        "",
        table(["machine", ""], [["CPU", machine.get("cpu")], ["cores", machine.get("cores")], ["RAM", f"{machine.get('ram_gib')} GiB"],
                                ["kernel", machine.get("kernel")], ["Python", machine.get("python")],
                                ["PostgreSQL", machine.get("postgresql")], ["RabbitMQ", machine.get("rabbitmq")]]),
    ]
    parts = run.get("parts") or {}
    if parts:
        lines += ["", table(["part", "outcome", "when", "seconds", "command"], [
            [name, part["status"] + (" (quick)" if part.get("quick") else "") + (f": {part['error'][:200]}" if part.get("error") else ""),
             part.get("started", ""), fmt(part.get("seconds"), 0), f"`{part.get('command', '')}`"] for name, part in parts.items()])]
    return "\n".join(lines)


def targets_section(found: dict[str, Any]) -> str:
    rows = []
    runs = http_runs(found)
    reference = max((r for r in runs if r.get("workers") == 1), key=lambda r: r["fraction"], default=None)
    if reference is None:
        rows.append(["HTTP read endpoints: ≥ 35 % of constant, ≥ 60 % of raw, p99 < 50 ms at 32 connections", "—", NOT_MEASURED])
    else:
        targets = reference.get("targets") or HTTP_TARGETS
        for entry in reference["endpoints"]:
            if not is_read(entry):
                continue
            verdict, ratios = http_verdict(entry, reference["endpoints"], targets)
            rows.append([f"HTTP `{entry['name']}` ({pct(reference['fraction'])}, 1 process, {reference.get('connections')} connections)",
                         f"{fmt(100 * ratios['vs_constant'] if ratios['vs_constant'] is not None else None, 0)} % of constant, "
                         f"{fmt(100 * ratios['vs_raw'] if ratios['vs_raw'] is not None else None, 0)} % of raw, "
                         f"p99 {fmt(entry['p99_ms'], 1)} ms", verdict])
    for name, curve in growth(runs).items():
        if curve and is_read(curve[0][1]):
            verdict, ratio = growth_verdict(curve)
            rows.append([f"growth `{name}`: p50 at {pct(curve[-1][0])} ≤ {GROWTH_LIMIT:g} × p50 at {pct(curve[0][0])}",
                         f"× {fmt(ratio, 2)}", verdict])
    grading = found.get("grading")
    country = (grading or {}).get("country")
    rows.append([f"country-wide grading < {GRADING_TARGET_S:g} s" + (f" ({pct(grading['fraction'])} data set)" if grading and "fraction" in grading else ""),
                 f"{fmt(country['seconds'], 2)} s, {country['queries']} queries" if country else "—",
                 NOT_MEASURED if not country else MET if country["seconds"] < GRADING_TARGET_S else NOT_MET])
    for workers in (1, 4):
        result = found.get(f"events-w{workers}")
        rows.append([f"events, {workers} worker process(es): ≥ {EVENTS_TARGETS['events_per_s']:,} events/s with confirms, "
                     f"p99 commit→apply < {EVENTS_TARGETS['p99_ms']:g} ms, none lost or duplicated",
                     f"{result['events_per_s']:,.0f} events/s; p99 {result['p99_ms']:g} ms at {result['offered_rate']:,.0f}/s; "
                     f"lost {result['lost']}, duplicated {result['duplicated']}" if result else "—", events_verdict(result)])
    memory = found.get("memory") or {}
    for process in ("api", "worker"):
        rss = memory.get(process) or []
        rows.append([f"{process} memory: no growth across repeated runs", " → ".join(f"{kib / 1024:.0f} MiB" for kib in rss) or "—",
                     memory_verdict(memory.get(f"{process}_grows") if rss else None)])
    lines = ["## Targets", "", table(["target", "measured", "verdict"], rows)]
    profiles = found.get("profiles") or {}
    if profiles:
        lines += ["", "### Where the time goes (profiles)", ""]
        for name, text in profiles.items():
            # The explanation: what comes before the profile mark (bench.events writes one), else the first paragraph.
            mark = f"\n{PROFILE_MARK}\n"
            explanation, _, detail = text.strip().partition(mark if mark in text else "\n\n")
            lines += [f"**{name}**", "", explanation, ""]
            if detail:
                lines += ["<details><summary>profile</summary>", "", "```", detail.strip(), "```", "", "</details>", ""]
    return "\n".join(lines).rstrip()


def data_section(found: dict[str, Any]) -> str:
    loads = datasets(found)
    if not loads:
        return "## Data set\n\n" + NOT_MEASURED + "."
    counted = ["orgs_unit", "teams_team", "members_person", "members_membership", "members_certificate", "equipment_item",
               "equipment_inspection", "equipment_movement", "drills_drill", "drills_attendance", "deployments_deployment",
               "deployments_log"]
    rows = [[table_name, *(fmt(d["rows"].get(table_name), 0) for d in loads)] for table_name in counted]
    phases = list(dict.fromkeys(phase for d in loads for phase in d["load_seconds"]))
    timing = [[phase, *(fmt(d["load_seconds"].get(phase), 1) for d in loads)] for phase in phases]
    timing.append(["**total**", *(f"**{fmt(d['total_seconds'], 1)}**" for d in loads)])
    sizes = [pct(d["fraction"]) for d in loads]
    return "\n".join([
        "## Data set", "",
        "Generated deterministically (seed " + ", ".join(sorted({str(d.get("seed")) for d in loads})) + ") and loaded into "
        "PostgreSQL by `python -m bench.dataset`; one database per size.", "",
        "Rows per table:", "", table(["table", *sizes], rows), "",
        "Load time per phase (seconds):", "", table(["phase", *sizes], timing),
    ])


def http_section(found: dict[str, Any]) -> str:
    runs = http_runs(found)
    if not runs:
        return "## HTTP\n\n" + NOT_MEASURED + "."
    lines = ["## HTTP", "",
             "wrk on loopback; in the same run as each endpoint, a minimal endpoint returning a constant and a minimal "
             "endpoint running the same SQL with raw asyncpg (`bench/server.py`). Ratios are rps over theirs."]
    for run in runs:
        targets = run.get("targets") or HTTP_TARGETS
        rows = []
        for entry in run["endpoints"]:
            verdict, ratios = http_verdict(entry, run["endpoints"], targets) if entry.get("kind") == "app" else ("", {})
            rows.append([f"`{entry['name']}`", entry.get("kind", ""), f"`{entry.get('method', '')} {entry.get('path', '')}`",
                         fmt(entry["rps"]), fmt(entry["p50_ms"], 2), fmt(entry["p99_ms"], 2),
                         fmt(ratios.get("vs_constant"), 2) if ratios else "", fmt(ratios.get("vs_raw"), 2) if ratios else "",
                         f"{entry.get('errors', 0)}/{entry.get('non2xx', 0)}", verdict])
        lines += ["", f"### {pct(run['fraction'])} of the data set, {run['workers']} server process(es)", "",
                  f"{run.get('connections')} connections, {fmt(run.get('duration_s'), 0)} s per measured run after a "
                  f"{fmt(run.get('warmup_s'), 0)} s warm-up; measured {run.get('started')}.", "",
                  table(["endpoint", "kind", "request", "rps", "p50 ms", "p99 ms", "× constant", "× raw", "errors/non-2xx",
                         "targets"], rows)]
    return "\n".join(lines)


def growth_section(found: dict[str, Any], plot: Path | None) -> str:
    curves = growth(http_runs(found))
    if not curves:
        return "## Growth with data size\n\n" + NOT_MEASURED + "."
    sizes = sorted({fraction for curve in curves.values() for fraction, _ in curve})
    rows = []
    for name, curve in curves.items():
        at = dict(curve)
        verdict, ratio = growth_verdict(curve) if is_read(curve[0][1]) else ("not a target (write)", None)
        rows.append([f"`{name}`", *(f"{fmt(at[s]['p50_ms'], 2)} / {fmt(at[s]['p99_ms'], 2)}" if s in at else "—" for s in sizes),
                     fmt(ratio, 2), verdict])
    lines = ["## Growth with data size", "",
             f"p50 / p99 in ms, one server process. A read endpoint passes when its p50 at the largest size is at most "
             f"{GROWTH_LIMIT:g} × its p50 at the smallest.", "",
             table(["endpoint", *(pct(s) for s in sizes), "p50 growth", "verdict"], rows)]
    if plot is not None:
        lines += ["", f"![latency vs data size]({plot.name})"]
    return "\n".join(lines)


def draw(found: dict[str, Any], path: Path) -> Path | None:
    """p50 (solid) and p99 (dashed) against data size per endpoint, one server process; None without HTTP results."""
    curves = growth(http_runs(found))
    if not curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 5.5), dpi=110)
    for index, (name, curve) in enumerate(curves.items()):
        color = f"C{index % 10}"
        x = [100 * fraction for fraction, _ in curve]
        axes.plot(x, [e["p50_ms"] for _, e in curve], marker="o", color=color, label=f"{name} p50")
        axes.plot(x, [e["p99_ms"] for _, e in curve], marker="x", linestyle="--", color=color, label=f"{name} p99")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("data set size (% of national scale)")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Latency vs data size (1 server process)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
    return path


def grading_section(found: dict[str, Any]) -> str:
    grading = found.get("grading")
    if not grading:
        return "## Grading\n\n" + NOT_MEASURED + "."
    rows = [[scope, fmt(grading[scope].get("teams"), 0), fmt(grading[scope].get("evaluations"), 0), fmt(grading[scope].get("seconds"), 2),
             fmt(grading[scope].get("queries"), 0)] for scope in ("province", "country") if grading.get(scope)]
    return "\n".join(["## Grading", "",
                      f"Evaluation on the records of every team of a province ({grading.get('province_code', '?')}) and of the "
                      f"country, on the {pct(grading.get('fraction', 1.0))} data set (median of {grading.get('repeats', 1)} "
                      f"run(s)), through `grading.service`; measured {grading.get('started')} by `{grading.get('command', '')}`.", "",
                      table(["scope", "teams", "evaluations", "seconds", "queries"], rows)])


def events_section(found: dict[str, Any]) -> str:
    results = [found[name] for name in ("events-w1", "events-w4") if name in found]
    if not results:
        return "## Events\n\n" + NOT_MEASURED + "."
    throughput = [[r["workers"], fmt(r["saturation"]["events"], 0), fmt(r["saturation"]["drain_s"], 2), fmt(r["events_per_s"], 0),
                   fmt(r["saturation"].get("published_per_s"), 0),
                   ", ".join(f"{part} {ms:.3f}" for part, ms in r["saturation"].get("cpu_ms_per_event", {}).items()),
                   f"{r['saturation']['lost']}/{r['saturation']['duplicated']}"] for r in results]
    latency = [[r["workers"], fmt(r["fixed_rate"]["target_rate"], 0), fmt(r["offered_rate"], 0), fmt(r["fixed_rate"]["events"], 0),
                f"{fmt(r['fixed_rate'].get('confirmed_p50_ms'), 1)} / {fmt(r['fixed_rate'].get('confirmed_p99_ms'), 1)}",
                fmt(r["p50_ms"], 1), fmt(r["p99_ms"], 1), fmt(r["fixed_rate"]["max_ms"], 1),
                f"{r['fixed_rate']['lost']}/{r['fixed_rate']['duplicated']}"] for r in results]
    return "\n".join([
        "## Events", "",
        "Outbox → RabbitMQ (publisher confirms, quorum queues) → consumers, through `rescueops worker` processes "
        "(1: `--all`; 4: one `--region` each) on a throwaway database and vhost (`python -m bench.events`). The events "
        "are `notification.sent` written by `events.service.emit`, spread over the four hub regions; each reaches two "
        "queues of its hub (notifications, audit), so every event is applied twice.", "",
        "**Throughput at saturation**: a backlog committed in one transaction, drained; events/s = events / (last apply − commit). "
        "CPU is per event, in ms, while it drained (RabbitMQ is the whole broker).", "",
        table(["workers", "events", "drain s", "events/s", "published/s", "CPU ms per event", "lost/duplicated"], throughput), "",
        f"**Latency below saturation**: batches of {results[0]['fixed_rate'].get('batch', '?')} events committed at a fixed "
        "offered rate (unless given, half the saturation throughput just measured); latency = the consumer's "
        "`events_processed.processed_at` − the producer's clock when its COMMIT returned, over every (event, consumer).", "",
        table(["workers", "target rate/s", "offered rate/s", "events", "commit→confirmed p50 / p99 ms", "commit→apply p50 ms",
               "p99 ms", "max ms", "lost/duplicated"], latency),
    ])


def memory_section(found: dict[str, Any]) -> str:
    memory = found.get("memory")
    if not memory:
        return "## Memory\n\n" + NOT_MEASURED + "."
    rows = []
    rounds = memory.get("worker_rounds") or {}
    worker = (f"events rounds of a {fmt(rounds.get('backlog'), 0)}-event backlog then {fmt(rounds.get('seconds'), 0)} s at a fixed "
              "rate, one `--all` worker")
    for process, source in (("api", f"HTTP rounds of `{memory.get('api_source')}`"), ("worker", worker)):
        rss = memory.get(process) or []
        rows.append([process, source, " → ".join(f"{kib / 1024:.1f}" for kib in rss) or "—",
                     memory_verdict(memory.get(f"{process}_grows") if rss else None)])
    return "\n".join(["## Memory", "",
                      f"Resident memory (MiB, with child processes) after each round. The first rounds warm allocator arenas, "
                      f"caches and pools; no growth: the last round adds less than {memory.get('growth_limit', 0.02):.0%} to the "
                      f"round before.", "",
                      table(["process", "rounds", "RSS after each round (MiB)", "verdict"], rows)])


def jobs_section(found: dict[str, Any]) -> str:
    jobs = found.get("jobs")
    if not jobs:
        return "## Scheduled jobs\n\n" + NOT_MEASURED + "."
    rows = [[f"`{job['job']}`", _every(job["every_s"]), fmt(job["seconds"], 2), fmt(job["cpu_s"], 2), fmt(job["queries"], 0),
             fmt(job["rss_before_kib"] / 1024, 0), fmt(job["peak_rss_kib"] / 1024, 0),
             fmt((job["peak_rss_kib"] - job["rss_before_kib"]) / 1024, 0), job["outcome"]] for job in jobs["jobs"]]
    return "\n".join(["## Scheduled jobs", "",
                      f"Each job of `jobs.service.JOBS` run once on the {pct(jobs.get('fraction', 1.0))} data set, each in a fresh "
                      f"process of its own (`{jobs.get('command', 'python -m bench.jobs')}`, measured {jobs.get('started')}). The jobs run "
                      "inside the api and worker processes, so a job's peak above the app's own memory is what it adds to the process "
                      "that claims its slot.", "",
                      table(["job", "every", "seconds", "CPU s", "queries", "app MiB before", "peak MiB", "added MiB", "outcome"], rows)])


def _every(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


REPRODUCE = """## How to reproduce

    make bench                                   # installs wrk and the bench extra, runs everything, writes this file
    .venv/bin/python -m bench --quick            # a smoke run on tiny data sets (not a measurement)
    .venv/bin/python -m bench --only events,memory,report
    .venv/bin/python -m bench.dataset --fraction 0.1
    .venv/bin/python -m bench.http --fractions 0.1,0.3,1.0
    .venv/bin/python -m bench.events --workers 1,4 --backlog 20000 --seconds 20   # --rate N to fix the offered rate
    .venv/bin/python -m bench.memory --runs 5 --backlog 5000
    .venv/bin/python -m bench.jobs --fraction 1.0    # after the HTTP run: the jobs write reminders and readiness
    .venv/bin/python -m bench.report             # re-render from bench/results/*.json

PostgreSQL (127.0.0.1:5432) and RabbitMQ (127.0.0.1:5672, guest) must be running; the results of each part are
in `bench/results/` (git-ignored)."""


def render(results: Path = common.RESULTS, output: Path = DOCS / "performance.md") -> Path:
    """Write the report (and its plot next to it) from the results in ``results``; returns the report's path."""
    found = load(results)
    output.parent.mkdir(parents=True, exist_ok=True)
    plot = draw(found, output.with_name("performance-latency.png"))
    sections = [header(found), targets_section(found), data_section(found), http_section(found), growth_section(found, plot),
                grading_section(found), events_section(found), memory_section(found), jobs_section(found), REPRODUCE]
    output.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=common.RESULTS)
    parser.add_argument("--output", type=Path, default=DOCS / "performance.md")
    args = parser.parse_args(argv)
    print(f"wrote {render(args.results, args.output)}")


if __name__ == "__main__":
    main()
