"""`mdep ui` in a real browser (Debian's headless Chromium through Selenium), over a
store that `mdep tenants check` and `mdep sync` filled from the emulator: 200 customer
tenants × 500 alerts (100,000 alerts), two more tenants not ready.

Screenshots of every page go to $INTEROP_ARTIFACTS_DIR (default
<tmp>/mdep-interop-artifacts), as ui-*.png.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import ui_store

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("INTEROP_ARTIFACTS_DIR",
                                Path(tempfile.gettempdir()) / "mdep-interop-artifacts"))
TENANTS = int(os.environ.get("UI_TENANTS", "200"))
ALERTS = int(os.environ.get("UI_ALERTS", "500"))
WAIT_S = 20


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s, proc = ui_store.build(tmp_path_factory.mktemp("ui-store"), TENANTS, ALERTS)
    try:
        yield s
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def ui(store, tmp_path_factory):
    p = ui_store.UiProcess(store, tmp_path_factory.getbasetemp() / "mdep-ui.log")
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture(scope="module")
def browser(ui):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail(f"need {CHROMIUM} and {CHROMEDRIVER} (Debian packages chromium, chromium-driver)")
    profile = tempfile.mkdtemp(prefix="mdep-ui-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--no-proxy-server", "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT_S)
    driver.get(ui.link)  # logs in: the token becomes a cookie
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver, cond, what: str):
    try:
        return WebDriverWait(driver, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)).until(cond)
    except Exception as exc:
        raise AssertionError(f"{what}: not within {WAIT_S}s at {driver.current_url}\n"
                             f"{driver.find_element(By.TAG_NAME, 'body').text[:2000]}") from exc


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"ui-{name}.png"))


def session(driver) -> requests.Session:
    """The browser's cookies (HttpOnly included, through WebDriver) in requests."""
    s = requests.Session()
    for c in driver.get_cookies():
        s.cookies.set(c["name"], c["value"])
    return s


