"""Grading (分级测评): rubric versions, evaluation from live records (per team and in bulk), the assessment workflow,
grades (grant, suspend, reinstate, cancel, expire) and the precomputed readiness the dashboard reads."""

from __future__ import annotations

import gc
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count, Max, Sum

from rescueops import crypto, uploads
from rescueops.accounts import service as accounts
from rescueops.accounts.access import Principal, authorize, can, can_anywhere, scopes_for
from rescueops.accounts.tables import Role
from rescueops.calendar import CHINA, add_months, china_today, in_china, utc_now
from rescueops.db import write_transaction
from rescueops.db.engine import database
from rescueops.db.pagination import PageParams
from rescueops.db.paths import under, within
from rescueops.deployments import service as deployments
from rescueops.drills import service as drills
from rescueops.equipment import service as equipment
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.events import service as events
from rescueops.events.bus import handles
from rescueops.grading import evaluation as ev
from rescueops.grading import export
from rescueops.grading import readiness as rd
from rescueops.grading.rubric import (
    KINDS,
    Names,
    References,
    Rubric,
    RubricError,
    parse_rubric,
    read_rubrics,
    shipped_sources,
)
from rescueops.grading.schemas import (
    AppealDecisionIn,
    AppealIn,
    AssessmentEvent,
    AssessmentOpen,
    AssessmentOut,
    AssessmentSummary,
    ConfirmationIn,
    CriterionOut,
    DashboardOut,
    DecisionIn,
    DocumentOut,
    EvaluationOut,
    GapItem,
    GradeChangeOut,
    GradeInfo,
    LevelCount,
    ReadinessOut,
    ReasonIn,
    RubricEdit,
    RubricEdited,
    RubricOut,
    RubricSummary,
    ScoreIn,
    ScoreOut,
    SeatScore,
    SourceOut,
    StepOut,
    TeamCategoryGrading,
    TeamGrading,
)
from rescueops.grading.tables import (
    IN_PROGRESS,
    Assessment,
    AssessmentStatus,
    Document,
    GradeAction,
    GradeChange,
    Readiness,
    RubricVersion,
    Score,
    Step,
)
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind
from rescueops.settings import get_settings
from rescueops.teams import service as teams
from rescueops.teams.schemas import TeamGraded
from rescueops.teams.tables import GradeStatus

SYSTEM = "系统 system"
OVERRIDE_MIN = 10  # characters an override reason needs: a sentence, not a tick
READINESS_CHUNK = 1000  # teams the readiness refresh gathers and evaluates at a time: its memory stays that of a chunk
CONFIRMERS = {Role.region_coordinator}  # who is told of a level-1 decision or an appeal


def _name(principal: Principal | None) -> str:
    return principal.display_name if principal else SYSTEM


# --- reference data -------------------------------------------------------------------------------


async def references() -> References:
    """The names a rubric refers to, from the loaded reference data (four queries)."""
    categories = {c.code for c in await teams.list_categories() if c.graded}
    certificates = {c.code: Names(c.name_zh, c.name_en) for c in await members.certificate_types()}
    kinds = {t.code: Names(t.name_zh, t.name_en, unit_zh=t.unit_zh, tracking=t.tracking.value, categories=tuple(t.categories))
             for t in await equipment.list_types()}
    kits = {k.code: Names(k.name_zh, k.name_en, category=k.category) for k in await equipment.list_kit_templates()}
    return References(categories=categories, certificates=certificates, equipment=kinds, kits=kits)


@lru_cache(maxsize=256)
def _parse(body: str) -> Rubric:
    """A stored rubric body as a Rubric; versions never change, so each body is validated once per process."""
    return Rubric.model_validate(json.loads(body))


def _stored(row: dict[str, Any]) -> Rubric:
    return _parse(row["body"])


async def load_rubrics(directory: Path | None = None) -> list[str]:
    """Copy each shipped rubric file whose version tag is new for its category into a new rubric version (never
    overwriting one: assessments keep theirs). Broken files are reported and skipped. Returns report lines."""
    rubrics, problems = read_rubrics(await references(), directory)
    added = []
    async with write_transaction():
        for rubric, tag in rubrics:
            if await RubricVersion.exists().where((RubricVersion.category == rubric.category) & (RubricVersion.file_version == tag)):
                continue
            latest = await RubricVersion.select(RubricVersion.version).where(RubricVersion.category == rubric.category).order_by(
                RubricVersion.version, ascending=False).first()
            version = (latest["version"] + 1) if latest else 1
            body = rubric.model_dump(mode="json", exclude={"include"})
            await RubricVersion.insert(RubricVersion(category=rubric.category, version=version, file_version=tag,
                                                     body=json.dumps(body, ensure_ascii=False), reason="reference file",
                                                     created_by_name="reference file", created_at=utc_now()))
            added.append(f"{rubric.category} v{version}")
    lines = [f"grading rubrics: {len(added)} versions added" + (f" ({', '.join(added)})" if added else "")]
    return lines + [f"grading rubric skipped: {problem}" for problem in problems]


async def _rubric_row(category: str, version: int | None = None) -> dict[str, Any]:
    query = RubricVersion.select().where(RubricVersion.category == category)
    query = query.where(RubricVersion.version == version) if version else query.order_by(RubricVersion.version, ascending=False)
    row = await query.first()
    if row is None:
        raise NotFound(f"No rubric for category '{category}'" + (f" version {version}." if version else "."))
    return row


async def current_rubrics() -> dict[str, tuple[Rubric, int]]:
    """Each category's latest rubric and its version (one query)."""
    found: dict[str, tuple[Rubric, int]] = {}
    for row in await RubricVersion.select().order_by(RubricVersion.version, ascending=False):
        if row["category"] not in found:
            found[row["category"]] = (_stored(row), row["version"])
    return found


def _rubric_out(row: dict[str, Any]) -> RubricOut:
    rubric = _stored(row)
    sources = shipped_sources()
    used = list(dict.fromkeys(c.source for c in rubric.criteria))
    criteria = [CriterionOut(id=c.id, kind=c.kind, title_zh=c.title_zh, title_en=c.title_en, level=c.level, hard=c.hard,
                             evidence=c.evidence.value, params=c.params, thresholds=[n for n, _ in KINDS[c.kind].thresholds],
                             source=c.source, verified=c.verified, note=c.note) for c in rubric.criteria]
    return RubricOut(
        category=rubric.category, version=row["version"], name_zh=rubric.name_zh, name_en=rubric.name_en,
        created_by_name=row["created_by_name"], created_at=row["created_at"], reason=row["reason"], file_version=row["file_version"],
        validity_months=rubric.validity_months, appeal_days=rubric.appeal_days, criteria=criteria,
        sources=[SourceOut(id=s, title_zh=sources[s]["title_zh"], title_en=sources[s]["title_en"], says=sources[s]["says"])
                 for s in used if s in sources],
        verified_share=round(sum(c.verified for c in rubric.criteria) / len(rubric.criteria), 3) if rubric.criteria else 0.0)


async def get_rubric(category: str, version: int | None = None) -> RubricOut:
    return _rubric_out(await _rubric_row(category, version))


