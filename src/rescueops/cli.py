"""`rescueops …`: serve, db, seed, users, service-accounts; `dev` is what `make run` calls."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from rescueops.accounts.schemas import ApiTokenCreate, GrantIn, ServiceAccountCreate, UserCreate
from rescueops.accounts.tables import Role
from rescueops.db.migrations import DatabaseNotMigrated, MigrationError
from rescueops.errors import DomainError
from rescueops.settings import SettingsError, get_settings

os.environ.setdefault("PICCOLO_CONF", "rescueops.db.piccolo_conf")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _run(work: Awaitable[Any], *, prepare: bool = True) -> Any:
    """Run a coroutine with the database prepared (unless ``prepare`` is false: it uses no Piccolo engine); turn known
    errors into a message and exit 2."""
    from rescueops.db import engine
    from rescueops.db.backup import BackupError

    async def wrapped() -> Any:
        if not prepare:
            return await work
        db = engine.database()
        await engine.prepare(db)
        try:
            return await work
        finally:
            await engine.release(db)

    try:
        return asyncio.run(wrapped())
    except BackupError as error:
        _fail(str(error))
    except DomainError as error:
        _fail(error.message)
    except ValidationError as error:
        _fail(_describe(error))
    except (SettingsError, DatabaseNotMigrated, MigrationError) as error:
        _fail(str(error))
    except OSError as error:  # the database server is not reachable
        _fail(f"cannot reach the database ({error}); check RESCUEOPS_DATABASE_URL")


def _migrated(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @wraps(fn)
    async def checked(*args: Any, **kwargs: Any) -> Any:
        from rescueops.db.migrations import ensure_migrated

        await ensure_migrated()
        return await fn(*args, **kwargs)

    return checked


def _describe(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in error.errors())


def main() -> None:
    """Entry point: command-line input that fails validation is a message, not a traceback."""
    try:
        cli()
    except ValidationError as error:
        _fail(_describe(error))


@click.group()
def cli() -> None:
    """RescueOps: operations and resources for Red Cross emergency rescue teams."""


# --- db ------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database: migrations, consistency check, backup and restore."""


@db.command("upgrade")
@click.option("--verbose", is_flag=True, help="Show Piccolo's progress output.")
def db_upgrade(verbose: bool) -> None:
    """Apply pending migrations (a no-op when up to date)."""
    from rescueops.db.migrations import upgrade

    applied = _run(upgrade(verbose=verbose))
    click.echo(f"applied {len(applied)} migrations: {', '.join(applied)}" if applied else "database is up to date")


@db.command("status")
def db_status() -> None:
    """List pending migrations; exit 1 when there are some."""
    from rescueops.db.migrations import pending_migrations

    pending = _run(pending_migrations())
    if pending:
        click.echo("pending: " + ", ".join(pending))
        sys.exit(1)
    click.echo("database is up to date")


@db.command("check")
def db_check() -> None:
    """Check the data's rules (foreign keys, paths, stock ledgers, check-outs, leadership, events); exit 1 naming the broken ones."""
    from rescueops.db import consistency

    findings = _run(consistency.check())
    for finding in findings:
        if finding.problems:
            click.echo(f"PROBLEM  {finding.rule}: {finding.problems}" + (f" ({finding.detail})" if finding.detail else ""))
        else:
            click.echo(f"ok       {finding.rule}")
    failing = [f.rule for f in findings if f.problems]
    if failing:
        click.echo(f"{len(findings)} checks, {len(failing)} failing: {'; '.join(failing)}", err=True)
        sys.exit(1)
    click.echo(f"{len(findings)} checks, all ok")


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path) -> None:
    """Back up the configured database to FILE, a new file (PostgreSQL: pg_dump custom format; SQLite: VACUUM INTO).
    Safe while the system runs."""
    from rescueops.db import backup

    click.echo(_run(backup.backup(get_settings().resolved_database_url, file), prepare=False))


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_restore(file: Path) -> None:
    """Restore FILE (made by `db backup`) into the configured database, which must be empty; then run `db upgrade` and `db check`."""
    from rescueops.db import backup

    click.echo(_run(backup.restore(get_settings().resolved_database_url, file), prepare=False))
    click.echo("next: rescueops db upgrade (a no-op if the backup was current), then rescueops db check")


# --- drills --------------------------------------------------------------------------------


@cli.group()
def drills() -> None:
    """The drill scenario library."""


@drills.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def drills_check(directory: Path | None) -> None:
    """Validate every scenario file (default: the drills/ folder); exit 2 when any is broken. No database needed."""
    from rescueops.drills import library

    found = library.read_library(directory)
    for scenario in found.scenarios:
        click.echo(f"ok       {scenario.id}.yaml (version {scenario.version}, {len(scenario.objectives)} objectives, "
                   f"{len(scenario.injects)} injects)")
    for name, problem in found.problems:
        click.echo(f"BROKEN   {name}: {problem}", err=True)
    if found.problems:
        sys.exit(2)
    click.echo(f"{len(found.scenarios)} scenario files are valid.")


