from enum import Enum

from piccolo.columns import (
    JSONB,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Numeric,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.orgs.tables import OrgUnit
from rescueops.teams.tables import Team


class Tracking(str, Enum):
    item = "item"  # each piece has an asset tag (boats, generators, AEDs)
    stock = "stock"  # counted in a unit (life jackets by the piece, water purification tablets by the box)


class ItemStatus(str, Enum):
    in_service = "in_service"
    checked_out = "checked_out"
    in_maintenance = "in_maintenance"
    lent = "lent"
    lost = "lost"
    scrapped = "scrapped"
    in_transit = "in_transit"  # dispatched to another owner, not yet received


class FundingSource(str, Enum):
    fiscal = "fiscal"  # 财政
    donation = "donation"  # 捐赠
    project = "project"  # 项目


class MovementKind(str, Enum):
    receive = "receive"
    issue = "issue"
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    adjust = "adjust"
    consume = "consume"
    write_off = "write_off"


class EquipmentType(Table, tablename="equipment_type"):
    code = Varchar(length=48, unique=True)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200)
    tracking = Varchar(length=8, choices=Tracking)
    unit_zh = Varchar(length=16, default="件")  # 件, 台, 套, 箱, 米…
    categories = JSONB(default="[]")  # team category codes it serves
    inspection_months = SmallInt(null=True, default=None)
    shelf_life_months = SmallInt(null=True, default=None)
    checklist = JSONB(default="[]")  # inspection points for this type


class KitTemplate(Table, tablename="equipment_kit_template"):
    """What a ready kit of one category holds: [{"type": code, "quantity": n}, …] of item-tracked types."""

    code = Varchar(length=48, unique=True)
    category = Varchar(length=32)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200)
    lines = JSONB(default="[]")


class Item(Table, tablename="equipment_item"):
    """An individually tracked piece, owned by a team or by a depot (exactly one of the two)."""

    asset_tag = Varchar(length=40, unique=True)
    type = ForeignKey(EquipmentType, on_delete=OnDelete.restrict)
    serial_number = Varchar(length=80, default="")
    team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)
    depot = ForeignKey(OrgUnit, null=True, default=None, on_delete=OnDelete.restrict)
    # The owner's path: scoping items is the same range scan as scoping teams and org units.
    owner_path = Varchar(length=512, index=True)
    storage_location = Varchar(length=200, default="")
    status = Varchar(length=16, choices=ItemStatus, default=ItemStatus.in_service)
    acquired_on = Date(null=True, default=None)
    cost = Numeric(digits=(12, 2), null=True, default=None)
    funding = Varchar(length=12, choices=FundingSource, default=FundingSource.fiscal)
    expires_on = Date(null=True, default=None)
    notes = Text(default="")
    created_at = Timestamptz()
    # A kit is an item of type "kit" with a template; the items packed in it point to it.
    kit_template = ForeignKey(KitTemplate, null=True, default=None, on_delete=OnDelete.restrict)
    container = ForeignKey("self", null=True, default=None, on_delete=OnDelete.set_null)


class CheckoutKind(str, Enum):
    member = "member"  # handed to a team member
    drill = "drill"  # taken to a drill
    deployment = "deployment"  # taken on a deployment
    loan = "loan"  # lent to another team


class ReturnCondition(str, Enum):
    ok = "ok"
    damaged = "damaged"  # goes to maintenance
    lost = "lost"


class Checkout(Table, tablename="equipment_checkout"):
    """An item out of its store: to whom or what, until when, and how it came back. Open while returned_at is null."""

    item = ForeignKey(Item, on_delete=OnDelete.cascade)
    kind = Varchar(length=12, choices=CheckoutKind)
    person = Integer(null=True, default=None)  # members person id (kind member)
    person_name = Varchar(length=50, default="")
    borrower = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)  # kind loan
    reference = Varchar(length=100, default="")  # drill or deployment reference
    out_at = Timestamptz()
    due_back = Date(null=True, default=None, index=True)
    out_by = Integer(null=True, default=None)
    returned_at = Timestamptz(null=True, default=None)
    returned_by = Integer(null=True, default=None)
    condition = Varchar(length=10, choices=ReturnCondition, null=True, default=None)
    note = Text(default="")


class Inspection(Table, tablename="equipment_inspection"):
    """A check of an item against its type's checklist; the next one falls due after the type's interval."""

    item = ForeignKey(Item, on_delete=OnDelete.cascade)
    inspected_on = Date(index=True)
    results = JSONB()  # [{"point": "船体气密", "passed": true}, …]
    passed = Boolean()
    next_due = Date(null=True, default=None)
    note = Text(default="")
    by_user = Integer(null=True, default=None)
    at = Timestamptz()


