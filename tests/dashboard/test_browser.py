"""The page in Debian's headless Chromium (Python Playwright, no browser download), desktop and
390 px phone: the headline shows the API's values, the fan five horizons from one origin, the
track record the hit count SQL counts; a bar written to the warehouse reaches the live panel
within 5 seconds; the banner follows the rows' source, not the keys; /docs renders with the
network blocked; the page stays on 127.0.0.1 and logs no console errors. Screenshots land in
the test's tmp dir."""

from __future__ import annotations

import shutil
import time
from urllib.parse import urlparse

import httpx
import pyarrow as pa
import pytest

from tests.conftest import require
from tests.dashboard.conftest import BARS, HORIZONS, NOW, serve

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
# Headless, no sandbox (tests run as root), and nothing that phones home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--no-default-browser-check"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


class Watched:
    """A page with its requests and its console errors recorded."""

    def __init__(self, page) -> None:
        self.page, self.requests, self.problems = page, [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(str(e)))

    def hosts(self) -> set:
        return {urlparse(u).hostname for u in self.requests if urlparse(u).scheme in ("http", "https")}


@pytest.fixture
def browser(tmp_path):
    require(shutil.which("chromium") is not None, "Debian chromium not installed (run `make browser`)")
    from playwright.sync_api import sync_playwright

    contexts = []

    def open_page(viewport: str = "desktop") -> Watched:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / f"chromium-profile-{len(contexts)}"), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORTS[viewport])
        contexts.append(context)
        return Watched(context.pages[0] if context.pages else context.new_page())

    with sync_playwright() as pw:
        yield open_page
        for context in contexts:
            context.close()


def drawn(page, div: str, name: str) -> dict | None:
    return page.evaluate(
        "([div, name]) => { const t = document.getElementById(div).data.find(t => t.name === name);"
        " return t ? {x: t.x, y: t.y, customdata: t.customdata || null} : null; }", [div, name])


def loaded(w: Watched, base: str) -> None:
    w.page.goto(f"{base}/")
    w.page.wait_for_selector("body[data-loaded='true']", timeout=30_000)
    w.page.wait_for_selector("body[data-fan-drawn='true']")
    w.page.wait_for_selector("#chart .main-svg")
    w.page.wait_for_selector("#live-note[data-last-ts]", timeout=10_000)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_page_shows_the_apis_values(server, browser, filled_url, tmp_path, viewport):
    w = browser(viewport)
    page = w.page
    loaded(w, server.base)
    head = httpx.get(f"{server}/api/headline").json()

    # Headline: per horizon the API's price, interval and words.
    for h in head["horizons"]:
        card = page.locator(f".forecast-card[data-horizon='{h['horizon']}']")
        assert float(card.locator(".price").get_attribute("data-value")) == h["predicted_value"]
        assert f"{h['predicted_value']:.2f}" in card.locator(".price").inner_text()
        band = card.locator(".interval")
        assert float(band.get_attribute("data-lower")) == h["lower"]
        assert float(band.get_attribute("data-upper")) == h["upper"]
        assert f"{h['lower']:.2f} – {h['upper']:.2f}" in band.inner_text()
        assert f"{h['change_pct']:.2f}%" in card.locator(".change").inner_text()
        assert h["served_text"] in card.locator(".served").inner_text()
        assert h["track_record"]["text"] in card.locator(".track-words").inner_text()

    # The fan: one origin, then the five horizons' targets, with the API's values.
    fan = drawn(page, "chart", "forecast")
    origins = {h["origin"] for h in head["horizons"]}
    assert origins == {head["origin"]} and len(head["horizons"]) == 5
    assert fan["x"] == [head["origin"]] + [h["target_date"] for h in head["horizons"]]
    assert fan["y"] == [head["horizons"][0]["origin_close"]] + [h["predicted_value"] for h in head["horizons"]]
    assert fan["customdata"] == ["origin", *HORIZONS]
    history = httpx.get(f"{server}/api/history?root=ZL&days=365").json()["rows"]
    assert drawn(page, "chart", "ZL close")["y"] == [r["close"] for r in history]
    assert history[-1]["date"] == head["origin"]  # the fan starts where the history ends

    # The track record: the hit count SQL gives over the served backtest rows.
    from cbi.warehouse import connect

    with connect(filled_url, read_only=True) as wh:
        hits = wh.scalar("SELECT COUNTIF(actual_value BETWEEN confidence_interval_lower AND "
                         "confidence_interval_upper) FROM predictions.zl_backtest_prod_allhistory_1m "
                         "WHERE model_name = 'served'")
    summary = page.locator("#track-summary")
    assert int(summary.get_attribute("data-hits")) == hits and summary.get_attribute("data-horizon") == "1m"
    assert f"{hits} times of 60" in summary.inner_text()
    assert len(drawn(page, "track-chart", "interval held")["x"]) == hits

    # Accuracy from the report, coloured against the random walk, with its legend.
    assert page.locator("#metrics tbody tr").count() == 25
    assert page.locator("#metrics tbody tr[data-verdict='better'] td.good").count() == 5
    assert "Diebold" in page.inner_text("#metrics-legend")

    # Live panel and curve; freshness shows timestamps and ages from the API.
    assert "ZLQ5 46.09" in page.inner_text("#live-note")
    assert drawn(page, "curve-chart", "curve")["x"] == ["ZLN5", "ZLQ5", "ZLU5", "ZLZ5"]
    assert "2025-06-10 14:59 UTC (1 min ago)" in page.inner_text("#feeds")
    assert "data as of 2025-06-10 14:59 UTC" in page.inner_text("#as-of")
    assert "checked 2025-06-10 15:00 UTC" in page.inner_text("#updated")  # not the browser's clock
    assert page.inner_text("#root-name") == "ZL"
    assert page.is_visible("#simulated-banner") and "SIMULATED" in page.inner_text("#simulated-banner")

    page.click("#horizons button[data-horizon='1w']")
    page.wait_for_selector("#track-summary[data-horizon='1w']")
    assert "cbi train" in page.inner_text("#track-summary")  # 1w has no served backtest rows

    page.wait_for_timeout(300)  # plotly's responsive resize
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], f"page is {width}px wide"
    page.screenshot(path=str(tmp_path / f"dashboard-{viewport}.png"), full_page=True)
    assert w.hosts() == {"127.0.0.1"}, w.hosts()
    assert not w.problems, w.problems