async def list_rubrics() -> list[RubricSummary]:
    """The latest version of every category's rubric."""
    seen, out = set(), []
    for row in await RubricVersion.select().order_by(RubricVersion.category).order_by(RubricVersion.version, ascending=False):
        if row["category"] not in seen:
            seen.add(row["category"])
            rubric = _stored(row)
            out.append(RubricSummary(category=row["category"], version=row["version"], name_zh=rubric.name_zh, name_en=rubric.name_en,
                                     created_by_name=row["created_by_name"], created_at=row["created_at"], reason=row["reason"],
                                     file_version=row["file_version"]))
    return out


async def rubric_versions(category: str) -> list[RubricSummary]:
    rows = await RubricVersion.select().where(RubricVersion.category == category).order_by(RubricVersion.version, ascending=False)
    if not rows:
        raise NotFound(f"No rubric for category '{category}'.")
    return [RubricSummary(category=category, version=r["version"], name_zh=_stored(r).name_zh, name_en=_stored(r).name_en,
                          created_by_name=r["created_by_name"], created_at=r["created_at"], reason=r["reason"],
                          file_version=r["file_version"]) for r in rows]


async def _region_path() -> str:
    """The autonomous region's path: rubrics are the region's, so their events are about the whole region."""
    units, _ = await orgs.list_units(PageParams(limit=1), kind=OrgKind.region)
    return units[0].path if units else "/"


async def edit_rubric(principal: Principal, category: str, edit: RubricEdit) -> RubricOut:
    """Change thresholds (only those) of the latest version: a new version, with who and why. Edited criteria are no longer
    the sourced figures, so they lose ``verified``. The whole rubric is validated again (cumulative levels)."""
    if not can_anywhere(principal, "grading.rubrics"):
        raise PermissionDenied("Your roles do not allow editing grading rubrics.", code="forbidden")
    row = await _rubric_row(category)
    body = json.loads(row["body"])
    by_id = {c["id"]: c for c in body["criteria"]}
    version = row["version"] + 1
    problems, edited = [], []
    for change in edit.changes:
        criterion = by_id.get(change.criterion_id)
        if criterion is None:
            problems.append(f"criterion '{change.criterion_id}': not in the {category} rubric")
            continue
        allowed = [name for name, _ in KINDS[criterion["kind"]].thresholds]
        extra = sorted(set(change.params) - set(allowed))
        if extra:
            problems.append(f"criterion '{change.criterion_id}': {', '.join(extra)} is not a threshold"
                            f" (thresholds: {', '.join(allowed) or 'none'})")
            continue
        changed = {k: v for k, v in change.params.items() if criterion["params"].get(k) != v}
        if changed:
            # An edited figure is no longer the one its source gives.
            criterion.update(params={**criterion["params"], **changed}, verified=False,
                             note=f"v{version} {principal.display_name}: {edit.reason}"[:500])
            edited.append(criterion["id"])
    if problems:
        raise InvalidInput("; ".join(problems), code="bad_rubric_edit")
    periods = {key: getattr(edit, key) for key in ("validity_months", "appeal_days")
               if getattr(edit, key) is not None and getattr(edit, key) != body.get(key)}
    if not edited and not periods:
        raise InvalidInput("Nothing changes: the values given are the current ones.", code="rubric_unchanged")
    body.update(periods)
    try:
        rubric = parse_rubric(f"{category} v{version}", body, await references())
    except RubricError as error:
        raise InvalidInput(str(error), code="bad_rubric_edit", details=[{"message": p} for p in error.problems]) from None
    region = await _region_path()
    async with write_transaction():
        if await RubricVersion.exists().where((RubricVersion.category == category) & (RubricVersion.version == version)):
            raise Conflict(f"Someone saved version {version} of the {category} rubric a moment ago; reload it and edit again.",
                           code="rubric_changed")
        await RubricVersion.insert(RubricVersion(
            category=category, version=version, file_version="", body=json.dumps(rubric.model_dump(mode="json", exclude={"include"}),
                                                                                  ensure_ascii=False),
            reason=edit.reason, created_by=principal.user_id, created_by_name=principal.display_name, created_at=utc_now()))
        await accounts.record_audit(principal, "grading.rubric.edit", "rubric", f"{category}:{version}", region,
                                    {**edit.model_dump(mode="json"), "previous_version": row["version"]})
        await events.emit(principal, "grading.rubric_edited", RubricEdited(
            category=category, rubric_version=version, previous_version=row["version"], criteria=edited, reason=edit.reason),
            org_path=region, aggregate_id=f"rubric:{category}")
    return await get_rubric(category, version)


# --- gathering the records and evaluating ---------------------------------------------------------


def _window(on: date) -> tuple[datetime, datetime]:
    """The drills that count on ``on``: those started in the 12 months up to the end of that day (China time)."""
    return (datetime.combine(add_months(on, -12), time(0), tzinfo=CHINA), datetime.combine(on + timedelta(days=1), time(0), tzinfo=CHINA))


async def gather(rows: list[dict[str, Any]], on: date) -> dict[int, ev.TeamFacts]:
    """The facts of many teams at once: a fixed number of queries whatever their number (set-based, no per-team loop)."""
    ids = [row["id"] for row in rows]
    people = await members.grading_facts(ids, on)
    kit = await equipment.grading_facts(ids, on)
    since, until = _window(on)
    drilled = await drills.grading_facts(ids, since, until)
    facts = {}
    for row in rows:
        held = kit.get(row["id"], {"items": [], "stock": {}, "kits": []})
        facts[row["id"]] = ev.TeamFacts(
            id=row["id"], code=row["code"], name_zh=row["name_zh"], path=row["path"], status=row["status"],
            registration_kind=row["registration_kind"], registration_number=row["registration_number"], filing_date=row["filing_date"],
            founded_on=row["founded_on"], self_sufficiency_hours=row["self_sufficiency_hours"],
            party_organisation=row["party_organisation"] or "", categories=row["categories"], grades=row["grades"],
            members=people.get(row["id"], []), items=held["items"], stock=held["stock"], kits=held["kits"], drills=drilled.get(row["id"], []))
    return facts


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is gathered and evaluated. The batch builds only acyclic objects
    (rows, facts, evaluations), so the collector would find nothing to free, yet its passes over the growing heap took
    a third to a half of the country's time (bench/results/grading-profile.txt). Other tasks of the process go on
    meanwhile; reference cycles they make wait for the collector until the batch ends (seconds). What the batch keeps,
    the collector examines afterwards like any new objects."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def _evaluated(rows: list[dict[str, Any]], on: date, rubrics: dict[str, tuple[Rubric, int]], refs: References,
                     category: str | None = None) -> list[tuple[dict[str, Any], ev.TeamFacts, Rubric, EvaluationOut]]:
    """Each team of ``rows`` evaluated in each graded category it covers (or only ``category``), with its facts and the
    rubric: the facts in one batch of set-based queries. Call it with the collector paused."""
    facts = await gather(rows, on)
    return [(row, facts[row["id"]], rubrics[code][0], ev.evaluate(*rubrics[code], facts[row["id"]], refs, on))
            for row in rows for code in row["categories"] if code in rubrics and category in (None, code)]


