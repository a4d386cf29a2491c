"""Taking the real PostgreSQL and RabbitMQ of this machine away and bringing them back, for the tests marked ``faults``.

Each context manager restores the service in its ``finally`` and returns only once the service answers again, so a
failing test never leaves the machine without its database or broker. Stopping needs the service's own tools
(``pg_ctlcluster``, ``rabbitmqctl``) and the rights to run them: missing, the test is skipped, or failed under CI=true.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import pytest

from tests.conftest import POSTGRES_ADMIN_DSN, RABBITMQ_HOST, RABBITMQ_PORT, _rabbitmqctl

BACK_WITHIN = 90  # seconds a restarted service may take to answer again before the test fails


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def _until_back(attempt, what: str) -> None:
    """Call ``attempt()`` until it stops raising; fail after :data:`BACK_WITHIN` seconds with the last error."""
    deadline = time.monotonic() + BACK_WITHIN
    while True:
        try:
            await attempt()
            return
        except Exception as error:  # refused, starting up, shutting down: not back yet
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not come back within {BACK_WITHIN} s: {error!r}") from error
            await asyncio.sleep(0.2)


# --- PostgreSQL ---------------------------------------------------------------------------------------


def postgres_cluster() -> tuple[str, str]:
    """(version, name) of the Debian cluster serving the tests' PostgreSQL port (``pg_lsclusters``)."""
    if not (shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster")) or os.geteuid() != 0:
        _unavailable("stopping PostgreSQL needs pg_ctlcluster (postgresql-common) run as root")
    port = urlsplit(POSTGRES_ADMIN_DSN).port or 5432
    listed = subprocess.run(["pg_lsclusters", "--json"], check=True, capture_output=True, text=True, timeout=30)
    for cluster in json.loads(listed.stdout):
        if int(cluster["port"]) == port:
            return str(cluster["version"]), cluster["cluster"]
    _unavailable(f"no local PostgreSQL cluster listens on port {port} (pg_lsclusters)")


def _pg_ctlcluster(cluster: tuple[str, str], action: str) -> None:
    # fast: open transactions are rolled back and clients disconnected at once, as in a restart for an upgrade
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action, *(["--mode", "fast"] if action == "stop" else [])],
                   check=True, capture_output=True, text=True, timeout=120)


async def _postgres_answers() -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=2)
    try:
        await connection.fetchval("SELECT 1")
    finally:
        await connection.close()


@asynccontextmanager
async def postgres_down() -> AsyncIterator[None]:
    """PostgreSQL stopped for the block (every session cut); started again after it, back once it answers a query."""
    cluster = postgres_cluster()
    await asyncio.to_thread(_pg_ctlcluster, cluster, "stop")
    try:
        yield
    finally:
        await asyncio.to_thread(_pg_ctlcluster, cluster, "start")
        await _until_back(_postgres_answers, "PostgreSQL")


# --- RabbitMQ --------------------------------------------------------------------------------------------


async def _vhost_answers(url: str) -> None:
    connection = await aio_pika.connect(url, timeout=2)
    async with connection:
        await connection.channel()


@asynccontextmanager
async def rabbitmq_down(vhost: str) -> AsyncIterator[None]:
    """The RabbitMQ application stopped for the block (``stop_app``: every connection cut, port 5672 closed, the node
    kept); started again after it, back once ``vhost`` takes a connection and a channel."""
    if not shutil.which("rabbitmqctl"):
        _unavailable("stopping RabbitMQ needs rabbitmqctl")
    await asyncio.to_thread(_rabbitmqctl, "stop_app")
    try:
        yield
    finally:
        await asyncio.to_thread(_rabbitmqctl, "start_app")
        await _until_back(lambda: _vhost_answers(f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/{vhost}"), "RabbitMQ")
