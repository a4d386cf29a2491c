"""Demo data for a first `make run`: depots, one login per role, a team with its roster and equipment, first-aid training. Never in production mode."""

from __future__ import annotations

import io
import json
import os
import secrets
from datetime import date, datetime, time, timedelta
from pathlib import Path

from rescueops.accounts import service as accounts
from rescueops.accounts.schemas import GrantIn, UserCreate
from rescueops.accounts.tables import Role
from rescueops.calendar import CHINA, china_today, utc_now
from rescueops.deployments import service as deployments
from rescueops.deployments.schemas import CloseIn, DispatchIn, IncidentIn, LogEntryIn, TransitionIn
from rescueops.drills import service as drills
from rescueops.drills.schemas import DrillIn, RecurrenceIn, TrainingPlanIn
from rescueops.equipment import service as equipment
from rescueops.equipment.schemas import (
    AedCheckIn,
    AedIn,
    InspectionIn,
    ItemIn,
    KitIn,
    MovementIn,
    OwnerIn,
    PackIn,
    StockLine,
    TransferRequestIn,
)
from rescueops.members import service as members
from rescueops.members.identity import check_digit
from rescueops.members.schemas import CertificateIn, JoinIn, PersonIn
from rescueops.orgs import service as orgs
from rescueops.orgs.schemas import OrgUnitCreate
from rescueops.orgs.tables import OrgKind, ReferenceLoad
from rescueops.settings import Settings, SettingsError
from rescueops.teams import service as teams
from rescueops.teams.schemas import DecisionIn, FilingIn, StatusIn, TeamCreate

DEMO = "demo"

DEPOTS = [
    OrgUnitCreate(code="150000-D01", kind=OrgKind.depot, parent_code="150000", name_zh="自治区红十字会应急物资储备库（演示）",
                  name_en="Region Red Cross reserve depot (demo)", lat=40.80, lon=111.70),
    OrgUnitCreate(code="150400-D01", kind=OrgKind.depot, parent_code="150400", name_zh="赤峰市红十字会应急物资储备库（演示）",
                  name_en="Chifeng Red Cross reserve depot (demo)", lat=42.26, lon=118.89),
]

# username, display name, home unit, role, scope (unit code or hub code)
USERS = [
    ("admin", "系统管理员", "150000", Role.admin, {"unit_code": "150000"}),
    ("region", "自治区红十字会 王协调", "150000", Role.region_coordinator, {"unit_code": "150000"}),
    ("hub-east", "东部区域骨干队 李协调", "150400", Role.hub_coordinator, {"hub_code": "east"}),
    ("hub-central", "中部区域骨干队 高协调", "150900", Role.hub_coordinator, {"hub_code": "central"}),
    ("chifeng", "赤峰市红十字会 张监管", "150400", Role.league_supervisor, {"unit_code": "150400"}),
    ("wengniute", "翁牛特旗红十字会 赵专干", "150426", Role.county_officer, {"unit_code": "150426"}),
    ("logistics", "储备库 刘保管", "150400-D01", Role.logistics, {"unit_code": "150400-D01"}),
    ("captain", "翁牛特旗救援队 巴特尔队长", "150426", Role.captain, {"team_code": "CF-WNT-01"}),
    ("member", "翁牛特旗救援队 其其格", "150426", Role.member, {"team_code": "CF-WNT-01"}),
    ("training", "赤峰市红十字会 韩培训", "150400", Role.training_officer, {"unit_code": "150400"}),
    ("examiner", "赤峰市红十字会考核员 孟和巴雅尔", "150400", Role.examiner, {"unit_code": "150400"}),
]

# The demo team: a search-and-rescue team in Wengniute Banner with a small roster.
TEAM = TeamCreate(
    code="CF-WNT-01", unit_code="150426", name_zh="翁牛特旗红十字应急救援队", name_en="Wengniute Banner Red Cross Rescue Team",
    primary_category="search_rescue", specialties=["water_rescue", "medical"], registration_kind="red_cross_filing",
    registration_number="翁红发〔2024〕3号", filing_date=date(2024, 3, 15), founded_on=date(2024, 3, 1),
    base_address="内蒙古赤峰市翁牛特旗乌丹镇", lat=42.94, lon=119.01, hub_code=None, contact_phone="0476-6321234",
)
ROSTER = ["巴特尔", "其其格", "王建国", "李秀英", "张伟", "乌力吉", "刘洋", "陈静", "苏日娜", "赵磊", "孙丽", "那顺"]


