"""Authorisation probing across scopes (issue 8, faults item 5).

Ordos (west hub) has a record of every kind: a team with members, certificates, a scan, insurance, hours, a pending
leadership filing and roster import, equipment (items, a kit, stock, a transfer, a scrap request, an AED), a drill with
its injects and improvements, a grading assessment with a document, an incident and a deployment with its log, an
assistance request with an offer, a user with a role, a service account with a token, a notification, audit entries;
and first-aid training (issue 9): an organisation, a base with a booking, an instructor, an examiner, a session they
teach and examine with its trainees, attendance, scores, certificates (one revoked), a pending trainee list, a target line.
Users of the east — a Chifeng league supervisor, the east hub's coordinator, a Chifeng captain, a Chifeng training officer
and examiner — then call every API route with those records' ids (and, for lists, with Ordos as the filter). Each answer
naming an Ordos record is 403 or 404, each list leaves them out, no response mentions one, and no row in any table has
changed (the audit log may record the probers' own exports, nothing else). The public certificate check is open to
anyone by design: it answers with exactly the fields docs/training.md lists, none of them Ordos text.

``ROUTES`` classifies every API route; the test walks ``app.routes``, so a new route fails it until it is classified.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.routes import HTTPRoute
from pydantic import BaseModel

from rescueops.calendar import china_today
from tests.conftest import bearer
from tests.factories import person, team_body

# In every free-text field of the Ordos records (and in their codes): no answer to an east user may contain them.
SECRET = "鄂秘"
TEAM, OTHER_TEAM = "OR-DS-01", "OR-DS-02"
UNIT, LEAGUE = "150602", "150600"
ITEM, KIT, OUT_ITEM = "OR-DS-RADIO-1", "OR-DS-KIT-1", "OR-DS-ROPE-1"
AED = "OR-DS-AED-1"
BASE = "OR-DS-BASE-1"
MARKERS = (SECRET, "OR-DS")
PDF = b"%PDF-1.4 " + SECRET.encode()


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _call(client, token: str, method: str, path: str, body: dict | None = None, **extra):
    response = await client.request(method, path, json=body, headers=bearer(token), **extra)
    assert response.is_success, (method, path, response.status_code, response.text[:500])
    return response.json() if response.content and response.headers.get("content-type", "").startswith("application/json") else None


async def _ordos(client, make_user) -> dict[str, Any]:
    """Every kind of record, in Ordos, built through the API (the inbox and an improvement item through their services)."""
    from rescueops.drills.tables import Drill, ImprovementItem, InjectDelivery
    from rescueops.events import service as events
    from rescueops.events.bus import drain
    from rescueops.teams.tables import Team
    from tests.coordination.builders import request_body, rescue_team

    admin_id, admin = await make_user("admin", username="probe-admin")
    w: dict[str, Any] = {"admin": admin, "team": TEAM, "unit": UNIT, "league": LEAGUE, "item": ITEM, "kit": KIT, "aed": AED}
    for code in (TEAM, OTHER_TEAM):
        await _call(client, admin, "POST", "/api/v1/teams", team_body(code, UNIT, name_zh=f"{SECRET}东胜区红十字水上救援队", primary_category="water_rescue",
                                                                      base_address=SECRET))
    people = []
    for n in range(4):
        joined = await _call(client, admin, "POST", f"/api/v1/teams/{TEAM}/members",
                             {"person": person(name=f"{SECRET}{n}", skills=SECRET, emergency_contact=SECRET), "status": "active"})
        people.append(joined["id"])
    w["people"], w["person"] = people, people[0]
    w["certificate"] = (await _call(client, admin, "POST", f"/api/v1/members/{people[0]}/certificates",
                                    {"type_code": "rc_first_aider", "issued_on": "2025-06-01", "number": SECRET}))["id"]
    await _call(client, admin, "PUT", f"/api/v1/members/{people[0]}/scans/certificate/{w['certificate']}", None,
                files={"file": ("scan.pdf", PDF, "application/pdf")})
    w["insurance"] = (await _call(client, admin, "POST", f"/api/v1/members/{people[0]}/insurance",
                                  {"insurer": SECRET, "policy_number": f"{SECRET}-1", "starts_on": "2025-01-01", "ends_on": "2027-12-31"}))["id"]
    w["hours"] = (await _call(client, admin, "POST", f"/api/v1/members/{people[1]}/hours",
                              {"worked_on": str(china_today()), "hours": "2", "note": f"{SECRET} 值班"}))["id"]
    w["card"] = (await _call(client, admin, "GET", f"/api/v1/members/{people[0]}/card"))["token"]
    await Team.update({Team.status: "active"}).where(Team.code == TEAM)  # as factories.make_team does: leadership aside
    w["filing"] = (await _call(client, admin, "POST", f"/api/v1/teams/{TEAM}/filings",
                               {"captain_id": people[0], "deputy_ids": people[1:3], "reason": f"{SECRET} 组建"}))["id"]
    roster = "姓名*,性别*,身份证号*\n" + f"{SECRET}导入,男,{person(900)['id_number']}\n"
    w["batch"] = (await _call(client, admin, "POST", f"/api/v1/teams/{TEAM}/roster/import", None,
                              files={"file": ("roster.csv", roster.encode(), "text/csv")}))["batch_id"]

    for tag, type_code in ((ITEM, "radio"), (OUT_ITEM, "static_rope"), ("OR-DS-RADIO-2", "radio"), ("OR-DS-RADIO-3", "radio")):
        await _call(client, admin, "POST", "/api/v1/equipment/items", {"team_code": TEAM, "asset_tag": tag, "type_code": type_code,
                                                                       "serial_number": SECRET, "notes": SECRET})
    await _call(client, admin, "POST", "/api/v1/equipment/kits", {"team_code": TEAM, "asset_tag": KIT, "template_code": "water_rescue_boat_kit",
                                                                  "asset_tags": ["OR-DS-RADIO-2"]})
    await _call(client, admin, "POST", "/api/v1/equipment/stock/movements",
                {"team_code": TEAM, "type_code": "life_jacket", "kind": "receive", "quantity": 20, "note": SECRET})
    w["movement"] = (await _call(client, admin, "GET", f"/api/v1/equipment/stock/ledger?team={TEAM}"))[0]["id"]
    w["transfer"] = (await _call(client, admin, "POST", "/api/v1/equipment/transfer-requests", {
        "source": {"team_code": TEAM}, "destination": {"team_code": OTHER_TEAM}, "stock_lines": [{"type": "life_jacket", "quantity": 2}],
        "reason": f"{SECRET} 调拨"}))["id"]
    w["scrap"] = (await _call(client, admin, "POST", "/api/v1/equipment/items/OR-DS-RADIO-3/scrap", {"reason": f"{SECRET} 报废"}))["id"]
    w["aed_unit"] = UNIT
    await _call(client, admin, "POST", "/api/v1/aeds", {"code": AED, "unit_code": UNIT, "place_name": "东胜区政务大厅", "address": "鄂尔多斯市东胜区",
                                                         "lat": 39.82, "lon": 110.0, "responsible_org": "东胜区红十字会"})

    drills = await _call(client, admin, "POST", "/api/v1/drills", {
        "scenario_id": "water_rescue_monthly_training", "organiser_team_code": TEAM, "starts_at": _later(minutes=5), "place": f"{SECRET}训练场",
        "title": f"{SECRET}演练", "lat": 39.8, "lon": 110.0})
    w["drill"] = drills[0]["id"]
    await _call(client, admin, "POST", f"/api/v1/drills/{w['drill']}/clock/start")
    w["inject"] = (await InjectDelivery.select(InjectDelivery.inject_id).where(InjectDelivery.drill == w["drill"]).first() or {}).get("inject_id", "x")
    drill_path = (await Drill.select(Drill.org_path).where(Drill.id == w["drill"]).first())["org_path"]
    w["improvement"] = (await ImprovementItem.insert(ImprovementItem(drill=w["drill"], org_path=drill_path, objective_id="boat_handling",
                                                                     action=f"{SECRET} 改进", owner=SECRET, due_on=china_today() + timedelta(days=30)))
                        .returning(ImprovementItem.id))[0]["id"]

    opened = await _call(client, admin, "POST", "/api/v1/grading/assessments", {"team_code": TEAM, "category": "water_rescue", "note": SECRET})
    w["assessment"] = opened["id"]
    with_doc = await _call(client, admin, "POST", f"/api/v1/grading/assessments/{w['assessment']}/documents", None,
                           files={"file": ("plan.pdf", PDF, "application/pdf")}, data={"title": f"{SECRET} 预案", "criterion_id": "plans"})
    w["document"] = with_doc["documents"][0]["id"]

    incident = await _call(client, admin, "POST", "/api/v1/deployments/incidents", {
        "kind": "flood", "title": f"{SECRET} 洪涝", "place": SECRET, "unit_code": UNIT, "started_at": _later(hours=-3)})
    w["incident"] = incident["id"]
    deployment = await _call(client, admin, "POST", f"/api/v1/deployments/incidents/{w['incident']}/deployments",
                             {"team_code": TEAM, "person_ids": people[1:3], "asset_tags": [OUT_ITEM], "note": SECRET})
    w["deployment"], w["deployed"] = deployment["id"], people[1]
    w["log_entry"] = (await _call(client, admin, "POST", f"/api/v1/deployments/{w['deployment']}/log", {"kind": "note", "text": SECRET}))["id"]

    admin_principal = await _principal(admin_id)
    await rescue_team(admin_principal, "UL-PR-01", "150902", lat=41.03, lon=113.11)
    _, ordos = await make_user("league_supervisor", unit=LEAGUE, username="ordos-supervisor")
    _, central = await make_user("hub_coordinator", hub="central", username="central-hub")
    w["request"] = (await _call(client, ordos, "POST", "/api/v1/coordination/requests",
                                request_body(UNIT, place=f"{SECRET} 东胜区", notes=SECRET, people_needed=2)))["id"]
    await drain()
    w["offer"] = (await _call(client, central, "POST", f"/api/v1/coordination/requests/{w['request']}/offers",
                              {"team_code": "UL-PR-01", "people": 2, "eta": _later(hours=6), "note": SECRET}))["id"]

    user = await _call(client, admin, "POST", "/api/v1/users", {"username": "ordos-officer", "display_name": f"{SECRET} 专干",
                                                                "password": "long enough password", "home_unit_code": UNIT})
    w["user"] = user["id"]
    granted = await _call(client, admin, "POST", f"/api/v1/users/{w['user']}/roles", {"role": "county_officer", "unit_code": UNIT})
    w["assignment"] = granted["grants"][0]["id"]
    account = await _call(client, admin, "POST", "/api/v1/service-accounts", {"username": "ordos-120", "display_name": f"{SECRET} 120",
                                                                              "home_unit_code": UNIT})
    w["service_account"] = account["id"]
    w["token"] = (await _call(client, admin, "POST", f"/api/v1/service-accounts/{w['service_account']}/tokens", {"name": SECRET}))["id"]
    from rescueops.db import write_transaction

    async with write_transaction():
        await events.notify([w["user"]], kind="drill.reminder", title=SECRET, body=SECRET, link="/drills", key=f"probe:{SECRET}",
                            org_path="/150000/150600/150602/")
    from rescueops.events.tables import Notification

    w["notification"] = (await Notification.select(Notification.id).where(Notification.user == w["user"]).first())["id"]
    await _training(client, admin, w)
    return w


def _trainee(seq: int, name: str) -> dict:
    p = person(seq, name=name)
    return {"name": p["name"], "gender": p["gender"], "id_number": p["id_number"], "phone": p["phone"]}


def _csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _booking_body(w: dict, text: str = SECRET) -> dict:
    """A group's visit to the Ordos base tomorrow morning (China time), within its opening hours."""
    from rescueops.calendar import CHINA

    day = datetime.now(CHINA).date() + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 10, tzinfo=CHINA)
    return {"group_name": f"{text}参观团", "contact_name": f"{text}联系人", "contact_phone": "13900001111", "people": 10,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(), "purpose": "visit"}


