"""Helpers every benchmark shares: result files, the machine, the bench databases and the server under test.

Importing this module does not import ``rescueops``: the app reads its settings once, from the environment,
so a benchmark sets ``bench_env(url)`` (or ``os.environ``) before the app is imported or started.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import json
import os
import platform
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
# The server the bench databases live on (trust auth, as on this machine); override for another one.
POSTGRES = os.environ.get("RESCUEOPS_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
# One fixed key for the loader and every server it is measured with: ID numbers are encrypted and card
# tokens signed with keys derived from it, so a server with another key could not read the data set.
SECRET_KEY = "rescueops-bench-secret-key-not-for-production-0123456789abcdef"
SEED = 20261203
READY_TIMEOUT_S = 90.0


def now() -> str:
    """The time a benchmark started, for its result file."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- results ---------------------------------------------------------------------------------------


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` (pretty, UTF-8); returns its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"name": name, **data}, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


def read_result(name: str) -> dict[str, Any] | None:
    """The result ``name`` (without ``.json``), or None when that benchmark has not been run."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# --- the machine -----------------------------------------------------------------------------------


def _command_output(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unavailable"
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "unavailable"


def _proc_field(path: str, field: str) -> str:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, RAM, kernel, Python, PostgreSQL and RabbitMQ versions."""
    mem_kib = _proc_field("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": _proc_field("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem_kib) / 1024**2, 1) if mem_kib.isdigit() else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": _run_admin(_fetch_value("SHOW server_version")),
        "rabbitmq": _command_output("rabbitmqctl", "-q", "version"),
    }


# --- databases -------------------------------------------------------------------------------------


def bench_db_url(pct: int | str) -> str:
    """The bench database of one data-set size, e.g. ``bench_db_url(10)`` -> …/rescueops_bench_10."""
    return database_url(f"rescueops_bench_{pct}")


def database_url(name: str) -> str:
    return f"{POSTGRES.rstrip('/')}/{name}"


def _name_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _run_admin(work: Any) -> Any:
    """Run a coroutine on the maintenance database in its own thread, so callers may be sync or async."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


async def _fetch_value(statement: str) -> Any:
    import asyncpg

    connection = await asyncpg.connect(database_url("postgres"), timeout=10)
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()


def create_database(url: str) -> None:
    """Drop the database of ``url`` (closing its connections) and create it empty."""
    drop_database(url)
    _run_admin(_fetch_value(f'CREATE DATABASE "{_name_of(url)}"'))


def drop_database(url: str) -> None:
    _run_admin(_fetch_value(f'DROP DATABASE IF EXISTS "{_name_of(url)}" WITH (FORCE)'))


def bench_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of an app process (CLI, server, worker) on the bench database ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESCUEOPS_")}
    env.update({
        "RESCUEOPS_DATABASE_URL": url,
        "RESCUEOPS_SECRET_KEY": SECRET_KEY,
        "RESCUEOPS_ENV": "production",
        "RESCUEOPS_LOG_LEVEL": "WARNING",
        "RESCUEOPS_VAR_DIR": str(ROOT / "var" / "bench"),
        "PICCOLO_CONF": "rescueops.db.piccolo_conf",
    })
    env.update(extra)
    return env


def rescueops(url: str, *args: str) -> str:
    """Run ``rescueops ARGS`` on the database ``url``; its output (raises with the output when it fails)."""
    done = subprocess.run([sys.executable, "-m", "rescueops", *args], env=bench_env(url), cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"rescueops {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def migrate(url: str) -> None:
    """The app's own migrations and reference data on ``url``, as an operator would run them."""
    rescueops(url, "db", "upgrade")
    rescueops(url, "seed", "reference")


# --- the server under test -------------------------------------------------------------------------


def wait_ready(base_url: str, process: subprocess.Popen[bytes], path: str = "/health/ready",
               timeout: float = READY_TIMEOUT_S) -> None:
    """Poll ``base_url + path`` until it answers 200; fail when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        with contextlib.suppress(OSError, urllib.error.URLError):
            with urllib.request.urlopen(base_url + path, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {path} within {timeout:.0f} s")


@contextlib.contextmanager
def serve(url: str, workers: int = 1, port: int = 8100, argv: list[str] | None = None,
          ready_path: str = "/health/ready", ready_timeout: float = READY_TIMEOUT_S, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``rescueops serve`` (or ``argv``, e.g. the bench app) on ``url`` until the block ends.

    Yields the process once ``ready_path`` answers 200; the server's output goes to
    ``bench/results/server-<port>.log`` so a failing run can be read afterwards."""
    argv = argv or [sys.executable, "-m", "rescueops", "serve", "--port", str(port), "--workers", str(workers)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"server-{port}.log", "wb") as log:
        process = subprocess.Popen(argv, env=bench_env(url, **env), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(f"http://127.0.0.1:{port}", process, ready_path, ready_timeout)
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The command name (field 2) may hold spaces and parentheses: split after its closing one.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


def peak_rss_kib(pid: int) -> int:
    """The highest resident memory (KiB) one process has reached so far (VmHWM)."""
    peak = _proc_field(f"/proc/{pid}/status", "VmHWM")
    return int(peak.split()[0]) if peak != "unknown" else 0


def rss_kib(pid: int) -> int:
    """Resident memory (KiB) of a process and all its descendants (uvicorn workers), from /proc."""
    children, total, todo = _children(), 0, [pid]
    while todo:
        current = todo.pop()
        rss = _proc_field(f"/proc/{current}/status", "VmRSS")  # "12345 kB"; "unknown" once it has exited
        total += int(rss.split()[0]) if rss != "unknown" else 0
        todo.extend(children.get(current, []))
    return total


# --- the SQL an app process issues -----------------------------------------------------------------

_recording: contextvars.ContextVar[list[tuple[str, tuple[Any, ...]]] | None] = contextvars.ContextVar("bench_sql", default=None)


@contextlib.contextmanager
def recorded_queries() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Collect ``(sql, args)`` of every query the app's engine runs in this context (not in other tasks).

    Wraps the engine class's ``run_querystring`` (its instances have slots), through which every Piccolo query
    passes, so counts are exact; the method is put back when the block ends."""
    from rescueops.db.engine import database

    engine_class = type(database())
    original = engine_class.run_querystring

    async def recording(self: Any, querystring: Any, in_pool: bool = True) -> Any:
        queries = _recording.get()
        if queries is not None:
            sql, args = querystring.compile_string(engine_type=self.engine_type)
            queries.append((sql, tuple(args)))
        return await original(self, querystring, in_pool=in_pool)

    queries: list[tuple[str, tuple[Any, ...]]] = []
    token = _recording.set(queries)
    engine_class.run_querystring = recording  # type: ignore[method-assign]
    try:
        yield queries
    finally:
        engine_class.run_querystring = original  # type: ignore[method-assign]
        _recording.reset(token)
