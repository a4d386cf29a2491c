"""A captain plans the monthly water-rescue training from the library, checks two members in on a phone by scanning
their cards, ends the exercise, records the mobilisation, evaluates it and downloads the after-action report."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from tests.e2e.conftest import PASSWORD, _api
from tests.e2e.test_browser import click_to_load, wait
from tests.e2e.test_roster import log_in
from tests.factories import person

pytestmark = pytest.mark.e2e

CST = ZoneInfo("Asia/Shanghai")
TEAM = "CF-E2E-03"
MEMBERS = ["阿拉腾", "萨仁"]


def _prepare(base: str) -> list[str]:
    """A water-rescue team of its own (the other e2e tests count their rosters), two members and their card links,
    and a captain's login for it."""
    token = _api(base, "POST", "/api/v1/auth/token", {"username": "e2e-admin", "password": PASSWORD})["access_token"]
    _api(base, "POST", "/api/v1/teams", {"code": TEAM, "unit_code": "150426", "name_zh": "翁牛特旗水上救生队", "primary_category": "water_rescue",
                                         "registration_kind": "civil_affairs", "registration_number": "52150426MJY00003X"}, token)
    people = [_api(base, "POST", f"/api/v1/teams/{TEAM}/members", {"person": person(name=name), "status": "active"}, token)["id"]
              for name in MEMBERS]
    user = _api(base, "POST", "/api/v1/users", {"username": "sarangerel", "display_name": "水上救生队 队长", "password": PASSWORD,
                                               "home_unit_code": "150426"}, token)
    _api(base, "POST", f"/api/v1/users/{user['id']}/roles", {"role": "captain", "team_code": TEAM}, token)
    headers = {"Authorization": f"Bearer {token}"}
    return [httpx.get(f"{base}/api/v1/members/{p}/card", headers=headers, timeout=10).json()["url"] for p in people]


def confirm_to_load(browser, element) -> None:
    """Click a button that asks for confirmation, accept, and wait until the old page is gone."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    wait(browser, ec.alert_is_present()).accept()

    def old_page_gone(_) -> bool:
        try:
            old_page.is_enabled()
        except WebDriverException:
            return True
        return False

    wait(browser, old_page_gone)


def set_value(browser, element_id: str, value: str) -> None:
    """A datetime-local input: typing depends on the browser's locale, so set the value the way a picker does."""
    browser.execute_script("document.getElementById(arguments[0]).value = arguments[1]", element_id, value)


def test_plan_check_in_evaluate_and_report(server, browser) -> None:
    cards = _prepare(server)
    browser.delete_all_cookies()
    log_in(browser, server, "sarangerel")

    # Plan from the library: the scenario is chosen and the captain's team filled in.
    browser.get(server + "/drills/scenarios")
    click_to_load(browser, browser.find_element(By.LINK_TEXT, "水上救生月度技能训练"))
    assert "电话集结与到队签到" in browser.find_element(By.ID, "objectives").text
    click_to_load(browser, browser.find_element(By.ID, "plan-from-scenario"))
    assert browser.find_element(By.ID, "plan-team").get_attribute("value") == TEAM
    assert browser.find_element(By.CSS_SELECTOR, "#plan-scenario option:checked").get_attribute("value") == "water_rescue_monthly_training"
    start = (datetime.now(CST) + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M")
    set_value(browser, "plan-starts", start)
    browser.find_element(By.ID, "plan-place").send_keys("红山水库训练水域")
    click_to_load(browser, browser.find_element(By.ID, "plan-submit"))
    status = wait(browser, ec.presence_of_element_located((By.ID, "drill-status")))
    assert status.text == "已计划" and "红山水库训练水域" in browser.find_element(By.ID, "facts").text
    drill_url = browser.current_url
    assert start.replace("T", " ") in browser.find_element(By.ID, "facts").text  # shown in Beijing time, as typed

    # On a phone: scan the two members' cards (a keyboard-wedge scanner types the link and presses Enter).
    browser.set_window_size(390, 844)
    try:
        click_to_load(browser, browser.find_element(By.ID, "check-in-link"))
        for name, card in zip(MEMBERS, cards, strict=True):
            field = wait(browser, ec.presence_of_element_located((By.ID, "card-input")))
            assert browser.switch_to.active_element == field  # focused, ready for the scanner
            old_page = browser.find_element(By.TAG_NAME, "html")
            field.send_keys(card + Keys.ENTER)
            wait(browser, ec.staleness_of(old_page))
            assert wait(browser, ec.presence_of_element_located((By.ID, "check-in-result"))).text == f"✔ 已签到：{name}"
        assert browser.find_element(By.ID, "check-in-count").text == "2"
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
        browser.switch_to.active_element.send_keys(cards[0] + Keys.ENTER)
        assert "已签到过" in wait(browser, ec.presence_of_element_located((By.ID, "page-error"))).text
    finally:
        browser.set_window_size(1280, 1000)

    # The exercise took place: end it, record the mobilisation, evaluate it.
    browser.get(drill_url)
    assert "阿拉腾" in browser.find_element(By.ID, "attendance-table").text
    confirm_to_load(browser, browser.find_element(By.ID, "end-drill"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "drill-status"), "已结束"))
    called = datetime.now(CST) - timedelta(hours=1)
    set_value(browser, "called-at", called.strftime("%Y-%m-%dT%H:%M"))
    set_value(browser, "assembled-at", (called + timedelta(minutes=38)).strftime("%Y-%m-%dT%H:%M"))
    click_to_load(browser, browser.find_element(By.ID, "mobilisation-submit"))
    assert wait(browser, ec.presence_of_element_located((By.ID, "mobilisation-minutes"))).text == "38.0 分钟"

    click_to_load(browser, browser.find_element(By.ID, "evaluate-link"))
    browser.find_element(By.ID, "evaluators").send_keys("张评估\n王评估")
    objectives = browser.find_elements(By.CSS_SELECTOR, "fieldset.objective")
    assert len(objectives) == 5
    for objective, rating in zip(objectives, ["P", "S", "P", "M", "NO"], strict=True):
        objective.find_element(By.CSS_SELECTOR, f'input[type=radio][value="{rating}"]').click()
    objectives[3].find_element(By.TAG_NAME, "textarea").send_keys("15 米抛投达标率 60%")
    browser.find_element(By.ID, "strengths").send_keys("集合迅速")
    row = browser.find_elements(By.CSS_SELECTOR, "fieldset.improvement-row")[0]
    row.find_element(By.CSS_SELECTOR, 'select option[value="throw_bag_accuracy"]').click()
    row.find_element(By.NAME, "improvement_action").send_keys("抛绳包每周加练一次")
    row.find_element(By.NAME, "improvement_owner").send_keys("阿拉腾")
    browser.execute_script("arguments[0].value = arguments[1]", row.find_element(By.NAME, "improvement_due"),
                           (datetime.now(CST) + timedelta(days=30)).strftime("%Y-%m-%d"))
    click_to_load(browser, browser.find_element(By.ID, "evaluation-submit"))
    results = wait(browser, ec.presence_of_element_located((By.ID, "results"))).text
    assert "无挑战完成" in results and "有重大挑战完成" in results and "15 米抛投达标率 60%" in results
    assert "抛绳包每周加练一次" in browser.find_element(By.ID, "improvements").text

    # The report downloads with the page's login (the API would want a bearer token).
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    pdf_link = browser.find_element(By.ID, "download-pdf").get_attribute("href")
    pdf = httpx.get(pdf_link, cookies=cookies, timeout=30)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    browser.get(drill_url)
    confirm_to_load(browser, browser.find_element(By.ID, "close-drill"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "drill-status"), "已关闭"))


