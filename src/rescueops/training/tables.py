"""First-aid training of the public (应急救护培训): courses, sessions, exams kept apart from teaching, certificates,
instructors, training bases and yearly targets.

Trainees, instructors and examiners are ``members.Person`` rows (found by their ID number's keyed hash), so a
certificate earned here is on the person's member page the day they join a rescue team. Every record is scoped by
the org path of the Red Cross branch that runs it (``unit_path``), like the rest of the system.
"""

from decimal import Decimal
from enum import Enum

from piccolo.columns import JSONB, Boolean, Date, ForeignKey, Integer, Numeric, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.members.tables import Certificate as MemberCertificate
from rescueops.members.tables import CertificateType, Person
from rescueops.orgs.tables import OrgUnit


class CourseKind(str, Enum):
    """The unified syllabus's (统一教学大纲) course kinds; progress is counted by kind."""

    awareness = "awareness"  # 普及培训: no exam, no certificate; counted as attendances (人次)
    first_aider = "first_aider"  # 红十字救护员
    junior_first_aider = "junior_first_aider"  # 初级救护员
    cpr_aed = "cpr_aed"  # CPR+AED 培训
    instructor = "instructor"  # 救护师资
    refresher = "refresher"  # 复训: renews the certificate of the course it refreshes


# Kinds whose certificates count as "持证培训" in the plans' target tables (救护员、初级救护员、CPR+AED).
CERTIFIED_KINDS = (CourseKind.first_aider, CourseKind.junior_first_aider, CourseKind.cpr_aed, CourseKind.refresher)


class Sector(str, Enum):
    """Where a session reaches people: the ten "救在身边" actions, then the "六进" places."""

    campus = "campus"  # 校园守护
    transport = "transport"  # 交通伴行
    government = "government"  # 机关先行
    scenic = "scenic"  # 景区守护
    workplace_safety = "workplace_safety"  # 安全生产
    sports = "sports"  # 体育伴行
    volunteers = "volunteers"  # 志愿同行
    elderly_care = "elderly_care"  # 安老护老
    rescue_forces = "rescue_forces"  # 救援先锋
    border_police = "border_police"  # 边疆守护
    agencies = "agencies"  # 进机关
    schools = "schools"  # 进学校
    communities = "communities"  # 进社区
    villages = "villages"  # 进农村
    companies = "companies"  # 进企业
    families = "families"  # 进家庭
    other = "other"


class OrganisationKind(str, Enum):
    school = "school"
    company = "company"
    agency = "agency"  # 机关事业单位
    village = "village"  # 村
    community = "community"  # 社区
    other = "other"


class SessionStatus(str, Enum):
    planned = "planned"
    open = "open"  # taking enrolments
    running = "running"
    completed = "completed"  # teaching over; exams and certificates may follow
    cancelled = "cancelled"


class EnrolmentStatus(str, Enum):
    enrolled = "enrolled"
    withdrawn = "withdrawn"


class InstructorKind(str, Enum):
    full_time = "full_time"  # 专职
    part_time = "part_time"  # 兼职


class BaseKind(str, Enum):
    training_base = "training_base"  # 应急救护培训基地
    experience_hall = "experience_hall"  # 生命安全体验馆（体验教室）
    classroom = "classroom"  # 培训教室


class BookingStatus(str, Enum):
    booked = "booked"
    cancelled = "cancelled"


class Course(Table, tablename="training_course"):
    """A course type of the catalogue; what it teaches and certifies lives in its versions."""

    code = Varchar(length=32, unique=True)
    kind = Varchar(length=24, choices=CourseKind)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200)
    active = Boolean(default=True)
    from_reference = Boolean(default=False)


