"""Curated features on both engines: TA-Lib-exact indicators, roll-day returns, FRED as of a
date, incremental rebuilds. Helpers here build the input tables (other tests import them)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from cbi.config import get_settings
from cbi.transform.features import FEATURES, build_rows, features_job

CONTINUOUS = "market_data.futures_continuous_1d"
FRED = "market_data.fred_economic_indicators"
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
talib = pytest.importorskip("talib", reason="ta-lib is the indicators' reference (dev dependency)")


# ---- input builders ----------------------------------------------------------------------------
def trading_days(n: int, start: dt.date = dt.date(2020, 1, 2)) -> list[dt.date]:
    days, d = [], start
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def continuous(dates, root, contracts, closes, returns, index, volumes=None, is_roll=None,
               updated_at=T0) -> pa.Table:
    n = len(dates)
    return pa.table({
        "date": pa.array(dates, pa.date32()), "root": [root] * n, "contract_symbol": contracts,
        "close": pa.array(closes, pa.float64()),
        "volume": pa.array(volumes if volumes is not None else [100] * n, pa.int64()),
        "return_1d": pa.array(returns, pa.float64(), from_pandas=True),
        "index_close": pa.array(index, pa.float64()),
        "is_roll": is_roll if is_roll is not None else [False] * n,
        "updated_at": pa.array([updated_at] * n, pa.timestamp("us", tz="UTC")),
    })


def real_zl(real_data, rows: int | None = None) -> pa.Table:
    """The real ZL closes as a series without rolls: index_close = close."""
    t = pacsv.read_csv(real_data / "ZL_daily_2004_2021.csv")
    t = t.slice(0, rows) if rows else t
    close = t["close"].to_numpy()
    ret = np.concatenate([[np.nan], np.diff(np.log(close))])
    return continuous(t["date"].to_pylist(), "ZL", ["ZL"] * len(close), close, ret, close,
                      volumes=t["volume"].to_pylist())


def rolling_series(n: int = 300, root: str = "ZL", roll_every: int = 60, seed: int = 5,
                   start: dt.date = dt.date(2020, 1, 2), updated_at=T0) -> pa.Table:
    """A series that rolls every `roll_every` rows into a contract priced 3.0 higher."""
    rng = np.random.default_rng(seed)
    walk = 50 + np.cumsum(rng.normal(0, 0.4, n))
    price = lambda k, t: walk[t] + 3.0 * k  # noqa: E731 - contract k's close on row t
    contracts = [t // roll_every for t in range(n)]
    closes = [price(contracts[t], t) for t in range(n)]
    returns = [math.nan] + [math.log(price(contracts[t], t) / price(contracts[t], t - 1))
                            for t in range(1, n)]
    index = [closes[0]]
    for t in range(1, n):
        index.append(index[-1] * math.exp(returns[t]))
    return continuous(trading_days(n, start), root, [f"{root}{k}" for k in contracts], closes,
                      returns, index, is_roll=[t > 0 and t % roll_every == 0 for t in range(n)],
                      updated_at=updated_at)


def fred_rows(series_id, obs_dates, realtime_starts, values, ingested=T0) -> pa.Table:
    n = len(obs_dates)
    return pa.table({
        "series_id": [series_id] * n, "date": pa.array(obs_dates, pa.date32()),
        "realtime_start": pa.array(realtime_starts, pa.date32()),
        "value": pa.array(values, pa.float64()),
        "ingest_timestamp": pa.array([ingested] * n, pa.timestamp("us", tz="UTC")),
    })


def features_of(wh, symbol="ZL") -> pa.Table:
    return wh.query(f"SELECT * FROM {FEATURES} WHERE symbol = @s ORDER BY date", {"s": symbol})


def column(table: pa.Table, name: str) -> np.ndarray:
    return np.array(table.column(name).to_pylist(), dtype=float)


def assert_matches(got: np.ndarray, want: np.ndarray, scale: float) -> None:
    """Equal to TA-Lib wherever TA-Lib has a value, NULL where it has none, to 1e-9 of scale."""
    defined = ~np.isnan(want)
    assert np.isnan(got[~defined]).all(), "values before TA-Lib's warm-up"
    assert not np.isnan(got[defined]).any(), "missing values after warm-up"
    assert np.max(np.abs(got[defined] - want[defined])) <= 1e-9 * scale


def assert_indicators_match_talib(rows: pa.Table, index: np.ndarray) -> None:
    scale = float(np.max(np.abs(index)))
    assert_matches(column(rows, "rsi_14"), talib.RSI(index, 14), 100.0)
    macd, signal, hist = talib.MACD(index, 12, 26, 9)
    for name, want in (("macd", macd), ("macd_signal", signal), ("macd_hist", hist)):
        assert_matches(column(rows, name), want, scale)


# ---- tests ------------------------------------------------------------------------------------
@pytest.fixture
def duck(duckdb_url):
    """An initialised DuckDB warehouse: the detailed cases run here; the emulator (slow) runs
    the one conformance case below on the same SQL."""
    from cbi.warehouse import connect

    wh = connect(duckdb_url)
    wh.init()
    yield wh
    wh.close()


def test_same_features_on_both_engines(warehouse, real_data):
    """Real ZL (1,200 rows: two blocks of the closed form), a rolling CL series and a FRED
    revision, through the whole job on each engine (one horizon keeps the emulator quick)."""
    # one observation, revised a month later: let it stand in that long for this case
    settings = get_settings(horizons=["1w"], fred_max_age_days={"default": 45})
    zl, cl = real_zl(real_data, 1200), rolling_series(120, "CL", start=dt.date(2004, 8, 20))
    warehouse.merge(CONTINUOUS, pa.concat_tables([zl, cl]))
    obs, revised_on = dt.date(2004, 9, 1), dt.date(2004, 10, 1)
    warehouse.merge(FRED, fred_rows("DFF", [obs, obs], [dt.date(2004, 9, 2), revised_on], [1.5, 9.9]))
    features_job(warehouse, settings)
    got = features_of(warehouse)
    assert_indicators_match_talib(got, zl["close"].to_numpy())
    assert_indicators_match_talib(features_of(warehouse, "CL"), cl["index_close"].to_numpy())
    fed = dict(zip(got.column("date").to_pylist(), got.column("fred_fed_funds_rate").to_pylist()))
    assert fed[dt.date(2004, 9, 1)] is None and fed[dt.date(2004, 9, 2)] == 1.5
    assert fed[dt.date(2004, 9, 30)] == 1.5 and fed[dt.date(2004, 10, 1)] == 9.9
    cl_returns = dict(zip(cl["date"].to_pylist(), cl["return_1d"].to_pylist()))
    assert got.column("cl_returns_1d").to_pylist()[:120] == pytest.approx(
        [cl_returns.get(d) for d in got.column("date").to_pylist()[:120]], nan_ok=True)


def test_indicators_match_talib_on_real_zl(duck, real_data):
    warehouse = duck
    data = real_zl(real_data)
    warehouse.merge(CONTINUOUS, data)
    result = features_job(warehouse, get_settings())
    assert result["rows_read"] == data.num_rows
    got = features_of(warehouse)
    assert got.num_rows == data.num_rows
    assert_indicators_match_talib(got, data["close"].to_numpy())
    vol = column(got, "volatility_30d")
    returns = data["return_1d"].to_numpy(zero_copy_only=False)
    assert np.isnan(vol[:30]).all()
    assert vol[30] == pytest.approx(np.std(returns[1:31], ddof=1) * math.sqrt(252), rel=1e-12)


def test_indicators_with_rolls_use_the_index_and_roll_day_returns(duck):
    warehouse = duck
    data = rolling_series(260)
    warehouse.merge(CONTINUOUS, data)
    features_job(warehouse, get_settings())
    got = features_of(warehouse)
    index = data["index_close"].to_numpy()
    assert_indicators_match_talib(got, index)
    # On a roll day the return compares the new contract with its own previous close,
    # not with the old contract's close 3.0 lower.
    roll = data["is_roll"].to_pylist().index(True)
    returns = column(got, "returns_1d")
    assert returns[roll] == pytest.approx(data["return_1d"][roll].as_py(), rel=1e-12)
    closes = data["close"].to_numpy()
    assert abs(returns[roll] - math.log(closes[roll] / closes[roll - 1])) > 0.03
    assert column(got, "databento_close")[roll] == closes[roll]
    assert column(got, "returns_5d")[roll + 2] == pytest.approx(
        math.log(index[roll + 2] / index[roll - 3]), rel=1e-12)
    assert got.column("contract_symbol")[roll].as_py() != got.column("contract_symbol")[roll - 1].as_py()


def test_fred_revision_published_after_a_date_changes_nothing_at_that_date(duck):
    warehouse = duck
    dates = trading_days(40)  # 2020-01-02 .. 2020-02-26
    warehouse.merge(CONTINUOUS, rolling_series(40))
    obs = dt.date(2020, 1, 2)
    warehouse.merge(FRED, fred_rows("DFF", [obs], [dt.date(2020, 1, 3)], [1.5]))
    settings = get_settings(fred_max_age_days={"default": 60})  # one observation for two months
    features_job(warehouse, settings)
    before = features_of(warehouse).column("fred_fed_funds_rate").to_pylist()
    assert before[0] is None  # published the day after: unknown on 2020-01-02
    assert before[1:] == [1.5] * 39
    revised_on = dt.date(2020, 2, 3)
    warehouse.merge(FRED, fred_rows("DFF", [obs], [revised_on], [9.9], ingested=T0 + dt.timedelta(1)))
    result = features_job(warehouse, settings)
    assert result["write_from"] == str(revised_on)  # incremental: only dates from the revision
    after = features_of(warehouse).column("fred_fed_funds_rate").to_pylist()
    assert after == [None if d < dt.date(2020, 1, 3) else 1.5 if d < revised_on else 9.9 for d in dates]


def test_fred_takes_the_latest_observation_known_on_each_date(duck):
    wh = duck
    wh.merge(CONTINUOUS, rolling_series(10))  # 2020-01-02 .. 2020-01-15
    d = dt.date
    wh.merge(FRED, fred_rows("VIXCLS", [d(2020, 1, 2), d(2020, 1, 3), d(2020, 1, 6), d(2020, 1, 7)],
                             [d(2020, 1, 3), d(2020, 1, 6), d(2020, 1, 7), d(2020, 1, 20)],
                             [10.0, 11.0, None, 13.0]))  # 01-06 is "." (NULL): skipped
    wh.merge(FRED, fred_rows("DCOILWTICO", [d(2020, 1, 2)], [d(2020, 1, 2)], [-37.6]))
    features_job(wh, get_settings(fred_max_age_days={"default": 30}))
    got = features_of(wh)
    assert got.column("fred_vix").to_pylist() == [None, 10.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0]
    assert got.column("fred_wti").to_pylist() == [-37.6] * 10


def test_incremental_rebuild_equals_full_rebuild(duck, real_data):
    wh = duck
    data = real_zl(real_data)
    wh.merge(CONTINUOUS, data.slice(0, 3500))
    features_job(wh, get_settings())
    assert features_job(wh, get_settings())["up_to_date"]
    later = data.slice(3500).set_column(
        data.schema.get_field_index("updated_at"), "updated_at",
        pa.array([T0 + dt.timedelta(days=1)] * (data.num_rows - 3500), pa.timestamp("us", tz="UTC")))
    wh.merge(CONTINUOUS, later)
    result = features_job(wh, get_settings())
    assert result["write_from"] == str(data["date"][3500].as_py())
    assert result["rows_read"] == data.num_rows - 3500
    incremental = features_of(wh)
    full = build_rows(wh, dt.date(1, 1, 1), dt.date(9999, 1, 1), "x", T0).sort_by("date")
    for name in ("rsi_14", "macd", "macd_signal", "volatility_30d", "returns_21d"):
        np.testing.assert_allclose(column(incremental, name), column(full, name), rtol=0, atol=1e-9)
    assert_indicators_match_talib(incremental, data["close"].to_numpy())


def test_cross_asset_returns_news_and_full_rebuild(duck):
    wh = duck
    zl, es, cl = rolling_series(30), rolling_series(30, "ES", seed=1), rolling_series(29, "CL", seed=2)
    for t in (zl, es, cl):
        wh.merge(CONTINUOUS, t)
    publish = dt.datetime(2020, 1, 3, 15, 0, tzinfo=UTC)  # 09:00 Chicago: counts for 2020-01-03
    wh.merge("market_data.news_articles", pa.table({
        "url": ["a", "b"], "published_at": pa.array([publish, publish], pa.timestamp("us", tz="UTC")),
        "trading_date": pa.array([dt.date(2020, 1, 3)] * 2, pa.date32()),
        "sentiment_score": [0.5, -0.1]}))
    first = features_job(wh, get_settings(), full=True)
    again = features_job(wh, get_settings(), full=True)
    assert first["rows_written"] and again["feature_hash"] == first["feature_hash"]
    assert wh.row_count(FEATURES) == 89
    got = features_of(wh)
    assert column(got, "es_returns_1d")[1:] == pytest.approx(es["return_1d"].to_numpy(zero_copy_only=False)[1:])
    assert got.column("cl_returns_1d")[29].as_py() is None  # CL has no row that day
    assert got.column("news_count").to_pylist()[:3] == [0, 2, 0]
    assert got.column("news_sentiment_mean")[1].as_py() == pytest.approx(0.2)
    assert column(got, "news_sentiment_mean_5d")[2:6] == pytest.approx([0.2] * 4)
    assert np.isnan(column(got, "news_sentiment_mean_5d")[6])


def test_a_fred_value_older_than_its_max_age_is_null_and_the_gate_says_so(duck, real_data):
    """DFF observed 2004-09-01 (known 09-02) and never again: with a 10-day limit it stands in
    through 2004-09-11 and is NULL from 09-13 (the next trading date after 11 days)."""
    from cbi.quality import run_gates

    settings = get_settings(horizons=["1w"], fred_max_age_days={"default": 10})
    duck.merge(CONTINUOUS, real_zl(real_data, 60))
    duck.merge(FRED, fred_rows("DFF", [dt.date(2004, 9, 1)], [dt.date(2004, 9, 2)], [1.5]))
    features_job(duck, settings)
    got = features_of(duck)
    fed = dict(zip(got.column("date").to_pylist(), got.column("fred_fed_funds_rate").to_pylist()))
    assert fed[dt.date(2004, 9, 10)] == 1.5  # 9 days old
    assert fed[dt.date(2004, 9, 13)] is None  # 12 days old
    report = run_gates(duck, settings, horizons=["1w"], today=dt.date(2005, 1, 1))
    stale = [r for r in report.results if r.gate == "macro inputs within their age"]
    assert not stale[0].ok and stale[0].samples[0]["series_id"] == "DFF"


def test_crush_and_heating_oil_returns_and_the_curve_carry(duck):
    """ZS, ZM and HO (the configurable `feature_roots`) join ZL's rows as returns; carry is
    the annualised log spread of the next delivery over the continuous series' contract."""
    wh = duck
    days = trading_days(5, dt.date(2024, 11, 25))
    n = len(days)
    zl = continuous(days, "ZL", ["ZLZ4"] * 3 + ["ZLF5"] * 2, [40.0, 41, 42, 43, 44],
                    [math.nan, 0.01, 0.02, 0.03, 0.04], [40.0, 41, 42, 43, 44])
    wh.merge(CONTINUOUS, zl)
    zs = continuous(days, "ZS", ["ZSF5"] * n, [1000.0] * n, [math.nan, 0.1, 0.2, 0.3, 0.4], [1000.0] * n)
    ho = continuous(days[:3], "XX", ["XXF5"] * 3, [2.0] * 3, [math.nan, -0.1, -0.2], [2.0] * 3)
    wh.merge(CONTINUOUS, zs)
    wh.merge(CONTINUOUS, ho)

    def bars(symbol, closes):
        return pa.table({
            "date": pa.array(days, pa.date32()), "root": ["ZL"] * n, "symbol": [symbol] * n,
            "open": closes, "high": closes, "low": closes, "close": closes, "volume": pa.array([10] * n, pa.int64()),
            "source": ["file"] * n, "ingest_timestamp": pa.array([T0] * n, pa.timestamp("us", tz="UTC"))})

    wh.merge("market_data.futures_ohlcv_1d", bars("ZLZ4", [40.0, 41, 42, 43, 44]))
    wh.merge("market_data.futures_ohlcv_1d", bars("ZLF5", [40.4, 41.41, 42.42, 43, 44]))
    wh.merge("market_data.futures_ohlcv_1d", bars("ZLH5", [41.0, 42, 43, 43.86, 45.32]))
    wh.merge("market_data.futures_ohlcv_1d", bars("ZLZ4-ZLF5", [0.1] * n))  # a spread: ignored
    settings = get_settings().model_copy(update={"feature_roots": {"heating_oil": "XX"}})
    features_job(wh, settings, full=True)
    got = features_of(wh)
    assert column(got, "zs_returns_1d")[1:] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert column(got, "ho_returns_1d")[1:3] == pytest.approx([-0.1, -0.2])  # the configured root
    assert np.isnan(column(got, "ho_returns_1d")[3]) and np.isnan(column(got, "zm_returns_1d")).all()
    carry = column(got, "carry")
    # Front Z4 (Dec 2024), next F5 (Jan 2025): one month apart, annualised × 12.
    assert carry[:3] == pytest.approx([12 * math.log(40.4 / 40), 12 * math.log(41.41 / 41),
                                       12 * math.log(42.42 / 42)])
    # After the roll the front is F5 and the next H5 (Mar 2025): two months apart.
    assert carry[3:] == pytest.approx([6 * math.log(43.86 / 43), 6 * math.log(45.32 / 44)])
