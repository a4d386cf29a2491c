"""Cross-region assistance in the browser: the east hub asks, the central hub offers its team, the east hub accepts,
and the deployment shows on the live board. The server's in-process bus does the ranking in between."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from rescueops.calendar import china_today
from tests.e2e.conftest import PASSWORD, _api
from tests.e2e.test_browser import click_to_load, wait
from tests.e2e.test_roster import log_in
from tests.factories import person

pytestmark = pytest.mark.e2e
TEAM = "UL-E2E-01"


def _setup(base: str) -> None:
    """Two hub coordinators, a region coordinator to approve the filing, and an active, certified team in Ulanqab."""
    admin = _api(base, "POST", "/api/v1/auth/token", {"username": "e2e-admin", "password": PASSWORD})["access_token"]
    for username, name, home, role, scope in (("e2e-east", "东部区域骨干队 李协调", "150400", "hub_coordinator", {"hub_code": "east"}),
                                              ("e2e-central", "中部区域骨干队 高协调", "150900", "hub_coordinator", {"hub_code": "central"}),
                                              ("e2e-region", "自治区 王协调", "150000", "region_coordinator", {"unit_code": "150000"})):
        user = _api(base, "POST", "/api/v1/users", {"username": username, "display_name": name, "password": PASSWORD,
                                                    "home_unit_code": home}, admin)
        _api(base, "POST", f"/api/v1/users/{user['id']}/roles", {"role": role, **scope}, admin)
    _api(base, "POST", "/api/v1/teams", {
        "code": TEAM, "unit_code": "150902", "name_zh": "集宁区红十字搜救队", "primary_category": "search_rescue",
        "registration_kind": "civil_affairs", "registration_number": "52150902MJY00099X", "lat": 41.03, "lon": 113.11}, admin)
    people = []
    for seq in range(4):
        joined = _api(base, "POST", f"/api/v1/teams/{TEAM}/members", {"person": person(seq=700 + seq), "status": "active"}, admin)
        _api(base, "POST", f"/api/v1/members/{joined['id']}/certificates",
             {"type_code": "rc_first_aider", "issued_on": (china_today() - timedelta(days=90)).isoformat()}, admin)
        people.append(joined["id"])
    filing = _api(base, "POST", f"/api/v1/teams/{TEAM}/filings", {"captain_id": people[0], "deputy_ids": people[1:3], "reason": "组建"}, admin)
    region = _api(base, "POST", "/api/v1/auth/token", {"username": "e2e-region", "password": PASSWORD})["access_token"]
    _api(base, "POST", f"/api/v1/filings/{filing['id']}/decision", {"approve": True, "reason": "同意"}, region)
    _api(base, "POST", f"/api/v1/teams/{TEAM}/status", {"status": "active"}, region)


def _reload_until(browser, condition, timeout: float = 20) -> None:
    """The ranking arrives through the server's bus a moment after the request: reload until it shows."""
    deadline = time.monotonic() + timeout
    while not condition(browser):
        if time.monotonic() > deadline:
            raise AssertionError("the page never showed what was awaited")
        time.sleep(0.5)
        browser.refresh()


def test_east_asks_central_offers_east_accepts_and_the_board_shows_the_deployment(server, browser) -> None:
    _setup(server)
    browser.delete_all_cookies()
    log_in(browser, server, "e2e-east")
    browser.set_window_size(412, 915)  # a phone
    browser.get(server + "/coordination/board")
    click_to_load(browser, browser.find_element(By.ID, "new-request"))
    Select(browser.find_element(By.ID, "request-category")).select_by_value("search_rescue")
    Select(browser.find_element(By.ID, "request-level")).select_by_value("")
    browser.find_element(By.ID, "request-people").send_keys("3")
    browser.find_element(By.ID, "request-place").send_keys("乌丹镇敖包嘎查")
    browser.find_element(By.ID, "request-unit").send_keys("150426")
    click_to_load(browser, browser.find_element(By.ID, "request-submit"))
    wait(browser, ec.presence_of_element_located((By.ID, "request-status")))
    assert browser.find_element(By.ID, "request-status").text == "进行中"
    request_url = browser.current_url
    _reload_until(browser, lambda b: b.find_element(By.ID, "hub-central").get_attribute("data-state") == "ranked")
    assert "东部区域骨干救援队" not in [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".hub-response h2")]

    browser.delete_all_cookies()
    log_in(browser, server, "e2e-central")
    browser.get(request_url)
    candidate = browser.find_element(By.CSS_SELECTOR, f'#hub-central .candidate[data-team="{TEAM}"]')
    assert candidate.get_attribute("data-eligible") == "yes" and "主类别为搜救" in candidate.text
    click_to_load(browser, browser.find_element(By.ID, f"offer-{TEAM}"))
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, '#hub-central .offer[data-status="offered"]')))

    browser.delete_all_cookies()
    log_in(browser, server, "e2e-east")
    browser.get(request_url)
    accept = browser.find_element(By.CSS_SELECTOR, '#hub-central .offer[data-status="offered"] button.primary')
    click_to_load(browser, accept)
    wait(browser, ec.text_to_be_present_in_element((By.ID, "request-status"), "已满足"))
    assert browser.find_elements(By.CSS_SELECTOR, '#hub-central .offer[data-status="accepted"] a[href^="/deployments/"]')

    browser.get(server + "/coordination/board")
    board = browser.find_element(By.ID, "board")
    assert board.get_attribute("hx-trigger") == "every 5s"
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "#board [data-deployment]")))
    assert "集宁区红十字搜救队" in browser.find_element(By.CSS_SELECTOR, "#board .board-deployments").text
    # The board keeps itself current: the polled fragment replaces the rows in place.
    stamp = browser.find_element(By.ID, "board-updated").text
    wait(browser, lambda b: b.find_element(By.ID, "board-updated").text != stamp, timeout=15)
    browser.set_window_size(1280, 1000)
