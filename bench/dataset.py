"""The national-scale data set: 31 provinces of org units, 3,000 teams, 90,000 members, 600,000 items with a ledger
of 2 million stock movements, 50,000 drills, 5,000 deployments, 200,000 training sessions with 5 million certificates;
every count scaled by ``--fraction``.

    python -m bench.dataset --fraction 0.1 [--seed 20261203] [--database rescueops_bench_10]

The database is created afresh, migrated and given the reference data by the app's own commands; the bulk of the
rows then goes in through COPY (asyncpg ``copy_records_to_table``), row for row what the services would have written:
the same paths, derived columns (ID-number hash and last four, expiry dates from the types' intervals, stock balances
equal to their ledger, hours in quarter hours) and history rows. The few records that need no bulk path —
users, their roles, tokens, a login tied to a member, the readiness table — are written by the services themselves.
Generation is deterministic for a seed and a day: every draw comes from one ``random.Random(seed)``, and times are
laid out from midnight of the load day (drills ahead in the calendar, deployments open now); only ciphertexts and
tokens differ between two loads. Not generated: the audit log and the event outbox of that history (no measured
endpoint reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench import common

# Full-size counts (fraction 1.0); every count is scaled by the fraction, never below one.
FULL = {"provinces": 30, "teams": 3000, "members": 90000, "items": 600000, "movements": 2000000, "drills": 50000,
        "deployments": 5000, "training_sessions": 200000, "certificates": 5000000}
LEAGUES_PER_PROVINCE = 12
COUNTIES_PER_PROVINCE = 90
BATCH = 20000  # rows per COPY: large enough to amortise a round trip, small enough to keep memory flat
PASSWORD = "bench-password-2026"
SAMPLE_TEAM = ("150426", "CF-WNT-01")  # the captain's team: Wengniute Banner, Chifeng, as in the demo
SAMPLE_LEAGUE, SAMPLE_REGION, SAMPLE_HUB = "150400", "150000", "east"
CHECKIN_DRILLS = 5  # running drills of the captain's team that every member of it may be checked in to
YEARS_OF_HISTORY = 3

# Generated provinces: GB/T 2260 codes not in the shipped reference (which holds Inner Mongolia and the four partner
# provinces), then four made-up ones to reach thirty. (code, name_zh, name_en, lat, lon)
PROVINCES = [
    ("11", "北京市", "Beijing", 39.9, 116.4), ("12", "天津市", "Tianjin", 39.1, 117.2), ("13", "河北省", "Hebei", 38.0, 114.5),
    ("14", "山西省", "Shanxi", 37.9, 112.6), ("31", "上海市", "Shanghai", 31.2, 121.5), ("32", "江苏省", "Jiangsu", 32.1, 118.8),
    ("33", "浙江省", "Zhejiang", 30.3, 120.2), ("34", "安徽省", "Anhui", 31.9, 117.3), ("35", "福建省", "Fujian", 26.1, 119.3),
    ("36", "江西省", "Jiangxi", 28.7, 115.9), ("41", "河南省", "Henan", 34.8, 113.7), ("42", "湖北省", "Hubei", 30.6, 114.3),
    ("43", "湖南省", "Hunan", 28.2, 113.0), ("44", "广东省", "Guangdong", 23.1, 113.3), ("45", "广西壮族自治区", "Guangxi", 22.8, 108.3),
    ("46", "海南省", "Hainan", 20.0, 110.3), ("50", "重庆市", "Chongqing", 29.6, 106.5), ("51", "四川省", "Sichuan", 30.7, 104.1),
    ("52", "贵州省", "Guizhou", 26.6, 106.7), ("53", "云南省", "Yunnan", 25.0, 102.7), ("54", "西藏自治区", "Tibet", 29.7, 91.1),
    ("61", "陕西省", "Shaanxi", 34.3, 108.9), ("62", "甘肃省", "Gansu", 36.1, 103.8), ("63", "青海省", "Qinghai", 36.6, 101.8),
    ("64", "宁夏回族自治区", "Ningxia", 38.5, 106.3), ("65", "新疆维吾尔自治区", "Xinjiang", 43.8, 87.6),
    ("91", "模拟省一", "Synthetic Province 1", 35.0, 100.0), ("92", "模拟省二", "Synthetic Province 2", 33.0, 105.0),
    ("93", "模拟省三", "Synthetic Province 3", 31.0, 110.0), ("94", "模拟省四", "Synthetic Province 4", 29.0, 115.0),
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志宏海燕鹏飞辉晨亮宁欣怡博文浩然子涵雨轩思远嘉"
MONGOLIAN = ["巴特尔", "其其格", "乌力吉", "苏日娜", "那顺", "额尔敦", "宝音", "萨仁", "朝鲁", "格日勒", "阿拉坦", "图雅"]
BLOOD = ["A", "B", "O", "AB", "", "O", "A"]
TEAM_STATUS = [("active", 0.85), ("forming", 0.06), ("suspended", 0.05), ("exited", 0.04)]
MEMBER_STATUS = [("active", 0.80), ("probation", 0.07), ("applicant", 0.03), ("inactive", 0.04), ("exited", 0.06)]
ITEM_STATUS = [("in_service", 0.885), ("checked_out", 0.03), ("in_maintenance", 0.03), ("lent", 0.01), ("lost", 0.005),
               ("scrapped", 0.04)]
LOG_KINDS = ["task", "rescued", "treated", "hazard", "resource_request", "note", "task", "rescued"]
INCIDENT_KINDS = ["flood", "flash_flood", "blizzard", "grassland_fire", "earthquake", "building_collapse", "road_crash", "ice_jam",
                  "other"]
INCIDENT_NAMES = {"flood": "洪涝", "flash_flood": "山洪", "blizzard": "雪灾", "grassland_fire": "草原火灾", "earthquake": "地震",
                  "building_collapse": "建筑物倒塌", "road_crash": "道路交通事故", "ice_jam": "凌汛", "other": "突发事件"}

# The columns written per table, in the order of the tuples the generators yield.
COLUMNS: dict[str, tuple[str, ...]] = {
    "orgs_unit": ("id", "code", "kind", "parent", "path", "depth", "name_zh", "name_en", "lat", "lon", "population_2020",
                  "from_reference"),
    "teams_team": ("id", "code", "name_zh", "name_en", "unit", "path", "primary_category", "registration_kind",
                   "registration_number", "filing_date", "founded_on", "base_address", "lat", "lon", "status", "status_since", "hub",
                   "contact_phone", "created_at", "self_sufficiency_hours", "party_organisation"),
    "teams_specialty": ("id", "team", "category"),
    "teams_status_change": ("id", "team", "from_status", "to_status", "reason", "effective_on", "changed_by", "changed_at"),
    "teams_grade": ("id", "team", "category", "level", "assessed_on", "valid_until", "status"),
    "teams_filing": ("id", "team", "status", "proposed", "previous", "reason", "filed_by", "filed_by_name", "filed_at", "decided_by",
                     "decided_by_name", "decided_at", "decision_reason"),
    "members_person": ("id", "name", "gender", "birth_date", "id_number_encrypted", "id_number_hash", "id_number_last4", "phone",
                       "blood_type", "emergency_contact", "emergency_phone", "rc_member_number", "skills", "languages", "user",
                       "card_version", "created_at"),
    "members_membership": ("id", "person", "team", "role", "status", "joined_on", "left_on", "exit_reason"),
    "members_membership_event": ("id", "membership", "kind", "from_value", "to_value", "reason", "effective_on", "by_user", "at"),
    "members_certificate": ("id", "person", "type", "number", "issued_on", "expires_on", "file_name", "file_type", "created_at",
                            "source"),
    "members_insurance": ("id", "person", "insurer", "policy_number", "starts_on", "ends_on", "file_name", "file_type", "created_at"),
    "members_hours": ("id", "person", "team", "source", "source_ref", "worked_on", "hours", "note", "status", "entered_by",
                      "decided_by", "created_at"),
    "equipment_item": ("id", "asset_tag", "type", "serial_number", "team", "depot", "owner_path", "storage_location", "status",
                       "acquired_on", "cost", "funding", "expires_on", "notes", "created_at", "kit_template", "container"),
    "equipment_inspection": ("id", "item", "inspected_on", "results", "passed", "next_due", "note", "by_user", "at"),
    "equipment_checkout": ("id", "item", "kind", "person", "person_name", "borrower", "reference", "out_at", "due_back", "out_by",
                           "returned_at", "returned_by", "condition", "note"),
    "equipment_repair": ("id", "item", "description", "started_on", "finished_on", "cost", "by_user", "at"),
    "equipment_scrap": ("id", "item", "reason", "status", "requested_by", "requested_at", "decided_by", "decided_at",
                        "decision_reason"),
    "equipment_stock": ("id", "type", "team", "depot", "owner_path", "location", "quantity"),
    "equipment_movement": ("id", "stock", "kind", "quantity", "balance_after", "reference", "counterpart", "corrects", "note",
                           "by_user", "at"),
    "drills_drill": ("id", "scenario", "series", "title", "organiser_unit", "organiser_team", "org_path", "starts_at", "ends_at",
                     "place", "lat", "lon", "other_participants", "expected_participants", "equipment", "status", "called_at",
                     "assembled_at", "clock_started_at", "clock_paused_at", "paused_seconds", "ended_at", "closed_at",
                     "cancel_reason", "strengths", "created_by", "created_at"),
    "drills_team": ("id", "drill", "team"),
    "drills_unit": ("id", "drill", "unit"),
    "drills_attendance": ("id", "drill", "person", "team", "checked_in_at", "checked_out_at", "late", "method", "role",
                          "recorded_by"),
    "drills_evaluation": ("id", "drill", "objective_id", "rating", "observations", "evaluators", "recorded_by", "recorded_at"),
    "drills_improvement": ("id", "drill", "org_path", "objective_id", "action", "owner", "due_on", "status", "closed_at",
                           "closing_note"),
    "drills_training_plan": ("id", "team", "year", "target_count", "note"),
    "deployments_incident": ("id", "kind", "title", "place", "unit", "org_path", "lat", "lon", "requesting_authority", "severity",
                             "started_at", "source", "created_by", "created_by_name", "created_at"),
    "deployments_deployment": ("id", "incident", "team", "status", "source", "alerted_at", "mobilising_at", "on_scene_at",
                               "demobilising_at", "closed_at", "closing_note", "updated_at", "created_by_name"),
    "deployments_transition": ("id", "deployment", "from_status", "to_status", "at", "recorded_at", "by_user", "by_name", "note"),
    "deployments_member": ("id", "deployment", "person", "team", "added_at", "released_at", "added_by_name", "released_by_name",
                           "release_note"),
    "deployments_item": ("id", "deployment", "asset_tag", "type_name_zh", "checkout_id", "out_at", "added_by_name", "returned_at",
                         "condition", "return_note"),
    "deployments_log": ("id", "deployment", "kind", "occurred_at", "text", "quantity", "lat", "lon", "recorded_at", "recorded_by",
                        "recorded_by_name", "voided_at", "void_reason"),
    "training_organisation": ("id", "unit", "unit_path", "name", "kind", "sector", "created_at"),
    "training_base": ("id", "code", "unit", "unit_path", "kind", "name_zh", "name_en", "address", "capacity", "opening", "active",
                      "created_at"),
    "training_instructor": ("id", "person", "unit", "unit_path", "kind", "qualification_number", "qualified_on",
                            "qualification_expires_on", "last_refresher_on", "stars", "active", "created_at"),
    "training_examiner": ("id", "person", "unit", "unit_path", "qualification_number", "qualified_until", "active", "created_at"),
    "training_session": ("id", "code", "course_version", "unit", "unit_path", "organisation", "sector", "base", "place", "title",
                         "starts_on", "ends_on", "capacity", "status", "reported_attendance", "created_by", "created_at"),
    "training_session_instructor": ("id", "session", "instructor", "hours"),
    "training_enrolment": ("id", "session", "person", "status", "hours", "enrolled_by", "enrolled_at"),
    "training_exam_sitting": ("id", "session", "examiner", "attempt", "held_on", "created_by", "created_at"),
    "training_exam_score": ("id", "sitting", "enrolment", "theory", "practical", "absent", "passed", "entered_by", "entered_at"),
    "training_certificate": ("id", "number", "verify_token", "person", "course_version", "session", "sitting", "examiner",
                             "unit_path", "kind", "issued_on", "expires_on", "revoked_on", "revoked_reason", "revoked_by",
                             "member_certificate", "issued_by", "created_at"),
    "training_certificate_serial": ("id", "prefix", "last"),
    "training_target": ("id", "year", "unit", "unit_path", "label", "line_unit", "organisation", "sector", "certified", "junior",
                        "awareness", "imported_by", "imported_at"),
}


def scaled(fraction: float) -> dict[str, int]:
    return {name: max(1, round(count * fraction)) for name, count in FULL.items()}


def pct_label(fraction: float) -> str:
    """10 for 0.1, 100 for 1.0, 0_2 for 0.002: the suffix of the database and result names."""
    pct = fraction * 100
    return str(round(pct)) if abs(pct - round(pct)) < 1e-9 and pct >= 1 else f"{pct:g}".replace(".", "_")


# The tally of every certificate and awareness session at once: the statements of rescueops.training.progress, set-based;
# the subtree tally is then summed from it by progress's own statement.
TALLY_ALL = """
INSERT INTO training_tally (unit_path, organisation, sector, kind, month, expires_month, certificates, attendances)
SELECT c.unit_path, COALESCE(s.organisation, 0), s.sector, c.kind, CAST(date_trunc('month', c.issued_on) AS date),
       COALESCE(CAST(date_trunc('month', c.expires_on) AS date), '9999-12-01'), COUNT(*), 0
