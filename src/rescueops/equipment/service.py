"""Equipment: the catalogue, individually tracked items, and stock kept by an append-only ledger.

A stock balance never goes negative, also under concurrent requests: every debit is one
``UPDATE … SET quantity = quantity - n WHERE quantity >= n``, so the database decides which of
two racing requests still finds enough, on SQLite (writes serialised by BEGIN IMMEDIATE) and on
PostgreSQL (row lock) alike; the ledger row is written in the same transaction.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml
from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Max
from piccolo.querystring import QueryString
from pydantic import ValidationError

from rescueops import spreadsheets, uploads
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can, can_anywhere, scopes_for
from rescueops.accounts.tables import Role
from rescueops.calendar import add_months, as_date, china_today, in_china, utc_now
from rescueops.db import write_transaction
from rescueops.db.engine import driver_rows
from rescueops.db.pagination import PageParams
from rescueops.db.paths import under, within
from rescueops.db.search import contains
from rescueops.db.statements import Statement
from rescueops.equipment import item_file, labels
from rescueops.equipment.schemas import (
    AedCheckIn,
    AedIn,
    AedOut,
    AedProblem,
    BalanceOut,
    CatalogueTypeOut,
    CheckinIn,
    CheckoutIn,
    CheckoutOut,
    CorrectionIn,
    DepotEquipmentOut,
    DepotOut,
    DueOut,
    HistoryEntry,
    HistoryKind,
    InspectionIn,
    InspectionOut,
    ItemIn,
    ItemOut,
    KitIn,
    KitLine,
    KitOut,
    KitTemplateOut,
    MovementIn,
    MovementOut,
    OwnerIn,
    OwnerOut,
    PackIn,
    PublicAed,
    RepairDoneIn,
    RepairIn,
    ScrapDecisionIn,
    ScrapIn,
    ScrapOut,
    TransferEvent,
    TransferIn,
    TransferRequestIn,
    TransferRequestOut,
    TransferStepIn,
    TypeKitOut,
    TypeOut,
)
from rescueops.equipment.tables import (
    Aed,
    Checkout,
    CheckoutKind,
    EquipmentType,
    Inspection,
    Item,
    ItemStatus,
    KitTemplate,
    Movement,
    MovementKind,
    OwnerChange,
    Repair,
    ReturnCondition,
    ScrapRequest,
    ScrapStatus,
    Stock,
    Tracking,
    TransferRequest,
    TransferStatus,
)
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.events import service as events
from rescueops.geo import great_circle_km
from rescueops.members import service as members
from rescueops.members.identity import valid_phone
from rescueops.members.schemas import ImportReport, ImportRowError
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind, OrgUnit
from rescueops.teams import service as teams

# Movements that take stock out, and those that bring it in; adjust carries its own sign.
OUTGOING = {MovementKind.issue, MovementKind.consume, MovementKind.write_off, MovementKind.transfer_out}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- catalogue -----------------------------------------------------------------------------


@cache
def shipped_types() -> list[dict[str, Any]]:
    """The equipment types of the shipped reference file (what ``load_types`` loads)."""
    text = resources.files("rescueops.equipment").joinpath("reference/equipment_types.yaml").read_text("utf-8")
    return yaml.safe_load(text)["equipment_types"]


async def load_types() -> int:
    entries = shipped_types()
    existing = {row["code"] for row in await EquipmentType.select(EquipmentType.code)}
    async with write_transaction():
        for entry in entries:
            values = {
                "name_zh": entry["name_zh"], "name_en": entry["name_en"], "tracking": entry["tracking"],
                "unit_zh": entry.get("unit_zh", "件"), "categories": json.dumps(entry.get("categories", [])),
                "inspection_months": entry.get("inspection_months"), "shelf_life_months": entry.get("shelf_life_months"),
                "checklist": json.dumps(entry.get("checklist", []), ensure_ascii=False),
            }
            if entry["code"] in existing:
                await EquipmentType.update(values).where(EquipmentType.code == entry["code"])
            else:
                await EquipmentType.insert(EquipmentType(code=entry["code"], **values))
    return len([e for e in entries if e["code"] not in existing])


def _type_out(row: dict[str, Any]) -> TypeOut:
    return TypeOut(**{**row, "categories": _json(row["categories"]), "checklist": _json(row["checklist"])})


async def list_types() -> list[TypeOut]:
    return [_type_out(row) for row in await EquipmentType.select().order_by(EquipmentType.id)]


async def list_kit_templates() -> list[KitTemplateOut]:
    rows = await KitTemplate.select().order_by(KitTemplate.id)
    return [KitTemplateOut(code=r["code"], category=r["category"], name_zh=r["name_zh"], name_en=r["name_en"], lines=_json(r["lines"]))
            for r in rows]


async def catalogue() -> list[CatalogueTypeOut]:
    """Every type with its typical kit membership, derived from the kit templates (so an edited template shows at once)."""
    kits: dict[str, list[TypeKitOut]] = {}
    for template in await list_kit_templates():
        for line in template.lines:
            kits.setdefault(line["type"], []).append(TypeKitOut(
                template_code=template.code, name_zh=template.name_zh, name_en=template.name_en, category=template.category,
                quantity=line["quantity"]))
    return [CatalogueTypeOut(**kind.model_dump(), kits=kits.get(kind.code, [])) for kind in await list_types()]


async def _type(code: str, tracking: Tracking | None = None) -> dict[str, Any]:
    row = await EquipmentType.select().where(EquipmentType.code == code).first()
    if row is None:
        raise field_error("type_code", f"unknown equipment type '{code}'")
    if tracking and row["tracking"] != tracking.value:
        kind = "individually tracked (register it as an item)" if row["tracking"] == "item" else "counted as stock (use stock movements)"
        raise field_error("type_code", f"{row['name_zh']} is {kind}")
    return row


# --- owners --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    team: int | None
    depot: int | None
    path: str
    out: OwnerOut


async def _owner(owner: OwnerIn) -> Owner:
    if owner.team_code is not None:
        team = await teams.team_row(owner.team_code)
        return Owner(team["id"], None, team["path"], OwnerOut(kind="team", code=team["code"], name_zh=team["name_zh"]))
    depot = await OrgUnit.select(OrgUnit.id, OrgUnit.path, OrgUnit.kind, OrgUnit.name_zh).where(OrgUnit.code == owner.depot_code).first()
    if depot is None or depot["kind"] != OrgKind.depot.value:
        raise field_error("depot_code", f"'{owner.depot_code}' is not a reserve depot")
    return Owner(None, depot["id"], depot["path"], OwnerOut(kind="depot", code=owner.depot_code, name_zh=depot["name_zh"]))


def _may_view(principal: Principal, path: str, depot: int | None) -> bool:
    """A team's equipment is seen within scope; a reserve depot serves every region, so whoever may view equipment sees it."""
    return can(principal, "equipment.view", path) or (depot is not None and can_anywhere(principal, "equipment.view"))


def _authorize(principal: Principal, action: str, path: str, depot: int | None = None) -> None:
    """Allow ``action`` on equipment at ``path``; what the caller may not even see answers 404."""
    visible = _may_view(principal, path, depot)
    if action == "equipment.view" and visible:
        return
    authorize(principal, action, path, hide=not visible)


def _owner_out(row: dict[str, Any]) -> OwnerOut:
    if row.get("team_code"):
        return OwnerOut(kind="team", code=row["team_code"], name_zh=row["team_name"])
    return OwnerOut(kind="depot", code=row["depot_code"], name_zh=row["depot_name"])


def _owner_columns(table: type[Item] | type[Stock]) -> tuple[Any, ...]:
    return (
        table.team.code.as_alias("team_code"),
        table.team.name_zh.as_alias("team_name"),
        table.depot.code.as_alias("depot_code"),
        table.depot.name_zh.as_alias("depot_name"),
    )


def _owner_filter(table: type[Item] | type[Stock], owner: Owner) -> Any:
    return (table.team == owner.team) if owner.team is not None else (table.depot == owner.depot)


# --- items ---------------------------------------------------------------------------------


async def _item_outs(rows: list[dict[str, Any]]) -> list[ItemOut]:
    # Only the rows' types: the whole catalogue, JSON decoded, would cost more than the items (a scan is one item).
    type_ids = list({row["type"] for row in rows})
    types = {t["code"]: _type_out(t) for t in await EquipmentType.select().where(EquipmentType.id.is_in(type_ids))} if rows else {}
    today = china_today()
    return [
        ItemOut(
            asset_tag=row["asset_tag"], type=types[row["type_code"]], serial_number=row["serial_number"], owner=_owner_out(row),
            storage_location=row["storage_location"], status=row["status"], acquired_on=row["acquired_on"], cost=row["cost"],
            funding=row["funding"], expires_on=row["expires_on"], expired=bool(row["expires_on"] and row["expires_on"] < today),
            notes=row["notes"], kit_template=row["kit_template_code"], in_kit=row["container_tag"],
        )
        for row in rows
    ]


_ITEM_COLUMNS = (Item.all_columns(), Item.type.code.as_alias("type_code"), *_owner_columns(Item),
                 Item.kit_template.code.as_alias("kit_template_code"), Item.container.asset_tag.as_alias("container_tag"))


async def _register(principal: Principal | None, data: ItemIn, kit_template: int | None = None) -> None:
    """Insert one item (a kit when ``kit_template`` is given), in the caller's transaction if there is one."""
    kind = await _type(data.type_code, Tracking.item)
    owner = await _owner(data)
    if principal is not None:
        _authorize(principal, "equipment.manage", owner.path, owner.depot)
    expires_on = data.expires_on
    if expires_on is None and data.acquired_on and kind["shelf_life_months"]:
        expires_on = add_months(data.acquired_on, kind["shelf_life_months"])
    async with write_transaction():
        if await Item.exists().where(Item.asset_tag == data.asset_tag):
            raise Conflict(f"The asset tag {data.asset_tag} is already on another item.", code="duplicate_asset_tag")
        await Item.insert(Item(
            asset_tag=data.asset_tag, type=kind["id"], serial_number=data.serial_number, team=owner.team, depot=owner.depot,
            owner_path=owner.path, storage_location=data.storage_location, acquired_on=data.acquired_on, cost=data.cost,
            funding=data.funding.value, expires_on=expires_on, notes=data.notes, created_at=utc_now(), kit_template=kit_template,
        ))
        await accounts.record_audit(principal, "equipment.kit.register" if kit_template else "equipment.item.register", "item",
                                    data.asset_tag, owner.path, data.model_dump(mode="json"))


