"""Curated daily features, built in the warehouse from the continuous series, FRED and news.

`features_job` builds them (the pipeline job `cbi.jobs.features_job` wraps it, re-scoring
the stored news first on a full build): it rebuilds the dates its inputs touched since the
last build (or everything with `full=True`), then the training
tables. Each write is a MERGE on (date, symbol), so a re-run, or a run killed midway, leaves
the same rows; the build's watermark moves only after every MERGE has committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cbi.warehouse import Warehouse, watermarks

if TYPE_CHECKING:
    from cbi.config import Settings

SQL = "cbi.transform.sql"
FEATURES = "features.curated_features_daily"
CURSOR = ("features", "curated_features_daily")  # (feed, cursor_key) of this job's watermark
FEATURE_FILES = ("features_curated.sql", "training_rows.sql")
FAR_FUTURE = dt.date(9999, 12, 31)
#: The steps `features_job` reports to its `progress` callable, in order.
STEPS = ("inputs checked", "features computed", "features merged", "training tables built")


def features_job(wh: Warehouse, settings: Settings, **options: Any) -> dict[str, Any]:
    """Build curated features for every root, then the training tables.

    Options: `full` (rebuild every date), `start`, `end` (dates, inclusive), `progress` (a
    callable(step) called after each of STEPS)."""
    from cbi.transform.training import build_training

    step = options.get("progress") or (lambda label: None)
    full = bool(options.get("full"))
    start, end = _date(options.get("start")), _date(options.get("end"))
    marks = input_watermarks(wh)
    previous = previous_watermarks(wh)
    step(STEPS[0])
    if previous.get("definitions") != marks["definitions"]:
        full = True  # the feature SQL changed: every row may differ
    write_from = start or (dt.date(1, 1, 1) if full else touched_since(wh, previous))
    if write_from is None:
        return {"rows_read": 0, "rows_written": 0, "write_from": None, "up_to_date": True}
    feature_hash = compute_feature_hash(marks)
    created_at = dt.datetime.now(dt.timezone.utc)
    rows = build_rows(wh, write_from, end or FAR_FUTURE, feature_hash, created_at,
                      settings.fred_max_age_days, settings.feature_roots)
    step(STEPS[1])
    written = wh.merge(FEATURES, rows).rows_merged
    if full and start is None and end is None:
        wh.execute_file(SQL, "features_delete_stale.sql")
    step(STEPS[2])
    written += build_training(wh, settings, write_from, full=full and start is None and end is None)
    step(STEPS[3])
    save_watermarks(wh, marks)  # only after every MERGE has committed
    return {"rows_read": rows.num_rows, "rows_written": written, "write_from": str(write_from),
            "feature_hash": feature_hash}


#: The FRED series the features join, each with its @max_age_<series> parameter.
FRED_FEATURE_SERIES = ("DFF", "VIXCLS", "DGS10", "DTWEXBGS", "DCOILWTICO")


def max_age_params(ages: dict[str, int]) -> dict[str, int]:
    """@max_age_<series> for each joined FRED series (`fred_max_age_days`, 'default' else)."""
    return {f"max_age_{name.lower()}": int(ages.get(name, ages.get("default", 10)))
            for name in FRED_FEATURE_SERIES}


#: The extra roots the features read (setting `feature_roots`): the soybean crush inputs and
#: heating oil, as returns beside ZL's own (NULL where a root is not ingested).
FEATURE_ROOTS = {"soybean": "ZS", "soymeal": "ZM", "heating_oil": "HO"}


def build_rows(wh: Warehouse, write_from: dt.date, write_to: dt.date, feature_hash: str,
               created_at: dt.datetime, max_age_days: dict[str, int] | None = None,
               feature_roots: dict[str, str] | None = None) -> pa.Table:
    """The curated feature rows dated in [write_from, write_to], for every root."""
    roots = {**FEATURE_ROOTS, **(feature_roots or {})}  # keys: soybean, soymeal, heating_oil
    params = {"write_from": write_from, "write_to": write_to, "feature_hash": feature_hash,
              "created_at": created_at, **max_age_params(max_age_days or {"default": 10}),
              **{f"{k}_root": v for k, v in roots.items()}}
    return wh.query_file(SQL, "features_curated.sql", params)


def compute_feature_hash(watermarks: dict[str, str | None]) -> str:
    """Hash of the feature definitions and the input watermarks: two builds with the same
    hash saw the same SQL and the same inputs."""
    return hashlib.sha256(json.dumps(watermarks, sort_keys=True).encode()).hexdigest()[:16]


def definitions_hash() -> str:
    """Hash of the feature SQL text: a change means every row must be rebuilt."""
    from cbi.warehouse.base import read_sql

    digest = hashlib.sha256()
    for name in FEATURE_FILES:
        digest.update(read_sql(SQL, name).encode())
    return digest.hexdigest()[:16]


def input_watermarks(wh: Warehouse) -> dict[str, str | None]:
    """How far each input has been written (its latest write time), and the SQL's hash."""
    row = wh.query_file(SQL, "features_watermarks.sql").to_pylist()[0]
    marks = {k: (v.isoformat() if v is not None else None) for k, v in row.items()}
    return {**marks, "definitions": definitions_hash()}


def previous_watermarks(wh: Warehouse) -> dict[str, str | None]:
    return watermarks.get_details(wh, *CURSOR)


def touched_since(wh: Warehouse, previous: dict[str, str | None]) -> dt.date | None:
    """The first date whose features may differ from the last build (None: nothing changed).

    An input without a write time (NULL watermark) cannot be compared: rebuild everything."""
    inputs = {k: v for k, v in previous.items() if k != "definitions"}
    if not inputs or any(v is None for v in inputs.values()):
        return dt.date(1, 1, 1)
    params = {k: dt.datetime.fromisoformat(v) for k, v in inputs.items() if v is not None}  # none is, by now
    return wh.scalar(wh.render(SQL, "features_touched.sql"), params)


def save_watermarks(wh: Warehouse, marks: dict[str, str | None]) -> None:
    times = [dt.datetime.fromisoformat(v) for k, v in marks.items() if v and k != "definitions"]
    latest = max(times, default=None)
    watermarks.set_watermark(wh, *CURSOR, latest, marks)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None