async def evaluate_teams(*, paths: list[str] | None = None, codes: list[str] | None = None, category: str | None = None,
                         on: date | None = None, rubrics: dict[str, tuple[Rubric, int]] | None = None,
                         refs: References | None = None) -> list[EvaluationOut]:
    """Evaluate, on the records, every team under ``paths`` (None: all) or with ``codes``, in each graded category it
    covers (or only ``category``): one batch of set-based queries, whatever the number of teams. ``rubrics`` and
    ``refs`` may be passed by a caller evaluating many times over."""
    on = on or china_today()
    rubrics = rubrics or await current_rubrics()
    refs = refs or await references()
    rows = await teams.grading_teams(paths=paths, codes=codes)
    with _collector_paused():
        return [evaluation for *_, evaluation in await _evaluated(rows, on, rubrics, refs, category)]


def _graded_category(team: dict[str, Any], category: str, rubrics: dict[str, Any]) -> None:
    if category not in rubrics:
        raise field_error("category", f"'{category}' is not a graded category with a rubric")
    if category not in team["categories"]:
        raise field_error("category", f"team {team['code']} does not cover '{category}' (its categories: {', '.join(team['categories'])})")


async def _team(code: str) -> dict[str, Any]:
    rows = await teams.grading_teams(codes=[code])
    if not rows:
        raise NotFound(f"No team with code '{code}' (or it has exited).")
    return rows[0]


async def evaluate_team(principal: Principal | None, code: str, category: str, on: date | None = None) -> EvaluationOut:
    """One team in one category, on the records (the same code path as the batch)."""
    team = await _team(code)
    if principal is not None:
        authorize(principal, "grading.view", team["path"], hide=True)
    _graded_category(team, category, await current_rubrics())
    return (await evaluate_teams(codes=[code], category=category, on=on))[0]


def _change_out(row: dict[str, Any]) -> GradeChangeOut:
    return GradeChangeOut(category=row["category"], action=row["action"], level=row["level"], valid_until=row["valid_until"],
                          reason=row["reason"], assessment_id=row["assessment"], by_name=row["by_name"], at=row["at"])


async def team_grading(principal: Principal, code: str, on: date | None = None) -> TeamGrading:
    """The team's grading page: its grade, its evaluation on the records and the gap, per graded category it covers."""
    team = await _team(code)
    authorize(principal, "grading.view", team["path"], hide=True)
    evaluations = {e.category: e for e in await evaluate_teams(codes=[code], on=on)}
    names = {c.code: c for c in await teams.list_categories()}
    in_progress = {r["category"]: r["id"] for r in await Assessment.select(Assessment.id, Assessment.category).where(
        (Assessment.team == team["id"]) & Assessment.status.is_in([s.value for s in IN_PROGRESS]))}
    history = await GradeChange.select().where(GradeChange.team == team["id"]).order_by(GradeChange.id, ascending=False)
    categories = []
    for category, evaluation in evaluations.items():
        grade = team["grades"].get(category)
        categories.append(TeamCategoryGrading(
            category=category, name_zh=names[category].name_zh, name_en=names[category].name_en,
            grade=GradeInfo(category=category, **grade) if grade else None, evaluation=evaluation,
            assessment_in_progress=in_progress.get(category),
            history=[_change_out(h) for h in history if h["category"] == category]))
    return TeamGrading(team_code=team["code"], team_name=team["name_zh"], team_path=team["path"], categories=categories)


# --- assessments ---------------------------------------------------------------------------------

_ASSESSMENT_COLUMNS = (
    Assessment.all_columns(),
    Assessment.team.code.as_alias("team_code"),
    Assessment.team.name_zh.as_alias("team_name"),
    Assessment.rubric.version.as_alias("rubric_version"),
    Assessment.rubric.body.as_alias("rubric_body"),
)


def _appeal_deadline(row: dict[str, Any], rubric: Rubric) -> date | None:
    return in_china(row["final_at"]).date() + timedelta(days=rubric.appeal_days) if row["final_at"] else None


async def _manual_inputs(ids: list[int]) -> tuple[dict[int, dict[str, dict[str, Any]]], dict[int, dict[str, list[dict[str, Any]]]]]:
    """Scores and documents of many assessments, by assessment and criterion (two queries)."""
    scores: dict[int, dict[str, dict[str, Any]]] = {}
    documents: dict[int, dict[str, list[dict[str, Any]]]] = {}
    if not ids:
        return scores, documents
    for row in await Score.select().where(Score.assessment.is_in(ids)):
        scores.setdefault(row["assessment"], {})[row["criterion_id"]] = row
    for row in await Document.select().where(Document.assessment.is_in(ids)).order_by(Document.id):
        documents.setdefault(row["assessment"], {}).setdefault(row["criterion_id"], []).append(row)
    return scores, documents


def _current_evaluation(row: dict[str, Any], scores: dict[str, Any], documents: dict[str, Any]) -> tuple[EvaluationOut, Rubric]:
    rubric = _parse(row["rubric_body"])
    snapshot = EvaluationOut.model_validate_json(row["snapshot"])
    return ev.with_scores(snapshot, rubric, scores, documents), rubric


def _summary(row: dict[str, Any], evaluation: EvaluationOut, rubric: Rubric) -> dict[str, Any]:
    return {
        "id": row["id"], "team_code": row["team_code"], "team_name": row["team_name"], "category": row["category"],
        "rubric_version": row["rubric_version"], "status": row["status"], "applied": row["applied"],
        "requested_level": row["requested_level"], "opened_by_name": row["opened_by_name"], "opened_at": row["opened_at"],
        "snapshot_on": row["snapshot_on"], "eligible_level": evaluation.eligible_level, "decided_level": row["decided_level"],
        "granted_on": row["granted_on"], "valid_until": row["valid_until"], "appeal_deadline": _appeal_deadline(row, rubric),
    }


async def _assessment_row(principal: Principal | None, assessment_id: int, action: str = "grading.view") -> dict[str, Any]:
    row = await Assessment.select(*_ASSESSMENT_COLUMNS).where(Assessment.id == assessment_id).first()
    if row is None or (principal is not None and not can(principal, "grading.view", row["team_path"])):
        raise NotFound(f"No assessment #{assessment_id}, or it is outside your scope.")
    if principal is not None:
        authorize(principal, action, row["team_path"])
    return row


async def get_assessment(principal: Principal | None, assessment_id: int) -> AssessmentOut:
    row = await _assessment_row(principal, assessment_id)
    scores, documents = await _manual_inputs([assessment_id])
    evaluation, rubric = _current_evaluation(row, scores.get(assessment_id, {}), documents.get(assessment_id, {}))
    steps = await Step.select().where(Step.assessment == assessment_id).order_by(Step.id)
    return AssessmentOut(
        **_summary(row, evaluation, rubric), team_path=row["team_path"], note=row["note"], evaluation=evaluation,
        scores=[ScoreOut.model_validate(s) for s in scores.get(assessment_id, {}).values()],
        documents=[DocumentOut(**{k: d[k] for k in ("id", "criterion_id", "title", "content_type", "size", "uploaded_by_name",
                                                    "uploaded_at")}) for ds in documents.get(assessment_id, {}).values() for d in ds],
        steps=[StepOut(step=s["step"], note=s["note"], by_name=s["by_name"], at=s["at"]) for s in steps],
        **{k: row[k] for k in ("decision_reason", "override_reason", "decided_by_name", "decided_at", "confirmed_by_name", "confirmed_at",
                               "confirmation_note", "appeal_reason", "appealed_by_name", "appealed_at", "appeal_outcome",
                               "appeal_decided_by_name", "appeal_note", "withdrawn_reason")})


