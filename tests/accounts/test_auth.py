from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from rescueops.accounts import service
from rescueops.accounts.tables import AuditEntry, LoginAttempt, Token, User
from rescueops.settings import get_settings
from tests.conftest import bearer

PASSWORD = "correct horse battery"


def test_password_hashing_round_trip() -> None:
    hashed = service.hash_password("蒙古马精神 2026")
    assert hashed.startswith("$argon2id$")
    assert service.verify_password(hashed, "蒙古马精神 2026")
    assert not service.verify_password(hashed, "蒙古马精神 2025")
    assert not service.verify_password(None, "anything")
    assert not service.verify_password("not a hash", "anything")


async def test_api_login_gives_a_working_token_and_logout_revokes_it(client, make_user) -> None:
    await make_user("member", unit="150426", username="bater")
    login = await client.post("/api/v1/auth/token", json={"username": "bater", "password": PASSWORD})
    assert login.status_code == 201, login.text
    token = login.json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["username"] == "bater"
    assert me.json()["grants"][0]["role"] == "member"
    assert (await client.delete("/api/v1/auth/token", headers=bearer(token))).status_code == 204
    after = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert after.status_code == 401 and after.json()["code"] == "invalid_token"


async def test_wrong_password_and_unknown_user_look_the_same(client, make_user) -> None:
    await make_user("member", username="bater")
    wrong = await client.post("/api/v1/auth/token", json={"username": "bater", "password": "nope"})
    unknown = await client.post("/api/v1/auth/token", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"code": "invalid_credentials", "message": "Wrong username or password."}


