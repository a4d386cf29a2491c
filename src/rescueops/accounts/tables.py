from enum import Enum

from piccolo.columns import JSONB, Boolean, ForeignKey, SmallInt, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from rescueops.orgs.tables import Hub, OrgUnit
from rescueops.teams.tables import Team


class Role(str, Enum):
    admin = "admin"
    region_coordinator = "region_coordinator"
    hub_coordinator = "hub_coordinator"
    league_supervisor = "league_supervisor"
    county_officer = "county_officer"
    logistics = "logistics"
    training_officer = "training_officer"  # 培训干事: first-aid training of the public at a county or league Red Cross
    examiner = "examiner"  # 考核员 of the examiner pool: enters exam scores, never for a session they taught
    captain = "captain"
    deputy_captain = "deputy_captain"
    member = "member"


class UserKind(str, Enum):
    person = "person"
    service = "service"  # another system (120 dispatch, national Red Cross dispatch): tokens only


class TokenKind(str, Enum):
    session = "session"  # browser cookie, pages only
    api = "api"  # Authorization: Bearer, API only


class User(Table, tablename="accounts_user"):
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=100)
    kind = Varchar(length=12, choices=UserKind, default=UserKind.person)
    password_hash = Varchar(length=255, null=True, default=None)
    home_unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.set_null)
    locale = Varchar(length=8, null=True, default=None)
    is_active = Boolean(default=True)
    failed_logins = SmallInt(default=0)
    locked_until = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class RoleAssignment(Table, tablename="accounts_role_assignment"):
    """A role held over one scope: an org unit (and everything under it), a regional hub, or a team.

    Exactly one of ``unit``, ``hub`` and ``team`` is set; the service enforces it.
    """

    user = ForeignKey(User, on_delete=OnDelete.cascade)
    role = Varchar(length=32, choices=Role)
    unit = ForeignKey(OrgUnit, null=True, on_delete=OnDelete.cascade)
    hub = ForeignKey(Hub, null=True, on_delete=OnDelete.cascade)
    team = ForeignKey(Team, null=True, default=None, on_delete=OnDelete.cascade)
    granted_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    granted_at = Timestamptz()


class Token(Table, tablename="accounts_token"):
    """A session cookie or an API bearer token; only its SHA-256 is stored."""

    user = ForeignKey(User, on_delete=OnDelete.cascade)
    kind = Varchar(length=12, choices=TokenKind)
    name = Varchar(length=100, default="")
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=12)
    created_at = Timestamptz()
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    created_ip = Varchar(length=64, null=True, default=None)


class LoginAttempt(Table, tablename="accounts_login_attempt"):
    username = Varchar(length=64, index=True)
    ip = Varchar(length=64, index=True)
    at = Timestamptz(index=True)
    succeeded = Boolean()


class AuditEntry(Table, tablename="accounts_audit"):
    at = Timestamptz(index=True)
    actor = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    actor_name = Varchar(length=64)  # kept when the user is gone
    action = Varchar(length=64, index=True)  # "orgs.unit.create", "accounts.role.grant", …
    entity = Varchar(length=64)
    entity_id = Varchar(length=64)
    # Org path of the record touched, so the log is read within the reader's scopes.
    scope_path = Varchar(length=512, index=True, default="/")
    changes = JSONB(default="{}")
    ip = Varchar(length=64, null=True, default=None)
    request_id = Varchar(length=64, null=True, default=None)