async def list_assessments(principal: Principal, *, status: list[AssessmentStatus] | None = None, team: str | None = None,
                           under_code: str | None = None, limit: int = 200) -> list[AssessmentSummary]:
    """Assessments of teams within the caller's scopes, newest first (a fixed number of queries)."""
    scopes = scopes_for(principal, "grading.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing assessments.")
    query = Assessment.select(*_ASSESSMENT_COLUMNS).order_by(Assessment.id, ascending=False).limit(limit)
    scoped = within(Assessment.team_path, scopes)
    if scoped is not None:
        query = query.where(scoped)
    if status:
        query = query.where(Assessment.status.is_in([s.value for s in status]))
    if team:
        query = query.where(Assessment.team.code == team)
    if under_code:
        query = query.where(under(Assessment.team_path, (await orgs.get_unit(under_code)).path))
    rows = await query
    scores, documents = await _manual_inputs([r["id"] for r in rows])
    out = []
    for row in rows:
        evaluation, rubric = _current_evaluation(row, scores.get(row["id"], {}), documents.get(row["id"], {}))
        out.append(AssessmentSummary(**_summary(row, evaluation, rubric)))
    return out


async def _step(principal: Principal | None, assessment_id: int, step: str, note: str = "") -> None:
    await Step.insert(Step(assessment=assessment_id, step=step, note=note, by_user=principal.user_id if principal else None,
                           by_name=_name(principal), at=utc_now()))


async def _record(principal: Principal | None, row: dict[str, Any], step: str, event: str, status: AssessmentStatus, *,
                  note: str = "", level: int | None = None, eligible: int | None = None, changes: dict[str, Any] | None = None) -> None:
    """One workflow step: the step row, the audit entry and the grading.* event, in the caller's transaction."""
    await _step(principal, row["id"], step, note)
    await accounts.record_audit(principal, f"grading.assessment.{step}", "assessment", str(row["id"]), row["team_path"],
                                {"team": row["team_code"], "category": row["category"], "note": note, **(changes or {})})
    await events.emit(principal, f"grading.{event}", AssessmentEvent(
        assessment_id=row["id"], team_code=row["team_code"], category=row["category"], rubric_version=row["rubric_version"],
        status=status, eligible_level=eligible, level=level, reason=note), org_path=row["team_path"], aggregate_id=row["team_code"])


async def _tell_region(row: dict[str, Any], title: str, body: str, key: str) -> None:
    users = await accounts.users_holding(CONFIRMERS, unit_ids=await orgs.unit_ids_on_path(row["team_path"]))
    await events.notify(users, kind="grading.confirmation", title=title, body=body, link=f"/grading/assessments/{row['id']}",
                        key=key, org_path=row["team_path"])


async def open_assessment(principal: Principal, data: AssessmentOpen) -> AssessmentOut:
    """A supervisor opens an assessment, or the team applies for one: the evaluation on the records is snapshotted as the
    evidence, with the current rubric version (which the assessment keeps). One in progress per team and category."""
    team = await _team(data.team_code)
    authorize(principal, "grading.view", team["path"], hide=True)
    supervisor = can(principal, "grading.assess", team["path"])
    if not supervisor:
        authorize(principal, "grading.apply", team["path"])
    rubrics = await current_rubrics()
    _graded_category(team, data.category, rubrics)
    if team["status"] != "active":
        raise Conflict(f"Team {team['code']} is {team['status']}: only an active team is assessed.", code="team_not_active")
    row = await _rubric_row(data.category)
    snapshot = (await evaluate_teams(codes=[team["code"]], category=data.category))[0]
    now = utc_now()
    async with write_transaction():
        if await Assessment.exists().where((Assessment.team == team["id"]) & (Assessment.category == data.category)
                                           & Assessment.status.is_in([s.value for s in IN_PROGRESS])):
            raise Conflict(f"An assessment of team {team['code']} in '{data.category}' is already in progress: finish or withdraw "
                           "it first.", code="assessment_in_progress")
        created = await Assessment.insert(Assessment(
            team=team["id"], team_path=team["path"], category=data.category, rubric=row["id"], status=AssessmentStatus.open.value,
            applied=not supervisor, requested_level=data.requested_level, note=data.note, opened_by=principal.user_id,
            opened_by_name=principal.display_name, opened_at=now, snapshot=snapshot.model_dump_json(), snapshot_on=snapshot.on,
            snapshot_at=now)).returning(Assessment.id)
        record = {"id": created[0]["id"], "team_path": team["path"], "team_code": team["code"], "category": data.category,
                  "rubric_version": row["version"]}
        await _record(principal, record, "applied" if not supervisor else "opened", "assessment_opened", AssessmentStatus.open,
                      note=data.note, eligible=snapshot.eligible_level, level=data.requested_level,
                      changes={"rubric_version": row["version"], "eligible_on_records": snapshot.eligible_level})
    return await get_assessment(principal, created[0]["id"])


def _require(row: dict[str, Any], *statuses: AssessmentStatus) -> None:
    if row["status"] not in {s.value for s in statuses}:
        raise Conflict(f"Assessment #{row['id']} is {row['status']}; this step needs it "
                       f"{' or '.join(s.value for s in statuses)}.", code="invalid_transition")


async def _move(row: dict[str, Any], expected: AssessmentStatus, values: dict[Any, Any]) -> None:
    """Change the assessment only if it is still in ``expected``: of two racing steps exactly one wins."""
    won = await Assessment.update(values).where((Assessment.id == row["id"]) & (Assessment.status == expected.value)).returning(Assessment.id)
    if not won:
        raise Conflict(f"Assessment #{row['id']} changed a moment ago; reload it.", code="invalid_transition")


async def refresh_evidence(principal: Principal, assessment_id: int) -> AssessmentOut:
    """Snapshot the records again (the team has filled gaps since the assessment opened)."""
    row = await _assessment_row(principal, assessment_id, "grading.assess")
    _require(row, AssessmentStatus.open)
    rubric = _parse(row["rubric_body"])
    team = await _team(row["team_code"])
    facts = (await gather([team], china_today()))[team["id"]]
    snapshot = ev.evaluate(rubric, row["rubric_version"], facts, await references(), china_today())
    async with write_transaction():
        await _move(row, AssessmentStatus.open, {Assessment.snapshot: snapshot.model_dump_json(), Assessment.snapshot_on: snapshot.on,
                                                Assessment.snapshot_at: utc_now()})
        await _step(principal, assessment_id, "evidence", f"eligible on the records: {snapshot.eligible_level or '—'}")
        await accounts.record_audit(principal, "grading.assessment.evidence", "assessment", str(assessment_id), row["team_path"],
                                    {"eligible_on_records": snapshot.eligible_level})
    return await get_assessment(principal, assessment_id)


