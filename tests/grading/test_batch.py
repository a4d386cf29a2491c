"""Evaluation at scale: a generated region of 500 teams, evaluated in one batch of set-based queries, gives exactly
what evaluating each team alone gives; the number of queries does not grow with the number of teams."""

from __future__ import annotations

import gc
import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from piccolo.engine.finder import engine_finder

from rescueops.calendar import CHINA
from rescueops.drills.tables import Drill, DrillTeam, DrillUnit, ScenarioVersion
from rescueops.equipment.tables import EquipmentType, Inspection, Item, KitTemplate, Stock
from rescueops.grading import service
from rescueops.grading.tables import Readiness
from rescueops.members.tables import Certificate, CertificateType, InsurancePolicy, Membership, Person
from rescueops.orgs.tables import OrgUnit
from rescueops.teams.tables import Category, Specialty, Team
from tests.conftest import _empty_all_tables, _load_reference
from tests.factories import counting

TEAMS = 500
TODAY = datetime.now(CHINA).date()
CHUNK = 400


async def _insert(table, rows: list) -> list[int]:
    ids = []
    for start in range(0, len(rows), CHUNK):
        ids += [r["id"] for r in await table.insert(*rows[start:start + CHUNK]).returning(table.id)]
    return ids


async def generate(rng: random.Random) -> list[str]:
    """Teams spread over the region's counties, with rosters, certificates, insurance, equipment, kits and drills
    (bulk inserts, no per-record service calls)."""
    counties = await OrgUnit.select(OrgUnit.id, OrgUnit.path).where(OrgUnit.kind == "county")
    categories = {r["code"]: r["id"] for r in await Category.select(Category.id, Category.code).where(Category.graded == True)}  # noqa: E712
    certificates = {r["code"]: r["id"] for r in await CertificateType.select(CertificateType.id, CertificateType.code)}
    kinds = {r["code"]: r["id"] for r in await EquipmentType.select(EquipmentType.id, EquipmentType.code)}
    template = await KitTemplate.select(KitTemplate.id).where(KitTemplate.code == "water_rescue_boat_kit").first()
    now = datetime.now(UTC)
    teams, codes = [], []
    for n in range(TEAMS):
        unit = counties[n % len(counties)]
        code = f"GEN-{n:04d}"
        codes.append(code)
        strong = n % 5 == 0  # a well-kept team, so the region holds graded teams as well as weak ones
        teams.append(Team(
            code=code, name_zh=f"生成救援队{n}", unit=unit["id"], path=f"{unit['path']}t:{code}/",
            primary_category=categories["psychosocial" if strong else rng.choice(sorted(categories))],
            registration_kind=rng.choice(["civil_affairs", "red_cross_filing"]),
            registration_number=f"REG-{n}" if strong else rng.choice(["", f"REG-{n}", f"REG-{n}"]),
            filing_date=date(2023, 1, 1) if strong or rng.random() < 0.9 else None,
            founded_on=TODAY - timedelta(days=rng.randint(100, 2500)) if strong or rng.random() < 0.9 else None,
            status="active" if strong else rng.choice(["active"] * 9 + ["forming"]), status_since=date(2024, 1, 1), created_at=now,
            self_sufficiency_hours=rng.choice([None, 12, 48, 72, 720]), party_organisation=rng.choice(["", "branch", "working_group"])))
    team_ids = await _insert(Team, teams)
    strong_ids = set(team_ids[::5])
    await _insert(Specialty, [Specialty(team=t, category=categories["water_rescue"]) for t in team_ids if rng.random() < 0.3 and t])
    people, memberships = [], []
    for t in team_ids:
        strong = t in strong_ids
        for k in range(rng.randint(6, 10) if strong else rng.randint(0, 16)):
            people.append(Person(name=f"队员{len(people)}", gender="male", birth_date=date(1990, 1, 1), id_number_encrypted="x",
                                 id_number_hash=f"h{len(people)}", id_number_last4="0000", phone="139" if strong else rng.choice(["", "139"]),
                                 emergency_contact="家属" if strong else rng.choice(["", "家属"]), emergency_phone="139", created_at=now))
            memberships.append((t, "captain" if k == 0 else "deputy_captain" if k < (3 if strong else rng.choice([2, 3, 4])) else "member",
                                "active" if strong else rng.choice(["active"] * 8 + ["probation", "inactive"])))
    person_ids = await _insert(Person, people)
    await _insert(Membership, [Membership(person=p, team=t, role=role, status=status, joined_on=date(2024, 1, 1))
                               for p, (t, role, status) in zip(person_ids, memberships, strict=False)])
    certs, policies = [], []
    for p, (t, _, _) in zip(person_ids, memberships, strict=False):
        if t in strong_ids:
            certs.append(Certificate(person=p, type=certificates["rc_first_aider"], issued_on=TODAY - timedelta(days=300), created_at=now))
            policies.append(InsurancePolicy(person=p, insurer="保险公司", policy_number=f"P{p}", starts_on=TODAY - timedelta(days=100),
                                            ends_on=TODAY + timedelta(days=300), created_at=now))
            continue
        for code in rng.sample(["rc_first_aider", "cpr_aed", "water_rescue", "swiftwater", "rope_rescue"], rng.randint(0, 2)):
            expires = TODAY + timedelta(days=rng.randint(-200, 700))
            certs.append(Certificate(person=p, type=certificates[code], issued_on=TODAY - timedelta(days=800), expires_on=expires, created_at=now))
        if rng.random() < 0.7:
            policies.append(InsurancePolicy(person=p, insurer="保险公司", policy_number=f"P{p}", starts_on=TODAY - timedelta(days=100),
                                            ends_on=TODAY + timedelta(days=rng.randint(-50, 300)), created_at=now))
    await _insert(Certificate, certs)
    await _insert(InsurancePolicy, policies)
    items, stock, kits = [], [], []
    paths = {t: teams[i].path for i, t in enumerate(team_ids)}
    for t in team_ids:
        for k in range(rng.randint(0, 4)):
            kind = rng.choice(["inflatable_boat", "aed", "generator", "life_detector", "water_purifier", "ambulance", "sprayer"])
            items.append(Item(asset_tag=f"GEN-{t}-{k}", type=kinds[kind], team=t, owner_path=paths[t], created_at=now,
                              status=rng.choice(["in_service"] * 5 + ["in_maintenance", "checked_out"]),
                              serial_number=rng.choice(["", "SN"]), acquired_on=rng.choice([None, date(2024, 1, 1)]),
                              expires_on=rng.choice([None, None, TODAY - timedelta(days=3)])))
        if t in strong_ids:
            items.append(Item(asset_tag=f"GEN-{t}-PS", type=kinds["psychosocial_kit"], team=t, owner_path=paths[t], created_at=now,
                              serial_number="SN", acquired_on=date(2024, 1, 1)))
        if rng.random() < 0.4:
            stock.append(Stock(type=kinds["life_jacket"], team=t, owner_path=paths[t], quantity=rng.randint(0, 30)))
        if rng.random() < 0.2:
            kits.append(Item(asset_tag=f"GEN-KIT-{t}", type=kinds["kit"], team=t, owner_path=paths[t], created_at=now,
                             kit_template=template["id"]))
    item_ids = await _insert(Item, items)
    kit_ids = await _insert(Item, kits)
    packed = []
    for kit_id, kit_row in zip(kit_ids, kits, strict=False):
        for kind, count in (("inflatable_boat", 1), ("outboard_motor", 1), ("dry_suit", 2), ("radio", rng.choice([1, 2]))):
            for k in range(count):
                packed.append(Item(asset_tag=f"GEN-P-{kit_id}-{kind}-{k}", type=kinds[kind], team=kit_row.team, owner_path=kit_row.owner_path,
                                   created_at=now, container=kit_id, status=rng.choice(["in_service"] * 6 + ["in_maintenance"])))
    await _insert(Item, packed)
    await _insert(Stock, stock)
    await _insert(Inspection, [Inspection(item=i, inspected_on=TODAY - timedelta(days=rng.randint(1, 200)), results="[]",
                                          passed=rng.random() < 0.9, at=now) for i in item_ids if rng.random() < 0.7])
    scenario = await ScenarioVersion.select(ScenarioVersion.id).first()
    drills, taking_part = [], []
    for k in range(300):
        organiser = rng.choice(team_ids)
        start = datetime.combine(TODAY - timedelta(days=rng.randint(1, 500)), time(9), tzinfo=CHINA)
        called = start - timedelta(minutes=rng.randint(20, 400)) if rng.random() < 0.6 else None
        drills.append(Drill(scenario=scenario["id"], title=f"演练{k}", organiser_unit=counties[0]["id"], organiser_team=organiser,
                            org_path=paths[organiser], starts_at=start, ends_at=start + timedelta(hours=3), place="训练场",
                            status=rng.choice(["closed"] * 4 + ["ended", "cancelled"]), called_at=called,
                            assembled_at=start if called else None, created_by="gen", created_at=now))
        taking_part.append({organiser, *rng.sample(team_ids, rng.choice([0, 0, 1, 2]))})
    for organiser in sorted(strong_ids):  # a monthly training of its own, measured, for each well-kept team
        for k in range(rng.randint(4, 8)):
            start = datetime.combine(TODAY - timedelta(days=20 + 40 * k), time(9), tzinfo=CHINA)
            drills.append(Drill(scenario=scenario["id"], title="月度训练", organiser_unit=counties[0]["id"], organiser_team=organiser,
                                org_path=paths[organiser], starts_at=start, ends_at=start + timedelta(hours=3), place="训练场",
                                status="closed", called_at=start - timedelta(minutes=60), assembled_at=start, created_by="gen",
                                created_at=now))
            taking_part.append({organiser})
    drill_ids = await _insert(Drill, drills)
    await _insert(DrillTeam, [DrillTeam(drill=d, team=t) for d, ts in zip(drill_ids, taking_part, strict=False) for t in ts])
    await _insert(DrillUnit, [DrillUnit(drill=d, unit=counties[1]["id"]) for d in drill_ids[:20]])
    return codes