async def test_lockout_after_repeated_failures(client, make_user) -> None:
    await make_user("member", username="bater")
    limit = get_settings().login_max_failures
    for _ in range(limit):
        response = await client.post("/api/v1/auth/token", json={"username": "bater", "password": "nope"})
        assert response.status_code == 401
    locked = await client.post("/api/v1/auth/token", json={"username": "bater", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
    assert int(locked.headers["retry-after"]) > 0
    user = await User.select().where(User.username == "bater").first()
    assert user["locked_until"] is not None
    # An administrator lifts it; the right password works again.
    await service.unlock(None, "bater")
    assert (await client.post("/api/v1/auth/token", json={"username": "bater", "password": PASSWORD})).status_code == 201


async def test_a_lockout_expires(client, make_user) -> None:
    await make_user("member", username="bater")
    past = datetime.now(UTC) - timedelta(minutes=1)
    await User.update({User.locked_until: past}).where(User.username == "bater")
    assert (await client.post("/api/v1/auth/token", json={"username": "bater", "password": PASSWORD})).status_code == 201


async def test_one_address_is_rate_limited_across_usernames(client) -> None:
    limit = get_settings().login_ip_failures_per_window
    now = datetime.now(UTC)
    await LoginAttempt.insert(
        *[LoginAttempt(username=f"guess{i}", ip="testclient", at=now, succeeded=False) for i in range(limit)]
    )
    response = await client.post("/api/v1/auth/token", json={"username": "any", "password": "x"})
    assert response.status_code == 429 and response.json()["code"] == "login_rate_limited"


async def test_expired_and_revoked_tokens_are_refused(client, make_user) -> None:
    user_id, token = await make_user("member")
    await Token.update({Token.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(Token.user == user_id)
    expired = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert expired.status_code == 401 and expired.json()["code"] == "invalid_token"
    garbage = await client.get("/api/v1/auth/me", headers=bearer("ro_not-a-token"))
    assert garbage.status_code == 401
    none = await client.get("/api/v1/auth/me")
    assert none.status_code == 401 and none.json()["code"] == "not_authenticated"


async def test_service_account_tokens_are_scoped_and_revocable(client, make_user) -> None:
    _, admin = await make_user("admin")
    created = await client.post(
        "/api/v1/service-accounts",
        json={"username": "dispatch-120", "display_name": "赤峰120急救调度", "home_unit_code": "150400"},
        headers=bearer(admin),
    )
    assert created.status_code == 201
    account = created.json()["id"]
    grant = await client.post(f"/api/v1/users/{account}/roles", json={"role": "hub_coordinator", "hub_code": "east"}, headers=bearer(admin))
    assert grant.status_code == 201
    issued = await client.post(f"/api/v1/service-accounts/{account}/tokens", json={"name": "120 link", "expires_in_days": 30}, headers=bearer(admin))
    assert issued.status_code == 201
    secret = issued.json()["token"]
    listed = (await client.get(f"/api/v1/service-accounts/{account}/tokens", headers=bearer(admin))).json()
    assert [t["name"] for t in listed] == ["120 link"] and "token" not in listed[0]
    me = await client.get("/api/v1/auth/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["kind"] == "service"
    # The service account cannot log in with a password and cannot manage accounts.
    assert (await client.post("/api/v1/users", json={}, headers=bearer(secret))).status_code == 403
    revoke = await client.delete(f"/api/v1/service-accounts/{account}/tokens/{issued.json()['id']}", headers=bearer(admin))
    assert revoke.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(secret))).status_code == 401
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]
    assert actions[-4:] == ["accounts.user.create", "accounts.role.grant", "accounts.token.create", "accounts.token.revoke"]


async def test_person_accounts_get_no_api_tokens(client, make_user) -> None:
    _, admin = await make_user("admin")
    person, _ = await make_user("member")
    response = await client.post(f"/api/v1/service-accounts/{person}/tokens", json={"name": "x"}, headers=bearer(admin))
    assert response.status_code == 422


async def test_grants_only_junior_roles_within_scope(client, make_user) -> None:
    _, supervisor = await make_user("league_supervisor", unit="150400")
    target, _ = await make_user(None, unit="150426")
    peer = await client.post(f"/api/v1/users/{target}/roles", json={"role": "league_supervisor", "unit_code": "150400"}, headers=bearer(supervisor))
    assert peer.status_code == 403
    elsewhere = await client.post(f"/api/v1/users/{target}/roles", json={"role": "captain", "unit_code": "150202"}, headers=bearer(supervisor))
    assert elsewhere.status_code == 403
    both = await client.post(f"/api/v1/users/{target}/roles", json={"role": "captain", "unit_code": "150426", "hub_code": "east"}, headers=bearer(supervisor))
    assert both.status_code == 422
    ok = await client.post(f"/api/v1/users/{target}/roles", json={"role": "captain", "unit_code": "150426"}, headers=bearer(supervisor))
    assert ok.status_code == 201
    again = await client.post(f"/api/v1/users/{target}/roles", json={"role": "captain", "unit_code": "150426"}, headers=bearer(supervisor))
    assert again.status_code == 409
    assignment = ok.json()["grants"][0]["id"]
    revoked = await client.delete(f"/api/v1/users/{target}/roles/{assignment}", headers=bearer(supervisor))
    assert revoked.status_code == 200 and revoked.json()["grants"] == []


async def test_session_cookie_is_not_accepted_by_the_api(client, make_user) -> None:
    user_id, _ = await make_user("admin")
    cookie = await service.start_session(user_id, None)
    client.cookies.set("rescueops_session", cookie)
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 401
    page = await client.get("/", follow_redirects=False)
    assert page.status_code == 200


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


async def test_page_login_needs_the_csrf_token(client, make_user) -> None:
    await make_user("member", username="bater")
    form = {"username": "bater", "password": PASSWORD, "next": "/orgs"}
    rejected = await client.post("/login", data=form, follow_redirects=False)
    assert rejected.status_code == 403
    assert "rescueops_session" not in rejected.cookies
    page = await client.get("/login")
    accepted = await client.post("/login", data={**form, "_csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert accepted.status_code in (301, 302, 303) and accepted.headers["location"] == "/orgs"
    assert "rescueops_session" in accepted.cookies


async def test_login_redirect_stays_on_this_site(client, make_user) -> None:
    await make_user("member", username="bater")
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": "bater", "password": PASSWORD, "next": "//evil.example/", "_csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"
