"""Demo data for a first `make run`: depots and one login per role. Never in production mode."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from rescueops.accounts import service as accounts
from rescueops.accounts.schemas import GrantIn, UserCreate
from rescueops.accounts.tables import Role
from rescueops.orgs import service as orgs
from rescueops.orgs.schemas import OrgUnitCreate
from rescueops.orgs.tables import OrgKind, ReferenceLoad
from rescueops.settings import Settings, SettingsError

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
    ("chifeng", "赤峰市红十字会 张监管", "150400", Role.league_supervisor, {"unit_code": "150400"}),
    ("wengniute", "翁牛特旗红十字会 赵专干", "150426", Role.county_officer, {"unit_code": "150426"}),
    ("logistics", "储备库 刘保管", "150400-D01", Role.logistics, {"unit_code": "150400-D01"}),
    ("captain", "翁牛特旗救援队 巴特尔队长", "150426", Role.captain, {"unit_code": "150426"}),
    ("member", "翁牛特旗救援队 其其格", "150426", Role.member, {"unit_code": "150426"}),
]


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
    logins = []
    for username, name, home, role, scope in USERS:
        password = secrets.token_urlsafe(9)
        user = await accounts.create_user(None, UserCreate(username=username, display_name=name, password=password, home_unit_code=home))
        await accounts.grant_role(None, user.id, GrantIn(role=role, **scope))
        logins.append({"username": username, "password": password, "role": role.value, "scope": next(iter(scope.values()))})
    await ReferenceLoad.insert(ReferenceLoad(name=DEMO, version="1", loaded_at=datetime.now(UTC)))
    path = logins_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(logins, handle, ensure_ascii=False, indent=1)
    return logins


def read_logins(settings: Settings) -> list[dict[str, str]]:
    path = logins_file(settings)
    return json.loads(path.read_text()) if path.exists() else []