async def score(principal: Principal, assessment_id: int, data: ScoreIn) -> AssessmentOut:
    """An assessor scores one manual criterion (a new score replaces the last)."""
    row = await _assessment_row(principal, assessment_id, "grading.score")
    _require(row, AssessmentStatus.open)
    rubric = _parse(row["rubric_body"])
    try:
        criterion = rubric.criterion(data.criterion_id)
    except KeyError:
        raise field_error("criterion_id", f"no criterion '{data.criterion_id}' in this rubric (version {row['rubric_version']})") from None
    if not criterion.manual:
        raise field_error("criterion_id", f"'{criterion.id}' is measured from the records, not scored")
    if data.score > criterion.typed.max_score:
        raise field_error("score", f"'{criterion.id}' is scored out of {criterion.typed.max_score}")
    async with write_transaction():
        values = {Score.score: data.score, Score.note: data.note, Score.scored_by: principal.user_id,
                  Score.scored_by_name: principal.display_name, Score.scored_at: utc_now()}
        updated = await Score.update(values).where((Score.assessment == assessment_id) & (Score.criterion_id == criterion.id)).returning(Score.id)
        if not updated:
            await Score.insert(Score(assessment=assessment_id, criterion_id=criterion.id, score=data.score, note=data.note,
                                     scored_by=principal.user_id, scored_by_name=principal.display_name, scored_at=utc_now()))
        await _record(principal, row, "scored", "assessment_scored", AssessmentStatus.open,
                      note=f"{criterion.id}: {data.score}/{criterion.typed.max_score} {data.note}".strip(),
                      changes={"criterion": criterion.id, "score": data.score})
    return await get_assessment(principal, assessment_id)


def _documents_dir() -> Path:
    return get_settings().var_dir / "uploads" / "grading"


async def attach_document(principal: Principal, assessment_id: int, *, title: str, criterion_id: str, content: bytes,
                          content_type: str) -> AssessmentOut:
    """Attach a document (PDF, JPEG or PNG) to an open assessment, kept encrypted at rest; by an assessor or the team."""
    row = await _assessment_row(principal, assessment_id)
    if not (can(principal, "grading.score", row["team_path"]) or can(principal, "grading.apply", row["team_path"])):
        raise PermissionDenied("Your roles do not allow attaching documents to this assessment.", code="forbidden")
    _require(row, AssessmentStatus.open)
    rubric = _parse(row["rubric_body"])
    if criterion_id and criterion_id not in {c.id for c in rubric.criteria}:
        raise field_error("criterion_id", f"no criterion '{criterion_id}' in this rubric")
    media = uploads.document_type(content, content_type, "A document")
    title = title.strip() or (rubric.criterion(criterion_id).title_zh if criterion_id else "文件")
    folder = _documents_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"assessment-{assessment_id}-{secrets.token_hex(8)}{uploads.DOCUMENT_TYPES[media]}"
    (folder / name).write_text(crypto.encrypt_bytes(content))
    try:
        async with write_transaction():
            await Document.insert(Document(assessment=assessment_id, criterion_id=criterion_id, title=title[:200], file_name=name,
                                           content_type=media, size=len(content), uploaded_by=principal.user_id,
                                           uploaded_by_name=principal.display_name, uploaded_at=utc_now()))
            await _step(principal, assessment_id, "document", f"{criterion_id or '—'}: {title}")
            await accounts.record_audit(principal, "grading.assessment.document", "assessment", str(assessment_id), row["team_path"],
                                        {"criterion": criterion_id, "title": title, "file": name})
    except Exception:
        (folder / name).unlink(missing_ok=True)  # nothing half-written: no file without its row
        raise
    return await get_assessment(principal, assessment_id)


async def read_document(principal: Principal, assessment_id: int, document_id: int) -> tuple[bytes, str, str]:
    row = await _assessment_row(principal, assessment_id)
    doc = await Document.select().where((Document.id == document_id) & (Document.assessment == row["id"])).first()
    if doc is None:
        raise NotFound(f"No document #{document_id} on assessment #{assessment_id}.")
    return crypto.decrypt_bytes((_documents_dir() / doc["file_name"]).read_text()), doc["content_type"], doc["title"]


async def _grant(principal: Principal | None, row: dict[str, Any], level: int, rubric: Rubric, note: str) -> None:
    """Write the grade (teams), its history and the team.graded event; inside the deciding transaction."""
    granted_on = china_today()
    valid_until = add_months(granted_on, rubric.validity_months)
    await teams.set_grade(row["team"], row["category"], level, granted_on, valid_until)
    await GradeChange.insert(GradeChange(team=row["team"], team_path=row["team_path"], category=row["category"],
                                         action=GradeAction.granted.value, level=level, valid_until=valid_until, reason=note,
                                         assessment=row["id"], by_user=principal.user_id if principal else None, by_name=_name(principal),
                                         at=utc_now()))
    await events.emit(principal, "team.graded", TeamGraded(team_code=row["team_code"], category=row["category"], level=level,
                                                           valid_until=valid_until, decision="granted"),
                      org_path=row["team_path"], aggregate_id=row["team_code"])
    await Assessment.update({Assessment.granted_on: granted_on, Assessment.valid_until: valid_until}).where(Assessment.id == row["id"])


async def decide(principal: Principal, assessment_id: int, data: DecisionIn) -> AssessmentOut:
    """The supervisor's decision: at most the eligible level (with the assessors' scores), above it only with a recorded
    override reason. Level 1 waits for the region's confirmation; levels 2 and 3 are granted at once."""
    row = await _assessment_row(principal, assessment_id, "grading.assess")
    _require(row, AssessmentStatus.open)
    scores, documents = await _manual_inputs([assessment_id])
    evaluation, rubric = _current_evaluation(row, scores.get(assessment_id, {}), documents.get(assessment_id, {}))
    eligible = evaluation.eligible_level
    above = data.level is not None and (eligible is None or data.level < eligible)
    if above and len(data.override_reason.strip()) < OVERRIDE_MIN:
        allowed = f"level {eligible} or below" if eligible else "no level"
        raise InvalidInput(f"Level {data.level} is above the eligible level ({eligible or 'none'}) with the scores so far: decide "
                           f"{allowed}, or record an override reason (at least {OVERRIDE_MIN} characters).", code="above_eligible")
    now = utc_now()
    values = {Assessment.eligible_level: eligible, Assessment.decided_level: data.level, Assessment.decision_reason: data.reason,
              Assessment.override_reason: data.override_reason.strip() if above else "", Assessment.decided_by: principal.user_id,
              Assessment.decided_by_name: principal.display_name, Assessment.decided_at: now}
    async with write_transaction():
        if data.level == 1:
            await _move(row, AssessmentStatus.open, {**values, Assessment.status: AssessmentStatus.awaiting_confirmation.value})
            status = AssessmentStatus.awaiting_confirmation
        elif data.level is None:
            await _move(row, AssessmentStatus.open, {**values, Assessment.status: AssessmentStatus.not_granted.value, Assessment.final_at: now})
            status = AssessmentStatus.not_granted
        else:
            await _move(row, AssessmentStatus.open, {**values, Assessment.status: AssessmentStatus.granted.value, Assessment.final_at: now})
            status = AssessmentStatus.granted
        changes = {"level": data.level, "eligible": eligible, "override_reason": data.override_reason if above else ""}
        await _record(principal, row, "decided", "assessment_decided", status, note=data.reason, level=data.level, eligible=eligible,
                      changes=changes)
        if status is AssessmentStatus.granted:
            await _grant(principal, row, data.level, rubric, data.reason)
        if status is AssessmentStatus.awaiting_confirmation:
            await _tell_region(row, f"一级测评待确认：{row['team_name']}", f"{row['category']} 类拟定为一级，请自治区红十字会确认。",
                               f"grading:{assessment_id}:confirm")
    return await get_assessment(principal, assessment_id)


