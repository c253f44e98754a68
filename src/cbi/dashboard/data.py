"""What each dashboard route reads: blocking warehouse queries returning JSON-ready dicts.

The page reads only the warehouse: forecasts and the served forecaster's walk-forward record
from the predictions tables, accuracy from `predictions.model_report`, prices from
`market_data`, freshness and runs from `ops`. Every value from a request arrives here already
validated (horizon and root from allowlists) and goes into the SQL as a query parameter; the
only names put into SQL text are the surface and horizon, from `SURFACES` and `HORIZONS`,
through `Warehouse.render`'s check.

Prices go out rounded to the contract's tick (`Settings.tick_sizes`); every hit, coverage and
change is computed from the stored, unrounded values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import weakref
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from cbi.config import HORIZONS, SURFACES, Settings
from cbi.secrets import redact
from cbi.warehouse import Warehouse, WarehouseError, catalog

SQL = "cbi.dashboard.sql"
FORECAST_DAYS = 30  # origin dates served by /api/forecast
FORECAST_ROWS = 100  # at most this many rows
HEADLINE_DAYS = 400  # the newest served origin is looked for this far back
LIVE_LOOKBACK = dt.timedelta(days=4)  # how old the newest live bar may be (a long weekend)
CURVE_DAILY_LOOKBACK = dt.timedelta(days=14)  # a contract without a daily bar this long is gone
RUNS_LOOKBACK = dt.timedelta(days=30)
PROVENANCE_DAYS = 400  # macro rows this recent (the features' reach) count for the banner
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
REPORT = "predictions.model_report"
FORECASTERS = ("served", "tree", "neural", "random_walk", "drift")
MONTH_CODES = "FGHJKMNQUVXZ"
RANDOM_WALK_TEXT = "random walk: no model has shown skill at this horizon"

#: What fills each empty section: the page shows these words.
FILL = {
    "forecast": "No served forecast yet: run `cbi train`, then `cbi predict` (or `cbi run`).",
    "track": "No served walk-forward rows yet: run `cbi train` (it writes the backtest).",
    "report": "No model report yet: run `cbi models report` after `cbi train`.",
    "history": "No daily bars yet: run `cbi ingest databento` or `cbi ingest bars FILE`.",
    "live": "No 1-minute bars in the last 4 days: run `cbi serve` (Live stream) or "
            "`cbi ingest databento`.",
    "freshness": "No feed has delivered rows yet: run `cbi run` (or `cbi ingest ...`).",
    "runs": "No pipeline run in the last 30 days: run `cbi run` or `cbi serve`.",
}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def surface(settings: Settings) -> str:
    if settings.dashboard_surface not in SURFACES:
        raise ValueError(f"dashboard_surface {settings.dashboard_surface!r}: choose one of {SURFACES}")
    return settings.dashboard_surface


def table_of(kind: str, settings: Settings, horizon: str) -> str:
    """The `predictions` or `backtest` table of the served surface, named by the catalogue."""
    named = {"predictions": catalog.predictions_table, "backtest": catalog.backtest_table}[kind]
    return named(surface(settings), horizon)


# ---- prices ------------------------------------------------------------------------------
def tick_of(settings: Settings, root: str) -> float:
    return float(settings.tick_sizes.get(root, settings.tick_sizes.get("default", 0.0001)))


@lru_cache(maxsize=64)
def tick_decimals(tick: float) -> int:
    return len(f"{tick:.10f}".rstrip("0").split(".")[1])


def to_tick(value: float | None, tick: float) -> float | None:
    """`value` rounded to the nearest multiple of `tick`, with the tick's decimals."""
    if value is None or not math.isfinite(value):
        return None
    if tick <= 0:
        return value
    return round(round(value / tick) * tick, tick_decimals(tick))


def _round(rows: list[dict[str, Any]], fields: tuple[str, ...], tick: float) -> None:
    for r in rows:
        for f in fields:
            if f in r:
                r[f] = to_tick(r[f], tick)


def round_table(table: pa.Table, fields: tuple[str, ...], tick: float) -> pa.Table:
    """`to_tick` on whole Arrow columns (vectorised: thousands of rows cost microseconds)."""
    if tick <= 0:
        return table
    for f in fields:
        if f in table.column_names:
            col = pc.round(pc.multiply(pc.round(pc.divide(table[f], tick)), tick), tick_decimals(tick))
            table = table.set_column(table.column_names.index(f), f, col)
    return table


