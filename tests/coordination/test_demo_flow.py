"""`make run` can show the flow without RabbitMQ: the demo's east hub asks, the demo's central team is ranked eligible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rescueops import demo
from rescueops.accounts import service as accounts
from rescueops.coordination import service
from rescueops.coordination.schemas import RequestIn
from rescueops.events import service as events
from rescueops.events.bus import drain
from rescueops.settings import get_settings


async def test_the_demo_hubs_can_play_the_assistance_flow(db) -> None:
    logins = {login["username"]: login for login in await demo.load_demo(get_settings())}
    assert (logins["hub-central"]["role"], logins["hub-central"]["scope"]) == ("hub_coordinator", "central")
    east = await accounts.load_principal(await accounts.find_user_id("hub-east"))
    now = datetime.now(UTC)
    request = await service.raise_request(east, RequestIn(category="search_rescue", people_needed=4, place="乌丹镇", unit_code="150426",
                                                          window_from=now, window_until=now + timedelta(hours=12)))
    await drain()
    central = await accounts.load_principal(await accounts.find_user_id("hub-central"))
    [answer] = await service.responses(central, request.id, "central")
    [team] = [c for c in answer.candidates if c.team_code == "UL-JN-01"]
    assert team.eligible and team.available == 8 and team.position == 1
    assert "assistance.requested" in [m.kind for m in await events.inbox(central)]