async def confirm(principal: Principal, assessment_id: int, data: ConfirmationIn) -> AssessmentOut:
    """The region confirms a level-1 decision (the grade is granted) or sends it back to the supervisor with a note."""
    row = await _assessment_row(principal, assessment_id, "grading.confirm")
    _require(row, AssessmentStatus.awaiting_confirmation)
    if row["decided_by"] == principal.user_id:
        raise PermissionDenied("You decided this level yourself; another officer of the region confirms it.", code="own_decision")
    rubric = _parse(row["rubric_body"])
    now = utc_now()
    values = {Assessment.confirmed_by: principal.user_id, Assessment.confirmed_by_name: principal.display_name,
              Assessment.confirmed_at: now, Assessment.confirmation_note: data.note}
    async with write_transaction():
        if data.confirm:
            await _move(row, AssessmentStatus.awaiting_confirmation, {**values, Assessment.status: AssessmentStatus.granted.value,
                                                                     Assessment.final_at: now})
            await _record(principal, row, "confirmed", "assessment_confirmed", AssessmentStatus.granted, note=data.note, level=1)
            await _grant(principal, row, 1, rubric, data.note or row["decision_reason"])
        else:
            await _move(row, AssessmentStatus.awaiting_confirmation, {**values, Assessment.status: AssessmentStatus.open.value})
            await _record(principal, row, "refused", "assessment_refused", AssessmentStatus.open, note=data.note, level=1)
    return await get_assessment(principal, assessment_id)


async def appeal(principal: Principal, assessment_id: int, data: AppealIn) -> AssessmentOut:
    """The team appeals the final decision once, with a reason, within the rubric's appeal period."""
    row = await _assessment_row(principal, assessment_id, "grading.appeal")
    _require(row, AssessmentStatus.granted, AssessmentStatus.not_granted)
    if row["appealed_at"] is not None:
        raise Conflict(f"Assessment #{assessment_id} was appealed already ({row['appeal_outcome'] or 'pending'}): a decision is "
                       "appealed once.", code="already_appealed")
    if row["decided_by"] == principal.user_id or can(principal, "grading.assess", row["team_path"]):
        raise PermissionDenied("The team appeals a decision (its captain or deputies), not the branch that assesses it.",
                               code="own_decision")
    rubric = _parse(row["rubric_body"])
    deadline = _appeal_deadline(row, rubric)
    if deadline is not None and china_today() > deadline:
        raise Conflict(f"The appeal period ended on {deadline} ({rubric.appeal_days} days after the decision).", code="appeal_too_late")
    async with write_transaction():
        await _move(row, AssessmentStatus(row["status"]), {
            Assessment.status: AssessmentStatus.appealed.value, Assessment.appeal_reason: data.reason,
            Assessment.appealed_by: principal.user_id, Assessment.appealed_by_name: principal.display_name, Assessment.appealed_at: utc_now()})
        await _record(principal, row, "appealed", "assessment_appealed", AssessmentStatus.appealed, note=data.reason,
                      level=row["decided_level"])
        await _tell_region(row, f"分级测评申诉：{row['team_name']}", data.reason[:200], f"grading:{assessment_id}:appeal")
    return await get_assessment(principal, assessment_id)


async def decide_appeal(principal: Principal, assessment_id: int, data: AppealDecisionIn) -> AssessmentOut:
    """The region decides the appeal: upheld (``level`` is granted instead, or none) or dismissed (the decision stands)."""
    row = await _assessment_row(principal, assessment_id, "grading.confirm")
    _require(row, AssessmentStatus.appealed)
    if row["decided_by"] == principal.user_id:
        raise PermissionDenied("You took the decision under appeal; another officer of the region decides the appeal.",
                               code="own_decision")
    if data.uphold and data.level == row["decided_level"]:
        raise field_error("level", f"upholding the appeal changes the level; {row['decided_level'] or 'none'} is the decision appealed")
    rubric = _parse(row["rubric_body"])
    level = data.level if data.uphold else row["decided_level"]
    final = AssessmentStatus.granted if level is not None else AssessmentStatus.not_granted
    async with write_transaction():
        await _move(row, AssessmentStatus.appealed, {
            Assessment.status: final.value, Assessment.decided_level: level,
            Assessment.appeal_outcome: "upheld" if data.uphold else "dismissed", Assessment.appeal_decided_by: principal.user_id,
            Assessment.appeal_decided_by_name: principal.display_name, Assessment.appeal_decided_at: utc_now(), Assessment.appeal_note: data.note})
        await _record(principal, row, "appeal_upheld" if data.uphold else "appeal_dismissed", "appeal_decided", final, note=data.note,
                      level=level, changes={"uphold": data.uphold})
        if data.uphold:
            if level is not None:
                await _grant(principal, row, level, rubric, f"申诉改判 appeal upheld: {data.note}")
            elif await teams.remove_grade(row["team"], row["category"]):
                await _grade_change(principal, row["team"], row["team_path"], row["team_code"], row["category"], GradeAction.cancelled,
                                    None, None, f"申诉改判 appeal upheld: {data.note}", row["id"])
                await Assessment.update({Assessment.granted_on: None, Assessment.valid_until: None}).where(Assessment.id == row["id"])
    return await get_assessment(principal, assessment_id)


async def withdraw(principal: Principal, assessment_id: int, data: ReasonIn) -> AssessmentOut:
    """Close an assessment in progress without a decision (the supervisor, or the team for its own application)."""
    row = await _assessment_row(principal, assessment_id)
    if not (can(principal, "grading.assess", row["team_path"]) or (row["applied"] and can(principal, "grading.apply", row["team_path"]))):
        raise PermissionDenied("Your roles do not allow withdrawing this assessment.", code="forbidden")
    _require(row, AssessmentStatus.open, AssessmentStatus.awaiting_confirmation)
    async with write_transaction():
        await _move(row, AssessmentStatus(row["status"]), {Assessment.status: AssessmentStatus.withdrawn.value,
                                                          Assessment.withdrawn_reason: data.reason})
        await _record(principal, row, "withdrawn", "assessment_withdrawn", AssessmentStatus.withdrawn, note=data.reason)
    return await get_assessment(principal, assessment_id)


# --- grades: suspend, reinstate, cancel, expire ------------------------------------------------------


