"""iCalendar (.ics) feeds of drills, for a team's or a member's calendar app.

Calendar apps cannot log in, so a feed is addressed by a signed token naming the team or the person;
it shows titles, times and places only, never names of members.
"""

from __future__ import annotations

from icalendar import Calendar, Event

from rescueops import crypto
from rescueops.calendar import utc_now
from rescueops.drills.schemas import DrillOut
from rescueops.drills.tables import DrillStatus
from rescueops.settings import get_settings

FEED_PURPOSE = "drills-feed"


def feed_token(kind: str, key: str) -> str:
    """``kind`` "team" (key: team code) or "member" (key: person id)."""
    return crypto.sign(FEED_PURPOSE, {"k": kind, "v": key})


def read_token(token: str) -> tuple[str, str] | None:
    payload = crypto.unsign(FEED_PURPOSE, token)
    if not payload or payload.get("k") not in ("team", "member"):
        return None
    return payload["k"], str(payload["v"])


def feed_url(kind: str, key: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/ics/{feed_token(kind, key)}.ics"


def calendar(drills: list[DrillOut], name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//RescueOps//Red Cross rescue team drills//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    host = get_settings().base_url.split("//", 1)[-1].split("/", 1)[0]
    stamp = utc_now()
    for drill in drills:
        event = Event()
        event.add("uid", f"drill-{drill.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", drill.starts_at)
        event.add("dtend", drill.ends_at)
        event.add("summary", f"演练：{drill.title}")
        event.add("location", drill.place)
        event.add("description", f"{drill.scenario_title_zh}（{drill.scenario_id} v{drill.scenario_version}）\n"
                                 f"参加队伍：{'、'.join(t.name_zh for t in drill.teams)}")
        event.add("status", "CANCELLED" if drill.status is DrillStatus.cancelled else "CONFIRMED")
        if drill.lat is not None and drill.lon is not None:
            event.add("geo", (drill.lat, drill.lon))
        event.add("url", f"{get_settings().base_url.rstrip('/')}/drills/{drill.id}")
        cal.add_component(event)
    return cal.to_ical()
