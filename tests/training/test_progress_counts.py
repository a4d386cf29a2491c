"""Progress against the targets and the population, counted from tally rows made by progress.tally_certificates and
tally_attendance on certificates and awareness sessions written here, and checked against hand-computed figures:
per line, per child unit (the breakdown adds up to the parent), population shares, AED ratios and rescue forces."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

import pytest

from rescueops.db import write_transaction
from rescueops.equipment import service as equipment
from rescueops.equipment.schemas import AedIn
from rescueops.equipment.tables import Aed
from rescueops.members.tables import Certificate, CertificateType, Membership
from rescueops.orgs.tables import OrgUnit
from rescueops.training import progress
from rescueops.training.tables import CourseKind, Organisation, Tally, TrainingCertificate, TrainingSession
from tests.conftest import bearer
from tests.factories import make_team
from tests.training import builders
from tests.training.test_targets_import import table, upload

ON = date(2025, 6, 15)  # the goals' day: certificates expiring in June 2025 no longer count (month granularity)
CHIFENG_POPULATION = 4_035_967


async def issue(session_id: int, count: int, issued_on: date, expires_on: date | None) -> list[int]:
    """``count`` certificates of the session's course, written as the certificate part would, and counted into the tally."""
    session = await TrainingSession.select(TrainingSession.unit_path, TrainingSession.course_version,
                                           TrainingSession.course_version.course.kind.as_alias("kind")).where(TrainingSession.id == session_id).first()
    ids = []
    for _ in range(count):
        rows = await TrainingCertificate.insert(TrainingCertificate(
            number=f"T{secrets.token_hex(6)}", verify_token=secrets.token_hex(16), person=await builders.new_person(),
            course_version=session["course_version"], session=session_id, unit_path=session["unit_path"], kind=session["kind"],
            issued_on=issued_on, expires_on=expires_on, created_at=datetime.now(UTC))).returning(TrainingCertificate.id)
        ids.append(rows[0]["id"])
    async with write_transaction():
        await progress.tally_certificates(ids, 1)
    return ids


async def revoke(certificate_id: int) -> None:
    async with write_transaction():
        await TrainingCertificate.update({TrainingCertificate.revoked_on: ON, TrainingCertificate.revoked_reason: "测试"}).where(
            TrainingCertificate.id == certificate_id)
        await progress.tally_certificates([certificate_id], -1)


async def report_heads(session_id: int, heads: int) -> None:
    async with write_transaction():
        await TrainingSession.update({TrainingSession.reported_attendance: TrainingSession.reported_attendance + heads}).where(
            TrainingSession.id == session_id)
        await progress.tally_attendance(session_id, heads)


async def organisation(name: str, unit_code: str = "150426") -> int:
    unit = await builders.unit(unit_code)
    rows = await Organisation.insert(Organisation(unit=unit["id"], unit_path=unit["path"], name=name, kind="community",
                                                  created_at=datetime.now(UTC))).returning(Organisation.id)
    return rows[0]["id"]


@pytest.fixture
async def trained(db) -> dict:
    """Chifeng's 2025 so far (see the module's figures below)."""
    first, junior, cpr = [await builders.course_version(k) for k in (CourseKind.first_aider, CourseKind.junior_first_aider, CourseKind.cpr_aed)]
    awareness, instructor = await builders.course_version(CourseKind.awareness), await builders.course_version(CourseKind.instructor)
    wudan = await organisation("乌丹镇")
    s1 = await builders.session(first, unit_code="150426", sector="schools", organisation=wudan, starts_on=date(2025, 3, 8))
    s1_ids = await issue(s1, 5, date(2025, 3, 10), date(2028, 3, 10))
    await revoke(s1_ids[0])  # 4 left
    s2 = await builders.session(junior, unit_code="150426", sector="campus", starts_on=date(2025, 3, 28))
    await issue(s2, 3, date(2025, 4, 1), date(2028, 4, 1))
    s3 = await builders.session(cpr, unit_code="150404", sector="companies", starts_on=date(2025, 5, 18))
    await issue(s3, 2, date(2025, 5, 20), date(2025, 6, 30))  # in the year, but expiring in the goals' month
    s4 = await builders.session(first, unit_code="150400", sector="agencies", starts_on=date(2024, 10, 28))
    await issue(s4, 2, date(2024, 11, 1), date(2027, 11, 1))  # last year: valid, not in 2025
    s5 = await builders.session(instructor, unit_code="150426", sector="other", starts_on=date(2025, 1, 28))
    await issue(s5, 1, date(2025, 2, 1), None)  # an instructor certificate: not 持证培训
    s6 = await builders.session(awareness, unit_code="150426", sector="communities", starts_on=date(2025, 3, 5), days=1)
    await report_heads(s6, 250)
    await report_heads(s6, 50)
    s7 = await builders.session(awareness, unit_code="150404", sector="communities", starts_on=date(2024, 12, 1), days=1)
    await report_heads(s7, 100)
    return {"wudan": wudan, "sessions": [s1, s2, s3, s4, s5, s6, s7]}


