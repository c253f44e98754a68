"""Test builders: rows and files the tests (and benchmarks) build, defined once.

- `minute_bars`: rows of `market_data.databento_futures_ohlcv_1m` (the `bars()` of many tests).
- Training exports built from daily bars with plain pandas features (`synthetic_bars`,
  `real_bars`, `write_exports`); they have the columns of `training.zl_training_prod_allhistory_{h}` and the Parquet metadata
the export writes, so training runs on them exactly as on a real export. The features here
are simple approximations (not TA-Lib exact): they stand in for the features area's output.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cbi.config import HORIZONS
from cbi.warehouse import catalog

FEATURE_HASH = "sample-features-v1"


def features_from_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """date, symbol, databento_close, databento_volume and return/momentum features."""
    close = bars["close"].astype(float).reset_index(drop=True)
    log_ret = np.log(close).diff()
    gain, loss = log_ret.clip(lower=0), -log_ret.clip(upper=0)
    rs = gain.ewm(alpha=1 / 14, adjust=False).mean() / loss.ewm(alpha=1 / 14, adjust=False).mean()
    ema12, ema26 = close.ewm(span=12, adjust=False).mean(), close.ewm(span=26, adjust=False).mean()
    macd = (ema12 - ema26) / close
    signal = macd.ewm(span=9, adjust=False).mean()
    return pd.DataFrame({
        "date": pd.to_datetime(bars["date"]).dt.date.to_numpy(),
        "symbol": "ZL",
        "databento_close": close,
        "databento_volume": bars["volume"].astype("int64").to_numpy(),
        "returns_1d": log_ret,
        "returns_5d": np.log(close).diff(5),
        "returns_21d": np.log(close).diff(21),
        "volatility_30d": log_ret.rolling(30).std() * np.sqrt(252),
        "rsi_14": 100 - 100 / (1 + rs),
        "macd": macd,
        "macd_signal": signal,
        "macd_hist": macd - signal,
        "fred_fed_funds_rate": np.nan, "fred_vix": np.nan, "fred_dgs10": np.nan,
        "fred_dollar_index": np.nan,
    })


def with_target(features: pd.DataFrame, days: int) -> pd.DataFrame:
    """Add the forward target over `days` rows; the last `days` rows keep NULL targets."""
    out = features.copy()
    close = out["databento_close"]
    out["feature_hash"] = FEATURE_HASH
    out["target_date"] = pd.Series(out["date"]).shift(-days)
    out["target_log_return"] = np.log(close.shift(-days) / close)
    out["target_price"] = close * np.exp(out["target_log_return"])
    out["created_at"] = pd.Timestamp("2024-01-01", tz="UTC")
    return out


def write_exports(bars: pd.DataFrame, export_dir: Path, horizons: list[str] | None = None,
                  surface: str = "prod") -> dict[str, Path]:
    """One Parquet file per horizon, as the export writes them."""
    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    features = features_from_bars(bars)
    paths = {}
    for horizon in horizons or list(HORIZONS):
        rows = with_target(features, HORIZONS[horizon])
        table = pa.Table.from_pandas(rows, preserve_index=False)
        table = table.replace_schema_metadata({
            **(table.schema.metadata or {}), b"feature_hash": FEATURE_HASH.encode(),
            b"watermarks": json.dumps({"ZL": str(rows["date"].iloc[-1])}).encode(),
            b"row_count": str(len(rows)).encode()})
        path = catalog.export_path(export_dir, surface, horizon)
        pq.write_table(table, path)
        paths[horizon] = path
    return paths


def synthetic_bars(n_days: int = 2500, seed: int = 0, start: str = "2010-01-04") -> pd.DataFrame:
    """A random-walk price with slowly changing volatility on weekdays: the truth is known
    (log returns are unpredictable, zero mean), so a calibrated 90% interval covers ~90%."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, periods=n_days)
    vol = 0.012 * np.exp(0.3 * np.sin(np.arange(n_days) / 250))
    close = 40 * np.exp(np.cumsum(rng.normal(0, vol)))
    return pd.DataFrame({"date": dates.date, "close": close,
                         "volume": rng.integers(1000, 5000, n_days)})


def real_bars(csv: Path) -> pd.DataFrame:
    bars = pd.read_csv(csv)
    return bars[["date", "close", "volume"]]


# ---- minute bars -----------------------------------------------------------------------------
UTC = dt.timezone.utc


def minute_bars(closes: Sequence[float], symbols: Sequence[str] | None = None, *,
                start: dt.datetime = dt.datetime(2024, 3, 8, 14, 30, tzinfo=UTC),
                root: str = "ZL", instrument_id: int = 42, volume: int | Sequence[int] = 10,
                spread: float = 0.1, **columns: Any) -> pa.Table:
    """One-minute bars from `start`, one a minute: open = close, high/low = close +/- `spread`.
    `symbols` defaults to ZLK4 on every row; `columns` adds others (`source=[...]`)."""
    n = len(closes)
    closes = [float(c) for c in closes]
    volumes = list(volume) if isinstance(volume, Sequence) else [volume] * n
    return pa.table({
        "ts_event": pa.array([start + dt.timedelta(minutes=i) for i in range(n)],
                             pa.timestamp("us", tz="UTC")),
        "root": [root] * n, "symbol": list(symbols or ["ZLK4"] * n), "instrument_id": [instrument_id] * n,
        "open": closes, "high": [c + spread for c in closes], "low": [c - spread for c in closes],
        "close": closes, "volume": volumes, **columns,
    })
