"""Training rows from the exported Parquet files (never from the live warehouse).

One file per surface and horizon: `{export_dir}/zl_training_{surface}_allhistory_{h}.parquet`,
one row per trading date, the columns of `training.zl_training_{surface}_allhistory_{h}`.
The last h rows carry NULL targets: those are the rows we predict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from cbi.config import HORIZONS, SURFACES
from cbi.models.base import ModelError
from cbi.models.features import derive_features
from cbi.warehouse import catalog

REQUIRED = ("date", "databento_close", "target_log_return")


@dataclass
class TrainingFrame:
    path: Path
    horizon: str
    rows: pd.DataFrame  # sorted by date, index 0..n-1
    feature_columns: list[str]
    feature_hash: str | None = None
    watermarks: object = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return HORIZONS[self.horizon]

    @property
    def labelled(self) -> pd.DataFrame:
        """Rows whose target is known, in date order (the first n - h rows)."""
        return self.rows[self.rows["target_log_return"].notna()]

    @property
    def unlabelled(self) -> pd.DataFrame:
        return self.rows[self.rows["target_log_return"].isna()]

    def features(self, rows: pd.DataFrame) -> np.ndarray:
        return rows[self.feature_columns].to_numpy(dtype=float, na_value=np.nan)

    def fingerprint(self) -> str:
        """sha256 of the labelled rows' features and targets: same data -> same hash."""
        rows = self.labelled
        digest = hashlib.sha256()
        digest.update(json.dumps(self.feature_columns).encode())
        digest.update(rows["date"].astype(str).str.cat(sep=",").encode())
        digest.update(np.ascontiguousarray(self.features(rows)).tobytes())
        digest.update(rows["target_log_return"].to_numpy(dtype=float).tobytes())
        return digest.hexdigest()


def export_path(export_dir: Path, surface: str, horizon: str) -> Path:
    if surface not in SURFACES:
        raise ModelError(f"unknown surface {surface!r}; choose from {list(SURFACES)}")
    if horizon not in HORIZONS:
        raise ModelError(f"unknown horizon {horizon!r}; choose from {list(HORIZONS)}")
    return catalog.export_path(export_dir, surface, horizon)


def read_training(export_dir: Path, surface: str, horizon: str,
                  feature_groups: list[str] | tuple[str, ...] | None = None) -> TrainingFrame:
    """The training rows of one surface and horizon, checked; errors name the file. The
    features are the allow-list of `cbi.models.features` (all groups, or `feature_groups`),
    derived from the export's columns and added to the rows as `f_<name>`."""
    path = export_path(export_dir, surface, horizon)
    if not path.exists():
        raise ModelError(f"{path}: training export not found; run `cbi export` first")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise ModelError(f"{path}: not a readable Parquet file ({exc})") from None
    rows = table.to_pandas()
    _check_columns(path, rows)
    rows["date"] = pd.to_datetime(rows["date"]).dt.date
    if "target_date" in rows:
        rows["target_date"] = pd.to_datetime(rows["target_date"]).dt.date
    rows = rows.sort_values("date", kind="stable").reset_index(drop=True)
    _check_rows(path, rows)
    meta = _metadata(table.schema.metadata)
    rows, features = derive_features(rows, feature_groups)
    feature_hash = meta.get("feature_hash") or _column_hash(rows)
    return TrainingFrame(path, horizon, rows, features, feature_hash,
                         _json_or_text(meta.get("watermarks")), meta)


def _check_columns(path: Path, rows: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise ModelError(f"{path}: missing column(s) {missing}")


def _check_rows(path: Path, rows: pd.DataFrame) -> None:
    dup = rows["date"].duplicated()
    if dup.any():
        raise ModelError(f"{path}: date {rows.loc[dup.idxmax(), 'date']} appears twice "
                         f"(row {int(dup.idxmax())}); expected one row per trading date")
    close = rows["databento_close"]
    bad = close.isna() | ~(close > 0)
    if bad.any():
        i = int(bad.idxmax())
        raise ModelError(f"{path}: row {i} ({rows.loc[i, 'date']}): databento_close "
                         f"{close[i]!r} is not a positive price")
    known = rows["target_log_return"].notna().to_numpy()
    if known.any() and not known[: int(known.sum())].all():
        i = int(np.argmin(known))
        raise ModelError(f"{path}: row {i} ({rows.loc[i, 'date']}): target_log_return is NULL "
                         "before the last rows; only the final h rows may lack a target")


def _metadata(raw: dict[bytes, bytes] | None) -> dict[str, str]:
    raw = raw or {}
    keys = (b"feature_hash", b"watermarks", b"row_count")
    return {k.decode(): raw[k].decode("utf-8", "replace") for k in keys if k in raw}


def _json_or_text(value: str | None) -> object:
    try:
        return json.loads(value) if value else None
    except ValueError:
        return value


def _column_hash(rows: pd.DataFrame) -> str | None:
    if "feature_hash" in rows and rows["feature_hash"].notna().any():
        return str(rows["feature_hash"].dropna().iloc[-1])
    return None
