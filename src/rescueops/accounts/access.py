"""The one authorisation function: may this principal do this action on a record at this org path?

Deny by default. A role grants actions (``ROLE_ACTIONS``); a role assignment binds the role to a
scope, which is one or more org paths (a unit's subtree, or the units a regional hub covers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rescueops.accounts.tables import Role
from rescueops.db.paths import is_under
from rescueops.errors import NotFound, PermissionDenied

# Every signed-in user may view the organisation tree (the structure is not secret), the teams
# within their scopes, and who a scanned member card belongs to (name and team only).
_EVERYONE = {"orgs.view", "teams.view", "cards.verify", "equipment.view", "drills.view", "deployments.view", "grading.view"}
# Keeping a roster: members, certificates, insurance, hours, imports, and filing leadership changes.
# Leading a team on a deployment (dispatch, members, log, close) goes with keeping its roster.
_ROSTER = {"roster.manage", "filings.file", "hours.approve", "members.personal", "equipment.manage", "drills.manage",
           "deployments.manage", "grading.apply", "grading.appeal"}
# Supervising teams: registering them, their status, deciding leadership filings, and following events.
_SUPERVISION = {"teams.manage", "filings.decide", "equipment.scrap", "events.view"}
# Grading (分级测评): supervisors open assessments, score the assessor items (no separate assessor role: the branch's
# officers assess), decide, suspend and cancel grades, and read readiness; the region confirms level 1 and decides appeals.
_GRADING = {"grading.assess", "grading.score", "grading.readiness"}
_GRADING_REGION = {"grading.confirm", "grading.rubrics"}
# Cross-region assistance: asking for help and following requests on the board; offering teams is the hubs' part.
_ASSISTANCE = {"assistance.view", "assistance.request"}
# First-aid training of the public (应急救护培训). Scores are entered only by the sitting's examiner (教考分离); the
# course catalogue is kept by the region.
_TRAINING = {"training.view", "training.manage", "training.certify", "training.instructors", "training.targets"}
_TRAINING_REGION = {"training.courses"}

ROLE_ACTIONS: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(
        _EVERYONE
        | _ROSTER
        | _SUPERVISION
        | _ASSISTANCE
        | _GRADING
        | _GRADING_REGION
        | _TRAINING
        | _TRAINING_REGION
        | {"orgs.manage", "hubs.manage", "users.view", "users.manage", "audit.view", "service_accounts.manage", "assistance.offer",
           "training.examine"}
    ),
    Role.region_coordinator: frozenset(
        _EVERYONE | _ROSTER | _SUPERVISION | _ASSISTANCE | _GRADING | _GRADING_REGION | _TRAINING | _TRAINING_REGION
        | {"orgs.manage", "hubs.manage", "users.view", "users.manage", "audit.view"}
    ),
    Role.hub_coordinator: frozenset(
        _EVERYONE | _ASSISTANCE | {"users.view", "events.view", "drills.manage", "deployments.manage", "assistance.offer", "grading.readiness"}
    ),
    Role.league_supervisor: frozenset(
        _EVERYONE | _ROSTER | _SUPERVISION | _ASSISTANCE | _GRADING | _TRAINING | {"grading.rubrics", "orgs.manage", "users.view", "users.manage", "audit.view"}
    ),
    Role.county_officer: frozenset(_EVERYONE | _ROSTER | _SUPERVISION | _GRADING | _TRAINING | {"users.view", "users.manage"}),
    Role.logistics: frozenset(_EVERYONE | {"equipment.manage"}),
    Role.training_officer: frozenset(_EVERYONE | _TRAINING),
    Role.examiner: frozenset(_EVERYONE | {"training.view", "training.examine"}),
    Role.captain: frozenset(_EVERYONE | _ROSTER),
    Role.deputy_captain: frozenset(_EVERYONE | _ROSTER),
    Role.member: frozenset(_EVERYONE),
}

# Lower is more senior. A user may grant only roles strictly junior to one they hold with
# users.manage over the target scope; admins may grant anything.
ROLE_RANK: dict[Role, int] = {
    Role.admin: 0,
    Role.region_coordinator: 1,
    Role.hub_coordinator: 2,
    Role.league_supervisor: 2,
    Role.county_officer: 3,
    Role.logistics: 3,
    Role.training_officer: 3,
    Role.examiner: 4,
    Role.captain: 4,
    Role.deputy_captain: 4,
    Role.member: 5,
}

ROOT_PATH = "/"


@dataclass(frozen=True)
class Grant:
    role: Role
    paths: tuple[str, ...]  # org paths covered; admin holds the root
    unit_code: str | None = None
    hub_code: str | None = None
    team_code: str | None = None


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    kind: str
    locale: str | None
    grants: tuple[Grant, ...]
    token_id: int | None = None
    ip: str | None = None
    request_id: str | None = None
    roles: frozenset[Role] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(g.role for g in self.grants))


def can(principal: Principal | None, action: str, path: str = ROOT_PATH) -> bool:
    if principal is None:
        return False
    return any(
        action in ROLE_ACTIONS[grant.role] and any(is_under(path, scope) for scope in grant.paths)
        for grant in principal.grants
    )


def can_anywhere(principal: Principal | None, action: str) -> bool:
    return bool(principal and scopes_for(principal, action))


def scopes_for(principal: Principal, action: str) -> list[str]:
    """The org paths under which ``action`` is allowed, with paths inside another dropped."""
    paths = sorted(
        {path for grant in principal.grants if action in ROLE_ACTIONS[grant.role] for path in grant.paths}
    )
    kept: list[str] = []
    for path in paths:
        if not any(is_under(path, outer) for outer in kept):
            kept.append(path)
    return kept


def authorize(principal: Principal, action: str, path: str = ROOT_PATH, *, hide: bool = False) -> None:
    """Raise unless allowed. ``hide``: answer 404, for records whose existence must not leak."""
    if can(principal, action, path):
        return
    if hide:
        raise NotFound("No such record, or it is outside your scope.")
    raise PermissionDenied(f"Your roles do not allow '{action}' here.", code="forbidden")


def may_grant(principal: Principal, role: Role, target_paths: tuple[str, ...]) -> bool:
    """Whether ``principal`` may hand ``role`` over a scope covering ``target_paths``."""
    for grant in principal.grants:
        if "users.manage" not in ROLE_ACTIONS[grant.role]:
            continue
        senior_enough = grant.role is Role.admin or ROLE_RANK[grant.role] < ROLE_RANK[role]
        covers = all(any(is_under(path, scope) for scope in grant.paths) for path in target_paths)
        if senior_enough and covers:
            return True
    return False
