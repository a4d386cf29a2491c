"""Ranking a hub's teams for an assistance request: pure rules on facts the service gathers, so the order is
explained and the same facts always give the same order.

Hard conditions (a team failing one is listed as not eligible, with the reason): the request's category as the
team's primary category or a specialty; a valid grade in that category at the required level or better (when a
level is asked for); status active; at least one member available — active, not on an open deployment, holding a
valid first-aid certificate.

Score of an eligible team, 0–100:

====================  ======  ==============================================================
category              30 / 15  primary category / specialty (一专多能)
grade                 15/10/5  a valid level 1 / 2 / 3 grade in the category (0 when ungraded)
members available     25      × available ÷ people needed (at most 1)
equipment             15      × mean over the lines asked for of have ÷ need (at most 1); 15 when none asked
distance              15      × (1 − road km ÷ 1500), at least 0; 0 when no location is known
====================  ======  ==============================================================

Road distance is the great-circle distance × 1.3 from the team's base (else its supervising unit) to the place
(else the place's unit). Beyond 800 km (more than a day's drive) the team is flagged as far, not excluded.
Eligible teams come first, by score (higher first), then road distance (nearer first, unknown last), then team
code; teams not eligible follow by team code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rescueops.geo import great_circle_km

ROAD_FACTOR = 1.3
FAR_KM = 800.0
DISTANCE_SCALE_KM = 1500.0
POINTS = {"primary": 30.0, "specialty": 15.0, "members": 25.0, "equipment": 15.0, "distance": 15.0}
LEVEL_POINTS = {1: 15.0, 2: 10.0, 3: 5.0}

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Need:
    category: str
    category_zh: str
    category_en: str
    min_level: int | None
    people: int
    equipment: tuple[tuple[str, int], ...]  # (type code, quantity)
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class TeamFacts:
    code: str
    name_zh: str
    name_en: str
    status: str
    primary: bool
    specialty: bool
    level: int | None  # best valid grade in the category
    level_valid_until: str | None
    active: int
    deployed: int  # active members on an open deployment
    uncertified: int  # active members, not deployed, without a valid first-aid certificate
    available: int
    equipment: dict[str, int] = field(default_factory=dict)  # type code -> ready count
    lat: float | None = None
    lon: float | None = None
    located_by: Literal["team", "unit"] | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    level: Level
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "level": self.level, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Assessment:
    team: TeamFacts
    eligible: bool
    score: float
    distance_km: float | None
    reasons: tuple[Reason, ...]


STATUS_ZH = {"forming": "组建中", "active": "在役", "suspended": "暂停", "exited": "已撤销"}


def road_km(need: Need, team: TeamFacts) -> float | None:
    if None in (need.lat, need.lon, team.lat, team.lon):
        return None
    return round(great_circle_km(team.lat, team.lon, need.lat, need.lon) * ROAD_FACTOR, 1)


def assess(need: Need, team: TeamFacts, type_names: dict[str, tuple[str, str]]) -> Assessment:
    reasons: list[Reason] = []
    score = 0.0
    eligible = True
    cat_zh, cat_en = need.category_zh, need.category_en

    if team.primary:
        score += POINTS["primary"]
        reasons.append(Reason("category", "ok", f"主类别为{cat_zh}", f"primary category {cat_en}"))
    elif team.specialty:
        score += POINTS["specialty"]
        reasons.append(Reason("category", "ok", f"兼有{cat_zh}专长（一专多能），非主类别",
                              f"{cat_en} as a specialty, not the primary category"))
    else:
        eligible = False
        reasons.append(Reason("category", "fail", f"不具备{cat_zh}类别", f"does not cover {cat_en}"))

    if team.level is not None:
        score += LEVEL_POINTS.get(team.level, 0.0)
    until_zh = f"，有效期至 {team.level_valid_until}" if team.level_valid_until else ""
    until_en = f", valid until {team.level_valid_until}" if team.level_valid_until else ""
    if need.min_level is None:
        graded_zh = f"{cat_zh} {team.level} 级{until_zh}" if team.level else "无有效分级"
        graded_en = f"{cat_en} level {team.level}{until_en}" if team.level else "no valid grade"
        reasons.append(Reason("level", "ok", f"未要求等级（{graded_zh}）", f"no level required ({graded_en})"))
    elif team.level is None:
        eligible = False
        reasons.append(Reason("level", "fail", f"无有效的{cat_zh}类分级，要求 {need.min_level} 级或以上",
                              f"no valid {cat_en} grade; level {need.min_level} or better required"))
    elif team.level > need.min_level:
        eligible = False
        reasons.append(Reason("level", "fail", f"{cat_zh} {team.level} 级，低于要求的 {need.min_level} 级",
                              f"{cat_en} level {team.level}, below the required level {need.min_level}"))
    else:
        reasons.append(Reason("level", "ok", f"{cat_zh} {team.level} 级{until_zh}，满足 {need.min_level} 级要求",
                              f"{cat_en} level {team.level}{until_en}, meets level {need.min_level}"))

    if team.status == "active":
        reasons.append(Reason("status", "ok", "队伍在役", "team active"))
    else:
        eligible = False
        reasons.append(Reason("status", "fail", f"队伍状态：{STATUS_ZH.get(team.status, team.status)}，不能派出",
                              f"team is {team.status}: it cannot be sent"))

    breakdown_zh = f"在队队员 {team.active} 人，其中 {team.deployed} 人正在执行任务，{team.uncertified} 人无有效急救证"
    breakdown_en = (f"{team.active} active members: {team.deployed} already deployed, "
                    f"{team.uncertified} without a valid first-aid certificate")
    if team.available == 0:
        eligible = False
        reasons.append(Reason("members", "fail", f"没有可派队员（{breakdown_zh}）", f"no member available ({breakdown_en})"))
    else:
        score += POINTS["members"] * min(1.0, team.available / need.people)
        level: Level = "ok" if team.available >= need.people else "warn"
        short_zh = "" if level == "ok" else "，不足"
        short_en = "" if level == "ok" else ", short"
        reasons.append(Reason("members", level, f"可派 {team.available} 人，需要 {need.people} 人{short_zh}（{breakdown_zh}）",
                              f"{team.available} available of {need.people} needed{short_en} ({breakdown_en})"))

    if not need.equipment:
        score += POINTS["equipment"]
        reasons.append(Reason("equipment", "ok", "未要求装备", "no equipment asked for"))
    else:
        shares, parts_zh, parts_en, short = [], [], [], False
        for type_code, quantity in need.equipment:
            have = team.equipment.get(type_code, 0)
            shares.append(min(1.0, have / quantity))
            short = short or have < quantity
            zh, en = type_names.get(type_code, (type_code, type_code))
            parts_zh.append(f"{zh} {min(have, quantity)}/{quantity}")
            parts_en.append(f"{en} {min(have, quantity)}/{quantity}")
        score += POINTS["equipment"] * sum(shares) / len(shares)
        reasons.append(Reason("equipment", "warn" if short else "ok",
                              ("在用装备不足：" if short else "所需装备在用齐备：") + "、".join(parts_zh),
                              ("short of equipment in service: " if short else "equipment in service: ") + ", ".join(parts_en)))

    distance = road_km(need, team)
    if distance is None:
        reasons.append(Reason("distance", "warn", "缺少位置，无法估算路程", "no location known: distance not estimated"))
    else:
        score += POINTS["distance"] * max(0.0, 1 - distance / DISTANCE_SCALE_KM)
        origin_zh = "" if team.located_by == "team" else "（按所属单位位置）"
        origin_en = "" if team.located_by == "team" else " (from its unit's location)"
        if distance > FAR_KM:
            reasons.append(Reason("distance", "warn", f"路程约 {distance:,.0f} 公里，过远（超过 {FAR_KM:,.0f} 公里）{origin_zh}",
                                  f"about {distance:,.0f} km by road: far (over {FAR_KM:,.0f} km){origin_en}"))
        else:
            reasons.append(Reason("distance", "ok", f"路程约 {distance:,.0f} 公里（直线距离 × {ROAD_FACTOR}）{origin_zh}",
                                  f"about {distance:,.0f} km by road (great circle × {ROAD_FACTOR}){origin_en}"))

    return Assessment(team, eligible, round(score, 1) if eligible else 0.0, distance, tuple(reasons))


def rank(need: Need, teams: list[TeamFacts], type_names: dict[str, tuple[str, str]]) -> list[Assessment]:
    """Every team assessed, in the documented order."""
    assessed = [assess(need, team, type_names) for team in teams]
    eligible = sorted((a for a in assessed if a.eligible),
                      key=lambda a: (-a.score, a.distance_km if a.distance_km is not None else float("inf"), a.team.code))
    others = sorted((a for a in assessed if not a.eligible), key=lambda a: a.team.code)
    return eligible + others