async def _grade_change(principal: Principal | None, team_id: int, path: str, code: str, category: str, action: GradeAction,
                        level: int | None, valid_until: date | None, reason: str, assessment_id: int | None = None) -> None:
    await GradeChange.insert(GradeChange(team=team_id, team_path=path, category=category, action=action.value, level=level,
                                         valid_until=valid_until, reason=reason, assessment=assessment_id,
                                         by_user=principal.user_id if principal else None, by_name=_name(principal), at=utc_now()))
    await accounts.record_audit(principal, f"grading.grade.{action.value}", "team", code, path,
                                {"category": category, "level": level, "reason": reason})
    in_force = action in (GradeAction.granted, GradeAction.reinstated)
    await events.emit(principal, "team.graded", TeamGraded(team_code=code, category=category, level=level if in_force else None,
                                                           valid_until=valid_until if in_force else None, decision=action.value),
                      org_path=path, aggregate_id=code)


_GRADE_MOVES = {
    GradeAction.suspended: (GradeStatus.active, GradeStatus.suspended),
    GradeAction.reinstated: (GradeStatus.suspended, GradeStatus.active),
}


async def change_grade(principal: Principal, code: str, category: str, action: GradeAction, data: ReasonIn) -> TeamGrading:
    """Suspend a grade in force, reinstate a suspended one, or cancel a grade, with a reason."""
    team = await _team(code)
    authorize(principal, "grading.view", team["path"], hide=True)
    authorize(principal, "grading.assess", team["path"])
    grade = team["grades"].get(category)
    if grade is None:
        raise NotFound(f"Team {code} has no grade in '{category}'.")
    async with write_transaction():
        if action is GradeAction.cancelled:
            changed = await teams.remove_grade(team["id"], category)
        elif action in _GRADE_MOVES:
            expected, status = _GRADE_MOVES[action]
            changed = await teams.set_grade_status(team["id"], category, status, expected=expected)
            if changed is None:
                raise Conflict(f"The grade is {grade['status']}: it cannot be {action.value}.", code="invalid_transition")
        else:
            raise field_error("action", "a grade is suspended, reinstated or cancelled")
        if changed is None:
            raise Conflict("The grade changed a moment ago; reload the page.", code="invalid_transition")
        await _grade_change(principal, team["id"], team["path"], code, category, action, changed["level"], changed["valid_until"], data.reason)
    return await team_grading(principal, code)


async def expire_grades(on: date | None = None) -> str:
    """Grades past their validity without a new assessment are marked expired (nightly)."""
    on = on or china_today()
    expired = 0
    for row in await teams.grades_past_validity(on):
        async with write_transaction():
            if await teams.set_grade_status(row["team"], row["category"], GradeStatus.expired, expected=GradeStatus.active):
                await _grade_change(None, row["team"], row["path"], row["team_code"], row["category"], GradeAction.expired, row["level"],
                                    row["valid_until"], f"有效期至 {row['valid_until']}")
                expired += 1
    return f"{expired} grades expired"


# --- readiness ---------------------------------------------------------------------------------------


def _segments(path: str) -> list[str]:
    return [part for part in path.strip("/").split("/") if part and not part.startswith("t:")]


async def refresh_readiness(*, paths: list[str] | None = None, codes: list[str] | None = None, on: date | None = None) -> str:
    """Recompute the readiness rows of the teams under ``paths`` (None: every team) or with ``codes``, in batches of
    set-based queries (READINESS_CHUNK teams each, so only a chunk's facts and evaluations are held at a time); teams
    gone (exited) lose their rows."""
    on = on or china_today()
    rubrics = await current_rubrics()
    refs = await references()
    rows = await teams.grading_teams(paths=paths, codes=codes)
    deployed = await deployments.deployed_people()
    regions = await orgs.regions_of([row["path"] for row in rows]) if rows else {}
    now = utc_now()
    fresh: list[dict[str, Any]] = []
    for start in range(0, len(rows), READINESS_CHUNK):
        with _collector_paused():  # the chunk's evaluations are gone before it resumes
            for row, facts, rubric, evaluation in await _evaluated(rows[start:start + READINESS_CHUNK], on, rubrics, refs):
                segments = _segments(row["path"])
                fresh.append({"team": row["id"], "team_code": row["code"], "team_name": row["name_zh"], "team_path": row["path"],
                              "league_code": segments[1] if len(segments) > 1 else segments[0],
                              "county_code": segments[2] if len(segments) > 2 else "", "region": regions.get(row["path"], ""),
                              "computed_at": now, **rd.compute(facts, evaluation, rubric, refs, deployed, on)})
    async with write_transaction() as transaction:
        if database().engine_type == "postgres":
            # Two refreshes at once (the nightly job and an event's) would both delete, then both insert the same rows;
            # this lock queues the second, whose delete then sees the first's rows. SQLite's BEGIN IMMEDIATE already does.
            await transaction.connection.execute(f"LOCK TABLE {Readiness._meta.tablename} IN SHARE ROW EXCLUSIVE MODE")
        if codes is not None:
            await Readiness.delete().where(Readiness.team_code.is_in(list(codes) or ["-"]))
        elif paths is not None:
            scoped = within(Readiness.team_path, list(paths))
            await (Readiness.delete().where(scoped) if scoped is not None else Readiness.delete(force=True))
        else:
            await Readiness.delete(force=True)
        await _insert_readiness(transaction, fresh)
    return f"readiness of {len(rows)} teams refreshed ({len(fresh)} rows)"


async def _insert_readiness(transaction: Any, rows: list[dict[str, Any]]) -> None:
    """Readiness rows written in the refresh's transaction. On PostgreSQL one COPY: Piccolo assembling the multi-row
    inserts of a country's 5,510 rows took ~0.8 s of Python (bench/results/grading-profile.txt). Elsewhere inserts of
    400 rows, under the engines' bound-parameter limits."""
    if not rows:
        return
    if database().engine_type == "postgres":
        columns = list(rows[0])
        await transaction.connection.copy_records_to_table(
            Readiness._meta.tablename, columns=columns, records=[tuple(row[c] for c in columns) for row in rows])
        return
    for start in range(0, len(rows), 400):
        await Readiness.insert(*(Readiness(**row) for row in rows[start:start + 400]))


async def nightly() -> str:
    """The nightly job: expire grades past validity, then refresh every team's readiness."""
    return f"{await expire_grades()}; {await refresh_readiness()}"


TEAM_PATH = re.compile(r"t:([A-Za-z0-9-]+)/")


def teams_named(event: Any) -> list[str]:
    """The team codes an event concerns: from its org path (``…/t:CODE/``) and its payload (team_code, teams)."""
    codes = TEAM_PATH.findall(event.org_path or "")
    payload = event.payload or {}
    if isinstance(payload.get("team_code"), str):
        codes.append(payload["team_code"])
    for key in ("teams", "team_codes"):
        if isinstance(payload.get(key), list):
            codes += [c for c in payload[key] if isinstance(c, str)]
    for key in ("source", "destination"):  # equipment transfers name their owners
        owner = payload.get(key)
        if isinstance(owner, dict) and owner.get("kind") == "team" and isinstance(owner.get("code"), str):
            codes.append(owner["code"])
    return list(dict.fromkeys(codes))


# What changes a team's readiness: its roster, leadership, status and grade, its drills, deployments and equipment.
READINESS_EVENTS = (
    "team.created", "team.status_changed", "team.graded", "leadership.approved", "member.joined", "member.status_changed",
    "member.left", "drill.closed", "deployment.started", "deployment.ended", "equipment_transfer.received",
)