class CourseVersion(Table, tablename="training_course_version"):
    """One version of a course under a syllabus version; unique per (course, version) by an index in the migration.
    A session keeps the version it was planned with, so later edits never change what a certificate stands for."""

    course = ForeignKey(Course, on_delete=OnDelete.restrict)
    version = SmallInt()
    syllabus = Varchar(length=100)  # e.g. 中国红十字会总会 应急救护培训统一教学大纲（2019 版）
    hours = Numeric(digits=(5, 1))
    exam_required = Boolean(default=True)
    theory_pass = SmallInt(null=True, default=None)  # pass marks out of 100; None: that part is not examined
    practical_pass = SmallInt(null=True, default=None)
    certificate_type = ForeignKey(CertificateType, null=True, default=None, on_delete=OnDelete.restrict)
    validity_months = SmallInt(null=True, default=None)  # None: the certificate does not expire
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class Organisation(Table, tablename="training_organisation"):
    """A named organisation under a county that hosts training (a school, company, agency, village, community);
    unique per (unit, name) by an index in the migration."""

    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    unit_path = Varchar(length=512, index=True)
    name = Varchar(length=100)
    kind = Varchar(length=16, choices=OrganisationKind)
    sector = Varchar(length=24, choices=Sector, default=Sector.other)
    created_at = Timestamptz()


class TrainingBase(Table, tablename="training_base"):
    """A training base or life-safety experience hall (培训基地、生命安全体验馆) that groups book."""

    code = Varchar(length=40, unique=True)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    unit_path = Varchar(length=512, index=True)
    kind = Varchar(length=24, choices=BaseKind)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200, default="")
    address = Varchar(length=200, default="")
    capacity = SmallInt()  # people at once
    # Opening times per ISO weekday: {"1": ["08:30", "17:00"], …}; a missing day is closed.
    opening = JSONB(default="{}")
    active = Boolean(default=True)
    created_at = Timestamptz()


class Booking(Table, tablename="training_booking"):
    """A group's visit or session booked at a base (预约). Overlapping bookings may share a base only while their
    people together fit its capacity; the service refuses the rest, naming the booking in the way."""

    base = ForeignKey(TrainingBase, on_delete=OnDelete.restrict)
    unit_path = Varchar(length=512)  # the base's
    group_name = Varchar(length=100)
    contact_name = Varchar(length=50, default="")
    contact_phone = Varchar(length=20, default="")
    people = SmallInt()
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    purpose = Varchar(length=200, default="")  # visit, experience, a training session…
    session = ForeignKey("TrainingSession", null=True, default=None, on_delete=OnDelete.set_null)
    status = Varchar(length=12, choices=BookingStatus, default=BookingStatus.booked)
    cancelled_reason = Text(default="")
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class TrainingSession(Table, tablename="training_session"):
    """One training session (培训班/场次) of one course version, run by a Red Cross branch (``unit``)."""

    code = Varchar(length=40, unique=True)
    course_version = ForeignKey(CourseVersion, on_delete=OnDelete.restrict)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)  # the organising Red Cross branch (county or league)
    unit_path = Varchar(length=512, index=True)
    organisation = ForeignKey(Organisation, null=True, default=None, on_delete=OnDelete.restrict)
    sector = Varchar(length=24, choices=Sector, default=Sector.other)
    base = ForeignKey(TrainingBase, null=True, default=None, on_delete=OnDelete.restrict)
    place = Varchar(length=200, default="")  # where, when not at a base
    title = Varchar(length=200, default="")
    starts_on = Date(index=True)
    ends_on = Date()
    capacity = SmallInt()
    status = Varchar(length=12, choices=SessionStatus, default=SessionStatus.planned)
    # Awareness sessions (普及培训) count heads, not named trainees: the reported attendances (人次).
    reported_attendance = Integer(default=0)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class Instructor(Table, tablename="training_instructor"):
    """An instructor (救护师资) of a Red Cross branch; one row per person, by a unique index in the migration."""

    person = ForeignKey(Person, on_delete=OnDelete.restrict)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    unit_path = Varchar(length=512, index=True)
    kind = Varchar(length=12, choices=InstructorKind)
    qualification_number = Varchar(length=64, default="")
    qualified_on = Date()
    qualification_expires_on = Date(null=True, default=None)
    last_refresher_on = Date(null=True, default=None)
    stars = SmallInt(default=0)  # current star grade (评星), 0–5; its history is InstructorStar
    active = Boolean(default=True)
    created_at = Timestamptz()


