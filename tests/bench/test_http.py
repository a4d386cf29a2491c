"""The HTTP benchmark's arithmetic: wrk's result line, the ratios and targets, where a profile's time goes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench import http

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8110
  2 threads and 32 connections
  Latency Distribution
     50%    4.10ms
     99%   38.00ms
  51200 requests in 10.00s, 9.1MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   5120.00
BENCH {"requests": 51200, "duration_us": 10000000, "p50_us": 4100, "p90_us": 9000, "p99_us": 38000, "max_us": 90000, \
"connect": 0, "read": 1, "write": 0, "timeout": 2, "non2xx": 3}
"""


def test_the_result_line_of_wrk() -> None:
    assert http.parse_wrk(WRK_OUTPUT) == {"rps": 5120.0, "p50_ms": 4.1, "p99_ms": 38.0, "max_ms": 90.0, "requests": 51200,
                                          "errors": 3, "non2xx": 3}
    with pytest.raises(RuntimeError, match="no result line"):
        http.parse_wrk("unable to connect to 127.0.0.1:8110 Connection refused")


def entry(name: str, kind: str, rps: float, p99: float = 10.0, **extra) -> dict:
    return {"name": name, "kind": kind, "rps": rps, "p99_ms": p99, "errors": 0, "non2xx": 0, **extra}


def test_ratios_to_the_constant_and_the_raw_twin() -> None:
    endpoints = http.with_ratios([
        entry("constant", "constant", 4000), entry("scan", "app", 2000), entry("scan.raw", "raw", 2500),
        entry("team_list", "app", 1000), entry("team_list.raw", "raw", 2000),
        entry("log_append", "app", 1600, p99=60.0), entry("check_in", "app", 1500, non2xx=1),
    ])
    by_name = {e["name"]: e for e in endpoints}
    assert (by_name["scan"]["vs_constant"], by_name["scan"]["vs_raw"], by_name["scan"]["meets_targets"]) == (0.5, 0.8, True)
    assert (by_name["team_list"]["vs_raw"], by_name["team_list"]["meets_targets"]) == (0.5, False)  # under 60 % of raw
    assert by_name["log_append"]["vs_raw"] is None and by_name["log_append"]["meets_targets"] is False  # p99 over 50 ms
    assert by_name["check_in"]["meets_targets"] is False  # an answer that was not 2xx
    assert "vs_constant" not in by_name["scan.raw"]


def test_the_median_round_per_endpoint() -> None:
    rounds = [[entry("constant", "constant", c), entry("scan", "app", s)] for c, s in ((4000, 900), (3000, 1100), (5000, 1000))]
    picked = {e["name"]: e["rps"] for e in http._median_round(rounds)}
    assert picked == {"constant": 4000, "scan": 1000}


def test_a_builtins_time_goes_to_its_callers() -> None:
    stats = SimpleNamespace(stats={
        ("~", 0, "<built-in method builtins.dir>"): (9, 9, 0.6, 0.6, {
            ("/venv/site-packages/piccolo/columns/column_types.py", 2263, "__getattribute__"): (8, 8, 0.5, 0.5),
            ("/work/src/rescueops/teams/service.py", 10, "team_row"): (1, 1, 0.1, 0.1),
        }),
        ("/work/src/rescueops/teams/service.py", 10, "team_row"): (1, 1, 0.2, 1.0, {}),
        ("/venv/site-packages/jinja2/runtime.py", 1, "call"): (1, 1, 0.3, 0.3, {}),
    })
    areas = http.cpu_by_area(stats)
    assert areas == pytest.approx({"Piccolo: building the SQL of each query, rows to dicts": 0.5,
                                   "the app's own code (services, auth, pages)": 0.3, "templates (Jinja2, MarkupSafe)": 0.3})