def _demo_id_number(index: int, area: str = "150426") -> tuple[str, date, str]:
    born = date(1975, 3, 1) + timedelta(days=997 * index)
    first17 = f"{area}{born:%Y%m%d}{(index * 2 + index % 2) % 1000:03d}"
    return first17 + check_digit(first17), born, "male" if index % 2 else "female"


async def _demo_team(user_ids: dict[str, int]) -> None:
    """The roster as a captain would build it, the leadership as filed and approved, through the services."""
    captain = await accounts.load_principal(user_ids["captain"])
    supervisor = await accounts.load_principal(user_ids["chifeng"])
    people = []
    for index, name in enumerate(ROSTER, start=1):
        number, born, gender = _demo_id_number(index)
        joined = await members.join_team(captain, TEAM.code, JoinIn(
            person=PersonIn(name=name, gender=gender, birth_date=born, id_number=number, phone=f"1394766{index:04d}",
                            languages=["zh", "mn"] if index % 3 == 1 else ["zh"]),
            status="active", joined_on=date(2024, 3, 1),
        ))
        people.append(joined.id)
        if index % 4:  # valid, valid but expiring soon, expired; every fourth member holds none
            issued = china_today() - timedelta(days={1: 400, 2: 1040, 3: 1200}[index % 4])
            await members.add_certificate(captain, joined.id, CertificateIn(
                type_code="rc_first_aider", number=f"NM-RC-{issued.year}-{index:04d}", issued_on=issued))
    filing = await teams.file_leadership(captain, TEAM.code, FilingIn(
        captain_id=people[0], deputy_ids=people[2:4], reason="队伍组建，首次备案队长和副队长"))
    await teams.decide_filing(supervisor, filing.id, DecisionIn(approve=True, reason="同意备案"))
    await teams.change_status(supervisor, TEAM.code, StatusIn(status="active", reason="备案完成，队伍正式组建"))
    await members.link_account(captain, people[1], "member")


# Depot stock (depot, type, quantity) and pre-positioned equipment (depot, type, asset tags).
DEPOT_STOCK = [("150000-D01", "tent_12m2", 500), ("150000-D01", "blanket", 3000), ("150000-D01", "cot", 400),
               ("150400-D01", "tent_12m2", 120), ("150400-D01", "blanket", 800), ("150400-D01", "family_kit", 300)]
DEPOT_ITEMS = [("150000-D01", "water_purifier", ["NM-D01-WP-001", "NM-D01-WP-002"]),
               ("150400-D01", "generator", ["CF-D01-GEN-001", "CF-D01-GEN-002", "CF-D01-GEN-003"])]
# The team's rope rescue kit: one of its two radios is not registered yet, so the kit shows as not ready.
KIT_ITEMS = [("static_rope", "CF-WNT-ROPE-001"), ("static_rope", "CF-WNT-ROPE-002"), ("harness", "CF-WNT-HAR-001"),
             ("harness", "CF-WNT-HAR-002"), ("radio", "CF-WNT-R-001")]


