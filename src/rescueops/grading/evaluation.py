"""Evaluating a rubric against one team's records (gathered in bulk by the service), and the gap to the next level.

Pure functions: no database here. Each criterion kind has a measure giving the measured value, pass or fail, the
evidence (which members, items, kits, drills) and, when it fails, what is missing in plain words, Chinese and English.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel

from rescueops.calendar import add_months
from rescueops.grading.rubric import ANY_FIRST_AID, LEVELS, Criterion, Evidence, References, Rubric
from rescueops.grading.schemas import CriterionResult, EvaluationOut, EvidenceRef, GapItem

Trusted = TypeVar("Trusted", bound=BaseModel)
Built = TypeVar("Built")

EPSILON = 1e-9


@dataclass
class TeamFacts:
    """What the records say about one team, as the domains' ``grading_facts`` read functions return it."""

    id: int
    code: str
    name_zh: str
    path: str
    status: str
    registration_kind: str
    registration_number: str
    filing_date: date | None
    founded_on: date | None
    self_sufficiency_hours: int | None
    party_organisation: str
    categories: list[str]
    grades: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    stock: dict[str, int] = field(default_factory=dict)
    kits: list[dict[str, Any]] = field(default_factory=list)
    drills: list[dict[str, Any]] = field(default_factory=list)
    # What _once built from these records, reused by every level of a ladder and every category evaluated.
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Measure:
    passed: bool
    measured: float | None
    threshold: float | None
    measured_zh: str
    measured_en: str
    threshold_zh: str
    threshold_en: str
    evidence: list[EvidenceRef]
    gap_zh: str = ""
    gap_en: str = ""


@dataclass(frozen=True)
class Context:
    rubric: Rubric
    refs: References
    on: date
    deadline: date | None  # when the team must have it (its grade's expiry), for "in the next N months"


# --- wording -------------------------------------------------------------------------------------

ROLE_NAMES = {"captain": ("队长", "captain"), "deputy_captain": ("副队长", "deputy captain")}
DRILL_TYPE_NAMES = {
    "training_course": ("培训课程", "training course"), "tabletop": ("桌面推演", "tabletop exercise"),
    "drill": ("单项演练", "single-skill drill"), "functional": ("功能演练", "functional exercise"),
    "full_scale": ("综合实战演练", "full-scale exercise"),
}
PARTY_NAMES = {"branch": ("党支部", "party branch"), "joint_branch": ("联合党支部", "joint party branch"),
               "working_group": ("党的工作小组", "party working group")}
REGISTRATION_NAMES = {"civil_affairs": ("民政登记注册", "registered with civil affairs"),
                      "red_cross_filing": ("红十字会发文备案", "filed by a Red Cross document")}


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def _minutes(value: float) -> tuple[str, str]:
    if value >= 120:
        hours = f"{value / 60:.1f}".rstrip("0").rstrip(".")
        return f"{value:.0f} 分钟（{hours} 小时）", f"{value:.0f} min ({hours} h)"
    return f"{value:.0f} 分钟", f"{value:.0f} min"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _certificate(refs: References, code: str) -> tuple[str, str]:
    if code == ANY_FIRST_AID:
        return "急救证书（救护员证、CPR+AED 培训证等）", "first-aid certificate"
    names = refs.certificates.get(code)
    return (names.zh, names.en) if names else (code, code)


def _holds(member: dict[str, Any], code: str) -> bool:
    return member["first_aid"] if code == ANY_FIRST_AID else code in member["certificates"]


def _once(build: Callable[..., Built], facts: TeamFacts, *args: Hashable) -> Built:
    """``build(facts, *args)``, made once per team: the levels of a ladder (and the categories of a team) measure the
    same records, so without it each evidence list was built three times per category: 1.9 million evidence
    references for the country instead of 0.55 (bench/results/grading-profile.txt). What it returns is shared
    between results: never changed in place."""
    key = (build, *args)
    memo = facts.memo
    if key not in memo:
        memo[key] = build(facts, *args)
    return memo[key]


def _active_members(facts: TeamFacts) -> list[dict[str, Any]]:
    return [m for m in facts.members if m["status"] == "active"]


def _active(facts: TeamFacts) -> list[dict[str, Any]]:
    return _once(_active_members, facts)


