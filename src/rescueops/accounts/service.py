"""Users, scoped role assignments, sessions and API tokens, login throttling, the audit log."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rescueops.accounts.access import ROOT_PATH, Grant, Principal, authorize, may_grant, scopes_for
from rescueops.accounts.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    AuditOut,
    GrantIn,
    GrantOut,
    MeOut,
    ServiceAccountCreate,
    UserCreate,
    UserOut,
)
from rescueops.accounts.tables import AuditEntry, LoginAttempt, Role, RoleAssignment, Token, TokenKind, User, UserKind
from rescueops.calendar import utc_now
from rescueops.db import write_transaction
from rescueops.db.pagination import PageParams
from rescueops.db.paths import within
from rescueops.db.search import contains
from rescueops.db.statements import Statement
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TooManyRequests, Unauthenticated
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import Hub, OrgUnit
from rescueops.settings import get_settings
from rescueops.teams.tables import Team

# last_used_at is refreshed at most this often: a write per request would serialise SQLite.
_LAST_USED_RESOLUTION = timedelta(minutes=5)
# Login attempts and dead tokens are kept this long (for the audit of lockouts), then purged.
_ATTEMPT_RETENTION = timedelta(days=7)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back naive; they are stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


# --- passwords and tokens ------------------------------------------------------------------


@cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a wrong name costs as much as a wrong password.
    return _hasher().hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(
    user_id: int, kind: TokenKind, *, name: str = "", ttl: timedelta | None, ip: str | None = None
) -> tuple[str, int, datetime | None]:
    """Create a token; returns (secret, id, expires_at). Only the secret's hash is kept."""
    secret = f"ro_{secrets.token_urlsafe(32)}"
    expires_at = utc_now() + ttl if ttl else None
    rows = await Token.insert(
        Token(
            user=user_id,
            kind=kind.value,
            name=name,
            token_hash=_token_hash(secret),
            prefix=secret[:10],
            created_at=utc_now(),
            expires_at=expires_at,
            created_ip=ip,
        )
    ).returning(Token.id)
    return secret, rows[0]["id"], expires_at


async def revoke_token(token_id: int) -> None:
    await Token.update({Token.revoked_at: utc_now()}).where((Token.id == token_id) & Token.revoked_at.is_null())


# The lookups of every authenticated request, built once (rescueops.db.statements).
_TOKEN = Statement(lambda token_hash, kind: Token.select(
    Token.id, Token.user, Token.expires_at, Token.last_used_at, Token.user.is_active.as_alias("active"),
    Token.user.username.as_alias("username"), Token.user.display_name.as_alias("display_name"),
    Token.user.kind.as_alias("kind"), Token.user.locale.as_alias("locale"),
).where((Token.token_hash == token_hash) & (Token.kind == kind) & Token.revoked_at.is_null()).limit(1))
_USER = Statement(lambda user_id: User.select(User.id, User.username, User.display_name, User.kind, User.locale).where(
    (User.id == user_id) & (User.is_active == True)).limit(1))  # noqa: E712
_ROLES = Statement(lambda user_id: RoleAssignment.select(
    RoleAssignment.role,
    RoleAssignment.unit.code.as_alias("unit_code"),
    RoleAssignment.unit.path.as_alias("unit_path"),
    RoleAssignment.hub.code.as_alias("hub_code"),
    RoleAssignment.team.code.as_alias("team_code"),
    RoleAssignment.team.path.as_alias("team_path"),
).where(RoleAssignment.user == user_id))


async def principal_for_token(secret: str, kind: TokenKind) -> Principal | None:
    """The principal a live token of this kind belongs to, or None (unknown, expired, revoked)."""
    row = await _TOKEN.first(_token_hash(secret), kind.value)
    now = utc_now()
    if row is None or not row["active"]:
        return None
    expires_at = _aware(row["expires_at"])
    if expires_at is not None and expires_at <= now:
        return None
    last_used = _aware(row["last_used_at"])
    if last_used is None or now - last_used > _LAST_USED_RESOLUTION:
        await Token.update({Token.last_used_at: now}).where(Token.id == row["id"])
    return await _principal({**row, "id": row["user"]}, token_id=row["id"])