async def _demo_equipment(user_ids: dict[str, int]) -> None:
    """Depot stock, the team's kit with an inspection, public AEDs, and a transfer request waiting for the depot."""
    admin = await accounts.load_principal(user_ids["admin"])
    captain = await accounts.load_principal(user_ids["captain"])
    officer = await accounts.load_principal(user_ids["wengniute"])
    for depot, type_code, quantity in DEPOT_STOCK:
        await equipment.move_stock(admin, MovementIn(depot_code=depot, type_code=type_code, kind="receive", quantity=quantity,
                                                     reference="2026 年度物资采购"))
    for depot, type_code, tags in DEPOT_ITEMS:
        for tag in tags:
            await equipment.register_item(admin, ItemIn(depot_code=depot, asset_tag=tag, type_code=type_code, funding="fiscal",
                                                        acquired_on=date(2025, 6, 1)))
    for type_code, tag in KIT_ITEMS:
        await equipment.register_item(captain, ItemIn(team_code=TEAM.code, asset_tag=tag, type_code=type_code, storage_location="队部装备间",
                                                      funding="donation", acquired_on=date(2024, 5, 1)))
    await equipment.register_kit(captain, KitIn(team_code=TEAM.code, asset_tag="CF-WNT-KIT-R01", template_code="rope_rescue_kit",
                                                storage_location="队部装备间"))
    await equipment.pack(captain, "CF-WNT-KIT-R01", PackIn(asset_tags=[tag for _, tag in KIT_ITEMS]))
    rope = await equipment.get_item(captain, "CF-WNT-ROPE-001")
    await equipment.record_inspection(captain, rope.asset_tag, InspectionIn(
        results={point: True for point in rope.type.checklist}, note="季度检查"))
    later = china_today() + timedelta(days=400)
    for code, place, address, lat, lon, pads in (
            ("AED-WNT-001", "乌丹镇人民广场", "翁牛特旗乌丹镇全宁街", 42.936, 119.017, later),
            ("AED-WNT-002", "翁牛特旗汽车站", "翁牛特旗乌丹镇玉龙大街", 42.941, 119.003, china_today() - timedelta(days=20))):
        await equipment.register_aed(officer, AedIn(code=code, unit_code="150426", place_name=place, address=address,
                                                    lat=lat, lon=lon, responsible_org="翁牛特旗红十字会", contact_name="赵专干",
                                                    contact_phone="13947600088", pads_expire_on=pads, battery_expires_on=later))
        await equipment.record_aed_check(officer, code, AedCheckIn(working=True, note="月度巡检"))
    await equipment.request_transfer(captain, TransferRequestIn(
        source=OwnerIn(depot_code="150400-D01"), destination=OwnerIn(team_code=TEAM.code),
        stock_lines=[StockLine(type="tent_12m2", quantity=20)], reason="汛期前置：乌丹镇安置点帐篷"))  # for the depot keeper to approve


async def _demo_drills(user_ids: dict[str, int]) -> None:
    """The team's monthly water-rescue training for the next three months, from the library, and this year's target."""
    captain = await accounts.load_principal(user_ids["captain"])
    today = china_today()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    await drills.plan_drill(captain, DrillIn(
        scenario_id="water_rescue_monthly_training", organiser_team_code=TEAM.code,
        starts_at=datetime.combine(saturday, time(9, 0), tzinfo=CHINA), place="西拉木伦河乌丹段水上训练场", lat=42.93, lon=119.02,
        expected_participants=10, recurrence=RecurrenceIn(frequency="monthly", occurrences=3)))
    await drills.set_training_plan(captain, TEAM.code, TrainingPlanIn(year=today.year, target_count=12, note="每月一次水上救援训练"))


# The central hub's backbone team in Ulanqab: the east hub's request for search and rescue reaches it, ranked with
# the reasons, so `make run` shows the assistance flow (hub-east asks, hub-central offers, hub-east accepts).
CENTRAL_TEAM = TeamCreate(
    code="UL-JN-01", unit_code="150902", name_zh="乌兰察布市集宁区红十字应急救援队", name_en="Jining District Red Cross Rescue Team",
    primary_category="search_rescue", specialties=["medical"], registration_kind="civil_affairs", registration_number="52150902MJY00012X",
    founded_on=date(2023, 5, 1), base_address="内蒙古乌兰察布市集宁区", lat=41.03, lon=113.11, hub_code="central",
    contact_phone="0474-8211234",
)
CENTRAL_ROSTER = ["高峰", "阿拉坦", "白雪", "韩冬", "斯琴", "吴刚", "乌日娜", "郭亮"]
CENTRAL_ITEMS = [("rescue_vehicle", "UL-JN-VEH-001"), ("life_detector", "UL-JN-LD-001"), ("stretcher", "UL-JN-STR-001"),
                 ("stretcher", "UL-JN-STR-002")]