# --- events --------------------------------------------------------------------------------


@cli.group()
def events() -> None:
    """The events catalogue and dead letters."""


@events.command("asyncapi")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (e.g. docs/asyncapi.yaml) instead of printing.")
def events_asyncapi(output: Path | None) -> None:
    """The AsyncAPI document generated from the payload models and the topology. No database needed."""
    from rescueops.events import catalogue

    text = catalogue.render()
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@events.command("dead-letters")
@click.option("--region", "regions", multiple=True, type=click.Choice(["northeast", "east", "central", "west"]),
              help="Only this hub's (repeatable; default every hub).")
@click.option("--replay", is_flag=True, help="Hand each back to the consumer that gave up on it.")
@click.option("--limit", default=100, show_default=True, type=int)
def events_dead_letters(regions: tuple[str, ...], replay: bool, limit: int) -> None:
    """List (or replay) dead letters: RabbitMQ's dead-letter queues with a broker, the database's without."""
    from rescueops.events import bus
    from rescueops.events.topology import REGIONS

    amqp_url = get_settings().amqp_url
    chosen = regions or REGIONS

    async def broker() -> list[dict[str, Any]]:
        return [d for region in chosen for d in await bus.broker_dead_letters(amqp_url, region, replay=replay, limit=limit)]

    async def database() -> list[dict[str, Any]]:
        found = [d for d in await bus.dead_letters(limit=limit) if d["consumer"].split(".")[0] in chosen]
        for dead in found:
            dead["outcome"] = (await bus.replay_dead_letter(dead["id"])).status if replay else ""
        return found

    found = _run(_migrated(broker if amqp_url else database)())
    for dead in found:
        outcome = f" -> {dead['outcome']}" if dead.get("outcome") else (" -> replayed" if replay and amqp_url else "")
        click.echo(f"{dead['consumer']:<24} {dead['type'] or '?':<32} {dead['event_id' if not amqp_url else 'message_id'] or '?'}  "
                   f"{dead['reason']}{outcome}")
    click.echo(f"{len(found)} dead letters" + (" replayed" if replay else ""))


# --- seed ----------------------------------------------------------------------------------


@cli.group()
def seed() -> None:
    """Reference and demo data."""


@seed.command("reference")
def seed_reference() -> None:
    """Load the shipped reference data: organisation tree, team categories, certificate types (idempotent)."""
    from rescueops import reference

    for line in _run(_migrated(reference.load_all)()):
        click.echo(line)


@seed.command("demo")
def seed_demo() -> None:
    """Load the demo data set once (refused in production mode) and print its logins."""
    from rescueops import demo

    logins = _run(_migrated(demo.load_demo)(get_settings()))
    _print_logins(logins)


def _print_logins(logins: list[dict[str, str]]) -> None:
    if not logins:
        return
    click.echo("Demo logins (also in var/demo-logins.json):")
    for login in logins:
        click.echo(f"  {login['username']:<10} {login['password']:<14} {login['role']} @ {login['scope']}")


# --- users ---------------------------------------------------------------------------------


def _scope_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--team", "team_code", help="Scope: one team (captains, deputies, members).")(fn)
    fn = click.option("--hub", "hub_code", help="Scope: the units a regional hub covers (northeast, east, central, west).")(fn)
    return click.option("--unit", "unit_code", help="Scope: an org unit code and everything under it.")(fn)


def _grants(user: Any) -> str:
    labels = [f"{g.role.value}@{g.unit_code or ('hub:' + g.hub_code if g.hub_code else 'team:' + str(g.team_code))}" for g in user.grants]
    return f"{user.username}: " + (", ".join(labels) or "no roles")


@cli.group()
def users() -> None:
    """People's accounts and their roles."""


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name, e.g. 张三")
@click.option("--unit", "home_unit_code", required=True, help="Home org unit code")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(username: str, display_name: str, home_unit_code: str, password_stdin: bool) -> None:
    """Create a person's account."""
    from rescueops.accounts import service

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        _fail("no password: use --password-stdin, or run in a terminal to be asked")
    user = _run(_migrated(service.create_user)(None, UserCreate(username=username, display_name=display_name, password=password, home_unit_code=home_unit_code)))
    click.echo(f"created user #{user.id} {user.username}")


@users.command("grant")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@_scope_options
def users_grant(username: str, role: str, unit_code: str | None, hub_code: str | None, team_code: str | None) -> None:
    """Grant ROLE over --unit CODE, --hub CODE or --team CODE."""
    from rescueops.accounts import service

    async def grant() -> Any:
        grant = GrantIn(role=Role(role), unit_code=unit_code, hub_code=hub_code, team_code=team_code)
        return await service.grant_role(None, await service.find_user_id(username), grant)

    click.echo(_grants(_run(_migrated(grant)())))


