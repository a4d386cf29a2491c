from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescueops.accounts.tables import Role, UserKind

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
Locale = Literal["zh_CN", "en"]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str = Field(description="Send as 'Authorization: Bearer <token>'. Shown once.")
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime | None


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    unit_code: str | None = Field(default=None, description="Scope: this org unit and everything under it")
    hub_code: str | None = Field(default=None, description="Scope: the units this regional hub covers")
    team_code: str | None = Field(default=None, description="Scope: one team (for captains, deputies and members)")

    @model_validator(mode="after")
    def _one_scope(self) -> GrantIn:
        if sum(scope is not None for scope in (self.unit_code, self.hub_code, self.team_code)) != 1:
            raise ValueError("give exactly one scope: unit_code, hub_code or team_code")
        return self


class GrantOut(BaseModel):
    id: int
    role: Role
    unit_code: str | None
    hub_code: str | None
    team_code: str | None = None
    granted_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, description="Lower-case letters, digits, '.', '_' or '-'")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=256, description="At least 10 characters")
    home_unit_code: str = Field(description="The org unit the person works for; decides who can see the account")
    locale: Locale | None = None


class ServiceAccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=100, description="e.g. 120 急救调度系统")
    home_unit_code: str


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    kind: UserKind
    home_unit_code: str | None
    locale: Locale | None
    is_active: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    grants: list[GrantOut]


class MeOut(BaseModel):
    id: int
    username: str
    display_name: str
    kind: UserKind
    locale: Locale | None
    grants: list[GrantOut]


class LocaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locale: Locale


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="What the token is for")
    expires_in_days: int | None = Field(default=365, ge=1, le=3650, description="Empty for no expiry")


class ApiTokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The secret; shown once, store it now")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_name: str
    action: str
    entity: str
    entity_id: str
    scope_path: str
    changes: dict[str, Any]
    ip: str | None
    request_id: str | None