async def _demo_central_team(user_ids: dict[str, int]) -> None:
    """A second team, in another hub, with certified members and equipment; its leadership filed and approved."""
    admin = await accounts.load_principal(user_ids["admin"])
    region = await accounts.load_principal(user_ids["region"])
    await teams.create_team(admin, CENTRAL_TEAM)
    people = []
    for index, name in enumerate(CENTRAL_ROSTER, start=1):
        number, born, gender = _demo_id_number(index, area="150902")
        joined = await members.join_team(admin, CENTRAL_TEAM.code, JoinIn(
            person=PersonIn(name=name, gender=gender, birth_date=born, id_number=number, phone=f"1384745{index:04d}"),
            status="active", joined_on=date(2023, 5, 1)))
        people.append(joined.id)
        await members.add_certificate(admin, joined.id, CertificateIn(
            type_code="rc_first_aider", number=f"NM-RC-UL-{index:04d}", issued_on=china_today() - timedelta(days=200)))
    filing = await teams.file_leadership(admin, CENTRAL_TEAM.code, FilingIn(
        captain_id=people[0], deputy_ids=people[1:3], reason="骨干队组建，备案队长和副队长"))
    await teams.decide_filing(region, filing.id, DecisionIn(approve=True, reason="同意备案"))
    await teams.change_status(region, CENTRAL_TEAM.code, StatusIn(status="active", reason="备案完成"))
    for type_code, tag in CENTRAL_ITEMS:
        await equipment.register_item(admin, ItemIn(team_code=CENTRAL_TEAM.code, asset_tag=tag, type_code=type_code, funding="fiscal",
                                                    acquired_on=date(2025, 3, 1)))


# One deployment the demo team went on and closed: an ice jam on the Xar Moron, logged from the captain's phone.
DEPLOYMENT_LOG = [  # (minutes after the call, kind, count, text)
    (135, "arrival", None, "抵达海日苏嘎查河段，与旗应急管理局现场指挥部会合，领受任务：转移沿河低洼处牧户"),
    (150, "hazard", None, "河道冰坝壅高约 1.5 米，两岸冰面开裂，禁止人员上冰"),
    (170, "task", None, "分两组入户动员，用冲锋舟转移被冰水围困的牧户"),
    (230, "rescued", 6, "转移被困牧民 6 人（含老人 2 人）至嘎查村委会安置点"),
    (260, "treated", 2, "2 人轻度冻伤，现场保暖处置后送乌丹镇卫生院"),
    (300, "resource_request", 30, "安置点请求棉被 30 床，已报旗红十字会"),
    (480, "demobilisation", None, "水位回落，指挥部同意队伍撤离"),
]


async def _demo_deployment(user_ids: dict[str, int]) -> None:
    """A closed deployment of the demo team, through the services: incident, dispatch, steps, log, close (hours credited)."""
    captain = await accounts.load_principal(user_ids["captain"])
    called = datetime.combine(china_today() - timedelta(days=12), time(6, 40), tzinfo=CHINA)
    at = lambda minutes: called + timedelta(minutes=minutes)  # noqa: E731
    incident = await deployments.open_incident(captain, IncidentIn(
        kind="ice_jam", title="西拉木伦河海日苏段凌汛", place="乌丹镇海日苏嘎查沿河牧户", unit_code=TEAM.unit_code, lat=43.02, lon=119.21,
        requesting_authority="翁牛特旗应急管理局", severity=3, started_at=at(-50)))
    roster = await members.roster(captain, TEAM.code)
    going = [m.person_id for m in roster.members][:6]
    deployment = await deployments.dispatch_team(captain, incident.id, DispatchIn(
        team_code=TEAM.code, person_ids=going, asset_tags=["CF-WNT-ROPE-002", "CF-WNT-HAR-002"], alerted_at=at(0),
        note="旗应急管理局电话通知"))
    for minutes, status in ((25, "mobilising"), (130, "on_scene")):
        await deployments.change_status(captain, deployment.id, TransitionIn(status=status, at=at(minutes)))
    for minutes, kind, count, text in DEPLOYMENT_LOG:
        await deployments.add_log_entry(captain, deployment.id, LogEntryIn(kind=kind, count=count, text=text, occurred_at=at(minutes)))
    await deployments.change_status(captain, deployment.id, TransitionIn(status="demobilising", at=at(490)))
    await deployments.close_deployment(captain, deployment.id, CloseIn(
        at=at(600), note="转移牧民 6 人，救治 2 人，无人员伤亡；装备完好归还。建议汛前预置冲锋舟于海日苏嘎查。"))


# A one-page PDF standing for the team's emergency plan (the demo's assessor item needs its document).
PLAN_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"