@pytest.fixture(scope="module")
async def region(migrated):
    await _empty_all_tables()
    await _load_reference()
    async with engine_finder().transaction():  # one commit for the whole region
        return await generate(random.Random(2026))


async def _region_path() -> str:
    row = await OrgUnit.select(OrgUnit.path).where(OrgUnit.kind == "region").first()
    return row["path"]


@pytest.fixture(scope="module")
async def batch(region):
    """The whole region evaluated in one batch, with the number of queries it took."""
    region_path = await _region_path()
    async with counting() as queries:
        evaluations = await service.evaluate_teams(paths=[region_path])
    return {(e.team_code, e.category): e for e in evaluations}, queries.count


async def test_batch_is_a_fixed_number_of_queries(batch) -> None:
    everything, count = batch
    chifeng = (await OrgUnit.select(OrgUnit.path).where(OrgUnit.code == "150400").first())["path"]
    async with counting() as small:
        some = await service.evaluate_teams(paths=[chifeng])
    assert len({code for code, _ in everything}) > 400 and 0 < len(some) < len(everything) / 4
    assert count == small.count <= 18, (count, small.count)


async def test_batch_equals_per_team_on_500_teams(region, batch) -> None:
    everything, _ = batch
    single = {}
    engine = engine_finder()
    rubrics, refs = await service.current_rubrics(), await service.references()
    async with engine.transaction():  # one connection for the 500 small evaluations (SQLite opens one per query otherwise)
        for code in region:
            for e in await service.evaluate_teams(codes=[code], on=TODAY, rubrics=rubrics, refs=refs):
                single[(e.team_code, e.category)] = e
    assert everything.keys() == single.keys() and len(everything) >= TEAMS * 0.9
    differing = [key for key in everything if everything[key].model_dump() != single[key].model_dump()]
    assert differing == []
    levels = {e.eligible_level for e in everything.values()}
    assert len(levels) > 1, "the generated region should not grade every team alike"
    assert any(e.gap for e in everything.values()) and any(r.evidence for e in everything.values() for r in e.results)