@users.command("revoke")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@_scope_options
def users_revoke(username: str, role: str, unit_code: str | None, hub_code: str | None, team_code: str | None) -> None:
    """Revoke ROLE over --unit CODE, --hub CODE or --team CODE."""
    from rescueops.accounts import service

    async def revoke() -> Any:
        grant = GrantIn(role=Role(role), unit_code=unit_code, hub_code=hub_code, team_code=team_code)
        user_id, assignment_id = await service.find_assignment(username, grant)
        return await service.revoke_role(None, user_id, assignment_id)

    click.echo(_grants(_run(_migrated(revoke)())))


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Lift a login lockout."""
    from rescueops.accounts import service

    _run(_migrated(service.unlock)(None, username))
    click.echo(f"{username} unlocked")


# --- service accounts ----------------------------------------------------------------------


@cli.group("service-accounts")
def service_accounts() -> None:
    """Accounts for other systems (120 dispatch, the national Red Cross dispatch system)."""


@service_accounts.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--unit", "home_unit_code", required=True)
def service_accounts_create(username: str, display_name: str, home_unit_code: str) -> None:
    """Create a service account; give it roles with `users grant`."""
    from rescueops.accounts import service

    user = _run(_migrated(service.create_service_account)(None, ServiceAccountCreate(username=username, display_name=display_name, home_unit_code=home_unit_code)))
    click.echo(f"created service account #{user.id} {user.username}")


@service_accounts.command("token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for")
@click.option("--days", type=int, default=365, show_default=True, help="Validity in days")
def service_accounts_token(username: str, name: str, days: int) -> None:
    """Issue an API token and print it (shown once)."""
    from rescueops.accounts import service

    async def issue() -> Any:
        return await service.create_api_token(None, await service.find_user_id(username), ApiTokenCreate(name=name, expires_in_days=days))

    token = _run(_migrated(issue)())
    click.echo(token.token)


# --- serving -------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Run the web server (refuses to start on a database that is not migrated)."""
    import uvicorn

    from rescueops.db.migrations import pending_migrations

    try:
        get_settings().resolved_secret_key()
    except SettingsError as error:
        _fail(str(error))
    pending = _run(pending_migrations())
    if pending:
        _fail(str(DatabaseNotMigrated(pending)))
    uvicorn.run("rescueops.app:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=True, log_config=None)


@cli.command()
@click.option("--check", is_flag=True, help="Only check the database is reachable and migrated (for health checks).")
@click.option("--region", "regions", multiple=True, type=click.Choice(["northeast", "east", "central", "west"]),
              help="Consume this hub's queues (repeatable).")
@click.option("--all", "all_regions", is_flag=True, help="Consume every hub's queues.")
def worker(check: bool, regions: tuple[str, ...], all_regions: bool) -> None:
    """Background process: scheduled jobs, the event relay and the regions' consumers, until SIGTERM or Ctrl-C."""
    import signal

    from rescueops.db.migrations import ensure_migrated
    from rescueops.events import bus
    from rescueops.events.topology import REGIONS
    from rescueops.jobs import service as jobs

    chosen = REGIONS if all_regions else tuple(dict.fromkeys(regions))

    async def work() -> None:
        await ensure_migrated()
        if check:
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        scheduler = jobs.start_scheduler()
        click.echo(f"worker running {len(jobs.JOBS)} scheduled jobs; stop with SIGTERM or Ctrl-C")
        await bus.run_worker(get_settings().amqp_url, chosen, stop, on_ready=click.echo)
        scheduler.shutdown(wait=True)
        click.echo("worker stopped")

    _run(work())
    if check:
        click.echo("ok")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.pass_context
def dev(ctx: click.Context, host: str, port: int) -> None:
    """Migrate, load reference data (and demo data on the first run), print logins, serve."""
    os.environ.setdefault("RESCUEOPS_LOG_FORMAT", "console")  # a person reads this terminal
    from rescueops import demo, reference
    from rescueops.db.migrations import upgrade

    settings = get_settings()

    async def prepare() -> list[dict[str, str]]:
        await upgrade()
        await reference.load_all()
        if settings.production:
            return []
        return await demo.load_demo(settings)

    logins = _run(prepare())
    click.echo(f"\nRescueOps is starting on http://{host}:{port}  (database: {settings.resolved_database_url})")
    if logins:
        click.echo(f"Log in at http://{host}:{port}/login with one of these demo accounts:")
    _print_logins(logins)
    click.echo("")
    ctx.invoke(serve, host=host, port=port, workers=1)
