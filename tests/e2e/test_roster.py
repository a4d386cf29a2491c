"""A captain imports a roster and files the leadership; the league supervisor approves it."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.e2e.conftest import PASSWORD
from tests.e2e.test_browser import click_to_load, wait
from tests.factories import id_number

pytestmark = pytest.mark.e2e

NAMES = ["巴特尔", "其其格", "王建国", "李秀英", "乌力吉", "苏日娜"]


def log_in(browser, server: str, username: str) -> None:
    browser.get(server + "/login")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_to_load(browser, browser.find_element(By.ID, "login-submit"))
    wait(browser, ec.url_to_be(server + "/"))


def test_import_file_and_approve(server, browser, tmp_path) -> None:
    book = Workbook()
    book.active.append(["姓名*", "性别*", "身份证号*", "手机号", "状态", "证书类型", "发证日期"])
    for i, name in enumerate(NAMES):
        book.active.append([name, "男", id_number(900 + i), f"1390000{i:04d}", "在队", "红十字救护员证" if i % 2 == 0 else None,
                            "2025-06-01" if i % 2 == 0 else None])
    roster = tmp_path / "名册.xlsx"
    book.save(roster)

    browser.delete_all_cookies()
    log_in(browser, server, "bater")
    browser.get(server + "/teams/CF-E2E-01/import")
    browser.find_element(By.ID, "roster-file").send_keys(str(roster))
    click_to_load(browser, browser.find_element(By.ID, "check-file"))
    summary = wait(browser, ec.presence_of_element_located((By.ID, "report-summary"))).text
    assert "共 6 行，6 行有效，0 个问题" in summary
    click_to_load(browser, browser.find_element(By.ID, "import-all"))
    wait(browser, ec.presence_of_element_located((By.ID, "roster-table")))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#roster-table tbody tr")) == 6
    assert "3 / 6" in browser.find_element(By.ID, "certified-ratio").text
    assert "李秀英" in browser.find_element(By.ID, "missing-first-aid").text

    # File the leadership: captain and two deputies.
    browser.find_element(By.CSS_SELECTOR, "#leadership summary").click()
    Select(browser.find_element(By.NAME, "captain_id")).select_by_visible_text("巴特尔")
    Select(browser.find_element(By.ID, "deputy_1")).select_by_visible_text("其其格")
    Select(browser.find_element(By.ID, "deputy_2")).select_by_visible_text("王建国")
    browser.find_element(By.ID, "filing-reason").send_keys("队伍组建，报备队长和副队长")
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "#filing-form button[type=submit]"))
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, 'tr.filing[data-status="pending"]')))

    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "form.logout button"))
    wait(browser, ec.url_contains("/login"))
    log_in(browser, server, "chifeng")
    browser.get(server + "/filings")
    card = wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "article.filing-card")))
    assert "队伍组建，报备队长和副队长" in card.text
    click_to_load(browser, card.find_element(By.CSS_SELECTOR, 'button[value="approve"]'))
    assert "队伍组建，报备队长和副队长" not in browser.find_element(By.TAG_NAME, "main").text  # no longer pending
    browser.get(server + "/teams/CF-E2E-01")
    leadership = wait(browser, ec.presence_of_element_located((By.ID, "leadership"))).text
    assert "巴特尔" in leadership and "其其格" in leadership and "王建国" in leadership
    assert browser.find_elements(By.CSS_SELECTOR, 'tr.filing[data-status="approved"]')
    browser.save_screenshot(str(tmp_path / "team.png"))
