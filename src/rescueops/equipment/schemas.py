from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rescueops.calendar import china_today
from rescueops.equipment.tables import (
    CheckoutKind,
    FundingSource,
    ItemStatus,
    MovementKind,
    ReturnCondition,
    Tracking,
    TransferStatus,
)
from rescueops.events.schemas import EventPayload
from rescueops.orgs.schemas import UnitRef

ASSET_TAG = r"^[A-Z0-9][A-Z0-9-]{2,39}$"


def _location(description: str = "Storage location within the owner (库房 A 区, 车载…); empty: the owner's one store") -> Any:
    return Field(default="", max_length=200, description=description)


class TypeOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    tracking: Tracking
    unit_zh: str
    categories: list[str]
    inspection_months: int | None
    shelf_life_months: int | None
    checklist: list[str]


class TypeKitOut(BaseModel):
    """A kit template the type belongs to, and how many of it a ready kit holds."""

    template_code: str
    name_zh: str
    name_en: str
    category: str
    quantity: int


class CatalogueTypeOut(TypeOut):
    kits: list[TypeKitOut] = Field(description="Typical kit membership: the kit templates that hold this type")


class KitTemplateOut(BaseModel):
    code: str
    category: str
    name_zh: str
    name_en: str
    lines: list[dict]


class OwnerIn(BaseModel):
    """Exactly one owner: a team or a reserve depot."""

    model_config = ConfigDict(extra="forbid")

    team_code: str | None = None
    depot_code: str | None = None

    @model_validator(mode="after")
    def _one_owner(self) -> OwnerIn:
        if (self.team_code is None) == (self.depot_code is None):
            raise ValueError("give exactly one owner: team_code or depot_code")
        return self


class OwnerOut(BaseModel):
    kind: str  # "team" or "depot"
    code: str
    name_zh: str


class ItemIn(OwnerIn):
    asset_tag: str = Field(pattern=ASSET_TAG, description="Upper-case letters, digits and '-', e.g. CF-WNT-BOAT-001")
    type_code: str
    serial_number: str = Field(default="", max_length=80)
    storage_location: str = Field(default="", max_length=200)
    acquired_on: date | None = None
    cost: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    funding: FundingSource = FundingSource.fiscal
    expires_on: date | None = Field(default=None, description="Empty: acquisition date plus the type's shelf life")
    notes: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _dates(self) -> ItemIn:
        if self.acquired_on and self.acquired_on > china_today():
            raise ValueError("acquired_on: cannot be in the future")
        if self.acquired_on and self.expires_on and self.expires_on < self.acquired_on:
            raise ValueError("expires_on: cannot be before the item was acquired")
        return self


class ItemOut(BaseModel):
    asset_tag: str
    type: TypeOut
    serial_number: str
    owner: OwnerOut
    storage_location: str
    status: ItemStatus
    acquired_on: date | None
    cost: Decimal | None
    funding: FundingSource
    expires_on: date | None
    expired: bool
    notes: str
    kit_template: str | None = Field(default=None, description="For a kit: its template code")
    in_kit: str | None = Field(default=None, description="The asset tag of the kit it is packed in")


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CheckoutKind
    person_id: int | None = Field(default=None, description="For kind member: the member who takes it")
    borrower_team_code: str | None = Field(default=None, description="For kind loan: the team it is lent to")
    reference: str = Field(default="", max_length=100, description="For drill/deployment: which one")
    due_back: date | None = None
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _who(self) -> CheckoutIn:
        if self.kind is CheckoutKind.member and self.person_id is None:
            raise ValueError("person_id: say which member takes the item")
        if self.kind is CheckoutKind.loan and not self.borrower_team_code:
            raise ValueError("borrower_team_code: say which team borrows the item")
        if self.kind in (CheckoutKind.drill, CheckoutKind.deployment) and not self.reference.strip():
            raise ValueError("reference: say which drill or deployment")
        if self.due_back and self.due_back < china_today():
            raise ValueError("due_back: cannot be in the past")
        return self


class CheckinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: ReturnCondition = ReturnCondition.ok
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _explain(self) -> CheckinIn:
        if self.condition is not ReturnCondition.ok and len(self.note.strip()) < 2:
            raise ValueError("note: say what happened to the item")
        return self


class CheckoutOut(BaseModel):
    id: int
    asset_tag: str
    type_name_zh: str
    kind: CheckoutKind
    person_name: str
    borrower_team_code: str | None
    reference: str
    out_at: datetime
    due_back: date | None
    overdue: bool
    returned_at: datetime | None
    condition: ReturnCondition | None
    note: str


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inspected_on: date = Field(default_factory=china_today)
    results: dict[str, bool] = Field(description="Every point of the type's checklist: passed or not")
    note: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _not_future(self) -> InspectionIn:
        if self.inspected_on > china_today():
            raise ValueError("inspected_on: cannot be in the future")
        return self