async def _training(client, admin: str, w: dict[str, Any], text: str = SECRET) -> None:
    """First-aid training in Ordos, through the API: an organisation, a base with a booking, an instructor, an examiner,
    a junior first-aider session they teach and examine, three trainees (attended, scored, two certified, one of those
    revoked), a pending trainee list, a target line. ``text`` begins every free text (and the trainees' names)."""
    from rescueops.calendar import china_today

    t = "/api/v1/training"
    w["year"], day = china_today().year, china_today() - timedelta(days=3)
    w["session_day"] = str(day)
    w["organisation"] = (await _call(client, admin, "POST", f"{t}/organisations", {
        "unit_code": UNIT, "name": f"{text}东胜区第一中学", "kind": "school", "sector": "campus"}))["id"]
    await _call(client, admin, "POST", f"{t}/bases", {
        "code": BASE, "unit_code": UNIT, "kind": "experience_hall", "name_zh": f"{text}生命安全体验馆", "name_en": text,
        "address": f"{text}路1号", "capacity": 40, "opening": {str(d): ["00:00", "23:59"] for d in range(1, 8)}})
    w["base"] = BASE
    w["booking"] = (await _call(client, admin, "POST", f"{t}/bases/{BASE}/bookings", _booking_body(w, text)))["id"]
    w["instructor"] = (await _call(client, admin, "POST", f"{t}/instructors", {
        "id_number": person(710)["id_number"], "name": f"{text}教员", "unit_code": UNIT, "kind": "full_time",
        "qualification_number": f"{text}-SZ", "qualified_on": str(day - timedelta(days=400))}))["id"]
    w["examiner"] = (await _call(client, admin, "POST", f"{t}/examiners", {
        "id_number": person(711)["id_number"], "name": f"{text}考官", "unit_code": LEAGUE, "qualification_number": f"{text}-KG"}))["id"]
    code = (await _call(client, admin, "POST", f"{t}/sessions", {
        "course_code": "junior_first_aider", "unit_code": UNIT, "organisation_id": w["organisation"], "sector": "campus", "base_code": BASE,
        "place": f"{text}礼堂", "title": f"{text}教师初级救护员培训", "starts_on": str(day), "ends_on": str(day), "capacity": 30}))["code"]
    w["session"] = code
    s = f"{t}/sessions/{code}"
    await _call(client, admin, "POST", f"{s}/status", {"status": "running"})
    await _call(client, admin, "POST", f"{s}/instructors", {"instructor_id": w["instructor"], "hours": "8"})
    enrolments = [(await _call(client, admin, "POST", f"{s}/enrolments", _trainee(720 + n, f"{text}学员{n}")))["id"] for n in range(3)]
    w["enrolment"] = enrolments[0]
    await _call(client, admin, "PUT", f"{s}/attendance", {"day": str(day), "entries": [{"enrolment_id": e, "hours": "8"} for e in enrolments]})
    await _call(client, admin, "POST", f"{s}/exam/sittings", {"examiner_id": w["examiner"], "held_on": str(day)})
    await _call(client, admin, "PUT", f"{s}/exam/sittings/1/scores", {"scores": [
        {"enrolment_id": e, "theory": score, "practical": score} for e, score in zip(enrolments, (90, 85, 30), strict=True)]})
    numbers = (await _call(client, admin, "POST", f"{s}/certificates"))["numbers"]
    w["certificate_number"], revoked = numbers
    w["revoked_number"] = revoked
    await _call(client, admin, "POST", f"{t}/certificates/{revoked}/revocation", {"reason": f"{text} 冒名顶替"})
    for number, key in ((w["certificate_number"], "verify_token"), (revoked, "revoked_token")):
        w[key] = (await _call(client, admin, "GET", f"{t}/certificates/{number}"))["verify_url"].rsplit("/", 1)[1]
    w["holder"] = f"{text}学员0"
    trainees = _csv([["姓名*", "性别*", "身份证号*"], [f"{text}导入学员", "男", person(730)["id_number"]]])
    w["training_batch"] = (await _call(client, admin, "POST", f"{s}/enrolments/import", None,
                                       files={"file": ("trainees.csv", trainees, "text/csv")}))["batch_id"]
    table = _csv([["单位", "持证培训总数", "初级救护员", "普及培训"], [f"{text}东胜区第一中学", 10, 5, 100]])
    await _call(client, admin, "POST", f"{t}/targets/import", None, files={"file": ("targets.csv", table, "text/csv")},
                data={"unit": UNIT, "year": str(w["year"]), "commit": "true"})
    w["target"] = (await _call(client, admin, "GET", f"{t}/targets?unit={UNIT}&year={w['year']}"))["lines"][0]["id"]


