"""What comes in and goes out of the deployments API, and the payload of the deployment events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from rescueops.deployments.tables import DeploymentStatus, IncidentKind, LogKind, Severity
from rescueops.equipment.tables import ReturnCondition
from rescueops.events.schemas import EventPayload

# The labels of the kinds and levels are data, in both languages (pages pick one, reports print the Chinese).
INCIDENT_KIND_LABELS: dict[IncidentKind, tuple[str, str]] = {
    IncidentKind.flood: ("洪涝", "flood"),
    IncidentKind.flash_flood: ("山洪", "flash flood"),
    IncidentKind.blizzard: ("白灾（雪灾）", "blizzard (white disaster)"),
    IncidentKind.grassland_fire: ("草原火灾", "grassland fire"),
    IncidentKind.earthquake: ("地震", "earthquake"),
    IncidentKind.building_collapse: ("建筑物倒塌", "building collapse"),
    IncidentKind.road_crash: ("道路交通事故", "road crash"),
    IncidentKind.ice_jam: ("凌汛", "ice jam"),
    IncidentKind.other: ("其他", "other"),
}
SEVERITY_LABELS: dict[Severity, tuple[str, str]] = {
    Severity.particularly_serious: ("特别重大（Ⅰ级）", "particularly serious (level I)"),
    Severity.serious: ("重大（Ⅱ级）", "serious (level II)"),
    Severity.large: ("较大（Ⅲ级）", "large (level III)"),
    Severity.general: ("一般（Ⅳ级）", "general (level IV)"),
}
# Log entries that count people, and the one that may carry a quantity.
COUNTED = (LogKind.rescued, LogKind.treated)


class Label(BaseModel):
    code: str
    name_zh: str
    name_en: str


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: IncidentKind
    title: str = Field(min_length=2, max_length=200)
    place: str = Field(min_length=2, max_length=200, description="Where, as people name it (苏木、嘎查、路段…)")
    unit_code: str = Field(description="The org unit where it happens, e.g. a banner code")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    requesting_authority: str = Field(default="", max_length=200, description="Who asked for the teams, e.g. 锡林浩特市应急管理局")
    severity: Severity = Field(default=Severity.general, description="1 特别重大 … 4 一般")
    started_at: AwareDatetime
    source: str = Field(default="", max_length=100, description='Where the incident came from, e.g. "assistance:12"')

    @model_validator(mode="after")
    def _location(self) -> IncidentIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat, lon: give both coordinates or neither")
        return self


class IncidentOut(BaseModel):
    id: int
    kind: IncidentKind
    kind_zh: str
    title: str
    place: str
    unit_code: str
    unit_name_zh: str
    lat: float | None
    lon: float | None
    requesting_authority: str
    severity: Severity
    severity_zh: str
    started_at: datetime
    source: str
    created_by_name: str
    created_at: datetime
    deployments: int
    open_deployments: int


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    team_code: str
    person_ids: list[int] = Field(default_factory=list, max_length=500, description="Empty: the captain adds them later")
    asset_tags: list[str] = Field(default_factory=list, max_length=500, description="Items checked out to the deployment")
    source: str = Field(default="", max_length=100, description='"" or "offer:<id>"')
    alerted_at: AwareDatetime | None = Field(default=None, description="When the team was called; empty: now")
    note: str = Field(default="", max_length=1000)


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_ids: list[int] = Field(min_length=1, max_length=500)
    at: AwareDatetime | None = Field(default=None, description="When they joined the deployment; empty: now")


class ReleaseIn(BaseModel):
    """A member leaves the deployment before the team does (their hours end here)."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(default=None, description="Empty: now")
    note: str = Field(default="", max_length=500)


class EquipmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset_tags: list[str] = Field(min_length=1, max_length=500)


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: ReturnCondition = ReturnCondition.ok
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _explain(self) -> ReturnIn:
        if self.condition is not ReturnCondition.ok and len(self.note.strip()) < 2:
            raise ValueError("note: say what happened to the item")
        return self


