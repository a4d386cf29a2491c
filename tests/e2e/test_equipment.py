"""Logistics staff register a team's kit from a spreadsheet and pack it on the page, print its labels, scan one on a phone
to check it out to a member, record an inspection, and follow the kit's readiness."""

from __future__ import annotations

import pytest
from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.e2e.test_browser import click_to_load, wait
from tests.e2e.test_roster import log_in

pytestmark = pytest.mark.e2e

KIT = "E2E-KIT-PS1"


def kit_readiness(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, f"#kit-{KIT} .badge").text


def test_register_a_kit_print_scan_check_out_and_inspect(server, browser, tmp_path) -> None:
    book = Workbook()
    book.active.append(["资产标签号*", "装备类型*", "存放位置", "套装模板", "所属套装"])
    book.active.append([KIT, "", "队部装备间", "心理支持组", ""])
    for tag, type_name in (("E2E-PS-1", "心理支持工具包"), ("E2E-PS-2", "心理支持工具包"), ("E2E-CA-1", "儿童友好活动箱")):
        book.active.append([tag, type_name, "队部装备间", "", KIT])
    sheet = tmp_path / "心理支持组.xlsx"
    book.save(sheet)

    browser.delete_all_cookies()
    log_in(browser, server, "cangku")
    browser.get(server + "/equipment?team=CF-E2E-02")
    # One spreadsheet registers the kit and the items packed in it.
    browser.find_element(By.CSS_SELECTOR, '#import-form input[type="file"]').send_keys(str(sheet))
    browser.find_element(By.CSS_SELECTOR, '#import-form input[value="commit"]').click()
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, '#import-form button[type="submit"]'))
    wait(browser, ec.presence_of_element_located((By.ID, f"kit-{KIT}")))
    assert kit_readiness(browser) == "不齐备"  # the two radios are not packed yet
    # The radios registered earlier go in through the page.
    kit = browser.find_element(By.ID, f"kit-{KIT}")
    kit.find_element(By.NAME, "contents").send_keys("e2e-radio-1，E2E-RADIO-2")
    click_to_load(browser, kit.find_element(By.CSS_SELECTOR, 'button[value="pack"]'))
    wait(browser, lambda b: kit_readiness(b) == "齐备")

    # Labels for the whole kit.
    browser.find_element(By.CSS_SELECTOR, '#item-list thead input[type="checkbox"]').click()
    Select(browser.find_element(By.NAME, "format")).select_by_value("svg")
    main_window = browser.current_window_handle
    browser.find_element(By.ID, "print-labels").click()
    wait(browser, lambda b: len(b.window_handles) == 2)
    browser.switch_to.window([h for h in browser.window_handles if h != main_window][0])
    wait(browser, lambda b: KIT in b.page_source)
    assert browser.page_source.count('class="label"') == 6 and "对讲机" in browser.page_source and "儿童友好活动箱" in browser.page_source
    browser.close()
    browser.switch_to.window(main_window)

    # On a phone: the scan page takes the tag (typed here; a camera or scanner types the label's link) and opens the item.
    browser.set_window_size(390, 844)
    try:
        browser.get(server + "/scan")
        tag_input = browser.find_element(By.ID, "tag-input")
        assert tag_input.size["width"] > 250  # the box fills a phone's width
        tag_input.send_keys("e2e-radio-1")
        click_to_load(browser, browser.find_element(By.ID, "scan-submit"))
        wait(browser, ec.presence_of_element_located((By.ID, "checkout-form")))
        assert browser.current_url == server + "/equipment/items/E2E-RADIO-1"
        assert browser.find_element(By.ID, "item-status").text == "在用"
        Select(browser.find_element(By.ID, "checkout-person")).select_by_visible_text("乌力吉")
        click_to_load(browser, browser.find_element(By.ID, "checkout-submit"))
        wait(browser, ec.text_to_be_present_in_element((By.ID, "item-status"), "已借出"))
    finally:
        browser.set_window_size(1280, 1000)
    assert "乌力吉" in browser.find_element(By.ID, "history").text
    # The radio is out: the kit says it is not ready, and why.
    click_to_load(browser, browser.find_element(By.ID, "in-kit"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "kit-ready"), "不齐备"))
    assert "E2E-RADIO-1: checked_out" in browser.find_element(By.ID, "kit").text

    # Back in, then inspected against the radio's checklist with one point failing.
    browser.get(server + "/equipment/items/E2E-RADIO-1")
    click_to_load(browser, browser.find_element(By.ID, "checkin-submit"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "item-status"), "在用"))
    inspect = browser.find_element(By.ID, "inspect-form")
    inspect.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "summary").click()
    inspect.find_element(By.CSS_SELECTOR, 'input[value="电池"]').click()
    inspect.find_element(By.NAME, "note").send_keys("电池鼓包")
    click_to_load(browser, browser.find_element(By.ID, "inspect-submit"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "item-status"), "维修中"))
    history = browser.find_element(By.ID, "history").text
    assert "检查 · 不合格" in history and "电池鼓包" in history
    browser.get(server + "/equipment?team=CF-E2E-02")
    assert kit_readiness(browser) == "不齐备"
    assert "E2E-RADIO-1: in_maintenance" in browser.find_element(By.ID, f"kit-{KIT}").text
    # The repair is finished on the item page: the kit is ready again.
    browser.get(server + "/equipment/items/E2E-RADIO-1")
    browser.find_element(By.NAME, "description").send_keys("更换电池")
    click_to_load(browser, browser.find_element(By.ID, "repair-done-submit"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "item-status"), "在用"))
    browser.get(server + "/equipment?team=CF-E2E-02")
    assert kit_readiness(browser) == "齐备"
