"""Every endpoint × every role × a record inside and outside the role's scope: allow or deny.

Scopes: the league supervisor holds Chifeng (150400), the county roles hold Wengniute Banner
(150426, in Chifeng), the hub coordinator holds the east hub (Chifeng, Tongliao, Hinggan,
eastern Xilingol). "In" records sit in Wengniute; "out" records sit in Donghe District of
Baotou (150202), which none of them covers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import bearer
from tests.coordination.builders import request_body
from tests.factories import make_team, person, team_body

IN_UNIT, OUT_UNIT = "150426", "150202"
ROLES = [
    "anonymous", "admin", "region_coordinator", "hub_coordinator", "league_supervisor",
    "county_officer", "logistics", "captain", "deputy_captain", "member",
]
SCOPE = {
    "admin": {"unit": "150000"},
    "region_coordinator": {"unit": "150000"},
    "hub_coordinator": {"hub": "east"},
    "league_supervisor": {"unit": "150400"},
}


@dataclass
class Endpoint:
    name: str
    method: str
    path: str  # {unit} and {user} are filled with the in- or out-of-scope record
    body: Callable[[str], Any] | None
    expect: dict[str, tuple[int, int]]  # role -> (status in scope, status out of scope)


def everyone(status: int) -> dict[str, tuple[int, int]]:
    return {role: (status, status) for role in ROLES if role != "anonymous"}


def only(allowed: dict[str, tuple[int, int]], denied: int = 403) -> dict[str, tuple[int, int]]:
    return {role: allowed.get(role, (denied, denied)) for role in ROLES if role != "anonymous"}


ASSISTANCE_VIEWERS = {r: (200, 200) for r in ("admin", "region_coordinator", "hub_coordinator", "league_supervisor")}
# Records in scope are seen by every role; out of scope only by the region-wide roles (others get 404).
SEES_IN = {r: (200, 404) for r in ROLES if r not in ("anonymous", "admin", "region_coordinator")}
SEES_BOTH = {"admin": (200, 200), "region_coordinator": (200, 200)}


def _code() -> str:
    return f"T{uuid.uuid4().hex[:8]}"


ENDPOINTS = [
    Endpoint("list units", "GET", "/api/v1/orgs/units?under={unit}", None, everyone(200)),
    Endpoint("get unit", "GET", "/api/v1/orgs/units/{unit}", None, everyone(200)),
    Endpoint("list hubs", "GET", "/api/v1/orgs/hubs", None, everyone(200)),
    Endpoint("list zones", "GET", "/api/v1/orgs/zones", None, everyone(200)),
    Endpoint(
        "create unit", "POST", "/api/v1/orgs/units",
        lambda unit: {"code": _code(), "kind": "depot", "parent_code": unit, "name_zh": "储备库", "name_en": "Depot"},
        only({"admin": (201, 201), "region_coordinator": (201, 201), "league_supervisor": (201, 403)}),
    ),
    Endpoint(
        "update unit", "PATCH", "/api/v1/orgs/units/{unit}", lambda unit: {"lat": 42.5},
        only({"admin": (200, 200), "region_coordinator": (200, 200), "league_supervisor": (200, 403)}),
    ),
    Endpoint(
        "edit hub coverage", "PUT", "/api/v1/orgs/hubs/east/coverage",
        lambda unit: {"coverage": [{"unit_code": "150400", "role": "primary"}], "reason": "test"},
        only({"admin": (200, 200), "region_coordinator": (200, 200)}),
    ),
    Endpoint(
        "list users", "GET", "/api/v1/users", None,
        only({r: (200, 200) for r in ("admin", "region_coordinator", "hub_coordinator", "league_supervisor", "county_officer")}),
    ),
    Endpoint(
        "get user", "GET", "/api/v1/users/{user}", None,
        only({"admin": (200, 200), "region_coordinator": (200, 200), "hub_coordinator": (200, 404),
              "league_supervisor": (200, 404), "county_officer": (200, 404)}),
    ),
    Endpoint(
        "create user", "POST", "/api/v1/users",
        lambda unit: {"username": f"u{uuid.uuid4().hex[:8]}", "display_name": "新队员", "password": "long enough pw", "home_unit_code": unit},
        only({"admin": (201, 201), "region_coordinator": (201, 201), "league_supervisor": (201, 403), "county_officer": (201, 403)}),
    ),
    Endpoint(
        "grant role", "POST", "/api/v1/users/{user}/roles", lambda unit: {"role": "captain", "unit_code": unit},
        only({"admin": (201, 201), "region_coordinator": (201, 201), "league_supervisor": (201, 404), "county_officer": (201, 404)}),
    ),
    Endpoint(
        "read audit log", "GET", "/api/v1/audit", None,
        only({"admin": (200, 200), "region_coordinator": (200, 200), "league_supervisor": (200, 200)}),
    ),
    Endpoint(
        "create service account", "POST", "/api/v1/service-accounts",
        lambda unit: {"username": f"svc{uuid.uuid4().hex[:6]}", "display_name": "120 调度", "home_unit_code": unit},
        only({"admin": (201, 201)}),
    ),
    Endpoint("get hub", "GET", "/api/v1/orgs/hubs/east", None, everyone(200)),
    Endpoint("who am I", "GET", "/api/v1/auth/me", None, everyone(200)),
    Endpoint("set my language", "PUT", "/api/v1/auth/me/locale", lambda unit: {"locale": "en"}, everyone(200)),
    Endpoint(
        "revoke role", "DELETE", "/api/v1/users/{user}/roles/{assignment}", None,
        only({"admin": (200, 200), "region_coordinator": (200, 200), "league_supervisor": (200, 404), "county_officer": (200, 404)}),
    ),
    Endpoint(
        "unlock user", "POST", "/api/v1/users/{user}/unlock", None,
        only({"admin": (200, 200), "region_coordinator": (200, 200), "league_supervisor": (200, 404), "county_officer": (200, 404)}),
    ),
    Endpoint("list service tokens", "GET", "/api/v1/service-accounts/{service}/tokens", None, only({"admin": (200, 200)})),
    Endpoint(
        "issue service token", "POST", "/api/v1/service-accounts/{service}/tokens", lambda unit: {"name": "link"},
        only({"admin": (201, 201)}),
    ),
    Endpoint("revoke service token", "DELETE", "/api/v1/service-accounts/{service}/tokens/{token}", None, only({"admin": (204, 204)})),
    Endpoint("log out", "DELETE", "/api/v1/auth/token", None, everyone(204)),
    # Teams and members: "in" is a team under Wengniute Banner, "out" one under Donghe District.
    Endpoint("list teams", "GET", "/api/v1/teams", None, everyone(200)),
    Endpoint("get team", "GET", "/api/v1/teams/{team}", None, SEES_BOTH | SEES_IN),
    Endpoint(
        "register team", "POST", "/api/v1/teams", lambda unit: team_body(f"T-{uuid.uuid4().hex[:6]}", unit),
        only({"admin": (201, 201), "region_coordinator": (201, 201), "league_supervisor": (201, 403), "county_officer": (201, 403)}),
    ),
    Endpoint(
        "change team status", "POST", "/api/v1/teams/{team}/status", lambda unit: {"status": "exited", "reason": "测试撤销"},
        only({"admin": (200, 200), "region_coordinator": (200, 200), "league_supervisor": (200, 404), "county_officer": (200, 404)}),
    ),
    Endpoint("team roster", "GET", "/api/v1/teams/{team}/roster", None, SEES_BOTH | SEES_IN),
    Endpoint(
        "add member", "POST", "/api/v1/teams/{team}/members", lambda unit: {"person": person(), "status": "active"},
        only({**{r: (201, 201) for r in ("admin", "region_coordinator")},
              **{r: (201, 404) for r in ("league_supervisor", "county_officer", "captain", "deputy_captain")}}),
    ),
    Endpoint("get member", "GET", "/api/v1/members/{person}", None, SEES_BOTH | SEES_IN),
    Endpoint(
        "add certificate", "POST", "/api/v1/members/{person}/certificates", lambda unit: {"type_code": "cpr_aed", "issued_on": "2025-01-01"},
        only({**{r: (201, 201) for r in ("admin", "region_coordinator")},
              **{r: (201, 404) for r in ("league_supervisor", "county_officer", "captain", "deputy_captain")}}),
    ),
    Endpoint("list filings", "GET", "/api/v1/filings", None, everyone(200)),
    # Deployments: "in" is a deployment of the team under Wengniute to an incident there, "out" one under Donghe.
    Endpoint("list deployments", "GET", "/api/v1/deployments", None, everyone(200)),
    Endpoint("get deployment", "GET", "/api/v1/deployments/{deployment}", None, SEES_BOTH | SEES_IN),
    Endpoint(
        "record incident", "POST", "/api/v1/deployments/incidents",
        lambda unit: {"kind": "flood", "title": "测试洪涝", "place": "测试嘎查", "unit_code": unit, "started_at": "2026-07-01T08:00:00+08:00"},
        only({r: (201, 201) for r in ("admin", "region_coordinator", "hub_coordinator", "league_supervisor", "county_officer",
                                      "captain", "deputy_captain")}),
    ),
    Endpoint(
        "add deployment log entry", "POST", "/api/v1/deployments/{deployment}/log", lambda unit: {"kind": "note", "text": "测试记录"},
        only({**{r: (201, 201) for r in ("admin", "region_coordinator")},
              **{r: (201, 404) for r in ("hub_coordinator", "league_supervisor", "county_officer", "captain", "deputy_captain")},
              **{r: (403, 404) for r in ("logistics", "member")}}),
    ),
    # Cross-region assistance: a league or hub asks for places in its area, the region anywhere; coordinators follow the board.
    Endpoint("list assistance requests", "GET", "/api/v1/coordination/requests", None, only(ASSISTANCE_VIEWERS)),
    Endpoint("assistance board", "GET", "/api/v1/coordination/board", None, only(ASSISTANCE_VIEWERS)),
    Endpoint(
        "ask for assistance", "POST", "/api/v1/coordination/requests", lambda unit: request_body(unit),
        only({"admin": (201, 201), "region_coordinator": (201, 201), "hub_coordinator": (201, 403), "league_supervisor": (201, 403)}),
    ),
    # Grading: anyone reads rubrics and, within scope, a team's grade and gap; readiness is for supervising roles;
    # rubrics are changed by the region and the leagues (a new version each time, here the grade validity).
    Endpoint("list rubrics", "GET", "/api/v1/grading/rubrics", None, everyone(200)),
    Endpoint("team grading", "GET", "/api/v1/grading/teams/{team}", None, SEES_BOTH | SEES_IN),
    Endpoint("team evaluation", "GET", "/api/v1/grading/teams/{team}/evaluation?category=search_rescue", None, SEES_BOTH | SEES_IN),
    Endpoint("readiness dashboard", "GET", "/api/v1/grading/dashboard", None,
             only({r: (200, 200) for r in ("admin", "region_coordinator", "hub_coordinator", "league_supervisor", "county_officer")})),
    Endpoint(
        "edit a rubric", "PUT", "/api/v1/grading/rubrics/water_rescue",
        lambda unit: {"reason": "调整等级有效期", "validity_months": 24 if unit == IN_UNIT else 48},
        only({r: (200, 200) for r in ("admin", "region_coordinator", "league_supervisor")}),
    ),
]


async def _records(unit: str) -> dict[str, int]:
    """A user with a role assignment, and a service account with a token, homed at ``unit``."""
    from rescueops.accounts import service
    from rescueops.accounts.schemas import ApiTokenCreate, GrantIn, ServiceAccountCreate, UserCreate
    from rescueops.deployments import service as deployments
    from rescueops.deployments.schemas import DispatchIn, IncidentIn

    user = await service.create_user(
        None, UserCreate(username=f"t{uuid.uuid4().hex[:8]}", display_name="队员", password="long enough pw", home_unit_code=unit)
    )
    user = await service.grant_role(None, user.id, GrantIn(role="member", unit_code=unit))
    account = await service.create_service_account(
        None, ServiceAccountCreate(username=f"s{uuid.uuid4().hex[:8]}", display_name="系统", home_unit_code=unit)
    )
    token = await service.create_api_token(None, account.id, ApiTokenCreate(name="t"))
    team = await make_team(f"T{uuid.uuid4().hex[:8]}", unit=unit, members=1)
    incident = await deployments.open_incident(None, IncidentIn(kind="flood", title="测试洪涝", place="测试嘎查", unit_code=unit,
                                                                started_at=datetime.now(UTC)))
    deployment = await deployments.dispatch_team(None, incident.id, DispatchIn(team_code=team["code"]))
    return {"user": user.id, "assignment": user.grants[0].id, "service": account.id, "token": token.id,
            "team": team["code"], "person": team["people"][0], "deployment": deployment.id}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("role", ROLES)
async def test_access(client, make_user, endpoint: Endpoint, role: str) -> None:
    records = {"in": await _records(IN_UNIT), "out": await _records(OUT_UNIT)}
    headers = {}
    for where, unit in (("in", IN_UNIT), ("out", OUT_UNIT)):
        if role != "anonymous":  # a fresh caller each time: logging out must not spoil the second request
            _, token = await make_user(role, **SCOPE.get(role, {"unit": IN_UNIT}))
            headers = bearer(token)
        path = endpoint.path.format(unit=unit, **records[where])
        body = endpoint.body(unit) if endpoint.body else None
        response = await client.request(endpoint.method, path, json=body, headers=headers)
        expected = 401 if role == "anonymous" else endpoint.expect[role][0 if where == "in" else 1]
        assert response.status_code == expected, f"{role} {where}-of-scope {endpoint.method} {path}: {response.text}"
        if expected >= 400:
            assert response.json()["code"] in {"not_authenticated", "forbidden", "not_found"}