async def _principal(user_id: int):
    from rescueops.accounts import service

    return await service.load_principal(user_id)


# --- what each route is, and how to probe it -------------------------------------------------------------------


@dataclass(frozen=True)
class ById:
    """A route naming an Ordos record (in its path, query or body): every east user gets 403 or 404 and learns nothing.

    ``body`` (given the world) is a valid request body, so the refusal is the scope's and not the schema's;
    ``allowed`` widens the accepted answers where a route refuses without a scope check of its own (e.g. 422 naming
    what it cannot see, in the same words as for a record that does not exist)."""

    params: dict[str, str] = field(default_factory=dict)  # path parameter -> world key (or a literal after "=")
    body: Callable[[dict], dict] | None = None
    files: bool = False
    form: Callable[[dict], dict] | None = None  # multipart fields sent with the file
    query: Callable[[dict], dict] | None = None
    allowed: frozenset[int] = frozenset({403, 404})
    visible_to: frozenset[str] = frozenset()  # probe users who may see it by design (with the reason in ``why``)
    why: str = ""


@dataclass(frozen=True)
class Listing:
    """A route listing records: asked as is and with Ordos as its filters, it lists none of them (or refuses)."""

    query: Callable[[dict], dict] | None = None  # the Ordos filters (default: every filter name the lists use)
    base: Callable[[dict], dict] | None = None  # parameters the route needs anyway
    visible_to: frozenset[str] = frozenset()
    why: str = ""


@dataclass(frozen=True)
class Public:
    """Open to anyone by design (no sign-in): every east user gets 200 and exactly the fields ``shows``, none holding an
    Ordos free text or code (docs/training.md: status, judged-on day, certificate and course names, dates, masked name)."""

    params: dict[str, str] = field(default_factory=dict)
    body: Callable[[dict], dict] | None = None
    shows: frozenset[str] = frozenset()
    why: str = ""


@dataclass(frozen=True)
class Unscoped:
    """Not a record of a place: reference data, the organisation tree, the caller's own session. Not probed."""

    why: str


def by_id(**params: str) -> Callable[..., ById]:
    return lambda **options: ById(params=params, **options)


def _body(**fields: Any) -> Callable[[dict], dict]:
    """A body whose values may name world keys: ``"@team"`` is w["team"]."""
    def build(w: dict) -> dict:
        return {k: (w[v[1:]] if isinstance(v, str) and v.startswith("@") else v) for k, v in fields.items()}
    return build


TEAM_FILTERS = _body(team="@team", unit="@unit", league="@league", under="@unit", area="@league", region="west", incident="@incident",
                     aggregate_id="@team", entity_id="@team", depot="150600-D01", hub="west")
REASON = _body(reason="理由写得足够长，至少十个字")
# The training lists' filters, Ordos as each: a unit's subtree, a base.
TRAINING_FILTERS = _body(unit="@unit", base="@base")
UNIT_YEAR = lambda w: {"unit": UNIT, "year": w["year"]}  # noqa: E731
# What the public certificate check shows (docs/training.md, "The printed certificate and public verification").
PUBLIC_CERTIFICATE = frozenset({"status", "judged_on", "certificate_name_zh", "certificate_name_en", "course_name_zh", "course_name_en",
                                "issued_on", "expires_on", "holder"})
VERIFY = "the printed QR opens it for anyone: validity, course, dates and a masked name only (training.certificates.verify_token)"
ORDOS_TEAM_BODY = team_body(TEAM.replace("01", "09"), UNIT, name_zh=f"{SECRET}新队")
HUB_SEES = frozenset({"hub"})
EVERY_HUB = "every hub receives every assistance request, to rank and offer its own teams (coordination.service._may_view)"