PRICE_FIELDS = ("origin_close", "predicted_value", "confidence_interval_lower",
                "confidence_interval_upper", "actual_value", "close", "index_close")


def _sandboxed(rows: list[dict[str, Any]]) -> bool:
    """Any row from the sandbox; drops the per-row `source` column from the answer."""
    flags = [r.pop("source", None) == "sandbox" for r in rows]
    return any(flags)


# ---- forecasts ---------------------------------------------------------------------------
def forecast(wh: Warehouse, settings: Settings, horizon: str, everything: bool,
             now: dt.datetime) -> list[dict[str, Any]]:
    """Forecast rows of origin dates in the last 30 days, newest first, at most 100. Unless
    `everything`, the served rows only, one per origin date: the one written last (latest
    `created_at`, NULLs oldest; then the highest `model_version`)."""
    assert horizon in HORIZONS  # the route checked it; the table name depends on it
    since = now.date() - dt.timedelta(days=FORECAST_DAYS)
    sql = wh.render(SQL, "forecast.sql", table=table_of("predictions", settings, horizon))
    rows = wh.query_rows(sql, {"since": since, "horizon": horizon})
    if not everything:  # NULLs rank lowest, as DESC NULLS LAST would order them
        rows = [r for r in rows if r["model_name"] == "served"]
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
    tick = tick_of(settings, settings.target_root)
    for r in rows:
        del r["created_us"]
    _round(rows, PRICE_FIELDS, tick)
    return rows


