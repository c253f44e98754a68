"""The dashboard: a read-only FastAPI app serving today's served forecast per horizon, the
forecast fan, the served forecaster's track record, accuracy from the model report, live
prices (cached JSON and a server-sent event stream), history and feed freshness, and the
chart page under `static/`.

`create_app(settings, warehouse)` takes the Warehouse of the process that owns the DuckDB file
(`cbi serve`, DESIGN.md "Process model"), or opens its own read-only one. Handlers are async:
a cached answer never leaves the event loop; a miss runs its blocking query in a worker thread
(a DuckDB Warehouse gives each thread its own cursor).

Whether data is simulated comes from the data (the `source` column written at ingest), never
from which API keys this process holds.
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
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cbi.config import HORIZONS, Settings, get_settings
from cbi.dashboard import data, schemas
from cbi.dashboard.cache import CacheHits, ResponseCache
from cbi.dashboard.live import LiveHub
from cbi.secrets import redact
from cbi.warehouse import Warehouse, WarehouseError, connect

STATIC = Path(__file__).parent / "static"
# Everything the app serves loads nothing from elsewhere; plotly.js and Swagger UI set inline
# styles on their elements. The same policy goes on every response (HTML, JSON, errors).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"),
                    (b"content-security-policy", CSP.encode()),
                    (b"referrer-policy", b"no-referrer")]
QUERY_THREADS = 4
BIGQUERY_MIN_POLL_S = 60.0  # the live stream's poll on BigQuery (a query bills >= 10 MB)
PROVENANCE_RECHECK_S = 5.0  # how often the sandbox flag re-reads the data's sources
# Accepted `since` range: anything outside is a 422, never an overflow deep in a query.
SINCE_MIN = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
SINCE_MAX = dt.datetime(2200, 1, 1, tzinfo=dt.timezone.utc)
#: The error bodies every route documents (FastAPI's `responses=`).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.ErrorResponse}, 404: {"model": schemas.ErrorResponse},
    422: {"model": schemas.ErrorResponse}, 503: {"model": schemas.ErrorResponse}}
log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Hygiene:
    """ASGI middleware, outermost: security headers on every response (cached answers, 304s,
    errors, static files, /docs, the stream), and HEAD answered as GET without a body."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET", "cbi.head": True}
        started = [False]

        async def wrapped(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": headers}
                started[0] = True
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a HEAD answer has no body: drop every chunk but the last
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, wrapped)


def create_app(settings: Settings | None = None, warehouse: Warehouse | None = None,
               clock: Callable[[], dt.datetime] = data.utc_now) -> FastAPI:
    """The dashboard app. With no `warehouse`, opens the configured one read-only (and
    closes it on shutdown); a passed one stays its owner's to close."""
    settings = settings or get_settings()
    data.surface(settings)  # a wrong surface fails at start, not on the first request
    owned = warehouse is None
    wh = warehouse or connect(read_only=True, role="dashboard", settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await app.state.live.close()
        if owned:
            wh.close()

    app = FastAPI(title="CBI dashboard", version="2", lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Read-only forecasts (served per horizon, with intervals and "
                  "their track record), accuracy from the model report, live prices, history "
                  "and feed freshness. Prices are in the root's quoted units, rounded to its "
                  "tick; timestamps are UTC.")
    app.state.settings, app.state.warehouse, app.state.clock = settings, wh, clock
    app.state.cache = ResponseCache(settings.cache_seconds)
    app.add_middleware(CacheHits, cache=app.state.cache)
    app.add_middleware(Hygiene)
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
        return JSONResponse({"error": "; ".join(problems)[:500]}, status_code=422)

    @app.exception_handler(WarehouseError)
    async def warehouse_error(_: Request, exc: WarehouseError) -> JSONResponse:
        log.warning("dashboard query failed: %s", exc)
        return JSONResponse({"error": "warehouse unavailable: " + redact(str(exc)).splitlines()[0]},
                            status_code=503)


def _check_root(settings: Settings, root: str) -> str:
    if root not in settings.roots:
        raise ApiError(400, f"unknown root {root[:40]!r}; choose one of {', '.join(settings.roots)}")
    return root


def _check_horizon(settings: Settings, horizon: str) -> str:
    if horizon not in HORIZONS or horizon not in settings.horizons:
        raise ApiError(404, f"unknown horizon {horizon[:40]!r}; "
                            f"choose one of {', '.join(settings.horizons)}")
    return horizon


def _check_since(since: dt.datetime | None) -> dt.datetime | None:
    """UTC when no offset; outside 1970..2200 (or not representable in UTC) is a 422."""
    if since is None:
        return None
    try:
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.timezone.utc)
        since = since.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):
        raise ApiError(422, "query.since: out of range (1970-01-01 to 2200-01-01)") from None
    if not SINCE_MIN <= since <= SINCE_MAX:
        raise ApiError(422, "query.since: out of range (1970-01-01 to 2200-01-01)")
    return since


