"""The coordination pages: raising a request from the form, offering and accepting on the request's page, the live
board with its htmx polling fragment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rescueops.accounts import service as accounts
from rescueops.coordination.tables import AssistanceRequest, Offer
from rescueops.events.bus import drain
from tests.accounts.test_auth import csrf_from
from tests.coordination.builders import rescue_team

CST = ZoneInfo("Asia/Shanghai")


def local_input(moment: datetime) -> str:
    return moment.astimezone(CST).strftime("%Y-%m-%dT%H:%M")


async def as_user(client, user_id: int) -> None:
    client.cookies.set("rescueops_session", await accounts.start_session(user_id, None))


async def test_raise_offer_accept_on_the_pages_and_watch_the_board(client, make_user, admin) -> None:
    await rescue_team(admin, "UL-01", "150902", lat=41.03, lon=113.11)
    east, _ = await make_user("hub_coordinator", hub="east")
    central, _ = await make_user("hub_coordinator", hub="central")
    region, _ = await make_user("region_coordinator", unit="150000")

    await as_user(client, east)
    form = await client.get("/coordination/requests/new")
    assert form.status_code == 200 and "发起支援请求" in form.text and 'name="equipment_type"' in form.text
    now = datetime.now(UTC)
    body = {"_csrf_token": csrf_from(form.text), "requester": "hub:east", "category": "search_rescue", "min_level": "",
            "people_needed": "3", "equipment_type": ["rescue_vehicle", ""], "equipment_quantity": ["", ""], "incident_kind": "flood",
            "place": "乌丹镇", "unit_code": "150426", "lat": "", "lon": "", "window_from": local_input(now),
            "window_until": local_input(now - timedelta(hours=1)), "urgency": "immediate", "notes": ""}
    wrong = await client.post("/coordination/requests", data=body)
    assert wrong.status_code == 422 and "window_until" in wrong.text and 'value="乌丹镇"' in wrong.text
    assert await AssistanceRequest.count() == 0
    created = await client.post("/coordination/requests", data={**body, "window_until": local_input(now + timedelta(hours=12))},
                                follow_redirects=False)
    assert created.status_code in (302, 303), created.text
    request_id = (await AssistanceRequest.select(AssistanceRequest.id).first())["id"]
    assert created.headers["location"] == f"/coordination/requests/{request_id}"
    await drain()

    await as_user(client, central)
    detail = await client.get(f"/coordination/requests/{request_id}")
    assert detail.status_code == 200 and "候选队伍" in detail.text and 'id="offer-form-UL-01"' in detail.text
    assert 'id="decline-form-central"' in detail.text and 'id="decline-form-west"' not in detail.text  # only its own hub's forms
    assert "接受并派出" not in detail.text  # not the requester
    offered = await client.post(f"/coordination/requests/{request_id}/offers", data={
        "_csrf_token": csrf_from(detail.text), "team_code": "UL-01", "hub_code": "central", "people": "3",
        "eta": local_input(now + timedelta(hours=6)), "note": "随时出发"}, follow_redirects=False)
    assert offered.status_code in (302, 303), offered.text
    offer_id = (await Offer.select(Offer.id).first())["id"]

    await as_user(client, east)
    detail = await client.get(f"/coordination/requests/{request_id}")
    assert f'id="accept-{offer_id}"' in detail.text and 'id="cancel-form"' in detail.text and 'id="offer-form-UL-01"' not in detail.text
    accepted = await client.post(f"/coordination/requests/{request_id}/offers/{offer_id}/accept",
                                 data={"_csrf_token": csrf_from(detail.text)}, follow_redirects=False)
    assert accepted.status_code in (302, 303), accepted.text
    again = await client.post(f"/coordination/requests/{request_id}/offers/{offer_id}/accept", data={"_csrf_token": csrf_from(detail.text)})
    assert again.status_code == 409 and 'id="page-error"' in again.text

    await as_user(client, region)
    board = await client.get("/coordination/board")
    assert board.status_code == 200 and "跨区域支援看板" in board.text
    assert re.search(r'<div id="board" hx-get="/coordination/board/fragment" hx-trigger="every 5s"', board.text)
    assert f'id="board-request-{request_id}"' in board.text and "已满足" in board.text
    fragment = await client.get("/coordination/board/fragment")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "UL-01 救援队" in fragment.text
    assert re.search(r'data-deployment="\d+"', fragment.text) and "接令待命" in fragment.text
    assert 'href="/coordination/board"' in (await client.get("/")).text  # the nav link and the home card


async def test_the_board_is_for_coordinators(client, make_user) -> None:
    captain, _ = await make_user("captain", unit="150426")
    await as_user(client, captain)
    assert (await client.get("/coordination/board")).status_code == 403
    assert 'href="/coordination/board"' not in (await client.get("/")).text
    supervisor, _ = await make_user("league_supervisor", unit="150400")
    await as_user(client, supervisor)
    empty = await client.get("/coordination/board/fragment")
    assert empty.status_code == 200 and 'id="board-empty"' in empty.text
