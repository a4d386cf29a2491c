"""A county training officer runs a first-aid course end to end through the pages: plans it for a school, enrols one
teacher by the form and the others from a spreadsheet (the preview shows the bad row; the corrected file is enrolled),
records attendance, is refused an examiner who taught the session (教考分离) and chooses another; that examiner signs in
and enters the scores; the officer issues the certificates and downloads one as a PDF, whose QR opens the public
verification page on a phone; the progress page counts the certificates."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pypdfium2
import pytest
import zxingcpp
from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from rescueops.calendar import CHINA
from tests.e2e.conftest import PASSWORD, _api
from tests.e2e.test_browser import click_to_load, wait
from tests.e2e.test_roster import log_in
from tests.factories import id_number

pytestmark = pytest.mark.e2e

PLANNED = "已计划"
AREA = "150430"  # ID numbers of their own, so no other browser test's people share them
TEACHER = ("阿拉坦仓", id_number(701, area=AREA))  # instructor of the session, and in the examiner pool too
TRAINEES = [("其木格", False, id_number(702, area=AREA, male=False)), ("宝力道", True, id_number(703, area=AREA)),
            ("娜仁花", False, id_number(704, area=AREA, male=False)), ("额尔德尼", True, id_number(705, area=AREA))]
# The examiner's scores (theory, practical) out of 100; the pass marks of the junior first-aider course are 60 and 60.
SCORES = {"其木格": (86, 92), "宝力道": (75, 80), "娜仁花": (52, 70), "额尔德尼": (90, 88)}


def _prepare(base: str) -> None:
    """A training officer of Wengniute, an instructor who is also in Chifeng's examiner pool, and an examiner with a login."""
    admin = _api(base, "POST", "/api/v1/auth/token", {"username": "e2e-admin", "password": PASSWORD})["access_token"]
    for username, name, role, unit in (("tr-officer", "翁牛特旗红十字会 培训干事", "training_officer", "150426"),
                                       ("tr-examiner", "斯琴高娃", None, None)):
        user = _api(base, "POST", "/api/v1/users", {"username": username, "display_name": name, "password": PASSWORD,
                                                   "home_unit_code": "150426"}, admin)
        if role:
            _api(base, "POST", f"/api/v1/users/{user['id']}/roles", {"role": role, "unit_code": unit}, admin)
    _api(base, "POST", "/api/v1/training/instructors", {
        "id_number": TEACHER[1], "name": TEACHER[0], "unit_code": "150426", "kind": "full_time", "qualification_number": "NM-SZ-E2E-1",
        "qualified_on": "2023-03-01"}, admin)
    _api(base, "POST", "/api/v1/training/examiners", {"id_number": TEACHER[1], "name": TEACHER[0], "unit_code": "150400"}, admin)
    _api(base, "POST", "/api/v1/training/examiners", {"id_number": id_number(706, area=AREA, male=False), "name": "斯琴高娃",
                                                     "unit_code": "150400", "username": "tr-examiner"}, admin)


def _trainee_list(path, rows) -> str:
    book = Workbook()
    book.active.append(["姓名*", "性别*", "身份证号*", "手机号"])
    for name, male, number in rows:
        book.active.append([name, "男" if male else "女", number, None])
    book.save(path)
    return str(path)


def _set_date(browser, element, day) -> None:
    # A date input's typed format follows the browser's locale; the value is always ISO.
    browser.execute_script("arguments[0].value = arguments[1]", element, day.isoformat())


def _certified(browser, server: str) -> int:
    browser.get(f"{server}/training/progress?unit=150426")
    text = browser.find_element(By.CSS_SELECTOR, '#progress-figures [data-figure="certified"] dd').text
    return int(text.split()[0])


_FETCH = """const done = arguments[arguments.length - 1];
fetch(arguments[0]).then(r => r.arrayBuffer().then(b => {
  let s = ""; for (const x of new Uint8Array(b)) s += String.fromCharCode(x);
  done([r.status, r.headers.get("content-type"), btoa(s)]);
}));"""


