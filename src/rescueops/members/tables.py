from enum import Enum

from piccolo.columns import JSONB, Boolean, Date, ForeignKey, Integer, Numeric, SmallInt, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.accounts.tables import User
from rescueops.teams.tables import Team


class Gender(str, Enum):
    female = "female"
    male = "male"


class TeamRole(str, Enum):
    captain = "captain"
    deputy_captain = "deputy_captain"
    member = "member"
    probationary = "probationary"


class MemberStatus(str, Enum):
    applicant = "applicant"
    probation = "probation"
    active = "active"
    inactive = "inactive"
    exited = "exited"


class HoursSource(str, Enum):
    drill = "drill"
    deployment = "deployment"
    training = "training"
    manual = "manual"


class HoursStatus(str, Enum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class Person(Table, tablename="members_person"):
    name = Varchar(length=50)
    gender = Varchar(length=8, choices=Gender)
    birth_date = Date()
    # The national ID number is stored encrypted; its keyed hash finds duplicates without decrypting.
    id_number_encrypted = Text()
    id_number_hash = Varchar(length=64, unique=True)
    id_number_last4 = Varchar(length=4)
    phone = Varchar(length=20, default="")
    blood_type = Varchar(length=8, default="")
    emergency_contact = Varchar(length=50, default="")
    emergency_phone = Varchar(length=20, default="")
    rc_member_number = Varchar(length=32, default="")  # 红十字会会员号
    skills = Text(default="")
    languages = JSONB(default="[]")  # e.g. ["zh", "mn"] (Mongolian)
    user = ForeignKey(User, null=True, default=None, on_delete=OnDelete.set_null)
    card_version = SmallInt(default=1)  # bumping it revokes every card printed before
    created_at = Timestamptz()


class Membership(Table, tablename="members_membership"):
    """One stay of a person in a team. At most one open (left_on IS NULL) per person, by a partial unique index."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade)
    team = ForeignKey(Team, on_delete=OnDelete.restrict)
    role = Varchar(length=16, choices=TeamRole, default=TeamRole.member)
    status = Varchar(length=12, choices=MemberStatus, default=MemberStatus.applicant)
    joined_on = Date()
    left_on = Date(null=True, default=None)
    exit_reason = Text(default="")


class MembershipEvent(Table, tablename="members_membership_event"):
    """History of a membership: status and role changes, with who and why."""

    membership = ForeignKey(Membership, on_delete=OnDelete.cascade)
    kind = Varchar(length=16)  # "status" or "role"
    from_value = Varchar(length=16, default="")
    to_value = Varchar(length=16)
    reason = Text(default="")
    effective_on = Date()
    by_user = Integer(null=True, default=None)
    at = Timestamptz()


class CertificateType(Table, tablename="members_certificate_type"):
    code = Varchar(length=32, unique=True)
    name_zh = Varchar(length=100)
    name_en = Varchar(length=200)
    issuer = Varchar(length=100, default="")
    validity_months = SmallInt(null=True, default=None)  # None: does not expire
    first_aid = Boolean(default=False)  # counts as the first-aid certificate every member should hold


class Certificate(Table, tablename="members_certificate"):
    person = ForeignKey(Person, on_delete=OnDelete.cascade)
    type = ForeignKey(CertificateType, on_delete=OnDelete.restrict)
    number = Varchar(length=64, default="")
    issued_on = Date()
    expires_on = Date(null=True, default=None)
    file_name = Varchar(length=200, default="")  # scanned copy under var/uploads
    file_type = Varchar(length=100, default="")
    # "" when entered on the roster; "training" when issued by first-aid training, which alone may change or revoke it.
    source = Varchar(length=16, default="")
    created_at = Timestamptz()


class InsurancePolicy(Table, tablename="members_insurance"):
    person = ForeignKey(Person, on_delete=OnDelete.cascade)
    insurer = Varchar(length=100)
    policy_number = Varchar(length=64)
    starts_on = Date()
    ends_on = Date()
    file_name = Varchar(length=200, default="")
    file_type = Varchar(length=100, default="")
    created_at = Timestamptz()


class HoursEntry(Table, tablename="members_hours"):
    """Volunteer service hours (志愿服务时长); drills and deployments add approved rows."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade)
    team = ForeignKey(Team, on_delete=OnDelete.restrict)
    source = Varchar(length=12, choices=HoursSource)
    source_ref = Varchar(length=64, default="")
    worked_on = Date(index=True)
    hours = Numeric(digits=(6, 2))
    note = Text(default="")
    status = Varchar(length=10, choices=HoursStatus, default=HoursStatus.approved)
    entered_by = Integer(null=True, default=None)
    decided_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class ImportBatch(Table, tablename="members_import"):
    """An uploaded roster awaiting confirmation. The file is kept encrypted (it holds ID numbers)
    and parsed again on commit; it is deleted once committed or after a day."""

    team = ForeignKey(Team, on_delete=OnDelete.cascade)
    file_name = Varchar(length=200)
    content_encrypted = Text()
    report = JSONB()
    uploaded_by = Integer()
    uploaded_at = Timestamptz()
    committed_at = Timestamptz(null=True, default=None)