ROUTES: dict[str, ById | Listing | Unscoped] = {
    # accounts
    "POST /api/v1/auth/token": Unscoped("logging in"),
    "DELETE /api/v1/auth/token": Unscoped("logging out: the caller's own token"),
    "GET /api/v1/auth/me": Unscoped("the caller's own account"),
    "PUT /api/v1/auth/me/locale": Unscoped("the caller's own language"),
    "GET /api/v1/users": Listing(),
    "POST /api/v1/users": ById(body=_body(username="probe-new", display_name="x", password="long enough password", home_unit_code="@unit")),
    "GET /api/v1/users/{user_id:int}": by_id(user_id="user")(),
    "POST /api/v1/users/{user_id:int}/roles": by_id(user_id="user")(body=_body(role="member", unit_code="@unit")),
    "DELETE /api/v1/users/{user_id:int}/roles/{assignment_id:int}": by_id(user_id="user", assignment_id="assignment")(),
    "POST /api/v1/users/{user_id:int}/unlock": by_id(user_id="user")(),
    "POST /api/v1/service-accounts": ById(body=_body(username="probe-sa", display_name="x", home_unit_code="@unit")),
    "GET /api/v1/service-accounts/{user_id:int}/tokens": by_id(user_id="service_account")(),
    "POST /api/v1/service-accounts/{user_id:int}/tokens": by_id(user_id="service_account")(body=_body(name="probe")),
    "DELETE /api/v1/service-accounts/{user_id:int}/tokens/{token_id:int}": by_id(user_id="service_account", token_id="token")(),
    "GET /api/v1/audit": Listing(query=_body(entity="team", entity_id="@team")),
    # organisation
    "GET /api/v1/orgs/units": Unscoped("the organisation tree is not secret (accounts.access._EVERYONE: orgs.view)"),
    "POST /api/v1/orgs/units": ById(body=_body(code="150602-D09", kind="depot", parent_code="@unit", name_zh="仓库", name_en="Depot")),
    "GET /api/v1/orgs/units/{code:str}": Unscoped("the organisation tree is not secret"),
    "PATCH /api/v1/orgs/units/{code:str}": by_id(code="unit")(body=_body(name_zh=f"{SECRET}区")),
    "GET /api/v1/orgs/hubs": Unscoped("the hubs and their coverage are not secret"),
    "GET /api/v1/orgs/hubs/{code:str}": Unscoped("the hubs and their coverage are not secret"),
    "PUT /api/v1/orgs/hubs/{code:str}/coverage": by_id(code="=west")(body=_body(coverage=[{"unit_code": "150600", "role": "primary"}],
                                                                                reason="调整覆盖")),
    "GET /api/v1/orgs/zones": Unscoped("cooperation zones are reference data"),
    # teams
    "GET /api/v1/teams/categories": Unscoped("reference data"),
    "GET /api/v1/teams": Listing(query=TEAM_FILTERS),
    "POST /api/v1/teams": ById(body=lambda w: ORDOS_TEAM_BODY),
    "GET /api/v1/teams/{code:str}": by_id(code="team")(),
    "PUT /api/v1/teams/{code:str}": by_id(code="team")(body=lambda w: {k: v for k, v in ORDOS_TEAM_BODY.items() if k not in ("code", "unit_code")}),
    "POST /api/v1/teams/{code:str}/status": by_id(code="team")(body=_body(status="suspended", reason=f"{SECRET} 停")),
    "GET /api/v1/teams/{code:str}/status-history": by_id(code="team")(),
    "POST /api/v1/teams/{code:str}/filings": by_id(code="team")(body=lambda w: {"captain_id": w["people"][0], "deputy_ids": w["people"][1:3],
                                                                               "reason": "再次备案"}),
    "GET /api/v1/filings": Listing(query=TEAM_FILTERS),
    "GET /api/v1/filings/{filing_id:int}": by_id(filing_id="filing")(),
    "POST /api/v1/filings/{filing_id:int}/decision": by_id(filing_id="filing")(body=_body(approve=True)),
    # members
    "GET /api/v1/teams/{code:str}/roster": by_id(code="team")(),
    "POST /api/v1/teams/{code:str}/members": by_id(code="team")(body=lambda w: {"person": person(950), "status": "active"}),
    "GET /api/v1/teams/{code:str}/hours": by_id(code="team")(),
    "GET /api/v1/teams/{code:str}/roster/template.xlsx": Unscoped("the empty import template, the same for every team"),
    "GET /api/v1/teams/{code:str}/roster/export": by_id(code="team")(query=_body(format="csv")),
    "POST /api/v1/teams/{code:str}/roster/import": by_id(code="team")(files=True),
    "POST /api/v1/teams/{code:str}/roster/import/{batch_id:int}/commit": by_id(code="team", batch_id="batch")(),
    "GET /api/v1/members/certificate-types": Unscoped("reference data"),
    "GET /api/v1/members/{person_id:int}": by_id(person_id="person")(query=_body(unmask="true")),
    "PUT /api/v1/members/{person_id:int}": by_id(person_id="person")(body=_body(name=f"{SECRET}改")),
    "POST /api/v1/members/{person_id:int}/status": by_id(person_id="person")(body=_body(status="inactive", reason="停")),
    "GET /api/v1/members/{person_id:int}/certificates": by_id(person_id="person")(),
    "POST /api/v1/members/{person_id:int}/certificates": by_id(person_id="person")(body=_body(type_code="cpr_aed", issued_on="2025-01-01")),
    "DELETE /api/v1/members/{person_id:int}/certificates/{certificate_id:int}": by_id(person_id="person", certificate_id="certificate")(),
    "POST /api/v1/members/{person_id:int}/insurance": by_id(person_id="person")(body=_body(insurer="人保财险", policy_number="p-2", starts_on="2025-01-01",
                                                                                           ends_on="2026-01-01")),
    "PUT /api/v1/members/{person_id:int}/scans/{kind:str}/{record_id:int}": by_id(person_id="person", kind="=certificate", record_id="certificate")(
        files=True),
    "GET /api/v1/members/{person_id:int}/scans/{kind:str}/{record_id:int}": by_id(person_id="person", kind="=certificate",
                                                                                    record_id="certificate")(),
    "PUT /api/v1/members/{person_id:int}/account": by_id(person_id="person")(body=_body(username=None)),
    "POST /api/v1/members/{person_id:int}/hours": by_id(person_id="person")(body=lambda w: {"worked_on": str(china_today()), "hours": "1",
                                                                                             "note": "加班"}),
    "GET /api/v1/members/{person_id:int}/card": by_id(person_id="person")(),
    "GET /api/v1/members/{person_id:int}/card.svg": by_id(person_id="person")(),
    "GET /api/v1/members/{person_id:int}/card.png": by_id(person_id="person")(),
    "POST /api/v1/members/{person_id:int}/card/revoke": by_id(person_id="person")(),
    "POST /api/v1/members/cards/verify": Unscoped("a card is shown in person: whoever scans it learns the name and team, by design"),
    "POST /api/v1/hours/{entry_id:int}/decision": by_id(entry_id="hours")(body=_body(approve=True)),
    # equipment
    "GET /api/v1/equipment/types": Unscoped("the catalogue"),
    "GET /api/v1/equipment/kit-templates": Unscoped("the catalogue"),
    "GET /api/v1/equipment/items/template.xlsx": Unscoped("the empty import template"),
    "GET /api/v1/equipment/depots": Unscoped("reserve depots serve every region: whoever may view equipment sees them (architecture.md)"),
    "GET /api/v1/equipment/items": Listing(query=TEAM_FILTERS),
    "POST /api/v1/equipment/items": ById(body=_body(team_code="@team", asset_tag="OR-DS-NEW-1", type_code="radio")),
    "GET /api/v1/equipment/items/{asset_tag:str}": by_id(asset_tag="item")(),
    "GET /api/v1/equipment/items/{asset_tag:str}/history": by_id(asset_tag="item")(),
    "GET /api/v1/equipment/items/{asset_tag:str}/timeline": by_id(asset_tag="item")(),
    "GET /api/v1/equipment/items/{asset_tag:str}/label.png": by_id(asset_tag="item")(),
    "POST /api/v1/equipment/items/{asset_tag:str}/check-out": by_id(asset_tag="item")(body=_body(kind="member", person_id=1)),
    "POST /api/v1/equipment/items/{asset_tag:str}/check-in": by_id(asset_tag="=OR-DS-ROPE-1")(body=_body(condition="ok")),
    "POST /api/v1/equipment/items/{asset_tag:str}/inspections": by_id(asset_tag="item")(body=_body(results={"外观": True})),
    "POST /api/v1/equipment/items/{asset_tag:str}/repairs": by_id(asset_tag="item")(body=_body(description="维修")),
    "POST /api/v1/equipment/items/{asset_tag:str}/repairs/finish": by_id(asset_tag="item")(body=_body(description="修好")),
    "POST /api/v1/equipment/items/{asset_tag:str}/scrap": by_id(asset_tag="item")(body=REASON),
    "POST /api/v1/equipment/items/import": ById(files=True, query=_body(team="@team")),
    "POST /api/v1/equipment/labels": ById(body=_body(asset_tags=[ITEM]), allowed=frozenset({403, 404, 422})),
    "GET /api/v1/equipment/kits/{asset_tag:str}": by_id(asset_tag="kit")(),
    "POST /api/v1/equipment/kits": ById(body=_body(team_code="@team", asset_tag="OR-DS-KIT-9", template_code="water_rescue_boat_kit")),
    "POST /api/v1/equipment/kits/{asset_tag:str}/pack": by_id(asset_tag="kit")(body=_body(asset_tags=[ITEM])),
    "POST /api/v1/equipment/kits/{asset_tag:str}/unpack": by_id(asset_tag="kit")(body=_body(asset_tags=["OR-DS-RADIO-2"])),
    "GET /api/v1/equipment/teams/{code:str}/kits": by_id(code="team")(),
    "GET /api/v1/equipment/stock": Listing(query=_body(team="@team")),
    "GET /api/v1/equipment/stock/ledger": Listing(query=_body(team="@team")),
    "POST /api/v1/equipment/stock/movements": ById(body=_body(team_code="@team", type_code="life_jacket", kind="issue", quantity=1)),
    "POST /api/v1/equipment/stock/movements/{movement_id:int}/correction": by_id(movement_id="movement")(body=_body(quantity=19, note="更正")),
    "POST /api/v1/equipment/stock/transfers": ById(body=lambda w: {"type_code": "life_jacket", "source": {"team_code": TEAM},
                                                                   "destination": {"team_code": OTHER_TEAM}, "quantity": 1}),
    "GET /api/v1/equipment/due": Listing(query=_body(team="@team")),
    "GET /api/v1/equipment/overdue": Listing(query=_body(team="@team")),
    "GET /api/v1/equipment/transfer-requests": Listing(),
    "POST /api/v1/equipment/transfer-requests": ById(body=lambda w: {"source": {"team_code": TEAM}, "destination": {"team_code": OTHER_TEAM},
                                                                     "asset_tags": [ITEM], "reason": "调拨"}),
    "POST /api/v1/equipment/transfer-requests/{transfer_id:int}/steps": by_id(transfer_id="transfer")(body=_body(action="approve")),
    "POST /api/v1/equipment/scrap-requests/{request_id:int}/decision": by_id(request_id="scrap")(body=_body(approve=True)),
    "GET /api/v1/aeds": Listing(query=_body(under="@unit")),
    "POST /api/v1/aeds": ById(body=_body(code="OR-DS-AED-9", unit_code="@unit", place_name="广场", address="东胜区", lat=39.8, lon=110.0,
                                          responsible_org="红十字会")),
    "POST /api/v1/aeds/{code:str}/checks": by_id(code="aed")(body=_body(working=False, note=SECRET)),
    "GET /api/v1/public/aeds": Unscoped("the public AED map: where a defibrillator is, for anyone (no personal data)"),
    # events and inbox
    "GET /api/v1/events": Listing(query=_body(aggregate_id="@team")),
    "GET /api/v1/notifications": Listing(),
    "POST /api/v1/notifications/{notification_id:int}/read": by_id(notification_id="notification")(),
    # drills
    "GET /api/v1/drills": Listing(query=TEAM_FILTERS),
    "POST /api/v1/drills": ById(body=lambda w: {"scenario_id": "water_rescue_monthly_training", "organiser_team_code": TEAM,
                                                "starts_at": _later(days=3), "place": "训练场"}),
    "GET /api/v1/drills/scenarios": Unscoped("the scenario library"),
    "GET /api/v1/drills/scenarios/{scenario_id:str}": Unscoped("the scenario library"),
    "GET /api/v1/drills/feeds": Listing(query=_body(team="@team")),
    "GET /api/v1/drills/improvements": Listing(),
    "POST /api/v1/drills/improvements/{item_id:int}/close": by_id(item_id="improvement")(body=_body(note="完成")),
    "GET /api/v1/drills/training-progress": Listing(query=_body(team="@team", unit="@unit"), base=_body(year=china_today().year)),
    "PUT /api/v1/drills/training-plans/{team_code:str}": by_id(team_code="team")(body=_body(year=china_today().year, target_count=12)),
    "GET /api/v1/drills/{drill_id:int}": by_id(drill_id="drill")(),
    "GET /api/v1/drills/{drill_id:int}/attendance": by_id(drill_id="drill")(),
    "POST /api/v1/drills/{drill_id:int}/check-ins": by_id(drill_id="drill")(body=lambda w: {"person_id": w["people"][0]}),
    "POST /api/v1/drills/{drill_id:int}/check-outs": by_id(drill_id="drill")(body=_body(card="@card")),
    "POST /api/v1/drills/{drill_id:int}/check-outs/{person_id:int}": by_id(drill_id="drill", person_id="person")(),
    "POST /api/v1/drills/{drill_id:int}/roll-call": by_id(drill_id="drill")(body=lambda w: {"present": w["people"][:2]}),
    "PUT /api/v1/drills/{drill_id:int}/mobilisation": by_id(drill_id="drill")(body=lambda w: {"called_at": _later(hours=-2),
                                                                                               "assembled_at": _later(hours=-1)}),
    "POST /api/v1/drills/{drill_id:int}/clock/start": by_id(drill_id="drill")(),
    "POST /api/v1/drills/{drill_id:int}/clock/pause": by_id(drill_id="drill")(),
    "POST /api/v1/drills/{drill_id:int}/clock/resume": by_id(drill_id="drill")(),
    "GET /api/v1/drills/{drill_id:int}/injects": by_id(drill_id="drill")(),
    "POST /api/v1/drills/{drill_id:int}/injects/{inject_id:str}/ack": by_id(drill_id="drill", inject_id="inject")(),
    "POST /api/v1/drills/{drill_id:int}/end": by_id(drill_id="drill")(),
    "POST /api/v1/drills/{drill_id:int}/evaluation": by_id(drill_id="drill")(body=_body(
        evaluators=["评估员"], ratings=[{"objective_id": "boat_handling", "rating": "P"}])),
    "POST /api/v1/drills/{drill_id:int}/close": by_id(drill_id="drill")(),
    "POST /api/v1/drills/{drill_id:int}/cancel": by_id(drill_id="drill")(body=REASON),
    "GET /api/v1/drills/{drill_id:int}/report": by_id(drill_id="drill")(),
    "GET /api/v1/drills/{drill_id:int}/report.md": by_id(drill_id="drill")(),
    "GET /api/v1/drills/{drill_id:int}/report.pdf": by_id(drill_id="drill")(),
    # grading
    "GET /api/v1/grading/rubrics": Unscoped("rubrics are the region's published data"),
    "GET /api/v1/grading/rubrics/{category:str}": Unscoped("rubrics are the region's published data"),
    "GET /api/v1/grading/rubrics/{category:str}/versions": Unscoped("rubrics are the region's published data"),
    "PUT /api/v1/grading/rubrics/{category:str}": Unscoped("one rubric per category for the whole region; edited by whoever holds grading.rubrics"),
    "GET /api/v1/grading/teams/{code:str}": by_id(code="team")(),
    "GET /api/v1/grading/teams/{code:str}/evaluation": by_id(code="team")(query=_body(category="water_rescue")),
    "GET /api/v1/grading/teams/{code:str}/readiness": by_id(code="team")(),
    "POST /api/v1/grading/teams/{code:str}/grades/{category:str}/{action:str}": by_id(code="team", category="=water_rescue", action="=suspend")(
        body=REASON),
    "GET /api/v1/grading/assessments": Listing(query=TEAM_FILTERS),
    "POST /api/v1/grading/assessments": ById(body=_body(team_code="@team", category="search_rescue")),
    "GET /api/v1/grading/assessments/{assessment_id:int}": by_id(assessment_id="assessment")(),
    "POST /api/v1/grading/assessments/{assessment_id:int}/evidence": by_id(assessment_id="assessment")(),
    "POST /api/v1/grading/assessments/{assessment_id:int}/scores": by_id(assessment_id="assessment")(body=_body(criterion_id="plans", score=8)),
    "POST /api/v1/grading/assessments/{assessment_id:int}/documents": by_id(assessment_id="assessment")(files=True),
    "GET /api/v1/grading/assessments/{assessment_id:int}/documents/{document_id:int}": by_id(assessment_id="assessment", document_id="document")(),
    "POST /api/v1/grading/assessments/{assessment_id:int}/decision": by_id(assessment_id="assessment")(body=_body(level=3, reason="评定")),
    "POST /api/v1/grading/assessments/{assessment_id:int}/confirmation": by_id(assessment_id="assessment")(body=_body(confirm=True)),
    "POST /api/v1/grading/assessments/{assessment_id:int}/appeal": by_id(assessment_id="assessment")(body=REASON),
    "POST /api/v1/grading/assessments/{assessment_id:int}/appeal-decision": by_id(assessment_id="assessment")(body=_body(uphold=True, note="维持")),
    "POST /api/v1/grading/assessments/{assessment_id:int}/withdraw": by_id(assessment_id="assessment")(body=REASON),
    "GET /api/v1/grading/dashboard": Listing(query=_body(area="@league")),
    "GET /api/v1/grading/dashboard.xlsx": Listing(query=_body(area="@league")),
    "POST /api/v1/grading/readiness/refresh": Unscoped("recomputes the precomputed readiness table from the records; changes no record"),
    # deployments
    "GET /api/v1/deployments/incident-kinds": Unscoped("reference data"),
    "GET /api/v1/deployments": Listing(query=_body(team="@team", incident="@incident")),
    "GET /api/v1/deployments/incidents": Listing(),
    "POST /api/v1/deployments/incidents": Unscoped("by design: whoever may lead a deployment anywhere records the incident a bureau calls "
                                                   "them to, wherever it is, and then sees it as its recorder (deployments.service.open_incident)"),
    "GET /api/v1/deployments/incidents/{incident_id:int}": by_id(incident_id="incident")(),
    "POST /api/v1/deployments/incidents/{incident_id:int}/deployments": by_id(incident_id="incident")(body=_body(team_code="CF-WNT-01")),
    "GET /api/v1/deployments/{deployment_id:int}": by_id(deployment_id="deployment")(),
    "POST /api/v1/deployments/{deployment_id:int}/status": by_id(deployment_id="deployment")(body=_body(status="mobilising")),
    "POST /api/v1/deployments/{deployment_id:int}/members": by_id(deployment_id="deployment")(body=lambda w: {"person_ids": [w["people"][3]]}),
    "POST /api/v1/deployments/{deployment_id:int}/members/{person_id:int}/release": by_id(deployment_id="deployment", person_id="deployed")(
        body=_body(note="撤")),
    "POST /api/v1/deployments/{deployment_id:int}/equipment": by_id(deployment_id="deployment")(body=_body(asset_tags=[ITEM])),
    "POST /api/v1/deployments/{deployment_id:int}/equipment/{asset_tag:str}/return": by_id(deployment_id="deployment", asset_tag="=OR-DS-ROPE-1")(
        body=_body(condition="ok")),
    "POST /api/v1/deployments/{deployment_id:int}/log": by_id(deployment_id="deployment")(body=_body(kind="note", text="记录")),
    "POST /api/v1/deployments/{deployment_id:int}/log/{entry_id:int}/void": by_id(deployment_id="deployment", entry_id="log_entry")(body=REASON),
    "POST /api/v1/deployments/{deployment_id:int}/close": by_id(deployment_id="deployment")(body=_body(note="结束")),
    "GET /api/v1/deployments/{deployment_id:int}/report": by_id(deployment_id="deployment")(),
    "GET /api/v1/deployments/{deployment_id:int}/report.md": by_id(deployment_id="deployment")(),
    "GET /api/v1/deployments/{deployment_id:int}/report.pdf": by_id(deployment_id="deployment")(),
    # coordination
    "GET /api/v1/coordination/board": Listing(visible_to=HUB_SEES, why=EVERY_HUB),
    "GET /api/v1/coordination/requests": Listing(visible_to=HUB_SEES, why=EVERY_HUB),
    "POST /api/v1/coordination/requests": ById(body=lambda w: {**_request_body(), "requester_unit_code": LEAGUE}),
    "GET /api/v1/coordination/requests/{request_id:int}": by_id(request_id="request")(visible_to=HUB_SEES, why=EVERY_HUB),
    "GET /api/v1/coordination/requests/{request_id:int}/candidates": by_id(request_id="request")(visible_to=HUB_SEES, why=EVERY_HUB),
    "GET /api/v1/coordination/requests/{request_id:int}/history": by_id(request_id="request")(visible_to=HUB_SEES, why=EVERY_HUB),
    "GET /api/v1/coordination/requests/{request_id:int}/offers": by_id(request_id="request")(visible_to=HUB_SEES, why=EVERY_HUB),
    "POST /api/v1/coordination/requests/{request_id:int}/offers": by_id(request_id="request")(
        body=lambda w: {"team_code": TEAM, "people": 1, "eta": _later(hours=4)}),
    "POST /api/v1/coordination/requests/{request_id:int}/decline": by_id(request_id="request")(body=_body(reason="无力支援", hub_code="west")),
    "POST /api/v1/coordination/requests/{request_id:int}/cancel": by_id(request_id="request")(body=REASON),
    "POST /api/v1/coordination/offers/{offer_id:int}/accept": by_id(offer_id="offer")(),
    # training: courses and organisations
    "GET /api/v1/training/courses": Unscoped("the course catalogue (统一教学大纲) is the region's published data"),
    "POST /api/v1/training/courses/{code:str}/versions": by_id(code="=junior_first_aider")(body=_body(
        syllabus="统一教学大纲（改）", hours="8", theory_pass=60, practical_pass=60, certificate_type="junior_first_aider",
        validity_months=36, reason="改版")),  # one catalogue for the region: only training.courses (the region) publishes
    "GET /api/v1/training/courses.xlsx": Unscoped("the course catalogue (统一教学大纲) is the region's published data"),
    "GET /api/v1/training/organisations": Listing(query=_body(unit="@unit")),
    "GET /api/v1/training/organisations.xlsx": Listing(query=_body(unit="@unit")),
    "POST /api/v1/training/organisations": ById(body=_body(unit_code="@unit", name="东胜区第二中学", kind="school")),
    # training: sessions, enrolment, attendance
    "GET /api/v1/training/sessions": Listing(query=TRAINING_FILTERS),
    "GET /api/v1/training/sessions/export.xlsx": Listing(query=TRAINING_FILTERS),
    "GET /api/v1/training/sessions/template.xlsx": Unscoped("the empty trainee-list template, the same for every session"),
    "POST /api/v1/training/sessions": ById(body=lambda w: {"course_code": "junior_first_aider", "unit_code": UNIT, "place": "东胜区",
                                                           "starts_on": w["session_day"], "ends_on": w["session_day"], "capacity": 10}),
    "GET /api/v1/training/sessions/{code:str}": by_id(code="session")(),
    "POST /api/v1/training/sessions/{code:str}/status": by_id(code="session")(body=_body(status="cancelled", reason="取消培训")),
    "POST /api/v1/training/sessions/{code:str}/instructors": by_id(code="session")(body=lambda w: {"instructor_id": w["instructor"], "hours": "1"}),
    "DELETE /api/v1/training/sessions/{code:str}/instructors/{instructor_id:int}": by_id(code="session", instructor_id="instructor")(),
    "GET /api/v1/training/sessions/{code:str}/enrolments": by_id(code="session")(),
    "POST /api/v1/training/sessions/{code:str}/enrolments": by_id(code="session")(body=lambda w: _trainee(740, "新学员")),
    "POST /api/v1/training/sessions/{code:str}/enrolments/{enrolment_id:int}/withdraw": by_id(code="session", enrolment_id="enrolment")(),
    "POST /api/v1/training/sessions/{code:str}/enrolments/import": by_id(code="session")(files=True),
    "POST /api/v1/training/sessions/{code:str}/enrolments/import/{batch_id:int}/commit": by_id(code="session", batch_id="training_batch")(),
    "GET /api/v1/training/sessions/{code:str}/attendance": by_id(code="session")(),
    "PUT /api/v1/training/sessions/{code:str}/attendance": by_id(code="session")(body=lambda w: {
        "day": w["session_day"], "entries": [{"enrolment_id": w["enrolment"], "hours": "1"}]}),
    "PUT /api/v1/training/sessions/{code:str}/reported-attendance": by_id(code="session")(body=_body(count=5)),
    "GET /api/v1/training/sessions/{code:str}/class.xlsx": by_id(code="session")(),
    "GET /api/v1/training/sessions/{code:str}/attendance.xlsx": by_id(code="session")(),
    "GET /api/v1/training/sessions/{code:str}/instructors.xlsx": by_id(code="session")(),
    # training: exams and certificates
    "GET /api/v1/training/sessions/{code:str}/exam": by_id(code="session")(),
    "GET /api/v1/training/sessions/{code:str}/exam/results.xlsx": by_id(code="session")(),
    "GET /api/v1/training/sessions/{code:str}/exam/examiners": by_id(code="session")(),
    "POST /api/v1/training/sessions/{code:str}/exam/sittings": by_id(code="session")(body=lambda w: {"examiner_id": w["examiner"],
                                                                                                    "held_on": w["session_day"]}),
    "PUT /api/v1/training/sessions/{code:str}/exam/sittings/{attempt:int}/scores": by_id(code="session", attempt="=1")(body=lambda w: {
        "scores": [{"enrolment_id": w["enrolment"], "theory": 100, "practical": 100}]}),
    "POST /api/v1/training/sessions/{code:str}/certificates": by_id(code="session")(),
    "GET /api/v1/training/certificates": Listing(query=lambda w: {"unit": UNIT, "q": w["certificate_number"]}),
    "GET /api/v1/training/certificates.xlsx": Listing(query=lambda w: {"unit": UNIT, "q": w["holder"]}),
    "GET /api/v1/training/certificates/{number:str}": by_id(number="certificate_number")(),
    "GET /api/v1/training/certificates/{number:str}/pdf": by_id(number="certificate_number")(),
    "POST /api/v1/training/certificates/{number:str}/revocation": by_id(number="certificate_number")(body=REASON),
    "GET /api/v1/public/certificates/{token:str}": Public(params={"token": "revoked_token"}, shows=PUBLIC_CERTIFICATE, why=VERIFY),
    "POST /api/v1/public/certificates/lookup": Public(body=lambda w: {"number": w["certificate_number"], "name": w["holder"]},
                                                      shows=PUBLIC_CERTIFICATE, why=VERIFY),
    # training: instructors, the examiner pool, bases and bookings
    "GET /api/v1/training/instructors": Listing(query=TRAINING_FILTERS),
    "POST /api/v1/training/instructors": ById(body=_body(id_number=person(741)["id_number"], name="新教员", unit_code="@unit",
                                                         kind="part_time", qualified_on="2024-01-01")),
    "GET /api/v1/training/instructors.xlsx": Listing(query=TRAINING_FILTERS),
    "GET /api/v1/training/instructors/county-checks": Listing(query=_body(unit="@unit")),
    "GET /api/v1/training/instructors/{instructor_id:int}": by_id(instructor_id="instructor")(),
    "GET /api/v1/training/instructors/{instructor_id:int}/export.xlsx": by_id(instructor_id="instructor")(),
    "PATCH /api/v1/training/instructors/{instructor_id:int}": by_id(instructor_id="instructor")(body=_body(qualification_number="SZ-改")),
    "POST /api/v1/training/instructors/{instructor_id:int}/active": by_id(instructor_id="instructor")(body=_body(active=False, reason="停用")),
    "POST /api/v1/training/instructors/{instructor_id:int}/stars": by_id(instructor_id="instructor")(body=_body(stars=3, reason="评星")),
    "GET /api/v1/training/examiners": Listing(query=TRAINING_FILTERS),
    "POST /api/v1/training/examiners": ById(body=_body(id_number=person(742)["id_number"], name="新考官", unit_code="@unit")),
    "GET /api/v1/training/examiners.xlsx": Listing(query=TRAINING_FILTERS),
    "GET /api/v1/training/examiners/{examiner_id:int}": by_id(examiner_id="examiner")(),
    "POST /api/v1/training/examiners/{examiner_id:int}/active": by_id(examiner_id="examiner")(body=_body(active=False, reason="停用")),
    "GET /api/v1/training/bases": Listing(query=TRAINING_FILTERS),
    "POST /api/v1/training/bases": ById(body=_body(code="OR-DS-BASE-9", unit_code="@unit", kind="classroom", name_zh="培训教室", capacity=10)),
    "GET /api/v1/training/bases.xlsx": Listing(query=TRAINING_FILTERS),
    "GET /api/v1/training/bases/{code:str}": by_id(code="base")(),
    "PATCH /api/v1/training/bases/{code:str}": by_id(code="base")(body=_body(capacity=5)),
    "GET /api/v1/training/bases/{code:str}/bookings": by_id(code="base")(query=lambda w: {"week": _booking_body(w)["starts_at"][:10]}),
    "POST /api/v1/training/bases/{code:str}/bookings": by_id(code="base")(body=_booking_body),
    "GET /api/v1/training/bookings.xlsx": Listing(query=_body(base="@base")),
    "GET /api/v1/training/bookings/{booking_id:int}": by_id(booking_id="booking")(),
    "POST /api/v1/training/bookings/{booking_id:int}/cancel": by_id(booking_id="booking")(body=REASON),
    # training: targets and progress (a unit's table and figures: the unit is the record)
    "GET /api/v1/training/targets": ById(query=UNIT_YEAR),
    "GET /api/v1/training/targets/export.xlsx": ById(query=UNIT_YEAR),
    "GET /api/v1/training/targets/template.xlsx": ById(query=UNIT_YEAR),
    "POST /api/v1/training/targets/import": ById(files=True, form=lambda w: {"unit": UNIT, "year": str(w["year"]), "commit": "true"}),
    "PUT /api/v1/training/targets/{target_id:int}": by_id(target_id="target")(body=_body(certified=1, junior=0, awareness=0)),
    "GET /api/v1/training/progress": ById(query=UNIT_YEAR),
    "GET /api/v1/training/progress/export.xlsx": ById(query=UNIT_YEAR),
}


