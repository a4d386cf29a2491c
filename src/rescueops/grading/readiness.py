"""Readiness of a team in one category: people, kits, equipment, drills and the grade, as one score and a state.

Pure functions over the facts the evaluation already gathered; the service stores the result (``grading_readiness``)
so the dashboard never evaluates on a page view.

The score (0–100) weighs: people available (active, valid first-aid certificate, not on a deployment) against the
smallest team the rubric asks for, 35; ready kits of the category, 15; equipment of the category in service, 20; the
last drill (within 6 months full, within 12 half), 15; a grade in force (expiring within 90 days half), 15.
Ready from 75, partial from 45, not ready below.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from rescueops.calendar import add_months
from rescueops.grading.evaluation import TeamFacts
from rescueops.grading.rubric import References, Rubric
from rescueops.grading.schemas import EvaluationOut

EXPIRING_WITHIN = timedelta(days=90)
READY, PARTIAL = 75, 45
WEIGHTS = {"people": 35, "kits": 15, "equipment": 20, "drill": 15, "grade": 15}


def people_needed(rubric: Rubric) -> int:
    """The smallest team the rubric asks for (its lowest min_members step), at least one person."""
    floors = [c.typed.min for c in rubric.criteria if c.kind == "min_members" and c.hard]
    return max(1, min(floors)) if floors else 1


def grade_in_force(grade: dict[str, Any] | None, on: date) -> bool:
    return bool(grade and grade["status"] == "active" and (grade["valid_until"] is None or grade["valid_until"] >= on))


def state_of(score: int) -> str:
    return "ready" if score >= READY else "partial" if score >= PARTIAL else "not_ready"


def compute(facts: TeamFacts, evaluation: EvaluationOut, rubric: Rubric, refs: References, deployed: set[int], on: date) -> dict[str, Any]:
    """The readiness row of one team in the rubric's category (columns of grading_readiness, team fields aside)."""
    category = rubric.category
    available = [m for m in facts.members if m["status"] == "active" and m["first_aid"] and m["person"] not in deployed]
    kits = [k for k in facts.kits if k["category"] == category]
    serving = {code for code, names in refs.equipment.items() if category in names.categories}
    items = [i for i in facts.items if i["type"] in serving and i["kit_template"] is None]
    in_service = [i for i in items if i["usable"]]
    last_drill = max((d["starts_on"] for d in facts.drills if d["starts_on"] <= on), default=None)
    grade = facts.grades.get(category)
    in_force = grade_in_force(grade, on)
    wants_kits = any(c.kind == "kit_ready" for c in rubric.criteria)
    parts = {
        "people": min(1.0, len(available) / people_needed(rubric)),
        "kits": len([k for k in kits if k["ready"]]) / len(kits) if kits else (0.0 if wants_kits else 1.0),
        "equipment": len(in_service) / len(items) if items else 0.0,
        "drill": 1.0 if last_drill and last_drill > add_months(on, -6) else 0.5 if last_drill else 0.0,
        "grade": (0.5 if grade["valid_until"] and grade["valid_until"] <= on + EXPIRING_WITHIN else 1.0) if in_force else 0.0,
    }
    score = round(sum(WEIGHTS[name] * value for name, value in parts.items()))
    return {
        "category": category,
        "computed_on": on,
        "rubric_version": evaluation.rubric_version,
        "eligible_level": evaluation.eligible_level,
        "granted_level": grade["level"] if grade else None,
        "grade_status": (grade["status"] if in_force or not grade or grade["status"] != "active" else "expired") if grade else "",
        "grade_valid_until": grade["valid_until"] if grade else None,
        "members_active": len([m for m in facts.members if m["status"] == "active"]),
        "people_available": len(available),
        "kits_ready": len([k for k in kits if k["ready"]]),
        "kits_total": len(kits),
        "equipment_in_service": len(in_service),
        "equipment_total": len(items),
        "last_drill_on": last_drill,
        "score": score,
        "state": state_of(score),
        "gap": json.dumps([g.model_dump() for g in evaluation.gap], ensure_ascii=False),
    }


def below_grade(row: dict[str, Any]) -> bool:
    """The records no longer support the level granted (in force)."""
    if row["granted_level"] is None or row["grade_status"] != "active":
        return False
    return row["eligible_level"] is None or row["eligible_level"] > row["granted_level"]


def expiring(row: dict[str, Any], on: date) -> bool:
    return (row["grade_status"] == "active" and row["grade_valid_until"] is not None
            and on <= row["grade_valid_until"] <= on + EXPIRING_WITHIN)
