"""The in-app inbox: reminders and drill injects addressed to the signed-in user."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from rescueops.accounts.auth import signed_in
from rescueops.events import service
from rescueops.web.pages import page, safe_next


class InboxPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/inbox")
    async def inbox(self, request: Request, unread: FromQuery[bool] = False) -> Template:
        return page(request, "events/inbox.html", nav="inbox", messages=await service.inbox(request.user, unread_only=unread), unread=unread)

    @post("/inbox/{notification_id:int}/read")
    async def read(self, request: Request, notification_id: FromPath[int]) -> Redirect:
        """Mark it read and open what it is about."""
        message = await service.mark_read(request.user, notification_id)
        return Redirect(safe_next(message.link or "/inbox"))
