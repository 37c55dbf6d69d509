"""Page loads of `mdep ui` in headless Chromium over the browser test's store
(UI_TENANTS tenants × UI_ALERTS alerts, 200 × 500 by default, synced by `mdep sync`).

    interop/.venv/bin/python interop/bench_ui.py          # after interop/run.sh once
    MDEP_BIN=target/release/mdep interop/.venv/bin/python interop/bench_ui.py

For each page, UI_LOADS loads (20) after one warm-up; from the browser's Navigation
Timing: the server's time to first byte (requestStart → responseStart) and first byte
to rendered table (responseStart → loadEventEnd: the table is in the server's HTML, so
the page is drawn when the load ends). Prints `ui_<page>_<metric>_ms=…` lines (median
and 95th percentile).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "tests"))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

import ui_store  # noqa: E402

PAGES = {
    "tenants": "/tenants",
    "tenants_sorted": "/tenants?sort=open&dir=desc",
    "alerts": "/alerts",
    "alerts_filtered": "/alerts?severity=High&status=New&tenant=Customer042",
    "alerts_text": "/alerts?q=suspicious&severity=Medium",
    "alerts_page_50": None,  # the 50th page of all alerts, reached by following `after`
    "alert_detail": None,
    "devices": "/devices?risk=High",
    "charts": "/charts",
}


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def main() -> None:
    n = int(os.environ.get("UI_TENANTS", "200"))
    alerts = int(os.environ.get("UI_ALERTS", "500"))
    loads = int(os.environ.get("UI_LOADS", "20"))
    work = Path(tempfile.mkdtemp(prefix="mdep-bench-ui-"))
    store, emu = ui_store.build(work, n, alerts)
    print(f"store: {n} tenants × {alerts} alerts synced in {store.sync_seconds:.1f} s", flush=True)
    ui = ui_store.UiProcess(store, work / "ui.log")
    profile = tempfile.mkdtemp(prefix="mdep-bench-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                "--no-proxy-server", "--window-size=1400,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(
        service=Service(executable_path=os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")),
        options=opts)
    try:
        driver.get(ui.link)
        pages = dict(PAGES)
        driver.get(ui.base + "/alerts")
        for _ in range(49):
            driver.get(driver.find_element("id", "page-next").get_attribute("href"))
        pages["alerts_page_50"] = driver.current_url.removeprefix(ui.base)
        pages["alert_detail"] = driver.find_element(
            "css selector", "table#alerts a.detail").get_attribute("href").removeprefix(ui.base)
        for name, path in pages.items():
            ttfb, render = [], []
            for i in range(loads + 1):
                driver.get(ui.base + path)
                t = driver.execute_script(
                    "const n = performance.getEntriesByType('navigation')[0];"
                    "return [n.requestStart, n.responseStart, n.loadEventEnd];")
                if i == 0:
                    continue  # warm-up
                ttfb.append(t[1] - t[0])
                render.append(t[2] - t[1])
            total = [a + b for a, b in zip(ttfb, render)]
            for metric, xs in (("ttfb", ttfb), ("render", render), ("total", total)):
                print(f"ui_{name}_{metric}_ms_median={statistics.median(xs):.1f}")
                print(f"ui_{name}_{metric}_ms_p95={percentile(xs, 0.95):.1f}")
            sys.stdout.flush()
    finally:
        driver.quit()
        ui.stop()
        emu.stop()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