async def region(make_principal):
    return await make_principal("region_coordinator", unit="150000")


async def test_a_league_year_against_hand_counted_figures(trained, make_principal) -> None:
    who = await region(make_principal)
    chifeng = await progress.progress(who, "150400", 2025, on=ON)
    assert chifeng.actual.model_dump() == {"certified": 4 + 3 + 2, "junior": 3, "awareness": 300}
    assert chifeng.valid_certificates == 4 + 3 + 2  # s1, s2, s4; s3 expires in June; the instructor's is not counted
    assert chifeng.awareness_cumulative == 400
    children = {c.code: c for c in chifeng.children}
    assert len(children) == 12 and children["150426"].actual.model_dump() == {"certified": 7, "junior": 3, "awareness": 300}
    assert children["150404"].actual.model_dump() == {"certified": 2, "junior": 0, "awareness": 0}
    assert children["150426"].valid_certificates == 7 and children["150404"].valid_certificates == 0
    assert chifeng.own.model_dump() == {"certified": 0, "junior": 0, "awareness": 0}  # s4 is last year's
    # The breakdown adds up to the parent, and the parent is the sum of what its children's own pages show.
    for field in ("certified", "junior", "awareness"):
        assert getattr(chifeng.own, field) + sum(getattr(c.actual, field) for c in chifeng.children) == getattr(chifeng.actual, field)
    wengniute = await progress.progress(who, "150426", 2025, on=ON)
    assert wengniute.actual == children["150426"].actual and wengniute.children == [] and wengniute.own == wengniute.actual
    assert [a.code for a in wengniute.ancestors] == ["150000", "150400"]
    last_year = await progress.progress(who, "150400", 2024, on=ON)
    assert last_year.actual.model_dump() == {"certified": 2, "junior": 0, "awareness": 100}
    assert last_year.own.certified == 2 and {c.code: c.actual.awareness for c in last_year.children}["150404"] == 100
    inner_mongolia = await progress.progress(who, "150000", 2025, on=ON)
    leagues = {c.code: c for c in inner_mongolia.children}
    assert len(leagues) == 12 and leagues["150400"].actual == chifeng.actual and inner_mongolia.actual == chifeng.actual


async def test_lines_count_their_unit_organisation_or_sector(trained, make_principal, client, make_user) -> None:
    _, token = await make_user("league_supervisor", unit="150400")
    lines = [("翁牛特旗", 160, 40, 720), ("松山区", 100, 0, 500), ("教育局", 200, 50, 8000), ("企业", 500, 100, 3000),
             ("机关事业单位", 300, 50, 1000)]
    assert (await upload(client, token, table(lines), year=2025, commit=True)).status_code == 200
    _, county = await make_user("county_officer", unit="150426")
    assert (await upload(client, county, table([("乌丹镇", 50, 0, 200), ("社区", 0, 0, 1000)]), unit="150426", year=2025,
                         commit=True)).status_code == 200
    shown = (await client.get("/api/v1/training/targets?unit=150400&year=2025", headers=bearer(token))).json()
    actual = {line["label"]: line["actual"] for line in shown["lines"]}
    assert actual["翁牛特旗"] == {"certified": 7, "junior": 3, "awareness": 300}
    assert actual["松山区"] == {"certified": 2, "junior": 0, "awareness": 0}
    assert actual["教育局"] == {"certified": 7, "junior": 3, "awareness": 0}  # 进学校 and 校园守护 sessions both
    assert actual["企业"]["certified"] == 2 and actual["机关事业单位"]["certified"] == 0  # s4 was in 2024
    assert shown["total"] == {"certified": 1260, "junior": 240, "awareness": 13220} and shown["actual"]["certified"] == 9
    mine = {line["label"]: line["actual"] for line in (await client.get("/api/v1/training/targets?unit=150426&year=2025",
                                                                         headers=bearer(county))).json()["lines"]}
    assert mine == {"乌丹镇": {"certified": 4, "junior": 0, "awareness": 0}, "社区": {"certified": 0, "junior": 0, "awareness": 300}}
    chifeng = await progress.progress(await region(make_principal), "150400", 2025, on=ON)
    children = {c.code: c for c in chifeng.children}
    assert children["150426"].target.certified == 160 and children["150402"].target is None
    assert chifeng.target.certified == 1260