_new = object.__new__
_set = object.__setattr__
_ALL_SET: dict[type[BaseModel], set[str]] = {}


def _trusted(model: type[Trusted], values: dict[str, Any]) -> Trusted:
    """``model`` holding ``values`` — every field, already valid (built from the records themselves) — without
    validation and without ``model_construct``'s walk over every field and its aliases (2.8 times slower on an
    evidence reference): the country's evaluation makes half a million of them.
    The models it builds have no defaults left unset, validators, private attributes or post-init hooks. Every field
    is set, so they share one fields-set (pydantic only ever adds a field name to it, or copies it)."""
    instance = _new(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", _ALL_SET.get(model) or _ALL_SET.setdefault(model, set(model.model_fields)))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


def _ref(kind: str, ref: str, label: str, ok: bool, note: str = "") -> EvidenceRef:
    """An evidence reference built from the records themselves (already valid)."""
    return _trusted(EvidenceRef, {"kind": kind, "ref": ref, "label": label, "ok": ok, "note": note})


def _member_ref(member: dict[str, Any], ok: bool, note: str = "") -> EvidenceRef:
    return _trusted(EvidenceRef, {"kind": "member", "ref": str(member["person"]), "label": member["name"], "ok": ok, "note": note})


# --- the measures --------------------------------------------------------------------------------


def _counted_members(facts: TeamFacts, of: str) -> tuple[int, list[EvidenceRef]]:
    evidence, counted = [], 0
    for m in _active(facts):
        missing = []
        if of in ("insured", "deployable") and not m["insured"]:
            missing.append("无有效保险 no valid insurance")
        if of == "deployable" and not m["first_aid"]:
            missing.append("无有效急救证 no valid first-aid certificate")
        counted += not missing
        evidence.append(_member_ref(m, not missing, "；".join(missing)))
    return counted, evidence


def _min_members(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    counted, evidence = _once(_counted_members, facts, p.of)
    words = {"active": ("在队", "active"), "insured": ("在队且有有效保险的", "insured active"),
             "deployable": ("可出动的（在队、有有效保险和急救证）", "deployable (active, insured, valid first-aid certificate)")}[p.of]
    shortfall = p.min - counted
    return Measure(
        counted >= p.min, counted, p.min, f"{counted} 名", f"{counted} members", f"≥ {p.min} 名", f"≥ {p.min} members", evidence,
        f"还需 {shortfall} 名{words[0]}队员", f"{shortfall} more {words[1]} member{'s' if shortfall != 1 else ''}")


def _role_coverage(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    holders = [m for m in facts.members if m["role"] == p.role]
    zh, en = ROLE_NAMES[p.role]
    count = len(holders)
    limit_zh = f"{p.min}–{p.max} 名" if p.max is not None and p.max != p.min else f"{p.min} 名"
    limit_en = f"{p.min}–{p.max}" if p.max is not None and p.max != p.min else f"{p.min}"
    passed = count >= p.min and (p.max is None or count <= p.max)
    if count < p.min:
        gap = (f"还需 {p.min - count} 名经备案的{zh}（提交领导班子备案并获批准）",
               f"{p.min - count} more filed {en}{'s' if p.min - count != 1 else ''} (file the leadership and have it approved)")
    else:
        gap = (f"{zh}超过 {p.max} 名：需备案调整", f"more than {p.max} {en}s: file a leadership change")
    return Measure(passed, count, p.min, f"{count} 名", str(count), limit_zh, limit_en, [_member_ref(m, True, zh) for m in holders],
                   *(gap if not passed else ("", "")))


def _certified_members(facts: TeamFacts, certificate: str, name_zh: str) -> tuple[int, int, list[EvidenceRef]]:
    active = _active(facts)
    held = [_holds(m, certificate) for m in active]
    evidence = [_member_ref(m, ok, "" if ok else f"无有效{name_zh}") for m, ok in zip(active, held, strict=True)]
    return len(active), sum(held), evidence


def _certified_ratio(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    name_zh, name_en = _certificate(ctx.refs, p.certificate)
    active, certified, evidence = _once(_certified_members, facts, p.certificate, name_zh)
    ratio = certified / active if active else 0.0
    needed = max(1, math.ceil(p.min_ratio * active - EPSILON) - certified) if active else 1
    if active:
        gap = (f"还需 {needed} 名在队队员取得有效{name_zh}（达到 {_pct(p.min_ratio)}）",
               f"{needed} more active member{'s' if needed != 1 else ''} with a valid {name_en} (to reach {_pct(p.min_ratio)})")
    else:
        gap = ("尚无在队队员", "no active members yet")
    return Measure(bool(active) and ratio >= p.min_ratio - EPSILON, round(ratio, 4), p.min_ratio,
                   f"{_pct(ratio)}（{certified}/{active}）", f"{_pct(ratio)} ({certified}/{active})",
                   f"≥ {_pct(p.min_ratio)}", f"≥ {_pct(p.min_ratio)}", evidence, *gap)


def _holders(facts: TeamFacts, certificate: str, name_zh: str) -> list[EvidenceRef]:
    return [_member_ref(m, True, name_zh) for m in _active(facts) if _holds(m, certificate)]


def _certified_count(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    name_zh, name_en = _certificate(ctx.refs, p.certificate)
    evidence = _once(_holders, facts, p.certificate, name_zh)
    held = len(evidence)
    shortfall = p.min - held
    return Measure(held >= p.min, held, p.min, f"{held} 名", f"{held} members", f"≥ {p.min} 名",
                   f"≥ {p.min} members", evidence,
                   f"还需 {shortfall} 名持有效{name_zh}的队员", f"{shortfall} more member{'s' if shortfall != 1 else ''} with a valid {name_en}")


def _items_by_type(facts: TeamFacts) -> dict[str, list[dict[str, Any]]]:
    """The team's items by type code, kit containers aside: each equipment criterion looks at one type."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for item in facts.items:
        if item["kit_template"] is None:
            by_type.setdefault(item["type"], []).append(item)
    return by_type


def _counted_equipment(facts: TeamFacts, kind: str, months: int | None, since: date | None, name_zh: str,
                       unit: str) -> tuple[int, list[EvidenceRef]]:
    evidence: list[EvidenceRef] = []
    counted = 0
    for item in _once(_items_by_type, facts).get(kind, []):
        note = ""
        if not item["usable"]:
            note = f"不在用 not usable: {item['status']}" + ("，已过期 expired" if item["expired"] else "")
        elif since and (item["last_inspected"] is None or item["last_inspected"] < since):
            note = f"近 {months} 个月未检查 not inspected within {months} months"
        counted += not note
        evidence.append(_ref(kind="item", ref=item["asset_tag"], label=f"{name_zh} {item['asset_tag']}", ok=not note, note=note))
    stocked = facts.stock.get(kind, 0)
    if stocked:
        counted += stocked
        evidence.append(_ref(kind="stock", ref=kind, label=f"{name_zh}（库存 stock）", ok=True, note=f"{stocked} {unit}"))
    return counted, evidence


def _equipment(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    names = ctx.refs.equipment.get(p.type)
    name_zh, name_en, unit = (names.zh, names.en, names.unit_zh or "件") if names else (p.type, p.type, "件")
    since = add_months(ctx.on, -p.inspected_within_months) if p.inspected_within_months else None
    counted, evidence = _once(_counted_equipment, facts, p.type, p.inspected_within_months, since, name_zh, unit)
    within_zh = f"且近 {p.inspected_within_months} 个月内检查过" if since else ""
    within_en = f", inspected within {p.inspected_within_months} months" if since else ""
    shortfall = p.min - counted
    return Measure(counted >= p.min, counted, p.min, f"{counted} {unit}", str(counted), f"≥ {p.min} {unit}", f"≥ {p.min}", evidence,
                   f"还需 {shortfall} {unit}在用{within_zh}的{name_zh}", f"{shortfall} more {name_en} in service{within_en}")


def _kit_ready(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    if p.template:
        names = ctx.refs.kits.get(p.template)
        name_zh, name_en = (names.zh, names.en) if names else (p.template, p.template)
        kits = [k for k in facts.kits if k["template"] == p.template]
    else:
        name_zh, name_en = "本类别装备箱组", f"{ctx.rubric.category} kit"
        kits = [k for k in facts.kits if k["category"] == ctx.rubric.category]
    ready = [k for k in kits if k["ready"]]
    evidence = [_ref(kind="kit", ref=k["asset_tag"], label=f"{k['name_zh']} {k['asset_tag']}", ok=k["ready"],
                            note="；".join(k["problems"])) for k in kits]
    shortfall = p.min - len(ready)
    return Measure(len(ready) >= p.min, len(ready), p.min, f"{len(ready)} 套", str(len(ready)), f"≥ {p.min} 套", f"≥ {p.min}", evidence,
                   f"还需 {shortfall} 套齐备的{name_zh}", f"{shortfall} more ready {name_en}{'s' if shortfall != 1 else ''}")


def _months_until(on: date, deadline: date) -> int:
    return max(1, math.ceil((deadline - on).days / 30.44))


def _drills_in_window(facts: TeamFacts, on: date) -> list[dict[str, Any]]:
    since = add_months(on, -12)
    return [d for d in facts.drills if since < d["starts_on"] <= on]


def _drills_window(facts: TeamFacts, on: date) -> list[dict[str, Any]]:
    return _once(_drills_in_window, facts, on)


def _counted_drills(facts: TeamFacts, on: date, types: tuple[str, ...], joint: bool) -> tuple[int, list[EvidenceRef]]:
    drills = [d for d in _drills_window(facts, on) if (not types or d["type"] in types) and (d["joint"] or not joint)]
    return len(drills), [_ref(kind="drill", ref=str(d["id"]), label=f"{d['starts_on']} {d['title']}", ok=True) for d in drills]


def _drill_count(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    held, evidence = _once(_counted_drills, facts, ctx.on, tuple(p.types or ()), p.joint)
    what_zh = ("联合" if p.joint else "") + ("或".join(DRILL_TYPE_NAMES[t][0] for t in p.types) if p.types else "演练")
    what_en = ("joint " if p.joint else "") + (" or ".join(DRILL_TYPE_NAMES[t][1] for t in p.types) if p.types else "drill")
    shortfall = p.min - held
    if ctx.deadline and ctx.on < ctx.deadline <= add_months(ctx.on, 12):
        months = _months_until(ctx.on, ctx.deadline)
        gap = (f"未来 {months} 个月内还需 {shortfall} 次{what_zh}", f"{shortfall} {what_en}{'s' if shortfall != 1 else ''} in the next {months} months")
    else:
        gap = (f"还需 {shortfall} 次{what_zh}（近 12 个月内）", f"{shortfall} more {what_en}{'s' if shortfall != 1 else ''} (within 12 months)")
    return Measure(held >= p.min, held, p.min, f"{held} 次", str(held), f"≥ {p.min} 次", f"≥ {p.min}", evidence, *gap)


def _mobilisation(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    measured = [d for d in _drills_window(facts, ctx.on) if d["mobilisation_minutes"] is not None]
    limit_zh, limit_en = _minutes(p.max)
    if not measured:
        return Measure(False, None, p.max, "未测量", "not measured", f"≤ {limit_zh}", f"≤ {limit_en}", [],
                       f"需在演练中测量集结时间（不超过 {limit_zh}）", f"measure the mobilisation in a drill (at most {limit_en})")
    if p.measure == "best":
        drill = min(measured, key=lambda d: d["mobilisation_minutes"])
    else:
        drill = max(measured, key=lambda d: (d["starts_on"], d["id"]))
    value = drill["mobilisation_minutes"]
    got_zh, got_en = _minutes(value)
    which_zh, which_en = ("最好一次", "best") if p.measure == "best" else ("最近一次", "latest")
    evidence = [_ref(kind="drill", ref=str(drill["id"]), label=f"{drill['starts_on']} {drill['title']}", ok=value <= p.max, note=got_zh)]
    return Measure(value <= p.max, value, p.max, got_zh, got_en, f"≤ {limit_zh}", f"≤ {limit_en}", evidence,
                   f"集结时间需缩短到 {limit_zh}以内（{which_zh}演练测得 {got_zh}）",
                   f"mobilise within {limit_en} (the {which_en} drill measured {got_en})")


def _team_ref(facts: TeamFacts, note: str, ok: bool) -> list[EvidenceRef]:
    return [_ref(kind="team", ref=facts.code, label=facts.name_zh, ok=ok, note=note)]


def _self_sufficiency(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    value = facts.self_sufficiency_hours
    if value is None:
        return Measure(False, None, p.min, "未申报", "not declared", f"≥ {p.min} 小时", f"≥ {p.min} h", _team_ref(facts, "未申报", False),
                       f"需在队伍信息中申报自我保障时间（至少 {p.min} 小时）", f"declare the self-sufficiency hours on the team record (at least {p.min} h)")
    return Measure(value >= p.min, value, p.min, f"{value} 小时", f"{value} h", f"≥ {p.min} 小时", f"≥ {p.min} h",
                   _team_ref(facts, f"申报 {value} 小时", value >= p.min),
                   f"自我保障时间需达到 {p.min} 小时（现申报 {value} 小时）", f"self-sufficiency of {p.min} h (declared {value} h)")


def _years_active(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    founded = facts.founded_on or facts.filing_date
    if founded is None:
        return Measure(False, None, p.min, "成立日期未登记", "founding date not recorded", f"≥ {p.min:g} 年", f"≥ {p.min:g} years",
                       _team_ref(facts, "", False), "需在队伍信息中登记成立日期", "record the founding date on the team record")
    years = (ctx.on - founded).days / 365.25
    reached = add_months(founded, round(p.min * 12))
    return Measure(reached <= ctx.on, round(years, 2), p.min, f"{years:.1f} 年", f"{years:.1f} years", f"≥ {p.min:g} 年",
                   f"≥ {p.min:g} years", _team_ref(facts, f"成立于 {founded}", reached <= ctx.on),
                   f"队伍需成立满 {p.min:g} 年（{reached} 满）", f"the team must be {p.min:g} years old (on {reached})")


def _registration(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    problems = []
    if facts.registration_kind not in p.kinds or not facts.registration_number.strip():
        problems.append(("需完成" + "或".join(REGISTRATION_NAMES[k][0] for k in p.kinds),
                         "register: " + " or ".join(REGISTRATION_NAMES[k][1] for k in p.kinds)))
    elif facts.registration_kind == "red_cross_filing" and (facts.filing_date is None or facts.filing_date > ctx.on):
        problems.append(("需登记红十字会备案文件的日期", "record the date of the Red Cross filing document"))
    if facts.status != "active":
        problems.append((f"队伍状态需为正式组建（现为 {facts.status}）", f"the team must be active (it is {facts.status})"))
    kind_zh, kind_en = REGISTRATION_NAMES.get(facts.registration_kind, (facts.registration_kind, facts.registration_kind))
    shown_zh = f"{kind_zh} {facts.registration_number}".strip()
    return Measure(not problems, 1.0 if not problems else 0.0, 1.0, shown_zh, f"{kind_en} {facts.registration_number}".strip(),
                   "有效", "valid", _team_ref(facts, shown_zh, not problems),
                   "；".join(z for z, _ in problems), "; ".join(e for _, e in problems))


def _party(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    names = PARTY_NAMES.get(facts.party_organisation)
    return Measure(names is not None, 1.0 if names else 0.0, 1.0, names[0] if names else "未建立", names[1] if names else "none",
                   "已建立", "present", _team_ref(facts, names[0] if names else "", names is not None),
                   "需建立党组织（党支部、联合党支部或党的工作小组）并在队伍信息中登记",
                   "set up a party organisation (branch, joint branch or working group) and record it on the team record")


def _incomplete_records(facts: TeamFacts, of: str) -> tuple[int, int, list[EvidenceRef]]:
    records: list[tuple[str, str, str, list[str]]] = []  # (kind, ref, label, missing fields)
    if of in ("members", "both"):
        records += [("member", str(m["person"]), m["name"], m["missing"]) for m in facts.members]
    if of in ("items", "both"):
        records += [("item", i["asset_tag"], i["asset_tag"], i["missing"]) for i in facts.items if i["kit_template"] is None]
    # The evidence is what to complete: the incomplete records (the complete ones would only bury them).
    evidence = [_ref(kind=kind, ref=ref, label=label, ok=False, note="缺 missing: " + "、".join(missing))
                for kind, ref, label, missing in records if missing]
    return len(records) - len(evidence), len(records), evidence


def _records(c: Criterion, facts: TeamFacts, ctx: Context) -> Measure:
    p = c.typed
    complete, total, evidence = _once(_incomplete_records, facts, p.of)
    ratio = complete / total if total else 0.0
    needed = max(1, math.ceil(p.min_ratio * total - EPSILON) - complete)
    if total:
        gap = (f"记录完整率需达到 {_pct(p.min_ratio)}（现为 {_pct(ratio)}）：还需补全 {needed} 条记录",
               f"complete records for {_pct(p.min_ratio)} (now {_pct(ratio)}): complete {_plural(needed, 'more record')}")
    else:
        gap = ("尚无队员和装备记录", "no member or equipment records yet")
    return Measure(bool(total) and ratio >= p.min_ratio - EPSILON, round(ratio, 4), p.min_ratio,
                   f"{_pct(ratio)}（{complete}/{total}）", f"{_pct(ratio)} ({complete}/{total})",
                   f"≥ {_pct(p.min_ratio)}", f"≥ {_pct(p.min_ratio)}", evidence, *gap)


MEASURES: dict[str, Callable[[Criterion, TeamFacts, Context], Measure]] = {
    "min_members": _min_members,
    "role_coverage": _role_coverage,
    "min_certified_ratio": _certified_ratio,
    "min_certified_count": _certified_count,
    "equipment": _equipment,
    "kit_ready": _kit_ready,
    "min_drills_last_12m": _drill_count,
    "max_mobilisation_minutes": _mobilisation,
    "self_sufficiency_hours": _self_sufficiency,
    "min_years_active": _years_active,
    "registration_valid": _registration,
    "party_organisation": _party,
    "record_completeness": _records,
}


# --- manual criteria: assessors' scores and documents ---------------------------------------------


def _manual(c: Criterion, score: dict[str, Any] | None, documents: list[dict[str, Any]]) -> tuple[str, Measure]:
    p = c.typed
    needs_document = c.evidence is Evidence.document
    evidence = [_ref(kind="document", ref=str(d["id"]), label=d["title"], ok=True) for d in documents]
    threshold = (f"≥ {p.pass_score}/{p.max_score} 分", f"≥ {p.pass_score}/{p.max_score}")
    if score is not None:
        evidence.insert(0, _ref(kind="score", ref=c.id, label=score["scored_by_name"], ok=score["score"] >= p.pass_score,
                                       note=score["note"]))
    if needs_document and not documents:
        return "pending", Measure(False, score["score"] if score else None, p.pass_score, "未提交文件", "no document yet", *threshold,
                                  evidence, f"需提交证明文件并由评审员评分：{c.title_zh}", f"attach a document for the assessors to score: {c.title_en}")
    if score is None:
        return "pending", Measure(False, None, p.pass_score, "待评分", "not scored yet", *threshold, evidence,
                                  f"待评审员评分：{c.title_zh}（满分 {p.max_score}，{p.pass_score} 分合格）",
                                  f"to be scored by an assessor: {c.title_en} (out of {p.max_score}, pass {p.pass_score})")
    value = score["score"]
    passed = value >= p.pass_score
    return ("passed" if passed else "failed"), Measure(
        passed, value, p.pass_score, f"{value}/{p.max_score} 分", f"{value}/{p.max_score}", *threshold, evidence,
        f"{c.title_zh}需达到 {p.pass_score} 分（现 {value} 分）", f"{c.title_en}: at least {p.pass_score} (scored {value})")


def _result(c: Criterion, status: str, m: Measure) -> CriterionResult:
    return _trusted(CriterionResult, dict(
        criterion_id=c.id, kind=c.kind, title_zh=c.title_zh, title_en=c.title_en, level=c.level, hard=c.hard,
        evidence_kind=c.evidence.value, source=c.source, verified=c.verified, ladder=c.ladder_key, status=status,
        measured=m.measured, threshold=m.threshold, measured_zh=m.measured_zh, measured_en=m.measured_en, threshold_zh=m.threshold_zh,
        threshold_en=m.threshold_en, evidence=m.evidence, gap_zh=m.gap_zh if status != "passed" else "",
        gap_en=m.gap_en if status != "passed" else ""))


# --- levels and the gap --------------------------------------------------------------------------


def levels_met(results: list[CriterionResult], *, manual_counted: bool) -> dict[int, bool]:
    """Per level, whether every hard criterion applying to it passes (levels cumulative). Manual criteria still pending
    count as not met in an assessment; on the records alone they are left out."""
    def ok(r: CriterionResult) -> bool:
        return r.status == "passed" or (r.status == "pending" and not manual_counted)

    return {level: all(ok(r) for r in results if r.hard and r.level >= level) for level in LEVELS}


def eligible_level(levels: dict[int, bool]) -> int | None:
    eligible = None
    for level in LEVELS:  # 3, 2, 1: a level counts only when every level below it does
        if not levels[level]:
            break
        eligible = level
    return eligible


def gap_to(results: list[CriterionResult], target: int, *, hard: bool) -> list[GapItem]:
    """What stands between the team and ``target``: per ladder, the strictest criterion applying to it, when not passed."""
    strictest: dict[str, CriterionResult] = {}
    for r in results:
        if r.hard == hard and r.level >= target:
            kept = strictest.get(r.ladder)
            if kept is None or r.level < kept.level:
                strictest[r.ladder] = r
    order = {r.criterion_id: n for n, r in enumerate(results)}
    missing = sorted((r for r in strictest.values() if r.status != "passed"), key=lambda r: (-r.level, order[r.criterion_id]))
    return [GapItem(criterion_id=r.criterion_id, level=r.level, pending=r.status == "pending", text_zh=r.gap_zh, text_en=r.gap_en)
            for r in missing]


def summarise(team_code: str, team_name: str, rubric: Rubric, version: int, on: date, results: list[CriterionResult], *,
              manual_counted: bool) -> EvaluationOut:
    levels = levels_met(results, manual_counted=manual_counted)
    eligible = eligible_level(levels)
    target = None if eligible == 1 else (eligible - 1 if eligible else LEVELS[0])
    return EvaluationOut(
        team_code=team_code, team_name=team_name, category=rubric.category, on=on, rubric_version=version,
        manual_counted=manual_counted, eligible_level=eligible, next_level=target, levels=levels, results=results,
        gap=gap_to(results, target, hard=True) if target else [], advice=gap_to(results, target, hard=False) if target else [])


def evaluate(rubric: Rubric, version: int, team: TeamFacts, refs: References, on: date, *,
             scores: dict[str, dict[str, Any]] | None = None, documents: dict[str, list[dict[str, Any]]] | None = None) -> EvaluationOut:
    """Every criterion on ``on``. Without ``scores`` it is the evaluation on the records (manual criteria pending and left out
    of the levels); with them (an assessment) the scores and documents decide the manual criteria."""
    grade = team.grades.get(rubric.category)
    deadline = grade["valid_until"] if grade and grade.get("valid_until") else None
    ctx = Context(rubric, refs, on, deadline)
    results = []
    for c in rubric.criteria:
        if c.manual:
            status, measure = _manual(c, (scores or {}).get(c.id), (documents or {}).get(c.id, []))
        else:
            measure = MEASURES[c.kind](c, team, ctx)
            status = "passed" if measure.passed else "failed"
            if status == "passed" and c.evidence is Evidence.document and scores is not None and not (documents or {}).get(c.id):
                status = "pending"  # the records meet it; the assessment also wants the document
                measure.gap_zh, measure.gap_en = f"需提交证明文件：{c.title_zh}", f"attach a supporting document: {c.title_en}"
        results.append(_result(c, status, measure))
    return summarise(team.code, team.name_zh, rubric, version, on, results, manual_counted=scores is not None)


def with_scores(snapshot: EvaluationOut, rubric: Rubric, scores: dict[str, dict[str, Any]],
                documents: dict[str, list[dict[str, Any]]]) -> EvaluationOut:
    """The snapshot taken when the assessment opened, with the assessors' scores and documents applied to the manual
    criteria (and to automatic ones asking for a document): the records part stays as snapshotted."""
    by_id = {c.id: c for c in rubric.criteria}
    results = []
    for r in snapshot.results:
        c = by_id[r.criterion_id]
        if c.manual:
            status, measure = _manual(c, scores.get(c.id), documents.get(c.id, []))
            r = _result(c, status, measure)
        elif c.evidence is Evidence.document:
            records_pass = r.status != "failed"
            status = "failed" if not records_pass else ("passed" if documents.get(c.id) else "pending")
            r = r.model_copy(update={"status": status, "evidence": [*(e for e in r.evidence if e.kind != "document"), *(
                _ref(kind="document", ref=str(d["id"]), label=d["title"], ok=True) for d in documents.get(c.id, []))]})
        results.append(r)
    return summarise(snapshot.team_code, snapshot.team_name, rubric, snapshot.rubric_version, snapshot.on, results, manual_counted=True)