async def _demo_grading(user_ids: dict[str, int]) -> None:
    """The team's water-rescue grade (level 3, entered from its 2025 paper assessment through the workflow), its application
    for search and rescue waiting for the assessors, and the readiness the dashboard reads."""
    from rescueops.grading import service as grading
    from rescueops.grading.schemas import AssessmentOpen, DecisionIn, ScoreIn
    from rescueops.teams.schemas import GradingDeclarationIn

    supervisor = await accounts.load_principal(user_ids["chifeng"])
    captain = await accounts.load_principal(user_ids["captain"])
    await teams.declare_for_grading(captain, TEAM.code, GradingDeclarationIn(self_sufficiency_hours=48, party_organisation="branch"))
    graded = await grading.open_assessment(supervisor, AssessmentOpen(team_code=TEAM.code, category="water_rescue",
                                                                      note="录入 2025 年纸质分级测评结果"))
    await grading.attach_document(supervisor, graded.id, title="翁牛特旗救援队应急预案（2025 版）", criterion_id="plans",
                                  content=PLAN_PDF, content_type="application/pdf")
    await grading.score(supervisor, graded.id, ScoreIn(criterion_id="plans", score=7, note="预案齐全，缺冰上救援专项预案"))
    await grading.decide(supervisor, graded.id, DecisionIn(
        level=3, reason="2025 年纸质测评定为水上救生三级",
        override_reason="2025 年纸质测评已定为三级；训练、保险和证书记录正在补录系统，补录期间维持原等级"))
    await grading.open_assessment(captain, AssessmentOpen(team_code=TEAM.code, category="search_rescue", requested_level=3,
                                                          note="申请搜救类三级测评"))
    await grading.refresh_readiness()


def _trainee_id_number(index: int, male: bool, area: str = "150426") -> str:
    """A valid ID number for the demo's trainees, instructors and examiner (none of them on a team roster)."""
    born = date(1968, 5, 1) + timedelta(days=409 * index)
    first17 = f"{area}{born:%Y%m%d}{600 + 2 * index + (1 if male else 0):03d}"
    return first17 + check_digit(first17)


# The school's teachers on the first-aider course: (name, male, day-2 hours, theory, practical); 李秀英 of the demo
# team's roster is one of them, so her member page shows the certificate. 白玉山 missed half the second day (not
# eligible to sit), 刘志强 failed the theory.
TEACHERS = [("王丽娟", False, 8, 85, 90), ("刘志强", True, 8, 76, 85), ("高娜", False, 8, 90, 95), ("白玉山", True, 4, None, None),
            ("乌兰", False, 8, 82, 88)]
TEAM_TEACHER = 4  # the roster's 李秀英 (index 4 of ROSTER, who holds no first-aid certificate yet)


