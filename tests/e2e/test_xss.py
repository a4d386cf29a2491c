"""Script typed into free text never runs (issue 8, faults item 5): team, member, equipment, drill, deployment,
coordination, grading and first-aid training texts holding ``<img onerror>``, a ``"><script>`` break-out, an ``<svg onload>`` and
``javascript:`` links, opened in a real headless Chromium on every page that shows them.

The server is one of its own (SQLite file, in-process bus), so these records never meet the other browser tests'.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_browser import click_to_load, wait
from tests.factories import person, team_body
from tests.live_server import run_cli, serving

pytestmark = pytest.mark.e2e

# Each sets window.__xss if it runs; short enough for a 50-character name.
IMG = "<img src=x onerror=__xss=1>"
BREAK = '"><script>__xss=2</script>'
SVG = "'><svg onload=__xss=3>"
LINK = "javascript:__xss=4"
MD = "[点我](javascript:__xss=5)"
TEXTAREA = "</textarea><script>__xss=6</script>"
ALL = f"{IMG}{BREAK}{SVG} {LINK} {MD}{TEXTAREA}"
TEAM, ITEM = "CF-XSS-01", "CF-XSS-RADIO-1"
# First-aid training records begin every free text with this (it fits a 50-character trainee name): out of a double- or
# single-quoted attribute, then an element with a handler.
TRAINING = "\"'><svg onload=__xss=7>"

# What a page must not hold: the flag set by a payload that ran, an event handler carrying one, a javascript: URL.
PROBE = """
const bad = [];
for (const el of document.querySelectorAll('*')) {
  for (const a of el.attributes) {
    const value = a.value.trim().toLowerCase();
    if ((a.name.startsWith('on') && value.includes('__xss'))
        || (['href', 'src', 'action', 'formaction', 'data', 'xlink:href'].includes(a.name) && value.startsWith('javascript:'))) {
      bad.push(el.tagName + ' ' + a.name + '=' + a.value);
    }
  }
}
return {ran: window.__xss, bad: bad, shown: document.body.innerText.includes('__xss')};
"""


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


class Api:
    def __init__(self, base: str, username: str):
        self.http = httpx.Client(base_url=base, timeout=30)
        token = self.http.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, body: dict | None = None, **extra):
        response = self.http.request(method, path, json=body, **extra)
        assert response.is_success, (method, path, response.status_code, response.text[:500])
        return response.json() if response.content else None


def _user(admin: Api, username: str, role: str, **scope: str) -> Api:
    user = admin("POST", "/api/v1/users", {"username": username, "display_name": f"{username} {IMG}", "password": PASSWORD,
                                           "home_unit_code": scope.get("unit_code", "150400")})
    admin("POST", f"/api/v1/users/{user['id']}/roles", {"role": role, **scope})
    return Api(str(admin.http.base_url), username)


def _records(base: str) -> dict[str, int | str]:
    """A record of every kind with the payloads in each free-text field it has, through the API."""
    admin = Api(base, "xss-admin")
    region = _user(admin, "xss-region", "region_coordinator", unit_code="150000")
    ids: dict[str, int | str] = {}
    admin("POST", "/api/v1/teams", team_body(TEAM, name_zh=f"{IMG}{BREAK}", name_en=ALL, base_address=ALL, primary_category="water_rescue"))
    people = [admin("POST", f"/api/v1/teams/{TEAM}/members", {"person": person(seq=800 + n, name=(IMG, BREAK, SVG, LINK)[n], skills=ALL,
                                                                                 emergency_contact=BREAK), "status": "active"})["id"]
              for n in range(4)]
    ids["person"] = people[0]
    ids["card"] = admin("GET", f"/api/v1/members/{people[0]}/card")["token"]
    admin("POST", f"/api/v1/members/{people[0]}/certificates", {"type_code": "rc_first_aider", "issued_on": "2025-06-01", "number": BREAK})
    admin("POST", f"/api/v1/members/{people[0]}/insurance", {"insurer": IMG, "policy_number": BREAK, "starts_on": "2025-01-01",
                                                             "ends_on": "2027-12-31"})
    admin("POST", f"/api/v1/members/{people[1]}/hours", {"worked_on": datetime.now(UTC).date().isoformat(), "hours": "2", "note": ALL})
    filing = admin("POST", f"/api/v1/teams/{TEAM}/filings", {"captain_id": people[0], "deputy_ids": people[1:3], "reason": ALL})
    region("POST", f"/api/v1/filings/{filing['id']}/decision", {"approve": True, "reason": ALL})
    region("POST", f"/api/v1/teams/{TEAM}/status", {"status": "active"})
    admin("POST", f"/api/v1/teams/{TEAM}/filings", {"captain_id": people[0], "deputy_ids": people[1:4], "reason": ALL})  # left pending

    admin("POST", "/api/v1/equipment/items", {"team_code": TEAM, "asset_tag": ITEM, "type_code": "radio", "serial_number": BREAK,
                                              "storage_location": IMG, "notes": ALL})
    admin("POST", "/api/v1/equipment/items", {"team_code": TEAM, "asset_tag": "CF-XSS-RADIO-2", "type_code": "radio"})
    admin("POST", f"/api/v1/equipment/items/{ITEM}/repairs", {"description": ALL})
    admin("POST", "/api/v1/equipment/stock/movements", {"team_code": TEAM, "type_code": "life_jacket", "kind": "receive", "quantity": 5,
                                                        "location": IMG, "note": ALL})
    admin("POST", "/api/v1/aeds", {"code": "CF-XSS-AED", "unit_code": "150426", "place_name": IMG, "address": BREAK, "lat": 42.93,
                                   "lon": 119.02, "responsible_org": SVG, "contact_name": LINK, "opening_hours": MD})

    scenario = admin("GET", "/api/v1/drills/scenarios/water_rescue_monthly_training")
    drill = admin("POST", "/api/v1/drills", {"scenario_id": scenario["id"], "organiser_team_code": TEAM, "starts_at": _later(minutes=2),
                                             "title": f"{IMG}{BREAK}", "place": ALL, "other_participants": [IMG, LINK]})[0]
    ids["drill"] = drill["id"]
    admin("POST", f"/api/v1/drills/{drill['id']}/check-ins", {"person_id": people[0]})
    admin("POST", f"/api/v1/drills/{drill['id']}/clock/start")
    admin("POST", f"/api/v1/drills/{drill['id']}/end")
    objectives = [o["id"] for o in scenario["objectives"]]
    admin("POST", f"/api/v1/drills/{drill['id']}/evaluation", {
        "evaluators": [IMG, BREAK], "strengths": [ALL],
        "ratings": [{"objective_id": o, "rating": "S", "observations": ALL} for o in objectives],
        "improvements": [{"objective_id": objectives[0], "action": ALL, "owner": IMG, "due_on": _later(days=30)[:10]}]})

    incident = admin("POST", "/api/v1/deployments/incidents", {"kind": "flood", "title": f"{IMG}{BREAK}", "place": ALL, "unit_code": "150426",
                                                               "requesting_authority": SVG, "started_at": _later(hours=-3)})
    ids["incident"] = incident["id"]
    deployment = admin("POST", f"/api/v1/deployments/incidents/{incident['id']}/deployments",
                       {"team_code": TEAM, "person_ids": people[1:3], "asset_tags": ["CF-XSS-RADIO-2"], "note": ALL})
    ids["deployment"] = deployment["id"]
    admin("POST", f"/api/v1/deployments/{deployment['id']}/status", {"status": "mobilising", "note": ALL})
    for kind in ("note", "hazard", "task"):
        admin("POST", f"/api/v1/deployments/{deployment['id']}/log", {"kind": kind, "text": ALL})
    admin("POST", f"/api/v1/deployments/{deployment['id']}/log", {"kind": "resource_request", "text": ALL, "count": 3})

    request = admin("POST", "/api/v1/coordination/requests", {
        "category": "water_rescue", "people_needed": 2, "place": ALL, "unit_code": "150426", "requester_unit_code": "150400",
        "window_from": _later(), "window_until": _later(hours=24), "notes": ALL, "incident_kind": "flood"})
    ids["request"] = request["id"]
    admin("POST", f"/api/v1/coordination/requests/{request['id']}/decline", {"reason": ALL, "hub_code": "central"})

    assessment = admin("POST", "/api/v1/grading/assessments", {"team_code": TEAM, "category": "water_rescue", "note": ALL})
    ids["assessment"] = assessment["id"]
    admin("POST", f"/api/v1/grading/assessments/{assessment['id']}/scores", {"criterion_id": "plans", "score": 8, "note": ALL})
    admin("POST", f"/api/v1/grading/assessments/{assessment['id']}/documents", None,
          files={"file": ("plan.pdf", b"%PDF-1.4 plan", "application/pdf")}, data={"title": ALL[:200], "criterion_id": "plans"})
    ids["training"] = _training_records(base, admin.http.headers["Authorization"].split(" ", 1)[1])
    return ids


def _training_records(base: str, token: str) -> dict:
    """The scope probe's Ordos training records (organisation, base, booking, instructor, examiner, session, trainees,
    scores, certificates, a revocation, a target line), every free text beginning with TRAINING, through the API."""
    import asyncio

    from tests.reliability.test_scope_probing import _training

    async def build() -> dict:
        w: dict = {}
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await _training(client, token, w, text=TRAINING)
        return w

    return asyncio.run(build())


@pytest.fixture(scope="module")
def hostile_server():
    work = Path(tempfile.mkdtemp(prefix="rescueops-xss-"))
    env = {**os.environ, "RESCUEOPS_DATABASE_URL": f"sqlite:///{work / 'xss.db'}", "RESCUEOPS_VAR_DIR": str(work / "var"),
           "RESCUEOPS_LOG_LEVEL": "WARNING"}
    run_cli(env, "db", "upgrade")
    run_cli(env, "seed", "reference")
    run_cli(env, "users", "create", "xss-admin", "--name", "管理员", "--unit", "150000", "--password-stdin", stdin=PASSWORD + "\n")
    run_cli(env, "users", "grant", "xss-admin", "admin", "--unit", "150000")
    with serving(env) as live:
        yield live.url, _records(live.url)
    shutil.rmtree(work, ignore_errors=True)


def test_no_script_typed_into_a_field_runs_on_any_page(hostile_server, browser) -> None:
    base, ids = hostile_server
    browser.delete_all_cookies()
    browser.get(base + "/login")
    browser.find_element(By.ID, "username").send_keys("xss-admin")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_to_load(browser, browser.find_element(By.ID, "login-submit"))
    wait(browser, ec.url_to_be(base + "/"))
    pages = [
        f"/teams?q={TEAM}", f"/teams/{TEAM}", f"/teams/{TEAM}/import", f"/members/{ids['person']}", f"/members/{ids['person']}/card",
        "/filings", f"/equipment?team={TEAM}", f"/equipment/items/{ITEM}", f"/s/{ITEM}", "/equipment/aeds", "/public/aeds?lat=42.93&lon=119.02",
        "/drills", f"/drills/{ids['drill']}", f"/drills/{ids['drill']}/report", f"/drills/{ids['drill']}/check-in", "/drills/improvements",
        "/deployments", f"/deployments/incidents/{ids['incident']}", f"/deployments/{ids['deployment']}",
        f"/deployments/{ids['deployment']}/report", "/coordination", "/coordination/board", f"/coordination/requests/{ids['request']}",
        "/coordination/board/fragment", f"/grading/teams/{TEAM}", f"/grading/assessments/{ids['assessment']}", "/grading", "/inbox", "/",
        f"/drills/{ids['drill']}/evaluate", f"/drills/{ids['drill']}/injects", f"/c/{ids['card']}", "/orgs/150426", "/equipment/due",
    ]
    t = ids["training"]
    from tests.reliability.test_scope_probing import UNIT, _booking_body

    week = _booking_body(t)["starts_at"][:10]
    training = [
        "/training", "/training/sessions", "/training/sessions/new", f"/training/sessions/{t['session']}",
        f"/training/sessions/{t['session']}/import", f"/training/sessions/{t['session']}/exam", "/training/certificates",
        f"/training/certificates/{t['certificate_number']}", f"/training/certificates/{t['revoked_number']}", f"/verify/{t['verify_token']}",
        f"/verify/{t['revoked_token']}", "/training/instructors", f"/training/instructors/{t['instructor']}", "/training/examiners",
        "/training/bases", f"/training/bases/{t['base']}?week={week}", f"/training/targets?unit={UNIT}&year={t['year']}",
        f"/training/progress?unit={UNIT}&year={t['year']}",
    ]
    pages += training
    # Pages that list a record of their own kind must show the payload, as text: they are not passing by leaving it out.
    quiet = {f"/teams/{TEAM}/import", "/public/aeds?lat=42.93&lon=119.02", "/grading", "/inbox", "/", f"/members/{ids['person']}/card",
             "/drills", "/coordination", f"/drills/{ids['drill']}/injects", "/orgs/150426", "/equipment/due",
             # the public page shows the masked name only (first and last characters), which no payload survives
             "/training", f"/verify/{t['verify_token']}", f"/verify/{t['revoked_token']}"}
    for path in pages:
        browser.get(base + path)
        # The load event comes after every image has loaded or failed, so any onerror has run by then.
        wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
        result = browser.execute_script(PROBE)
        assert not browser.find_elements(By.CSS_SELECTOR, "section.card.error"), (path, browser.title)  # the page itself, not an error
        assert result["ran"] is None and result["bad"] == [], (path, result)
        assert result["shown"] or path in quiet, (path, "the payload is not on the page")
    assert browser.execute_script("return typeof window.__xss") == "undefined"