async def test_population_shares_and_the_summed_population(trained, make_principal) -> None:
    who = await region(make_principal)
    chifeng = await progress.progress(who, "150400", 2025, on=ON)
    goals = {g.code: g for g in chifeng.goals}
    assert chifeng.population == CHIFENG_POPULATION and chifeng.population_summed is False
    assert goals["certified_share"].actual == round(9 * 100 / CHIFENG_POPULATION, 3) and goals["certified_share"].goal == 4.2
    assert goals["certified_share"].met is False and goals["certified_share"].numerator == 9
    assert goals["awareness_share"].actual == round(400 * 100 / CHIFENG_POPULATION, 3) and goals["awareness_share"].goal == 30
    wengniute = {g.code: g for g in (await progress.progress(who, "150426", 2025, on=ON)).goals}
    assert wengniute["certified_share"].actual is None and wengniute["certified_share"].note == "no population figure"
    await OrgUnit.update({OrgUnit.population_2020: 400}).where(OrgUnit.code == "150426")
    wengniute = {g.code: g for g in (await progress.progress(who, "150426", 2025, on=ON)).goals}
    assert wengniute["certified_share"].actual == 1.75 and wengniute["awareness_share"].actual == 75.0
    assert wengniute["awareness_share"].met is True and wengniute["certified_share"].met is False
    # A unit without a figure sums its children's.
    await OrgUnit.update({OrgUnit.population_2020: 600}).where(OrgUnit.code == "150404")
    await OrgUnit.update({OrgUnit.population_2020: None}).where(OrgUnit.code == "150400")
    chifeng = await progress.progress(who, "150400", 2025, on=ON)
    assert chifeng.population == 1000 and chifeng.population_summed is True
    assert {g.code: g.actual for g in chifeng.goals}["certified_share"] == 0.9
    assert {c.code: c.certified_share for c in chifeng.children}["150426"] == 1.75


async def _aed(who, code: str, unit: str) -> None:
    await equipment.register_aed(who, AedIn(code=code, unit_code=unit, place_name="乌丹镇中心广场", address="乌丹镇", lat=42.94, lon=119.01,
                                            responsible_org="旗红十字会"))


async def test_aed_ratios_and_no_aeds(trained, make_principal) -> None:
    admin = await make_principal("admin")
    for code in ("AED-WNT-001", "AED-WNT-002", "AED-WNT-003"):
        await _aed(admin, code, "150426")
    await Aed.update({Aed.in_service: False}).where(Aed.code == "AED-WNT-003")
    who = await region(make_principal)
    goals = {g.code: g for g in (await progress.progress(who, "150400", 2025, on=ON)).goals}
    assert goals["aeds_per_100k"].numerator == 2 and goals["aeds_per_100k"].actual == round(2 * 100_000 / CHIFENG_POPULATION, 3)
    assert goals["aeds_per_100k"].goal == 30 and goals["aeds_per_100k"].met is False
    assert goals["first_aiders_per_aed"].actual == 4.5 and goals["first_aiders_per_aed"].goal == 10
    assert goals["first_aiders_per_aed"].numerator == 9 and goals["first_aiders_per_aed"].denominator == 2
    songshan = {g.code: g for g in (await progress.progress(who, "150404", 2025, on=ON)).goals}
    assert songshan["first_aiders_per_aed"].actual is None and songshan["first_aiders_per_aed"].note == "no AEDs"
    assert songshan["first_aiders_per_aed"].met is None