async def load_principal(user_id: int, *, token_id: int | None = None) -> Principal | None:
    user = await _USER.first(user_id)
    return await _principal(user, token_id=token_id) if user is not None else None


async def _principal(user: dict[str, Any], *, token_id: int | None) -> Principal:
    """The Principal of an active user row (id, username, display_name, kind, locale) with their role assignments."""
    rows = await _ROLES.rows(user["id"])
    hub_paths = await orgs.hub_paths() if any(row["hub_code"] for row in rows) else {}
    grants = []
    for row in rows:
        role = Role(row["role"])
        if role is Role.admin:
            paths: tuple[str, ...] = (ROOT_PATH,)
        elif row["hub_code"]:
            paths = hub_paths.get(row["hub_code"], ())
        elif row["team_code"]:
            paths = (row["team_path"],)
        else:
            paths = (row["unit_path"],)
        grants.append(
            Grant(role=role, paths=paths, unit_code=row["unit_code"], hub_code=row["hub_code"], team_code=row["team_code"])
        )
    return Principal(
        user_id=user["id"],
        username=user["username"],
        display_name=user["display_name"],
        kind=user["kind"],
        locale=user["locale"],
        grants=tuple(grants),
        token_id=token_id,
    )


# --- login ---------------------------------------------------------------------------------


