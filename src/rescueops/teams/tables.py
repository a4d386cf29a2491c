from enum import Enum

from piccolo.columns import (
    JSONB,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.orgs.tables import Hub, OrgUnit


class TeamStatus(str, Enum):
    forming = "forming"
    active = "active"
    suspended = "suspended"
    exited = "exited"


class RegistrationKind(str, Enum):
    civil_affairs = "civil_affairs"  # 民政登记注册
    red_cross_filing = "red_cross_filing"  # 红十字会发文备案


class PartyOrganisation(str, Enum):
    none = ""
    branch = "branch"  # 党支部
    joint_branch = "joint_branch"  # 联合党支部
    working_group = "working_group"  # 党的工作小组


class GradeStatus(str, Enum):
    active = "active"
    suspended = "suspended"  # by the supervising branch, with a reason; reinstated or cancelled later
    expired = "expired"  # past its validity without a new assessment


class FilingStatus(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class Category(Table, tablename="teams_category"):
    """Team categories are data: the nine graded ones and others (通讯, 航空救援, …)."""

    code = Varchar(length=32, unique=True)
    name_zh = Varchar(length=50)
    name_en = Varchar(length=100)
    graded = Boolean(default=False)
    sort_order = SmallInt(default=0)


class Team(Table, tablename="teams_team"):
    code = Varchar(length=32, unique=True)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200, default="")
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)  # the supervising league or county
    # The unit's path plus "t:<code>/": a team and its members sit inside their unit's subtree.
    path = Varchar(length=512, index=True)
    primary_category = ForeignKey(Category, on_delete=OnDelete.restrict)
    registration_kind = Varchar(length=20, choices=RegistrationKind)
    registration_number = Varchar(length=64, default="")  # civil-affairs number or filing document number
    filing_date = Date(null=True, default=None)
    founded_on = Date(null=True, default=None)
    base_address = Varchar(length=300, default="")
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    status = Varchar(length=12, choices=TeamStatus, default=TeamStatus.forming)
    status_since = Date()
    hub = ForeignKey(Hub, null=True, default=None, on_delete=OnDelete.set_null)  # set on a backbone team
    contact_phone = Varchar(length=20, default="")
    created_at = Timestamptz()
    # Declared for grading: hours the team can work without resupply, and its party organisation (党组织).
    self_sufficiency_hours = SmallInt(null=True, default=None)
    party_organisation = Varchar(length=16, choices=PartyOrganisation, default=PartyOrganisation.none)


class Specialty(Table, tablename="teams_specialty"):
    """A category the team also covers (一专多能); unique per (team, category) by index."""

    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    category = ForeignKey(Category, on_delete=OnDelete.restrict)


class Grade(Table, tablename="teams_grade"):
    """The current grade of a team in one category (level 1 highest); written by grading."""

    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    category = ForeignKey(Category, on_delete=OnDelete.restrict)
    level = SmallInt()
    assessed_on = Date()
    valid_until = Date(null=True, default=None)
    status = Varchar(length=12, choices=GradeStatus, default=GradeStatus.active)


class StatusChange(Table, tablename="teams_status_change"):
    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    from_status = Varchar(length=12, default="")
    to_status = Varchar(length=12)
    reason = Text(default="")
    effective_on = Date()
    changed_by = Integer(null=True, default=None)  # accounts user id
    changed_at = Timestamptz()


class LeadershipFiling(Table, tablename="teams_filing"):
    """A leadership change filed with (备案) the supervising branch; applied only when approved."""

    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    status = Varchar(length=12, choices=FilingStatus, default=FilingStatus.pending, index=True)
    # Snapshot of the proposal and of the leadership it replaces: {"captain": id, "deputies": [ids]}
    proposed = JSONB()
    previous = JSONB()
    reason = Text(default="")
    filed_by = Integer()  # accounts user id
    filed_by_name = Varchar(length=100)
    filed_at = Timestamptz()
    decided_by = Integer(null=True, default=None)
    decided_by_name = Varchar(length=100, default="")
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(default="")
