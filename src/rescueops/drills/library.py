"""The scenario library: one YAML file per scenario under ``drills/``, validated by the ``Scenario`` model.

A scenario is data (title, type, objectives and the capabilities they exercise, participants, equipment,
injects, evaluation criteria). References are checked against the shipped reference data: capabilities
(``reference/capabilities.yaml``), team categories and equipment types. A broken file is reported with
its problems and skipped; it never stops the others from loading.
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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    def _known_capability(self) -> Objective:
        if self.capability not in capabilities():
            raise ValueError(f"unknown capability '{self.capability}' (known: {', '.join(sorted(capabilities()))})")
        return self


class ParticipantRole(_Strict):
    role: str = Field(pattern=SLUG)
    name_zh: str = Field(min_length=2, max_length=100)
    count: int = Field(ge=1, le=1000)


class EquipmentLine(_Strict):
    type: str
    quantity: int = Field(ge=1, le=10000)

    @model_validator(mode="after")
    def _known_type(self) -> EquipmentLine:
        if self.type not in {t["code"] for t in shipped_types()}:
            raise ValueError(f"unknown equipment type '{self.type}'")
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
    def _consistent(self) -> Scenario:
        problems = []
        known_categories = {c["code"] for c in shipped_categories()}
        problems += [f"categories: unknown category '{c}'" for c in self.categories if c not in known_categories]
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