async def register_item(principal: Principal | None, data: ItemIn) -> ItemOut:
    await _register(principal, data)
    return await get_item(None, data.asset_tag)


_ITEM_BY_TAG = Statement(lambda asset_tag: Item.select(*_ITEM_COLUMNS).where(Item.asset_tag == asset_tag).limit(1))


async def get_item(principal: Principal | None, asset_tag: str) -> ItemOut:
    row = await _ITEM_BY_TAG.first(asset_tag)
    if row is None:
        raise NotFound(f"No item with asset tag {asset_tag}.")
    if principal is not None:
        _authorize(principal, "equipment.view", row["owner_path"], row["depot"])
    return (await _item_outs([row]))[0]


async def list_items(
    principal: Principal,
    page: PageParams,
    *,
    team: str | None = None,
    depot: str | None = None,
    under_code: str | None = None,
    type_code: str | None = None,
    status: ItemStatus | None = None,
    q: str | None = None,
) -> tuple[list[ItemOut], int]:
    scopes = scopes_for(principal, "equipment.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing equipment.")
    conditions = [within(Item.owner_path, scopes)]
    if team or depot:
        owner = await _owner(OwnerIn(team_code=team or None, depot_code=None if team else depot))
        if _may_view(principal, owner.path, owner.depot):
            conditions = []
        conditions.append(_owner_filter(Item, owner))
    if under_code:
        conditions.append(under(Item.owner_path, (await orgs.get_unit(under_code)).path))
    if type_code:
        conditions.append(Item.type == (await _type(type_code))["id"])
    if status:
        conditions.append(Item.status == status.value)
    if q:
        # The type's name through a subquery: a raw condition on the joined column would not join in the count.
        named = EquipmentType.select(EquipmentType.id).where(contains(EquipmentType.name_zh, q))
        conditions.append(contains(Item.asset_tag, q) | contains(Item.serial_number, q) | Item.type.is_in(named))
    select = Item.select(*_ITEM_COLUMNS).order_by(Item.asset_tag).limit(page.limit).offset(page.offset)
    count = Item.count()
    for condition in filter(None, conditions):
        select, count = select.where(condition), count.where(condition)
    return await _item_outs(await select), await count


# --- stock ---------------------------------------------------------------------------------
#
# The ledger is append-only: the only writer of equipment_movement is _apply() below, which inserts. A wrong
# movement is corrected by an adjusting movement that names it (correct_movement), never by changing the row.


async def _stock_id(type_id: int, owner: Owner, location: str = "") -> int:
    """The balance row of a type at an owner's location, created at zero the first time (race-safe)."""
    await Stock.insert(Stock(type=type_id, team=owner.team, depot=owner.depot, owner_path=owner.path, location=location,
                             quantity=0)).on_conflict(action="DO NOTHING")
    row = await Stock.select(Stock.id).where((Stock.type == type_id) & _owner_filter(Stock, owner) & (Stock.location == location)).first()
    return row["id"]


async def _lock_balances(*stock_ids: int) -> None:
    """Take the balance rows' write locks, in id order (a no-op update; call it first in the write transaction). On
    PostgreSQL a transaction touching two balances then queues behind another touching the same two in either direction
    instead of deadlocking, and one reading the ledger before it writes reads it after the writer before it committed.
    SQLite's BEGIN IMMEDIATE already serialises writers."""
    for stock_id in sorted(set(stock_ids)):
        await Stock.update({Stock.quantity: Stock.quantity}).where(Stock.id == stock_id)


async def _apply(stock_id: int, delta: int, kind: MovementKind, principal: Principal | None, reference: str, note: str,
                 counterpart: int | None = None, corrects: int | None = None) -> tuple[int, int]:
    """Change one balance and write its ledger row; refuses to go below zero. Call inside a write transaction.

    Returns (balance after, movement id)."""
    change = Stock.update({Stock.quantity: Stock.quantity + delta}).where(Stock.id == stock_id)
    if delta < 0:
        change = change.where(Stock.quantity >= -delta)
    rows = await change.returning(Stock.quantity)
    if not rows:
        have = await Stock.select(Stock.quantity, Stock.location).where(Stock.id == stock_id).first()
        where = f" at {have['location']}" if have["location"] else ""
        raise Conflict(f"Not enough in stock{where}: {have['quantity']} on hand, {-delta} asked for.", code="insufficient_stock")
    balance = rows[0]["quantity"]
    written = await Movement.insert(Movement(
        stock=stock_id, kind=kind.value, quantity=delta, balance_after=balance, reference=reference, counterpart=counterpart,
        corrects=corrects, note=note, by_user=principal.user_id if principal else None, at=utc_now(),
    )).returning(Movement.id)
    return balance, written[0]["id"]


def _balance_out(kind: dict[str, Any], owner: Owner, location: str, quantity: int) -> BalanceOut:
    return BalanceOut(type_code=kind["code"], type_name_zh=kind["name_zh"], unit_zh=kind["unit_zh"], owner=owner.out, location=location,
                      quantity=quantity)


async def move_stock(principal: Principal | None, data: MovementIn) -> BalanceOut:
    kind = await _type(data.type_code, Tracking.stock)
    owner = await _owner(data)
    if principal is not None:
        _authorize(principal, "equipment.manage", owner.path, owner.depot)
    delta = -data.quantity if data.kind in OUTGOING else data.quantity
    location = data.location.strip()
    async with write_transaction():
        stock_id = await _stock_id(kind["id"], owner, location)
        balance, _ = await _apply(stock_id, delta, data.kind, principal, data.reference, data.note)
        await accounts.record_audit(principal, f"equipment.stock.{data.kind.value}", "stock", str(stock_id), owner.path,
                                    {**data.model_dump(mode="json"), "balance_after": balance})
    return _balance_out(kind, owner, location, balance)


async def transfer_stock(principal: Principal | None, data: TransferIn) -> list[BalanceOut]:
    """Move stock to another owner, or between two locations of one owner: both ledger rows in one transaction, or neither."""
    kind = await _type(data.type_code, Tracking.stock)
    source, destination = await _owner(data.source), await _owner(data.destination)
    source_location, destination_location = data.source_location.strip(), data.destination_location.strip()
    if (source.path, source_location) == (destination.path, destination_location):
        raise field_error("destination", "the destination is the source")
    if principal is not None:
        _authorize(principal, "equipment.manage", source.path, source.depot)
    async with write_transaction():
        source_id = await _stock_id(kind["id"], source, source_location)
        destination_id = await _stock_id(kind["id"], destination, destination_location)
        await _lock_balances(source_id, destination_id)
        out_balance, _ = await _apply(source_id, -data.quantity, MovementKind.transfer_out, principal, data.reference, data.note, destination_id)
        in_balance, _ = await _apply(destination_id, data.quantity, MovementKind.transfer_in, principal, data.reference, data.note, source_id)
        await accounts.record_audit(principal, "equipment.stock.transfer", "stock", str(source_id), source.path,
                                    {**data.model_dump(mode="json"), "to_stock": destination_id})
    return [_balance_out(kind, source, source_location, out_balance), _balance_out(kind, destination, destination_location, in_balance)]


async def correct_movement(principal: Principal, movement_id: int, data: CorrectionIn) -> MovementOut:
    """Correct a wrong movement with an adjusting one (the ledger row itself never changes)."""
    row = await Movement.select(Movement.id, Movement.kind, Movement.quantity, Movement.stock, Movement.stock.owner_path.as_alias("owner_path"),
                                Movement.stock.depot.as_alias("depot")).where(Movement.id == movement_id).first()
    if row is None:
        raise NotFound(f"No stock movement #{movement_id}.")
    _authorize(principal, "equipment.manage", row["owner_path"], row["depot"])
    kind = MovementKind(row["kind"])
    if kind in (MovementKind.transfer_in, MovementKind.transfer_out):
        raise field_error("movement", "a transfer is corrected by a transfer back (both owners' ledgers must show it)")
    if kind is not MovementKind.adjust and data.quantity < 0:
        raise field_error("quantity", f"a {kind.value} is a positive number")
    meant = -data.quantity if kind in OUTGOING else data.quantity
    async with write_transaction():
        # Against what the movement says with the corrections already made to it, so correcting twice to 30 moves nothing twice
        # (the balance's lock first: a correction committing meanwhile is then among the earlier ones).
        await _lock_balances(row["stock"])
        earlier = sum(r["quantity"] for r in await Movement.select(Movement.quantity).where(Movement.corrects == movement_id))
        delta = meant - row["quantity"] - earlier
        if delta == 0:
            raise field_error("quantity", "that is what the movement already says (with its corrections)")
        _, created = await _apply(row["stock"], delta, MovementKind.adjust, principal, f"更正台账 #{movement_id}", data.note,
                                  corrects=movement_id)
        await accounts.record_audit(principal, "equipment.stock.correct", "stock", str(row["stock"]), row["owner_path"],
                                    {**data.model_dump(mode="json"), "corrects": movement_id, "adjustment": delta})
    return (await _movements(Movement.id == created))[0]


_BALANCE_COLUMNS = (Stock.quantity, Stock.location, Stock.type.code.as_alias("type_code"), Stock.type.name_zh.as_alias("type_name_zh"),
                    Stock.type.unit_zh.as_alias("unit_zh"))


async def ready_counts(team_codes: list[str], type_codes: list[str], on: date | None = None) -> dict[str, dict[str, int]]:
    """Per team code and type code, how much a team could take along now: its items in service and not expired,
    and its stock on hand (all storage locations). For services that weigh teams on no caller's behalf."""
    on = on or china_today()
    counts: dict[str, dict[str, int]] = {}
    if not team_codes or not type_codes:
        return counts
    items = await Item.select(Item.team.code.as_alias("team_code"), Item.type.code.as_alias("type_code"), Item.expires_on).where(
        Item.team.code.is_in(list(team_codes)) & Item.type.code.is_in(list(type_codes)) & (Item.status == ItemStatus.in_service.value))
    for row in items:
        if row["expires_on"] is None or row["expires_on"] >= on:
            held = counts.setdefault(row["team_code"], {})
            held[row["type_code"]] = held.get(row["type_code"], 0) + 1
    stock = await Stock.select(Stock.team.code.as_alias("team_code"), Stock.type.code.as_alias("type_code"), Stock.quantity).where(
        Stock.team.code.is_in(list(team_codes)) & Stock.type.code.is_in(list(type_codes)) & (Stock.quantity > 0))
    for row in stock:
        held = counts.setdefault(row["team_code"], {})
        held[row["type_code"]] = held.get(row["type_code"], 0) + row["quantity"]
    return counts