FROM training_certificate c JOIN training_session s ON s.id = c.session WHERE c.revoked_on IS NULL
GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO training_tally (unit_path, organisation, sector, kind, month, expires_month, certificates, attendances)
SELECT s.unit_path, COALESCE(s.organisation, 0), s.sector, c.kind, CAST(date_trunc('month', s.starts_on) AS date), '9999-12-01', 0,
       SUM(s.reported_attendance)
FROM training_session s JOIN training_course_version v ON v.id = s.course_version JOIN training_course c ON c.id = v.course
WHERE s.reported_attendance > 0 GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (unit_path, organisation, sector, kind, month, expires_month)
DO UPDATE SET attendances = training_tally.attendances + excluded.attendances;
"""


# --- the records the generators keep in memory (small: per team and per unit, never per item or movement) ----------


@dataclass
class Unit:
    id: int
    code: str
    kind: str
    path: str
    name_zh: str
    lat: float | None
    lon: float | None
    province: str  # the top-level code: which province it belongs to


@dataclass
class Member:
    person: int
    name: str
    status: str
    role: str
    joined_on: date


@dataclass
class TeamRec:
    id: int
    code: str
    name_zh: str
    unit: Unit
    path: str
    status: str
    categories: list[str]  # primary first
    founded_on: date
    lat: float
    lon: float
    members: list[Member] = field(default_factory=list)
    items_for_deployments: list[tuple[int, str, str]] = field(default_factory=list)  # (item id, asset tag, type name)
    open_deployment_items: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def league(self) -> str:
        parts = [p for p in self.path.strip("/").split("/") if not p.startswith("t:")]
        return parts[1] if len(parts) > 1 else parts[0]

    def on_roster(self, on: date) -> list[Member]:
        return [m for m in self.members if m.status in ("active", "probation") and m.joined_on <= on]

    def active(self) -> list[Member]:
        return [m for m in self.members if m.status == "active"]


class Writer:
    """Rows buffered per table and sent with COPY in batches, in the order the tables are named (parents first), so
    every foreign key finds its row."""

    def __init__(self, conn: Any, *tables: str):
        self.conn = conn
        self.buffers: dict[str, list[tuple[Any, ...]]] = {table: [] for table in tables}
        self.rows = 0

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.buffers[table].append(row)
        self.rows += 1

    async def maybe_flush(self) -> None:
        if self.rows >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        for table, rows in self.buffers.items():
            if rows:
                await self.conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
                rows.clear()
        self.rows = 0


class Ids:
    """The next primary key per table, after what the reference load and the services wrote before the bulk load."""

    def __init__(self, start: dict[str, int]):
        self.next = dict(start)

    def __call__(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def weighted(rng: random.Random, pairs: list[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def checklist_results(checklist: list[str], failed: str | None) -> str:
    """An inspection's results as equipment.record_inspection stores them."""
    return json.dumps([{"point": p, "passed": p != failed} for p in checklist], ensure_ascii=False)


