"""The dashboard: a read-only FastAPI app serving forecasts, live bars, history, metrics and
feed status as cached JSON, and the chart page under `static/`.

`create_app(settings, warehouse)` takes the Warehouse of the process that owns the DuckDB file
(`cbi serve`, DESIGN.md "Process model"), or opens its own read-only one. Handlers are async:
a cached answer never leaves the event loop; a miss runs its blocking query in a worker thread
(a DuckDB Warehouse gives each thread its own cursor).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import time
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Literal

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cbi.config import HORIZONS, Settings, get_settings
from cbi.dashboard import data
from cbi.dashboard.cache import CacheHits, ResponseCache
from cbi.feeds.base import use_sandbox
from cbi.secrets import get_secret, redact
from cbi.warehouse import Warehouse, WarehouseError, connect

STATIC = Path(__file__).parent / "static"
# The page loads nothing from elsewhere; plotly.js sets inline styles on its SVG.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'")
QUERY_THREADS = 4
SIMULATED_RECHECK_S = 60.0  # how often the banner flag re-reads the keychain
log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def is_simulated(settings: Settings) -> bool:
    """True when the data comes from the local sandbox: `sandbox` set, or unset and no key."""
    return use_sandbox(settings, get_secret("DATABENTO_API_KEY"))


def create_app(settings: Settings | None = None, warehouse: Warehouse | None = None,
               clock: Callable[[], dt.datetime] = data.utc_now) -> FastAPI:
    """The dashboard app. With no `warehouse`, opens the configured one read-only (and
    closes it on shutdown); a passed one stays its owner's to close."""
    settings = settings or get_settings()
    data.surface(settings)  # a wrong surface fails at start, not on the first request
    owned = warehouse is None
    wh = warehouse or connect(read_only=True, role="dashboard", settings=settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        if owned:
            wh.close()

    app = FastAPI(title="CBI dashboard", version="1", lifespan=lifespan,
                  description="Read-only forecasts, live bars, history, metrics and feed status.")
    app.state.settings, app.state.warehouse, app.state.clock = settings, wh, clock
    app.state.cache = ResponseCache(settings.cache_seconds)
    app.add_middleware(CacheHits, cache=app.state.cache)
    _errors(app)
    _data_routes(app)
    _page_routes(app)
    return app


def _errors(app: FastAPI) -> None:
    """Every error is JSON `{"error": ...}`: unknown paths, bad parameters, warehouse faults."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "; ".join(problems)}, status_code=422)

    @app.exception_handler(WarehouseError)
    async def warehouse_error(_: Request, exc: WarehouseError) -> JSONResponse:
        log.warning("dashboard query failed: %s", exc)
        return JSONResponse({"error": "warehouse unavailable: " + redact(str(exc)).splitlines()[0]},
                            status_code=503)


def _check_root(settings: Settings, root: str) -> str:
    if root not in settings.roots:
        raise ApiError(400, f"unknown root {root[:40]!r}; choose one of {', '.join(settings.roots)}")
    return root


def _data_routes(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    wh: Warehouse = app.state.warehouse
    cache: ResponseCache = app.state.cache
    # A few query threads are enough (DuckDB runs each query on its own threads); more only
    # queue for the GIL and stretch every request's latency.
    queries = anyio.CapacityLimiter(QUERY_THREADS)
    # `is_simulated` asks the OS keychain (a D-Bus round trip on a desktop): once a minute is
    # enough, not once per uncached request on the event loop.
    flag: list[Any] = [-SIMULATED_RECHECK_S, True]

    def simulated() -> bool:
        if time.monotonic() - flag[0] >= SIMULATED_RECHECK_S:
            flag[:] = [time.monotonic(), is_simulated(settings)]
        return flag[1]

    async def answer(request: Request, key: tuple, produce: Callable[[], Any]) -> Response:
        async def run() -> dict[str, Any]:
            body = await anyio.to_thread.run_sync(produce, limiter=queries)
            return {"simulated": simulated(), **body}

        entry = await cache.get(key, run)
        cache.remember_url(request, entry)
        return cache.respond(request, entry)

    @app.get("/api/forecast/{horizon}", summary="Forecasts of one horizon (origins of the last 30 days)")
    async def forecast(request: Request, horizon: str,
                       versions: Literal["current", "all"] = "current") -> Response:
        """Rows whose origin date is in the last 30 days, newest first, at most 100. By default
        one model version per origin date: the one written last (the current model);
        `versions=all` serves every version's rows."""
        if horizon not in HORIZONS:
            raise ApiError(404, f"unknown horizon {horizon[:40]!r}; choose one of {', '.join(HORIZONS)}")
        now = app.state.clock()

        def produce() -> dict[str, Any]:
            rows = data.forecast(wh, settings, horizon, versions == "all", now)
            return {"horizon": horizon, "surface": settings.dashboard_surface,
                    "versions": versions, "rows": rows}

        return await answer(request, ("forecast", horizon, versions), produce)

    @app.get("/api/live-data", summary="1-minute bars of the last 5 minutes")
    async def live_data(request: Request, root: str = Query("ZL", max_length=16),
                        since: dt.datetime | None = None) -> Response:
        """Outright contracts' bars in the 5 minutes ending at the newest bar; with `since`
        (an ISO timestamp, UTC when no offset) only bars after it."""
        root = _check_root(settings, root)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.timezone.utc)
        now = app.state.clock()

        def produce() -> dict[str, Any]:
            return {"root": root, "since": since, "bars": data.live_bars(wh, root, since, now)}

        return await answer(request, ("live", root, since), produce)

    @app.get("/api/history", summary="Daily continuous closes")
    async def history(request: Request, root: str = Query("ZL", max_length=16),
                      days: int = Query(365, ge=1, le=36500),
                      since: dt.date | None = None) -> Response:
        """The `days` calendar days ending at the newest close; with `since` only later dates."""
        root = _check_root(settings, root)

        def produce() -> dict[str, Any]:
            return {"root": root, "days": days, "rows": data.history(wh, root, days, since)}

        return await answer(request, ("history", root, days, since), produce)

    @app.get("/api/metrics", summary="Walk-forward metrics per horizon and model, with naive")
    async def metrics(request: Request) -> Response:
        return await answer(request, ("metrics",), lambda: data.metrics(wh, settings))

    @app.get("/api/status", summary="Feed freshness, last runs, sandbox or live")
    async def status(request: Request) -> Response:
        now = app.state.clock()

        def produce() -> dict[str, Any]:
            return {"mode": "sandbox" if simulated() else "live", "warehouse": wh.engine,
                    "checked_at": now, **data.status(wh, settings, now)}

        return await answer(request, ("status",), produce)

    @app.get("/health", summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}


@lru_cache(maxsize=1)
def plotly_js() -> tuple[bytes, bytes, str]:
    """plotly.min.js from the installed plotly wheel (raw, gzipped, ETag): served from the
    package itself so the page's plotly.js always matches the pinned plotly version."""
    raw = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return raw, gzip.compress(raw, 6), '"' + hashlib.blake2b(raw, digest_size=12).hexdigest() + '"'


def _page_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        html = (STATIC / "index.html").read_bytes()
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache"})

    @app.get("/static/plotly.min.js", include_in_schema=False)
    async def plotly(request: Request) -> Response:
        raw, zipped, etag = await anyio.to_thread.run_sync(plotly_js)
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
            return Response(zipped, media_type="text/javascript", headers=headers)
        return Response(raw, media_type="text/javascript", headers=headers)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