async def balances(principal: Principal, owner_in: OwnerIn) -> list[BalanceOut]:
    """An owner's balances, one per type and storage location."""
    owner = await _owner(owner_in)
    _authorize(principal, "equipment.view", owner.path, owner.depot)
    rows = await Stock.select(*_BALANCE_COLUMNS).where(_owner_filter(Stock, owner)).order_by(Stock.type.id).order_by(Stock.location)
    return [BalanceOut(**row, owner=owner.out) for row in rows]


async def _movements(condition: Any, limit: int = 200) -> list[MovementOut]:
    rows = await Movement.select(
        Movement.all_columns(), Movement.stock.type.code.as_alias("type_code"), Movement.stock.location.as_alias("location"),
        Movement.stock.team.code.as_alias("team_code"), Movement.stock.team.name_zh.as_alias("team_name"),
        Movement.stock.depot.code.as_alias("depot_code"), Movement.stock.depot.name_zh.as_alias("depot_name"),
    ).where(condition).order_by(Movement.id, ascending=False).limit(limit)
    return [MovementOut(**{k: row[k] for k in ("id", "type_code", "location", "kind", "quantity", "balance_after", "reference", "note",
                                              "corrects", "at")}, owner=_owner_out(row)) for row in rows]


async def ledger(principal: Principal, owner_in: OwnerIn, type_code: str | None = None, limit: int = 200) -> list[MovementOut]:
    owner = await _owner(owner_in)
    _authorize(principal, "equipment.view", owner.path, owner.depot)
    condition = (Movement.stock.team == owner.team) if owner.team is not None else (Movement.stock.depot == owner.depot)
    if type_code:
        condition = condition & (Movement.stock.type.code == type_code)
    return await _movements(condition, limit)


# --- check-out and check-in ----------------------------------------------------------------

_CHECKOUT_COLUMNS = (
    Checkout.all_columns(exclude=[Checkout.borrower]),
    Checkout.item.asset_tag.as_alias("asset_tag"),
    Checkout.item.type.name_zh.as_alias("type_name_zh"),
    Checkout.borrower.code.as_alias("borrower_team_code"),
)


def _checkout_out(row: dict[str, Any]) -> CheckoutOut:
    overdue = row["returned_at"] is None and row["due_back"] is not None and row["due_back"] < china_today()
    return CheckoutOut(**{k: row[k] for k in CheckoutOut.model_fields if k != "overdue"}, overdue=overdue)


async def _item_row(principal: Principal | None, asset_tag: str, action: str) -> dict[str, Any]:
    row = await Item.select(Item.id, Item.status, Item.owner_path, Item.expires_on, Item.team, Item.depot).where(
        Item.asset_tag == asset_tag).first()
    if row is None:
        raise NotFound(f"No item with asset tag {asset_tag}.")
    if principal is not None:
        _authorize(principal, action, row["owner_path"], row["depot"])
    return row


async def check_out(principal: Principal, asset_tag: str, data: CheckoutIn) -> CheckoutOut:
    item = await _item_row(principal, asset_tag, "equipment.manage")
    if item["expires_on"] and item["expires_on"] < china_today():
        raise InvalidInput(f"{asset_tag} expired on {item['expires_on']}; it cannot go out.", code="item_expired")
    person_name, borrower = "", None
    if data.kind is CheckoutKind.member:
        person_name, _team_path = await members.person_summary(data.person_id)
        if _team_path is None:
            raise field_error("person_id", f"{person_name} is not on a team roster")
    if data.kind is CheckoutKind.loan:
        borrower_row = await teams.team_row(data.borrower_team_code)
        if borrower_row["id"] == item["team"]:
            raise field_error("borrower_team_code", "the item already belongs to that team")
        borrower = borrower_row["id"]
    new_status = ItemStatus.lent if data.kind is CheckoutKind.loan else ItemStatus.checked_out
    async with write_transaction():
        # Only an item in its store can go out: of two scans at once, one wins.
        won = await Item.update({Item.status: new_status.value}).where(
            (Item.id == item["id"]) & (Item.status == ItemStatus.in_service.value)
        ).returning(Item.id)
        if not won:
            raise Conflict(f"{asset_tag} is not available: it is {item['status'].replace('_', ' ')}.", code="item_unavailable")
        rows = await Checkout.insert(Checkout(
            item=item["id"], kind=data.kind.value, person=data.person_id, person_name=person_name, borrower=borrower,
            reference=data.reference, out_at=utc_now(), due_back=data.due_back, out_by=principal.user_id, note=data.note,
        )).returning(Checkout.id)
        await accounts.record_audit(principal, "equipment.item.check_out", "item", asset_tag, item["owner_path"], data.model_dump(mode="json"))
    return _checkout_out(await Checkout.select(*_CHECKOUT_COLUMNS).where(Checkout.id == rows[0]["id"]).first())


async def check_in(principal: Principal, asset_tag: str, data: CheckinIn) -> CheckoutOut:
    item = await _item_row(principal, asset_tag, "equipment.manage")
    open_row = await Checkout.select(Checkout.id).where((Checkout.item == item["id"]) & Checkout.returned_at.is_null()).first()
    if open_row is None:
        raise Conflict(f"{asset_tag} is not checked out.", code="not_checked_out")
    new_status = {ReturnCondition.ok: ItemStatus.in_service, ReturnCondition.damaged: ItemStatus.in_maintenance,
                  ReturnCondition.lost: ItemStatus.lost}[data.condition]
    async with write_transaction():
        won = await Checkout.update({
            Checkout.returned_at: utc_now(), Checkout.returned_by: principal.user_id, Checkout.condition: data.condition.value,
            Checkout.note: data.note,
        }).where((Checkout.id == open_row["id"]) & Checkout.returned_at.is_null()).returning(Checkout.id)
        if not won:
            raise Conflict(f"{asset_tag} was checked in a moment ago.", code="not_checked_out")
        await Item.update({Item.status: new_status.value}).where(Item.id == item["id"])
        await accounts.record_audit(principal, "equipment.item.check_in", "item", asset_tag, item["owner_path"], data.model_dump(mode="json"))
    return _checkout_out(await Checkout.select(*_CHECKOUT_COLUMNS).where(Checkout.id == open_row["id"]).first())


async def item_history(principal: Principal, asset_tag: str) -> list[CheckoutOut]:
    item = await _item_row(principal, asset_tag, "equipment.view")
    rows = await Checkout.select(*_CHECKOUT_COLUMNS).where(Checkout.item == item["id"]).order_by(Checkout.id, ascending=False)
    return [_checkout_out(row) for row in rows]


async def item_timeline(principal: Principal, asset_tag: str) -> list[HistoryEntry]:
    """Everything that happened to an item, oldest first: registration, check-outs and returns, inspections, repairs,
    scrapping, transfer steps and owner changes."""
    item = await _item_row(principal, asset_tag, "equipment.view")
    row = await Item.select(Item.created_at, *_owner_columns(Item)).where(Item.id == item["id"]).first()
    changes = await OwnerChange.select(
        OwnerChange.all_columns(), OwnerChange.from_team.name_zh.as_alias("from_team_name"), OwnerChange.from_depot.name_zh.as_alias("from_depot_name"),
        OwnerChange.to_team.name_zh.as_alias("to_team_name"), OwnerChange.to_depot.name_zh.as_alias("to_depot_name"),
    ).where(OwnerChange.item == item["id"]).order_by(OwnerChange.id)
    first_owner = (changes[0]["from_team_name"] or changes[0]["from_depot_name"]) if changes else _owner_out(row).name_zh
    entries = [HistoryEntry(on=in_china(row["created_at"]).date(), at=row["created_at"], kind=HistoryKind.registered, detail=first_owner)]
    for c in await Checkout.select(*_CHECKOUT_COLUMNS, Checkout.borrower.name_zh.as_alias("borrower_name")).where(Checkout.item == item["id"]):
        who = c["person_name"] or c["borrower_name"] or c["reference"]
        entries.append(HistoryEntry(on=in_china(c["out_at"]).date(), at=c["out_at"], kind=HistoryKind.checked_out, status=c["kind"],
                                    detail=f"{who}（{c['due_back']}）" if c["due_back"] else who))
        if c["returned_at"]:
            entries.append(HistoryEntry(on=in_china(c["returned_at"]).date(), at=c["returned_at"], kind=HistoryKind.returned,
                                        status=c["condition"] or "", detail=c["note"]))
    for i in await Inspection.select().where(Inspection.item == item["id"]):
        failed = [r["point"] for r in _json(i["results"]) if not r["passed"]]
        entries.append(HistoryEntry(on=i["inspected_on"], at=i["at"], kind=HistoryKind.inspected, status="passed" if i["passed"] else "failed",
                                    detail="、".join(filter(None, ["✘ " + "、".join(failed) if failed else "", i["note"]]))))
    for r in await Repair.select().where(Repair.item == item["id"]):
        entries.append(HistoryEntry(on=r["started_on"], at=r["at"], kind=HistoryKind.repair_started, detail=r["description"]))
        if r["finished_on"]:
            entries.append(HistoryEntry(on=r["finished_on"], at=r["at"], kind=HistoryKind.repair_finished,
                                        detail=f"{r['cost']} 元" if r["cost"] is not None else ""))
    for sc in await ScrapRequest.select().where(ScrapRequest.item == item["id"]):
        entries.append(HistoryEntry(on=in_china(sc["requested_at"]).date(), at=sc["requested_at"], kind=HistoryKind.scrap_requested,
                                    detail=sc["reason"]))
        if sc["decided_at"]:
            entries.append(HistoryEntry(on=in_china(sc["decided_at"]).date(), at=sc["decided_at"], kind=HistoryKind.scrap_decided,
                                        status=sc["status"], detail=sc["decision_reason"]))
    for ch in changes:
        entries.append(HistoryEntry(on=in_china(ch["at"]).date(), at=ch["at"], kind=HistoryKind.owner_changed,
                                    detail=f"{ch['from_team_name'] or ch['from_depot_name']} → {ch['to_team_name'] or ch['to_depot_name']}"))
    # Transfers naming the item were between owners it has had: look among those owners' requests only.
    teams_held = {item["team"], *(ch["from_team"] for ch in changes), *(ch["to_team"] for ch in changes)} - {None}
    depots_held = {item["depot"], *(ch["from_depot"] for ch in changes), *(ch["to_depot"] for ch in changes)} - {None}
    sides = [column.is_in(list(ids)) for ids, columns in ((teams_held, (TransferRequest.source_team, TransferRequest.destination_team)),
                                                          (depots_held, (TransferRequest.source_depot, TransferRequest.destination_depot)))
             if ids for column in columns]
    condition = sides[0]
    for side in sides[1:]:
        condition = condition | side
    for t in await TransferRequest.select(*_TRANSFER_COLUMNS).where(condition):
        if asset_tag not in _json(t["asset_tags"]):
            continue
        route = f"#{t['id']} {_side(t, 'source').out.name_zh} → {_side(t, 'destination').out.name_zh}"
        for step in _json(t["history"]):
            at = datetime.fromisoformat(step["at"])
            entries.append(HistoryEntry(on=in_china(at).date(), at=at, kind=HistoryKind.transfer, status=step["status"],
                                        detail=f"{route}（{step['note']}）" if step.get("note") else route))
    return sorted(entries, key=lambda e: (e.on, in_china(e.at)))


