from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from rescueops.accounts.auth import requires
from rescueops.db.pagination import Page, PageParams
from rescueops.events import service
from rescueops.events.schemas import EventOut


class EventController(Controller):
    path = "/api/v1/events"
    tags = ["events"]

    @get("/", summary="Events about places within the caller's scope, newest first", guards=[requires("events.view")])
    async def list_events(
        self,
        request: Request,
        page: NamedDependency[PageParams],
        type: FromQuery[str | None] = None,
        aggregate_id: FromQuery[str | None] = None,
    ) -> Page[EventOut]:
        items, total = await service.list_events(request.user, page, event_type=type, aggregate_id=aggregate_id)
        return Page.of(items, total, page)
