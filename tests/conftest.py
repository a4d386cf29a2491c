"""Test set-up: one real database per run, SQLite or PostgreSQL (``--engine``), migrated once.

Each test starts from the reference data alone: every table is emptied and the reference
file loaded again. Nothing here mocks a database; PostgreSQL is the real server on this machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

POSTGRES_ADMIN_DSN = os.environ.get("RESCUEOPS_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=["sqlite", "postgres"],
        default=os.environ.get("RESCUEOPS_TEST_ENGINE", "sqlite"),
        help="database engine the suite runs against",
    )


async def _postgres(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_url(database: str) -> str:
    return POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database


def create_postgres_database(prefix: str = "rescueops_test") -> str:
    """A new empty database on the real server; fails loudly when the server is not there."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError) as error:
        pytest.exit(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}: {error}", returncode=3)
    return name


def drop_postgres_database(name: str) -> None:
    asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_configure(config: pytest.Config) -> None:
    # Environment first: the settings and the Piccolo engine are read once, on first import.
    work = Path(tempfile.mkdtemp(prefix="rescueops-test-"))
    config._rescueops_work = work  # type: ignore[attr-defined]
    os.environ["RESCUEOPS_VAR_DIR"] = str(work / "var")
    os.environ["PICCOLO_CONF"] = "rescueops.db.piccolo_conf"
    os.environ["RESCUEOPS_LOG_FORMAT"] = "console"
    os.environ["RESCUEOPS_LOG_LEVEL"] = "WARNING"
    os.environ["RESCUEOPS_ARGON2_TIME_COST"] = "1"
    os.environ["RESCUEOPS_ARGON2_MEMORY_KIB"] = "1024"
    os.environ.pop("RESCUEOPS_AMQP_URL", None)
    os.environ.pop("RESCUEOPS_SENTRY_DSN", None)
    os.environ["RESCUEOPS_ENV"] = "development"
    if config.getoption("--engine") == "postgres":
        name = create_postgres_database()
        config._rescueops_pg = name  # type: ignore[attr-defined]
        os.environ["RESCUEOPS_DATABASE_URL"] = postgres_url(name)
    else:
        os.environ["RESCUEOPS_DATABASE_URL"] = f"sqlite:///{work / 'test.db'}"


