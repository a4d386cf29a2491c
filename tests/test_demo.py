from __future__ import annotations

from rescueops import demo
from rescueops.accounts import service
from rescueops.accounts.tables import Role
from rescueops.settings import get_settings


async def test_demo_data_gives_a_working_login_per_role(db) -> None:
    logins = await demo.load_demo(get_settings())
    assert {login["role"] for login in logins} == {r.value for r in Role} - {Role.deputy_captain.value}
    for login in logins:
        user_id = await service.authenticate(login["username"], login["password"], "127.0.0.1")
        principal = await service.load_principal(user_id)
        assert [g.role.value for g in principal.grants] == [login["role"]]
    # A second run loads nothing more and prints the same logins.
    assert await demo.load_demo(get_settings()) == logins
    assert demo.read_logins(get_settings()) == logins
