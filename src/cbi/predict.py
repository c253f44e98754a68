"""The `predict` job: per horizon, the served forecast and the current learner's, from the
latest feature rows.

The rows predicted are those of the export whose target is not known yet (the last h rows).
Per horizon two kinds of rows are written: `model_name = 'served'` (what the product serves:
the learner the skill gate opened at the last `cbi train`, shrunk, or the random walk; its
source in `served_by`), and the current learner's own row (`cbi.models.registry`). Intervals
are the conformal score quantile times σ̂_h known at the origin (`cbi.models.intervals`).
Every model is loaded and every forecast computed before anything is written, so a missing
or corrupt model file stops the job with nothing written. Re-running MERGEs the same keys
(date, horizon, model_version): predicting twice gives the same rows. A horizon with no
trained model is skipped with a message (`skipped`); none at all is an error.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cbi import calendar
from cbi.config import Settings
from cbi.models.base import ModelError
from cbi.models.data import TrainingFrame, read_training
from cbi.models.intervals import horizon_sigma, price_interval
from cbi.models.registry import current_entries, entry_by_version, load_model, served_entries
from cbi.models.train import pick_horizons
from cbi.warehouse import catalog

if TYPE_CHECKING:
    from cbi.warehouse.base import Warehouse


def predict_job(wh: Warehouse, settings: Settings, **options: Any) -> dict[str, Any]:
    """Options: horizons (list or 'all'), surface (prod|full)."""
    surface = options.get("surface") or "prod"
    horizons = pick_horizons(options.get("horizons"), settings)
    current = current_entries(settings, surface)
    served = served_entries(settings, surface)
    skipped = {h: f"{h}: skipped, no trained {surface} model (run `cbi train`)"
               for h in horizons if h not in current and h not in served}
    if len(skipped) == len(horizons):
        raise ModelError(f"no trained {surface} model for horizon(s) {horizons}; run `cbi train` first")
    batches, rows_read, chosen = {}, 0, {}
    for horizon in horizons:  # everything computed first: a failure writes nothing
        if horizon in skipped:
            continue
        frame = read_training(settings.export_dir, surface, horizon, settings.feature_groups)
        rows_read += len(frame.rows)
        tables = []
        if horizon in served:
            tables.append(forecast_served(frame, served[horizon], settings))
            chosen[horizon] = f"{served[horizon]['model_version']} (serves {served[horizon]['served_by']})"
        if horizon in current:
            tables.append(forecast(frame, current[horizon], settings))
            chosen.setdefault(horizon, current[horizon]["model_version"])
        batches[horizon] = pa.concat_tables(tables)
    written = 0
    for horizon, table in batches.items():
        written += wh.merge(catalog.predictions_table(surface, horizon), table).rows_merged
    return {"rows_read": rows_read, "rows_written": written, "models": chosen,
            "served_by": {h: served[h]["served_by"] for h in batches if h in served},
            "skipped": skipped}


def _halfwidth(frame: TrainingFrame, entry: dict[str, Any]) -> np.ndarray | float:
    """q · σ̂_h at each unlabelled row; entries from before volatility-normalised intervals
    carry a fixed `halfwidth`."""
    if entry.get("score_quantile") is None:
        return float(entry["halfwidth"])
    sigma = horizon_sigma(frame.rows, frame.days)[frame.unlabelled.index.to_numpy()]
    return float(entry["score_quantile"]) * sigma


def _learner_forecast(frame: TrainingFrame, entry: dict[str, Any], shrink: float) -> np.ndarray:
    model = load_model(entry)
    columns = entry["feature_columns"]
    absent = [c for c in columns if c not in frame.rows.columns]
    if absent:
        raise ModelError(f"{frame.path}: lacks feature column(s) {absent} that "
                         f"{entry['model_version']} was trained on; retrain with `cbi train`")
    return shrink * model.predict(frame.unlabelled[columns].to_numpy(dtype=float, na_value=np.nan))


def forecast(frame: TrainingFrame, entry: dict[str, Any], settings: Settings) -> pa.Table:
    """Forecasts of the unlabelled rows by one registry entry, as prediction-table rows."""
    # The learner's output shrunk toward no change by the entry's out-of-sample weight
    # (`cbi.models.shrinkage`); entries from before shrinkage have none and mean 1.
    pred = _learner_forecast(frame, entry, float(entry.get("shrink", 1.0)))
    return _rows(frame, settings, entry["model_version"], entry["model_name"], None, pred,
                 _halfwidth(frame, entry), float(entry["interval_level"]))


def forecast_served(frame: TrainingFrame, record: dict[str, Any], settings: Settings) -> pa.Table:
    """The served forecast: the gated learner (shrunk by the capped weight) or no change."""
    if record["served_by"] == "random_walk":
        pred = np.zeros(len(frame.unlabelled))
    else:
        entry = entry_by_version(settings, record["learner_version"])
        pred = _learner_forecast(frame, entry, float(record["shrink"]))
    return _rows(frame, settings, record["model_version"], "served", record["served_by"], pred,
                 _halfwidth(frame, record), float(record["interval_level"]))


def _rows(frame: TrainingFrame, settings: Settings, version: str, name: str, served_by: str | None,
          pred: np.ndarray, halfwidth: np.ndarray | float, level: float) -> pa.Table:
    rows = frame.unlabelled
    close = rows["databento_close"].to_numpy(dtype=float)
    lower, upper = price_interval(close, pred, halfwidth)
    n = len(rows)
    return pa.table({
        "date": pa.array(rows["date"], pa.date32()),
        "horizon": [frame.horizon] * n,
        "model_version": [version] * n,
        "model_name": [name] * n,
        "served_by": pa.array([served_by] * n, pa.string()),
        "target_date": pa.array(future_target_dates(frame, settings.target_root), pa.date32()),
        "origin_close": close,
        "predicted_value": close * np.exp(pred),
        "confidence_interval_lower": pa.array(lower, pa.float64(), mask=np.isnan(lower)),
        "confidence_interval_upper": pa.array(upper, pa.float64(), mask=np.isnan(upper)),
        "interval_level": [level] * n,
        "created_at": pa.array([dt.datetime.now(dt.timezone.utc)] * n, pa.timestamp("us", tz="UTC")),
    })


def future_target_dates(frame: TrainingFrame, root: str = "ZL") -> list[dt.date]:
    """Target dates of the unlabelled rows: the export's own where present, else h trading
    days on, counting the target root's CME trading dates (`cbi.calendar`) past the last
    known date."""
    dates = list(frame.rows["date"])
    last = len(dates) - 1
    out = []
    for i in frame.unlabelled.index:
        given = frame.rows.at[i, "target_date"] if "target_date" in frame.rows else None
        if given is not None and not pd.isna(given):
            out.append(given)
        elif i + frame.days <= last:
            out.append(dates[i + frame.days])
        else:
            extra = i + frame.days - last
            out.append(calendar.add_trading_days(root, dates[last], extra))
    return out