def pytest_unconfigure(config: pytest.Config) -> None:
    name = getattr(config, "_rescueops_pg", None)
    if name:
        drop_postgres_database(name)
    work = getattr(config, "_rescueops_work", None)
    if work:
        shutil.rmtree(work, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    return f"rescueops database: {os.environ.get('RESCUEOPS_DATABASE_URL')}"


@pytest.fixture(scope="session")
def engine_name(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--engine")


@pytest.fixture(scope="session")
async def migrated():
    from rescueops.db import engine
    from rescueops.db.migrations import upgrade

    db = engine.database()
    await engine.prepare(db)
    await upgrade()
    yield
    await engine.release(db)


def _tables_parents_first() -> list:
    from piccolo.conf.apps import Finder
    from piccolo.table import sort_table_classes

    return sort_table_classes(Finder().get_table_classes())


def _emptying_sql() -> list[str]:
    """The deletes that empty every table: children before parents, so foreign keys never block one; org units
    reference each other (ON DELETE RESTRICT is checked row by row), so the deepest go first."""
    from rescueops.orgs.tables import OrgUnit

    statements = []
    for table in reversed(_tables_parents_first()):
        name = table._meta.tablename
        if table is OrgUnit:
            statements += [f'DELETE FROM "{name}" WHERE depth >= {depth}' for depth in range(8, -1, -1)]
        else:
            statements.append(f'DELETE FROM "{name}"')
    return statements


# Built once per process: every test empties the database and loads the reference rows again, and assembling those
# statements through Piccolo (a hundred deletes, an object per reference row) cost more than running them.
_emptying: list[str] | None = None
_reference_inserts: list[tuple[str, list]] | None = None


async def _in_one_transaction(script: list[str], inserts: list[tuple[str, list]]) -> None:
    """Ready SQL in one write transaction (on SQLite one commit, one fsync), on its own connection: the
    argument-free ``script`` first (on PostgreSQL in one round trip), then each insert with its arguments."""
    from rescueops.db.engine import database, write_transaction

    postgres = database().engine_type == "postgres"
    async with write_transaction() as transaction:
        connection = transaction.connection
        if postgres:
            if script:
                await connection.execute(";\n".join(script))
            for sql, args in inserts:
                await connection.execute(sql, *args)
            return
        for sql, args in [(sql, []) for sql in script] + inserts:
            async with connection.execute(sql, args):  # a cursor left open would keep the commit from happening
                pass


async def _empty_all_tables() -> None:
    global _emptying
    if _emptying is None:
        _emptying = _emptying_sql()
    await _in_one_transaction(_emptying, [])


async def _load_reference() -> None:
    """The rows the reference load leaves, taken once per process and written back by each test: loading the
    reference file row by row (with its look-ups) costs far more, and every test needs it."""
    global _reference_inserts
    from rescueops import reference
    from rescueops.db.engine import database
    from rescueops.orgs.tables import OrgUnit

    if _reference_inserts is None:
        await reference.load_all()
        engine_type = database().engine_type
        _reference_inserts = []
        for table in _tables_parents_first():
            query = table.select()
            if table is OrgUnit:
                query = query.order_by(OrgUnit.depth)  # parents before their children
            rows = await query
            if rows:
                [insert] = table.insert(*[table(_ignore_missing=True, **row) for row in rows]).querystrings
                sql, args = insert.compile_string(engine_type=engine_type)
                _reference_inserts.append((sql, list(args)))
        return
    await _in_one_transaction([], _reference_inserts)


@pytest.fixture
async def db(migrated):
    """A database holding the reference data and nothing else."""
    await _empty_all_tables()
    await _load_reference()
    yield


@pytest.fixture(scope="session")
async def app(migrated):
    from rescueops.app import create_app

    return create_app()


@pytest.fixture
async def client(app, db):
    """HTTP to the app in this event loop (the session fixtures did the lifespan's work)."""
    import httpx

    transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client


@pytest.fixture
def make_user(db):
    """Create a user holding one role over a unit or a hub; returns (user id, API bearer token)."""
    from datetime import timedelta

    from rescueops.accounts import service
    from rescueops.accounts.schemas import GrantIn, UserCreate
    from rescueops.accounts.tables import Role, TokenKind

    async def make(role: str | None, *, unit: str = "150000", hub: str | None = None, team: str | None = None,
                   username: str | None = None, home: str | None = None, password: str = "correct horse battery") -> tuple[int, str]:
        username = username or f"{role or 'nobody'}-{uuid.uuid4().hex[:6]}"
        user = await service.create_user(
            None, UserCreate(username=username, display_name=username, password=password, home_unit_code=home or unit)
        )
        if role:
            scope = {"hub_code": hub} if hub else {"team_code": team} if team else {"unit_code": unit}
            await service.grant_role(None, user.id, GrantIn(role=Role(role), **scope))
        token, _, _ = await service.issue_token(user.id, TokenKind.api, ttl=timedelta(hours=1))
        return user.id, token

    return make


@pytest.fixture
def make_principal(make_user):
    """A Principal as the app would load it for a user holding one role."""
    from rescueops.accounts import service

    async def make(role: str, **scope) -> object:
        user_id, _ = await make_user(role, **scope)
        return await service.load_principal(user_id)

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- RabbitMQ: the real broker on this machine, one fresh vhost per test run ------------------------

RABBITMQ_HOST, RABBITMQ_PORT = "127.0.0.1", 5672


def _rabbitmqctl(*args: str) -> None:
    import subprocess

    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> str:
    """A new vhost on the local RabbitMQ (guest may use it), deleted at the end; its name.

    A broker that is not there skips the test, except under CI=true, where it fails it."""
    import socket

    try:
        socket.create_connection((RABBITMQ_HOST, RABBITMQ_PORT), timeout=2).close()
        if not shutil.which("rabbitmqctl"):
            raise OSError("rabbitmqctl is not on PATH")
    except OSError as error:
        message = f"RabbitMQ is not available at {RABBITMQ_HOST}:{RABBITMQ_PORT}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    vhost = f"rescueops_test_{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield vhost
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
async def amqp_url(rabbitmq_vhost, db) -> str:
    """The test vhost's URL, with the whole topology declared and every queue empty."""
    import aio_pika

    from rescueops.events import topology

    url = f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/{rabbitmq_vhost}"
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for queue in (await topology.declare(channel)).queues.values():
            await queue.purge()
    return url


class WorkerProcess:
    """``rescueops worker …`` in a subprocess on the test database; its output is collected by a thread.

    ``handlers`` are modules imported before the command runs, registering test handlers (tests.events.probe)."""

    def __init__(self, args: tuple[str, ...], env: dict[str, str], handlers: tuple[str, ...] = ()):
        import queue
        import subprocess
        import sys
        import threading

        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        command = ["-c", f"import {', '.join(handlers)}; from rescueops.cli import main; main()"] if handlers else ["-m", "rescueops"]
        self.process = subprocess.Popen([sys.executable, *command, "worker", *args], env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, prefix: str, timeout: float = 30) -> str:
        """The next output line starting with ``prefix``."""
        import queue
        import time

        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith(prefix):
                return line
        self.kill()
        raise RuntimeError(f"worker never said {prefix!r}:\n" + "".join(self.output))

    def wait_ready(self, timeout: float = 30) -> None:
        self.wait_for("worker ready", timeout)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then wait for it to exit; returns the exit code."""
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)  # PYTHONFAULTHANDLER: it prints where it was stuck
            self.process.wait(timeout=10)
            self._reader.join(timeout=5)
            raise AssertionError(f"worker did not stop within {timeout} s of SIGTERM:\n{self.text}") from None
        self._reader.join(timeout=5)
        return code

    @property
    def text(self) -> str:
        return "".join(self.output)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def start_worker(db):
    """Start ``rescueops worker ARGS`` (e.g. ``"--region", "east"``) on the test database; ``amqp_url`` None
    for the in-process bus; ``handlers``: test handler modules to load too. Returns once it says it is ready;
    any still running are killed at the end."""
    started: list[WorkerProcess] = []

    def start(*args: str, amqp_url: str | None = None, handlers: tuple[str, ...] = ()) -> WorkerProcess:
        env = {**os.environ, "RESCUEOPS_LOG_LEVEL": "WARNING", "PYTHONFAULTHANDLER": "1"}
        env.pop("RESCUEOPS_AMQP_URL", None)
        if amqp_url:
            env["RESCUEOPS_AMQP_URL"] = amqp_url
        worker = WorkerProcess(args, env, handlers)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.kill()
