"""What comes in and goes out of the coordination API, and the payloads of the assistance events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from rescueops.calendar import utc_now
from rescueops.coordination.tables import OfferStatus, RequesterKind, RequestStatus, StepKind, Urgency
from rescueops.deployments.tables import DeploymentStatus, IncidentKind
from rescueops.events.schemas import EventPayload
from rescueops.orgs.schemas import UnitRef

HubState = Literal["no_answer", "ranked", "offered", "declined"]


class EquipmentLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="Equipment type code of the catalogue, e.g. inflatable_boat")
    quantity: int = Field(ge=1, le=10000)


def _distinct(lines: list[EquipmentLine]) -> None:
    codes = [line.type for line in lines]
    if len(set(codes)) != len(codes):
        raise ValueError("equipment: name each type once")


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    requester_hub_code: str | None = Field(default=None, description="Ask as this regional hub")
    requester_unit_code: str | None = Field(default=None, description="Ask as this league/city or as the region (unit code)")
    category: str = Field(description="Team category code, e.g. water_rescue")
    min_level: int | None = Field(default=None, ge=1, le=3, description="1 highest … 3; empty: no grade needed")
    people_needed: int = Field(ge=1, le=500)
    equipment: list[EquipmentLine] = Field(default_factory=list, max_length=50)
    incident_kind: IncidentKind = IncidentKind.other
    place: str = Field(min_length=2, max_length=200, description="Where, as people name it (苏木、嘎查、路段…)")
    unit_code: str = Field(description="The org unit of the place (a banner, county or league)")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    window_from: AwareDatetime
    window_until: AwareDatetime
    urgency: Urgency = Urgency.immediate
    notes: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> RequestIn:
        if self.requester_hub_code and self.requester_unit_code:
            raise ValueError("requester: ask either as a hub or as a league/region, not both")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat, lon: give both coordinates or neither")
        if self.window_until <= self.window_from:
            raise ValueError("window_until: must be after window_from")
        if self.window_until <= utc_now():
            raise ValueError("window_until: the time window is already over")
        _distinct(self.equipment)
        return self


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    team_code: str
    hub_code: str | None = Field(default=None, description="The offering hub; empty: the caller's hub covering the team")
    people: int = Field(ge=1, le=500)
    equipment: list[EquipmentLine] = Field(default_factory=list, max_length=50)
    eta: AwareDatetime = Field(description="When the team can be on scene")
    note: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _lines(self) -> OfferIn:
        _distinct(self.equipment)
        return self


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    hub_code: str | None = Field(default=None, description="The declining hub; empty: the caller's hub")
    reason: str = Field(min_length=2, max_length=1000)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=2, max_length=1000)


class ReasonOut(BaseModel):
    code: str  # category, level, status, members, equipment, distance
    level: Literal["ok", "warn", "fail"]
    zh: str
    en: str


class CandidateOut(BaseModel):
    position: int
    team_code: str
    team_name_zh: str
    team_name_en: str
    eligible: bool
    score: float
    distance_km: float | None
    available: int
    reasons: list[ReasonOut]


class OfferOut(BaseModel):
    id: int
    request_id: int
    hub_code: str
    team_code: str
    team_name_zh: str
    people: int
    equipment: list[EquipmentLine]
    eta: datetime
    note: str
    status: OfferStatus
    offered_by_name: str
    offered_at: datetime
    decided_by_name: str
    decided_at: datetime | None
    deployment_id: int | None


class HubResponseOut(BaseModel):
    hub_code: str
    hub_name_zh: str
    hub_name_en: str
    state: HubState
    ranked_at: datetime | None
    declined_at: datetime | None
    decline_reason: str
    declined_by_name: str
    offers: list[OfferOut]
    candidates: list[CandidateOut]


class StepOut(BaseModel):
    kind: StepKind
    hub_code: str
    offer_id: int | None
    by_name: str
    at: datetime
    note: str


class RequestOut(BaseModel):
    id: int
    requester_kind: RequesterKind
    requester_code: str
    requester_name_zh: str
    requester_name_en: str
    source_region: str
    category: str
    category_name_zh: str
    category_name_en: str
    min_level: int | None
    people_needed: int
    people_accepted: int
    equipment: list[EquipmentLine]
    incident_kind: IncidentKind
    place: str
    unit: UnitRef
    lat: float | None
    lon: float | None
    window_from: datetime
    window_until: datetime
    urgency: Urgency
    notes: str
    status: RequestStatus
    incident_id: int | None
    raised_by_name: str
    raised_at: datetime
    closed_at: datetime | None
    close_reason: str


class BoardDeployment(BaseModel):
    offer_id: int
    deployment_id: int
    team_code: str
    team_name: str
    status: DeploymentStatus
    people: int
    started_at: datetime


class BoardRow(BaseModel):
    request: RequestOut
    hubs: list[HubResponseOut]  # candidates left out: the board shows states and offers
    deployments: list[BoardDeployment]


class BoardOut(BaseModel):
    generated_at: datetime
    rows: list[BoardRow]


# --- events ------------------------------------------------------------------------------------


class AssistanceRequested(EventPayload):
    """A call for help to every other hub; each ranks its teams when its coordination queue delivers this."""

    event_types = ("assistance.requested",)

    request_id: int
    requester_kind: RequesterKind
    requester_code: str
    category: str
    min_level: int | None
    people_needed: int
    equipment: list[EquipmentLine]
    place: str
    unit_code: str
    lat: float | None
    lon: float | None
    window_from: datetime
    window_until: datetime
    urgency: Urgency
    notes: str


class AssistanceOffered(EventPayload):
    event_types = ("assistance.offered",)

    request_id: int
    offer_id: int
    hub_code: str
    team_code: str
    people: int
    equipment: list[EquipmentLine]
    eta: datetime
    note: str


class AssistanceDeclined(EventPayload):
    event_types = ("assistance.declined",)

    request_id: int
    hub_code: str
    reason: str


class AssistanceAccepted(EventPayload):
    """The requester accepted an offer: the team is dispatched (deployment) to the request's incident."""

    event_types = ("assistance.accepted",)

    request_id: int
    offer_id: int
    hub_code: str
    team_code: str
    incident_id: int
    deployment_id: int
    fulfilled: bool


class AssistanceClosed(EventPayload):
    """The request was cancelled by its requester, or expired (its window passed with no offer accepted)."""

    event_types = ("assistance.cancelled", "assistance.expired")

    request_id: int
    status: RequestStatus
    reason: str
    void_offer_ids: list[int]