async def _demo_training(user_ids: dict[str, int]) -> None:
    """First-aid training in Wengniute: organisations, a base and an experience hall with a booking, instructors (the
    banner's two full-time ones; Songshan one short), the examiner pool, a first-aider course taught, examined by the
    pool's examiner and certified, an open CPR+AED session, an awareness talk with its headcount, and Chifeng's yearly
    allocation table for its counties, through the services."""
    from openpyxl import load_workbook

    from rescueops import spreadsheets
    from rescueops.training import bases, certificates, exams, instructors, progress
    from rescueops.training import service as training
    from rescueops.training.schemas import (
        AttendanceEntryIn,
        AttendanceIn,
        BaseIn,
        BookingIn,
        EnrolIn,
        ExaminerIn,
        ExamScoreIn,
        ExamScoresIn,
        ExamSittingIn,
        InstructorIn,
        OrganisationIn,
        ReportedAttendanceIn,
        SessionIn,
        SessionInstructorIn,
        SessionStatusIn,
    )

    officer = await accounts.load_principal(user_ids["training"])
    examiner_login = await accounts.load_principal(user_ids["examiner"])
    today = china_today()

    school, company, community = [await training.create_organisation(officer, OrganisationIn(
        unit_code="150426", name=name, kind=kind, sector=sector)) for name, kind, sector in (
        ("翁牛特旗乌丹第一中学", "school", "schools"), ("翁牛特旗恒泰建材有限公司", "company", "companies"),
        ("乌丹镇全宁社区", "community", "communities"))]

    weekdays = {str(d): ["08:30", "17:00"] for d in range(1, 6)}
    await bases.register_base(officer, BaseIn(code="WNT-JD-01", unit_code="150426", kind="training_base", name_zh="翁牛特旗红十字应急救护培训基地",
                                              address="翁牛特旗乌丹镇全宁街 18 号", capacity=40, opening=weekdays))
    await bases.register_base(officer, BaseIn(
        code="CF-TYG-01", unit_code="150400", kind="experience_hall", name_zh="赤峰市红十字生命安全体验馆", address="赤峰市松山区玉龙大街",
        capacity=30, opening={**{str(d): ["09:00", "16:30"] for d in range(2, 7)}, "7": ["09:00", "12:00"]}))
    visit_day = today + timedelta(days=(2 - today.weekday()) % 7 or 7)  # next Wednesday
    await bases.book(officer, "CF-TYG-01", BookingIn(
        group_name="乌丹第一中学初二（3）班", contact_name="王丽娟", contact_phone="13947605501", people=25, purpose="experience",
        starts_at=datetime.combine(visit_day, time(9, 30), tzinfo=CHINA), ends_at=datetime.combine(visit_day, time(11, 0), tzinfo=CHINA)))

    teachers = []
    for index, (name, qualified, refresher, area, unit) in enumerate((
            ("乌云", date(2021, 6, 18), today - timedelta(days=150), "150426", "150426"),
            ("张海军", date(2022, 9, 2), None, "150426", "150426"),  # no refresher since qualifying: due
            ("李春梅", date(2023, 4, 12), today - timedelta(days=60), "150404", "150404")), start=1):
        teachers.append(await instructors.register_instructor(officer, InstructorIn(
            id_number=_trainee_id_number(index, male=name == "张海军", area=area), name=name, phone=f"1394760{index:04d}",
            unit_code=unit, kind="full_time", qualification_number=f"NM-SZ-{qualified.year}-{index:03d}", qualified_on=qualified,
            qualification_expires_on=today + timedelta(days=500 + 100 * index), last_refresher_on=refresher, stars=4 - index)))
    examiner = await instructors.register_examiner(officer, ExaminerIn(
        id_number=_trainee_id_number(9, male=True, area="150402"), name="孟和巴雅尔", phone="13947609009", unit_code="150400",
        qualification_number="NM-KH-2024-015", qualified_until=today + timedelta(days=700), username="examiner"))

    # The first-aider course for the school's teachers, two days three weeks ago: taught, attended, examined, certified.
    first_day = today - timedelta(days=21)
    code = (await training.plan_session(officer, SessionIn(
        course_code="first_aider", unit_code="150426", organisation_id=school.id, base_code="WNT-JD-01", title="乌丹第一中学教职工红十字救护员培训班",
        starts_on=first_day, ends_on=first_day + timedelta(days=1), capacity=30))).code
    await training.change_status(officer, code, SessionStatusIn(status="open"))
    number, _born, gender = _demo_id_number(TEAM_TEACHER)
    trainees = [(await training.enrol(officer, code, EnrolIn(name=ROSTER[TEAM_TEACHER - 1], gender=gender, id_number=number))).id]
    for index, (name, male, *_rest) in enumerate(TEACHERS, start=10):
        trainees.append((await training.enrol(officer, code, EnrolIn(
            name=name, gender="male" if male else "female", id_number=_trainee_id_number(index, male=male), phone=f"1394761{index:04d}"))).id)
    await training.change_status(officer, code, SessionStatusIn(status="running"))
    for teacher in teachers[:2]:
        await training.add_instructor(officer, code, SessionInstructorIn(instructor_id=teacher.id, hours=8))
    second_day = [8] + [hours for _n, _m, hours, *_s in TEACHERS]
    for day, hours in ((first_day, [8] * len(trainees)), (first_day + timedelta(days=1), second_day)):
        await training.record_attendance(officer, code, AttendanceIn(day=day, entries=[
            AttendanceEntryIn(enrolment_id=e, hours=h) for e, h in zip(trainees, hours, strict=True)]))
    await training.change_status(officer, code, SessionStatusIn(status="completed"))
    await exams.open_sitting(officer, code, ExamSittingIn(examiner_id=examiner.id, held_on=first_day + timedelta(days=1)))
    results = [(trainees[0], 88, 92)] + [(e, t, p) for e, (_n, _m, _h, t, p) in zip(trainees[1:], TEACHERS, strict=True) if t is not None]
    await exams.enter_scores(examiner_login, code, 1, ExamScoresIn(scores=[
        ExamScoreIn(enrolment_id=e, theory=t, practical=p) for e, t, p in results]))
    await certificates.issue_certificates(officer, code)

    # A CPR+AED session for the company's staff in two weeks, open for enrolment.
    later = today + timedelta(days=14)
    open_code = (await training.plan_session(officer, SessionIn(
        course_code="cpr_aed", unit_code="150426", organisation_id=company.id, base_code="WNT-JD-01", title="恒泰建材安全生产“CPR+AED”培训",
        starts_on=later, ends_on=later, capacity=24))).code
    await training.change_status(officer, open_code, SessionStatusIn(status="open"))
    for index, (name, male) in enumerate((("杨振华", True), ("赵春燕", False)), start=20):
        await training.enrol(officer, open_code, EnrolIn(name=name, gender="male" if male else "female",
                                                         id_number=_trainee_id_number(index, male=male), phone=f"1394762{index:04d}"))

    # An awareness talk at the community this year, its heads reported.
    talk_day = max(today - timedelta(days=5), date(today.year, 1, 1))
    talk = (await training.plan_session(officer, SessionIn(
        course_code="awareness", unit_code="150426", organisation_id=community.id, place="全宁社区党群服务中心",
        title="全宁社区居民应急救护普及讲座", starts_on=talk_day, ends_on=talk_day, capacity=150))).code
    await training.change_status(officer, talk, SessionStatusIn(status="running"))
    await training.set_reported_attendance(officer, talk, ReportedAttendanceIn(count=126, note="签到表 126 人次"))
    await training.change_status(officer, talk, SessionStatusIn(status="completed"))

    # Chifeng's allocation table for this year, filled into the Jiangyin-shaped template and imported.
    book = load_workbook(io.BytesIO(await progress.targets_template(officer, "150400", today.year)))
    sheet = book.worksheets[0]
    totals = [0, 0, 0]
    for row in sheet.iter_rows(min_row=3):
        label = row[1].value
        if label == "合计":
            for cell, total in zip(row[2:5], totals, strict=True):
                cell.value = total
            continue
        n = row[0].row
        figures = TARGET_SECTORS.get(label) or (600 if label == "翁牛特旗" else 300 + 50 * (n % 4), 80 + 20 * (n % 3), 3000 + 500 * (n % 5))
        for i, (cell, value) in enumerate(zip(row[2:5], figures, strict=True)):
            cell.value = value
            totals[i] += value
    await progress.import_targets(officer, "150400", today.year, f"赤峰市{today.year}年应急救护培训任务分配表.xlsx",
                                  spreadsheets.workbook_bytes(book))