async def overdue(principal: Principal, under_code: str | None = None, owner: OwnerIn | None = None) -> list[CheckoutOut]:
    """Items out past their due-back date, within the caller's scopes (optionally of one team or depot)."""
    scopes = scopes_for(principal, "equipment.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing equipment.")
    query = Checkout.select(*_CHECKOUT_COLUMNS).where(
        Checkout.returned_at.is_null() & (Checkout.due_back < china_today())
    ).order_by(Checkout.due_back)
    visible = within(Checkout.item.owner_path, scopes)
    if visible is not None:
        query = query.where(visible)
    if under_code:
        query = query.where(under(Checkout.item.owner_path, (await orgs.get_unit(under_code)).path))
    if owner is not None:
        held = await _owner(owner)
        query = query.where((Checkout.item.team == held.team) if held.team is not None else (Checkout.item.depot == held.depot))
    return [_checkout_out(row) for row in await query]


# --- inspection, repair and scrapping ------------------------------------------------------

DUE_SOON_DAYS = 30
_GONE = (ItemStatus.scrapped.value, ItemStatus.lost.value)
_OUT = (ItemStatus.checked_out.value, ItemStatus.lent.value)  # an open check-out holds the item


async def _live_item(principal: Principal, asset_tag: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An item still in the inventory (not scrapped or lost), with its type."""
    item = await _item_row(principal, asset_tag, "equipment.manage")
    if item["status"] in _GONE:
        raise InvalidInput(f"{asset_tag} is {item['status']}: it is no longer inspected, repaired or scrapped.", code="item_gone")
    kind = await EquipmentType.select().where(EquipmentType.id == (await Item.select(Item.type).where(Item.id == item["id"]).first())["type"]).first()
    return item, kind


async def record_inspection(principal: Principal, asset_tag: str, data: InspectionIn) -> InspectionOut:
    item, kind = await _live_item(principal, asset_tag)
    checklist = _json(kind["checklist"])
    missing = [p for p in checklist if p not in data.results]
    unknown = [p for p in data.results if p not in checklist]
    if missing or unknown or not data.results:
        parts = ([f"missing points: {', '.join(missing)}"] if missing else []) + ([f"not on the checklist: {', '.join(unknown)}"] if unknown else [])
        raise field_error("results", "; ".join(parts) or "give the result of every checklist point")
    passed = all(data.results.values())
    next_due = add_months(data.inspected_on, kind["inspection_months"]) if kind["inspection_months"] else None
    async with write_transaction():
        rows = await Inspection.insert(Inspection(
            item=item["id"], inspected_on=data.inspected_on, passed=passed, next_due=next_due, note=data.note,
            results=json.dumps([{"point": p, "passed": data.results[p]} for p in checklist], ensure_ascii=False),
            by_user=principal.user_id, at=utc_now(),
        )).returning(Inspection.id)
        if not passed:  # an item in its store goes to maintenance; one checked out meanwhile stays out (its status is read again)
            await Item.update({Item.status: ItemStatus.in_maintenance.value}).where(
                (Item.id == item["id"]) & (Item.status == ItemStatus.in_service.value))
        await accounts.record_audit(principal, "equipment.item.inspect", "item", asset_tag, item["owner_path"],
                                    {**data.model_dump(mode="json"), "passed": passed})
    return InspectionOut(id=rows[0]["id"], asset_tag=asset_tag, inspected_on=data.inspected_on, passed=passed, next_due=next_due,
                         note=data.note, results=[{"point": p, "passed": data.results[p]} for p in checklist])


async def record_repair(principal: Principal, asset_tag: str, data: RepairIn) -> ItemOut:
    item, _ = await _live_item(principal, asset_tag)
    async with write_transaction():
        await Repair.insert(Repair(item=item["id"], by_user=principal.user_id, at=utc_now(), **data.model_dump()))
        # Conditional on the status at the update, not the one read before: an item checked out meanwhile stays out.
        if data.finished_on:
            await Item.update({Item.status: ItemStatus.in_service.value}).where(
                (Item.id == item["id"]) & (Item.status == ItemStatus.in_maintenance.value))
        else:
            await Item.update({Item.status: ItemStatus.in_maintenance.value}).where(
                (Item.id == item["id"]) & (Item.status == ItemStatus.in_service.value))
        await accounts.record_audit(principal, "equipment.item.repair", "item", asset_tag, item["owner_path"], data.model_dump(mode="json"))
    return await get_item(None, asset_tag)


async def finish_repair(principal: Principal, asset_tag: str, data: RepairDoneIn) -> ItemOut:
    """Back from maintenance: close the open repair (or record the one just done) and put the item back in service."""
    item, _ = await _live_item(principal, asset_tag)
    if item["status"] != ItemStatus.in_maintenance.value:
        raise Conflict(f"{asset_tag} is not in maintenance: it is {item['status'].replace('_', ' ')}.", code="not_in_maintenance")
    open_repair = await Repair.select(Repair.id, Repair.started_on, Repair.description).where((Repair.item == item["id"]) & Repair.finished_on.is_null()).order_by(
        Repair.id, ascending=False).first()
    if open_repair is None and len(data.description.strip()) < 2:
        raise field_error("description", "no repair is open: say what was done")
    if open_repair is not None and data.finished_on < open_repair["started_on"]:
        raise field_error("finished_on", f"cannot be before the repair started ({open_repair['started_on']})")
    async with write_transaction():
        # Only the request that still finds the item in maintenance puts it back: two taps of the button, one repair closed.
        won = await Item.update({Item.status: ItemStatus.in_service.value}).where(
            (Item.id == item["id"]) & (Item.status == ItemStatus.in_maintenance.value)).returning(Item.id)
        if not won:
            raise Conflict(f"{asset_tag} was put back in service a moment ago.", code="not_in_maintenance")
        if open_repair is not None:
            values: dict[Any, Any] = {Repair.finished_on: data.finished_on}
            if data.cost is not None:
                values[Repair.cost] = data.cost
            if data.description.strip():  # what was done, after what was wrong
                values[Repair.description] = f"{open_repair['description']}；{data.description.strip()}"
            await Repair.update(values).where(Repair.id == open_repair["id"])
            # Faults reported on top of one another end with this repair too.
            await Repair.update({Repair.finished_on: data.finished_on}).where((Repair.item == item["id"]) & Repair.finished_on.is_null())
        else:
            await Repair.insert(Repair(item=item["id"], description=data.description.strip(), started_on=data.finished_on,
                                       finished_on=data.finished_on, cost=data.cost, by_user=principal.user_id, at=utc_now()))
        await accounts.record_audit(principal, "equipment.item.repair_finished", "item", asset_tag, item["owner_path"],
                                    data.model_dump(mode="json"))
    return await get_item(None, asset_tag)


async def due_inspections(
    principal: Principal, *, under_code: str | None = None, owner: OwnerIn | None = None, on: date | None = None
) -> list[DueOut]:
    """Items whose next inspection is due within 30 days or overdue; never-inspected items are due now."""
    scopes = scopes_for(principal, "equipment.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing equipment.")
    conditions = [within(Item.owner_path, scopes)]
    if under_code:
        conditions.append(under(Item.owner_path, (await orgs.get_unit(under_code)).path))
    if owner is not None:
        conditions.append(_owner_filter(Item, await _owner(owner)))
    return [due for due, _ in await _due(conditions, on or china_today(), timedelta(days=DUE_SOON_DAYS))]


# The next due date of an item's latest inspection (the last entered on its latest day), and whether it has any: correlated
# sub-selects on the (item, inspected_on) index, so only the due items leave the database.
_LATEST_NEXT_DUE = ('(SELECT x.next_due FROM equipment_inspection x WHERE x.item = "equipment_item"."id"'
                    " ORDER BY x.inspected_on DESC, x.id DESC LIMIT 1)")
_INSPECTED = 'EXISTS (SELECT 1 FROM equipment_inspection x WHERE x.item = "equipment_item"."id")'


async def _due(conditions: list[Any], on: date, ahead: timedelta) -> list[tuple[DueOut, dict[str, Any]]]:
    """(due item, its row) for the items matching ``conditions`` whose inspection is due by ``on + ahead``; an item never
    inspected, or whose latest inspection set no next date, is due on ``on``."""
    rows = await Item.select(
        *_ITEM_COLUMNS, Item.type.name_zh.as_alias("type_name_zh"), QueryString(_LATEST_NEXT_DUE).as_alias("next_due"),
        QueryString(_INSPECTED).as_alias("inspected"),
    ).where(Item.status.not_in(list(_GONE)), Item.type.inspection_months.is_not_null(), *filter(None, conditions),
            WhereRaw(f"COALESCE({_LATEST_NEXT_DUE}, {{}}) <= {{}}", on, on + ahead))
    due = []
    for row in rows:
        next_due = as_date(row["next_due"]) or on
        due.append((DueOut(asset_tag=row["asset_tag"], type_name_zh=row["type_name_zh"], owner=_owner_out(row), status=row["status"],
                           next_due=next_due, overdue=next_due < on), {**row, "inspected": bool(row["inspected"])}))
    return sorted(due, key=lambda d: (d[0].next_due, d[0].asset_tag))


KEEPERS = {Role.logistics}  # who looks after a depot's equipment
REMIND_AHEAD = timedelta(days=7)
REMINDER_OWNERS = 100  # owners whose due items one query reads: the job's memory stays that of a hundred owners' items


async def remind_due_inspections(on: date | None = None) -> str:
    """Tell a team's leaders, or a depot's keepers, once per due date, which items need their inspection within a week:
    one transaction per owner. Only the items of owners someone could be told about are read, a hundred owners at a time."""
    on = on or china_today()
    leaders, keepers = await accounts.holders_by_team(accounts.LEADERS), await accounts.holders_by_unit(KEEPERS)
    owners = [(team, None) for team in leaders] + [(None, depot) for depot in keepers]
    told = 0
    for start in range(0, len(owners), REMINDER_OWNERS):
        batch = owners[start:start + REMINDER_OWNERS]
        teams, depots = [t for t, _ in batch if t] or [-1], [d for _, d in batch if d] or [-1]
        by_owner: dict[tuple[int | None, int | None], list[tuple[DueOut, dict[str, Any]]]] = {}
        for due, row in await _due([Item.team.is_in(teams) | Item.depot.is_in(depots)], on, REMIND_AHEAD):
            by_owner.setdefault((row["team"], row["depot"]), []).append((due, row))
        for (team, depot), items in by_owner.items():
            users = leaders[team] if team else keepers[depot]
            async with write_transaction():
                for due, row in items:
                    when = "已逾期" if due.overdue else f"将于 {due.next_due} 到期"
                    told += len(await events.notify(
                        users, kind="equipment.inspection_due", title=f"装备检查{when}：{due.type_name_zh} {due.asset_tag}",
                        body=f"{due.owner.name_zh}的 {due.asset_tag} 需按检查表完成检查。", link=f"/equipment/items/{due.asset_tag}",
                        # one reminder per due date; a never-inspected item is due "now" every day, so it is told of once
                        key=f"inspection:{row['id']}:{due.next_due if row['inspected'] else 'never'}", org_path=row["owner_path"]))
    return f"{told} reminders sent"


async def request_scrap(principal: Principal, asset_tag: str, data: ScrapIn) -> ScrapOut:
    item, _ = await _live_item(principal, asset_tag)
    if item["status"] in _OUT:
        raise Conflict(f"{asset_tag} is checked out; check it in before asking to scrap it.", code="item_checked_out")
    async with write_transaction():
        if await ScrapRequest.exists().where((ScrapRequest.item == item["id"]) & (ScrapRequest.status == ScrapStatus.pending.value)):
            raise Conflict(f"Scrapping {asset_tag} is already waiting for approval.", code="scrap_pending")
        rows = await ScrapRequest.insert(ScrapRequest(item=item["id"], reason=data.reason, requested_by=principal.user_id,
                                                      requested_at=utc_now())).returning(ScrapRequest.id)
        await accounts.record_audit(principal, "equipment.item.scrap_request", "item", asset_tag, item["owner_path"], {"reason": data.reason})
    return await _scrap_out(rows[0]["id"])


async def _scrap_out(request_id: int) -> ScrapOut:
    row = await ScrapRequest.select(ScrapRequest.all_columns(), ScrapRequest.item.asset_tag.as_alias("asset_tag")).where(
        ScrapRequest.id == request_id).first()
    return ScrapOut(**{k: row[k] for k in ScrapOut.model_fields})


async def decide_scrap(principal: Principal, request_id: int, data: ScrapDecisionIn) -> ScrapOut:
    row = await ScrapRequest.select(ScrapRequest.all_columns(), ScrapRequest.item.owner_path.as_alias("owner_path"),
                                    ScrapRequest.item.depot.as_alias("depot"), ScrapRequest.item.asset_tag.as_alias("asset_tag")).where(
        ScrapRequest.id == request_id).first()
    if row is None:
        raise NotFound(f"No scrapping request #{request_id}.")
    _authorize(principal, "equipment.scrap", row["owner_path"], row["depot"])
    if row["requested_by"] == principal.user_id:
        raise PermissionDenied("You asked for this yourself; the supervising branch decides it.", code="own_request")
    if not data.approve and len(data.reason.strip()) < 2:
        raise field_error("reason", "say why the item is kept")
    status = ScrapStatus.approved if data.approve else ScrapStatus.rejected
    async with write_transaction():
        won = await ScrapRequest.update({ScrapRequest.status: status.value, ScrapRequest.decided_by: principal.user_id,
                                         ScrapRequest.decided_at: utc_now(), ScrapRequest.decision_reason: data.reason}).where(
            (ScrapRequest.id == request_id) & (ScrapRequest.status == ScrapStatus.pending.value)).returning(ScrapRequest.id)
        if not won:
            raise Conflict("This request was already decided.", code="already_decided")
        # An item checked out since the request stays out of the scrap until it is back in.
        if data.approve and not await Item.update({Item.status: ItemStatus.scrapped.value}).where(
                (Item.id == row["item"]) & Item.status.not_in(list(_OUT))).returning(Item.id):
            raise Conflict(f"{row['asset_tag']} is checked out; check it in before scrapping it.", code="item_checked_out")
        await accounts.record_audit(principal, f"equipment.item.scrap_{status.value}", "item", row["asset_tag"], row["owner_path"],
                                    {"reason": data.reason})
    return await _scrap_out(request_id)


# --- kits ----------------------------------------------------------------------------------


@cache
def shipped_kit_templates() -> list[dict[str, Any]]:
    """The kit templates of the shipped reference file (what ``load_kit_templates`` loads)."""
    text = resources.files("rescueops.equipment").joinpath("reference/kit_templates.yaml").read_text("utf-8")
    return yaml.safe_load(text)["kit_templates"]


async def load_kit_templates() -> int:
    entries = shipped_kit_templates()
    item_types = {row["code"] for row in await EquipmentType.select(EquipmentType.code).where(EquipmentType.tracking == Tracking.item.value)}
    existing = {row["code"] for row in await KitTemplate.select(KitTemplate.code)}
    async with write_transaction():
        for entry in entries:
            unknown = [line["type"] for line in entry["lines"] if line["type"] not in item_types]
            if unknown:
                raise InvalidInput(f"kit template {entry['code']}: not item-tracked types: {', '.join(unknown)}")
            values = {"category": entry["category"], "name_zh": entry["name_zh"], "name_en": entry["name_en"],
                      "lines": json.dumps(entry["lines"])}
            if entry["code"] in existing:
                await KitTemplate.update(values).where(KitTemplate.code == entry["code"])
            else:
                await KitTemplate.insert(KitTemplate(code=entry["code"], **values))
    return len([e for e in entries if e["code"] not in existing])


async def _template(code: str) -> dict[str, Any]:
    template = await KitTemplate.select().where(KitTemplate.code == code).first()
    if template is None:
        raise field_error("template_code", f"unknown kit template '{code}'")
    return template


async def register_kit(principal: Principal, data: KitIn) -> KitOut:
    """The kit (a container item with its template) and what is packed in it at once: all in one transaction, or nothing."""
    template = await _template(data.template_code)
    async with write_transaction():
        await _register(principal, ItemIn(asset_tag=data.asset_tag, type_code="kit", team_code=data.team_code, depot_code=data.depot_code,
                                          storage_location=data.storage_location), kit_template=template["id"])
        if data.asset_tags:
            await pack(principal, data.asset_tag, PackIn(asset_tags=data.asset_tags))
    return await get_kit(principal, data.asset_tag)


async def _kit_row(principal: Principal, asset_tag: str, action: str) -> dict[str, Any]:
    row = await Item.select(Item.id, Item.owner_path, Item.kit_template, Item.team, Item.depot).where(Item.asset_tag == asset_tag).first()
    if row is None or row["kit_template"] is None:
        raise NotFound(f"No kit with asset tag {asset_tag}.")
    _authorize(principal, action, row["owner_path"], row["depot"])
    return row


async def pack(principal: Principal, asset_tag: str, data: PackIn, *, unpack: bool = False) -> KitOut:
    """Put items in a kit (or take them out); items must belong to the kit's owner."""
    kit = await _kit_row(principal, asset_tag, "equipment.manage")
    rows = await Item.select(Item.id, Item.asset_tag, Item.team, Item.depot, Item.kit_template, Item.container).where(
        Item.asset_tag.is_in(data.asset_tags))
    found = {row["asset_tag"]: row for row in rows}
    problems = [f"{tag}: no such item" for tag in data.asset_tags if tag not in found]
    for tag, row in found.items():
        if (row["team"], row["depot"]) != (kit["team"], kit["depot"]):
            problems.append(f"{tag}: belongs to another owner")
        elif row["kit_template"] is not None:
            problems.append(f"{tag}: is itself a kit")
        elif unpack and row["container"] != kit["id"]:
            problems.append(f"{tag}: is not in this kit")
    if problems:
        raise field_error("asset_tags", "; ".join(problems))
    async with write_transaction():
        await Item.update({Item.container: None if unpack else kit["id"]}).where(Item.asset_tag.is_in(data.asset_tags))
        await accounts.record_audit(principal, "equipment.kit.unpack" if unpack else "equipment.kit.pack", "item", asset_tag,
                                    kit["owner_path"], {"items": data.asset_tags})
    return await get_kit(principal, asset_tag)


async def get_kit(principal: Principal, asset_tag: str, on: date | None = None) -> KitOut:
    """A kit and whether it is ready: every template line has enough packed items in service and not expired."""
    kit = await _kit_row(principal, asset_tag, "equipment.view")
    return (await _kit_outs([kit["id"]], on or china_today()))[0]


async def _kit_outs(kit_ids: list[int], on: date) -> list[KitOut]:
    """The kits with their readiness, in the order given: a fixed number of queries however many kits there are."""
    if not kit_ids:
        return []
    kits = {row["id"]: row for row in await Item.select(Item.id, Item.asset_tag, Item.kit_template, *_owner_columns(Item)).where(
        Item.id.is_in(kit_ids))}
    templates = {row["id"]: {**row, "lines": _json(row["lines"])} for row in await KitTemplate.select().where(
        KitTemplate.id.is_in(list({kit["kit_template"] for kit in kits.values()})))}
    contents: dict[int, list[dict[str, Any]]] = {}
    for row in await Item.select(Item.container, Item.asset_tag, Item.status, Item.expires_on, Item.type.code.as_alias("type_code")).where(
            Item.container.is_in(kit_ids)).order_by(Item.asset_tag):
        contents.setdefault(row["container"], []).append(row)
    needed_types = list({line["type"] for template in templates.values() for line in template["lines"]})
    names = {row["code"]: row["name_zh"] for row in await EquipmentType.select(EquipmentType.code, EquipmentType.name_zh).where(
        EquipmentType.code.is_in(needed_types or ["-"]))}
    out = []
    for kit_id in kit_ids:
        kit, packed_items = kits[kit_id], contents.get(kit_id, [])
        template = templates[kit["kit_template"]]
        lines = []
        for line in template["lines"]:
            packed = [c for c in packed_items if c["type_code"] == line["type"]]
            ready = [c for c in packed if c["status"] == ItemStatus.in_service.value and not (c["expires_on"] and c["expires_on"] < on)]
            problems = [f"{c['asset_tag']}: {'expired' if c['expires_on'] and c['expires_on'] < on else c['status']}"
                        for c in packed if c not in ready]
            if len(packed) < line["quantity"]:
                problems.append(f"{line['quantity'] - len(packed)} missing")
            lines.append(KitLine(type_code=line["type"], type_name_zh=names.get(line["type"], line["type"]), needed=line["quantity"],
                                 ready=len(ready), problems=problems))
        out.append(KitOut(asset_tag=kit["asset_tag"], template_code=template["code"], name_zh=template["name_zh"], owner=_owner_out(kit),
                          ready=all(line.ready >= line.needed for line in lines), lines=lines,
                          contents=[c["asset_tag"] for c in packed_items]))
    return out


async def kits_of(principal: Principal, owner_in: OwnerIn) -> list[KitOut]:
    """A team's or depot's kits (not scrapped or lost) with their readiness."""
    owner = await _owner(owner_in)
    _authorize(principal, "equipment.view", owner.path, owner.depot)
    rows = await Item.select(Item.id).where(_owner_filter(Item, owner) & Item.kit_template.is_not_null()
                                            & Item.status.not_in(list(_GONE))).order_by(Item.asset_tag)
    return await _kit_outs([row["id"] for row in rows], china_today())


async def team_kits(principal: Principal, team_code: str) -> list[KitOut]:
    return await kits_of(principal, OwnerIn(team_code=team_code))


# --- labels --------------------------------------------------------------------------------


async def labels_for(principal: Principal, asset_tags: list[str]) -> list[labels.Label]:
    """The labels of the chosen items (and kits), in the order asked; every one must be visible to the caller."""
    labels.check_count(len(asset_tags))
    rows = await Item.select(Item.asset_tag, Item.owner_path, Item.type.name_zh.as_alias("type_name_zh"), *_owner_columns(Item)).where(
        Item.asset_tag.is_in(list(dict.fromkeys(asset_tags))))
    found = {row["asset_tag"]: row for row in rows if can(principal, "equipment.view", row["owner_path"])}
    missing = [tag for tag in asset_tags if tag not in found]
    if missing:
        raise field_error("asset_tags", f"no such item (or not yours to see): {', '.join(missing[:20])}")
    return [labels.Label(asset_tag=tag, name_zh=found[tag]["type_name_zh"], owner_zh=_owner_out(found[tag]).name_zh,
                         url=labels.scan_url(tag)) for tag in asset_tags]


async def repairs_of(principal: Principal, asset_tag: str) -> list[dict[str, Any]]:
    item = await _item_row(principal, asset_tag, "equipment.view")
    return await Repair.select(Repair.description, Repair.started_on, Repair.finished_on, Repair.cost).where(
        Repair.item == item["id"]).order_by(Repair.started_on, ascending=False)


async def inspections_of(principal: Principal, asset_tag: str) -> list[InspectionOut]:
    item = await _item_row(principal, asset_tag, "equipment.view")
    rows = await Inspection.select().where(Inspection.item == item["id"]).order_by(Inspection.inspected_on, ascending=False)
    return [InspectionOut(id=r["id"], asset_tag=asset_tag, inspected_on=r["inspected_on"], results=_json(r["results"]), passed=r["passed"],
                          next_due=r["next_due"], note=r["note"]) for r in rows]


# --- public AEDs (能用管用) ------------------------------------------------------------------

def _aed_problems(row: dict[str, Any], on: date) -> tuple[date | None, list[str]]:
    due = row["last_checked_on"] + timedelta(days=row["check_interval_days"]) if row["last_checked_on"] else None
    problems = []
    if not row["in_service"]:
        problems.append(AedProblem.out_of_service)
    if row["pads_expire_on"] is None or row["pads_expire_on"] < on:
        problems.append(AedProblem.pads_expired)
    if row["battery_expires_on"] is None or row["battery_expires_on"] < on:
        problems.append(AedProblem.battery_expired)
    if due is None or due < on:
        problems.append(AedProblem.check_overdue)
    return due, problems


def _aed_out(row: dict[str, Any], on: date) -> AedOut:
    due, problems = _aed_problems(row, on)
    return AedOut(**{k: row[k] for k in AedOut.model_fields if k in row}, check_due_on=due, usable=not problems, problems=problems)


_AED_COLUMNS = (Aed.all_columns(), Aed.unit.code.as_alias("unit_code"))


async def register_aed(principal: Principal, data: AedIn) -> AedOut:
    unit = await orgs.get_unit(data.unit_code)
    if unit.kind not in (OrgKind.league, OrgKind.county):
        raise field_error("unit_code", "an AED is registered under a league/city or a banner/county")
    authorize(principal, "equipment.manage", unit.path)
    phone = valid_phone(data.contact_phone) if data.contact_phone else ""
    unit_id = await orgs.unit_id(unit.code)
    async with write_transaction():
        if await Aed.exists().where(Aed.code == data.code):
            raise Conflict(f"An AED with code {data.code} is already registered.", code="duplicate_code")
        await Aed.insert(Aed(**{**data.model_dump(exclude={"unit_code", "contact_phone"}), "contact_phone": phone},
                             unit=unit_id, unit_path=unit.path, created_at=utc_now()))
        await accounts.record_audit(principal, "equipment.aed.register", "aed", data.code, unit.path, data.model_dump(mode="json"))
    return _aed_out(await Aed.select(*_AED_COLUMNS).where(Aed.code == data.code).first(), china_today())


async def record_aed_check(principal: Principal, code: str, data: AedCheckIn) -> AedOut:
    row = await Aed.select(Aed.id, Aed.unit_path).where(Aed.code == code).first()
    if row is None:
        raise NotFound(f"No AED {code}.")
    _authorize(principal, "equipment.manage", row["unit_path"])
    values: dict[Any, Any] = {Aed.last_checked_on: data.checked_on, Aed.in_service: data.working}
    if data.pads_expire_on:
        values[Aed.pads_expire_on] = data.pads_expire_on
    if data.battery_expires_on:
        values[Aed.battery_expires_on] = data.battery_expires_on
    async with write_transaction():
        await Aed.update(values).where(Aed.id == row["id"])
        await accounts.record_audit(principal, "equipment.aed.check", "aed", code, row["unit_path"], data.model_dump(mode="json"))
    return _aed_out(await Aed.select(*_AED_COLUMNS).where(Aed.code == code).first(), china_today())


async def list_aeds(principal: Principal, *, under_code: str | None = None, problems_only: bool = False) -> list[AedOut]:
    scopes = scopes_for(principal, "equipment.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing equipment.")
    query = Aed.select(*_AED_COLUMNS).order_by(Aed.code)
    visible = within(Aed.unit_path, scopes)
    if visible is not None:
        query = query.where(visible)
    if under_code:
        query = query.where(under(Aed.unit_path, (await orgs.get_unit(under_code)).path))
    today = china_today()
    aeds = [_aed_out(row, today) for row in await query]
    return [a for a in aeds if a.problems] if problems_only else aeds


async def nearby_aeds(lat: float, lon: float, radius_km: float = 5.0, limit: int = 20) -> list[PublicAed]:
    """Public: AEDs within ``radius_km`` of a point, nearest first, without personal data."""
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("lat/lon: not a position on Earth.", code="bad_position")
    radius_km = min(max(radius_km, 0.1), 50.0)
    dlat = radius_km / 111.0
    dlon = radius_km / (111.0 * max(math.cos(math.radians(lat)), 0.01))
    rows = await Aed.select().where((Aed.lat >= lat - dlat) & (Aed.lat <= lat + dlat) & (Aed.lon >= lon - dlon) & (Aed.lon <= lon + dlon))
    today = china_today()
    found = []
    for row in rows:
        distance = great_circle_km(lat, lon, row["lat"], row["lon"])
        if distance <= radius_km:
            found.append(PublicAed(place_name=row["place_name"], address=row["address"], lat=row["lat"], lon=row["lon"],
                                   opening_hours=row["opening_hours"], responsible_org=row["responsible_org"],
                                   distance_km=round(distance, 2), usable=not _aed_problems(row, today)[1]))
    return sorted(found, key=lambda a: a.distance_km)[:limit]


# --- reserve depots ---------------------------------------------------------------------------


async def list_depots(principal: Principal) -> list[DepotOut]:
    """Every reserve depot with its stock and pre-positioned equipment: what the depots can send, for any hub."""
    if not can_anywhere(principal, "equipment.view"):
        raise PermissionDenied("Your roles do not allow viewing equipment.")
    depots = await OrgUnit.select(OrgUnit.id, OrgUnit.code, OrgUnit.name_zh, OrgUnit.name_en, OrgUnit.path,
                                  *orgs.unit_ref_columns(OrgUnit.parent, "parent")).where(
        OrgUnit.kind == OrgKind.depot.value).order_by(OrgUnit.path)
    stock: dict[int, list[BalanceOut]] = {}
    for row in await Stock.select(Stock.depot, *_BALANCE_COLUMNS, *_owner_columns(Stock)).where(
            Stock.depot.is_not_null() & (Stock.quantity > 0)).order_by(Stock.type.id).order_by(Stock.location):
        stock.setdefault(row["depot"], []).append(BalanceOut(**row, owner=_owner_out(row)))
    equipment: dict[int, dict[str, DepotEquipmentOut]] = {}
    for row in await Item.select(Item.depot, Item.status, Item.type.code.as_alias("type_code"), Item.type.name_zh.as_alias("type_name_zh")).where(
            Item.depot.is_not_null() & Item.status.not_in(list(_GONE))).order_by(Item.type.id):
        held = equipment.setdefault(row["depot"], {}).setdefault(
            row["type_code"], DepotEquipmentOut(type_code=row["type_code"], type_name_zh=row["type_name_zh"], in_service=0, total=0))
        held.total += 1
        held.in_service += row["status"] == ItemStatus.in_service.value
    regions = await orgs.regions_of([d["path"] for d in depots])
    return [DepotOut(code=d["code"], name_zh=d["name_zh"], name_en=d["name_en"], parent=orgs.unit_ref(d, "parent"), region=regions[d["path"]],
                     stock=stock.get(d["id"], []), equipment=list(equipment.get(d["id"], {}).values())) for d in depots]


# --- transfer requests between depots and teams ---------------------------------------------

# Which side acts at each step, and what it moves the request to ("approver": the side that did not raise the request).
_STEPS = {
    "approve": ("approver", TransferStatus.requested, TransferStatus.approved),
    "reject": ("approver", TransferStatus.requested, TransferStatus.rejected),
    "dispatch": ("source", TransferStatus.approved, TransferStatus.dispatched),
    "receive": ("destination", TransferStatus.dispatched, TransferStatus.received),
}


def _side(row: dict[str, Any], side: str) -> Owner:
    team, depot = row[f"{side}_team"], row[f"{side}_depot"]
    code = row[f"{side}_team_code"] or row[f"{side}_depot_code"]
    name = row[f"{side}_team_name"] or row[f"{side}_depot_name"]
    return Owner(team, depot, row[f"{side}_path"], OwnerOut(kind="team" if team else "depot", code=code, name_zh=name))


_TRANSFER_COLUMNS = (
    TransferRequest.all_columns(),
    TransferRequest.source_team.code.as_alias("source_team_code"), TransferRequest.source_team.name_zh.as_alias("source_team_name"),
    TransferRequest.source_depot.code.as_alias("source_depot_code"), TransferRequest.source_depot.name_zh.as_alias("source_depot_name"),
    TransferRequest.destination_team.code.as_alias("destination_team_code"),
    TransferRequest.destination_team.name_zh.as_alias("destination_team_name"),
    TransferRequest.destination_depot.code.as_alias("destination_depot_code"),
    TransferRequest.destination_depot.name_zh.as_alias("destination_depot_name"),
)


async def _transfer_row(transfer_id: int) -> dict[str, Any]:
    row = await TransferRequest.select(*_TRANSFER_COLUMNS).where(TransferRequest.id == transfer_id).first()
    if row is None:
        raise NotFound(f"No transfer request #{transfer_id}.")
    return row


def _transfer_out(row: dict[str, Any]) -> TransferRequestOut:
    return TransferRequestOut(id=row["id"], source=_side(row, "source").out, destination=_side(row, "destination").out,
                              stock_lines=_json(row["stock_lines"]), asset_tags=_json(row["asset_tags"]), reason=row["reason"],
                              raised_by=row["raised_by"], status=row["status"], history=_json(row["history"]))


def acting_side(raised_by: str, action: str) -> str:
    """Which side ("source" or "destination") takes ``action`` on a request raised by ``raised_by``."""
    side = _STEPS[action][0]
    return ("source" if raised_by == "destination" else "destination") if side == "approver" else side


async def _emit_transfer(principal: Principal, transfer_id: int, status: TransferStatus, source: Owner, destination: Owner,
                         stock_lines: list[Any], asset_tags: list[str], reason: str, *, note: str, at: Owner | None = None) -> None:
    """Tell the coordinators of a step, from the side that took it (the requester's by default)."""
    payload = TransferEvent(transfer_id=transfer_id, status=status, source=source.out, destination=destination.out,
                            stock_lines=stock_lines, asset_tags=asset_tags, reason=reason, note=note, by=principal.display_name)
    await events.emit(principal, f"equipment_transfer.{status.value}", payload, org_path=(at or destination).path,
                      aggregate_id=str(transfer_id))


async def request_transfer(principal: Principal, data: TransferRequestIn) -> TransferRequestOut:
    """The receiving side asks (or a holder offers materials back); nothing moves until the other side approves and
    the source dispatches."""
    source, destination = await _owner(data.source), await _owner(data.destination)
    if source.path == destination.path:
        raise field_error("destination", "the destination is the source")
    raised_by = "destination"
    if not can(principal, "equipment.manage", destination.path) and can(principal, "equipment.manage", source.path):
        raised_by = "source"  # sending back what it holds, e.g. a team returning a depot's tents
    asking, asked = (destination, source) if raised_by == "destination" else (source, destination)
    _authorize(principal, "equipment.manage", asking.path, asking.depot)
    # Any reserve depot may be asked (they serve across regions); another team only within the caller's view.
    if asked.team is not None and not can(principal, "equipment.view", asked.path):
        raise NotFound("No such team, or it is outside your scope.")
    for line in data.stock_lines:
        await _type(line.type, Tracking.stock)
    if data.asset_tags:
        rows = await Item.select(Item.asset_tag, Item.team, Item.depot).where(Item.asset_tag.is_in(data.asset_tags))
        owned = {r["asset_tag"] for r in rows if (r["team"], r["depot"]) == (source.team, source.depot)}
        missing = [tag for tag in data.asset_tags if tag not in owned]
        if missing:
            raise field_error("asset_tags", f"not held by the source: {', '.join(missing)}")
    history = [{"status": TransferStatus.requested.value, "by": principal.display_name, "at": utc_now().isoformat(), "note": data.reason}]
    async with write_transaction():
        rows = await TransferRequest.insert(TransferRequest(
            source_team=source.team, source_depot=source.depot, source_path=source.path,
            destination_team=destination.team, destination_depot=destination.depot, destination_path=destination.path,
            stock_lines=json.dumps([line.model_dump() for line in data.stock_lines]), asset_tags=json.dumps(data.asset_tags),
            reason=data.reason, raised_by=raised_by, history=json.dumps(history, ensure_ascii=False),
        )).returning(TransferRequest.id)
        await accounts.record_audit(principal, "equipment.transfer.requested", "transfer", str(rows[0]["id"]), asking.path,
                                    data.model_dump(mode="json"))
        await _emit_transfer(principal, rows[0]["id"], TransferStatus.requested, source, destination, data.stock_lines, data.asset_tags,
                             data.reason, note="", at=asking)
    return _transfer_out(await _transfer_row(rows[0]["id"]))


async def advance_transfer(principal: Principal, transfer_id: int, step: TransferStepIn) -> TransferRequestOut:
    row = await _transfer_row(transfer_id)
    _, expected, new_status = _STEPS[step.action]
    side = _side(row, acting_side(row["raised_by"], step.action))
    visible = can(principal, "equipment.view", row["source_path"]) or can(principal, "equipment.view", row["destination_path"])
    authorize(principal, "equipment.manage", side.path, hide=not visible)
    if row["status"] != expected.value:
        raise Conflict(f"A {row['status']} request cannot be {step.action}d now.", code="invalid_transition")
    if step.action == "reject" and len(step.note.strip()) < 2:
        raise field_error("note", "say why the request is rejected")
    source, destination = _side(row, "source"), _side(row, "destination")
    history = [*_json(row["history"]), {"status": new_status.value, "by": principal.display_name, "at": utc_now().isoformat(), "note": step.note}]
    async with write_transaction():
        won = await TransferRequest.update({TransferRequest.status: new_status.value,
                                            TransferRequest.history: json.dumps(history, ensure_ascii=False)}).where(
            (TransferRequest.id == transfer_id) & (TransferRequest.status == expected.value)).returning(TransferRequest.id)
        if not won:
            raise Conflict("Someone else moved this request on a moment ago.", code="invalid_transition")
        reference = f"调拨申请 #{transfer_id}"
        tags = _json(row["asset_tags"])
        location = step.location.strip()
        if step.action in ("dispatch", "receive"):
            owner, sign, movement = ((source, -1, MovementKind.transfer_out) if step.action == "dispatch"
                                     else (destination, 1, MovementKind.transfer_in))
            lines = [(await _stock_id((await _type(line["type"], Tracking.stock))["id"], owner, location), line["quantity"])
                     for line in _json(row["stock_lines"])]
            await _lock_balances(*(stock_id for stock_id, _ in lines))  # in id order: two transfers never deadlock
            for stock_id, quantity in lines:
                await _apply(stock_id, sign * quantity, movement, principal, reference, step.note)
        if step.action == "dispatch":
            if tags:
                moved = await Item.update({Item.status: ItemStatus.in_transit.value}).where(
                    Item.asset_tag.is_in(tags) & (Item.status == ItemStatus.in_service.value)).returning(Item.asset_tag)
                if len(moved) != len(tags):
                    raise Conflict(f"Not every item is in its store: {', '.join(sorted(set(tags) - {m['asset_tag'] for m in moved}))}.",
                                   code="item_unavailable")
        if step.action == "receive":
            if tags:
                moved = await Item.update({Item.status: ItemStatus.in_service.value, Item.team: destination.team, Item.depot: destination.depot,
                                           Item.owner_path: destination.path, Item.container: None,
                                           **({Item.storage_location: location} if location else {})}).where(
                    Item.asset_tag.is_in(tags)).returning(Item.id)
                now = utc_now()
                for item in moved:
                    await OwnerChange.insert(OwnerChange(item=item["id"], from_team=source.team, from_depot=source.depot, to_team=destination.team,
                                                         to_depot=destination.depot, transfer=transfer_id, by_user=principal.user_id, at=now))
        await accounts.record_audit(principal, f"equipment.transfer.{new_status.value}", "transfer", str(transfer_id), side.path,
                                    {"note": step.note})
        await _emit_transfer(principal, transfer_id, new_status, source, destination, _json(row["stock_lines"]), tags, row["reason"],
                             note=step.note, at=side)
    return _transfer_out(await _transfer_row(transfer_id))


async def list_transfers(principal: Principal, status: TransferStatus | None = None) -> list[TransferRequestOut]:
    scopes = scopes_for(principal, "equipment.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing equipment.")
    query = TransferRequest.select(*_TRANSFER_COLUMNS).order_by(TransferRequest.id, ascending=False)
    source_visible, destination_visible = within(TransferRequest.source_path, scopes), within(TransferRequest.destination_path, scopes)
    if source_visible is not None:
        query = query.where(source_visible | destination_visible)
    if status:
        query = query.where(TransferRequest.status == status.value)
    return [_transfer_out(row) for row in await query]


# --- registering items from a spreadsheet --------------------------------------------------


@dataclass(frozen=True)
class _ImportRow:
    item: ItemIn
    template: int | None  # a kit row: the kit's template
    kit: str | None  # the asset tag of the kit the item is packed in


async def import_items(principal: Principal, owner_in: OwnerIn, file_name: str, content: bytes, *, commit: bool) -> ImportReport:
    """Check every row (and write them all, in one transaction, when ``commit`` and nothing is wrong).

    A row with a kit template (套装模板) registers a kit; a row naming a kit (所属套装) is packed into it, whether the kit
    is on another row of the file or already registered for the same owner. So one file registers a whole kit."""
    owner = await _owner(owner_in)
    _authorize(principal, "equipment.manage", owner.path, owner.depot)
    file_name = uploads.display_name(file_name, "items")
    try:
        rows = item_file.read(file_name, content)
    except spreadsheets.SpreadsheetError as error:
        raise InvalidInput(f"{file_name}: {error}", code="bad_equipment_file") from error
    types, templates = {}, {}
    for row in await EquipmentType.select().where(EquipmentType.tracking == Tracking.item.value):
        types[row["code"]] = types[row["name_zh"]] = row
    for row in await KitTemplate.select(KitTemplate.id, KitTemplate.code, KitTemplate.name_zh):
        templates[row["code"]] = templates[row["name_zh"]] = row
    header = item_file.HEADER_OF
    errors: list[ImportRowError] = []
    valid: list[_ImportRow] = []
    seen: dict[str, int] = {}
    kit_rows: set[str] = set()  # asset tags the file declares as kits
    packed_in: list[tuple[int, str]] = []  # (row, kit tag) to check once every row is read
    for number, values in rows:
        problems: list[tuple[str, str]] = []
        template = None
        if "kit_template" in values:
            template = templates.get(str(values["kit_template"]).strip())
            if template is None:
                problems.append((header["kit_template"], f"unknown kit template '{values['kit_template']}'"))
            if str(values.get("type", "kit")).strip() not in ("kit", types.get("kit", {}).get("name_zh")):
                problems.append((header["type"], "a kit row is of type 装备箱组 (or leave the type empty)"))
            kind = types.get("kit")
            if "kit" in values:
                problems.append((header["kit"], "a kit cannot be packed in another kit"))
        else:
            kind = types.get(str(values.get("type", "")))
            if kind is None:
                problems.append((header["type"], f"unknown or stock-counted type '{values.get('type', '')}'"))
            elif kind["code"] == "kit":
                problems.append((header["kit_template"], "a kit needs its template"))
        dates = {}
        for key in ("acquired_on", "expires_on"):
            if key in values:
                try:
                    dates[key] = spreadsheets.parse_date(values[key])
                except ValueError as error:
                    problems.append((header[key], str(error)))
        funding = item_file.FUNDING.get(str(values.get("funding", "财政")))
        if funding is None:
            problems.append((header["funding"], "write 财政, 捐赠 or 项目"))
        tag = str(values.get("asset_tag", "")).strip().upper()
        if tag in seen:
            problems.append((header["asset_tag"], f"the same tag as row {seen[tag]}"))
        seen.setdefault(tag, number)
        if "kit_template" in values:
            kit_rows.add(tag)
        kit = str(values["kit"]).strip().upper() if "kit" in values and "kit_template" not in values else None
        if kit:
            packed_in.append((number, kit))
        if not problems:
            try:
                item = ItemIn(asset_tag=tag, type_code=kind["code"], team_code=owner_in.team_code, depot_code=owner_in.depot_code,
                              serial_number=str(values.get("serial_number", "")), storage_location=str(values.get("storage_location", "")),
                              cost=values.get("cost"), funding=funding, notes=str(values.get("notes", "")), **dates)
                valid.append(_ImportRow(item, template["id"] if template else None, kit))
            except ValidationError as error:
                problems += [(header.get(str(e["loc"][-1]) if e["loc"] else "", "—"), e["msg"].removeprefix("Value error, "))
                             for e in error.errors()]
        errors += [ImportRowError(row=number, column=column, message=message) for column, message in problems]
    # A kit named by a row is declared in the file, or is a registered kit of the same owner.
    named = sorted({kit for _, kit in packed_in} - kit_rows)
    registered = {r["asset_tag"] for r in await Item.select(Item.asset_tag).where(
        Item.asset_tag.is_in(named or [""]) & Item.kit_template.is_not_null() & _owner_filter(Item, owner))}
    for number, kit in packed_in:
        if kit not in kit_rows and kit not in registered:
            errors.append(ImportRowError(row=number, column=header["kit"], message=f"no kit {kit} in this file or at this owner"))
    bad_rows = {e.row for e in errors}
    valid = [v for v in valid if seen[v.item.asset_tag] not in bad_rows]
    taken = {r["asset_tag"] for r in await Item.select(Item.asset_tag).where(Item.asset_tag.is_in([v.item.asset_tag for v in valid] or [""]))}
    for v in valid:
        if v.item.asset_tag in taken:
            errors.append(ImportRowError(row=seen[v.item.asset_tag], column=header["asset_tag"], message="already registered"))
    valid = [v for v in valid if v.item.asset_tag not in taken]
    report = ImportReport(batch_id=None, file_name=file_name, rows=len(rows), valid_rows=len(valid),
                          errors=sorted(errors, key=lambda e: (e.row, e.column)))
    if not commit:
        return report
    if errors:
        raise InvalidInput(f"{len(errors)} problems: nothing was registered. Correct the file and upload it again.",
                           code="import_has_errors", details=[e.model_dump() for e in report.errors[:200]])
    contents: dict[str, list[str]] = {}
    for v in valid:
        if v.kit:
            contents.setdefault(v.kit, []).append(v.item.asset_tag)
    async with write_transaction():
        for v in valid:
            await _register(principal, v.item, kit_template=v.template)
        for kit, tags in contents.items():
            await pack(principal, kit, PackIn(asset_tags=tags))
    return report.model_copy(update={"committed": len(valid)})


async def pending_scraps(principal: Principal) -> list[ScrapOut]:
    """Scrapping requests waiting for a decision the caller may take."""
    rows = await ScrapRequest.select(ScrapRequest.id, ScrapRequest.item.owner_path.as_alias("owner_path")).where(
        ScrapRequest.status == ScrapStatus.pending.value).order_by(ScrapRequest.id)
    return [await _scrap_out(row["id"]) for row in rows if can(principal, "equipment.scrap", row["owner_path"])]


async def path_of(owner: OwnerIn) -> str:
    """The org path of a team or depot (for the pages' permission checks)."""
    return (await _owner(owner)).path


async def owner_path(owner: OwnerOut) -> str:
    """The org path of a team or depot named in an OwnerOut (for the pages' permission checks)."""
    return await path_of(OwnerIn(team_code=owner.code) if owner.kind == "team" else OwnerIn(depot_code=owner.code))


# --- read for grading (分级测评) ----------------------------------------------------------------------


# The record fields grading asks of an item, missing or not: (no serial number, no acquisition date) -> labels.
_MISSING = {(serial, acquired): tuple(label for label, gone in (("序列号 serial number", serial), ("购置日期 acquired on", acquired)) if gone)
            for serial in (False, True) for acquired in (False, True)}


async def grading_facts(team_ids: list[int], on: date) -> dict[int, dict[str, Any]]:
    """Per team, its equipment as grading weighs it, in four queries whatever the number of teams:
    ``items`` (not scrapped or lost): asset tag, type code, status, ``usable`` (in service and not expired on ``on``),
    ``expired``, ``last_inspected`` (the latest passed inspection by ``on``), ``missing`` record fields (serial number,
    acquisition date), ``kit_template`` (set on a kit container); ``stock``: type code -> quantity on hand;
    ``kits``: asset tag, template code, category, name_zh, ``ready`` (every template line has enough usable packed items,
    as get_kit says) and ``problems``."""
    if not team_ids:
        return {}
    owned = Item.team.is_in(list(team_ids)) & Item.status.not_in(list(_GONE))
    # The templates (a few) on their own, so the rows of a country's 600,000 items carry no template columns.
    templates = {row["id"]: row for row in await KitTemplate.select(
        KitTemplate.id, KitTemplate.code, KitTemplate.category, KitTemplate.name_zh, KitTemplate.lines)}
    rows = await driver_rows(Item.select(
        Item.id, Item.team, Item.asset_tag, Item.status, Item.expires_on, Item.serial_number, Item.acquired_on, Item.container,
        Item.type.code.as_alias("type"), Item.kit_template,
    ).where(owned).order_by(Item.asset_tag))
    # The latest per item, grouped in the database: an item's whole inspection history never crosses the wire. Taken for
    # every item of the teams (scrapped and lost ones are never looked up): the items' condition repeated in a subquery
    # doubled the database's work.
    inspected: dict[int, date] = {row["item"]: as_date(row["last"])
                                  for row in await driver_rows(Inspection.select(
        Inspection.item, Max(Inspection.inspected_on, alias="last")).where(
            Inspection.item.team.is_in(list(team_ids)) & (Inspection.passed == True) & (Inspection.inspected_on <= on)  # noqa: E712
    ).group_by(Inspection.item))}
    found: dict[int, dict[str, Any]] = {team: {"items": [], "stock": {}, "kits": []} for team in team_ids}
    items_of = {team: held["items"] for team, held in found.items()}
    usable_in: dict[int, list[str]] = {}  # kit item id -> types of the usable items packed in it
    packed_in: dict[int, list[dict[str, Any]]] = {}
    containers = []  # (row, template) of each kit container, in asset tag order
    in_service = ItemStatus.in_service.value
    for row in rows:  # a country's 600,000 items: keep the per-row work to lookups
        expired = bool(row["expires_on"] and row["expires_on"] < on)
        usable = row["status"] == in_service and not expired
        template = templates[row["kit_template"]] if row["kit_template"] is not None else None
        item = {"asset_tag": row["asset_tag"], "type": row["type"], "status": row["status"], "usable": usable, "expired": expired,
                "last_inspected": inspected.get(row["id"]), "missing": _MISSING[not row["serial_number"], not row["acquired_on"]],
                "kit_template": template["code"] if template else None}
        items_of[row["team"]].append(item)
        if template:
            containers.append((row, template))
        if row["container"] is not None:
            packed_in.setdefault(row["container"], []).append(item)
            if usable:
                usable_in.setdefault(row["container"], []).append(row["type"])
    for row, template in containers:
        lines = _json(template["lines"])
        problems = []
        for line in lines:
            packed = [i for i in packed_in.get(row["id"], []) if i["type"] == line["type"]]
            problems += [f"{i['asset_tag']}: {'expired' if i['expired'] else i['status']}" for i in packed if not i["usable"]]
            if len(packed) < line["quantity"]:
                problems.append(f"{line['type']}: {line['quantity'] - len(packed)} missing")
        ready = all(usable_in.get(row["id"], []).count(line["type"]) >= line["quantity"] for line in lines)
        found[row["team"]]["kits"].append({"asset_tag": row["asset_tag"], "template": template["code"], "category": template["category"],
                                           "name_zh": template["name_zh"], "ready": ready and row["status"] != "lent",
                                           "problems": problems})
    for row in await Stock.select(Stock.team, Stock.type.code.as_alias("type"), Stock.quantity).where(
            Stock.team.is_in(list(team_ids)) & (Stock.quantity > 0)):
        held = found[row["team"]]["stock"]
        held[row["type"]] = held.get(row["type"], 0) + row["quantity"]
    return found