class InstructorStar(Table, tablename="training_instructor_star"):
    instructor = ForeignKey(Instructor, on_delete=OnDelete.cascade)
    stars = SmallInt()
    awarded_on = Date()
    reason = Text(default="")
    by_user = Integer(null=True, default=None)
    at = Timestamptz()


class SessionInstructor(Table, tablename="training_session_instructor"):
    """Who taught a session and for how many hours; unique per (session, instructor) by an index in the migration."""

    session = ForeignKey(TrainingSession, on_delete=OnDelete.cascade)
    instructor = ForeignKey(Instructor, on_delete=OnDelete.restrict)
    hours = Numeric(digits=(5, 1))


class Examiner(Table, tablename="training_examiner"):
    """The examiner pool kept by the Red Cross (教考分离); one row per person, by a unique index in the migration."""

    person = ForeignKey(Person, on_delete=OnDelete.restrict)
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)
    unit_path = Varchar(length=512, index=True)
    qualification_number = Varchar(length=64, default="")
    qualified_until = Date(null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()


class Enrolment(Table, tablename="training_enrolment"):
    """A trainee in a session; unique per (session, person) by an index in the migration."""

    session = ForeignKey(TrainingSession, on_delete=OnDelete.cascade)
    person = ForeignKey(Person, on_delete=OnDelete.restrict)
    status = Varchar(length=12, choices=EnrolmentStatus, default=EnrolmentStatus.enrolled)
    hours = Numeric(digits=(5, 1), default=Decimal(0))  # attended hours, the sum of its attendance rows
    enrolled_by = Integer(null=True, default=None)
    enrolled_at = Timestamptz()


class EnrolmentImport(Table, tablename="training_enrolment_import"):
    """An uploaded trainee list awaiting confirmation, like the roster import: kept encrypted (it holds ID numbers),
    parsed again on commit, deleted once committed or after a day."""

    session = ForeignKey(TrainingSession, on_delete=OnDelete.cascade)
    file_name = Varchar(length=200)
    content_encrypted = Text()
    report = JSONB()
    uploaded_by = Integer()
    uploaded_at = Timestamptz()
    committed_at = Timestamptz(null=True, default=None)


class Attendance(Table, tablename="training_attendance"):
    """Hours present on one day; unique per (enrolment, day) by an index in the migration."""

    enrolment = ForeignKey(Enrolment, on_delete=OnDelete.cascade)
    day = Date()
    hours = Numeric(digits=(4, 1))
    recorded_by = Integer(null=True, default=None)


class ExamSitting(Table, tablename="training_exam_sitting"):
    """One sitting of a session's exam with one examiner from the pool; ``attempt`` 2+ are re-sits.
    Unique per (session, attempt) by an index in the migration."""

    session = ForeignKey(TrainingSession, on_delete=OnDelete.cascade)
    examiner = ForeignKey(Examiner, on_delete=OnDelete.restrict)
    attempt = SmallInt(default=1)
    held_on = Date()
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class ExamScore(Table, tablename="training_exam_score"):
    """Theory and practical scores of one trainee at one sitting; unique per (sitting, enrolment)."""

    sitting = ForeignKey(ExamSitting, on_delete=OnDelete.cascade)
    enrolment = ForeignKey(Enrolment, on_delete=OnDelete.cascade)
    theory = SmallInt(null=True, default=None)
    practical = SmallInt(null=True, default=None)
    absent = Boolean(default=False)
    passed = Boolean(default=False)
    entered_by = Integer(null=True, default=None)
    entered_at = Timestamptz()


class TrainingCertificate(Table, tablename="training_certificate"):
    """A certificate issued on passing: the authoritative record behind the public verification page.

    ``member_certificate`` is the person's copy in the roster's certificate list (members_certificate, source
    "training"), so rosters, grading and readiness count it without knowing about training; revoking deletes that copy.
    """

    number = Varchar(length=40, unique=True)
    verify_token = Varchar(length=32, unique=True)  # the QR's URL key: random, so numbers cannot be walked
    person = ForeignKey(Person, on_delete=OnDelete.restrict)
    course_version = ForeignKey(CourseVersion, on_delete=OnDelete.restrict)
    session = ForeignKey(TrainingSession, on_delete=OnDelete.restrict)
    sitting = ForeignKey(ExamSitting, null=True, default=None, on_delete=OnDelete.restrict)
    examiner = ForeignKey(Examiner, null=True, default=None, on_delete=OnDelete.restrict)
    unit_path = Varchar(length=512)  # the session's, for counting under a branch
    kind = Varchar(length=24, choices=CourseKind)  # the course's, for counting by kind
    issued_on = Date()
    expires_on = Date(null=True, default=None)
    revoked_on = Date(null=True, default=None)
    revoked_reason = Text(default="")
    revoked_by = Integer(null=True, default=None)
    member_certificate = ForeignKey(MemberCertificate, null=True, default=None, on_delete=OnDelete.set_null)
    issued_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class CertificateSerial(Table, tablename="training_certificate_serial"):
    """The last serial handed out per number prefix (kind, county, year): one row locked per issue."""

    prefix = Varchar(length=24, unique=True)
    last = Integer(default=0)


class Target(Table, tablename="training_target"):
    """One line of a yearly allocation table (任务分配表): what ``line`` (a sub-unit, a named organisation or a sector)
    of the allocating ``unit`` is to train in ``year``. Unique per (year, unit, label) by an index in the migration."""

    year = SmallInt()
    unit = ForeignKey(OrgUnit, on_delete=OnDelete.restrict)  # the allocating branch
    unit_path = Varchar(length=512, index=True)
    label = Varchar(length=100)  # the line as written in the table: 澄江街道, 教育局, 企业…
    line_unit = ForeignKey(OrgUnit, null=True, default=None, on_delete=OnDelete.restrict)
    organisation = ForeignKey(Organisation, null=True, default=None, on_delete=OnDelete.restrict)
    sector = Varchar(length=24, null=True, default=None, choices=Sector)
    certified = Integer(default=0)  # 持证培训总数（救护员、初级救护员、CPR+AED）
    junior = Integer(default=0)  # of which 初级救护员
    awareness = Integer(default=0)  # 普及培训（人次）
    imported_by = Integer(null=True, default=None)
    imported_at = Timestamptz()


class Tally(Table, tablename="training_tally"):
    """Running counts behind the progress pages, kept in the same transaction as every issue, revocation and
    awareness report, so a province's millions of certificates are summed over a few thousand rows.

    Key (unique index in the migration): (unit_path, organisation, sector, kind, month, expires_month). Sentinels
    instead of NULLs keep the key unique on both engines: organisation 0 = none, sector "" = none,
    expires_month 9999-12-01 = does not expire. ``month`` is the first day of the issue (or session) month.
    """

    unit_path = Varchar(length=512)
    organisation = Integer(default=0)
    sector = Varchar(length=24, default="")
    kind = Varchar(length=24, choices=CourseKind)
    month = Date()
    expires_month = Date()
    certificates = Integer(default=0)  # issued and not revoked
    attendances = Integer(default=0)  # awareness: reported heads


class SubtreeTally(Table, tablename="training_subtree_tally"):
    """The tally summed over organisations, sectors and subtrees: a row of ``unit_path`` counts everything organised at
    that unit or below it. A unit's figures are then its own rows, and its children's are theirs: at most children ×
    months × kinds rows for any breakdown, however many branches, sessions and certificates lie below. Kept by the same
    calls as ``Tally``. Key (unique index in the migration): (unit_path, kind, month, expires_month)."""

    unit_path = Varchar(length=512)
    kind = Varchar(length=24, choices=CourseKind)
    month = Date()
    expires_month = Date()
    certificates = Integer(default=0)
    attendances = Integer(default=0)