class InspectionOut(BaseModel):
    id: int
    asset_tag: str
    inspected_on: date
    results: list[dict]
    passed: bool
    next_due: date | None
    note: str


class RepairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=2, max_length=1000)
    started_on: date = Field(default_factory=china_today)
    finished_on: date | None = None
    cost: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    @model_validator(mode="after")
    def _order(self) -> RepairIn:
        if self.finished_on and self.finished_on < self.started_on:
            raise ValueError("finished_on: cannot be before the repair started")
        return self


class RepairDoneIn(BaseModel):
    """An item back from maintenance: closes the open repair (or records the one just done) and puts it back in service."""

    model_config = ConfigDict(extra="forbid")

    finished_on: date = Field(default_factory=china_today)
    cost: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    description: str = Field(default="", max_length=1000, description="What was done; required when no repair was open")

    @model_validator(mode="after")
    def _not_future(self) -> RepairDoneIn:
        if self.finished_on > china_today():
            raise ValueError("finished_on: cannot be in the future")
        return self


class HistoryKind(str, Enum):
    registered = "registered"
    checked_out = "checked_out"
    returned = "returned"
    inspected = "inspected"
    repair_started = "repair_started"
    repair_finished = "repair_finished"
    scrap_requested = "scrap_requested"
    scrap_decided = "scrap_decided"
    transfer = "transfer"
    owner_changed = "owner_changed"


class HistoryEntry(BaseModel):
    """One thing that happened to an item; an item's history is these, oldest first."""

    on: date = Field(description="The day it happened (China time)")
    at: datetime = Field(description="When it was recorded")
    kind: HistoryKind
    status: str = Field(default="", description="checkout kind, return condition, passed/failed, scrap decision, transfer step")
    detail: str = Field(default="", description="Who or what: member, team, drill, note, reason, owners")


class DueOut(BaseModel):
    asset_tag: str
    type_name_zh: str
    owner: OwnerOut
    status: ItemStatus
    next_due: date
    overdue: bool


class ScrapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=1000)


class ScrapDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(default="", max_length=1000)


class ScrapOut(BaseModel):
    id: int
    asset_tag: str
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None
    decision_reason: str


class KitIn(OwnerIn):
    asset_tag: str = Field(pattern=ASSET_TAG)
    template_code: str
    storage_location: str = Field(default="", max_length=200)
    asset_tags: list[str] = Field(default_factory=list, max_length=200, description="Items of the same owner to pack at once")


class PackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_tags: list[str] = Field(min_length=1, max_length=200)


class KitLine(BaseModel):
    type_code: str
    type_name_zh: str
    needed: int
    ready: int
    problems: list[str] = Field(description="Why packed items of this type do not count: checked out, expired, in maintenance…")


class KitOut(BaseModel):
    asset_tag: str
    template_code: str
    name_zh: str
    owner: OwnerOut
    ready: bool
    lines: list[KitLine]
    contents: list[str]


class LabelsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The schema only bounds what is read; labels.check_count refuses more than 500 with the reason.
    asset_tags: list[str] = Field(max_length=10_000, description="Items and kits to label, in print order (at most 500)")
    format: str = Field(default="pdf", pattern="^(pdf|svg)$")


class AedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=ASSET_TAG)
    unit_code: str = Field(description="The league or banner/county it is registered under")
    place_name: str = Field(min_length=2, max_length=100)
    address: str = Field(min_length=2, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    responsible_org: str = Field(min_length=2, max_length=100)
    contact_name: str = Field(default="", max_length=50)
    contact_phone: str = ""
    opening_hours: str = Field(default="全天", max_length=100)
    model: str = Field(default="", max_length=100)
    pads_expire_on: date | None = None
    battery_expires_on: date | None = None
    check_interval_days: int = Field(default=30, ge=1, le=365)


class AedCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checked_on: date = Field(default_factory=china_today)
    working: bool = Field(description="Self-test passed and the device is in place")
    pads_expire_on: date | None = Field(default=None, description="New pads' expiry, when replaced")
    battery_expires_on: date | None = Field(default=None, description="New battery's expiry, when replaced")
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _not_future(self) -> AedCheckIn:
        if self.checked_on > china_today():
            raise ValueError("checked_on: cannot be in the future")
        return self


class AedProblem(str, Enum):
    """Why an AED is not usable ("能用管用" fails); pages show these in the reader's language."""

    out_of_service = "out_of_service"
    pads_expired = "pads_expired"  # or never recorded
    battery_expired = "battery_expired"  # or never recorded
    check_overdue = "check_overdue"  # or never checked


class AedOut(BaseModel):
    code: str
    unit_code: str
    place_name: str
    address: str
    lat: float
    lon: float
    responsible_org: str
    contact_name: str
    contact_phone: str
    opening_hours: str
    model: str
    pads_expire_on: date | None
    battery_expires_on: date | None
    last_checked_on: date | None
    check_due_on: date | None
    usable: bool
    problems: list[AedProblem]


class PublicAed(BaseModel):
    """What anyone may see: no names, no phone numbers."""

    place_name: str
    address: str
    lat: float
    lon: float
    opening_hours: str
    responsible_org: str
    distance_km: float
    usable: bool


class StockLine(BaseModel):
    type: str
    quantity: int = Field(gt=0)


class TransferRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: OwnerIn
    destination: OwnerIn
    stock_lines: list[StockLine] = Field(default_factory=list, max_length=200)
    asset_tags: list[str] = Field(default_factory=list, max_length=500)
    reason: str = Field(min_length=2, max_length=1000)

    @model_validator(mode="after")
    def _something(self) -> TransferRequestIn:
        if not self.stock_lines and not self.asset_tags:
            raise ValueError("ask for at least one stock line or one item")
        return self


class TransferStepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(pattern="^(approve|reject|dispatch|receive)$")
    note: str = Field(default="", max_length=500)
    location: str = Field(default="", max_length=200,
                          description="dispatch: the source's storage location the stock leaves; receive: where the destination puts it")


class TransferRequestOut(BaseModel):
    id: int
    source: OwnerOut
    destination: OwnerOut
    stock_lines: list[StockLine]
    asset_tags: list[str]
    reason: str
    raised_by: str = Field(description="destination (asked for) or source (sent back); the other side approves")
    status: str
    history: list[dict]


class TransferEvent(EventPayload):
    """A transfer request took a step; the depots' and hubs' coordinators follow these."""

    event_types = tuple(f"equipment_transfer.{status.value}" for status in TransferStatus)

    transfer_id: int
    status: TransferStatus
    source: OwnerOut
    destination: OwnerOut
    stock_lines: list[StockLine]
    asset_tags: list[str]
    reason: str
    note: str = ""
    by: str


class MovementIn(OwnerIn):
    type_code: str
    kind: MovementKind = Field(description="receive, issue, consume, write_off or adjust (transfers have their own endpoint)")
    quantity: int = Field(description="How many; for adjust, the signed correction (e.g. -2 after a count)")
    location: str = _location()
    reference: str = Field(default="", max_length=100, description="Delivery note, drill, deployment…")
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _quantity(self) -> MovementIn:
        if self.kind in (MovementKind.transfer_in, MovementKind.transfer_out):
            raise ValueError("kind: move stock between owners with POST /api/v1/equipment/stock/transfers")
        if self.kind is MovementKind.adjust:
            if self.quantity == 0:
                raise ValueError("quantity: an adjustment changes the balance")
            if not self.note.strip():
                raise ValueError("note: say why the count is corrected")
        elif self.quantity <= 0:
            raise ValueError("quantity: must be a positive number")
        return self


class TransferIn(BaseModel):
    """Stock from one owner's location to another owner, or to another location of the same owner."""

    model_config = ConfigDict(extra="forbid")

    type_code: str
    source: OwnerIn
    destination: OwnerIn
    source_location: str = _location("Where the stock leaves (a location of the source)")
    destination_location: str = _location("Where it goes (a location of the destination)")
    quantity: int = Field(gt=0)
    reference: str = Field(default="", max_length=100)
    note: str = Field(default="", max_length=500)


class CorrectionIn(BaseModel):
    """A ledger row is never changed: a wrong movement is corrected by an adjusting movement that refers to it."""

    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(description="What the movement should have been, in its own sense (e.g. 30 for a receipt of 40 that was 30)")
    note: str = Field(min_length=2, max_length=500, description="Why it is corrected")


class BalanceOut(BaseModel):
    type_code: str
    type_name_zh: str
    unit_zh: str
    owner: OwnerOut
    location: str = ""
    quantity: int


class DepotEquipmentOut(BaseModel):
    type_code: str
    type_name_zh: str
    in_service: int  # ready to send
    total: int  # held, whatever the state (not counting scrapped or lost)


class DepotOut(BaseModel):
    """A reserve depot (物资储备库) as every hub sees it: where it is, its stock and its pre-positioned equipment."""

    code: str
    name_zh: str
    name_en: str
    parent: UnitRef
    region: str  # the hub region it lies in, or "all"
    stock: list[BalanceOut]
    equipment: list[DepotEquipmentOut]


class MovementOut(BaseModel):
    id: int
    type_code: str
    owner: OwnerOut
    location: str
    kind: MovementKind
    quantity: int
    balance_after: int
    reference: str
    note: str
    corrects: int | None = Field(default=None, description="The movement this adjustment corrects")
    at: datetime