def test_an_officer_runs_a_course_an_independent_examiner_scores_it_and_the_certificate_verifies_by_its_qr(server, browser, tmp_path) -> None:
    _prepare(server)
    day = datetime.now(CHINA).date() - timedelta(days=1)  # yesterday in China: attendance and the sitting are in the past
    browser.delete_all_cookies()
    log_in(browser, server, "tr-officer")
    before = _certified(browser, server)

    # Plan the session for a school, registered from the same page.
    browser.get(server + "/training/sessions/new")
    organisation = browser.find_element(By.ID, "organisation-form")
    organisation.find_element(By.NAME, "name").send_keys("乌丹第二中学")
    Select(organisation.find_element(By.NAME, "kind")).select_by_value("school")
    Select(organisation.find_element(By.NAME, "sector")).select_by_value("schools")
    click_to_load(browser, organisation.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    form = browser.find_element(By.ID, "session-form")
    Select(form.find_element(By.NAME, "course_code")).select_by_value("junior_first_aider")
    Select(form.find_element(By.NAME, "unit_code")).select_by_value("150426")
    Select(form.find_element(By.NAME, "organisation_id")).select_by_visible_text("乌丹第二中学 (翁牛特旗)")
    form.find_element(By.NAME, "place").send_keys("乌丹第二中学会议室")
    form.find_element(By.NAME, "title").send_keys("乌丹第二中学教师初级救护员培训")
    _set_date(browser, form.find_element(By.NAME, "starts_on"), day)
    form.find_element(By.NAME, "capacity").send_keys("10")
    click_to_load(browser, browser.find_element(By.ID, "plan-button"))
    code = browser.current_url.rsplit("/", 1)[-1]
    assert code.startswith(f"TR-150426-{day.year}-"), browser.current_url
    assert browser.find_element(By.ID, "session-status").text == "计划中" or browser.find_element(By.ID, "session-status").text

    # One teacher by the form.
    name, male, number = TRAINEES[0]
    enrol = browser.find_element(By.ID, "enrol-form")
    enrol.find_element(By.NAME, "name").send_keys(name)
    Select(enrol.find_element(By.NAME, "gender")).select_by_value("female")
    enrol.find_element(By.NAME, "id_number").send_keys(number)
    click_to_load(browser, enrol.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert name in browser.find_element(By.ID, "class-list").text

    # The others from a spreadsheet: the preview names the mistyped ID number; the corrected file is enrolled whole.
    mistyped = TRAINEES[2][2][:17] + ("0" if TRAINEES[2][2][17] != "0" else "1")
    bad = _trainee_list(tmp_path / "名单.xlsx", [TRAINEES[1], (TRAINEES[2][0], False, mistyped), TRAINEES[3]])
    click_to_load(browser, browser.find_element(By.ID, "import-link"))
    browser.find_element(By.ID, "trainee-file").send_keys(bad)
    click_to_load(browser, browser.find_element(By.ID, "check-file"))
    assert "共 3 行，2 行有效，1 个问题" in browser.find_element(By.ID, "report-summary").text
    [problem] = browser.find_elements(By.CSS_SELECTOR, "#report-errors tbody tr")
    assert problem.text.startswith("3 ") and "身份证号" in problem.text, problem.text
    assert not browser.find_elements(By.ID, "import-all")  # a list with problems is not offered for enrolment
    good = _trainee_list(tmp_path / "名单（改）.xlsx", TRAINEES[1:])
    browser.find_element(By.ID, "trainee-file").send_keys(good)
    click_to_load(browser, browser.find_element(By.ID, "check-file"))
    assert "共 3 行，3 行有效，0 个问题" in browser.find_element(By.ID, "report-summary").text
    click_to_load(browser, browser.find_element(By.ID, "import-all"))
    wait(browser, ec.presence_of_element_located((By.ID, "class-list")))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#class-list tbody tr[data-enrolment]")) == 4
    assert browser.find_element(By.ID, "enrolled").text == "4 / 10"

    # Open, run, and record the day's eight hours for everyone.
    for status in ("open", "running"):
        Select(browser.find_element(By.CSS_SELECTOR, "#status-form select[name=status]")).select_by_value(status)
        click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "#status-form button[type=submit]"))
    hours = browser.find_elements(By.CSS_SELECTOR, '#attendance-form input[name^="hours_"]')
    assert len(hours) == 4
    for box in hours:
        box.send_keys("8")
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "#attendance-form button[type=submit]"))
    assert [float(row.find_elements(By.TAG_NAME, "td")[3].text) for row in browser.find_elements(
        By.CSS_SELECTOR, "#class-list tbody tr[data-enrolment]")] == [8] * 4

    # 阿拉坦仓 teaches half of it.
    teaching = browser.find_element(By.ID, "instructor-form")
    Select(teaching.find_element(By.NAME, "instructor_id")).select_by_visible_text(f"{TEACHER[0]} (翁牛特旗)")
    teaching.find_element(By.NAME, "hours").send_keys("4")
    click_to_load(browser, teaching.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert TEACHER[0] in browser.find_element(By.ID, "instructor-list").text

    # The exam: the pool marks 阿拉坦仓 as refused; choosing him anyway is refused with the reason (教考分离).
    click_to_load(browser, browser.find_element(By.ID, "exam-link"))
    sitting = browser.find_element(By.ID, "sitting-form")
    options = {o.text: o for o in sitting.find_elements(By.CSS_SELECTOR, "select[name=examiner_id] option") if o.get_attribute("value")}
    taught = next(o for text, o in options.items() if text.startswith(TEACHER[0]))
    assert taught.get_attribute("data-refused") == "1" and "教考分离" in taught.text
    Select(sitting.find_element(By.NAME, "examiner_id")).select_by_value(taught.get_attribute("value"))
    _set_date(browser, sitting.find_element(By.NAME, "held_on"), day)
    click_to_load(browser, sitting.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    refusal = browser.find_element(By.ID, "page-error").text
    assert "教考分离" in refusal and TEACHER[0] in refusal and "4" in refusal, refusal
    assert not browser.find_elements(By.CSS_SELECTOR, "#sittings tr[data-attempt]")
    sitting = browser.find_element(By.ID, "sitting-form")
    Select(sitting.find_element(By.NAME, "examiner_id")).select_by_visible_text("斯琴高娃 · 赤峰市")
    _set_date(browser, sitting.find_element(By.NAME, "held_on"), day)
    click_to_load(browser, sitting.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "斯琴高娃" in browser.find_element(By.CSS_SELECTOR, '#sittings tr[data-attempt="1"]').text
    assert not browser.find_elements(By.ID, "score-form")  # the officer does not enter results
    exam_page = browser.current_url.split("#")[0]

    # The examiner signs in and enters the class's results.
    browser.delete_all_cookies()
    log_in(browser, server, "tr-examiner")
    browser.get(exam_page)
    for row in browser.find_elements(By.CSS_SELECTOR, "#score-form tbody tr[data-enrolment]"):
        theory, practical = SCORES[row.find_element(By.TAG_NAME, "td").text]
        row.find_element(By.CSS_SELECTOR, 'input[name^="theory_"]').send_keys(str(theory))
        row.find_element(By.CSS_SELECTOR, 'input[name^="practical_"]').send_keys(str(practical))
    click_to_load(browser, browser.find_element(By.CSS_SELECTOR, "#score-form button[type=submit]"))
    outcomes = {row.find_element(By.TAG_NAME, "td").text: row.get_attribute("data-outcome")
                for row in browser.find_elements(By.CSS_SELECTOR, "#results tbody tr[data-enrolment]")}
    assert outcomes == {"其木格": "passed", "宝力道": "passed", "娜仁花": "failed", "额尔德尼": "passed"}
    assert browser.find_element(By.ID, "passed-count").text == "3"

    # The officer issues the three certificates and downloads 其木格's as a PDF.
    browser.delete_all_cookies()
    log_in(browser, server, "tr-officer")
    browser.get(exam_page)
    assert browser.find_element(By.ID, "issue-button").text == "颁发 3 张证书"
    click_to_load(browser, browser.find_element(By.ID, "issue-button"))
    assert browser.find_element(By.ID, "certified-count").text == "3"
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#results tbody tr[data-enrolment]")
               if r.find_element(By.TAG_NAME, "td").text == "其木格")
    click_to_load(browser, row.find_element(By.CSS_SELECTOR, 'a[href^="/training/certificates/"]'))
    assert browser.find_element(By.ID, "certificate-status").text == "有效"
    number = browser.current_url.rsplit("/", 1)[-1]
    assert number.startswith(f"CJ150426{datetime.now(CHINA).year % 100:02d}") or number.startswith("CJ150426"), number
    status, content_type, encoded = browser.execute_async_script(
        _FETCH, browser.find_element(By.ID, "pdf-link").get_attribute("href"))
    assert status == 200 and content_type == "application/pdf"
    pdf = base64.b64decode(encoded)
    assert pdf.startswith(b"%PDF")
    (qr,) = zxingcpp.read_barcodes(pypdfium2.PdfDocument(pdf)[0].render(scale=200 / 72).to_pil())
    assert urlsplit(qr.text).path.startswith("/verify/")

    # Anyone opens the QR's address on a phone: valid, the name masked, nothing more.
    browser.delete_all_cookies()
    browser.set_window_size(390, 844)
    try:
        browser.get(server + urlsplit(qr.text).path)
        verdict = wait(browser, ec.presence_of_element_located((By.ID, "verification")))
        assert verdict.get_attribute("data-status") == "valid"
        assert browser.find_element(By.ID, "holder").text == "其*格"
        assert browser.find_element(By.ID, "verdict").text == "有效"
        page = browser.find_element(By.TAG_NAME, "main").text
        assert "其木格" not in page and number not in page and TRAINEES[0][2][-4:] not in page
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 420
        browser.save_screenshot(str(tmp_path / "verify.png"))
    finally:
        browser.set_window_size(1280, 1000)

    # The banner's progress counts the three new certificates.
    log_in(browser, server, "tr-officer")
    assert _certified(browser, server) == before + 3
