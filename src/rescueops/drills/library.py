"""The scenario library: one YAML file per scenario under ``drills/``, validated by the ``Scenario`` model.

A scenario is data (title, type, objectives and the capabilities they exercise, participants, equipment,
injects, evaluation criteria). References (capabilities from ``reference/capabilities.yaml``, team categories,
equipment types) are checked against a ``References`` set: the shipped files when a file is checked, the current
catalogues when a stored version is read again. A broken file is reported with its problems and skipped; it never
stops the others from loading. A stored version whose references have since gone is still read (``read_stored``),
with the problems returned beside it, so pages keep working and show it as needing attention.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from rescueops.equipment.service import shipped_types
from rescueops.teams.service import shipped_categories

SLUG = r"^[a-z][a-z0-9_]{1,63}$"


class DrillType(str, Enum):
    training_course = "training_course"  # 培训课程
    tabletop = "tabletop"  # 桌面推演
    drill = "drill"  # 单项演练
    functional = "functional"  # 功能演练
    full_scale = "full_scale"  # 综合实战演练


@cache
def capabilities() -> dict[str, dict[str, str]]:
    text = resources.files("rescueops.drills").joinpath("reference/capabilities.yaml").read_text("utf-8")
    return {entry["code"]: entry for entry in yaml.safe_load(text)["capabilities"]}


@dataclass(frozen=True)
class References:
    """The codes a scenario may name."""

    capabilities: frozenset[str]
    categories: frozenset[str]
    equipment_types: frozenset[str]


@cache
def shipped_references() -> References:
    return References(capabilities=frozenset(capabilities()), categories=frozenset(c["code"] for c in shipped_categories()),
                      equipment_types=frozenset(t["code"] for t in shipped_types()))


def _references(info: ValidationInfo) -> References:
    return (info.context or {}).get("references") or shipped_references()


def _reference_problem(info: ValidationInfo, problem: str, where: str) -> None:
    """A file being checked is refused (the error's location says where); a stored version being read again keeps
    going and the problem is collected, saying where."""
    collected = (info.context or {}).get("reference_problems")
    if collected is None:
        raise ValueError(problem)
    collected.append(f"{where}: {problem}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class TimingRule(_Strict):
    """Scored from the logged events: ``count`` check-ins (or acknowledgements) within ``within_minutes`` of an inject."""

    after_inject: str
    measure: Literal["check_ins", "acknowledgements"] = "check_ins"
    count: int = Field(ge=1, le=500)
    within_minutes: int = Field(ge=1, le=1440)


class Objective(_Strict):
    id: str = Field(pattern=SLUG)
    capability: str
    title_zh: str = Field(min_length=2, max_length=200)
    title_en: str = Field(min_length=2, max_length=200)
    judged_by: str = Field(min_length=2, max_length=500, description="How the evaluators judge it")
    criteria: list[str] = Field(min_length=1, description="What the evaluators look for (evaluation criteria)")
    timing: TimingRule | None = None

    @model_validator(mode="after")
    def _known_capability(self, info: ValidationInfo) -> Objective:
        known = _references(info).capabilities
        if self.capability not in known:
            _reference_problem(info, f"unknown capability '{self.capability}' (known: {', '.join(sorted(known))})", f"objectives.{self.id}")
        return self


class ParticipantRole(_Strict):
    role: str = Field(pattern=SLUG)
    name_zh: str = Field(min_length=2, max_length=100)
    count: int = Field(ge=1, le=1000)


class EquipmentNeed(_Strict):
    """A type and how many: what a drill plans to bring (checked against the catalogue by the service, not here,
    so a stored plan still reads after a type has left the catalogue)."""

    type: str = Field(min_length=1, max_length=48)
    quantity: int = Field(ge=1, le=10000)


class EquipmentLine(EquipmentNeed):
    """A scenario's equipment line: the type must be a known equipment type."""

    @model_validator(mode="after")
    def _known_type(self, info: ValidationInfo) -> EquipmentLine:
        if self.type not in _references(info).equipment_types:
            _reference_problem(info, f"unknown equipment type '{self.type}'", "equipment")
        return self


class Inject(_Strict):
    id: str = Field(pattern=SLUG)
    offset_minutes: int = Field(ge=0, description="Minutes after the exercise clock starts")
    from_whom: str = Field(min_length=2, max_length=100, description="Who the message comes from, e.g. 旗应急管理局值班室")
    to_roles: list[str] = Field(min_length=1, description="Participant roles it is addressed to")
    message_zh: str = Field(min_length=2, max_length=2000)
    expected_actions: list[str] = Field(min_length=1)
    objective: str


class Scenario(_Strict):
    id: str = Field(pattern=SLUG)
    version: int = Field(ge=1)
    title_zh: str = Field(min_length=2, max_length=200)
    title_en: str = Field(min_length=2, max_length=200)
    type: DrillType
    categories: list[str] = Field(min_length=1)
    difficulty: Literal["basic", "intermediate", "advanced"]
    duration_minutes: int = Field(ge=15, le=4320)
    setting_zh: str = Field(min_length=10, description="The situation as the participants are told it")
    objectives: list[Objective] = Field(min_length=1)
    participants: list[ParticipantRole] = Field(min_length=1)
    equipment: list[EquipmentLine] = Field(default_factory=list)
    safety_notes: list[str] = Field(min_length=1)
    injects: list[Inject] = Field(default_factory=list)
    measures_mobilisation: bool = Field(default=False, description="Record the time from the call to assembly")

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Scenario:
        problems = []
        known_categories = _references(info).categories
        unknown = [f"categories: unknown category '{c}'" for c in self.categories if c not in known_categories]
        collected = (info.context or {}).get("reference_problems")
        if collected is None:  # a file: reported with the other problems of this file
            problems += unknown
        else:
            collected.extend(unknown)
        objective_ids, role_ids, inject_ids = [o.id for o in self.objectives], [p.role for p in self.participants], [i.id for i in self.injects]
        for kind, ids in (("objectives", objective_ids), ("participants", role_ids), ("injects", inject_ids)):
            problems += [f"{kind}: '{i}' appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
        if not self.injects and self.type is not DrillType.training_course:
            problems.append("injects: an exercise needs at least one inject (only a training course may have none)")
        for inject in self.injects:
            if inject.offset_minutes > self.duration_minutes:
                problems.append(f"injects.{inject.id}: offset {inject.offset_minutes} min is past the end of the drill "
                                f"({self.duration_minutes} min)")
            if inject.objective not in objective_ids:
                problems.append(f"injects.{inject.id}: unknown objective '{inject.objective}'")
            problems += [f"injects.{inject.id}: unknown participant role '{r}'" for r in inject.to_roles if r not in role_ids]
        for objective in self.objectives:
            if objective.timing and objective.timing.after_inject not in inject_ids:
                problems.append(f"objectives.{objective.id}.timing: unknown inject '{objective.timing.after_inject}'")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def objective(self, objective_id: str) -> Objective | None:
        return next((o for o in self.objectives if o.id == objective_id), None)

    def last_inject(self) -> Inject | None:
        return max(self.injects, key=lambda i: i.offset_minutes, default=None)


def read_stored(body: str, references: References) -> tuple[Scenario, list[str]]:
    """A stored version (JSON) read again against the current references: the scenario, and what it names that is
    no longer known. Raises ValueError only when the text itself no longer fits the model."""
    problems: list[str] = []
    try:
        scenario = Scenario.model_validate_json(body, context={"references": references, "reference_problems": problems})
    except ValidationError as error:
        raise ValueError(_problems(error)) from None
    return scenario, problems


@dataclass
class Library:
    scenarios: list[Scenario] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file name, what is wrong)


def library_dir() -> Path:
    # A source checkout keeps the library beside src/; an image may put it elsewhere.
    configured = os.environ.get("RESCUEOPS_DRILLS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "drills"


def _problems(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        text = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {text}" if where else text)
    return "; ".join(parts)


def parse_scenario(text: str, file_name: str) -> Scenario:
    """One scenario file; raises ValueError naming what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ValueError("a scenario file holds one mapping (id, version, title_zh, …)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ValueError(_problems(error)) from None
    if Path(file_name).stem != scenario.id:
        raise ValueError(f"the file of scenario '{scenario.id}' must be named {scenario.id}.yaml")
    return scenario


@lru_cache(maxsize=256)
def _parse_file(path: str, mtime_ns: int, size: int) -> Scenario:
    """Parsed once per version of a file on disk (the library is read at every reference load)."""
    return parse_scenario(Path(path).read_text("utf-8"), Path(path).name)


def read_library(directory: Path | None = None) -> Library:
    """Every ``*.yaml`` under the directory: the valid scenarios, and each broken file with its problems."""
    directory = directory or library_dir()
    library = Library()
    if not directory.is_dir():
        library.problems.append((str(directory), "the scenario library folder does not exist"))
        return library
    for path in sorted(directory.glob("*.yaml")):  # file name = scenario id, so ids are unique
        try:
            stat = path.stat()
            library.scenarios.append(_parse_file(str(path), stat.st_mtime_ns, stat.st_size))
        except (ValueError, UnicodeDecodeError) as error:
            library.problems.append((path.name, str(error)))
    return library