@handles("notifications", *READINESS_EVENTS)
async def on_event(event: Any, region: str) -> None:
    """Refresh the readiness of the teams an event concerns, on the notifications queue of the hub whose region it
    is (idempotent: a redelivery recomputes the same rows). Equipment registered or inspected without an event, and
    certificates expiring, reach the dashboard with the nightly refresh."""
    codes = teams_named(event)
    if codes:
        await refresh_readiness(codes=codes)


def _readiness_out(row: dict[str, Any], on: date) -> ReadinessOut:
    return ReadinessOut(**{k: row[k] for k in ("team_code", "team_name", "league_code", "county_code", "region", "category",
                                               "computed_on", "eligible_level", "granted_level", "grade_status", "grade_valid_until",
                                               "members_active", "people_available", "kits_ready", "kits_total", "equipment_in_service",
                                               "equipment_total", "last_drill_on", "score", "state")},
                        below_grade=rd.below_grade(row), gap=[GapItem.model_validate(g) for g in json.loads(row["gap"])])


async def dashboard_scope(principal: Principal, scope: str | None) -> tuple[list[str], str]:
    """The paths a dashboard covers: the caller's readiness scopes, narrowed to a hub's region or an org unit; and a label."""
    scopes = scopes_for(principal, "grading.readiness")
    if not scopes:
        raise PermissionDenied("Your roles do not allow reading the readiness dashboard.")
    if not scope:
        return scopes, ""
    hubs = await orgs.hub_paths()
    if scope in hubs:
        wanted, label = list(hubs[scope]), scope
    else:
        unit = await orgs.get_unit(scope)
        wanted, label = [unit.path], unit.name_zh
    kept = [p for p in wanted if any(p.startswith(s) for s in scopes)] + [s for s in scopes if any(s.startswith(p) for p in wanted)]
    if not kept:
        raise PermissionDenied(f"'{scope}' is outside your scope.", code="forbidden")
    return sorted(set(kept)), label


# How many of the soonest-expiring grades and of the teams below their grade the dashboard lists (their totals are
# counted whole); the export lists every one.
DASHBOARD_LISTED = 50


def _expiring_rows(on: date) -> Any:
    """:func:`readiness.expiring` as a condition on the stored rows."""
    return ((Readiness.grade_status == "active") & (Readiness.grade_valid_until >= on)
            & (Readiness.grade_valid_until <= on + rd.EXPIRING_WITHIN))


# :func:`readiness.below_grade` as a condition on the stored rows.
_BELOW_GRADE_ROWS = ((Readiness.grade_status == "active") & Readiness.granted_level.is_not_null()
                     & WhereRaw("(eligible_level IS NULL OR eligible_level > granted_level)"))


async def dashboard(principal: Principal, scope: str | None = None, category: str | None = None,
                    page: PageParams | None = PageParams()) -> DashboardOut:
    """The region dashboard from the precomputed readiness: by category × level × league, by hub region and by seat
    (counted in the database), the grades expiring within 90 days and the teams whose evaluation dropped below their
    granted level (the first :data:`DASHBOARD_LISTED` of each, and how many there are), and a page of the rows.

    What it reads does not grow with the area's teams, only the counting does. ``page`` None: every row and every
    listed team (the export)."""
    paths, label = await dashboard_scope(principal, scope)
    conditions = [c for c in (within(Readiness.team_path, paths), Readiness.category == category if category else None) if c is not None]

    def scoped(query: Any, *more: Any) -> Any:
        for condition in (*conditions, *more):
            query = query.where(condition)
        return query

    def first(query: Any) -> Any:  # a list's first DASHBOARD_LISTED rows; for the export, all of them
        return query if page is None else query.limit(DASHBOARD_LISTED)

    today = china_today()
    expiring_rows = _expiring_rows(today)
    groups = await scoped(Readiness.select(
        Readiness.category, Readiness.league_code, Readiness.county_code, Readiness.region, Readiness.state,
        Readiness.granted_level, Readiness.grade_status, Count(), Sum(Readiness.score),
    ).group_by(Readiness.category, Readiness.league_code, Readiness.county_code, Readiness.region, Readiness.state,
               Readiness.granted_level, Readiness.grade_status))
    [summary] = await scoped(Readiness.select(Count(distinct=[Readiness.team_code], alias="teams"), Max(Readiness.computed_on, alias="on")))
    in_order = scoped(Readiness.select()).order_by(Readiness.team_path).order_by(Readiness.category)
    rows = await (in_order if page is None else in_order.limit(page.limit).offset(page.offset))
    expiring = await first(scoped(Readiness.select(), expiring_rows).order_by(Readiness.grade_valid_until).order_by(Readiness.team_path))
    below = await first(scoped(Readiness.select(), _BELOW_GRADE_ROWS).order_by(Readiness.team_path).order_by(Readiness.category))
    counts: dict[tuple[str, str, int | None], int] = {}
    by_state = {"ready": 0, "partial": 0, "not_ready": 0}
    by_region: dict[str, dict[str, int]] = {}
    seats: dict[str, list[int]] = {}  # county (or league seat) code -> [team-categories, sum of scores]
    for group in groups:
        n = group["count"]
        level = group["granted_level"] if group["grade_status"] == "active" else None
        key = (group["category"], group["league_code"], level)
        counts[key] = counts.get(key, 0) + n
        by_state[group["state"]] += n
        region = by_region.setdefault(group["region"] or "all", {"ready": 0, "partial": 0, "not_ready": 0})
        region[group["state"]] += n
        seat = seats.setdefault(group["county_code"] or group["league_code"], [0, 0])
        seat[0] += n
        seat[1] += group["sum"] or 0
    return DashboardOut(
        scope_label=label, computed_on=summary["on"], teams=summary["teams"], by_state=by_state,
        counts=[LevelCount(category=c, league_code=lg, level=lv, teams=n) for (c, lg, lv), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 9))],
        by_region=dict(sorted(by_region.items())),
        seats=[SeatScore(code=code, rows=n, score=round(total / n)) for code, (n, total) in sorted(seats.items())],
        expiring=[_readiness_out(row, today) for row in expiring], expiring_total=await scoped(Readiness.count(), expiring_rows),
        below_grade=[_readiness_out(row, today) for row in below], below_grade_total=await scoped(Readiness.count(), _BELOW_GRADE_ROWS),
        rows=[_readiness_out(row, today) for row in rows], rows_total=sum(counts.values()),
        limit=page.limit if page else None, offset=page.offset if page else 0)


async def team_readiness(principal: Principal, code: str) -> list[ReadinessOut]:
    team = await _team(code)
    authorize(principal, "grading.view", team["path"], hide=True)
    rows = await Readiness.select().where(Readiness.team_code == code).order_by(Readiness.category)
    return [_readiness_out(row, china_today()) for row in rows]


async def dashboard_xlsx(principal: Principal, scope: str | None = None, category: str | None = None) -> bytes:
    """The dashboard's tables as an .xlsx workbook, every row of each."""
    board = await dashboard(principal, scope, category, page=None)
    categories = {c.code: c.name_zh for c in await teams.list_categories()}
    leagues = {code: unit.name_zh for code, unit in (await orgs.units_by_code(sorted({r.league_code for r in board.rows}))).items()}
    return export.workbook(board, categories, leagues)
