"""The API fuzzed against its own OpenAPI schema (schemathesis): no 5xx, and every response as documented.

The real server (``rescueops dev``: migrate, reference and demo data, serve) runs on a throwaway database of the
engine under test, so ids drawn for paths and bodies often hit real records. Every demo login (one per role) signs
in through the real login endpoint before the fuzzing starts; each example then goes out as one of them or
anonymously, the role picked from the example's own data. Examples are derandomized: a run is the same every time.

``make test`` draws a few examples per operation; the ``soak`` variant (``make soak``) many more, plus
schemathesis' coverage phase (every boundary and every kind of invalid value the schema allows it to derive).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks

from rescueops import demo
from tests.conftest import create_postgres_database, drop_postgres_database, postgres_url
from tests.live_server import LiveServer, serving

# No server errors; status code, content type, headers and body as the schema documents them.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# Logging out revokes the token it is sent with: it gets tokens of its own, so the others stay valid.
LOGOUT = ("DELETE", "/api/v1/auth/token")


@dataclass
class Target:
    server: LiveServer
    tokens: dict[str, str]  # demo username -> bearer token
    spare_tokens: dict[str, str]  # the same logins again, for LOGOUT only

    def headers_for(self, case: schemathesis.Case) -> dict[str, str]:
        """A login (or none) picked from the example's data: stable across runs, spread over every role."""
        logins = [None, *sorted(self.tokens)]
        data = repr((case.path_parameters, case.query, case.body)).encode()
        username = logins[hashlib.sha256(data).digest()[0] % len(logins)]
        if username is None:
            return {}
        tokens = self.spare_tokens if (case.method.upper(), case.path) == LOGOUT else self.tokens
        return {"Authorization": f"Bearer {tokens[username]}"}


def _log_in(base: str, username: str, password: str) -> str:
    request = urllib.request.Request(base + "/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access_token"]


@pytest.fixture(scope="module")
def target(engine_name: str) -> Iterator[Target]:
    """The server on a new database of the engine under test, with the demo data; tokens for every demo login."""
    work = Path(tempfile.mkdtemp(prefix="rescueops-fuzz-"))
    database = create_postgres_database("rescueops_fuzz") if engine_name == "postgres" else None
    env = {
        **os.environ,
        "RESCUEOPS_DATABASE_URL": postgres_url(database) if database else f"sqlite:///{work / 'fuzz.db'}",
        "RESCUEOPS_VAR_DIR": str(work / "var"),
        "RESCUEOPS_LOG_LEVEL": "WARNING",
        "RESCUEOPS_LOG_FORMAT": "json",  # a record per line, traceback included: what _call shows of a failing request
    }
    try:
        with serving(env, "dev", timeout=180) as server:
            logins = json.loads((work / "var" / "demo-logins.json").read_text())

            def tokens() -> dict[str, str]:
                return {login["username"]: _log_in(server.url, login["username"], login["password"]) for login in logins}

            yield Target(server, tokens(), tokens())
    finally:
        if database:
            drop_postgres_database(database)
        shutil.rmtree(work, ignore_errors=True)


def _schema(*, coverage: bool) -> schemathesis.BaseSchema:
    """The app's own schema, built in-process at collection so each operation is a test of its own (xdist spreads
    them); the server serves the same one (checked below)."""
    from rescueops.app import create_app

    config = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": coverage}}})
    return schemathesis.openapi.from_dict(create_app().openapi_schema.to_schema(), config=config)


schema = _schema(coverage=False)
soak_schema = _schema(coverage=True)


