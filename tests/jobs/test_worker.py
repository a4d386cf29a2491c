"""The worker process: refuses an unmigrated database, runs until SIGTERM, then stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.db.test_migrations import empty_database, rescueops  # noqa: F401 - the fixture is used by name


def test_worker_checks_migrations_and_stops_on_sigterm(empty_database: str) -> None:  # noqa: F811
    unmigrated = rescueops("worker", "--check", url=empty_database)
    assert unmigrated.returncode == 2 and "rescueops db upgrade" in unmigrated.stderr
    assert rescueops("db", "upgrade", url=empty_database).returncode == 0
    assert rescueops("worker", "--check", url=empty_database).stdout.strip() == "ok"

    env = {**os.environ, "RESCUEOPS_DATABASE_URL": empty_database}
    worker = subprocess.Popen([sys.executable, "-m", "rescueops", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    line = worker.stdout.readline()
    assert "worker running" in line, worker.stderr.read() if worker.poll() is not None else line
    assert time.monotonic() < deadline
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0 and "worker stopped" in out