def test_a_written_bar_reaches_the_live_panel_within_5_seconds(filled_url, browser):
    """As inside `cbi serve`: the app reads the owner's Warehouse while the feed writes to it."""
    from cbi.config import Settings
    from cbi.warehouse import connect

    owner = connect(filled_url)
    served_app, srv, thread = serve(Settings(warehouse=filled_url, live_poll_seconds=0.5), owner)
    try:
        w = browser("desktop")
        loaded(w, served_app.base)
        assert w.page.get_attribute("#live-note", "data-last-ts") == "2025-06-10T14:59:00Z"
        bar = pa.Table.from_pylist([{
            "ts_event": NOW, "root": "ZL", "symbol": "ZLQ5", "instrument_id": 101, "open": 46.2,
            "high": 46.3, "low": 46.1, "close": 46.27, "volume": 500, "source": "sandbox",
            "ingest_timestamp": NOW}])
        start = time.monotonic()
        owner.merge(BARS, bar)
        w.page.wait_for_selector("#live-note[data-last-ts='2025-06-10T15:00:00Z']", timeout=5_000)
        elapsed = time.monotonic() - start
        assert "ZLQ5 46.27" in w.page.inner_text("#live-note") and elapsed < 5
        assert not w.problems, w.problems
    finally:
        srv.should_exit = True
        thread.join(5)
        owner.close()


@pytest.mark.parametrize("warehouse, shown", [("filled_url", True), ("live_url", False)])
def test_the_banner_follows_the_rows_source_not_the_keys(request, browser, monkeypatch,
                                                         warehouse, shown):
    """A process holding a (fake) Databento key over a sandbox-filled warehouse shows the
    banner; over a warehouse whose rows all came from the live services it does not."""
    from cbi.config import Settings

    monkeypatch.setenv("DATABENTO_API_KEY", "db-" + "fake" * 6)
    served_app, srv, thread = serve(Settings(warehouse=request.getfixturevalue(warehouse)))
    try:
        w = browser("desktop")
        loaded(w, served_app.base)
        assert w.page.is_visible("#simulated-banner") is shown
        if shown:
            assert "live bars, daily bars, macro, news" in w.page.inner_text("#simulated-banner")
        else:
            assert "All rows from the live services" in w.page.inner_text("#status-note")
        assert not w.problems, w.problems
    finally:
        srv.should_exit = True
        thread.join(5)


def test_docs_render_with_the_network_blocked(server, browser):
    w = browser("desktop")
    blocked = []

    def only_loopback(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    w.page.context.route("**/*", only_loopback)
    w.page.goto(f"{server}/docs")
    w.page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "CBI dashboard" in w.page.inner_text(".swagger-ui .info .title")
    w.page.wait_for_selector(".opblock")
    assert w.page.locator(".opblock").count() >= 10
    w.page.locator(".opblock-summary-path[data-path='/api/headline']").first.click()
    w.page.wait_for_selector(".responses-wrapper")
    assert not blocked, blocked
    assert w.hosts() == {"127.0.0.1"}
    assert not w.problems, w.problems
