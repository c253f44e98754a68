"""What each dashboard route reads: blocking warehouse queries returning JSON-ready dicts.

Every value from a request arrives here already validated (horizon and root from
allowlists) and goes into the SQL as a query parameter; the only names put into SQL text are
the surface and horizon, from `SURFACES` and `HORIZONS`, through `Warehouse.render`'s check.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cbi.config import HORIZONS, SURFACES, Settings
from cbi.secrets import redact
from cbi.warehouse import Warehouse, catalog

SQL = "cbi.dashboard.sql"
FORECAST_DAYS = 30  # origin dates served by /api/forecast
FORECAST_ROWS = 100  # at most this many rows
LIVE_LOOKBACK = dt.timedelta(days=4)  # how old the newest live bar may be (a long weekend)
RUNS_LOOKBACK = dt.timedelta(days=30)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def surface(settings: Settings) -> str:
    if settings.dashboard_surface not in SURFACES:
        raise ValueError(f"dashboard_surface {settings.dashboard_surface!r}: choose one of {SURFACES}")
    return settings.dashboard_surface


def table_of(kind: str, settings: Settings, horizon: str) -> str:
    """`predictions.zl_{kind}_{surface}_allhistory_{horizon}`, checked against the catalogue."""
    return catalog.table(f"predictions.zl_{kind}_{surface(settings)}_allhistory_{horizon}").fqn


def forecast(wh: Warehouse, settings: Settings, horizon: str, all_versions: bool,
             now: dt.datetime) -> list[dict[str, Any]]:
    """Forecast rows of origin dates in the last 30 days, newest first, at most 100. Unless
    `all_versions`, one model version per origin date: the one written last (latest
    `created_at`, NULLs oldest; then the highest `model_version`), as a retrain writes new rows."""
    assert horizon in HORIZONS  # the route checked it; the table name depends on it
    since = now.date() - dt.timedelta(days=FORECAST_DAYS)
    sql = wh.render(SQL, "forecast.sql", table=table_of("predictions", settings, horizon))
    rows = wh.query_rows(sql, {"since": since, "horizon": horizon})
    if not all_versions:  # NULLs rank lowest, as DESC NULLS LAST would order them
        current: dict[dt.date, tuple] = {}
        for r in rows:
            c, v = r["created_us"], r["model_version"]
            rank = (c is not None, c or 0, v is not None, v or "")
            if rank > current.get(r["date"], (False,)):
                current[r["date"]] = rank
        rows = [r for r in rows if current[r["date"]][3] == (r["model_version"] or "")]
    # Newest origin first, then model_version ascending (NULLs first, as the SQL ordered it).
    rows.sort(key=lambda r: (r["model_version"] is not None, r["model_version"] or ""))
    rows.sort(key=lambda r: r["date"], reverse=True)
    rows = rows[:FORECAST_ROWS]
    for r in rows:
        del r["created_us"]
    return rows


def live_bars(wh: Warehouse, root: str, since: dt.datetime | None,
              now: dt.datetime) -> list[dict[str, Any]]:
    """Outright 1-minute bars of the 5 minutes ending at the root's newest bar, after `since`."""
    params = {"root": root, "floor": now - LIVE_LOOKBACK, "since": since or EPOCH}
    return wh.query_file(SQL, "live_bars.sql", params).to_pylist()


def history(wh: Warehouse, root: str, days: int, since: dt.date | None) -> list[dict[str, Any]]:
    """Daily continuous closes: the `days` days ending at the newest date, after `since`."""
    params = {"root": root, "days": days, "since": since or dt.date(1900, 1, 1)}
    return wh.query_file(SQL, "history.sql", params).to_pylist()


def metrics(wh: Warehouse, settings: Settings) -> dict[str, Any]:
    """Walk-forward metrics per horizon and model: the model registry's when it is there,
    else computed in SQL from the backtest tables (with the naive forecast as baseline)."""
    try:
        from cbi.models.registry import metrics_table
    except ImportError:  # the models area is not installed: score the backtest tables
        metrics_table = None
    if metrics_table is not None:
        rows = [dict(r) for r in metrics_table(settings, surface=surface(settings))]
        if rows:  # an empty registry (nothing trained yet) falls through to the backtests
            return {"source": "registry", "rows": rows}
    return {"source": "backtest", "rows": backtest_metrics(wh, settings)}


def backtest_metrics(wh: Warehouse, settings: Settings) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for horizon in settings.horizons:
        params = {"horizon": horizon, "default_level": settings.interval_level}
        found = wh.query_file(SQL, "backtest_metrics.sql", params,
                              table=table_of("backtest", settings, horizon)).to_pylist()
        rows.extend(_with_naive(horizon, found))
    return rows


def _with_naive(horizon: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each model's row, then one naive baseline row per model version (same rows scored)."""
    out = []
    for r in found:
        out.append({"horizon": horizon, "model": r["model"], "model_version": r["model_version"],
                    "n": r["n"], "mase": r["mase"], "mae": r["mae"], "rmse": r["rmse"],
                    "directional_accuracy": r["directional_accuracy"], "coverage": r["coverage"],
                    "interval_width": r["interval_width"], "pinball": r["pinball"],
                    "interval_level": r["interval_level"], "is_current": bool(r["is_current"])})
        out.append({"horizon": horizon, "model": "naive", "model_version": r["model_version"],
                    "n": r["n"], "mase": 1.0 if r["naive_mae"] else None, "mae": r["naive_mae"],
                    "rmse": r["naive_rmse"], "directional_accuracy": None, "coverage": None,
                    "interval_width": None, "pinball": None, "interval_level": None,
                    "is_current": False})
    return out


def status(wh: Warehouse, settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """Feed watermarks with their age, the latest run of each job."""
    feeds = []
    for row in wh.query_file(SQL, "feed_status.sql").to_pylist():
        mark = row["watermark"]
        age = (now - mark).total_seconds() / 60 if mark else None
        stale = None
        if row["feed"] == "databento" and age is not None:  # bars are expected every minute
            stale = age > settings.stale_after_minutes
        feeds.append({**row, "age_minutes": None if age is None else round(age, 1), "stale": stale})
    runs = wh.query_file(SQL, "last_runs.sql", {"since": now - RUNS_LOOKBACK}).to_pylist()
    for run in runs:
        run["error"] = redact(run["error"]) if run["error"] else None
    return {"feeds": feeds, "runs": runs}
