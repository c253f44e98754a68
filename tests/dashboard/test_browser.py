"""The page in Debian's headless Chromium (Python Playwright, no browser download): it loads,
draws what the API serves, switches horizon, refreshes with `since=`, stays on 127.0.0.1 and
logs no console errors. Screenshots (desktop and 390 px phone) land in the test's tmp dir."""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

import httpx
import pytest

from tests.conftest import require

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
# Headless, no sandbox (tests run as root), and nothing that phones home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--no-default-browser-check"]


@pytest.fixture
def browser_page(tmp_path):
    require(shutil.which("chromium") is not None, "Debian chromium not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        page = context.pages[0] if context.pages else context.new_page()
        yield page
        context.close()


def drawn(page, div: str, name: str) -> dict:
    return page.evaluate(
        "([div, name]) => { const t = document.getElementById(div).data.find(t => t.name === name);"
        " return t ? {x: t.x, y: t.y} : null; }", [div, name])


def fan_from_api(base: str, horizon: str) -> dict:
    rows = httpx.get(f"{base}/api/forecast/{horizon}").json()["rows"]
    rows.sort(key=lambda r: r["target_date"])
    return {"x": [r["target_date"] for r in rows], "y": [r["predicted_value"] for r in rows]}


def test_page_draws_the_api_values_offline(server, browser_page, tmp_path):
    page, requests, problems = browser_page, [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(server + "/")
    page.wait_for_selector("body[data-loaded='true']", timeout=30_000)
    page.wait_for_selector("#chart .main-svg")

    forecast = drawn(page, "chart", "forecast")
    assert forecast == fan_from_api(server, "1m") and len(forecast["y"]) == 25
    history = httpx.get(f"{server}/api/history?root=ZL&days=365").json()["rows"]
    assert drawn(page, "chart", "ZL close")["y"] == [r["close"] for r in history]
    assert page.is_visible("#simulated-banner")
    assert "SIMULATED" in page.inner_text("#simulated-banner")
    assert page.locator("#metrics tbody tr").count() == 4  # v1, v2 and their naive baselines
    live = drawn(page, "live-chart", "ZLQ5")  # the most traded outright; the spread is left out
    assert live is not None and len(live["y"]) == 5
    page.screenshot(path=str(tmp_path / "dashboard-1280.png"), full_page=True)

    page.click("#horizons button[data-horizon='1w']")
    page.wait_for_selector("body[data-drawn-horizon='1w']")
    assert drawn(page, "chart", "forecast") == fan_from_api(server, "1w")

    before = len(requests)
    page.evaluate("window.cbiDashboard.refresh(true)")
    refreshed = requests[before:]
    assert any("/api/live-data?root=ZL&since=2025-06-10T14%3A59%3A00Z" in u for u in refreshed), refreshed
    assert any("/api/history?" in u and "since=" in u for u in refreshed), refreshed

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # plotly's responsive resize
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide at phone width"
    page.screenshot(path=str(tmp_path / "dashboard-390.png"), full_page=True)

    hosts = {urlparse(u).hostname for u in requests if urlparse(u).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}, hosts
    assert not problems, problems
