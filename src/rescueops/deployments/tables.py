from enum import Enum, IntEnum

from piccolo.columns import DoublePrecision, ForeignKey, Integer, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.members.tables import Person
from rescueops.orgs.tables import OrgUnit
from rescueops.teams.tables import Team


class IncidentKind(str, Enum):
    flood = "flood"  # 洪涝
    flash_flood = "flash_flood"  # 山洪
    blizzard = "blizzard"  # 白灾（雪灾）
    grassland_fire = "grassland_fire"  # 草原火灾
    earthquake = "earthquake"  # 地震
    building_collapse = "building_collapse"  # 建筑物倒塌
    road_crash = "road_crash"  # 道路交通事故
    ice_jam = "ice_jam"  # 凌汛
    other = "other"


class Severity(IntEnum):
    """The national four-level grading of emergencies (突发事件分级): 1 is the gravest."""

    particularly_serious = 1  # 特别重大（Ⅰ级）
    serious = 2  # 重大（Ⅱ级）
    large = 3  # 较大（Ⅲ级）
    general = 4  # 一般（Ⅳ级）


class DeploymentStatus(str, Enum):
    alerted = "alerted"  # the team was called
    mobilising = "mobilising"  # assembling and on the way
    on_scene = "on_scene"
    demobilising = "demobilising"  # stood down, returning
    closed = "closed"  # back; hours credited, equipment settled, the log is final


class LogKind(str, Enum):
    arrival = "arrival"
    task = "task"
    rescued = "rescued"  # count: people rescued
    treated = "treated"  # count: people given first aid or treatment
    hazard = "hazard"
    resource_request = "resource_request"  # count: optional quantity asked for
    demobilisation = "demobilisation"
    note = "note"


class Incident(Table, tablename="deployments_incident"):
    """An emergency the teams respond to, as the requesting authority reported it."""

    kind = Varchar(length=24, choices=IncidentKind)
    title = Varchar(length=200)
    place = Varchar(length=200)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)  # where it happens (a banner, county or league)
    org_path = Varchar(length=512, index=True)  # the unit's path: who sees the incident
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    requesting_authority = Varchar(length=200, default="")  # e.g. 锡林浩特市应急管理局
    severity = SmallInt(default=Severity.general.value)
    started_at = Timestamptz(index=True)
    source = Varchar(length=100, default="")  # e.g. "assistance:12"
    created_by = Integer(null=True, default=None)  # user id; the creator sees the incident even outside their scope
    created_by_name = Varchar(length=150, default="")
    created_at = Timestamptz()


class Deployment(Table, tablename="deployments_deployment"):
    """One team dispatched to an incident. At most one open deployment per (incident, team), by a partial index."""

    incident = ForeignKey(Incident, on_delete=OnDelete.restrict)
    team = ForeignKey(Team, on_delete=OnDelete.restrict)
    status = Varchar(length=14, choices=DeploymentStatus, default=DeploymentStatus.alerted, index=True)
    source = Varchar(length=100, default="")  # "" or "offer:<id>"
    alerted_at = Timestamptz(index=True)  # the dispatch: when the deployment started
    mobilising_at = Timestamptz(null=True, default=None)
    on_scene_at = Timestamptz(null=True, default=None)
    demobilising_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    closing_note = Text(default="")
    # Bumped by every write that needs the deployment open: a log entry and the close update this row, so on
    # PostgreSQL they queue on its row lock and the second sees the first's status.
    updated_at = Timestamptz()
    created_by_name = Varchar(length=150, default="")


class Transition(Table, tablename="deployments_transition"):
    """A status change: when it happened (as reported), when and by whom it was recorded."""

    deployment = ForeignKey(Deployment, on_delete=OnDelete.cascade, index=True)
    from_status = Varchar(length=14, default="")  # "" for the dispatch
    to_status = Varchar(length=14, choices=DeploymentStatus)
    at = Timestamptz()
    recorded_at = Timestamptz()
    by_user = Integer(null=True, default=None)
    by_name = Varchar(length=150)
    note = Text(default="")


class DeployedMember(Table, tablename="deployments_member"):
    """A member's stint on a deployment, until released (or the close). One open stint per person anywhere,
    by a partial unique index (person WHERE released_at IS NULL)."""

    deployment = ForeignKey(Deployment, on_delete=OnDelete.cascade, index=True)
    person = ForeignKey(Person, on_delete=OnDelete.restrict)
    team = ForeignKey(Team, on_delete=OnDelete.restrict)  # the team they went with, for the hours
    added_at = Timestamptz()
    released_at = Timestamptz(null=True, default=None)
    added_by_name = Varchar(length=150)
    released_by_name = Varchar(length=150, default="")
    release_note = Text(default="")


class DeployedItem(Table, tablename="deployments_item"):
    """An item checked out to a deployment (equipment.check_out, kind deployment); settled when it comes back."""

    deployment = ForeignKey(Deployment, on_delete=OnDelete.cascade, index=True)
    asset_tag = Varchar(length=64)
    type_name_zh = Varchar(length=100, default="")
    checkout_id = Integer()  # the equipment check-out row, to check it back in and no other
    out_at = Timestamptz()
    added_by_name = Varchar(length=150)
    returned_at = Timestamptz(null=True, default=None)
    condition = Varchar(length=10, default="")  # ok | damaged | lost, once returned
    return_note = Text(default="")


class LogEntry(Table, tablename="deployments_log"):
    """One line of the timeline the captain writes from the scene. Never edited; a mistaken one is voided."""

    deployment = ForeignKey(Deployment, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=20, choices=LogKind)
    occurred_at = Timestamptz()
    text = Text(default="")
    quantity = Integer(default=0)  # rescued / treated people, or the quantity of a resource request ("count" would hide Table.count)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    recorded_at = Timestamptz()
    recorded_by = Integer(null=True, default=None)
    recorded_by_name = Varchar(length=150)
    voided_at = Timestamptz(null=True, default=None)
    void_reason = Text(default="")
