"""Logistics staff scan a label to check an item out to a member, and print a label sheet."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from tests.e2e.test_browser import click_to_load, wait
from tests.e2e.test_roster import log_in

pytestmark = pytest.mark.e2e


def test_scan_to_check_out_and_print_labels(server, browser) -> None:
    browser.delete_all_cookies()
    log_in(browser, server, "cangku")
    # What the phone camera opens when it reads the label.
    browser.get(server + "/s/E2E-RADIO-1")
    wait(browser, ec.presence_of_element_located((By.ID, "checkout-form")))
    assert browser.find_element(By.ID, "item-status").text == "在用"
    Select(browser.find_element(By.ID, "checkout-person")).select_by_visible_text("乌力吉")
    click_to_load(browser, browser.find_element(By.ID, "checkout-submit"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "item-status"), "已借出"))
    assert "乌力吉" in browser.find_element(By.ID, "history").text
    click_to_load(browser, browser.find_element(By.ID, "checkin-submit"))
    wait(browser, ec.text_to_be_present_in_element((By.ID, "item-status"), "在用"))

    browser.get(server + "/equipment?team=CF-E2E-02")
    for box in browser.find_elements(By.CSS_SELECTOR, 'input[name="asset_tags"]'):
        box.click()
    Select(browser.find_element(By.NAME, "format")).select_by_value("svg")
    main_window = browser.current_window_handle
    browser.find_element(By.ID, "print-labels").click()
    wait(browser, lambda b: len(b.window_handles) == 2)
    browser.switch_to.window([h for h in browser.window_handles if h != main_window][0])
    wait(browser, lambda b: "E2E-RADIO-2" in b.page_source)
    assert browser.page_source.count('class="label"') == 2 and "对讲机" in browser.page_source
    browser.close()
    browser.switch_to.window(main_window)
