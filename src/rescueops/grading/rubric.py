"""Rubrics as data: one YAML file per graded category (``reference/<category>.yaml``), plus the common part
(公共科目, ``reference/common.yaml``) merged into each, validated here.

A criterion has a kind (what is measured), typed parameters (the thresholds among them), a level (1 highest),
whether it is hard (blocks the level) or soft (advice), where the evidence comes from (automatic: the records;
document: the records plus an attached document; assessor: a score) and its source, ``verified`` when the figure
comes from a public source (GRADING.md) and not a default of ours.

Levels are cumulative: a level-2 team meets every level-3 criterion too. Criteria measuring the same thing at
different levels form a *ladder*; a higher level may never ask for less than a lower one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import cache, cached_property
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

LEVELS = (3, 2, 1)  # from the lowest grade up; level 1 is the highest
DRILL_TYPES = ("training_course", "tabletop", "drill", "functional", "full_scale")
ANY_FIRST_AID = "first_aid"  # any certificate type flagged first_aid (救护员证, CPR+AED…)
COMMON = "common"


class Evidence(str, Enum):
    automatic = "automatic"  # measured from the records
    document = "document"  # measured from the records (or scored) and a document must be attached
    assessor = "assessor"  # an assessor's score


# --- parameters of each kind --------------------------------------------------------------------


class _Params(BaseModel):
    # Strict: a threshold written as "10" (a string) is a mistake in the file, not a number to guess at.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class MinMembers(_Params):
    of: Literal["active", "insured", "deployable"]
    min: int = Field(ge=0)


class RoleCoverage(_Params):
    role: Literal["captain", "deputy_captain"]
    min: int = Field(ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> RoleCoverage:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class CertifiedRatio(_Params):
    certificate: str
    min_ratio: float = Field(gt=0, le=1)


class CertifiedCount(_Params):
    certificate: str
    min: int = Field(ge=1)


class EquipmentParams(_Params):
    type: str
    min: int = Field(ge=1)
    inspected_within_months: int | None = Field(default=None, ge=1, le=60)


class KitReady(_Params):
    template: str | None = None  # None: any kit template of the rubric's category
    min: int = Field(ge=1)


class DrillCount(_Params):
    min: int = Field(ge=1)
    types: list[Literal[DRILL_TYPES]] = Field(default_factory=list)  # empty: any type
    joint: bool = False


class Mobilisation(_Params):
    max: int = Field(ge=1, description="minutes from the call to the team assembled")
    measure: Literal["latest", "best"] = "latest"


class SelfSufficiency(_Params):
    min: int = Field(ge=1, description="hours")


class YearsActive(_Params):
    min: float = Field(gt=0)


class Registration(_Params):
    kinds: list[Literal["civil_affairs", "red_cross_filing"]] = Field(default_factory=lambda: ["civil_affairs", "red_cross_filing"])


class PartyOrganisation(_Params):
    pass


class RecordCompleteness(_Params):
    min_ratio: float = Field(gt=0, le=1)
    of: Literal["members", "items", "both"] = "both"


class AssessorScore(_Params):
    max_score: int = Field(ge=1)
    pass_score: int = Field(ge=0)
    topic: str | None = None  # criteria of one topic at several levels form a ladder

    @model_validator(mode="after")
    def _bounds(self) -> AssessorScore:
        if self.pass_score > self.max_score:
            raise ValueError(f"pass_score ({self.pass_score}) is above max_score ({self.max_score})")
        return self


@dataclass(frozen=True)
class Kind:
    params: type[_Params]
    # (parameter, direction): "min" when a larger value is stricter, "max" when a smaller one is (None: no limit).
    thresholds: tuple[tuple[str, str], ...]
    manual: bool = False  # scored by an assessor, never from the records


KINDS: dict[str, Kind] = {
    "min_members": Kind(MinMembers, (("min", "min"),)),
    "role_coverage": Kind(RoleCoverage, (("min", "min"), ("max", "max"))),
    "min_certified_ratio": Kind(CertifiedRatio, (("min_ratio", "min"),)),
    "min_certified_count": Kind(CertifiedCount, (("min", "min"),)),
    "equipment": Kind(EquipmentParams, (("min", "min"), ("inspected_within_months", "max"))),
    "kit_ready": Kind(KitReady, (("min", "min"),)),
    "min_drills_last_12m": Kind(DrillCount, (("min", "min"),)),
    "max_mobilisation_minutes": Kind(Mobilisation, (("max", "max"),)),
    "self_sufficiency_hours": Kind(SelfSufficiency, (("min", "min"),)),
    "min_years_active": Kind(YearsActive, (("min", "min"),)),
    "registration_valid": Kind(Registration, ()),
    "party_organisation": Kind(PartyOrganisation, ()),
    "record_completeness": Kind(RecordCompleteness, (("min_ratio", "min"),)),
    "assessor_score": Kind(AssessorScore, (("pass_score", "min"),), manual=True),
}


# --- criteria and rubrics -------------------------------------------------------------------------


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    kind: str
    title_zh: str = Field(min_length=1, max_length=200)
    title_en: str = Field(min_length=1, max_length=200)
    level: Literal[1, 2, 3]
    hard: bool = True
    evidence: Evidence = Evidence.automatic
    params: dict[str, Any] = Field(default_factory=dict)
    source: str
    verified: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _kind_and_params(self) -> Criterion:
        kind = KINDS.get(self.kind)
        if kind is None:
            raise ValueError(f"unknown kind '{self.kind}' (known: {', '.join(KINDS)})")
        if kind.manual and self.evidence is Evidence.automatic:
            raise ValueError(f"a {self.kind} criterion is scored by an assessor: evidence is 'assessor' or 'document'")
        if not kind.manual and self.evidence is Evidence.assessor:
            raise ValueError(f"a {self.kind} criterion is measured from the records: evidence is 'automatic' or 'document'")
        try:
            kind.params.model_validate(self.params)  # wrong-typed or missing thresholds fail here
        except ValidationError as error:
            raise ValueError("; ".join(
                f"params{''.join('.' + str(part) for part in item['loc'])}: {item['msg'].removeprefix('Value error, ')}"
                + (f" (got {item['input']!r})" if item["type"].endswith("_type") else "")
                for item in error.errors())) from None
        return self

    # Computed once per criterion (criteria are frozen): the evaluation asks for these for every team.
    @cached_property
    def typed(self) -> Any:
        """The parameters as their kind's model."""
        return _typed(self.kind, self._items)

    @cached_property
    def manual(self) -> bool:
        return KINDS[self.kind].manual

    @cached_property
    def _items(self) -> tuple[tuple[str, Any], ...]:
        return tuple(sorted((k, _hashable(v)) for k, v in self.params.items()))

    def ladder(self) -> tuple[Any, ...]:
        """What this criterion measures, thresholds left out: criteria with the same ladder are one measure at several levels."""
        kind = KINDS[self.kind]
        names = {name for name, _ in kind.thresholds}
        if self.kind == "assessor_score":
            return (self.kind, self.params.get("topic") or self.id)
        return (self.kind, *sorted((k, _hashable(v)) for k, v in self.params.items() if k not in names))

    @cached_property
    def ladder_key(self) -> str:
        return _ladder_key(self.kind, self.id, self._items)

    def applies_to(self, level: int) -> bool:
        """Levels are cumulative: a level-3 criterion applies to levels 3, 2 and 1."""
        return level <= self.level


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@cache
def _ladder_key(kind: str, criterion_id: str, items: tuple[tuple[str, Any], ...]) -> str:
    names = {name for name, _ in KINDS[kind].thresholds}
    params = dict(items)
    if kind == "assessor_score":
        return f"{kind}|{params.get('topic') or criterion_id}"
    return "|".join([kind, *(f"{k}={v}" for k, v in items if k not in names)])


