from enum import Enum

from piccolo.columns import (
    JSONB,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    Real,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.orgs.tables import OrgUnit
from rescueops.teams.tables import Team


class RequesterKind(str, Enum):
    league = "league"  # a league/city Red Cross (its supervisors)
    hub = "hub"  # a regional backbone hub (its coordinators)
    region = "region"  # the autonomous-region Red Cross


class Urgency(str, Enum):
    immediate = "immediate"  # 立即
    within_24h = "within_24h"  # 24 小时内
    planned = "planned"  # 计划内


class RequestStatus(str, Enum):
    open = "open"
    fulfilled = "fulfilled"  # accepted offers cover the people asked for, or the window closed with some accepted
    cancelled = "cancelled"
    expired = "expired"  # the window closed with no offer accepted


class OfferStatus(str, Enum):
    offered = "offered"
    accepted = "accepted"
    void = "void"  # the request was cancelled, expired or fulfilled before it was accepted


class StepKind(str, Enum):
    raised = "raised"
    ranked = "ranked"
    offered = "offered"
    declined = "declined"
    accepted = "accepted"
    fulfilled = "fulfilled"
    cancelled = "cancelled"
    expired = "expired"


class AssistanceRequest(Table, tablename="coordination_request"):
    """A call for help to every other hub: what kind of team, how many people, what equipment, where, when."""

    requester_kind = Varchar(length=8, choices=RequesterKind)
    requester_code = Varchar(length=32)  # the league or region unit code, or the hub code
    # Where the request comes from as an org path (the league, the region, or the hub's city): its events are routed
    # from this place, so their source region is the requester's.
    requester_path = Varchar(length=512, index=True)
    source_region = Varchar(length=16)  # the requester's region; that hub does not rank its own request
    category = Varchar(length=32)
    min_level = SmallInt(null=True, default=None)  # 1 highest .. 3; empty: no grade needed
    people_needed = SmallInt()
    equipment = JSONB(default="[]")  # [{"type": code, "quantity": n}]
    incident_kind = Varchar(length=24, default="other")
    place = Varchar(length=200)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    unit_path = Varchar(length=512, index=True)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    window_from = Timestamptz()
    window_until = Timestamptz(index=True)
    urgency = Varchar(length=12, choices=Urgency)
    notes = Text(default="")
    status = Varchar(length=12, choices=RequestStatus, default=RequestStatus.open, index=True)
    incident_id = Integer(null=True, default=None)  # the deployments incident, opened by the first accepted offer
    raised_by = Integer(null=True, default=None)
    raised_by_name = Varchar(length=100)
    raised_at = Timestamptz()
    closed_at = Timestamptz(null=True, default=None)
    close_reason = Text(default="")
    touched_at = Timestamptz()  # written first by every accept: the row lock that puts concurrent accepts in line


class HubResponse(Table, tablename="coordination_response"):
    """One hub's side of a request: its ranking (written by its coordination queue) and its decline. Unique per (request, hub)."""

    request = ForeignKey(AssistanceRequest, on_delete=OnDelete.cascade)
    hub_code = Varchar(length=32)
    ranked_at = Timestamptz(null=True, default=None)
    declined_at = Timestamptz(null=True, default=None)
    decline_reason = Text(default="")
    declined_by_name = Varchar(length=100, default="")


class Candidate(Table, tablename="coordination_candidate"):
    """A team of the hub's coverage as ranked for a request, with the reason for its place."""

    response = ForeignKey(HubResponse, on_delete=OnDelete.cascade)
    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    position = SmallInt()  # 1.. in the hub's list; eligible teams first
    eligible = Boolean()
    score = Real(default=0.0)
    distance_km = Real(null=True, default=None)  # road distance, approximated
    available = SmallInt(default=0)  # members who could go now
    reasons = JSONB(default="[]")  # [{"code", "level": ok|warn|fail, "zh", "en"}]


class Offer(Table, tablename="coordination_offer"):
    """A hub offers one of its teams; the requester accepts it (a deployment) or it lapses. Unique per (request, team)."""

    request = ForeignKey(AssistanceRequest, on_delete=OnDelete.cascade)
    hub_code = Varchar(length=32)
    team = ForeignKey(Team, on_delete=OnDelete.restrict)
    team_path = Varchar(length=512)
    people = SmallInt()
    equipment = JSONB(default="[]")  # [{"type": code, "quantity": n}]
    eta = Timestamptz()
    note = Text(default="")
    status = Varchar(length=10, choices=OfferStatus, default=OfferStatus.offered, index=True)
    offered_by = Integer(null=True, default=None)
    offered_by_name = Varchar(length=100)
    offered_at = Timestamptz()
    decided_by_name = Varchar(length=100, default="")
    decided_at = Timestamptz(null=True, default=None)
    deployment_id = Integer(null=True, default=None)


class Step(Table, tablename="coordination_step"):
    """The request's history, append-only: each step with who and when (rows, so concurrent hubs never overwrite one another)."""

    request = ForeignKey(AssistanceRequest, on_delete=OnDelete.cascade)
    kind = Varchar(length=12, choices=StepKind)
    hub_code = Varchar(length=32, default="")
    offer = Integer(null=True, default=None)
    by_user = Integer(null=True, default=None)
    by_name = Varchar(length=100)
    at = Timestamptz()
    note = Text(default="")
