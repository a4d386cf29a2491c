"""The benchmark report (bench/report.py) from synthetic results, and a tiny real run of the events benchmark."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench import report

MACHINE = {"cpu": "Test CPU", "cores": 2, "ram_gib": 8.0, "kernel": "6.1", "python": "3.11", "postgresql": "15", "rabbitmq": "3.10"}


def endpoint(name: str, kind: str, rps: float, p99: float, method: str = "GET") -> dict:
    return {"name": name, "method": method, "path": f"/{name}", "kind": kind, "rps": rps, "p50_ms": p99 / 3, "p99_ms": p99,
            "errors": 0, "non2xx": 0}


def http(fraction: float, scan_p99: float, calendar_rps: float) -> dict:
    return {"fraction": fraction, "workers": 1, "connections": 32, "duration_s": 10, "warmup_s": 3, "started": "2026-12-03T10:00:00+00:00",
            "endpoints": [
                endpoint("constant", "constant", 1000, 5),
                endpoint("scan", "app", 500, scan_p99),  # 50 % of constant, 83 % of raw
                endpoint("scan.raw", "raw", 600, 10),
                endpoint("team_list", "app", 300, 20),  # 30 % of constant: below the 35 % target
                endpoint("team_list.raw", "raw", 400, 10),
                endpoint("drill_calendar", "app", calendar_rps, 15 if calendar_rps else 0),
                endpoint("log_append", "app", 200, 30, method="POST"),
            ], "rss_kib_after": [200_000, 240_000, 300_000]}


def events(workers: int, rate: float, p99: float) -> dict:
    phase = {"events": 1000, "applications": 2000, "lost": 0, "duplicated": 0}
    return {"workers": workers, "events": 2000, "events_per_s": rate, "p50_ms": p99 / 4, "p99_ms": p99, "offered_rate": 1000,
            "lost": 0, "duplicated": 0, "started": "2026-12-03T10:30:00+00:00",
            "saturation": {**phase, "drain_s": 1000 / rate, "events_per_s": rate, "published_per_s": rate,
                           "cpu_ms_per_event": {"worker": 0.4, "rabbitmq": 0.3, "postgresql": 0.1}},
            "fixed_rate": {**phase, "target_rate": 1000, "offered_rate": 1000, "p50_ms": p99 / 4, "p99_ms": p99, "max_ms": p99 * 2}}


def write(folder: Path, name: str, data: dict) -> None:
    (folder / f"{name}.json").write_text(json.dumps({"name": name, **data}), encoding="utf-8")


@pytest.fixture
def results(tmp_path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    write(folder, "run", {"command": "python -m bench --fractions 0.1,1.0", "started": "2026-12-03T09:00:00+00:00", "quick": False,
                          "machine": MACHINE, "parts": {"events": {"status": "measured", "command": "python -m bench", "seconds": 60},
                                                        "http": {"status": "measured", "fractions": [0.1, 1.0]}}})
    for fraction, label in ((0.1, "10"), (1.0, "100")):
        write(folder, f"dataset-{label}", {"fraction": fraction, "seed": 20261203, "rows": {"teams_team": int(3000 * fraction)},
                                           "load_seconds": {"members": 10 * fraction, "equipment": 20 * fraction},
                                           "total_seconds": 30 * fraction, "started": "2026-12-03T09:10:00+00:00"})
    write(folder, "http-10-w1", http(0.1, scan_p99=12, calendar_rps=700))
    write(folder, "http-100-w1", http(1.0, scan_p99=24, calendar_rps=0))  # the scan's p50 doubles: it grows; no calendar
    write(folder, "http-2-w1", http(0.02, scan_p99=1, calendar_rps=700))  # an older run's size, not the last run's
    write(folder, "grading", {"province": {"teams": 300, "seconds": 1.5, "queries": 17},
                              "country": {"teams": 3000, "seconds": 12.5, "queries": 17}})
    write(folder, "events-w1", events(1, 3200, 120))
    write(folder, "events-w4", events(4, 1800, 300))
    write(folder, "memory", {"api": [200_000, 240_000, 300_000], "worker": [100_000, 110_000, 110_500], "api_grows": True,
                             "worker_grows": False, "growth_limit": 0.05, "api_source": "http-100-w1"})
    write(folder, "jobs", {"fraction": 1.0, "started": "2026-12-03T11:00:00+00:00", "command": "python -m bench.jobs --fraction 1",
                           "jobs": [{"job": "equipment.remind_due_inspections", "every_s": 21600, "seconds": 4.5, "cpu_s": 3.25,
                                     "queries": 812, "outcome": "80 reminders sent", "rss_before_kib": 102_400, "peak_rss_kib": 153_600},
                                    {"job": "drills.release_injects", "every_s": 60, "seconds": 0.01, "cpu_s": 0.0, "queries": 1,
                                     "outcome": "0 injects released", "rss_before_kib": 102_400, "peak_rss_kib": 102_400}]})
    (folder / "events-w4-profile.txt").write_text("Events, 4 workers: RabbitMQ used 0.300 ms per event.\n\nncalls tottime\n 1 2.0 apply",
                                                  encoding="utf-8")
    return folder


def row(text: str, start: str) -> str:
    """The one table row starting with ``start``."""
    [line] = [line for line in text.splitlines() if line.startswith(start)]
    return line


def test_the_report_gives_each_figure_its_verdict(results, tmp_path) -> None:
    output = report.render(results, tmp_path / "docs" / "performance.md")
    text = output.read_text(encoding="utf-8")

    assert "| events | measured |" in text and "`python -m bench`" in text and "| CPU | Test CPU |" in text
    assert "quick smoke runs" not in text
    team_list = row(text, "| HTTP `team_list` (100 %")
    assert "30 % of constant, 75 % of raw" in team_list and "**not met** (< 35% of constant)" in team_list
    assert row(text, "| HTTP `scan` (100 %").endswith("| met |")
    assert "log_append" not in "".join(line for line in text.splitlines() if line.startswith("| HTTP"))  # writes: no ratio target
    assert "**not met**" in row(text, "| growth `scan`: p50 at 100 % ≤ 1.5 × p50 at 10 %") and "| 2 % |" not in text
    assert row(text, "| growth `team_list`").endswith("| met |")
    assert row(text, "| growth `drill_calendar`").endswith("| not measured (no clean answers at 100 %) |")
    assert "**not met** (< 35% of constant" in row(text, "| HTTP `drill_calendar` (100 %")
    assert "12.50 s, 17 queries | **not met** |" in row(text, "| country-wide grading")
    assert row(text, "| events, 1 worker").endswith("| met |")
    assert "1,800 < 3,000 events/s; p99 300 ≥ 250 ms" in row(text, "| events, 4 worker")
    assert row(text, "| api memory").endswith("| **not met** |") and row(text, "| worker memory").endswith("| met |")
    assert "RabbitMQ used 0.300 ms per event." in text  # the profile's explanation, under the targets
    assert "| `team_list` | app | `GET /team_list` | 300.0 |" in text  # the HTTP table row, with its ratios
    assert "![latency vs data size](performance-latency.png)" in text
    assert row(text, "| `equipment.remind_due_inspections`") == ("| `equipment.remind_due_inspections` | 6 h | 4.50 | 3.25 | 812 | 100 "
                                                                  "| 150 | 50 | 80 reminders sent |")
    assert row(text, "| `drills.release_injects`").startswith("| `drills.release_injects` | 1 min |")

    png = output.with_name("performance-latency.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_missing_parts_are_reported_not_measured(tmp_path) -> None:
    empty = tmp_path / "results"
    empty.mkdir()
    output = report.render(empty, tmp_path / "docs" / "performance.md")
    text = output.read_text(encoding="utf-8")

    for section in ("Data set", "HTTP", "Growth with data size", "Grading", "Events", "Memory", "Scheduled jobs"):
        assert f"## {section}\n\nnot measured." in text
    assert row(text, "| country-wide grading").endswith("| not measured |")
    assert not output.with_name("performance-latency.png").exists()


async def test_a_tiny_events_run_loses_and_duplicates_nothing(amqp_url, engine_name) -> None:
    """Real worker, real RabbitMQ (the test vhost, queues purged), a throwaway PostgreSQL database."""
    if engine_name != "postgres":
        pytest.skip("the events benchmark runs on PostgreSQL; it runs in the PostgreSQL pass")
    from bench import events as pipeline

    measured = await asyncio.to_thread(pipeline.measured_once, 1, 300, 300.0, 1.0, amqp_url=amqp_url)
    saturation, fixed = measured["phases"]

    for phase in (saturation, fixed):
        assert phase["applications"] == 2 * phase["events"]  # notifications and audit of the event's hub
        assert (phase["lost"], phase["duplicated"], phase["unexpected"]) == (0, 0, 0)
    assert saturation["events"] == 300 and fixed["events"] == 300
    assert 0 < fixed["p50_ms"] <= fixed["p99_ms"] <= fixed["max_ms"]
    assert measured["worker_rss_kib"][0][0] > 0