def _request_body() -> dict:
    from tests.coordination.builders import request_body

    return request_body(UNIT)


def _api_routes(app) -> list[tuple[str, str]]:
    return sorted((method, route.path) for route in app.routes if isinstance(route, HTTPRoute) and route.path.startswith("/api/")
                  for method in route.methods if method not in ("OPTIONS", "HEAD"))


def test_every_api_route_is_classified(app) -> None:
    """A new route fails here until it is given a probe (or a reason it is not scoped)."""
    routes = {f"{method} {path}" for method, path in _api_routes(app)}
    assert sorted(routes - set(ROUTES)) == []
    assert sorted(set(ROUTES) - routes) == []


def test_probe_bodies_are_valid(app) -> None:
    """Each body is one the route's schema accepts, so a refusal is the scope's, never a 422 about the body."""
    from pydantic import ValidationError

    world = {key: "1" for key in ("team", "unit", "league", "incident", "base", "certificate_number", "holder")} | {
        "people": [1, 2, 3, 4], "card": "a card token", "instructor": 1, "examiner": 1, "enrolment": 1, "session_day": "2025-06-01",
        "year": 2025}
    invalid = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            probe = ROUTES.get(f"{method} {route.path}")
            data = handler.parsed_fn_signature.parameters.get("data")
            if isinstance(probe, ById | Public) and probe.body and data is not None and issubclass(data.annotation, BaseModel):
                try:
                    data.annotation.model_validate(probe.body(world))
                except ValidationError as error:
                    invalid.append(f"{method} {route.path}: {error}")
    assert not invalid, "\n".join(invalid)