def headline(wh: Warehouse, settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """Today's served forecast per horizon, from one origin (the newest served origin of any
    horizon): price, change against the origin's close, interval, who served it, when it was
    made, and the interval's track record from the model report."""
    floor = now.date() - dt.timedelta(days=HEADLINE_DAYS)
    parts = [wh.render(SQL, "headline.sql", table=table_of("predictions", settings, h))
             for h in settings.horizons]
    latest = {r["horizon"]: r for r in
              wh.query_rows(" UNION ALL ".join(f"({p.strip()})" for p in parts), {"floor": floor})}
    origin = max((r["date"] for r in latest.values()), default=None)
    report = {r["horizon"]: r for r in model_report_rows(wh, settings) if r["forecaster"] == "served"}
    tick = tick_of(settings, settings.target_root)
    units = settings.price_units.get(settings.target_root, "")
    horizons = []
    for h in settings.horizons:
        r = latest.get(h)
        if r is None or r["date"] != origin:
            horizons.append({"horizon": h, "available": False,
                             "note": (f"no served {h} forecast from the {origin} close; "
                                      if origin else "") + FILL["forecast"]})
            continue
        change = (r["predicted_value"] - r["origin_close"]
                  if r["predicted_value"] is not None and r["origin_close"] is not None else None)
        pct = (100 * change / r["origin_close"]) if change is not None and r["origin_close"] else None
        horizons.append({
            "horizon": h, "available": True, "origin": r["date"], "target_date": r["target_date"],
            "origin_close": to_tick(r["origin_close"], tick),
            "predicted_value": to_tick(r["predicted_value"], tick),
            "change": None if change is None else round(change, 4),
            "change_pct": None if pct is None else round(pct, 2),
            "lower": to_tick(r["confidence_interval_lower"], tick),
            "upper": to_tick(r["confidence_interval_upper"], tick),
            "interval_level": r["interval_level"], "served_by": r["served_by"],
            "model_version": r["model_version"], "created_at": r["created_at"],
            "served_text": served_text(r["served_by"], r["model_version"]),
            "track_record": track_words(report.get(h)),
        })
    return {"root": settings.target_root, "units": units, "tick": tick, "origin": origin,
            "horizons": horizons, "empty": None if origin else FILL["forecast"]}


def served_text(served_by: str | None, version: str | None) -> str:
    if served_by in (None, "random_walk"):
        return RANDOM_WALK_TEXT
    return f"{served_by} model {version}" if version else f"{served_by} model"


def track_words(row: dict[str, Any] | None) -> dict[str, Any]:
    """The interval's record in words and numbers, from the served row of the model report."""
    if not row or row.get("coverage") is None or not row.get("n"):
        return {"text": "no track record yet: " + FILL["report"], "coverage": None, "n": None,
                "coverage_worst_year": None, "worst_year": None}
    text = f"covered {100 * row['coverage']:.0f}% of {row['n']:,} past forecasts"
    if row.get("coverage_worst_year") is not None:
        year = f" ({row['worst_year']})" if row.get("worst_year") else ""
        text += f"; worst year{year} {100 * row['coverage_worst_year']:.0f}%"
    return {"text": text, "coverage": row["coverage"], "n": row["n"],
            "coverage_worst_year": row.get("coverage_worst_year"), "worst_year": row.get("worst_year")}


def track_record(wh: Warehouse, settings: Settings, horizon: str) -> dict[str, Any]:
    """Every served walk-forward forecast of `horizon` with its realised price, and whether
    the interval held it (computed in SQL from the stored values)."""
    assert horizon in HORIZONS
    table = wh.query_file(SQL, "track_record.sql", {"horizon": horizon},
                          table=table_of("backtest", settings, horizon))
    rows = round_table(table, PRICE_FIELDS, tick_of(settings, settings.target_root)).to_pylist()
    hits = sum(1 for r in rows if r["hit"])
    return {"horizon": horizon, "rows": rows, "hits": hits, "misses": len(rows) - hits,
            "coverage": hits / len(rows) if rows else None,
            "empty": None if rows else FILL["track"]}


# ---- the model report ------------------------------------------------------------------------
_REPORT_SEEN: weakref.WeakSet = weakref.WeakSet()  # warehouses holding the report table (it stays)


def _report_exists(wh: Warehouse) -> bool:
    if wh in _REPORT_SEEN:
        return True
    try:
        found = wh.table_exists(REPORT)
    except (KeyError, ValueError, WarehouseError):  # not in this build's catalogue yet
        return False
    if found:
        _REPORT_SEEN.add(wh)
    return found


def model_report_rows(wh: Warehouse, settings: Settings) -> list[dict[str, Any]]:
    if not _report_exists(wh):
        return []
    rows = wh.query_file(SQL, "model_report.sql", {"surface": surface(settings)}).to_pylist()
    order = {h: i for i, h in enumerate(HORIZONS)}
    rank = {f: i for i, f in enumerate(FORECASTERS)}
    rows.sort(key=lambda r: (order.get(r["horizon"], 99), rank.get(r["forecaster"], 99),
                             r["forecaster"] or ""))
    return rows


def metrics(wh: Warehouse, settings: Settings) -> dict[str, Any]:
    """Walk-forward accuracy per horizon and forecaster (served, learners, baselines) from
    `predictions.model_report`, each judged against the random walk of its horizon."""
    rows = model_report_rows(wh, settings)
    for r in rows:
        r["verdict"] = verdict(r)
    return {"surface": surface(settings), "interval_level": settings.interval_level,
            "rows": rows, "empty": None if rows else FILL["report"]}


def verdict(r: dict[str, Any], level: float = 0.05) -> str:
    """How a forecaster compares with the random walk of its horizon. The report's
    Diebold-Mariano p-value is one-sided, for "beats the random walk": `better` is a lower
    MASE with p < 5%, `worse` a higher MASE with p > 95% (significantly worse), `baseline`
    the random walk itself, `same` everything else (no significant difference)."""
    if r["forecaster"] == "random_walk":
        return "baseline"
    mase, p = r.get("mase"), r.get("dm_pvalue")
    if mase is None or p is None:
        return "same"
    if p < level and mase < 1:
        return "better"
    if p > 1 - level and mase > 1:
        return "worse"
    return "same"


# ---- live prices and history ----------------------------------------------------------
def live_bars(wh: Warehouse, settings: Settings, root: str, since: dt.datetime | None,
              now: dt.datetime) -> tuple[list[dict[str, Any]], bool]:
    """Outright 1-minute bars of the 5 minutes ending at the root's newest bar, after `since`;
    and whether any came from the sandbox."""
    params = {"root": root, "floor": now - LIVE_LOOKBACK, "since": since or EPOCH}
    table = wh.query_file(SQL, "live_bars.sql", params)
    rows = round_table(table, ("close",), tick_of(settings, root)).to_pylist()
    return rows, _sandboxed(rows)


def contract_order(symbol: str, today: dt.date) -> tuple[int, int, str]:
    """Sort key by expiry: `ZLN5` is July of the first year ending in 5 from last year on."""
    m = re.search(r"([FGHJKMNQUVXZ])(\d{1,2})$", symbol)
    if not m:
        return (9999, 99, symbol)
    digits = int(m.group(2))
    if len(m.group(2)) == 1:
        year = today.year - today.year % 10 + digits
        if year < today.year - 1:
            year += 10
    else:
        year = today.year - today.year % 100 + digits
    return (year, MONTH_CODES.index(m.group(1)), symbol)


def live_panel(wh: Warehouse, settings: Settings, root: str, now: dt.datetime) -> dict[str, Any]:
    """The live panel: the last 5 minutes of bars, the last price of the most traded outright
    (its time and contract), and the front-month curve. What the stream sends."""
    bars, simulated = live_bars(wh, settings, root, None, now)
    curve_rows = wh.query_file(SQL, "curve.sql", {
        "root": root, "floor": now - LIVE_LOOKBACK,
        "day_floor": (now - CURVE_DAILY_LOOKBACK).date()}).to_pylist()
    simulated = _sandboxed(curve_rows) or simulated
    best: dict[str, dict[str, Any]] = {}
    for r in curve_rows:  # a minute bar (pref 1) beats the daily close (pref 2)
        if r["symbol"] not in best or r["pref"] < best[r["symbol"]]["pref"]:
            best[r["symbol"]] = r
    tick = tick_of(settings, root)
    curve = [{"symbol": s, "close": to_tick(r["close"], tick), "at": r["at"],
              "from": "1m" if r["pref"] == 1 else "1d"}
             for s, r in sorted(best.items(), key=lambda kv: contract_order(kv[0], now.date()))]
    volume: dict[str, int] = {}
    for b in bars:
        volume[b["symbol"]] = volume.get(b["symbol"], 0) + (b["volume"] or 0)
    front = max(sorted(volume), key=lambda s: volume[s]) if volume else None
    last = next((b for b in reversed(bars) if b["symbol"] == front), None)
    return {"root": root, "simulated": simulated, "bars": bars,
            "last": None if last is None else {"symbol": front, "close": last["close"],
                                               "ts_event": last["ts_event"]},
            "curve": curve, "empty": None if bars or curve else FILL["live"]}


def live_mark(wh: Warehouse, root: str, now: dt.datetime) -> tuple:
    row = wh.query_rows(wh.render(SQL, "live_mark.sql"), {"root": root, "floor": now - LIVE_LOOKBACK})
    return (row[0]["ts"], row[0]["written"]) if row else (None, None)


def history(wh: Warehouse, settings: Settings, root: str, days: int,
            since: dt.date | None) -> tuple[list[dict[str, Any]], bool]:
    """Daily continuous closes: the `days` days ending at the newest date, after `since`;
    and whether any came from the sandbox."""
    params = {"root": root, "days": days, "since": since or dt.date(1900, 1, 1)}
    table = wh.query_file(SQL, "history.sql", params)
    rows = round_table(table, ("close",), tick_of(settings, root)).to_pylist()
    return rows, _sandboxed(rows)


# ---- provenance, freshness, runs -------------------------------------------------------------
def provenance(wh: Warehouse, settings: Settings, now: dt.datetime) -> list[str]:
    """The kinds of data the page shows that hold sandbox rows (empty: all live-sourced)."""
    params = {"root": settings.target_root, "floor": now - LIVE_LOOKBACK,
              "day_floor": (now - dt.timedelta(days=PROVENANCE_DAYS)).date(),
              "floor_news": now - dt.timedelta(days=PROVENANCE_DAYS)}
    rows = wh.query_file(SQL, "provenance.sql", params).to_pylist()
    return [r["data"] for r in rows if r["sandbox"]]


def status(wh: Warehouse, settings: Settings, now: dt.datetime,
           sandbox: list[str] | None = None) -> dict[str, Any]:
    """Freshness (newest observation and when it was written, each with its age) per feed
    and subject, the latest run of each job, and which data came from the sandbox (`sandbox`:
    already known, else read here)."""
    from cbi.ops import alerts
    from cbi.ops.status import freshness_rows

    fresh = freshness_rows(alerts.freshness(wh, settings, now), wh, now)
    runs = wh.query_file(SQL, "last_runs.sql", {"since": now - RUNS_LOOKBACK}).to_pylist()
    for run in runs:
        run["error"] = redact(run["error"]) if run["error"] else None
    sandbox = provenance(wh, settings, now) if sandbox is None else sandbox
    newest = max((f["observed_at"] for f in fresh if f["observed_at"] is not None), default=None)
    return {"freshness": fresh, "runs": runs, "sandbox_data": sandbox, "simulated": bool(sandbox),
            "data_as_of": newest,
            "empty": {"freshness": None if newest else FILL["freshness"],
                      "runs": None if runs else FILL["runs"]}}
