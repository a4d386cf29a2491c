from __future__ import annotations

import re

import pytest

from rescueops.accounts import service
from rescueops.accounts.tables import User
from tests.accounts.test_auth import csrf_from


async def sign_in(client, make_user, role: str = "league_supervisor", **scope) -> int:
    user_id, _ = await make_user(role, **(scope or {"unit": "150400"}))
    client.cookies.set("rescueops_session", await service.start_session(user_id, None))
    return user_id


async def test_pages_need_a_login(client) -> None:
    for path in ("/", "/orgs", "/orgs/150400", "/hubs"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303), path
        assert response.headers["location"] == f"/login?next={path}"


async def test_login_page_is_chinese_first(client) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "登录" in page.text and "用户名" in page.text


async def test_home_shows_a_card_per_role(client, make_user) -> None:
    await sign_in(client, make_user)
    home = await client.get("/")
    assert home.status_code == 200
    assert "盟市红十字会监管员" in home.text and 'href="/orgs/150400"' in home.text and "赤峰市" in home.text


async def test_organisation_tree_page(client, make_user) -> None:
    await sign_in(client, make_user)
    page = await client.get("/orgs")
    assert page.status_code == 200
    assert page.text.count('<details data-code="') == 12
    for name in ("内蒙古自治区", "呼伦贝尔市", "锡林郭勒盟", "翁牛特旗", "阿拉善盟", "辽宁省"):
        assert name in page.text, name


async def test_unit_page_shows_ancestors_children_and_hubs(client, make_user) -> None:
    await sign_in(client, make_user)
    hinggan = await client.get("/orgs/152200")
    assert hinggan.status_code == 200
    assert "东北部" in hinggan.text and "东部" in hinggan.text  # covered from two regions
    assert hinggan.text.count('<tr><td>1522') == 6  # its six banners and cities
    county = await client.get("/orgs/150426")
    assert 'href="/orgs/150400"' in county.text and "赤峰市" in county.text
    missing = await client.get("/orgs/nope")
    assert missing.status_code == 404 and "页面或记录不存在" in missing.text or "nope" in missing.text


async def test_hub_page_has_the_table_and_a_map(client, make_user) -> None:
    await sign_in(client, make_user)
    page = await client.get("/hubs")
    assert page.status_code == 200
    assert page.text.count('<tr id="hub-') == 4
    svg = re.search(r"<svg .*?</svg>", page.text, re.S).group(0)
    assert svg.count("<polygon") == 4 and svg.count('r="3.2"') == 103
    assert "编辑辐射范围" not in page.text  # a league supervisor cannot edit coverage


async def test_coverage_edit_form(client, make_user) -> None:
    await sign_in(client, make_user, "region_coordinator", unit="150000")
    form = await client.get("/hubs/central/edit")
    assert form.status_code == 200
    data = {"_csrf_token": csrf_from(form.text), "reason": "把二连浩特划给东部", "unit:150900": "primary", "unit:152501": "secondary"}
    saved = await client.post("/hubs/central/edit", data=data, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text[:500]
    page = await client.get("/hubs")
    assert page.status_code == 200
    row = re.search(r'<tr id="hub-central">.*?</tr>', page.text, re.S).group(0)
    assert "二连浩特市" in row and "呼和浩特市" not in row
    no_reason = await client.post("/hubs/central/edit", data={**data, "reason": ""}, follow_redirects=False)
    assert no_reason.status_code == 422


async def test_language_switch_sets_cookie_and_preference(client, make_user) -> None:
    user_id = await sign_in(client, make_user)
    page = await client.get("/orgs")
    switched = await client.post("/locale", data={"locale": "en", "next": "/orgs", "_csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert switched.headers["location"] == "/orgs"
    assert (await User.select(User.locale).where(User.id == user_id).first())["locale"] == "en"
    english = await client.get("/orgs")
    assert '<html lang="en">' in english.text and "Organisation" in english.text and "Chifeng" in english.text
    assert "组织机构" not in english.text


async def test_htmx_search_returns_a_fragment(client, make_user) -> None:
    await sign_in(client, make_user)
    fragment = await client.get("/orgs/search?q=二连", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "二连浩特市" in fragment.text
    full = await client.get("/orgs/search?q=二连")
    assert "<html" in full.text and "二连浩特市" in full.text


async def test_assets_are_served_by_the_app_itself(client, make_user) -> None:
    await sign_in(client, make_user)
    pages = [await client.get(p) for p in ("/", "/orgs", "/hubs", "/login")]
    docs = await client.get("/schema/swagger")
    for response in [*pages, docs]:
        for url in re.findall(r'(?:src|href)=["\']([^"\']+)["\']', response.text):
            assert not re.match(r"^(https?:)?//", url), f"external asset {url}"
    for asset in ("/static/css/app.css", "/static/vendor/htmx/htmx.min.js", "/static/vendor/swagger-ui/swagger-ui-bundle.js"):
        assert (await client.get(asset)).status_code == 200, asset


PAGES = [("/", 200), ("/orgs", 200), ("/orgs/150426", 200), ("/orgs/search?q=赤峰", 200), ("/hubs", 200)]
COVERAGE_EDITORS = {"admin", "region_coordinator"}


@pytest.mark.parametrize(
    "role",
    ["admin", "region_coordinator", "hub_coordinator", "league_supervisor", "county_officer", "logistics", "captain", "deputy_captain", "member"],
)
async def test_page_access_by_role(client, make_user, role: str) -> None:
    scope = {"hub": "east"} if role == "hub_coordinator" else {"unit": "150000" if role in COVERAGE_EDITORS else "150426"}
    await sign_in(client, make_user, role, **scope)
    for path, status in PAGES:
        assert (await client.get(path)).status_code == status, path
    edit = await client.get("/hubs/east/edit")
    assert edit.status_code == (200 if role in COVERAGE_EDITORS else 403)
    if edit.status_code == 403:
        assert "无权访问" in edit.text


async def test_an_unexpected_error_shows_no_internals(client, make_user, monkeypatch) -> None:
    from rescueops.orgs import service as orgs

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals: /srv/db password=hunter2")

    monkeypatch.setattr(orgs, "list_hubs", broken)
    _, token = await make_user("member", unit="150426")
    api = await client.get("/api/v1/orgs/hubs", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-00000042"})
    assert api.status_code == 500
    assert api.json() == {
        "code": "internal_error",
        "message": "Something went wrong on our side. Quote request id req-00000042 to the administrators.",
    }
    await sign_in(client, make_user)
    page = await client.get("/hubs")
    assert page.status_code == 500 and "hunter2" not in page.text and "Traceback" not in page.text and "服务器错误" in page.text