# --- the probe ------------------------------------------------------------------------------------------------------


async def _fingerprint(probers: frozenset[int] = frozenset()) -> dict[str, str]:
    """A digest of every row of every table (tokens aside: using one stamps it; and the audit log's record of what the
    probers themselves did, checked by ``_probers_audited``)."""
    from piccolo.conf.apps import Finder

    from rescueops.accounts.tables import AuditEntry

    digests = {}
    for table in Finder().get_table_classes():
        name = table._meta.tablename
        if name in ("accounts_token",):
            continue
        query = table.select().order_by(table._meta.primary_key)
        if table is AuditEntry and probers:
            query = query.where(AuditEntry.actor.is_null() | AuditEntry.actor.not_in(list(probers)))
        rows = await query
        digests[name] = hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()
    return digests


async def _probers_audited(probers: frozenset[int]) -> list[str]:
    """What the audit log says the probers did: only exports of their own lists (who took personal data out is logged,
    whatever the list held), never a write."""
    from rescueops.accounts.tables import AuditEntry

    rows = await AuditEntry.select(AuditEntry.action).where(AuditEntry.actor.is_in(list(probers)))
    return sorted({row["action"] for row in rows if not row["action"].endswith(".export")})


def _path(path: str, probe: ById | Public, w: dict) -> str:
    for name, key in probe.params.items():
        value = key[1:] if key.startswith("=") else w[key]
        path = path.replace("{" + name + ":int}", str(value)).replace("{" + name + ":str}", str(value))
    return path


