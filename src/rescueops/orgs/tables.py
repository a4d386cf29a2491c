from enum import Enum

from piccolo.columns import Boolean, DoublePrecision, ForeignKey, Integer, SmallInt, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class OrgKind(str, Enum):
    region = "region"
    league = "league"  # 盟/市
    county = "county"  # 旗/县/区/县级市
    depot = "depot"  # 物资储备库
    partner_province = "partner_province"  # 北部协作区 partner Red Cross


class CoverageRole(str, Enum):
    primary = "primary"
    secondary = "secondary"


class OrgUnit(Table, tablename="orgs_unit"):
    code = Varchar(length=32, unique=True)
    kind = Varchar(length=24, choices=OrgKind)
    parent = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    # Materialised path of codes, "/150000/150400/150426/": "everything under X" is the
    # index range [X.path, X.path + "\uffff") on both engines.
    path = Varchar(length=512, index=True)
    depth = SmallInt(default=0)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    population_2020 = Integer(null=True, default=None)
    from_reference = Boolean(default=False)


class Hub(Table, tablename="orgs_hub"):
    """A regional backbone team's region (区域骨干救援队): where it sits and what it covers."""

    code = Varchar(length=32, unique=True)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200)
    region_zh = Varchar(length=50)
    region_en = Varchar(length=50)
    hub_city = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    colour = Varchar(length=9, default="#888888")


class HubCoverage(Table, tablename="orgs_hub_coverage"):
    """Unique per (hub, unit): a unique index made by the migration (SQLite cannot ALTER in a constraint)."""

    hub = ForeignKey(Hub, on_delete=OnDelete.cascade)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    role = Varchar(length=12, choices=CoverageRole)
    # True for the east/west halves of Xilingol and Baotou that the source leaves open.
    default_split = Boolean(default=False)


class CooperationZone(Table, tablename="orgs_zone"):
    code = Varchar(length=32, unique=True)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200)


class CooperationZoneMember(Table, tablename="orgs_zone_member"):
    """Unique per (zone, unit), by a unique index made in the migration."""

    zone = ForeignKey(CooperationZone, on_delete=OnDelete.cascade)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)


class ReferenceLoad(Table, tablename="orgs_reference_load"):
    """Which version of the shipped reference file was loaded, and when."""

    name = Varchar(length=64, unique=True)
    version = Varchar(length=32)
    loaded_at = Timestamptz()