async def authenticate(username: str, password: str, ip: str | None) -> int:
    """Check a password login; returns the user id. Throttled per address and per account."""
    settings = get_settings()
    now = utc_now()
    window = timedelta(minutes=settings.login_lockout_minutes)
    address = ip or "unknown"
    failures_from_address = await LoginAttempt.count().where(
        (LoginAttempt.ip == address) & (LoginAttempt.succeeded == False) & (LoginAttempt.at > now - window)  # noqa: E712
    )
    if failures_from_address >= settings.login_ip_failures_per_window:
        raise TooManyRequests(
            "Too many failed logins from this address; wait and try again.",
            retry_after=int(window.total_seconds()),
            code="login_rate_limited",
        )
    user = await User.select().where((User.username == username) & (User.kind == UserKind.person.value)).first()
    locked_until = _aware(user["locked_until"]) if user else None
    locked = locked_until is not None and locked_until > now
    ok = (
        not locked
        and verify_password(user["password_hash"] if user else None, password)
        and user is not None
        and user["is_active"]
    )
    async with write_transaction():
        await LoginAttempt.insert(LoginAttempt(username=username[:64], ip=address, at=now, succeeded=ok))
        if user is not None and not locked:
            if ok:
                changes: dict[Any, Any] = {User.failed_logins: 0, User.locked_until: None, User.last_login_at: now}
                if _hasher().check_needs_rehash(user["password_hash"]):
                    changes[User.password_hash] = hash_password(password)
            elif user["failed_logins"] + 1 >= settings.login_max_failures:
                changes = {User.failed_logins: 0, User.locked_until: now + window}
            else:
                changes = {User.failed_logins: user["failed_logins"] + 1}
            await User.update(changes).where(User.id == user["id"])
    if locked:
        minutes = max(1, int((locked_until - now).total_seconds() // 60) + 1)
        raise TooManyRequests(
            f"This account is locked after repeated failed logins; try again in {minutes} minutes "
            "or ask an administrator to unlock it.",
            retry_after=minutes * 60,
            code="account_locked",
        )
    if not ok:
        raise Unauthenticated("Wrong username or password.", code="invalid_credentials")
    return user["id"]


async def start_session(user_id: int, ip: str | None) -> str:
    secret, _, _ = await issue_token(
        user_id, TokenKind.session, ttl=timedelta(hours=get_settings().session_hours), ip=ip
    )
    return secret


async def login_for_api(username: str, password: str, ip: str | None) -> tuple[str, datetime | None]:
    user_id = await authenticate(username, password, ip)
    secret, _, expires_at = await issue_token(
        user_id, TokenKind.api, name="login", ttl=timedelta(hours=get_settings().api_token_hours), ip=ip
    )
    return secret, expires_at


async def unlock(actor: Principal | None, username: str) -> None:
    user = await _user_row(actor, username=username)
    async with write_transaction():
        await User.update({User.failed_logins: 0, User.locked_until: None}).where(User.id == user["id"])
        await record_audit(actor, "accounts.user.unlock", "user", str(user["id"]), user["home_path"] or ROOT_PATH, {})


# --- users and roles -----------------------------------------------------------------------

_USER_COLUMNS = (
    User.id,
    User.username,
    User.display_name,
    User.kind,
    User.locale,
    User.is_active,
    User.locked_until,
    User.last_login_at,
    User.home_unit.code.as_alias("home_unit_code"),
    User.home_unit.path.as_alias("home_path"),
)


async def _grants_of(user_ids: list[int]) -> dict[int, list[GrantOut]]:
    if not user_ids:
        return {}
    rows = await RoleAssignment.select(
        RoleAssignment.id,
        RoleAssignment.user,
        RoleAssignment.role,
        RoleAssignment.granted_at,
        RoleAssignment.unit.code.as_alias("unit_code"),
        RoleAssignment.hub.code.as_alias("hub_code"),
        RoleAssignment.team.code.as_alias("team_code"),
    ).where(RoleAssignment.user.is_in(user_ids)).order_by(RoleAssignment.id)
    grants: dict[int, list[GrantOut]] = {}
    for row in rows:
        grants.setdefault(row["user"], []).append(GrantOut.model_validate(row))
    return grants


def _user_out(row: dict[str, Any], grants: list[GrantOut]) -> UserOut:
    return UserOut.model_validate({**row, "grants": grants})


async def _user_row(actor: Principal | None, *, user_id: int | None = None, username: str | None = None) -> dict:
    """A user visible to ``actor`` (None: the local command line, which sees everyone)."""
    query = User.select(*_USER_COLUMNS)
    query = query.where(User.id == user_id) if user_id is not None else query.where(User.username == username)
    row = await query.first()
    if row is None:
        raise NotFound(f"No user {'#' + str(user_id) if user_id is not None else repr(username)}.")
    if actor is not None:
        authorize(actor, "users.view", row["home_path"] or ROOT_PATH, hide=True)
    return row


async def find_user_id(username: str) -> int:
    return (await _user_row(None, username=username))["id"]


async def user_ids_by_name(usernames: list[str]) -> dict[str, int]:
    """Username -> user id, for those of ``usernames`` that exist (one query)."""
    rows = await User.select(User.id, User.username).where(User.username.is_in(list(dict.fromkeys(usernames)) or ["-"]))
    return {row["username"]: row["id"] for row in rows}


async def me(principal: Principal) -> MeOut:
    row = await _user_row(None, user_id=principal.user_id)
    grants = (await _grants_of([principal.user_id])).get(principal.user_id, [])
    return MeOut.model_validate({**row, "grants": grants})


async def get_user(actor: Principal | None, user_id: int) -> UserOut:
    row = await _user_row(actor, user_id=user_id)
    return _user_out(row, (await _grants_of([user_id])).get(user_id, []))


async def list_users(actor: Principal, page: PageParams, q: str | None = None) -> tuple[list[UserOut], int]:
    scopes = scopes_for(actor, "users.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow listing users.")
    select = User.select(*_USER_COLUMNS).order_by(User.username).limit(page.limit).offset(page.offset)
    count = User.count()
    visible = within(User.home_unit.path, scopes)
    if visible is not None:
        select, count = select.where(visible), count.where(visible)
    if q:
        match = contains(User.username, q) | contains(User.display_name, q)
        select, count = select.where(match), count.where(match)
    rows = await select
    grants = await _grants_of([row["id"] for row in rows])
    return [_user_out(row, grants.get(row["id"], [])) for row in rows], await count


async def _home_unit(actor: Principal | None, code: str, action: str) -> tuple[int, str]:
    unit = await OrgUnit.select(OrgUnit.id, OrgUnit.path).where(OrgUnit.code == code).first()
    if unit is None:
        raise InvalidInput(
            f"home_unit_code: no org unit '{code}'", details=[{"field": "home_unit_code", "message": "unknown unit"}]
        )
    if actor is not None:
        authorize(actor, action, unit["path"])
    return unit["id"], unit["path"]


async def _insert_user(actor: Principal | None, values: dict[str, Any], home_path: str) -> int:
    async with write_transaction():
        if await User.exists().where(User.username == values["username"]):
            raise Conflict(f"The username '{values['username']}' is taken.", code="duplicate_username")
        rows = await User.insert(User(created_at=utc_now(), **values)).returning(User.id)
        user_id = rows[0]["id"]
        audited = {key: value for key, value in values.items() if key != "password_hash"}
        await record_audit(actor, "accounts.user.create", "user", str(user_id), home_path, audited)
    return user_id


async def create_user(actor: Principal | None, data: UserCreate) -> UserOut:
    unit_id, home_path = await _home_unit(actor, data.home_unit_code, "users.manage")
    user_id = await _insert_user(
        actor,
        {
            "username": data.username,
            "display_name": data.display_name,
            "kind": UserKind.person.value,
            "password_hash": hash_password(data.password),
            "home_unit": unit_id,
            "locale": data.locale,
        },
        home_path,
    )
    return await get_user(None, user_id)


async def create_service_account(actor: Principal | None, data: ServiceAccountCreate) -> UserOut:
    if actor is not None:
        authorize(actor, "service_accounts.manage")
    unit_id, home_path = await _home_unit(None, data.home_unit_code, "service_accounts.manage")
    user_id = await _insert_user(
        actor,
        {
            "username": data.username,
            "display_name": data.display_name,
            "kind": UserKind.service.value,
            "home_unit": unit_id,
        },
        home_path,
    )
    return await get_user(None, user_id)


async def _scope_of(grant: GrantIn) -> tuple[dict[str, int], tuple[str, ...]]:
    """Column values and org paths of a requested scope."""
    if grant.unit_code is not None:
        unit = await OrgUnit.select(OrgUnit.id, OrgUnit.path).where(OrgUnit.code == grant.unit_code).first()
        if unit is None:
            raise InvalidInput(f"unit_code: no org unit '{grant.unit_code}'", details=[{"field": "unit_code", "message": "unknown unit"}])
        return {"unit": unit["id"]}, (unit["path"],)
    if grant.team_code is not None:
        team = await Team.select(Team.id, Team.path).where(Team.code == grant.team_code).first()
        if team is None:
            raise InvalidInput(f"team_code: no team '{grant.team_code}'", details=[{"field": "team_code", "message": "unknown team"}])
        return {"team": team["id"]}, (team["path"],)
    hub = await Hub.select(Hub.id).where(Hub.code == grant.hub_code).first()
    if hub is None:
        raise InvalidInput(f"hub_code: no regional hub '{grant.hub_code}'", details=[{"field": "hub_code", "message": "unknown hub"}])
    return {"hub": hub["id"]}, (await orgs.hub_paths()).get(grant.hub_code, ())


async def grant_role(actor: Principal | None, user_id: int, grant: GrantIn) -> UserOut:
    user = await _user_row(actor, user_id=user_id)
    scope, paths = await _scope_of(grant)
    if actor is not None and not may_grant(actor, grant.role, paths):
        raise PermissionDenied(
            f"You may not grant '{grant.role.value}' over that scope: only roles junior to yours, within your scope."
        )
    async with write_transaction():
        existing = RoleAssignment.exists().where((RoleAssignment.user == user_id) & (RoleAssignment.role == grant.role.value))
        for column, value in scope.items():
            existing = existing.where(getattr(RoleAssignment, column) == value)
        if await existing:
            raise Conflict("The user already holds this role over this scope.", code="duplicate_grant")
        await RoleAssignment.insert(
            RoleAssignment(
                user=user_id,
                role=grant.role.value,
                granted_by=actor.user_id if actor else None,
                granted_at=utc_now(),
                **scope,
            )
        )
        await record_audit(
            actor, "accounts.role.grant", "user", str(user_id), user["home_path"] or ROOT_PATH, grant.model_dump(mode="json")
        )
    return await get_user(None, user_id)


async def revoke_role(actor: Principal | None, user_id: int, assignment_id: int) -> UserOut:
    user = await _user_row(actor, user_id=user_id)
    row = await RoleAssignment.select(
        RoleAssignment.role,
        RoleAssignment.unit.code.as_alias("unit_code"),
        RoleAssignment.hub.code.as_alias("hub_code"),
        RoleAssignment.team.code.as_alias("team_code"),
    ).where((RoleAssignment.id == assignment_id) & (RoleAssignment.user == user_id)).first()
    if row is None:
        raise NotFound(f"User #{user_id} has no role assignment #{assignment_id}.")
    grant = GrantIn(role=row["role"], unit_code=row["unit_code"], hub_code=row["hub_code"], team_code=row["team_code"])
    _, paths = await _scope_of(grant)
    if actor is not None and not may_grant(actor, grant.role, paths):
        raise PermissionDenied(f"You may not revoke '{grant.role.value}' over that scope.")
    async with write_transaction():
        await RoleAssignment.delete().where(RoleAssignment.id == assignment_id)
        await record_audit(
            actor, "accounts.role.revoke", "user", str(user_id), user["home_path"] or ROOT_PATH, grant.model_dump(mode="json")
        )
    return await get_user(None, user_id)


async def find_assignment(username: str, grant: GrantIn) -> tuple[int, int]:
    """(user id, assignment id) of a role held over a scope, for the command line."""
    user = await _user_row(None, username=username)
    scope, _ = await _scope_of(grant)
    query = RoleAssignment.select(RoleAssignment.id).where(
        (RoleAssignment.user == user["id"]) & (RoleAssignment.role == grant.role.value)
    )
    for column, value in scope.items():
        query = query.where(getattr(RoleAssignment, column) == value)
    row = await query.first()
    if row is None:
        raise NotFound(f"{username} does not hold {grant.role.value} over that scope.")
    return user["id"], row["id"]


async def set_locale(principal: Principal, locale: str) -> None:
    async with write_transaction():
        await User.update({User.locale: locale}).where(User.id == principal.user_id)
        await record_audit(principal, "accounts.user.locale", "user", str(principal.user_id), ROOT_PATH, {"locale": locale})


async def purge_expired() -> str:
    """Housekeeping: forget tokens dead for a week and login attempts past their retention."""
    cutoff = utc_now() - _ATTEMPT_RETENTION
    dead = (Token.expires_at < cutoff) | (Token.revoked_at < cutoff)
    tokens = await Token.count().where(dead)
    attempts = await LoginAttempt.count().where(LoginAttempt.at < cutoff)
    async with write_transaction():
        await Token.delete().where(dead)
        await LoginAttempt.delete().where(LoginAttempt.at < cutoff)
    return f"{tokens} tokens and {attempts} login attempts removed"


# --- service-account API tokens -----------------------------------------------------------


async def _service_account(actor: Principal | None, user_id: int) -> dict:
    if actor is not None:
        authorize(actor, "service_accounts.manage")
    user = await _user_row(None, user_id=user_id)
    if user["kind"] != UserKind.service.value:
        raise InvalidInput(f"User #{user_id} is a person; API tokens are issued to service accounts only.")
    return user


async def create_api_token(actor: Principal | None, user_id: int, data: ApiTokenCreate) -> ApiTokenCreated:
    user = await _service_account(actor, user_id)
    ttl = timedelta(days=data.expires_in_days) if data.expires_in_days else None
    async with write_transaction():
        secret, token_id, _ = await issue_token(user_id, TokenKind.api, name=data.name, ttl=ttl)
        await record_audit(
            actor, "accounts.token.create", "token", str(token_id), user["home_path"] or ROOT_PATH, {"name": data.name, "user": user_id}
        )
    row = await Token.select().where(Token.id == token_id).first()
    return ApiTokenCreated.model_validate({**row, "token": secret})


async def list_api_tokens(actor: Principal | None, user_id: int) -> list[ApiTokenOut]:
    await _service_account(actor, user_id)
    rows = await Token.select().where((Token.user == user_id) & (Token.kind == TokenKind.api.value)).order_by(Token.id)
    return [ApiTokenOut.model_validate(row) for row in rows]


async def revoke_api_token(actor: Principal | None, user_id: int, token_id: int) -> None:
    user = await _service_account(actor, user_id)
    if not await Token.exists().where((Token.id == token_id) & (Token.user == user_id)):
        raise NotFound(f"Service account #{user_id} has no token #{token_id}.")
    async with write_transaction():
        await revoke_token(token_id)
        await record_audit(actor, "accounts.token.revoke", "token", str(token_id), user["home_path"] or ROOT_PATH, {})


LEADERS = {Role.captain, Role.deputy_captain}  # a team's leaders, who are told what concerns the team


async def users_holding(roles: set[Role], *, team_ids: list[int] = (), unit_ids: list[int] = (),
                        hub_codes: list[str] = ()) -> list[int]:
    """Users holding one of ``roles`` over one of the teams, units or hubs: e.g. the captains or the supervisors to remind."""
    scope = (RoleAssignment.team.is_in(list(team_ids) or [-1]) | RoleAssignment.unit.is_in(list(unit_ids) or [-1])
             | RoleAssignment.hub.code.is_in(list(hub_codes) or ["-"]))
    rows = await RoleAssignment.select(RoleAssignment.user).where(scope & RoleAssignment.role.is_in([r.value for r in roles])).order_by(
        RoleAssignment.user)
    return list(dict.fromkeys(row["user"] for row in rows))


async def holders_by_team(roles: set[Role]) -> dict[int, list[int]]:
    """Team id -> users holding one of ``roles`` over it, for every team at once: what a job telling each team's
    leaders reads in one query instead of one per team."""
    return await _holders_by(RoleAssignment.team, roles)


async def holders_by_unit(roles: set[Role]) -> dict[int, list[int]]:
    """Org unit id -> users holding one of ``roles`` over exactly that unit (not those above it), for every unit at once."""
    return await _holders_by(RoleAssignment.unit, roles)


async def _holders_by(scope: Any, roles: set[Role]) -> dict[int, list[int]]:
    rows = await RoleAssignment.select(scope.as_alias("scope"), RoleAssignment.user).where(
        scope.is_not_null() & RoleAssignment.role.is_in([r.value for r in roles])).order_by(RoleAssignment.user)
    holders: dict[int, list[int]] = {}
    for row in rows:
        users = holders.setdefault(row["scope"], [])
        if row["user"] not in users:  # a user holding both roles is told once
            users.append(row["user"])
    return holders


# --- audit log -----------------------------------------------------------------------------


async def record_audit(
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: str,
    scope_path: str,
    changes: dict[str, Any],
) -> None:
    """Write one audit row; call it inside the transaction of the change it records."""
    await AuditEntry.insert(
        AuditEntry(
            at=utc_now(),
            actor=actor.user_id if actor else None,
            actor_name=actor.username if actor else "system",
            action=action,
            entity=entity,
            entity_id=entity_id,
            scope_path=scope_path,
            changes=json.dumps(changes, ensure_ascii=False, default=str),
            ip=actor.ip if actor else None,
            request_id=actor.request_id if actor else None,
        )
    )


async def list_audit(
    actor: Principal, page: PageParams, *, action: str | None = None, entity: str | None = None, entity_id: str | None = None
) -> tuple[list[AuditOut], int]:
    scopes = scopes_for(actor, "audit.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow reading the audit log.")
    select = AuditEntry.select().order_by(AuditEntry.id, ascending=False).limit(page.limit).offset(page.offset)
    count = AuditEntry.count()
    conditions = [within(AuditEntry.scope_path, scopes)]
    if action:
        conditions.append(AuditEntry.action == action)
    if entity:
        conditions.append(AuditEntry.entity == entity)
    if entity_id:
        conditions.append(AuditEntry.entity_id == entity_id)
    for condition in filter(None, conditions):
        select, count = select.where(condition), count.where(condition)
    rows = await select
    return [
        AuditOut.model_validate({**row, "changes": json.loads(row["changes"]) if isinstance(row["changes"], str) else row["changes"]})
        for row in rows
    ], await count