def _check_since_date(since: dt.date | None) -> dt.date | None:
    if since is not None and not SINCE_MIN.date() <= since <= SINCE_MAX.date():
        raise ApiError(422, "query.since: out of range (1970-01-01 to 2200-01-01)")
    return since


def _data_routes(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    wh: Warehouse = app.state.warehouse
    cache: ResponseCache = app.state.cache
    # A few query threads are enough (DuckDB runs each query on its own threads); more only
    # queue for the GIL and stretch every request's latency.
    queries = anyio.CapacityLimiter(QUERY_THREADS)
    # Which data came from the sandbox, from the rows' `source`: re-read every few seconds
    # (in a worker thread, with the query it accompanies), not once per request.
    flag: list[Any] = [-PROVENANCE_RECHECK_S, []]

    def sandbox_data() -> list[str]:
        if time.monotonic() - flag[0] >= PROVENANCE_RECHECK_S:
            flag[:] = [time.monotonic(), data.provenance(wh, settings, app.state.clock())]
        return flag[1]

    def simulated() -> bool:
        return bool(sandbox_data())

    poll_s = settings.live_poll_seconds
    if wh.engine == "bigquery":  # every BigQuery query bills at least 10 MB: poll sparingly
        poll_s = max(poll_s, BIGQUERY_MIN_POLL_S)
    app.state.live = LiveHub(wh, settings, lambda: app.state.clock(), queries, poll_s, simulated)

    async def answer(request: Request, key: tuple, produce: Callable[[], dict[str, Any]]) -> Response:
        async def run() -> dict[str, Any]:
            def work() -> dict[str, Any]:
                body = produce()
                if "simulated" not in body:
                    body = {"simulated": simulated(), **body}
                return body
            return await anyio.to_thread.run_sync(work, limiter=queries)

        entry = await cache.get(key, run)
        cache.remember_url(request, entry)
        return cache.respond(request, entry)

    @app.get("/api/meta", response_model=schemas.Meta, summary="What the page shows: root, "
             "horizons, units, tick")
    async def meta() -> dict[str, Any]:
        root = settings.target_root
        return {"root": root, "roots": settings.roots, "horizons": settings.horizons,
                "surface": settings.dashboard_surface, "interval_level": settings.interval_level,
                "units": settings.price_units.get(root, ""), "tick": data.tick_of(settings, root),
                "cache_seconds": settings.cache_seconds,
                "live_poll_seconds": settings.live_poll_seconds}

    @app.get("/api/headline", response_model=schemas.HeadlineResponse, responses=ERRORS,
             summary="Today's served forecast per horizon, from one origin")
    async def headline(request: Request) -> Response:
        """Per horizon: the served forecast from the newest origin (price, change against the
        origin's close in % and units, the interval, who served it, when it was made) and the
        interval's track record in words, from the model report. Also the fan's points."""
        now = app.state.clock()
        return await answer(request, ("headline",), lambda: data.headline(wh, settings, now))

    @app.get("/api/forecast/{horizon}", response_model=schemas.ForecastResponse, responses=ERRORS,
             summary="Forecasts of one horizon (origins of the last 30 days)")
    async def forecast(request: Request, horizon: str,
                       forecaster: Literal["served", "all"] = "served") -> Response:
        """Rows whose origin date is in the last 30 days, newest first, at most 100. By default
        the served forecast, one row per origin date (the one written last); `forecaster=all`
        serves every forecaster's and version's rows."""
        horizon = _check_horizon(settings, horizon)
        now = app.state.clock()

        def produce() -> dict[str, Any]:
            rows = data.forecast(wh, settings, horizon, forecaster == "all", now)
            return {"horizon": horizon, "surface": settings.dashboard_surface,
                    "forecaster": forecaster, "rows": rows,
                    "empty": None if rows else data.FILL["forecast"]}

        return await answer(request, ("forecast", horizon, forecaster), produce)

    @app.get("/api/track-record/{horizon}", response_model=schemas.TrackRecordResponse,
             responses=ERRORS, summary="The served forecaster's walk-forward record at a horizon")
    async def track_record(request: Request, horizon: str) -> Response:
        """Every served walk-forward forecast with a realised price: the forecast, its
        interval, the price at the target date and whether the interval held it."""
        horizon = _check_horizon(settings, horizon)
        return await answer(request, ("track", horizon),
                            lambda: data.track_record(wh, settings, horizon))

    @app.get("/api/metrics", response_model=schemas.MetricsResponse, responses=ERRORS,
             summary="Accuracy per horizon and forecaster, from the model report")
    async def metrics(request: Request) -> Response:
        """`predictions.model_report`: served, learners and baselines per horizon (rows,
        MASE, Diebold-Mariano p-value against the random walk, coverage with its worst year,
        interval score relative to the random walk), each with its verdict."""
        return await answer(request, ("metrics",), lambda: data.metrics(wh, settings))

    @app.get("/api/live-data", response_model=schemas.LiveDataResponse, responses=ERRORS,
             summary="1-minute bars of the last 5 minutes (cached)")
    async def live_data(request: Request, root: str = Query("ZL", max_length=16),
                        since: dt.datetime | None = None) -> Response:
        """Outright contracts' bars in the 5 minutes ending at the newest bar; with `since`
        (an ISO timestamp, UTC when no offset; 1970 to 2200) only bars after it. Cached for
        `cache_seconds` (s-maxage): for bars within seconds use `/api/live` (a stream) or
        `/api/live/panel` (uncached)."""
        root = _check_root(settings, root)
        since = _check_since(since)
        now = app.state.clock()

        def produce() -> dict[str, Any]:
            bars, sim = data.live_bars(wh, settings, root, since, now)
            return {"simulated": sim or simulated(), "root": root, "since": since, "bars": bars}

        return await answer(request, ("live", root, since), produce)

    @app.get("/api/live/panel", response_model=schemas.LivePanel, responses=ERRORS,
             summary="The live panel now, uncached: last price, its time and contract, curve")
    async def live_panel(root: str = Query("ZL", max_length=16)) -> Response:
        """What the stream sends, read now (`Cache-Control: no-store`): the last 5 minutes of
        bars, the last price of the most traded outright, and the front-month curve."""
        root = _check_root(settings, root)
        now = app.state.clock()

        def work() -> dict[str, Any]:
            panel = data.live_panel(wh, settings, root, now)
            panel["simulated"] = panel["simulated"] or simulated()
            return panel

        from cbi.dashboard.cache import encode

        body = encode(await anyio.to_thread.run_sync(work, limiter=queries))
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})

    @app.get("/api/live", summary="Live panel as server-sent events",
             response_class=Response, responses={200: {
                 "content": {"text/event-stream": {}},
                 "description": "Events `panel`, data: a LivePanel JSON, sent at once and then "
                                "each time a bar is written (checked every `live_poll_seconds`)."},
                 **ERRORS})
    async def live_stream(request: Request, root: str = Query("ZL", max_length=16)) -> Response:
        root = _check_root(settings, root)
        if request.scope.get("cbi.head"):
            return Response(media_type="text/event-stream", headers={"Cache-Control": "no-store"})
        from sse_starlette.sse import EventSourceResponse

        async def events():
            async for version, body in app.state.live.subscribe(root):
                yield {"event": "panel", "id": str(version), "data": body.decode()}

        return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store"})

    @app.get("/api/history", response_model=schemas.HistoryResponse, responses=ERRORS,
             summary="Daily continuous closes")
    async def history(request: Request, root: str = Query("ZL", max_length=16),
                      days: int = Query(365, ge=1, le=36500),
                      since: dt.date | None = None) -> Response:
        """The `days` calendar days ending at the newest close; with `since` only later dates."""
        root = _check_root(settings, root)
        since = _check_since_date(since)

        def produce() -> dict[str, Any]:
            rows, sim = data.history(wh, settings, root, days, since)
            return {"simulated": sim or simulated(), "root": root, "days": days, "rows": rows,
                    "empty": None if rows or since else data.FILL["history"]}

        return await answer(request, ("history", root, days, since), produce)

    @app.get("/api/status", response_model=schemas.StatusResponse, responses=ERRORS,
             summary="Freshness (newest observation and when written), last runs, provenance")
    async def status(request: Request) -> Response:
        now = app.state.clock()

        def produce() -> dict[str, Any]:
            body = data.status(wh, settings, now, sandbox_data())
            return {"warehouse": wh.engine, "checked_at": now, **body}

        return await answer(request, ("status",), produce)

    @app.get("/health", response_model=schemas.Health, summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}


@lru_cache(maxsize=1)
def plotly_js() -> tuple[bytes, bytes, str]:
    """plotly.min.js from the installed plotly wheel (raw, gzipped, ETag): served from the
    package itself so the page's plotly.js always matches the pinned plotly version."""
    raw = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    return raw, gzip.compress(raw, 6), '"' + hashlib.blake2b(raw, digest_size=12).hexdigest() + '"'


def swagger_dir() -> Path:
    """Swagger UI's files from the installed `swagger-ui-bundle-v2` package (no CDN)."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CBI dashboard API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/swagger/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""


def _page_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        html = (STATIC / "index.html").read_bytes()
        return Response(html, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML, headers={"Cache-Control": "no-cache"})

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

    app.mount("/static/swagger", StaticFiles(directory=swagger_dir()), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
