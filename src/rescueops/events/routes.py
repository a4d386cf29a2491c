from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import Page, PageParams
from rescueops.events import service
from rescueops.events.schemas import EventOut, NotificationOut


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


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["events"]
    guards = [signed_in]

    @get("/", summary="The caller's inbox: reminders and drill injects, newest first")
    async def inbox(self, request: Request, unread: FromQuery[bool] = False) -> list[NotificationOut]:
        return await service.inbox(request.user, unread_only=unread)

    @post("/{notification_id:int}/read", summary="Mark a message read", status_code=200)
    async def mark_read(self, request: Request, notification_id: FromPath[int]) -> NotificationOut:
        return await service.mark_read(request.user, notification_id)
