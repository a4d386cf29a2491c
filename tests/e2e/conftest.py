"""A real server (``rescueops serve`` on its own SQLite file) and a real headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.factories import person
from tests.live_server import run_cli, serving

PASSWORD = "e2e password 2026"


def _api(base: str, method: str, path: str, body: dict, token: str | None = None) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _setup_team(base: str) -> None:
    """A new team, registered through the API by an administrator (no members, no leadership yet),
    and a second team with one member and two radios, for the equipment pages."""
    token = _api(base, "POST", "/api/v1/auth/token", {"username": "e2e-admin", "password": PASSWORD})["access_token"]
    for code, name in (("CF-E2E-01", "翁牛特旗山地搜救队"), ("CF-E2E-02", "翁牛特旗通讯保障队")):
        _api(base, "POST", "/api/v1/teams", {
            "code": code, "unit_code": "150426", "name_zh": name, "primary_category": "mountain",
            "registration_kind": "civil_affairs", "registration_number": f"52150426MJY0000{code[-1]}X",
        }, token)
    _api(base, "POST", "/api/v1/teams/CF-E2E-02/members", {"person": person(name="乌力吉"), "status": "active"}, token)
    for tag in ("E2E-RADIO-1", "E2E-RADIO-2"):
        _api(base, "POST", "/api/v1/equipment/items", {"team_code": "CF-E2E-02", "asset_tag": tag, "type_code": "radio"}, token)


@pytest.fixture(scope="session")
def server():
    work = Path(tempfile.mkdtemp(prefix="rescueops-e2e-"))
    env = {
        **os.environ,
        "RESCUEOPS_DATABASE_URL": f"sqlite:///{work / 'e2e.db'}",
        "RESCUEOPS_VAR_DIR": str(work / "var"),
        "RESCUEOPS_LOG_LEVEL": "WARNING",
    }
    run_cli(env, "db", "upgrade")
    run_cli(env, "seed", "reference")
    run_cli(env, "users", "create", "chifeng", "--name", "赤峰市红十字会 张监管", "--unit", "150400", "--password-stdin", stdin=PASSWORD + "\n")
    run_cli(env, "users", "grant", "chifeng", "league_supervisor", "--unit", "150400")
    run_cli(env, "users", "create", "e2e-admin", "--name", "管理员", "--unit", "150000", "--password-stdin", stdin=PASSWORD + "\n")
    run_cli(env, "users", "grant", "e2e-admin", "admin", "--unit", "150000")
    with serving(env) as live:
        _setup_team(live.url)
        run_cli(env, "users", "create", "bater", "--name", "巴特尔", "--unit", "150426", "--password-stdin", stdin=PASSWORD + "\n")
        run_cli(env, "users", "grant", "bater", "captain", "--team", "CF-E2E-01")
        run_cli(env, "users", "create", "cangku", "--name", "刘保管", "--unit", "150426", "--password-stdin", stdin=PASSWORD + "\n")
        run_cli(env, "users", "grant", "cangku", "logistics", "--unit", "150426")
        yield live.url
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("chromium and chromedriver are needed: run tests/e2e/install-browser.sh")
    profile = tempfile.mkdtemp(prefix="rescueops-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 f"--user-data-dir={profile}", "--window-size=1280,1000", "--lang=zh-CN"):
        options.add_argument(flag)
    driver_ = webdriver.Chrome(service=Service(driver), options=options)
    driver_.set_page_load_timeout(30)
    yield driver_
    driver_.quit()
    shutil.rmtree(profile, ignore_errors=True)
