"""A person's path through the shell: log in, switch language, open the tree and the hub page."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def wait(browser, condition, timeout: float = 10):
    # An htmx swap can replace an element between finding it and reading it: that is "not yet", not a failure.
    return WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def click_to_load(browser, element) -> None:
    """Click something that loads a new page, and wait until the old page is gone.

    Waiting on the new page's text alone can read the old page's element while it is being
    replaced, which Chromium reports as an error rather than as a stale element.
    """
    old_page = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def old_page_gone(_) -> bool:
        try:
            old_page.is_enabled()
        except WebDriverException:  # stale, or (Chromium 156) "node does not belong to the document"
            return True
        return False

    wait(browser, old_page_gone)


def test_log_in_switch_language_tree_and_hubs(server, browser, tmp_path) -> None:
    browser.get(server + "/orgs")
    wait(browser, ec.url_contains("/login"))
    assert "登录" in browser.page_source

    browser.find_element(By.ID, "username").send_keys("chifeng")
    browser.find_element(By.ID, "password").send_keys("wrong password")
    click_to_load(browser, browser.find_element(By.ID, "login-submit"))
    assert "用户名或密码错误" in wait(browser, ec.presence_of_element_located((By.ID, "login-error"))).text

    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_to_load(browser, browser.find_element(By.ID, "login-submit"))
    wait(browser, ec.url_to_be(server + "/orgs"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "组织机构"

    # Open Xilingol in the tree and see its banners.
    xilingol = browser.find_element(By.CSS_SELECTOR, 'details[data-code="152500"]')
    xilingol.find_element(By.TAG_NAME, "summary").click()
    wait(browser, lambda b: xilingol.get_attribute("open") is not None)
    assert "二连浩特市" in xilingol.text

    # htmx search
    search = browser.find_element(By.CSS_SELECTOR, 'input[name="q"]')
    search.send_keys("翁牛特")
    wait(browser, ec.text_to_be_present_in_element((By.ID, "search-results"), "翁牛特旗"))

    # Switch to English: the same page, now in English, and it sticks.
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, '.locale-switch button[value="en"]'))
    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Organisation"))
    assert "Xilingol League" in browser.page_source

    click_to_load(browser, browser.find_element(By.LINK_TEXT, "Regional hubs"))
    wait(browser, ec.presence_of_element_located((By.ID, "coverage-table")))
    rows = browser.find_elements(By.CSS_SELECTOR, "#coverage-table tbody tr")
    assert len(rows) == 4
    assert "Hulunbuir" in rows[0].text and "Hinggan League" in rows[0].text
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.map svg polygon")) == 4
    browser.save_screenshot(str(tmp_path / "hubs.png"))

    # Back to Chinese; phone-sized window still shows the table.
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, '.locale-switch button[value="zh_CN"]'))
    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "区域骨干救援队"))
    browser.set_window_size(390, 844)
    assert browser.find_element(By.ID, "coverage-table").is_displayed()
    browser.set_window_size(1280, 1000)

    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "form.logout button"))
    wait(browser, ec.url_contains("/login"))
