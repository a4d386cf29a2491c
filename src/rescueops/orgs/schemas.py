from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from rescueops.orgs.tables import CoverageRole, OrgKind

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$"


class OrgUnitOut(BaseModel):
    code: str
    kind: OrgKind
    parent_code: str | None
    path: str
    depth: int
    name_zh: str
    name_en: str
    lat: float | None
    lon: float | None
    population_2020: int | None


class OrgUnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN, description="Unique code, e.g. the GB/T 2260 area code")
    kind: OrgKind
    parent_code: str | None = Field(default=None, description="Required for every kind but region and partner_province")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class OrgUnitUpdate(BaseModel):
    """Names and location; code, kind and parent are fixed once created (paths hang on them)."""

    model_config = ConfigDict(extra="forbid")

    name_zh: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class UnitRef(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: OrgKind


class CoverageOut(BaseModel):
    unit: UnitRef
    league: UnitRef | None = Field(description="The league a covered county belongs to")
    role: CoverageRole
    default_split: bool


class HubOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    region_zh: str
    region_en: str
    colour: str
    hub_city: UnitRef
    coverage: list[CoverageOut]


class CoverageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_code: str
    role: CoverageRole


class CoverageUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coverage: list[CoverageIn] = Field(min_length=1, max_length=1000)
    reason: str = Field(min_length=2, max_length=500, description="Why the coverage changes; kept in the audit log")


class ZoneOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    members: list[UnitRef]


# The shipped reference file (src/rescueops/orgs/reference/*.yaml).
class ReferenceUnit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    kind: OrgKind
    parent: str | None
    name_zh: str
    name_en: str
    lat: float | None = None
    lon: float | None = None
    population_2020: int | None = None


class ReferenceCoverage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str
    role: CoverageRole
    default_split: bool = False


class ReferenceHub(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name_zh: str
    name_en: str
    region_zh: str
    region_en: str
    hub_city: str
    colour: str
    coverage: list[ReferenceCoverage]


class ReferenceZone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name_zh: str
    name_en: str
    members: list[str]


class ReferenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    source: str
    units: list[ReferenceUnit]
    hubs: list[ReferenceHub]
    zones: list[ReferenceZone]


class ReferenceReport(BaseModel):
    version: str
    units_added: int
    units_updated: int
    hubs_added: int
    coverage_added: int
    zones_added: int