async def test_rescue_forces_certified_share(db, make_principal) -> None:
    team = await make_team("CF-WNT-01", unit="150426", members=5)
    await make_team("CF-SS-01", unit="150404", members=2)
    types = {row["code"]: row["id"] for row in await CertificateType.select(CertificateType.id, CertificateType.code)}
    now = datetime.now(UTC)
    people = team["people"]
    for person, kind, issued, expires in (
            (people[0], "rc_first_aider", date(2024, 1, 1), date(2027, 1, 1)),
            (people[1], "junior_first_aider", date(2024, 5, 1), None),
            (people[2], "rc_first_aider", date(2020, 1, 1), date(2023, 1, 1)),  # expired
            (people[3], "water_rescue", date(2024, 1, 1), date(2027, 1, 1))):  # not a first-aid certificate
        await Certificate.insert(Certificate(person=person, type=types[kind], issued_on=issued, expires_on=expires, created_at=now))
    who = await region(make_principal)
    wengniute = {g.code: g for g in (await progress.progress(who, "150426", 2025, on=ON)).goals}["rescue_forces_certified"]
    assert (wengniute.numerator, wengniute.denominator, wengniute.actual, wengniute.goal, wengniute.met) == (2, 5, 40.0, 80.0, False)
    chifeng = await progress.progress(who, "150400", 2025, on=ON)
    assert (chifeng.rescue_certified, chifeng.rescue_members) == (2, 7)
    # A member who left no longer counts.
    await Membership.update({Membership.left_on: date(2025, 1, 1), Membership.status: "exited"}).where(Membership.person == people[4])
    assert (await progress.progress(who, "150426", 2025, on=ON)).rescue_members == 4
    nobody = {g.code: g for g in (await progress.progress(who, "150421", 2025, on=ON)).goals}["rescue_forces_certified"]
    assert nobody.actual is None and nobody.note == "no active rescue-team members"


async def test_the_api_scopes_progress_and_checks_the_year(trained, client, make_user) -> None:
    _, county = await make_user("county_officer", unit="150426")
    mine = await client.get("/api/v1/training/progress?unit=150426&year=2025", headers=bearer(county))
    assert mine.status_code == 200 and mine.json()["actual"]["certified"] == 7
    assert (await client.get("/api/v1/training/progress?unit=150400&year=2025", headers=bearer(county))).status_code == 403
    assert (await client.get("/api/v1/training/progress?unit=nowhere&year=2025", headers=bearer(county))).status_code == 404
    bad = await client.get("/api/v1/training/progress?unit=150426&year=3000", headers=bearer(county))
    assert bad.status_code == 422 and "year" in bad.text
    export = await client.get("/api/v1/training/progress/export.xlsx?unit=150426&year=2025", headers=bearer(county))
    assert export.status_code == 200 and export.content[:2] == b"PK"


async def test_the_tally_is_a_few_rows_per_key(trained) -> None:
    """The five s1 certificates and the revocation share one tally row: counting reads the tally, not the certificates."""
    rows = await Tally.select().where((Tally.kind == "first_aider") & (Tally.unit_path == "/150000/150400/150426/"))
    assert len(rows) == 1 and rows[0]["certificates"] == 4 and rows[0]["organisation"] == trained["wudan"]


async def test_children_of_mixed_code_widths_still_add_up(trained, make_principal) -> None:
    """A hand-made unit whose code is wider than its siblings': the breakdown joins path ranges instead of cutting paths."""
    chifeng = await builders.unit("150400")
    await OrgUnit.insert(OrgUnit(code="15049901", kind="county", parent=chifeng["id"], path="/150000/150400/15049901/", depth=2,
                                 name_zh="测试新区", name_en="Test New Area", population_2020=1000))
    version = await builders.course_version(CourseKind.first_aider)
    await issue(await builders.session(version, unit_code="15049901", starts_on=date(2025, 2, 1)), 4, date(2025, 2, 3), date(2028, 2, 3))
    result = await progress.progress(await region(make_principal), "150400", 2025, on=ON)
    children = {c.code: c for c in result.children}
    assert len(children) == 13 and children["15049901"].actual.certified == 4 and children["150426"].actual.certified == 7
    assert result.actual.certified == 13 and result.own.certified == 0 and result.valid_certificates == 13
    assert children["15049901"].certified_share == 0.4