# The sector lines of Chifeng's table, as in the Jiangyin one: (持证培训总数, 初级救护员, 普及培训).
TARGET_SECTORS = {"教育局": (500, 200, 6000), "机关事业单位": (300, 60, 2000), "企业": (400, 100, 3000)}


def logins_file(settings: Settings) -> Path:
    return settings.var_dir / "demo-logins.json"


async def demo_loaded() -> bool:
    return await ReferenceLoad.exists().where(ReferenceLoad.name == DEMO)


async def load_demo(settings: Settings) -> list[dict[str, str]]:
    """Create the demo data once; returns the logins (username, password, role, scope)."""
    if settings.production:
        raise SettingsError("demo data is never loaded in production mode (RESCUEOPS_ENV=production)")
    if await demo_loaded():
        return read_logins(settings)
    for depot in DEPOTS:
        await orgs.create_unit(None, depot)
    await teams.create_team(None, TEAM)
    logins, user_ids = [], {}
    for username, name, home, role, scope in USERS:
        password = secrets.token_urlsafe(9)
        user = await accounts.create_user(None, UserCreate(username=username, display_name=name, password=password, home_unit_code=home))
        await accounts.grant_role(None, user.id, GrantIn(role=role, **scope))
        user_ids[username] = user.id
        logins.append({"username": username, "password": password, "role": role.value, "scope": next(iter(scope.values()))})
    await _demo_team(user_ids)
    await _demo_equipment(user_ids)
    await _demo_drills(user_ids)
    await _demo_deployment(user_ids)
    await _demo_central_team(user_ids)
    await _demo_grading(user_ids)
    await _demo_training(user_ids)
    await ReferenceLoad.insert(ReferenceLoad(name=DEMO, version="1", loaded_at=utc_now()))
    path = logins_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(logins, handle, ensure_ascii=False, indent=1)
    return logins


def read_logins(settings: Settings) -> list[dict[str, str]]:
    path = logins_file(settings)
    return json.loads(path.read_text()) if path.exists() else []
