from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from rescueops.accounts.auth import requires
from rescueops.coordination import service
from rescueops.coordination.schemas import (
    BoardOut,
    CancelIn,
    DeclineIn,
    HubResponseOut,
    OfferIn,
    OfferOut,
    RequestIn,
    RequestOut,
    StepOut,
)
from rescueops.coordination.tables import RequestStatus


class CoordinationController(Controller):
    path = "/api/v1/coordination"
    tags = ["coordination"]
    guards = [requires("assistance.view")]

    @get("/requests", summary="Assistance requests the caller may see, newest first")
    async def list_requests(self, request: Request, status: FromQuery[RequestStatus | None] = None) -> list[RequestOut]:
        return await service.list_requests(request.user, status=status)

    @post("/requests", summary="Ask every other hub for help (a league, a hub or the region)", guards=[requires("assistance.request")])
    async def raise_request(self, request: Request, data: JSONBody[RequestIn]) -> RequestOut:
        return await service.raise_request(request.user, data)

    @get("/requests/{request_id:int}", summary="One assistance request")
    async def get_request(self, request: Request, request_id: FromPath[int]) -> RequestOut:
        return await service.get_request(request.user, request_id)

    @get("/requests/{request_id:int}/candidates",
         summary="Each asked hub's answer and its ranked candidate teams, with the reason for each rank")
    async def candidates(self, request: Request, request_id: FromPath[int], hub: FromQuery[str | None] = None) -> list[HubResponseOut]:
        return await service.responses(request.user, request_id, hub)

    @get("/requests/{request_id:int}/offers", summary="The offers made for a request")
    async def offers(self, request: Request, request_id: FromPath[int]) -> list[OfferOut]:
        return await service.list_offers(request.user, request_id)

    @post("/requests/{request_id:int}/offers", summary="Offer a team of your hub", guards=[requires("assistance.offer")])
    async def offer(self, request: Request, request_id: FromPath[int], data: JSONBody[OfferIn]) -> OfferOut:
        return await service.make_offer(request.user, request_id, data)

    @post("/requests/{request_id:int}/decline", summary="Say your hub cannot help, and why", guards=[requires("assistance.offer")],
          status_code=200)
    async def decline(self, request: Request, request_id: FromPath[int], data: JSONBody[DeclineIn]) -> HubResponseOut:
        return await service.decline(request.user, request_id, data)

    @post("/offers/{offer_id:int}/accept", summary="Accept an offer (the requester): the team is dispatched",
          guards=[requires("assistance.request")], status_code=200)
    async def accept(self, request: Request, offer_id: FromPath[int]) -> OfferOut:
        return await service.accept(request.user, offer_id)

    @post("/requests/{request_id:int}/cancel", summary="Withdraw a request (the requester); pending offers become void",
          guards=[requires("assistance.request")], status_code=200)
    async def cancel(self, request: Request, request_id: FromPath[int], data: JSONBody[CancelIn]) -> RequestOut:
        return await service.cancel(request.user, request_id, data)

    @get("/requests/{request_id:int}/history", summary="Every step of a request: who, when, what")
    async def history(self, request: Request, request_id: FromPath[int]) -> list[StepOut]:
        return await service.history(request.user, request_id)

    @get("/board", summary="The live board: open requests, each hub's answer, offers and deployments")
    async def board(self, request: Request) -> BoardOut:
        return await service.board(request.user)
