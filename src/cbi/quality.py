"""Data-quality gates: run before every export and by `cbi verify --data`.

The market gates come first: 1-minute bars without their daily bar, or a roll-up marker
left by a killed run, mean the derived tables are behind their inputs.

Each gate is a query (`transform/sql/*_check_*.sql`) that returns the offending rows, at
most five: no rows means the gate passes, and the rows it returns are the report's samples.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from cbi.config import HORIZONS, SURFACES
from cbi.warehouse import Warehouse

if TYPE_CHECKING:
    from cbi.config import Settings

SQL = "cbi.transform.sql"
FEATURES = "features.curated_features_daily"
MINUTES = "market_data.databento_futures_ohlcv_1m"
DAILY = "market_data.futures_ohlcv_1d"

#: gate name -> SQL file; every table gets these (features and training alike).
TABLE_GATES = {
    "unique keys": "training_check_duplicate_keys.sql",
    "no NULL keys": "training_check_null_keys.sql",
    "trading calendar": "training_check_calendar.sql",
    "value ranges": "training_check_ranges.sql",
}


@dataclass
class GateResult:
    gate: str
    table: str
    ok: bool
    detail: str = ""
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class QualityReport:
    results: list[GateResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[GateResult]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> str:
        """One line per failed gate, for an error message."""
        return "; ".join(f"{r.table}: {r.gate} ({r.detail})" for r in self.failed)


def run_gates(wh: Warehouse, settings: Settings, *, surfaces: Iterable[str] = SURFACES,
              horizons: Iterable[str] | None = None,
              previous_counts: dict[str, int] | None = None,
              today: dt.date | None = None) -> QualityReport:
    """Every gate over the features table and the chosen training tables.

    `previous_counts`: table -> rows in its last export; fewer rows now fails the gate."""
    from cbi.transform.training import training_table

    today = today or dt.datetime.now(dt.timezone.utc).date()
    report = QualityReport()
    report.results += market_gates(wh)
    report.results += table_gates(wh, settings, FEATURES)
    report.results.append(gate(wh, "freshness", FEATURES, "features_check_freshness.sql", {},
                               "features stop before their input series"))
    report.results.append(gate(wh, "no future inputs", "inputs", "features_check_future_inputs.sql",
                               {"today": today}, f"rows dated after {today}"))
    report.results.append(gate(wh, "macro inputs within their age", FEATURES,
                               "features_check_macro_age.sql", macro_age_params(settings),
                               "a FRED series older than fred_max_age_days at the last date"))
    for horizon in horizons or settings.horizons:
        for surface in surfaces:
            table = training_table(surface, horizon)
            report.results += table_gates(wh, settings, table)
            report.results.append(gate(
                wh, "targets after date, aligned", table, "training_check_targets.sql",
                {"horizon_days": HORIZONS[horizon]}, f"targets not {HORIZONS[horizon]} rows later",
                table=table))
            report.results.append(row_count_gate(wh, table, (previous_counts or {}).get(table)))
    return report


def market_gates(wh: Warehouse) -> list[GateResult]:
    """Derived market tables follow their inputs: no minute without its daily bar, no
    roll-up left pending by a killed run (`cbi.feeds.rollups`; the next feed command
    finishes it)."""
    return [
        gate(wh, "minutes rolled up to daily bars", MINUTES, "market_check_minutes_rolled_up.sql",
             {}, "1-minute bars without their daily bar (an unfinished roll-up)"),
        gate(wh, "no pending roll-up", DAILY, "market_check_pending_rollups.sql", {},
             "a roll-up left unfinished by an interrupted run; the next feed command finishes it"),
    ]


def macro_age_params(settings: Settings) -> dict[str, int]:
    from cbi.transform.features import max_age_params

    return max_age_params(settings.fred_max_age_days)


def table_gates(wh: Warehouse, settings: Settings, table: str) -> list[GateResult]:
    params: dict[str, dict[str, Any]] = {
        "trading calendar": {"max_gap_days": settings.quality_max_gap_days},
        "value ranges": {"target_root": settings.target_root}}
    details = {"unique keys": "duplicate (date, symbol)", "no NULL keys": "NULL date or symbol",
               "trading calendar": f"weekend date or gap over {settings.quality_max_gap_days} days",
               "value ranges": "RSI outside [0, 100], volatility < 0 or price <= 0"}
    return [gate(wh, name, table, sql, params.get(name, {}), details[name], table=table)
            for name, sql in TABLE_GATES.items()]


def gate(wh: Warehouse, name: str, subject: str, sql_file: str, params: dict[str, Any],
         failure: str, **identifiers: str) -> GateResult:
    """Run one check query about `subject` (a table, or "inputs"); its rows are the failures."""
    rows = wh.query_file(SQL, sql_file, params, **identifiers).to_pylist()
    return GateResult(name, subject, not rows, failure if rows else "", rows)


def row_count_gate(wh: Warehouse, table: str, previous: int | None) -> GateResult:
    now = wh.row_count(table)
    ok = previous is None or now >= previous
    detail = "" if ok else f"{now} rows, fewer than the {previous} of the last export"
    return GateResult("row count vs last export", table, ok, detail,
                      [] if ok else [{"rows_now": now, "rows_last_export": previous}])


def print_report(report: QualityReport, console) -> None:
    """A table of every gate; each failure names its check and shows sample rows."""
    from rich.table import Table

    table = Table("table", "gate", "ok", "detail", title="data-quality gates")
    for r in report.results:
        table.add_row(r.table, r.gate, "[green]ok[/]" if r.ok else "[red]FAIL[/]", r.detail)
    console.print(table)
    for r in report.failed:
        console.print(f"[red]{r.table}: {r.gate}[/] — sample rows:")
        for row in r.samples:
            console.print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), highlight=False)
    passed = len(report.results) - len(report.failed)
    console.print(f"{passed} of {len(report.results)} gates passed")
