"""Whether an api process runs the scheduled jobs: by default it does (``make run`` has no worker), and with
``RESCUEOPS_API_RUNS_JOBS=false`` (compose, where the hub workers run them) it makes no runs at all: the real server
on an SQLite database of its own, whose run records are read after start-up."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.live_server import run_cli, serving

QUIET_SECONDS = 3  # how long a server told not to run jobs is watched for a run


def _runs(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM jobs_run").fetchone()[0]


def _runs_after_start(tmp_path: Path, runs_jobs: str) -> int:
    """Run records once the server's start-up runs are made (just after it is up), or after QUIET_SECONDS without any."""
    database = tmp_path / f"jobs-{runs_jobs}.db"
    env = {**os.environ, "RESCUEOPS_DATABASE_URL": f"sqlite:///{database}", "RESCUEOPS_VAR_DIR": str(tmp_path / "var"),
           "RESCUEOPS_AMQP_URL": "", "RESCUEOPS_API_RUNS_JOBS": runs_jobs, "RESCUEOPS_LOG_LEVEL": "WARNING"}
    run_cli(env, "db", "upgrade")
    with serving(env):
        deadline = time.monotonic() + QUIET_SECONDS
        while not _runs(database) and time.monotonic() < deadline:
            time.sleep(0.2)
        return _runs(database)


@pytest.mark.parametrize(("runs_jobs", "some"), [("true", True), ("false", False)])
def test_an_api_process_runs_the_jobs_unless_told_not_to(tmp_path: Path, engine_name: str, runs_jobs: str, some: bool) -> None:
    if engine_name != "sqlite":
        pytest.skip("a server process on an SQLite file of its own: it runs in the SQLite pass")
    assert (_runs_after_start(tmp_path, runs_jobs) > 0) is some