@cache
def _typed(kind: str, items: tuple[tuple[str, Any], ...]) -> Any:
    return KINDS[kind].params.model_validate({k: list(v) if isinstance(v, tuple) else v for k, v in items})


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    version: int = Field(ge=1, description="version of the file; the database numbers the versions it keeps")
    name_zh: str
    name_en: str
    validity_months: int = Field(default=36, ge=6, le=120, description="how long a grade stays valid")
    appeal_days: int = Field(default=30, ge=1, le=365, description="days after the decision within which the team may appeal")
    include: list[str] = Field(default_factory=list, description="common parts merged in (reference/<name>.yaml)")
    criteria: list[Criterion]

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)


class CommonPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    criteria: list[dict[str, Any]]


# --- reference data the rubrics name --------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    zh: str
    en: str
    unit_zh: str = ""  # measure word of an equipment type (艘, 台, 套…)
    category: str = ""  # the category of a kit template
    tracking: str = ""  # an equipment type's: item or stock
    categories: tuple[str, ...] = ()  # the team categories an equipment type serves


@dataclass
class References:
    categories: set[str]
    certificates: dict[str, Names]
    equipment: dict[str, Names]
    kits: dict[str, Names]
    sources: dict[str, dict[str, Any]] = field(default_factory=lambda: shipped_sources())