class Repair(Table, tablename="equipment_repair"):
    item = ForeignKey(Item, on_delete=OnDelete.cascade)
    description = Text()
    started_on = Date()
    finished_on = Date(null=True, default=None)
    cost = Numeric(digits=(12, 2), null=True, default=None)
    by_user = Integer(null=True, default=None)
    at = Timestamptz()


class ScrapStatus(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class ScrapRequest(Table, tablename="equipment_scrap"):
    """Scrapping (报废) needs the owner's supervising branch to approve."""

    item = ForeignKey(Item, on_delete=OnDelete.cascade)
    reason = Text()
    status = Varchar(length=10, choices=ScrapStatus, default=ScrapStatus.pending)
    requested_by = Integer()
    requested_at = Timestamptz()
    decided_by = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(default="")


class Aed(Table, tablename="equipment_aed"):
    """A public AED (能用管用): where it is, who answers for it, and whether it is usable."""

    code = Varchar(length=40, unique=True)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)  # the banner/county or league it is registered under
    unit_path = Varchar(length=512, index=True)
    place_name = Varchar(length=100)  # 乌丹镇中心广场, 赤峰站候车室…
    address = Varchar(length=200)
    lat = DoublePrecision(index=True)
    lon = DoublePrecision(index=True)
    responsible_org = Varchar(length=100)
    contact_name = Varchar(length=50, default="")
    contact_phone = Varchar(length=20, default="")  # not shown on the public page
    opening_hours = Varchar(length=100, default="全天")
    model = Varchar(length=100, default="")
    pads_expire_on = Date(null=True, default=None)
    battery_expires_on = Date(null=True, default=None)
    last_checked_on = Date(null=True, default=None)
    check_interval_days = SmallInt(default=30)
    in_service = Boolean(default=True)
    created_at = Timestamptz()


class TransferStatus(str, Enum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"
    dispatched = "dispatched"
    received = "received"


class TransferRequest(Table, tablename="equipment_transfer"):
    """Materials asked of another owner (usually a depot): request → approve → dispatched → received."""

    source_team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)
    source_depot = ForeignKey(OrgUnit, null=True, default=None, on_delete=OnDelete.restrict)
    source_path = Varchar(length=512)
    destination_team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)
    destination_depot = ForeignKey(OrgUnit, null=True, default=None, on_delete=OnDelete.restrict)
    destination_path = Varchar(length=512)
    stock_lines = JSONB(default="[]")  # [{"type": code, "quantity": n}]
    asset_tags = JSONB(default="[]")  # individually tracked items asked for
    reason = Text()
    # Usually the receiving side asks and the source approves; a team returning materials raises it as the source, and the
    # destination approves taking them back.
    raised_by = Varchar(length=12, default="destination")
    status = Varchar(length=12, choices=TransferStatus, default=TransferStatus.requested, index=True)
    history = JSONB(default="[]")  # [{"status", "by", "at", "note"}], one entry per step


class Stock(Table, tablename="equipment_stock"):
    """The balance of one stock-tracked type at one owner's storage location ("" when the owner keeps one store);
    changed only together with a movement row. One row per (type, owner, location): partial unique indexes."""

    type = ForeignKey(EquipmentType, on_delete=OnDelete.restrict)
    team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)
    depot = ForeignKey(OrgUnit, null=True, default=None, on_delete=OnDelete.restrict)
    owner_path = Varchar(length=512, index=True)
    location = Varchar(length=200, default="")  # 库房 A 区, 车载…
    quantity = Integer(default=0)


class Movement(Table, tablename="equipment_movement"):
    """Append-only ledger: every change of a stock balance, with who, why and the balance after."""

    stock = ForeignKey(Stock, on_delete=OnDelete.restrict)
    kind = Varchar(length=16, choices=MovementKind)
    quantity = Integer()  # signed: positive in, negative out
    balance_after = Integer()
    reference = Varchar(length=100, default="")  # transfer id, drill, deployment, delivery note…
    counterpart = ForeignKey(Stock, null=True, default=None, on_delete=OnDelete.restrict)  # the other side of a transfer
    # The movement an adjustment corrects (NO ACTION: checked at the end of a statement, so emptying the table works).
    corrects = ForeignKey("self", null=True, default=None, on_delete=OnDelete.no_action)
    note = Text(default="")
    by_user = Integer(null=True, default=None)
    at = Timestamptz(index=True)


class OwnerChange(Table, tablename="equipment_owner_change"):
    """An item passing from one owner to another (a received transfer); rows are only ever added."""

    item = ForeignKey(Item, on_delete=OnDelete.cascade)
    from_team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)
    from_depot = ForeignKey(OrgUnit, null=True, default=None, on_delete=OnDelete.restrict)
    to_team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.restrict)
    to_depot = ForeignKey(OrgUnit, null=True, default=None, on_delete=OnDelete.restrict)
    transfer = ForeignKey(TransferRequest, null=True, default=None, on_delete=OnDelete.set_null)
    by_user = Integer(null=True, default=None)
    at = Timestamptz()