# Values naming records of the demo data, by parameter (path, query or top-level body field) name. Random codes and
# ids find nothing, so half the examples that have such a parameter take a real value: the request then reaches the
# service's rules and the success responses get checked too. Integer ids: every table's first rows exist.
_TEAMS = [demo.TEAM.code, demo.CENTRAL_TEAM.code]
_UNITS = ["150000", "150400", demo.TEAM.unit_code, demo.CENTRAL_TEAM.unit_code]
_DEPOTS = [depot.code for depot in demo.DEPOTS]
_HUBS = sorted({scope["hub_code"] for *_, scope in demo.USERS if "hub_code" in scope})
_TAGS = [tag for _, tag in demo.KIT_ITEMS + demo.CENTRAL_ITEMS] + [tag for _, _, tags in demo.DEPOT_ITEMS for tag in tags]
_IDS = st.integers(min_value=1, max_value=6)
KNOWN: dict[str, st.SearchStrategy] = {
    **{name: _IDS for name in ("assessment_id", "assignment_id", "batch_id", "certificate_id", "deployment_id", "document_id",
                               "drill_id", "entry_id", "filing_id", "incident_id", "item_id", "movement_id", "notification_id",
                               "offer_id", "person_id", "record_id", "request_id", "token_id", "transfer_id", "user_id",
                               "incident", "captain_id")},
    **{name: st.sampled_from(_TEAMS) for name in ("team_code", "team")},
    **{name: st.sampled_from(_UNITS) for name in ("unit", "under", "league", "parent", "unit_code", "parent_code")},
    **{name: st.sampled_from(_DEPOTS) for name in ("depot", "depot_code")},
    **{name: st.sampled_from(_HUBS) for name in ("hub", "region", "hub_code")},
    "code": st.sampled_from(_TEAMS + _UNITS + _DEPOTS + _HUBS),
    "asset_tag": st.sampled_from(_TAGS),
    "category": st.sampled_from([demo.TEAM.primary_category, *demo.TEAM.specialties]),
    "type_code": st.sampled_from(sorted({type_code for type_code, _ in demo.KIT_ITEMS + demo.CENTRAL_ITEMS})),
    "scenario_id": st.sampled_from(sorted(path.stem for path in (Path(__file__).parents[2] / "drills").glob("*.yaml"))),
    "kind": st.sampled_from(["certificate", "insurance"]),
}


def _known(values: object) -> st.SearchStrategy:
    """The generated values, or (as often) the same with every known parameter set to a real record."""
    known = {name: KNOWN[name] for name in values if name in KNOWN} if isinstance(values, dict) else {}
    if not known:
        return st.just(values)
    return st.one_of(st.just(values), st.fixed_dictionaries(known).map(lambda real: {**values, **real}))


for _fuzzed in (schema, soak_schema):
    _fuzzed.hook("flatmap_path_parameters")(lambda context, path_parameters: _known(path_parameters))
    _fuzzed.hook("flatmap_query")(lambda context, query: _known(query))
    _fuzzed.hook("flatmap_body")(lambda context, body: _known(body))


def test_the_server_serves_the_schema_fuzzed(target: Target) -> None:
    with urllib.request.urlopen(target.server.url + "/schema/openapi.json", timeout=30) as response:
        assert json.loads(response.read()) == schema.raw_schema


def _call(case: schemathesis.Case, target: Target) -> None:
    response = case.call(base_url=target.server.url, headers=target.headers_for(case), timeout=60)
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception:
        # Shown with the failure: the server's log lines of this request (a 500's traceback).
        request_id = response.headers.get("X-Request-ID", "")
        print("\n".join(line for line in target.server.log(200_000).splitlines() if request_id and request_id in line))
        raise


FUZZ_SETTINGS = {"derandomize": True, "database": None, "deadline": None, "suppress_health_check": list(HealthCheck)}


@schema.parametrize()
@settings(max_examples=8, **FUZZ_SETTINGS)
def test_api_conforms_to_its_schema(case: schemathesis.Case, target: Target) -> None:
    _call(case, target)


@pytest.mark.soak
@soak_schema.parametrize()
@settings(max_examples=200, **FUZZ_SETTINGS)
def test_api_conforms_to_its_schema_soak(case: schemathesis.Case, target: Target) -> None:
    _call(case, target)