class ItemReturnIn(ReturnIn):
    asset_tag: str


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: DeploymentStatus = Field(description="mobilising, on_scene or demobilising; closing is POST …/close")
    at: AwareDatetime | None = Field(default=None, description="When it happened; empty: now")
    note: str = Field(default="", max_length=1000)


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime | None = Field(default=None, description="When the team was back and stood down; empty: now")
    note: str = Field(default="", max_length=2000)
    returns: list[ItemReturnIn] = Field(default_factory=list, max_length=500, description="How items came back (damaged, lost) where not ok")
    return_rest: bool = Field(default=True, description="Every other item still out came back ok; false: they stay out, listed")


class LogEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: LogKind
    occurred_at: AwareDatetime | None = Field(default=None, description="Empty: now")
    text: str = Field(default="", max_length=4000)
    count: int | None = Field(default=None, ge=0, le=100000, description="People rescued or treated; a requested quantity")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _content(self) -> LogEntryIn:
        if self.kind in COUNTED:
            if not self.count:
                raise ValueError("count: say how many people")
        elif self.kind is not LogKind.resource_request and self.count:
            raise ValueError(f"count: a {self.kind.value} entry counts nothing")
        elif len(self.text) < 2:
            raise ValueError("text: say what happened")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat, lon: give both coordinates or neither")
        return self


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=500)


class DeploymentOut(BaseModel):
    id: int
    incident_id: int
    incident_title: str
    incident_place: str
    incident_kind: IncidentKind
    incident_severity: Severity
    incident_unit_code: str
    team_code: str
    team_name: str
    status: DeploymentStatus
    source: str
    started_at: datetime  # the dispatch (alerted)
    mobilising_at: datetime | None
    on_scene_at: datetime | None
    demobilising_at: datetime | None
    closed_at: datetime | None
    people: int  # everyone dispatched on it, released or not
    people_present: int  # still on it
    rescued: int
    treated: int
    equipment_out: int  # items not yet back
    log_entries: int


class DeployedMemberOut(BaseModel):
    person_id: int
    name: str
    added_at: datetime
    released_at: datetime | None
    release_note: str
    hours: Decimal  # credited on close; until then, so far


class DeployedItemOut(BaseModel):
    asset_tag: str
    type_name_zh: str
    out_at: datetime
    returned_at: datetime | None
    condition: ReturnCondition | None
    note: str


class TransitionOut(BaseModel):
    from_status: DeploymentStatus | None
    to_status: DeploymentStatus
    at: datetime
    by_name: str
    note: str


class LogEntryOut(BaseModel):
    id: int
    kind: LogKind
    occurred_at: datetime
    text: str
    count: int
    lat: float | None
    lon: float | None
    recorded_at: datetime
    recorded_by_name: str
    voided_at: datetime | None
    void_reason: str


class DeploymentDetail(DeploymentOut):
    closing_note: str
    next_statuses: list[DeploymentStatus]  # what the status buttons may move to now
    members: list[DeployedMemberOut]
    equipment: list[DeployedItemOut]
    transitions: list[TransitionOut]
    log: list[LogEntryOut]  # newest first, voided ones included (marked)


class DeploymentReport(BaseModel):
    """What the deployment report (救援行动报告) is made from."""

    incident: IncidentOut
    deployment: DeploymentDetail
    total_hours: Decimal
    generated_at: datetime


class DeploymentEvent(EventPayload):
    """A team was dispatched (started), moved on (status_changed) or came back (ended); coordination and the hubs follow these."""

    event_types = ("deployment.started", "deployment.status_changed", "deployment.ended")

    deployment_id: int
    incident_id: int
    incident_title: str
    incident_kind: IncidentKind
    incident_unit_code: str
    team_code: str
    status: DeploymentStatus
    previous_status: DeploymentStatus | None = None
    at: datetime
    person_ids: list[int]  # on the deployment at this moment (none once ended)
    source: str = ""
    rescued: int = 0
    treated: int = 0