def test_a_region_plans_a_joint_drill_with_leagues_a_partner_province_and_its_equipment(server, browser) -> None:
    """The autonomous region's coordinator plans from the form: the scenario chosen in the page brings its equipment list
    (htmx), a quantity is changed, two leagues and Jilin take part; the drill shows on the central region's calendar."""
    from selenium.webdriver.support.ui import Select

    token = _api(server, "POST", "/api/v1/auth/token", {"username": "e2e-admin", "password": PASSWORD})["access_token"]
    for code, unit, name in (("CF-E2E-04", "150426", "翁牛特旗联合演练队"), ("BT-E2E-01", "150202", "东河区红十字救援队")):
        _api(server, "POST", "/api/v1/teams", {"code": code, "unit_code": unit, "name_zh": name, "primary_category": "water_rescue",
                                               "registration_kind": "civil_affairs", "registration_number": f"52{unit}MJY0000{code[-1]}Y"}, token)
    user = _api(server, "POST", "/api/v1/users", {"username": "neimeng", "display_name": "自治区红十字会 协调员", "password": PASSWORD,
                                                 "home_unit_code": "150000"}, token)
    _api(server, "POST", f"/api/v1/users/{user['id']}/roles", {"role": "region_coordinator", "unit_code": "150000"}, token)
    browser.delete_all_cookies()
    log_in(browser, server, "neimeng")

    browser.get(server + "/drills/new")
    assert browser.find_elements(By.NAME, "equipment_type")[0].get_attribute("value") == ""  # no scenario yet: nothing to bring
    Select(browser.find_element(By.ID, "plan-scenario")).select_by_value("water_rescue_monthly_training")
    wait(browser, lambda b: b.find_elements(By.NAME, "equipment_type")[0].get_attribute("value") == "inflatable_boat")
    rows = browser.find_elements(By.CSS_SELECTOR, "#plan-equipment .equipment-row")
    jackets = next(r for r in rows if r.find_element(By.NAME, "equipment_type").get_attribute("value") == "life_jacket")
    quantity = jackets.find_element(By.NAME, "equipment_quantity")
    quantity.clear()
    quantity.send_keys("30")
    Select(browser.find_element(By.ID, "plan-unit")).select_by_value("150000")
    browser.find_element(By.ID, "plan-team").clear()
    browser.find_element(By.ID, "plan-teams").send_keys("CF-E2E-04, BT-E2E-01")
    for code in ("150400", "150200", "220000"):
        browser.find_element(By.ID, f"unit-{code}").click()
    set_value(browser, "plan-starts", (datetime.now(CST) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"))
    browser.find_element(By.ID, "plan-place").send_keys("黄河包头段昭君岛水域")
    browser.set_window_size(390, 844)
    try:
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
    finally:
        browser.set_window_size(1280, 1000)
    click_to_load(browser, browser.find_element(By.ID, "plan-submit"))
    units = wait(browser, ec.presence_of_element_located((By.ID, "drill-units"))).text
    assert units == "包头市、赤峰市、吉林省", units  # in the order the form lists them
    assert "内蒙古自治区" in browser.find_element(By.ID, "facts").text
    assert "东河区红十字救援队" in browser.find_element(By.ID, "drill-teams").text
    browser.execute_script("document.querySelector('#equipment details').open = true")
    jackets_row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#equipment-table tr") if "救生衣" in r.text)
    assert "30" in jackets_row.text
    title = browser.find_element(By.TAG_NAME, "h1").text.split()[0]

    browser.get(server + "/drills?region=central")
    assert title in browser.find_element(By.ID, "calendar").text  # Donghe's team is in the central region
    browser.get(server + "/drills?region=west")
    assert title not in browser.find_element(By.ID, "calendar").text
