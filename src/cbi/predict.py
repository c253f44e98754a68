"""The `predict` job: the current model per horizon forecasts from the latest feature rows.

The rows predicted are those of the export whose target is not known yet (the last h rows).
Every model is loaded and every forecast computed before anything is written, so a missing
or corrupt model file stops the job with nothing written. Re-running MERGEs the same keys
(date, horizon, model_version): predicting twice gives the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cbi.config import Settings
from cbi.models.base import ModelError
from cbi.models.data import TrainingFrame, read_training
from cbi.models.intervals import price_interval
from cbi.models.registry import current_entries, load_model
from cbi.models.train import pick_horizons


def predict_job(wh, settings: Settings, **options: Any) -> dict[str, Any]:
    """Options: horizons (list or 'all'), surface (prod|full)."""
    surface = options.get("surface") or "prod"
    horizons = pick_horizons(options.get("horizons"), settings)
    current = current_entries(settings, surface)
    missing = [h for h in horizons if h not in current]
    if missing:
        raise ModelError(f"no trained {surface} model for horizon(s) {missing}; run `cbi train` first")
    batches, rows_read = {}, 0
    for horizon in horizons:  # everything computed first: a failure writes nothing
        frame = read_training(settings.export_dir, surface, horizon)
        rows_read += len(frame.rows)
        batches[horizon] = forecast(frame, current[horizon], settings)
    written = 0
    for horizon, table in batches.items():
        written += wh.merge(f"predictions.zl_predictions_{surface}_allhistory_{horizon}", table).rows_merged
    return {"rows_read": rows_read, "rows_written": written,
            "models": {h: current[h]["model_version"] for h in horizons}}


def forecast(frame: TrainingFrame, entry: dict[str, Any], settings: Settings) -> pa.Table:
    """Forecasts of the unlabelled rows by one registry entry, as prediction-table rows."""
    model = load_model(entry)
    columns = entry["feature_columns"]
    absent = [c for c in columns if c not in frame.rows.columns]
    if absent:
        raise ModelError(f"{frame.path}: lacks feature column(s) {absent} that "
                         f"{entry['model_version']} was trained on; retrain with `cbi train`")
    rows = frame.unlabelled
    # The learner's output shrunk toward no change by the entry's out-of-sample weight
    # (`cbi.models.shrinkage`); entries from before shrinkage have none and mean 1.
    shrink = float(entry.get("shrink", 1.0))
    pred = shrink * model.predict(rows[columns].to_numpy(dtype=float, na_value=np.nan))
    close = rows["databento_close"].to_numpy(dtype=float)
    lower, upper = price_interval(close, pred, float(entry["halfwidth"]))
    n = len(rows)
    return pa.table({
        "date": pa.array(rows["date"], pa.date32()),
        "horizon": [frame.horizon] * n,
        "model_version": [entry["model_version"]] * n,
        "model_name": [entry["model_name"]] * n,
        "target_date": pa.array(future_target_dates(frame), pa.date32()),
        "origin_close": close,
        "predicted_value": close * np.exp(pred),
        "confidence_interval_lower": lower,
        "confidence_interval_upper": upper,
        "interval_level": [float(entry["interval_level"])] * n,
        "created_at": pa.array([dt.datetime.now(dt.timezone.utc)] * n, pa.timestamp("us", tz="UTC")),
    })


def _holidays_after(day: dt.date) -> list[dt.date]:
    from cbi.ops.calendar import holidays

    return sorted(h for year in range(day.year, day.year + 3) for h in holidays(year))


def future_target_dates(frame: TrainingFrame) -> list[dt.date]:
    """Target dates of the unlabelled rows: the export's own where present, else h trading
    days on, counting CME trading days (weekdays less the exchange holidays of
    `cbi.ops.calendar`) past the last known date."""
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
            out.append(np.busday_offset(dates[last], extra, roll="forward",
                                        holidays=_holidays_after(dates[last])).astype(dt.date))
    return out