class RubricError(ValueError):
    """A rubric file (or an edit) that cannot be used; each problem names the file and the criterion."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _pydantic_problems(where: str, error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {loc + ': ' if loc else ''}{message}")
    return problems


def _criteria(file: str, raw: list[Any]) -> tuple[list[Criterion], list[str]]:
    criteria, problems = [], []
    for index, entry in enumerate(raw):
        name = entry.get("id", f"#{index + 1}") if isinstance(entry, dict) else f"#{index + 1}"
        try:
            criterion = Criterion.model_validate(entry)
        except ValidationError as error:
            problems += _pydantic_problems(f"{file}: criterion '{name}'", error)
            continue
        # The parameters' own messages say which threshold is wrong; name it with the criterion.
        criteria.append(criterion)
    return criteria, problems


def _check_references(file: str, rubric: Rubric, refs: References) -> list[str]:
    problems = []
    if rubric.category not in refs.categories:
        problems.append(f"{file}: category '{rubric.category}' is not a graded team category")
    for c in rubric.criteria:
        where = f"{file}: criterion '{c.id}'"
        p = c.typed
        if c.source not in refs.sources:
            problems.append(f"{where}: unknown source '{c.source}' (see reference/sources.yaml)")
        certificate = getattr(p, "certificate", None)
        if certificate and certificate != ANY_FIRST_AID and certificate not in refs.certificates:
            problems.append(f"{where}: unknown certificate type '{certificate}'")
        if c.kind == "equipment":
            if p.type not in refs.equipment:
                problems.append(f"{where}: unknown equipment type '{p.type}'")
            elif p.inspected_within_months and refs.equipment[p.type].tracking == "stock":
                problems.append(f"{where}: '{p.type}' is counted stock, not inspected item by item: drop inspected_within_months")
        if c.kind == "kit_ready":
            if p.template and p.template not in refs.kits:
                problems.append(f"{where}: unknown kit template '{p.template}'")
            if not p.template and not any(k.category == rubric.category for k in refs.kits.values()):
                problems.append(f"{where}: no kit template of category '{rubric.category}'; name one")
    return problems


def _stricter_or_equal(direction: str, higher: Any, lower: Any) -> bool:
    """Whether the higher level's threshold asks at least as much as the lower level's."""
    if direction == "min":
        return higher >= lower
    if higher is None:  # "max" without a limit asks nothing
        return lower is None
    return lower is None or higher <= lower


def _threshold_value(c: Criterion, name: str) -> Any:
    value = getattr(c.typed, name)
    if c.kind == "assessor_score" and name == "pass_score":
        return value / c.typed.max_score  # compare pass marks as shares when the maximum differs
    return value


def check_levels(file: str, criteria: list[Criterion]) -> list[str]:
    """Levels are cumulative: within a ladder a higher level never asks for less, and each level adds something."""
    problems = []
    ids = [c.id for c in criteria]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{file}: criterion '{duplicate}' appears twice")
    ladders: dict[tuple[Any, ...], list[Criterion]] = {}
    for c in criteria:
        ladders.setdefault(c.ladder(), []).append(c)
    for members in ladders.values():
        by_level: dict[int, Criterion] = {}
        for c in members:
            if c.level in by_level:
                problems.append(f"{file}: criteria '{by_level[c.level].id}' and '{c.id}' measure the same thing at level {c.level}; "
                                "keep one")
            by_level[c.level] = c
        steps = [by_level[level] for level in LEVELS if level in by_level]
        for lower, higher in zip(steps, steps[1:], strict=False):
            for name, direction in KINDS[lower.kind].thresholds:
                a, b = getattr(lower.typed, name), getattr(higher.typed, name)
                if not _stricter_or_equal(direction, _threshold_value(higher, name), _threshold_value(lower, name)):
                    problems.append(
                        f"{file}: criterion '{higher.id}' (level {higher.level}) asks {name} = {b}, less than criterion "
                        f"'{lower.id}' (level {lower.level}) with {a}: levels are cumulative (1 is the highest), so a higher "
                        "level cannot ask for less")
            if lower.hard and not higher.hard:
                problems.append(f"{file}: criterion '{higher.id}' (level {higher.level}) is soft while '{lower.id}' "
                                f"(level {lower.level}) is hard: a higher level cannot relax a hard requirement")
    for level in LEVELS:
        if not any(c.level == level and c.hard for c in criteria):
            problems.append(f"{file}: level {level} has no hard criterion of its own, so it would be the same as the level below; "
                            "levels are cumulative and each adds at least one hard criterion")
    return problems


def parse_rubric(file: str, data: Any, refs: References, common: dict[str, Any] | None = None) -> Rubric:
    """Validate one rubric (a file's content, or an edited body); raises RubricError listing every problem."""
    if not isinstance(data, dict):
        raise RubricError([f"{file}: a rubric file is a mapping (category, version, name_zh, name_en, criteria)"])
    raw = dict(data)
    raw_criteria = list(raw.pop("criteria", None) or [])
    problems: list[str] = []
    for part in raw.get("include") or []:
        if part not in (common or {}):
            problems.append(f"{file}: include '{part}': no such common part")
            continue
        raw_criteria = [*common[part]["criteria"], *raw_criteria]
    criteria, criterion_problems = _criteria(file, raw_criteria)
    problems += criterion_problems
    try:
        rubric = Rubric.model_validate({**raw, "criteria": []})
    except ValidationError as error:
        raise RubricError(problems + _pydantic_problems(file, error)) from None
    if criterion_problems:
        raise RubricError(problems)
    rubric = rubric.model_copy(update={"criteria": criteria})
    problems += _check_references(file, rubric, refs)
    problems += check_levels(file, criteria)
    if problems:
        raise RubricError(problems)
    return rubric


# --- the shipped files ---------------------------------------------------------------------------


def _reference_dir() -> Any:
    return resources.files("rescueops.grading").joinpath("reference")


@cache
def shipped_sources() -> dict[str, dict[str, Any]]:
    text = _reference_dir().joinpath("sources.yaml").read_text("utf-8")
    return {entry["id"]: entry for entry in yaml.safe_load(text)["sources"]}


def read_common(directory: Any = None) -> tuple[dict[str, Any], list[str]]:
    """The common parts (公共科目) by name, and the problems of those that cannot be read."""
    folder = directory or _reference_dir()
    parts, problems = {}, []
    path = folder.joinpath(f"{COMMON}.yaml")
    if path.is_file():
        try:
            parts[COMMON] = CommonPart.model_validate(yaml.safe_load(path.read_text("utf-8"))).model_dump()
        except (yaml.YAMLError, ValidationError) as error:
            problems.append(f"{COMMON}.yaml: {error}")
    return parts, problems


def rubric_files(directory: Any = None) -> list[tuple[str, str]]:
    """(file name, text) of each category rubric file, by name."""
    folder = directory or _reference_dir()
    skip = {f"{COMMON}.yaml", "sources.yaml"}
    return sorted((f.name, f.read_text("utf-8")) for f in folder.iterdir() if f.name.endswith(".yaml") and f.name not in skip)


def read_rubrics(refs: References, directory: Any = None) -> tuple[list[tuple[Rubric, str]], list[str]]:
    """Every valid rubric file as (rubric, file version tag), and one problem line per broken file (skipped, never fatal).

    The file version tag joins the category file's version and the common part's, so a change to either is a new version."""
    common, problems = read_common(directory)
    rubrics = []
    for name, text in rubric_files(directory):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            problems.append(f"{name}: not valid YAML ({error})")
            continue
        try:
            rubric = parse_rubric(name, data, refs, common)
        except RubricError as error:
            problems += error.problems
            continue
        if name != f"{rubric.category}.yaml":
            problems.append(f"{name}: the file of category '{rubric.category}' is named {rubric.category}.yaml")
            continue
        tags = [str(rubric.version), *(f"{part}{common[part]['version']}" for part in rubric.include)]
        rubrics.append((rubric, "+".join(tags)))
    return rubrics, problems
