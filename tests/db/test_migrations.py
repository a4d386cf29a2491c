"""Migrations on a new empty database of the engine under test, through the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import create_postgres_database, drop_postgres_database, postgres_url


def rescueops(*args: str, url: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RESCUEOPS_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "rescueops", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def empty_database(engine_name: str, tmp_path: Path):
    if engine_name == "postgres":
        name = create_postgres_database("rescueops_migrate")
        yield postgres_url(name)
        drop_postgres_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


def test_upgrade_applies_everything_then_is_a_no_op(empty_database: str) -> None:
    status = rescueops("db", "status", url=empty_database)
    assert status.returncode == 1 and "pending: orgs:" in status.stdout
    first = rescueops("db", "upgrade", url=empty_database)
    assert first.returncode == 0, first.stderr
    shipped = len(list((Path(__file__).resolve().parents[2] / "migrations").glob("*/*.py")))
    assert first.stdout.startswith(f"applied {shipped} migrations")
    second = rescueops("db", "upgrade", url=empty_database)
    assert second.returncode == 0 and second.stdout.strip() == "database is up to date"
    assert rescueops("db", "status", url=empty_database).returncode == 0


def test_server_refuses_an_unmigrated_database(empty_database: str) -> None:
    result = rescueops("serve", "--port", "0", url=empty_database)
    assert result.returncode == 2
    assert "unapplied migration" in result.stderr and "rescueops db upgrade" in result.stderr


def test_seed_and_user_commands(empty_database: str) -> None:
    assert rescueops("db", "upgrade", url=empty_database).returncode == 0
    seeded = rescueops("seed", "reference", url=empty_database)
    assert seeded.returncode == 0 and "120 units added" in seeded.stdout and "team categories: 13 added" in seeded.stdout
    again = rescueops("seed", "reference", url=empty_database)
    assert "0 units added, 0 updated" in again.stdout
    created = rescueops("users", "create", "zhang.san", "--name", "张三", "--unit", "150400", "--password-stdin",
                        url=empty_database, stdin="a long password\n")
    assert created.returncode == 0, created.stderr
    granted = rescueops("users", "grant", "zhang.san", "league_supervisor", "--unit", "150400", url=empty_database)
    assert granted.returncode == 0 and "league_supervisor@150400" in granted.stdout
    revoked = rescueops("users", "revoke", "zhang.san", "league_supervisor", "--unit", "150400", url=empty_database)
    assert revoked.returncode == 0 and "no roles" in revoked.stdout


def test_command_line_errors_are_messages_with_a_non_zero_exit(empty_database: str) -> None:
    assert rescueops("db", "upgrade", url=empty_database).returncode == 0
    assert rescueops("seed", "reference", url=empty_database).returncode == 0
    unknown_unit = rescueops("users", "create", "li.si", "--name", "李四", "--unit", "999999", "--password-stdin",
                             url=empty_database, stdin="a long password\n")
    assert unknown_unit.returncode == 2 and "no org unit '999999'" in unknown_unit.stderr
    short = rescueops("users", "create", "li.si", "--name", "李四", "--unit", "150400", "--password-stdin",
                      url=empty_database, stdin="short\n")
    assert short.returncode == 2 and "password" in short.stderr and "Traceback" not in short.stderr
    no_user = rescueops("users", "grant", "nobody", "member", "--unit", "150400", url=empty_database)
    assert no_user.returncode == 2 and "No user 'nobody'" in no_user.stderr
    bad_url = rescueops("db", "upgrade", url="mysql://localhost/x")
    assert bad_url.returncode == 2 and "unsupported scheme" in bad_url.stderr


def test_unmigrated_commands_say_what_to_run(empty_database: str) -> None:
    result = rescueops("seed", "reference", url=empty_database)
    assert result.returncode == 2 and "rescueops db upgrade" in result.stderr