def cells(driver, table: str) -> list[list[str]]:
    """The table's cell texts in one read: the live refresh may swap the table between
    two WebDriver calls."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map("
        "tr => Array.from(tr.cells).map(td => td.innerText.trim()))",
        f"table#{table} tbody tr")


def ids(driver, table: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(tr => tr.dataset.id)",
        f"table#{table} tbody tr")


def text_of(driver, css: str) -> str:
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null", css)


def click(driver, css: str) -> None:
    """Clicks the first match, again if a live refresh replaced it meanwhile."""
    for _ in range(5):
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.2)
    raise AssertionError(f"{css} kept being replaced")


def total(driver) -> int:
    return int(driver.find_element(By.ID, "total").text.replace(",", ""))


def test_the_link_logs_in_and_hides_the_token(browser, ui):
    path = urlparse(browser.current_url)
    assert path.path == "/tenants" and "token" not in path.query, browser.current_url
    # HttpOnly: the page's scripts cannot read the cookie.
    assert ui.token not in browser.execute_script("return document.cookie")
    cookie = [c for c in browser.get_cookies() if c["value"] == ui.token]
    assert cookie and cookie[0]["httpOnly"] and cookie[0]["sameSite"] == "Strict"


def test_without_the_token_every_page_is_refused(ui, tmp_path):
    for path in ["/tenants", "/alerts", "/devices", "/charts", "/alerts?format=csv"]:
        r = requests.get(ui.base + path, allow_redirects=False, timeout=10)
        assert r.status_code == 401, path
        assert "Customer0" not in r.text
    r = requests.get(f"{ui.base}/tenants?token=wrong-token-0123456789", timeout=10)
    assert r.status_code == 401
    # A fresh browser (no cookie) sees the refusal page, styled, with no data.
    profile = tempfile.mkdtemp(prefix="mdep-ui-anon-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                "--no-proxy-server", "--window-size=1000,600"):
        opts.add_argument(arg)
    anon = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        anon.get(ui.base + "/alerts")
        assert "401" in anon.find_element(By.TAG_NAME, "h1").text
        assert not anon.find_elements(By.CSS_SELECTOR, "table#alerts")
        shot(anon, "refused")
    finally:
        anon.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_tenants_page_shows_every_customer_sorts_and_filters(browser, ui, store):
    browser.get(ui.base + "/tenants")
    assert len(cells(browser, "tenants")) == TENANTS + 2
    shot(browser, "tenants")
    never = text_of(browser, f'tr[data-tenant="{ui_store.tenant_id(TENANTS)}"]')
    assert "✗" in never and "AADSTS" in never, never
    partial = text_of(browser, f'tr[data-tenant="{ui_store.tenant_id(TENANTS + 1)}"]')
    assert "Score.Read.All" in partial and "n/a" in partial, partial
    ok = text_of(browser, f'tr[data-tenant="{ui_store.tenant_id(3)}"]')
    assert "ready" in ok and "ok" in ok, ok
    # Sort by open alerts, most first: the column is then non-increasing.
    click(browser, 'a[data-sort="open"]')
    wait(browser, lambda d: "dir=asc" in d.current_url, "sorted ascending")
    click(browser, 'a[data-sort="open"]')
    wait(browser, lambda d: "dir=desc" in d.current_url, "sorted descending")
    opens = [int(x) for x in browser.execute_script(
        "return Array.from(document.querySelectorAll('td[data-col=\"open\"]')).map(td => td.innerText)")]
    assert opens == sorted(opens, reverse=True) and opens[0] > 0
    # Filter by tag.
    Select(browser.find_element(By.NAME, "tag")).select_by_value("gold")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait(browser, lambda d: "tag=gold" in d.current_url, "tag filter")
    gold = sum(1 for i in range(TENANTS + 2) if "gold" in ui_store.tags_of(i))
    assert len(cells(browser, "tenants")) == gold


def test_alerts_filter_page_detail_and_export(browser, ui, store):
    browser.get(ui.base + "/alerts")
    assert total(browser) == TENANTS * ALERTS + 10, "every synced alert"
    assert len(ids(browser, "alerts")) == 100
    shot(browser, "alerts")
    Select(browser.find_element(By.NAME, "severity")).select_by_value("High")
    Select(browser.find_element(By.NAME, "tenant")).select_by_visible_text("Customer007")
    browser.find_element(By.CSS_SELECTOR, "#alerts-filters button").click()
    wait(browser, lambda d: "severity=High" in d.current_url, "filtered")
    high = total(browser)
    assert 0 < high < ALERTS
    for tds in cells(browser, "alerts"):
        assert tds[1] == "Customer007" and tds[2] == "High", tds
    # Pages over all High alerts of every tenant: next, next, previous.
    browser.get(ui.base + "/alerts?severity=High&size=50")
    first = ids(browser, "alerts")
    click(browser, "#page-next")
    wait(browser, lambda d: "after=" in d.current_url, "page 2")
    second = ids(browser, "alerts")
    assert len(second) == 50 and not set(first) & set(second)
    assert "Alerts 51–100 of" in browser.find_element(By.ID, "summary").text
    click(browser, "#page-prev")
    wait(browser, lambda d: "before=" in d.current_url, "back to page 1")
    assert ids(browser, "alerts") == first
    # The detail: fields, evidence and the raw JSON of the same alert.
    click(browser, "table#alerts tbody tr a.detail")
    wait(browser, lambda d: d.find_elements(By.ID, "raw-json"), "detail")
    raw = json.loads(browser.find_element(By.ID, "raw-json").text)
    assert raw["id"] == first[0] and raw["severity"] == "High"
    assert cells(browser, "evidence"), "evidence listed"
    shot(browser, "alert-detail")
    # Export: the same bytes as `mdep db alerts` with the same filter.
    browser.get(ui.base + "/alerts?severity=High&tenant=Customer007")
    href = browser.find_element(By.CSS_SELECTOR, 'a[data-export="csv"]').get_attribute("href")
    got = session(browser).get(href, timeout=60)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    cli = store.mdep("db", "alerts", "--db", f"sqlite:{store.db}", "--severity", "High",
                     "--tenant", "Customer007", "-o", "csv")
    assert got.text == cli.stdout
    assert len(list(csv.reader(io.StringIO(got.text)))) == high + 1
    href = browser.find_element(By.CSS_SELECTOR, 'a[data-export="json"]').get_attribute("href")
    exported = session(browser).get(href, timeout=60).json()
    assert len(exported) == high and all(a["severity"] == "High" for a in exported)


def test_devices_and_their_alerts(browser, ui):
    browser.get(ui.base + "/devices?risk=High")
    assert total(browser) > 0
    for tds in cells(browser, "devices"):
        assert tds[4] == "High", tds
    shot(browser, "devices")
    click(browser, "table#devices tbody tr a.detail")
    wait(browser, lambda d: d.find_elements(By.ID, "device-fields"), "device detail")
    raw = json.loads(browser.find_element(By.ID, "raw-json").text)
    assert raw["riskScore"] == "High"
    shot(browser, "device-detail")


def test_charts_draw_the_stored_figures(browser, ui):
    browser.get(ui.base + "/charts")
    segs = browser.find_elements(By.CSS_SELECTOR, "#chart-open-by-severity rect.seg")
    assert segs, "stacked bars drawn"
    # Each segment's number is in its title: readable without colour.
    assert all(s.get_attribute("data-count") for s in segs)
    days = browser.find_elements(By.CSS_SELECTOR, "#chart-new-per-day rect.bar")
    assert len(days) == 30
    assert sum(int(d.get_attribute("data-count")) for d in days) > 0, "alerts of the last 30 days"
    assert browser.find_elements(By.CSS_SELECTOR, "#chart-devices-health rect.bar")
    box = browser.find_element(By.ID, "chart-open-by-severity").rect
    assert box["width"] > 400 and box["height"] > 100, "rendered, not just in the markup"
    shot(browser, "charts")


def test_hostile_input_is_escaped_and_parameterised(browser, ui):
    for q in ["<script>window.__xss=1</script>", "\"><img src=x onerror=window.__xss=1>",
              "' OR '1'='1' --", "%' UNION SELECT raw FROM alerts --"]:
        browser.get(f"{ui.base}/alerts?q={quote(q)}")
        assert browser.execute_script("return window.__xss") is None, q
        assert "No alerts match." in browser.find_element(By.ID, "summary").text, q
        assert browser.find_element(By.NAME, "q").get_attribute("value") == q
    s = session(browser)
    assert s.get(f"{ui.base}/alerts?q={'x' * 5000}", timeout=10).status_code == 414
    r = s.get(f"{ui.base}/alerts?q={'x' * 300}", timeout=10)
    assert r.status_code == 400 and "longer than 256" in r.text
    r = s.get(f"{ui.base}/alerts?severity={quote('<script>x</script>')}", timeout=10)
    assert r.status_code == 400 and "<script>x" not in r.text
    # Still whole after all that.
    browser.get(ui.base + "/alerts")
    assert total(browser) == TENANTS * ALERTS + 10


def test_the_page_follows_a_running_sync_without_reloading(browser, ui, store):
    tenant = ui_store.tenant_id(11)
    browser.get(ui.base + "/tenants")
    cell = f'tr[data-tenant="{tenant}"] td[data-col="open"]'
    before = int(text_of(browser, cell))
    browser.execute_script("window.__same_document = 'yes'")
    r = requests.post(f"{store.emulator.base_url}/_emulator/tenants/{tenant}/defender/alerts",
                      json={"count": 25}, verify=store.emulator.ca_file,
                      headers={"Authorization": f"Bearer {store.emulator.admin_key}"}, timeout=30)
    assert r.status_code == 201, r.text
    store.mdep("sync", "--tenant", "Customer011", "--db", f"sqlite:{store.db}",
               "--entities", "alerts")
    wait(browser, lambda d: int(text_of(d, cell)) > before,
         "the open count follows the sync")
    assert browser.execute_script("return window.__same_document") == "yes", "no full reload"
    assert "live: updated" in browser.find_element(By.ID, "live-status").text