async def test_readiness_refresh_is_batched_too(region, batch) -> None:
    everything, count = batch
    async with counting() as queries:
        outcome = await service.refresh_readiness()
    assert outcome.startswith(f"readiness of {len(region)} teams refreshed")
    # the evaluation's reads, the deployed people and the regions, then one delete and the bulk inserts (400 rows each;
    # on PostgreSQL one COPY, not a Piccolo query)
    assert queries.count <= count + 2 + 1 + len(everything) // 400 + 1, queries.count
    stored = {(r["team_code"], r["category"]): r["eligible_level"] for r in await Readiness.select(
        Readiness.team_code, Readiness.category, Readiness.eligible_level)}
    assert stored == {key: e.eligible_level for key, e in everything.items()}


async def test_readiness_refreshed_in_chunks_is_the_same(region, monkeypatch) -> None:
    """The refresh holds one chunk of teams at a time (its memory): the rows it stores do not depend on the chunk size."""
    columns = [c for c in Readiness._meta.columns if c._meta.name not in ("id", "computed_at")]

    async def stored() -> list[dict]:
        return await Readiness.select(*columns).order_by(Readiness.team_code).order_by(Readiness.category)

    await service.refresh_readiness(on=TODAY)
    whole = await stored()
    monkeypatch.setattr(service, "READINESS_CHUNK", 37)  # 500 teams: 14 chunks, the last one short
    outcome = await service.refresh_readiness(on=TODAY)
    assert outcome == f"readiness of {len(region)} teams refreshed ({len(whole)} rows)"
    assert await stored() == whole and len(whole) >= TEAMS * 0.9


async def test_the_batch_leaves_the_garbage_collector_as_it_found_it(region) -> None:
    """The collector is paused while a batch runs (it builds no cycles), never left off after it."""
    assert gc.isenabled()
    assert await service.evaluate_teams(codes=region[:5])
    await service.refresh_readiness(codes=region[:5])
    assert gc.isenabled()
    gc.disable()
    try:
        await service.evaluate_teams(codes=region[:5])
        assert not gc.isenabled()
    finally:
        gc.enable()