def _leaks(response) -> list[str]:
    """Ordos text in an answer; codes only in a success (an error may quote the code the caller sent)."""
    text = _text_of(response)
    return [marker for marker in MARKERS if marker in text and (marker == SECRET or response.is_success)]


async def _probe(client, token: str, who: str, w: dict) -> list[str]:
    problems = []
    for key, probe in ROUTES.items():
        method, path = key.split(" ", 1)
        if isinstance(probe, Unscoped) or not path.startswith("/api/"):
            continue
        if isinstance(probe, Public):
            response = await client.request(method, _path(path, probe, w), json=probe.body(w) if probe.body else None, headers=bearer(token))
            shown = set(response.json()) if response.status_code == 200 else set()
            if response.status_code != 200 or shown != probe.shows or _leaks(response):
                problems.append(f"{who}: {key} -> {response.status_code} {sorted(shown ^ probe.shows)} {_leaks(response)} {response.text[:300]}")
            continue
        if who in probe.visible_to:
            continue
        if isinstance(probe, Listing):
            base = probe.base(w) if probe.base else {}
            for query in (base, {**base, **(probe.query(w) if probe.query else TEAM_FILTERS(w))}):
                response = await client.request(method, path, params=query, headers=bearer(token))
                if response.status_code >= 500 or _leaks(response):
                    problems.append(f"{who}: {key} {query} -> {response.status_code} {_leaks(response)} {response.text[:200]}")
            continue
        extra: dict[str, Any] = {}
        if probe.files:
            extra["files"] = {"file": ("probe.pdf" if "scans" in path or "documents" in path else "probe.csv", PDF, "application/pdf")}
            if probe.form:
                extra["data"] = probe.form(w)
        elif probe.body:
            extra["json"] = probe.body(w)
        response = await client.request(method, _path(path, probe, w), params=probe.query(w) if probe.query else None,
                                        headers=bearer(token), **extra)
        unrouted = response.status_code == 404 and response.text.startswith('{"code":"not_found","message":"No route')
        if response.status_code not in probe.allowed or unrouted or _leaks(response):
            problems.append(f"{who}: {key} -> {response.status_code} {_leaks(response)} {response.text[:300]}")
    return problems