class Generator:
    """One load: the draws, the ids and the small per-team records the later phases need."""

    def __init__(self, conn: Any, fraction: float, seed: int, now: datetime, ref: dict[str, Any], ids: Ids,
                 users: dict[str, dict[str, Any]]):
        from rescueops.calendar import in_china

        self.conn, self.rng, self.ref, self.ids, self.users = conn, random.Random(seed), ref, ids, users
        self.counts = scaled(fraction)
        self.now = now
        self.today = in_china(now).date()
        self.start = now - timedelta(days=365 * YEARS_OF_HISTORY)
        self.units: list[Unit] = []
        self.depots: list[Unit] = []
        self.teams: list[TeamRec] = []
        self.open_plan: list[tuple[TeamRec, list[Member], int]] = []  # (team, people, items) of each open deployment
        self.sample: dict[str, Any] = {}
        self.id_numbers: set[str] = set()

    def moment(self, day: date, hour: float = 9.0) -> datetime:
        """An hour of a China-time day, as an aware UTC time (how the services store times)."""
        from rescueops.calendar import CHINA

        return datetime(day.year, day.month, day.day, tzinfo=CHINA).astimezone(UTC) + timedelta(hours=hour)

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    def name(self, mongolian: bool) -> str:
        rng = self.rng
        if mongolian and rng.random() < 0.35:
            return rng.choice(MONGOLIAN)
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))

    def by(self, role: str) -> tuple[int, str, str]:
        """(user id, username, display name) of one of the bench users, who stand in for every recorder."""
        user = self.users[role]
        return user["id"], user["username"], user["display_name"]

    # --- organisation tree ------------------------------------------------------------------------------------

    async def orgs(self) -> None:
        """Inner Mongolia's leagues and counties from the reference; thirty generated provinces of 12 leagues and ~90
        counties each, shaped as orgs.service.create_unit makes them (path = parent's path + code + "/", depth from the
        path); one reserve depot per province and one in Chifeng."""
        from rescueops.db.paths import child_path

        rng, w = self.rng, Writer(self.conn, "orgs_unit")
        for row in self.ref["units"].values():
            if row["kind"] in ("league", "county", "region") and row["path"].startswith("/150000/"):
                unit = Unit(row["id"], row["code"], row["kind"], row["path"], row["name_zh"], row["lat"], row["lon"], "150000")
                if row["kind"] != "region":
                    self.units.append(unit)

        def add(code: str, kind: str, parent: Unit | None, name_zh: str, name_en: str, lat: float, lon: float,
                population: int | None = None) -> Unit:
            path = child_path(parent.path if parent else None, code)
            made = Unit(self.ids("orgs_unit"), code, kind, path, name_zh, lat, lon, path.split("/")[1])
            w.add("orgs_unit", (made.id, code, kind, parent.id if parent else None, path, path.count("/") - 2, name_zh, name_en,
                                lat, lon, population, False))
            return made

        for code in (SAMPLE_REGION, SAMPLE_LEAGUE):
            row = self.ref["units"][code]
            parent = Unit(row["id"], code, row["kind"], row["path"], row["name_zh"], row["lat"], row["lon"], "150000")
            self.depots.append(add(f"{code}-D01", "depot", parent, f"{row['name_zh']}红十字会应急物资储备库（基准测试）",
                                   f"{row['name_en']} reserve depot (benchmark)", row["lat"] + 0.01, row["lon"] + 0.01))
        for prefix, name_zh, name_en, lat, lon in PROVINCES[: self.counts["provinces"]]:
            province = add(f"{prefix}0000", "region", None, f"{name_zh}（基准测试）", f"{name_en} (benchmark)", lat, lon,
                           rng.randint(5, 100) * 1000000)
            self.depots.append(add(f"{prefix}0000-D01", "depot", province, f"{name_zh}红十字会应急物资储备库",
                                   f"{name_en} reserve depot", lat + 0.02, lon + 0.02))
            sizes = [COUNTIES_PER_PROVINCE // LEAGUES_PER_PROVINCE] * LEAGUES_PER_PROVINCE
            for extra in rng.sample(range(LEAGUES_PER_PROVINCE), COUNTIES_PER_PROVINCE % LEAGUES_PER_PROVINCE):
                sizes[extra] += 1
            for league_no, size in enumerate(sizes, start=1):
                llat, llon = round(lat + rng.uniform(-3, 3), 4), round(lon + rng.uniform(-3, 3), 4)
                league = add(f"{prefix}{league_no:02d}00", "league", province, f"{name_zh[:2]}第{league_no}市",
                             f"{name_en} city {league_no}", llat, llon, rng.randint(50, 900) * 10000)
                self.units.append(league)
                for county_no in range(1, size + 1):
                    self.units.append(add(f"{prefix}{league_no:02d}{county_no:02d}", "county", league, f"{league.name_zh}第{county_no}县",
                                          f"{name_en} city {league_no} county {county_no}", round(llat + rng.uniform(-0.8, 0.8), 4),
                                          round(llon + rng.uniform(-0.8, 0.8), 4)))
        await w.flush()

    # --- teams ------------------------------------------------------------------------------------------------

    async def teams_phase(self) -> None:
        """Teams under counties (mostly) and leagues, as teams.create_team writes them (path = unit path + "t:CODE/"),
        with specialties, the status history of their lifecycle and, for some, a grade."""
        from rescueops.calendar import add_months

        rng, ref = self.rng, self.ref
        w = Writer(self.conn, "teams_team", "teams_specialty", "teams_status_change", "teams_grade")
        categories = ref["categories"]
        graded = [c for c, row in categories.items() if row["graded"]]
        others = [c for c, row in categories.items() if not row["graded"]]
        counties = [u for u in self.units if u.kind == "county"]
        leagues = [u for u in self.units if u.kind == "league"]
        per_unit: dict[str, int] = {}
        supervisor = self.by("league")[0]
        for index in range(self.counts["teams"]):
            if index == 0:
                unit = next(u for u in counties if u.code == SAMPLE_TEAM[0])
                code, status = SAMPLE_TEAM[1], "active"
            else:
                unit = rng.choice(counties) if rng.random() < 0.8 else rng.choice(leagues)
                per_unit[unit.code] = per_unit.get(unit.code, 0) + 1
                code, status = f"T{unit.code}-{per_unit[unit.code]:02d}", weighted(rng, TEAM_STATUS)
            primary = "search_rescue" if index == 0 else rng.choice(graded) if rng.random() < 0.9 else rng.choice(others)
            specialties = rng.sample([c for c in graded if c != primary], rng.choice((0, 1, 1, 2)))
            founded = self.day_between(self.start.date() - timedelta(days=365 * 4), self.today - timedelta(days=150))
            lat = round((unit.lat or 40.0) + rng.uniform(-0.05, 0.05), 5)
            lon = round((unit.lon or 110.0) + rng.uniform(-0.05, 0.05), 5)
            team = TeamRec(self.ids("teams_team"), code, f"{unit.name_zh}红十字{categories[primary]['name_zh']}救援队", unit,
                           f"{unit.path}t:{code}/", status, [primary, *specialties], founded, lat, lon)
            self.teams.append(team)
            filed = founded + timedelta(days=20)
            history = [("", "forming", "created", founded)]
            if status != "forming":
                history.append(("forming", "active", "备案完成，队伍正式组建", filed + timedelta(days=4)))
            if status in ("suspended", "exited"):
                history.append(("active", status, "队伍整改" if status == "suspended" else "队伍撤销",
                                self.day_between(filed + timedelta(days=30), self.today - timedelta(days=5))))
            registration = rng.choice(("civil_affairs", "red_cross_filing"))
            number = (f"{unit.code}红发〔{founded.year}〕{rng.randint(1, 40)}号" if registration == "red_cross_filing"
                      else f"5215{unit.code}{rng.randint(10**7, 10**8 - 1)}")
            w.add("teams_team", (
                team.id, code, team.name_zh, f"{unit.code} Red Cross {categories[primary]['name_en']} Team", unit.id, team.path,
                categories[primary]["id"], registration, number, filed, founded, f"{unit.name_zh}{rng.randint(1, 300)}号", lat, lon,
                status, history[-1][3], None, f"0{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}", self.moment(founded, 1),
                rng.choice((None, 24, 48, 72)), rng.choice(("", "", "branch", "joint_branch", "working_group"))))
            for category in specialties:
                w.add("teams_specialty", (self.ids("teams_specialty"), team.id, categories[category]["id"]))
            for from_status, to_status, reason, on in history:
                w.add("teams_status_change", (self.ids("teams_status_change"), team.id, from_status, to_status, reason, on,
                                              None if to_status == "forming" else supervisor, self.moment(on, 2)))
            if status in ("active", "suspended") and primary in graded and rng.random() < 0.3:
                assessed = self.day_between(filed + timedelta(days=60), self.today - timedelta(days=10))
                w.add("teams_grade", (self.ids("teams_grade"), team.id, categories[primary]["id"], rng.choice((1, 2, 2, 3, 3, 3)),
                                      assessed, add_months(assessed, 36), "suspended" if status == "suspended" else "active"))
            await w.maybe_flush()
        await w.flush()
        self.sample["teams"] = [{"code": t.code, "league": t.league, "unit": t.unit.code, "category": t.categories[0],
                                 "categories": t.categories} for t in self.sample_teams()]

    def sample_teams(self) -> list[TeamRec]:
        """The captain's team, then active teams of its league, then of anywhere: deterministic, up to ten."""
        active = [t for t in self.teams[1:] if t.status == "active"]
        chosen = [self.teams[0]] + [t for t in active if t.league == SAMPLE_LEAGUE]
        chosen += [t for t in active if t not in chosen]
        return chosen[:10]

    # --- members --------------------------------------------------------------------------------------------

    def id_number(self, area: str, born: date, male: bool) -> str:
        """A valid, unused 18-character resident ID number (GB 11643 check digit; odd sequence for men)."""
        from rescueops.members.identity import check_digit

        while True:
            first17 = f"{area}{born:%Y%m%d}{self.rng.randrange(0, 500) * 2 + (1 if male else 0):03d}"
            number = first17 + check_digit(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def roster_sizes(self) -> list[int]:
        """Members per team, around the mean, at least six, summing to the scaled member count."""
        rng, total, count = self.rng, self.counts["members"], len(self.teams)
        mean = total / count
        sizes = [max(6, round(rng.gauss(mean, mean / 3))) for _ in range(count)]
        excess = sum(sizes) - total
        while excess and any(s > 6 for s in sizes):
            index = rng.randrange(count)
            if excess < 0:
                sizes[index] += 1
                excess += 1
            elif sizes[index] > 6:
                sizes[index] -= 1
                excess -= 1
        return sizes

    async def members_phase(self) -> None:
        """People (ID numbers valid per GB 11643, encrypted and hashed with rescueops.crypto as members.join_team does),
        memberships with their events (joined, later status changes, roles from the approved leadership filing),
        certificates (expiry from the type's validity, as members.add_certificate sets it) and insurance."""
        from rescueops import crypto
        from rescueops.calendar import add_months

        rng, ref = self.rng, self.ref
        w = Writer(self.conn, "members_person", "members_membership", "members_membership_event", "members_certificate",
                   "members_insurance", "teams_filing")
        captain_id, _, captain_name = self.by("captain")
        league_id, _, league_name = self.by("league")
        certificate_types = ref["certificate_types"]
        first_aid = [c for c, row in certificate_types.items() if row["first_aid"]]
        other_certs = [c for c, row in certificate_types.items() if not row["first_aid"]]
        for team, size in zip(self.teams, self.roster_sizes(), strict=True):
            mongolian = team.path.startswith("/150000/")
            area = team.unit.code if team.unit.kind == "county" else team.unit.code[:4] + "02"
            # The first leadership filing (备案): approved and applied for teams past forming, waiting for a third of the
            # forming ones; captain and deputies are the first, active, members.
            filing = "approved" if team.status != "forming" else ("pending" if rng.random() < 0.33 else None)
            deputies = rng.choice((2, 2, 3)) if filing else 0
            leaders = 1 + deputies if filing else 0
            decided_at = self.moment(team.founded_on + timedelta(days=23), 10)
            for index in range(size):
                male = rng.random() < 0.62
                born = self.day_between(date(1965, 1, 1), date(2004, 12, 31))
                number = self.id_number(area, born, male)
                person = self.ids("members_person")
                name = self.name(mongolian)
                leader = index < leaders
                status = "active" if leader else weighted(rng, MEMBER_STATUS)
                joined = team.founded_on if leader else self.day_between(team.founded_on, self.today - timedelta(days=7))
                w.add("members_person", (
                    person, name, "male" if male else "female", born, crypto.encrypt(number), crypto.lookup_hash(number), number[-4:],
                    f"1{rng.choice('3578')}{rng.randint(100000000, 999999999)}" if rng.random() < 0.98 else "",
                    rng.choice(BLOOD), self.name(mongolian) if rng.random() < 0.9 else "",
                    f"13{rng.randint(100000000, 999999999)}" if rng.random() < 0.9 else "",
                    f"RC{team.unit.code}{person:07d}" if rng.random() < 0.5 else "", "驾驶" if rng.random() < 0.1 else "",
                    json.dumps(["zh", "mn"] if mongolian and rng.random() < 0.4 else ["zh"]), None, 1, self.moment(joined, 1)))
                if not leader and rng.random() < 0.1 and joined > team.founded_on + timedelta(days=400):
                    self._earlier_stay(w, person, team, joined)
                joined_as = status if status in ("active", "probation", "applicant") else "active"
                if status == "active" and not leader and rng.random() < 0.3:
                    joined_as = "probation"  # passed probation later
                role = "member" if joined_as == "active" or status == "active" else "probationary"
                if leader and filing == "approved":
                    role = "captain" if index == 0 else "deputy_captain"
                membership = self.ids("members_membership")
                left_on, reason, changed = None, "", None
                if joined_as != status:
                    changed = self.day_between(joined, self.today - timedelta(days=1))
                    reason = "见习期满" if status == "active" else "个人原因"
                    left_on = changed if status == "exited" else None
                w.add("members_membership", (membership, person, team.id, role, status, joined, left_on,
                                             reason if status == "exited" else ""))
                self._event(w, membership, "status", "", joined_as, "joined", joined, captain_id)
                if changed is not None:
                    self._event(w, membership, "status", joined_as, status, reason, changed, captain_id)
                if role in ("captain", "deputy_captain"):
                    self._event(w, membership, "role", "member", role, "leadership filing approved", decided_at.date(), league_id)
                team.members.append(Member(person, name, status, role, joined))
                if status != "exited":
                    if rng.random() < 0.75:
                        self._certificate(w, person, certificate_types[first_aid[0] if rng.random() < 0.7 else rng.choice(first_aid)])
                    if rng.random() < 0.25:
                        self._certificate(w, person, certificate_types[rng.choice(other_certs)])
                    if rng.random() < 0.6:
                        starts = self.day_between(self.today - timedelta(days=360), self.today - timedelta(days=1))
                        w.add("members_insurance", (self.ids("members_insurance"), person, rng.choice(("中国人寿", "中国平安", "太平洋保险")),
                                                    f"P{person:09d}", starts, add_months(starts, 12) - timedelta(days=1), "", "",
                                                    self.moment(starts, 3)))
            if filing:
                lead = team.members[:leaders]
                w.add("teams_filing", (
                    self.ids("teams_filing"), team.id, filing, json.dumps({"captain": lead[0].person, "deputies": [m.person for m in lead[1:]]}),
                    json.dumps({"captain": None, "deputies": []}), "队伍组建，首次备案队长和副队长", captain_id, captain_name,
                    decided_at - timedelta(days=3), *((league_id, league_name, decided_at, "同意备案") if filing == "approved" else
                                                      (None, "", None, ""))))
            await w.maybe_flush()
        await w.flush()

    def _earlier_stay(self, w: Writer, person: int, team: TeamRec, joined: date) -> None:
        """A closed membership in another team before this one (a person is kept once, however many teams they pass through)."""
        other = self.teams[self.rng.randrange(len(self.teams))]
        if other is team:
            return
        began = joined - timedelta(days=self.rng.randint(200, 380))
        left = joined - timedelta(days=self.rng.randint(5, 60))
        earlier = self.ids("members_membership")
        w.add("members_membership", (earlier, person, other.id, "member", "exited", began, left, "调动到其他队伍"))
        self._event(w, earlier, "status", "", "active", "joined", began, self.by("captain")[0])
        self._event(w, earlier, "status", "active", "exited", "调动到其他队伍", left, self.by("captain")[0])

    def _event(self, w: Writer, membership: int, kind: str, before: str, after: str, reason: str, on: date, by: int | None) -> None:
        w.add("members_membership_event", (self.ids("members_membership_event"), membership, kind, before, after, reason, on, by,
                                           self.moment(on, 4)))

    def _certificate(self, w: Writer, person: int, kind: dict[str, Any]) -> None:
        from rescueops.calendar import add_months

        issued = self.day_between(self.today - timedelta(days=365 * 4), self.today - timedelta(days=10))
        expires = add_months(issued, kind["validity_months"]) if kind["validity_months"] else None
        w.add("members_certificate", (self.ids("members_certificate"), person, kind["id"], f"{kind['code'].upper()}-{issued.year}-{person:07d}",
                                      issued, expires, "", "", self.moment(issued, 5), ""))

    # --- deployments that are open now: planned first, because their items are checked out ---------------------

    def plan_open_deployments(self) -> None:
        """Open deployments (for log appends): two of the captain's team, the rest of other active teams. Their people
        and items are chosen now; the equipment phase writes those items as checked out."""
        rng = self.rng
        count = max(3, round(self.counts["deployments"] * 0.01))
        sample = self.teams[0]
        active = sample.active()
        half = max(1, min(8, len(active) // 2))
        self.open_plan = [(sample, active[:half], 2), (sample, active[half: 2 * half], 1)]
        others = [t for t in self.teams[1:] if t.status == "active" and len(t.active()) >= 4]
        for team in rng.sample(others, min(len(others), count - 2)):
            people = team.active()
            self.open_plan.append((team, rng.sample(people, rng.randint(3, min(10, len(people)))), rng.randint(1, 3)))

    # --- equipment ----------------------------------------------------------------------------------------------

    async def equipment_phase(self) -> None:
        """Items (a kit with its packed items first, for teams of a category with a kit template), inspections on the
        types' checklists and intervals, check-outs (open for items out, closed history), repairs and scrapping."""
        rng, ref = self.rng, self.ref
        w = Writer(self.conn, "equipment_item", "equipment_inspection", "equipment_checkout", "equipment_repair", "equipment_scrap")
        types = ref["equipment_types"]
        item_types = [t for t in types.values() if t["tracking"] == "item" and t["code"] != "kit"]
        templates = ref["kit_templates"]
        reserved = {}
        for team, _, count in self.open_plan:
            reserved[team.id] = reserved.get(team.id, 0) + count
        total = self.counts["items"]
        depot_items = round(total * 0.05) if self.depots else 0
        members_total = sum(len(t.members) for t in self.teams)
        quotas = [round((total - depot_items) * len(t.members) / members_total) for t in self.teams]
        quotas[0] += total - depot_items - sum(quotas)
        tags: list[str] = []
        tagged_teams = {t.id for t in self.sample_teams()[:3]}
        spread = max(1, (len(self.teams) + len(self.depots)) // 40)
        owners: list[tuple[TeamRec | None, Unit | None, int]] = [(t, None, q) for t, q in zip(self.teams, quotas, strict=True)]
        owners += [(None, d, depot_items // len(self.depots) + (1 if i < depot_items % len(self.depots) else 0))
                   for i, d in enumerate(self.depots)]
        for position, (team, depot, quota) in enumerate(owners):
            code = team.code if team else depot.code
            categories = set(team.categories) if team else {c for t in item_types for c in t["categories"]}
            weights = [5.0 if categories & set(t["categories"]) else 0.5 for t in item_types]
            plan: list[tuple[dict[str, Any], int | None, int | None]] = []  # (type, kit template, container index)
            template = templates.get(team.categories[0]) if team and team.status == "active" else None
            if template and quota > 12:
                plan.append((types["kit"], template["id"], None))
                plan += [(types[line["type"]], None, 0) for line in template["lines"] for _ in range(line["quantity"])]
            plan += [(t, None, None) for t in rng.choices(item_types, weights=weights, k=max(0, quota - len(plan)))]
            kit_id, tagged = None, 0
            to_reserve = reserved.get(team.id, 0) if team else 0
            for number, (kind, template_id, container) in enumerate(plan, start=1):
                item = self.ids("equipment_item")
                if template_id is not None:
                    kit_id = item
                packed = template_id is not None or (container is not None and rng.random() < 0.9)  # kits mostly ready
                status = "in_service" if packed else weighted(rng, ITEM_STATUS)
                free = status == "in_service" and template_id is None and container is None
                if free and to_reserve:
                    status, to_reserve = "checked_out", to_reserve - 1
                    team.open_deployment_items.append((item, f"{code}-{number:05d}", kind["name_zh"]))
                elif free and team and len(team.items_for_deployments) < 6:
                    team.items_for_deployments.append((item, f"{code}-{number:05d}", kind["name_zh"]))
                if status == "in_service" and free and tagged < 3 and (position % spread == 0 or (team and team.id in tagged_teams)):
                    tags.append(f"{code}-{number:05d}")  # the first three free items of some owners: the scans to drive
                    tagged += 1
                self._item(w, item, f"{code}-{number:05d}", kind, team, depot, status, template_id,
                           kit_id if container is not None else None, position, on_deployment=status == "checked_out" and free)
                await w.maybe_flush()
        await w.flush()
        self.sample["asset_tags"] = tags[:60]

    def _item(self, w: Writer, item: int, tag: str, kind: dict[str, Any], team: TeamRec | None, depot: Unit | None, status: str,
              template: int | None, container: int | None, position: int, on_deployment: bool) -> None:
        from rescueops.calendar import add_months

        rng = self.rng
        acquired = self.day_between(self.today - timedelta(days=365 * 8), self.today - timedelta(days=30)) if rng.random() < 0.95 else None
        # register_item derives the expiry from the type's shelf life when none is given.
        expires = add_months(acquired, kind["shelf_life_months"]) if acquired and kind["shelf_life_months"] else None
        owner_path = team.path if team else depot.path
        w.add("equipment_item", (item, tag, kind["id"], f"SN{rng.randint(10**9, 10**10 - 1)}" if rng.random() < 0.9 else "",
                                 team.id if team else None, depot.id if depot else None, owner_path,
                                 rng.choice(("库房", "库房 A 区", "车载")) if rng.random() < 0.7 else "", status, acquired,
                                 Decimal(rng.randint(200, 200000)) if rng.random() < 0.8 else None,
                                 rng.choice(("fiscal", "fiscal", "donation", "project")), expires, "",
                                 self.moment(acquired or self.today - timedelta(days=30), 6), template, container))
        months, checklist = kind["inspection_months"], kind["checklist"]
        inspected = None
        if months and checklist and status not in ("scrapped", "lost") and rng.random() < 0.85:
            inspected = self.day_between(self.today - timedelta(days=30 * months + 20), self.today - timedelta(days=1))
            if rng.random() < 0.4:
                earlier = add_months(inspected, -months)
                w.add("equipment_inspection", (self.ids("equipment_inspection"), item, earlier, checklist_results(checklist, None), True,
                                               add_months(earlier, months), "", None, self.moment(earlier, 7)))
            failed = rng.choice(checklist) if status == "in_maintenance" else None
            w.add("equipment_inspection", (self.ids("equipment_inspection"), item, inspected, checklist_results(checklist, failed),
                                           failed is None, add_months(inspected, months), "", None, self.moment(inspected, 7)))
        if status == "in_maintenance":
            started = inspected or self.day_between(self.today - timedelta(days=60), self.today - timedelta(days=1))
            w.add("equipment_repair", (self.ids("equipment_repair"), item, "检查不合格，送修", started, None, None, None,
                                       self.moment(started, 8)))
        elif status == "in_service" and rng.random() < 0.02:
            started = self.day_between(self.today - timedelta(days=700), self.today - timedelta(days=40))
            w.add("equipment_repair", (self.ids("equipment_repair"), item, "日常维修；更换配件", started, started + timedelta(days=7),
                                       Decimal(rng.randint(50, 3000)), None, self.moment(started, 8)))
        elif status == "scrapped":
            day = self.day_between(self.today - timedelta(days=700), self.today - timedelta(days=5))
            w.add("equipment_scrap", (self.ids("equipment_scrap"), item, "超过使用年限，无法修复", "approved", self.by("captain")[0],
                                      self.moment(day, 9), self.by("league")[0], self.moment(day + timedelta(days=2), 9), "同意报废"))
        if status == "checked_out" and not on_deployment:  # a deployment's check-out is written with the deployment
            out = self.now - timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8))
            holder = rng.choice(team.active() or team.members) if team and team.members else None
            self._checkout(w, item, "member" if holder else "drill", holder, None, "" if holder else "演练借用", out,
                           out.date() + timedelta(days=rng.randint(3, 30)), None, None)
        elif status == "lent":
            out = self.now - timedelta(days=rng.randint(1, 40))
            borrower = self.teams[(position * 7 + 1) % len(self.teams)]
            self._checkout(w, item, "loan", None, borrower.id, "", out, out.date() + timedelta(days=30), None, None)
        elif status == "lost":
            out = self.now - timedelta(days=rng.randint(30, 300))
            self._checkout(w, item, "drill", None, None, "演练", out, out.date() + timedelta(days=3), out + timedelta(days=2), "lost")
        elif status == "in_service" and rng.random() < 0.05:
            out = self.now - timedelta(days=rng.randint(30, 900))
            self._checkout(w, item, "drill", None, None, "训练", out, out.date() + timedelta(days=2), out + timedelta(days=1), "ok")

    def _checkout(self, w: Writer, item: int, kind: str, holder: Member | None, borrower: int | None, reference: str,
                  out: datetime, due: date, returned: datetime | None, condition: str | None, note: str = "") -> int:
        checkout = self.ids("equipment_checkout")
        w.add("equipment_checkout", (checkout, item, kind, holder.person if holder else None, holder.name if holder else "", borrower,
                                     reference, out, due, None, returned, None, condition, note))
        return checkout

    # --- stock and its ledger -------------------------------------------------------------------------------------

    async def stock_phase(self) -> None:
        """Balances per (type, owner, location) and a ledger in time order: receipts, issues, consumption, write-offs,
        adjustments, corrections naming the movement they correct, and transfers written as both sides with their
        counterparts. Each movement carries the balance after it and no balance goes below zero, as equipment._apply
        keeps them; the balances are then set to the ledger's end."""
        rng, types = self.rng, self.ref["equipment_types"]
        stock_types = [t for t in types.values() if t["tracking"] == "stock"]
        w = Writer(self.conn, "equipment_stock")
        stocks: list[tuple[int, int, bool]] = []  # (stock id, type id, is a depot's)
        for team in self.teams:
            if team.status == "exited":
                continue
            weights = [5.0 if set(team.categories) & set(t["categories"]) else 0.5 for t in stock_types]
            for kind in {t["code"]: t for t in rng.choices(stock_types, weights=weights, k=rng.randint(3, 6))}.values():
                for location in ("", "车载") if rng.random() < 0.2 else ("",):
                    stocks.append((self.ids("equipment_stock"), kind["id"], False))
                    w.add("equipment_stock", (stocks[-1][0], kind["id"], team.id, None, team.path, location, 0))
        for depot in self.depots:
            for kind in stock_types:
                stocks.append((self.ids("equipment_stock"), kind["id"], True))
                w.add("equipment_stock", (stocks[-1][0], kind["id"], None, depot.id, depot.path, "", 0))
        await w.flush()
        balances = await self._ledger(stocks)
        await self.conn.execute(
            "UPDATE equipment_stock SET quantity = v.quantity FROM (SELECT unnest($1::int[]) AS id, unnest($2::int[]) AS quantity) v "
            "WHERE equipment_stock.id = v.id", [s[0] for s in stocks], balances)

    async def _ledger(self, stocks: list[tuple[int, int, bool]]) -> list[int]:
        rng = self.rng
        w = Writer(self.conn, "equipment_movement")
        by_type: dict[int, list[int]] = {}
        for index, (_, type_id, _) in enumerate(stocks):
            by_type.setdefault(type_id, []).append(index)
        balances = [0] * len(stocks)
        last: list[int | None] = [None] * len(stocks)  # the last correctable movement per stock
        total = max(self.counts["movements"], len(stocks))
        span = (self.now - timedelta(hours=1) - self.start).total_seconds()
        step = span / total
        cumulative = list(itertools.accumulate(5.0 if depot else 1.0 for _, _, depot in stocks))

        def stream() -> Iterator[int]:  # which balance moves next, drawn a batch at a time (depots five times as often)
            while True:
                yield from rng.choices(range(len(stocks)), cum_weights=cumulative, k=BATCH)

        picks, written = stream(), 0

        def move(index: int, kind: str, delta: int, at: datetime, reference: str, counterpart: int | None = None,
                 corrects: int | None = None) -> int:
            balances[index] += delta
            movement = self.ids("equipment_movement")
            w.add("equipment_movement", (movement, stocks[index][0], kind, delta, balances[index], reference, counterpart, corrects, "",
                                         None, at))
            return movement

        while written < total:
            at = self.start + timedelta(seconds=written * step)
            index = written if written < len(stocks) else next(picks)  # every balance starts with a receipt
            depot, balance, roll = stocks[index][2], balances[index], rng.random()
            if balance <= 0 or roll < 0.25:
                last[index] = move(index, "receive", rng.randint(20, 300) if depot else rng.randint(5, 60), at, f"入库单 RK{written:07d}")
            elif roll < 0.5:
                last[index] = move(index, "issue", -rng.randint(1, min(balance, 20)), at, "领用")
            elif roll < 0.68:
                last[index] = move(index, "consume", -rng.randint(1, min(balance, 10)), at, "训练消耗")
            elif roll < 0.86 and total - written >= 2 and len(by_type[stocks[index][1]]) > 1:
                other = rng.choice(by_type[stocks[index][1]])
                if other != index:
                    quantity = rng.randint(1, min(balance, 50))
                    move(index, "transfer_out", -quantity, at, f"调拨 DB{written:07d}", counterpart=stocks[other][0])
                    move(other, "transfer_in", quantity, at, f"调拨 DB{written:07d}", counterpart=stocks[index][0])
                    written += 1
                else:
                    last[index] = move(index, "receive", rng.randint(5, 60), at, f"入库单 RK{written:07d}")
            elif roll < 0.93:
                last[index] = move(index, "write_off", -rng.randint(1, min(balance, 5)), at, "损耗报损")
            elif roll < 0.99 or last[index] is None:
                last[index] = move(index, "adjust", rng.choice((-1, 1, 2)) if balance > 1 else 1, at, "盘点调整")
            else:  # a correction: an adjustment naming the movement it corrects (equipment.correct_movement)
                move(index, "adjust", 1, at, f"更正台账 #{last[index]}", corrects=last[index])
            written += 1
            if w.rows >= BATCH:
                await w.flush()
        await w.flush()
        return balances

    # --- drills ------------------------------------------------------------------------------------------------

    async def drills_phase(self) -> None:
        """Drills from the scenario library over three years and the next three months: planned ahead, closed (with
        attendance, the evaluation of every objective, improvement items and the hours credited in quarter hours as
        drills.close_drill does), ended, cancelled; running drills of the captain's team to check in to; training plans."""
        from rescueops.calendar import quarter_hours

        rng, scenarios = self.rng, self.ref["scenarios"]
        w = Writer(self.conn, "drills_drill", "drills_team", "drills_unit", "drills_attendance", "drills_evaluation",
                   "drills_improvement", "members_hours", "drills_training_plan")
        _, captain_username, _ = self.by("captain")
        teams = [t for t in self.teams if t.status != "exited"]
        by_league: dict[str, list[TeamRec]] = {}
        for team in teams:
            by_league.setdefault(team.league, []).append(team)
        league_units = {u.code: u for u in self.units if u.kind == "league"} | {
            code: Unit(row["id"], code, row["kind"], row["path"], row["name_zh"], row["lat"], row["lon"], "150000")
            for code, row in self.ref["units"].items() if row["kind"] == "league"}
        depots_of = {d.province: d for d in self.depots}
        calendar: list[int] = []
        window = (self.today - timedelta(days=30), self.today + timedelta(days=30))
        for _ in range(self.counts["drills"]):
            team = rng.choice(teams)
            day = self.day_between(self.start.date(), self.today + timedelta(days=90))
            suitable = [s for s in scenarios if set(s["categories"]) & set(team.categories)] or scenarios
            scenario = rng.choice(suitable)
            starts = self.moment(day, rng.choice((1, 2, 3, 5, 6)))
            ends = starts + timedelta(minutes=scenario["duration_minutes"])
            invited, organiser_unit, organiser_team, org_path = [team], team.unit, team, team.path
            if rng.random() < 0.15:  # a joint drill organised by the league's branch
                league = league_units[team.league]
                invited += rng.sample([t for t in by_league[team.league] if t is not team], min(3, len(by_league[team.league]) - 1))
                organiser_unit, organiser_team, org_path = league, None, league.path
            drill = self._drill(w, scenario, organiser_unit, organiser_team, org_path, invited, starts, ends, team)
            if rng.random() < 0.3 and organiser_team is None and organiser_unit.province in depots_of:
                w.add("drills_unit", (self.ids("drills_unit"), drill["id"], depots_of[organiser_unit.province].id))
            if window[0] <= day <= window[1] and org_path.startswith(self.ref["units"][SAMPLE_LEAGUE]["path"]) and len(calendar) < 40:
                calendar.append(drill["id"])
            if drill["status"] in ("closed", "ended"):
                ended = drill["ended_at"]
                for guest in invited:
                    present = guest.on_roster(day)
                    for member in rng.sample(present, round(len(present) * rng.uniform(0.25, 0.55))):
                        checked_in = starts - timedelta(minutes=rng.randint(0, 30)) if rng.random() < 0.9 else starts + timedelta(
                            minutes=rng.randint(1, 20))
                        checked_out = ends if rng.random() < 0.3 else None
                        w.add("drills_attendance", (self.ids("drills_attendance"), drill["id"], member.person, guest.id, checked_in,
                                                    checked_out, checked_in > starts, rng.choice(("scan", "roll_call")), "",
                                                    captain_username))
                        hours = quarter_hours(checked_in, min(checked_out or ended, ended))
                        if drill["status"] == "closed" and hours > 0:
                            w.add("members_hours", (self.ids("members_hours"), member.person, guest.id, "drill", f"drill:{drill['id']}",
                                                    starts.date(), hours, drill["title"], "approved", None, None, drill["closed_at"]))
                if drill["status"] == "closed":
                    self._evaluation(w, drill, scenario, org_path)
            await w.maybe_flush()
        sample = self.teams[0]
        checkin = []
        for _ in range(CHECKIN_DRILLS):
            scenario = next(s for s in scenarios if "search_rescue" in s["categories"])
            starts = self.now - timedelta(hours=1)
            drill = self._drill(w, scenario, sample.unit, sample, sample.path, [sample], starts, self.now + timedelta(days=14), sample,
                                status="running")
            checkin.append(drill["id"])
        year = self.today.year
        for team in teams:
            if team.status == "active":
                w.add("drills_training_plan", (self.ids("drills_training_plan"), team.id, year, rng.randint(4, 12), ""))
        await w.flush()
        self.sample["drills"] = {"ids": calendar, "from": window[0].isoformat(), "to": window[1].isoformat(),
                                 "league": SAMPLE_LEAGUE, "team": sample.code}
        self.sample["checkin"] = {"team": sample.code, "drill_ids": checkin}

    def _drill(self, w: Writer, scenario: dict[str, Any], unit: Unit, organiser: TeamRec | None, org_path: str,
               invited: list[TeamRec], starts: datetime, ends: datetime, place: TeamRec, status: str | None = None) -> dict[str, Any]:
        rng = self.rng
        if status is None:
            if ends > self.now:  # ahead, or under way now: still planned (check-in open)
                status = "cancelled" if starts > self.now and rng.random() < 0.03 else "planned"
            else:
                age = (self.now - ends).days
                status = "cancelled" if rng.random() < 0.05 else "ended" if age < 20 and rng.random() < 0.5 else "closed"
        drill = {"id": self.ids("drills_drill"), "status": status, "title": scenario["title_zh"],
                 "ended_at": ends + timedelta(minutes=10) if status in ("ended", "closed") else None,
                 "closed_at": ends + timedelta(days=rng.randint(1, 10)) if status == "closed" else None}
        called = assembled = None
        if scenario["measures_mobilisation"] and status in ("ended", "closed"):
            called = starts - timedelta(minutes=90)
            assembled = called + timedelta(minutes=rng.randint(20, 120))
        w.add("drills_drill", (
            drill["id"], scenario["id"], None, scenario["title_zh"], unit.id, organiser.id if organiser else None, org_path, starts, ends,
            f"{place.unit.name_zh}训练场", place.lat, place.lon, json.dumps(["应急管理局"] if rng.random() < 0.1 else [], ensure_ascii=False),
            sum(len(t.members) for t in invited) // 2, json.dumps(scenario["equipment"]), status, called, assembled,
            starts if status == "running" else None, None, 0, drill["ended_at"], drill["closed_at"],
            "天气原因" if status == "cancelled" else "", json.dumps(["组织有序"] if status == "closed" else [], ensure_ascii=False),
            self.by("captain")[1], starts - timedelta(days=14)))
        for team in invited:
            w.add("drills_team", (self.ids("drills_team"), drill["id"], team.id))
        return drill

    def _evaluation(self, w: Writer, drill: dict[str, Any], scenario: dict[str, Any], org_path: str) -> None:
        rng, recorded = self.rng, drill["ended_at"] + timedelta(hours=2)
        for objective in scenario["objectives"]:
            rating = rng.choices(("P", "S", "M", "U"), weights=(50, 35, 12, 3))[0]
            w.add("drills_evaluation", (self.ids("drills_evaluation"), drill["id"], objective, rating, "", json.dumps(["评估组"], ensure_ascii=False),
                                        self.by("captain")[1], recorded))
            if rating in ("M", "U"):
                done = rng.random() < 0.6
                w.add("drills_improvement", (self.ids("drills_improvement"), drill["id"], org_path, objective, "针对薄弱环节组织专项复训",
                                             "队长", recorded.date() + timedelta(days=60), "closed" if done else "open",
                                             recorded + timedelta(days=30) if done else None, "已完成复训" if done else ""))

    # --- deployments ----------------------------------------------------------------------------------------------

    async def deployments_phase(self) -> None:
        """Incidents with one to four teams of the league each; closed deployments with every status step, members'
        stints, items out and back (their check-outs), log entries and the hours credited on close as
        deployments.close_deployment does; and the open deployments planned earlier, on scene now."""
        from rescueops.calendar import in_china, quarter_hours

        rng = self.rng
        w = Writer(self.conn, "deployments_incident", "deployments_deployment", "deployments_transition", "deployments_member",
                   "equipment_checkout", "deployments_item", "deployments_log", "members_hours")
        by_league: dict[str, list[TeamRec]] = {}
        for team in self.teams:
            if team.status == "active" and team.active():
                by_league.setdefault(team.league, []).append(team)
        leagues = sorted(by_league)
        counties_of: dict[str, list[Unit]] = {}
        for unit in self.units:
            if unit.kind == "county":
                counties_of.setdefault(unit.path.split("/")[2], []).append(unit)
        busy: dict[int, list[tuple[datetime, datetime]]] = {}
        remaining = self.counts["deployments"] - len(self.open_plan)
        attempts = remaining * 50  # draws of a league and a time; one fails when every team there is busy then
        open_ids = []
        for team, people, count in self.open_plan:  # an incident of the last two days, on scene now
            started = self.now - timedelta(hours=rng.randint(6, 40))
            incident = self._incident(w, team, counties_of, started)
            alerted = started + timedelta(minutes=10)
            deployment = self._deployment(w, incident, team, people, alerted, None)
            # The items reserved for it by the equipment phase, written there as checked out.
            taken, team.open_deployment_items = team.open_deployment_items[:count], team.open_deployment_items[count:]
            self._deployment_items(w, deployment, taken, alerted + timedelta(minutes=5), None)
            open_ids.append({"id": deployment, "team_code": team.code})
        while remaining > 0 and attempts > 0:
            attempts -= 1
            league = rng.choice(leagues)
            started = self.start + timedelta(seconds=rng.uniform(0, (self.now - timedelta(days=10) - self.start).total_seconds()))
            closes = started + timedelta(days=rng.randint(1, 4), hours=rng.randint(2, 12))
            free = [t for t in by_league[league] if t.founded_on < started.date() - timedelta(days=30)
                    and not any(a < closes and started < b for a, b in busy.get(t.id, []))]
            if not free:
                continue
            teams = rng.sample(free, min(len(free), remaining, rng.choice((1, 1, 1, 2, 2, 3, 4))))
            incident = self._incident(w, teams[0], counties_of, started)
            for team in teams:
                alerted = started + timedelta(minutes=rng.randint(10, 360))
                people = [m for m in team.active() if m.joined_on < alerted.date()]
                people = rng.sample(people, min(len(people), rng.randint(4, 12)))
                deployment = self._deployment(w, incident, team, people, alerted, closes)
                out = rng.sample(team.items_for_deployments, min(len(team.items_for_deployments), rng.randint(0, 3)))
                self._deployment_items(w, deployment, out, alerted, closes)
                busy.setdefault(team.id, []).append((started, closes))
                worked_on = in_china(alerted).date()
                for member in people:
                    hours = quarter_hours(alerted, closes)
                    if hours > 0:
                        w.add("members_hours", (self.ids("members_hours"), member.person, team.id, "deployment", f"deployment:{deployment}",
                                                worked_on, hours, f"{incident['title']}（{team.name_zh}）", "approved", None, None, closes))
                remaining -= 1
            await w.maybe_flush()
        await w.flush()
        self.sample["open_deployments"] = open_ids

    def _incident(self, w: Writer, team: TeamRec, counties_of: dict[str, list[Unit]], started: datetime) -> dict[str, Any]:
        rng = self.rng
        unit = rng.choice(counties_of.get(team.league) or [team.unit])
        kind = rng.choice(INCIDENT_KINDS)
        incident = {"id": self.ids("deployments_incident"), "title": f"{unit.name_zh}{INCIDENT_NAMES[kind]}", "unit": unit}
        w.add("deployments_incident", (incident["id"], kind, incident["title"], f"{unit.name_zh}", unit.id, unit.path,
                                       (unit.lat or 40.0) + rng.uniform(-0.1, 0.1), (unit.lon or 110.0) + rng.uniform(-0.1, 0.1),
                                       f"{unit.name_zh}应急管理局", rng.choices((1, 2, 3, 4), weights=(2, 8, 30, 60))[0], started, "",
                                       self.by("region")[0], self.by("region")[2], started + timedelta(minutes=5)))
        return incident

    def _deployment(self, w: Writer, incident: dict[str, Any], team: TeamRec, people: list[Member], alerted: datetime,
                    closes: datetime | None) -> int:
        rng = self.rng
        user_id, _, captain = self.by("captain")
        deployment = self.ids("deployments_deployment")
        mobilising = alerted + timedelta(minutes=rng.randint(10, 60))
        on_scene = mobilising + timedelta(minutes=rng.randint(30, 240))
        steps = [("", "alerted", alerted), ("alerted", "mobilising", mobilising), ("mobilising", "on_scene", on_scene)]
        demobilising = None
        if closes is not None:
            demobilising = closes - timedelta(hours=rng.randint(2, 10))
            steps += [("on_scene", "demobilising", demobilising), ("demobilising", "closed", closes)]
        status = steps[-1][1]
        w.add("deployments_deployment", (deployment, incident["id"], team.id, status, "", alerted, mobilising, on_scene, demobilising,
                                         closes, "任务完成，全员安全返回" if closes else "", closes or self.now - timedelta(minutes=30),
                                         self.by("region")[2]))
        for before, after, at in steps:
            w.add("deployments_transition", (self.ids("deployments_transition"), deployment, before, after, at,
                                             at + timedelta(minutes=rng.randint(1, 20)), user_id, captain, ""))
        for member in people:
            w.add("deployments_member", (self.ids("deployments_member"), deployment, member.person, team.id, alerted, closes,
                                         self.by("region")[2], captain if closes else "", ""))
        until = demobilising or self.now - timedelta(minutes=10)
        entries = [("arrival", on_scene, "抵达现场，建立前方指挥点", 0)]
        for _ in range(rng.randint(3, 12)):
            kind = rng.choice(LOG_KINDS)
            when = on_scene + (until - on_scene) * rng.random()
            entries.append((kind, when, {"rescued": "转移被困群众", "treated": "现场救护伤员", "hazard": "发现次生灾害隐患",
                                         "resource_request": "请求补充物资"}.get(kind, "开展搜救任务"),
                            rng.randint(1, 12) if kind in ("rescued", "treated", "resource_request") else 0))
        if demobilising:
            entries.append(("demobilisation", demobilising, "任务结束，组织撤离", 0))
        for kind, when, text, quantity in sorted(entries, key=lambda e: e[1]):
            voided = rng.random() < 0.02
            recorded = min(when + timedelta(minutes=rng.randint(1, 30)), self.now)
            w.add("deployments_log", (self.ids("deployments_log"), deployment, kind, when, text, quantity, None, None, recorded, user_id,
                                      captain, recorded + timedelta(minutes=5) if voided else None, "录入错误" if voided else ""))
        return deployment

    def _deployment_items(self, w: Writer, deployment: int, items: list[tuple[int, str, str]], out: datetime,
                          back: datetime | None) -> None:
        """Items out on a deployment through a check-out of kind deployment (equipment.check_out), back on close."""
        captain = self.by("captain")[2]
        for item, tag, type_name in items:
            checkout = self._checkout(w, item, "deployment", None, None, f"deployment:{deployment}", out, None, back,
                                      "ok" if back else None, f"救援行动 #{deployment}")
            w.add("deployments_item", (self.ids("deployments_item"), deployment, tag, type_name, checkout, out, captain, back,
                                       "ok" if back else "", ""))

    # --- first-aid training of the public -----------------------------------------------------------------------

    async def training_phase(self) -> None:
        """Training at a province's scale: instructors and examiners (people of their own), named organisations and a
        base per league, sessions of every course kind over the years of history (two in five in Inner Mongolia, so one
        region holds millions of certificates), each certificate session's class enrolled, examined once (re-sits for a
        few), the passed certified — numbered, with the roster copy in members_certificate, as the exams part writes
        them. Awareness sessions report heads. The tally is counted at the end, set-based, like the services keep it.
        Not generated: attendance rows by day (each enrolment carries its hours), bookings, scores of withdrawn trainees."""
        from rescueops import crypto
        from rescueops.calendar import add_months
        from rescueops.members.identity import check_digit
        from rescueops.training.certificates import certificate_number, number_prefix
        from rescueops.training.exams import passes

        rng, ref = self.rng, self.ref
        courses = ref["courses"]
        if not courses:
            raise RuntimeError("no training courses in the database: is the course catalogue part of `seed reference`?")
        w = Writer(self.conn, "members_person", "training_organisation", "training_base", "training_instructor", "training_examiner",
                   "training_session", "training_session_instructor", "training_enrolment", "training_exam_sitting",
                   "training_exam_score", "members_certificate", "training_certificate", "training_target")
        admin = self.by("admin")[0]
        counties = [u for u in self.units if u.kind == "county"]
        leagues = [u for u in self.units if u.kind == "league"]
        inner = [u for u in counties if u.province == "150000"]
        elsewhere = [u for u in counties if u.province != "150000"]
        trainee_seq = itertools.count()
        returning: dict[str, list[int]] = {}  # per county, earlier trainees who may come back (bounded)

        def person(area: str, name: str, created: datetime) -> int:
            """A new person with an ID number unique by construction (area, birth day, sequence from one counter)."""
            while True:
                n = next(trainee_seq)
                male = n % 2 == 1
                born = date(1955, 1, 1) + timedelta(days=(n // 500) % 18000)
                first17 = f"{area}{born:%Y%m%d}{(n % 500) // 2 * 2 + (1 if male else 0):03d}"
                number = first17 + check_digit(first17)
                if number not in self.id_numbers:  # the rescue-team members' numbers
                    break
            person_id = self.ids("members_person")
            w.add("members_person", (person_id, name, "male" if male else "female", born, crypto.encrypt(number),
                                     crypto.lookup_hash(number), number[-4:], f"13{rng.randint(100000000, 999999999)}", "", "", "",
                                     "", "", '["zh"]', None, 1, created))
            return person_id

        # Instructors (3–6 per county, a third full-time) and examiners (three per league), qualified in the history.
        instructors: dict[str, list[int]] = {}
        for unit in counties:
            for _ in range(rng.randint(3, 6)):
                qualified = self.day_between(self.start.date() - timedelta(days=700), self.today - timedelta(days=30))
                created = self.moment(qualified, 2)
                instructor = self.ids("training_instructor")
                w.add("training_instructor", (instructor, person(unit.code, self.name(False), created), unit.id, unit.path,
                                              "full_time" if rng.random() < 0.35 else "part_time", f"SZ{unit.code}{instructor:06d}",
                                              qualified, add_months(qualified, 36), qualified + timedelta(days=rng.randint(200, 600)),
                                              rng.choice((0, 1, 2, 3, 3, 4, 5)), True, created))
                instructors.setdefault(unit.code, []).append(instructor)
            await w.maybe_flush()
        examiners: dict[str, list[int]] = {}
        for unit in leagues:
            for _ in range(3):
                created = self.moment(self.start.date(), 2)
                examiner = self.ids("training_examiner")
                w.add("training_examiner", (examiner, person(unit.code[:4] + "02", self.name(False), created), unit.id, unit.path,
                                            f"KH{unit.code}{examiner:05d}", self.today + timedelta(days=700), True, created))
                examiners.setdefault(unit.code, []).append(examiner)
        organisations: dict[str, list[tuple[int, str]]] = {}
        kinds = [("school", "campus", "中学"), ("company", "workplace_safety", "能源公司"), ("agency", "government", "人民政府"),
                 ("village", "villages", "嘎查村"), ("community", "communities", "社区居委会")]
        for unit in counties:
            for number in range(1, 9):
                kind, sector, suffix = kinds[number % len(kinds)]
                organisation = self.ids("training_organisation")
                w.add("training_organisation", (organisation, unit.id, unit.path, f"{unit.name_zh}第{number}{suffix}", kind, sector,
                                                self.moment(self.start.date(), 1)))
                organisations.setdefault(unit.code, []).append((organisation, sector))
        bases: dict[str, int] = {}
        opening = json.dumps({str(day): ["08:30", "17:30"] for day in range(1, 6)})
        for unit in leagues:
            base = self.ids("training_base")
            w.add("training_base", (base, f"B{unit.code}", unit.id, unit.path, "training_base", f"{unit.name_zh}应急救护培训基地",
                                    "", f"{unit.name_zh}红十字会", 120, opening, True, self.moment(self.start.date(), 1)))
            bases[unit.code[:4] + "00"] = base
        await w.flush()

        # Sessions: the course mix, a class size that gives the certificate count, one sitting (a re-sit for a few).
        mix = [("awareness", 0.30), ("first_aider", 0.36), ("junior_first_aider", 0.14), ("cpr_aed", 0.15), ("refresher", 0.04),
               ("instructor", 0.01)]
        total = self.counts["training_sessions"]
        certificate_sessions = total * (1 - mix[0][1])
        held_share = (self.today - self.start.date()).days / ((self.today - self.start.date()).days + 60)  # the rest are ahead
        mean_class = self.counts["certificates"] / certificate_sessions / 0.95 / held_share
        sample_tokens: list[str] = []
        serials: dict[str, int] = {}
        for _ in range(total):
            unit = rng.choice(inner) if rng.random() < 0.4 else rng.choice(elsewhere)
            course = courses[weighted(rng, mix)]
            starts = self.day_between(self.start.date(), self.today + timedelta(days=60))
            days = 2 if float(course["hours"]) > 8 else 1
            past = starts + timedelta(days=days) < self.today
            organisation, sector = rng.choice(organisations[unit.code]) if rng.random() < 0.7 else (None, rng.choice(
                ("communities", "volunteers", "rescue_forces", "transport", "elderly_care", "sports", "scenic", "border_police")))
            session = self.ids("training_session")
            code = f"PX{unit.code}{starts:%y}{session:07d}"
            base = bases.get(unit.code[:4] + "00") if rng.random() < 0.2 else None
            created = self.moment(starts - timedelta(days=14), 3)
            capacity = 300 if course["kind"] == "awareness" else 60
            heads = rng.randint(40, 300) if course["kind"] == "awareness" and past else 0
            w.add("training_session", (session, code, course["version"], unit.id, unit.path, organisation, sector, base,
                                       "" if base else f"{unit.name_zh}红十字会培训室", f"{course['name_zh']}（{unit.name_zh}）", starts,
                                       starts + timedelta(days=days - 1), capacity, "completed" if past else "open", heads, admin, created))
            taught = rng.sample(instructors[unit.code], min(len(instructors[unit.code]), rng.choice((1, 2, 2))))
            for instructor in taught:
                w.add("training_session_instructor", (self.ids("training_session_instructor"), session, instructor,
                                                      Decimal(course["hours"]) / len(taught)))
            if course["kind"] == "awareness":
                await w.maybe_flush()
                continue
            size = max(5, min(capacity, round(rng.gauss(mean_class, mean_class / 4))))
            league = unit.code[:4] + "00"
            examiner = rng.choice(examiners.get(league) or examiners[rng.choice(list(examiners))])
            held = starts + timedelta(days=days - 1)
            sitting = self.ids("training_exam_sitting") if past else None
            if sitting:
                w.add("training_exam_sitting", (sitting, session, examiner, 1, held, admin, self.moment(held, 8)))
            prefix = number_prefix(course["kind"], unit.code, held)
            earlier = returning.setdefault(unit.code, [])
            trainees = []
            for _ in range(size):
                enrolled = self.moment(starts - timedelta(days=rng.randint(1, 10)), 4)
                # One in five comes back (a refresher, a second course); the rest are new to the Red Cross.
                again = earlier.pop(rng.randrange(len(earlier))) if earlier and rng.random() < 0.2 else None
                trainee = again or person(unit.code, self.name(unit.province == "150000"), enrolled)
                trainees.append(trainee)
                enrolment = self.ids("training_enrolment")
                w.add("training_enrolment", (enrolment, session, trainee, "enrolled", Decimal(course["hours"]) if past else Decimal(0),
                                             admin, enrolled))
                if not sitting:
                    continue
                # Nineteen in twenty pass; a failed trainee misses one part's mark.
                low_theory, low_practical = course["theory_pass"] or 60, course["practical_pass"] or 60
                theory, practical = rng.randint(low_theory, 100), rng.randint(low_practical, 100)
                if rng.random() < 0.05:
                    theory = rng.randint(40, low_theory - 1)
                passed = passes(theory, practical, False, course["theory_pass"], course["practical_pass"])
                w.add("training_exam_score", (self.ids("training_exam_score"), sitting, enrolment, theory, practical, False, passed,
                                              admin, self.moment(held, 10)))
                if not passed:
                    continue
                serials[prefix] = serial = serials.get(prefix, 0) + 1
                number = certificate_number(prefix, serial)
                expires = add_months(held, course["validity_months"]) if course["validity_months"] else None
                token = secrets.token_urlsafe(18)  # as certificates.issue_certificates draws it
                revoked = held + timedelta(days=30) if rng.random() < 0.001 and held + timedelta(days=30) < self.today else None
                copy = self.ids("members_certificate") if course["certificate_type"] and not revoked else None  # revoking deletes it
                if copy:
                    w.add("members_certificate", (copy, trainee, course["certificate_type"], number, held, expires, "", "",
                                                  self.moment(held, 12), "training"))
                w.add("training_certificate", (self.ids("training_certificate"), number, token, trainee, course["version"], session,
                                               sitting, examiner, unit.path, course["kind"], held, expires, revoked,
                                               "证书信息有误" if revoked else "", admin if revoked else None,
                                               copy, admin, self.moment(held, 12)))
                if unit.province == "150000" and len(sample_tokens) < 200 and not revoked and rng.random() < 0.01:
                    sample_tokens.append(token)
            earlier.extend(trainees[: 400 - len(earlier)])
            await w.maybe_flush()
        for league in (u for u in leagues if u.province == "150000"):
            for county in (u for u in inner if u.path.startswith(league.path)):
                w.add("training_target", (self.ids("training_target"), self.today.year, league.id, league.path, county.name_zh, county.id,
                                          None, None, 600, 150, 3000, admin, self.moment(date(self.today.year, 1, 10), 2)))
        await w.flush()
        # The serial counters the exams part continues from, and the tally, as the services keep them.
        await self.conn.copy_records_to_table("training_certificate_serial", records=[
            (self.ids("training_certificate_serial"), prefix, last) for prefix, last in serials.items()], columns=("id", "prefix", "last"))
        from rescueops.training import progress

        await self.conn.execute(TALLY_ALL)
        await self.conn.execute(progress.subtree_sums_sql(
            "SELECT unit_path, kind, month, expires_month, certificates, attendances FROM training_tally"))
        self.sample["training"] = {"verify_tokens": sample_tokens, "unit": SAMPLE_REGION, "league": SAMPLE_LEAGUE,
                                   "year": self.today.year}


# --- around the bulk load: reading the reference, the services' part, the finish -------------------------------------

BENCH_USERS = {  # role -> (username, display name, home unit, grant)
    "admin": ("bench-admin", "基准测试 系统管理员", SAMPLE_REGION, {"role": "admin", "unit_code": SAMPLE_REGION}),
    "region": ("bench-region", "基准测试 自治区协调员", SAMPLE_REGION, {"role": "region_coordinator", "unit_code": SAMPLE_REGION}),
    "league": ("bench-league", "基准测试 赤峰市监管", SAMPLE_LEAGUE, {"role": "league_supervisor", "unit_code": SAMPLE_LEAGUE}),
    "captain": ("bench-captain", "基准测试 翁牛特旗队长", SAMPLE_TEAM[0], {"role": "captain", "team_code": SAMPLE_TEAM[1]}),
    "logistics": ("bench-logistics", "基准测试 赤峰市后勤", SAMPLE_LEAGUE, {"role": "logistics", "unit_code": SAMPLE_LEAGUE}),
}


async def create_users() -> dict[str, dict[str, Any]]:
    """The bench logins, through accounts.service (their roles come after the load: a captain's scope is a team)."""
    from rescueops.accounts import service as accounts
    from rescueops.accounts.schemas import UserCreate

    users = {}
    for role, (username, display_name, home, _) in BENCH_USERS.items():
        user = await accounts.create_user(None, UserCreate(username=username, display_name=display_name, password=PASSWORD,
                                                           home_unit_code=home))
        users[role] = {"id": user.id, "username": username, "display_name": display_name}
    return users


async def read_reference(conn: Any) -> dict[str, Any]:
    """What the reference load put in the database, keyed by code; scenarios as drills.service reads them."""
    from rescueops.drills import service as drills

    def jsonish(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    units = {r["code"]: dict(r) for r in await conn.fetch("SELECT id, code, kind, path, name_zh, name_en, lat, lon FROM orgs_unit")}
    categories = {r["code"]: dict(r) for r in await conn.fetch(
        "SELECT id, code, name_zh, name_en, graded FROM teams_category ORDER BY sort_order")}
    certificate_types = {r["code"]: dict(r) for r in await conn.fetch(
        "SELECT id, code, validity_months, first_aid FROM members_certificate_type ORDER BY id")}
    equipment_types = {}
    for r in await conn.fetch("SELECT id, code, name_zh, tracking, categories, inspection_months, shelf_life_months, checklist "
                              "FROM equipment_type ORDER BY id"):
        equipment_types[r["code"]] = {**dict(r), "categories": jsonish(r["categories"]), "checklist": jsonish(r["checklist"])}
    kit_templates: dict[str, dict[str, Any]] = {}
    for r in await conn.fetch("SELECT id, code, category, lines FROM equipment_kit_template ORDER BY id"):
        kit_templates.setdefault(r["category"], {**dict(r), "lines": jsonish(r["lines"])})
    scenarios = []
    for summary in await drills.list_scenarios():
        if summary.problems:
            continue
        row = await conn.fetchrow("SELECT id FROM drills_scenario WHERE scenario_id = $1 AND version = $2", summary.scenario_id,
                                  summary.version)
        scenario = await drills.get_scenario(summary.scenario_id, summary.version)
        scenarios.append({"id": row["id"], "title_zh": scenario.title_zh, "categories": scenario.categories,
                          "duration_minutes": scenario.duration_minutes, "objectives": [o.id for o in scenario.objectives],
                          "measures_mobilisation": scenario.measures_mobilisation,
                          "equipment": [{"type": e.type, "quantity": e.quantity} for e in scenario.equipment]})
    courses = {}
    for r in await conn.fetch(
            "SELECT DISTINCT ON (c.kind) c.kind, c.name_zh, v.id AS version, v.hours, v.validity_months, v.certificate_type, "
            "v.theory_pass, v.practical_pass FROM training_course c JOIN training_course_version v ON v.course = c.id "
            "WHERE c.active ORDER BY c.kind, c.id, v.version DESC"):
        courses[r["kind"]] = dict(r)
    return {"units": units, "categories": categories, "certificate_types": certificate_types, "equipment_types": equipment_types,
            "kit_templates": kit_templates, "scenarios": scenarios, "courses": courses}


async def next_ids(conn: Any) -> dict[str, int]:
    found = {}
    for table in COLUMNS:
        found[table] = await conn.fetchval(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
    return found


async def check_foreign_keys(conn: Any) -> int:
    """Every foreign key of the loaded tables, checked once over the whole table (one anti-join per key) instead of row
    by row during the load; raises naming the first broken key. Returns how many keys were checked."""
    keys = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS child, a.attname AS column, c.confrelid::regclass::text AS parent, k.attname AS key "
        "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute k ON k.attrelid = c.confrelid AND k.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY($1::text[])", list(COLUMNS))
    for fk in keys:
        broken = await conn.fetchval(
            f'SELECT count(*) FROM "{fk["child"]}" c WHERE c."{fk["column"]}" IS NOT NULL AND NOT EXISTS '
            f'(SELECT 1 FROM "{fk["parent"]}" p WHERE p."{fk["key"]}" = c."{fk["column"]}")')
        if broken:
            raise RuntimeError(f"{broken} rows of {fk['child']}.{fk['column']} name no row of {fk['parent']}")
    return len(keys)


async def reset_sequences(conn: Any) -> None:
    """Every id sequence to just past its table's largest id, so the services' inserts follow the bulk rows."""
    rows = await conn.fetch("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                            "AND column_name = 'id' AND column_default LIKE 'nextval%'")
    for row in rows:
        table = row["table_name"]
        await conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                           f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"), false)')


async def row_counts(conn: Any) -> dict[str, int]:
    tables = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    return {table: await conn.fetchval(f'SELECT count(*) FROM "{table}"') for table in tables}


async def services_part(gen: Generator) -> dict[str, Any]:
    """Roles, tokens, the captain's login tied to their member record and member cards, all through the services."""
    from rescueops.accounts import service as accounts
    from rescueops.accounts.schemas import GrantIn
    from rescueops.accounts.tables import Role, TokenKind
    from rescueops.members import service as members

    tokens, sessions = {}, {}
    for role, (_, _, _, grant) in BENCH_USERS.items():
        user_id = gen.users[role]["id"]
        await accounts.grant_role(None, user_id, GrantIn(**{**grant, "role": Role(grant["role"])}))
        tokens[role], _, _ = await accounts.issue_token(user_id, TokenKind.api, name="bench", ttl=timedelta(days=365))
        sessions[role], _, _ = await accounts.issue_token(user_id, TokenKind.session, name="bench", ttl=timedelta(days=365))
    admin = await accounts.load_principal(gen.users["admin"]["id"])
    sample = gen.teams[0]
    await members.link_account(admin, sample.members[0].person, BENCH_USERS["captain"][0])
    cards = [{"person_id": m.person, "card": (await members.card(admin, m.person)).token} for m in sample.on_roster(gen.today)]
    return {"tokens": tokens, "sessions": sessions, "cookie": "rescueops_session",
            "logins": {role: {"username": spec[0], "password": PASSWORD} for role, spec in BENCH_USERS.items()}, "cards": cards}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a local process (the COPY connection's PostgreSQL backend): steadier than wall time on a
    shared machine. 0 when it cannot be read (a remote server)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(fraction: float, seed: int = common.SEED) -> dict[str, Any]:
    """Generate and load the data set into the configured (migrated, reference-loaded) PostgreSQL database.
    Returns the result: row counts, seconds per phase, and the sample the HTTP benchmarks drive."""
    import asyncpg

    from rescueops.calendar import CHINA, in_china
    from rescueops.grading import service as grading
    from rescueops.settings import get_settings

    started, seconds, cpu = time.monotonic(), {}, {}
    conn = await asyncpg.connect(get_settings().resolved_database_url)
    backend = await conn.fetchval("SELECT pg_backend_pid()")

    async def timed(phase: str, work: Any) -> Any:
        """Wall seconds of a phase, and CPU seconds of this process and of the COPY connection's backend (the services'
        own queries run on the app's pool and are not in ``postgres_copy``)."""
        began, before = time.monotonic(), (time.process_time(), cpu_seconds(backend))
        result = await work
        seconds[phase] = round(time.monotonic() - began, 2)
        cpu[phase] = {"loader": round(time.process_time() - before[0], 2), "postgres_copy": round(cpu_seconds(backend) - before[1], 2)}
        return result

    try:
        users = await timed("users", create_users())
        await conn.execute("SET synchronous_commit = off")
        # Foreign keys are checked per row by triggers, which a replica session skips (a superuser may set it, as
        # postgres is here); they are all checked at the end instead, set-based.
        try:
            await conn.execute("SET session_replication_role = replica")
            deferred = True
        except asyncpg.InsufficientPrivilegeError:
            deferred = False
        # The history is laid out from midnight (China time) of the load day: one seed, one day, the same rows.
        now = datetime.combine(in_china(datetime.now(UTC)).date(), datetime.min.time(), tzinfo=CHINA).astimezone(UTC)
        gen = Generator(conn, fraction, seed, now, await read_reference(conn), Ids(await next_ids(conn)), users)
        await timed("orgs", gen.orgs())
        await timed("teams", gen.teams_phase())
        await timed("members", gen.members_phase())
        gen.plan_open_deployments()
        await timed("equipment", gen.equipment_phase())
        await timed("stock", gen.stock_phase())
        await timed("drills", gen.drills_phase())
        await timed("deployments", gen.deployments_phase())
        await timed("training", gen.training_phase())
        peak = {"after_bulk": common.peak_rss_kib(os.getpid())}
        if deferred:
            await conn.execute("SET session_replication_role = DEFAULT")
            await timed("foreign_keys", check_foreign_keys(conn))
        await timed("sequences", reset_sequences(conn))
        logins = await timed("services", services_part(gen))
        readiness = await timed("readiness", grading.refresh_readiness())
        peak["after_readiness"] = common.peak_rss_kib(os.getpid())
        await timed("analyze", conn.execute("ANALYZE"))
        rows = await timed("count", row_counts(conn))
    finally:
        await conn.close()
    gen.sample["checkin"]["cards"] = logins.pop("cards")
    sample = {**gen.sample, **logins, "league": SAMPLE_LEAGUE, "region": SAMPLE_REGION, "hub": SAMPLE_HUB,
              "captain_team": SAMPLE_TEAM[1], "anchor": now.isoformat()}
    return {"fraction": fraction, "seed": seed, "counts": gen.counts, "rows": rows, "load_seconds": seconds, "cpu_seconds": cpu,
            "loader_peak_rss_kib": peak,
            "total_seconds": round(time.monotonic() - started, 2), "readiness": readiness, "sample": sample}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dataset", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fraction", type=float, required=True, help="share of the national data set, e.g. 0.1 or 1.0")
    parser.add_argument("--seed", type=int, default=common.SEED)
    parser.add_argument("--database", help="database name (default rescueops_bench_<percent>); it is dropped and created")
    args = parser.parse_args(argv)
    label = pct_label(args.fraction)
    url = common.database_url(args.database) if args.database else common.bench_db_url(label)
    began, stamp = time.monotonic(), common.now()
    common.create_database(url)
    common.migrate(url)
    prepared = round(time.monotonic() - began, 2)
    os.environ.update(common.bench_env(url))  # before the app is imported: it reads its settings once

    async def run() -> dict[str, Any]:
        from rescueops.db import engine

        db = engine.database()
        await engine.prepare(db)
        try:
            return await load(args.fraction, args.seed)
        finally:
            await engine.release(db)

    result = asyncio.run(run())
    result["load_seconds"] = {"create_and_migrate": prepared, **result["load_seconds"]}
    result["total_seconds"] = round(time.monotonic() - began, 2)
    path = common.write_result(f"dataset-{label}", {"started": stamp, "seconds": result["total_seconds"], "database_url": url,
                                                    "machine": common.machine(), **result})
    print(f"loaded {url} in {result['total_seconds']} s: " + ", ".join(f"{k} {v}" for k, v in result["load_seconds"].items()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
