from __future__ import annotations

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from rescueops.accounts import service
from rescueops.accounts.auth import client_ip, requires, signed_in
from rescueops.accounts.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    AuditOut,
    GrantIn,
    LocaleIn,
    LoginIn,
    MeOut,
    ServiceAccountCreate,
    TokenOut,
    UserCreate,
    UserOut,
)
from rescueops.db.pagination import Page, PageParams
from rescueops.web.errors import error_spec


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["accounts"]

    @post("/token", summary="Log in: exchange a password for a bearer token", responses={
        429: error_spec("Too many failed logins from this address, or the account is locked; see Retry-After")})
    async def login(self, request: Request, data: JSONBody[LoginIn]) -> TokenOut:
        secret, expires_at = await service.login_for_api(data.username, data.password, client_ip(request.scope))
        return TokenOut(access_token=secret, expires_at=expires_at)

    @delete("/token", summary="Log out: revoke the bearer token sent with this request", guards=[signed_in])
    async def logout(self, request: Request) -> None:
        await service.revoke_token(request.user.token_id)

    @get("/me", summary="The caller and their role assignments", guards=[signed_in])
    async def me(self, request: Request) -> MeOut:
        return await service.me(request.user)

    @put("/me/locale", summary="Set the caller's language", guards=[signed_in])
    async def set_locale(self, request: Request, data: JSONBody[LocaleIn]) -> MeOut:
        await service.set_locale(request.user, data.locale)
        return await service.me(request.user)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["accounts"]

    @get("/", summary="Users within the caller's scope", guards=[requires("users.view")])
    async def list_users(
        self, request: Request, page: NamedDependency[PageParams], q: FromQuery[str | None] = None
    ) -> Page[UserOut]:
        items, total = await service.list_users(request.user, page, q)
        return Page.of(items, total, page)

    @post("/", summary="Create a user", guards=[requires("users.manage")])
    async def create_user(self, request: Request, data: JSONBody[UserCreate]) -> UserOut:
        return await service.create_user(request.user, data)

    @get("/{user_id:int}", summary="One user", guards=[requires("users.view")])
    async def get_user(self, request: Request, user_id: FromPath[int]) -> UserOut:
        return await service.get_user(request.user, user_id)

    @post("/{user_id:int}/roles", summary="Grant a role over a scope", guards=[requires("users.manage")])
    async def grant(self, request: Request, user_id: FromPath[int], data: JSONBody[GrantIn]) -> UserOut:
        return await service.grant_role(request.user, user_id, data)

    @delete(
        "/{user_id:int}/roles/{assignment_id:int}",
        summary="Revoke a role assignment",
        guards=[requires("users.manage")],
        status_code=200,
    )
    async def revoke(self, request: Request, user_id: FromPath[int], assignment_id: FromPath[int]) -> UserOut:
        return await service.revoke_role(request.user, user_id, assignment_id)

    @post("/{user_id:int}/unlock", summary="Lift a login lockout", guards=[requires("users.manage")], status_code=200)
    async def unlock(self, request: Request, user_id: FromPath[int]) -> UserOut:
        user = await service.get_user(request.user, user_id)
        await service.unlock(request.user, user.username)
        return await service.get_user(request.user, user_id)


class ServiceAccountController(Controller):
    path = "/api/v1/service-accounts"
    tags = ["accounts"]
    guards = [requires("service_accounts.manage")]

    @post("/", summary="Create a service account for another system")
    async def create(self, request: Request, data: JSONBody[ServiceAccountCreate]) -> UserOut:
        return await service.create_service_account(request.user, data)

    @get("/{user_id:int}/tokens", summary="A service account's API tokens (secrets are never shown again)")
    async def tokens(self, request: Request, user_id: FromPath[int]) -> list[ApiTokenOut]:
        return await service.list_api_tokens(request.user, user_id)

    @post("/{user_id:int}/tokens", summary="Issue an API token; the secret is in this response only")
    async def create_token(self, request: Request, user_id: FromPath[int], data: JSONBody[ApiTokenCreate]) -> ApiTokenCreated:
        return await service.create_api_token(request.user, user_id, data)

    @delete("/{user_id:int}/tokens/{token_id:int}", summary="Revoke an API token")
    async def revoke_token(self, request: Request, user_id: FromPath[int], token_id: FromPath[int]) -> None:
        await service.revoke_api_token(request.user, user_id, token_id)


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["accounts"]

    @get("/", summary="Audit log within the caller's scope, newest first", guards=[requires("audit.view")])
    async def list_audit(
        self,
        request: Request,
        page: NamedDependency[PageParams],
        action: FromQuery[str | None] = None,
        entity: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
    ) -> Page[AuditOut]:
        items, total = await service.list_audit(request.user, page, action=action, entity=entity, entity_id=entity_id)
        return Page.of(items, total, page)