def _text_of(response) -> str:
    """What a response tells, whatever its type (an .xlsx or a PDF is searched in its decoded text)."""
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        import io

        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(response.content))
        return " ".join(str(c.value) for s in book.worksheets for row in s.iter_rows() for c in row if c.value is not None)
    if "pdf" in kind:
        import io

        from pypdf import PdfReader

        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    return response.content.decode("utf-8", "replace")


async def _readable_in_scope(client, token: str, w: dict) -> list[str]:
    """Every GET probe reaches its record for the region's administrator (a 409 is a record in the wrong state, e.g. the
    report of a drill not yet evaluated): the ids in the probes name real records."""
    problems = []
    for key, probe in ROUTES.items():
        method, path = key.split(" ", 1)
        if isinstance(probe, ById) and method == "GET":
            response = await client.get(_path(path, probe, w), params=probe.query(w) if probe.query else None, headers=bearer(token))
            if not (response.is_success or response.status_code == 409):
                problems.append(f"ordos admin: {key} -> {response.status_code} {response.text[:200]}")
    return problems


async def test_east_users_can_neither_see_nor_change_ordos_records(client, make_user) -> None:
    from tests.factories import make_team

    w = await _ordos(client, make_user)
    unreadable = await _readable_in_scope(client, w["admin"], w)
    assert unreadable == [], "\n".join(unreadable)
    await make_team("CF-WNT-01", members=2, active=True)
    users = {
        "league": await make_user("league_supervisor", unit="150400"),
        "hub": await make_user("hub_coordinator", hub="east"),
        "captain": await make_user("captain", team="CF-WNT-01"),
        "training": await make_user("training_officer", unit="150400"),
        "examiner": await make_user("examiner", unit="150400"),
    }
    probers, prober_ids = {who: token for who, (_, token) in users.items()}, frozenset(user_id for user_id, _ in users.values())
    from rescueops.training.certificates import VERIFY_LIMIT

    VERIFY_LIMIT.reset()  # the public look-ups are rate-limited per address: the probers share the test client's
    before = await _fingerprint(prober_ids)
    problems = []
    for who, token in probers.items():
        problems += await _probe(client, token, who, w)
    after = await _fingerprint(prober_ids)
    changed = sorted(name for name in before if before[name] != after.get(name))
    audited = await _probers_audited(prober_ids)
    assert problems == [] and changed == [] and audited == [], "\n".join(problems + [f"changed: {changed}", f"audited: {audited}"])
