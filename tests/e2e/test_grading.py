"""A league supervisor grades a team end to end through the pages (opens the assessment, reads the evidence, scores an
assessor item with a document, decides level 1 with an override reason), the region confirms it, and the captain reads
the gap to the next level on a phone."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import PASSWORD, _api
from tests.e2e.test_browser import click_to_load, wait
from tests.e2e.test_roster import log_in
from tests.factories import person

pytestmark = pytest.mark.e2e

TEAM = "CF-E2E-GR"


def _prepare(base: str) -> None:
    """An active water-rescue team (four members, filed leadership, certificates), a captain and a region coordinator."""
    admin = _api(base, "POST", "/api/v1/auth/token", {"username": "e2e-admin", "password": PASSWORD})["access_token"]
    supervisor = _api(base, "POST", "/api/v1/auth/token", {"username": "chifeng", "password": PASSWORD})["access_token"]
    _api(base, "POST", "/api/v1/teams", {"code": TEAM, "unit_code": "150426", "name_zh": "翁牛特旗水上救援分级队", "primary_category": "water_rescue",
                                         "registration_kind": "civil_affairs", "registration_number": "52150426MJY00009X"}, admin)
    people = [_api(base, "POST", f"/api/v1/teams/{TEAM}/members", {"person": person(name=name), "status": "active"}, admin)["id"]
              for name in ("乌日娜", "图雅", "宝音", "额尔敦")]
    for pid in people:
        _api(base, "POST", f"/api/v1/members/{pid}/certificates", {"type_code": "rc_first_aider", "issued_on": "2025-06-01"}, admin)
    filing = _api(base, "POST", f"/api/v1/teams/{TEAM}/filings", {"captain_id": people[0], "deputy_ids": people[1:3], "reason": "首次备案"}, admin)
    _api(base, "POST", f"/api/v1/filings/{filing['id']}/decision", {"approve": True, "reason": "同意"}, supervisor)
    _api(base, "POST", f"/api/v1/teams/{TEAM}/status", {"status": "active", "reason": "组建完成"}, admin)
    for username, name, role, scope in (("gr-captain", "分级队 队长", "captain", {"team_code": TEAM}),
                                        ("gr-region", "自治区红十字会 王协调", "region_coordinator", {"unit_code": "150000"})):
        user = _api(base, "POST", "/api/v1/users", {"username": username, "display_name": name, "password": PASSWORD,
                                                   "home_unit_code": "150426"}, admin)
        _api(base, "POST", f"/api/v1/users/{user['id']}/roles", {"role": role, **scope}, admin)


def _status(browser) -> str:
    return wait(browser, ec.presence_of_element_located((By.ID, "assessment-status"))).text


def test_a_supervisor_grades_a_team_and_the_captain_reads_the_gap(server, browser, tmp_path) -> None:
    _prepare(server)
    browser.delete_all_cookies()
    log_in(browser, server, "chifeng")

    # The team's grade page: not graded yet; the supervisor opens an assessment from it.
    browser.get(f"{server}/grading/teams/{TEAM}")
    assert "水上救生" in browser.find_element(By.ID, "category-water_rescue").text
    click_to_load(browser, browser.find_element(By.ID, "open-water_rescue"))
    assert _status(browser) == "进行中"
    evidence = browser.find_element(By.ID, "evidence").text
    assert "可出动队员" in evidence and "近 12 个月完成的训练演练" in evidence

    # An assessor item: the emergency plans, scored with the document attached.
    plans = tmp_path / "plans.pdf"
    plans.write_bytes(b"%PDF-1.4 emergency plans")
    form = browser.find_element(By.ID, "document-form")
    Select(form.find_element(By.NAME, "criterion_id")).select_by_value("plans")
    form.find_element(By.NAME, "title").send_keys("应急预案（2026 年修订）")
    form.find_element(By.NAME, "file").send_keys(str(plans))
    click_to_load(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "应急预案（2026 年修订）" in browser.find_element(By.ID, "documents").text
    row = browser.find_element(By.CSS_SELECTOR, '#manual tr[data-criterion="plans"]')
    row.find_element(By.NAME, "score").send_keys("8")
    click_to_load(browser, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "8 / 10" in browser.find_element(By.CSS_SELECTOR, '#manual tr[data-criterion="plans"]').text

    # The decision: level 1 is above what the records support, so it needs an override reason, then the region.
    Select(browser.find_element(By.ID, "decision-level")).select_by_value("1")
    browser.find_element(By.ID, "decision-reason").send_keys("区域骨干水上救援力量")
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "#decision-form button[type=submit]"))
    assert "所定等级高于符合等级" in browser.find_element(By.ID, "page-error").text
    Select(browser.find_element(By.ID, "decision-level")).select_by_value("1")
    browser.find_element(By.ID, "decision-reason").send_keys("区域骨干水上救援力量")
    browser.find_element(By.ID, "override-reason").send_keys("承担西拉木伦河流域跨旗县汛期救援任务，实战表现突出")
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "#decision-form button[type=submit]"))
    assert _status(browser) == "待自治区确认"
    assessment = browser.current_url

    # The region confirms level 1.
    browser.delete_all_cookies()
    log_in(browser, server, "gr-region")
    browser.get(assessment)
    browser.find_element(By.ID, "confirmation-note").send_keys("同意定为一级")
    click_to_load(browser, browser.find_element(By.ID, "confirm-button"))
    assert _status(browser) == "已定级"
    assert browser.find_element(By.ID, "valid-until").text

    # The captain reads the grade and what the records still lack, on a phone-sized screen.
    browser.delete_all_cookies()
    browser.set_window_size(390, 844)
    try:
        log_in(browser, server, "gr-captain")
        browser.get(f"{server}/grading/teams/{TEAM}")
        assert browser.find_element(By.ID, "grade-water_rescue").text.startswith("1 级")
        gap = browser.find_element(By.ID, "gap-water_rescue")
        assert gap.is_displayed()
        texts = [li.text for li in gap.find_elements(By.TAG_NAME, "li")]
        assert any("可出动的（在队、有有效保险和急救证）队员" in t for t in texts), texts
        assert any("次演练" in t for t in texts), texts
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 420
    finally:
        browser.set_window_size(1280, 1000)
