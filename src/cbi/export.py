"""Parquet export of the training tables, behind the quality gates.

`settings.export_dir / zl_training_{surface}_allhistory_{horizon}.parquet`: every column of
the training table, one row per date, zstd. A file is written to a temp name beside it and
renamed over the old one, so a reader sees the old file or the new one, never half a file.
Its metadata carries the feature_hash, the input watermarks and the row count. From BigQuery
the rows arrive as Arrow through the Storage Read API (`Warehouse.query`), not row by row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cbi.config import SURFACES
from cbi.quality import QualityReport, run_gates
from cbi.transform.training import training_table
from cbi.warehouse import Warehouse, catalog

if TYPE_CHECKING:
    from cbi.config import Settings

SQL = "cbi.transform.sql"
META_KEY = b"cbi"  # one JSON document under this key of the Parquet footer
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ROW_GROUP = 64_000


class QualityGateError(RuntimeError):
    """The gates failed: nothing was exported. `report` says which and shows sample rows."""

    def __init__(self, report: QualityReport) -> None:
        super().__init__(f"export refused by the quality gates: {report.summary()}")
        self.report = report


def export_path(settings: Settings, surface: str, horizon: str) -> Path:
    return catalog.export_path(settings.export_dir, surface, horizon)


def export_job(wh: Warehouse, settings: Settings, **options: Any) -> dict[str, Any]:
    """Gate, then export every surface x horizon. Options: `surfaces`, `horizons`, `start`,
    `end`, `progress` (a callable(step): after the gates, then after each file). Raises
    QualityGateError (and writes nothing) when a gate fails."""
    step = options.get("progress") or (lambda label: None)
    surfaces = list(options.get("surfaces") or SURFACES)
    horizons = list(options.get("horizons") or settings.horizons)
    start, end = options.get("start"), options.get("end")
    pairs = [(s, h) for s in surfaces for h in horizons]
    previous = {training_table(s, h): read_metadata(export_path(settings, s, h)).get("row_count")
                for s, h in pairs if start is None and end is None}
    report = run_gates(wh, settings, surfaces=surfaces, horizons=horizons,
                       previous_counts={k: v for k, v in previous.items() if v is not None})
    if not report.ok:
        raise QualityGateError(report)
    step("quality gates passed")
    out: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "files": []}
    for surface, horizon in pairs:
        result = export_table(wh, training_table(surface, horizon),
                              export_path(settings, surface, horizon), start, end)
        step(f"{surface} {horizon} written")
        out["rows_read"] += result["rows_read"]
        out["rows_written"] += result["rows_written"]
        out["files"].append(result)
    return out


def export_table(wh: Warehouse, table: str, path: Path, start: Any = None,
                 end: Any = None) -> dict[str, Any]:
    """Write one table's file: only the rows written since the last export when that is
    all that changed (and no date range is asked), else every row."""
    lo, hi = _date(start) or dt.date(1, 1, 1), _date(end) or dt.date(9999, 12, 31)
    previous = read_metadata(path)
    since = previous.get("max_created_at") if start is None and end is None else None
    if since:
        rows, fresh = incremental_rows(wh, table, path, dt.datetime.fromisoformat(since))
    else:
        rows = fresh = select_rows(wh, table, lo, hi, EPOCH)
    if since and fresh.num_rows == 0 and rows.num_rows == previous.get("row_count"):
        return {"table": table, "path": str(path), "rows_read": 0, "rows_written": 0,
                "mode": "unchanged"}
    write_atomic(rows, path, metadata(wh, table, rows, lo, hi))
    mode = "incremental" if since and rows is not fresh else "full"
    return {"table": table, "path": str(path), "rows_read": fresh.num_rows,
            "rows_written": rows.num_rows, "mode": mode}


def incremental_rows(wh: Warehouse, table: str, path: Path,
                     since: dt.datetime) -> tuple[pa.Table, pa.Table]:
    """The previous file with the rows rewritten since `since` replaced; every row again when
    that does not add up to the table's row count (rows were deleted)."""
    lo, hi = dt.date(1, 1, 1), dt.date(9999, 12, 31)
    fresh = select_rows(wh, table, lo, hi, since)
    old = pq.read_table(path)
    if old.schema.names != fresh.schema.names:
        return (every := select_rows(wh, table, lo, hi, EPOCH)), every
    keep = pc.invert(pc.is_in(old.column("date"), value_set=fresh.column("date").combine_chunks()))
    rows = pa.concat_tables([old.filter(keep), fresh.cast(old.schema)]).sort_by("date")
    if rows.num_rows != wh.row_count(table):
        return (every := select_rows(wh, table, lo, hi, EPOCH)), every
    return rows, fresh


def select_rows(wh: Warehouse, table: str, lo: dt.date, hi: dt.date,
                since: dt.datetime) -> pa.Table:
    return wh.query_file(SQL, "training_export.sql", {"start": lo, "end": hi, "since": since},
                         table=table)


def metadata(wh: Warehouse, table: str, rows: pa.Table, lo: dt.date, hi: dt.date) -> dict:
    from cbi.transform.features import previous_watermarks

    created = pc.max(rows.column("created_at")).as_py() if rows.num_rows else None
    latest = rows.filter(pc.equal(rows.column("created_at"), created)) if created else rows
    hashes = latest.column("feature_hash").unique().to_pylist() if latest.num_rows else []
    return {
        "table": table, "row_count": rows.num_rows,
        "feature_hash": hashes[0] if len(hashes) == 1 else ",".join(sorted(map(str, hashes))),
        "watermarks": previous_watermarks(wh),
        "max_created_at": created.isoformat() if created else None,
        "date_range": [str(lo), str(hi)],
        "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "warehouse": wh.engine,
    }


def write_atomic(rows: pa.Table, path: Path, meta: dict[str, Any]) -> None:
    """Temp file beside the target, fsync, rename over it: never half a file at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = rows.schema.with_metadata({**(rows.schema.metadata or {}),
                                        META_KEY: json.dumps(meta).encode()})
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in rows.cast(schema).to_batches(max_chunksize=ROW_GROUP):
                writer.write_table(pa.Table.from_batches([batch], schema))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata of an export file ({} when there is none or it is not ours)."""
    if not path.exists():
        return {}
    raw = (pq.read_schema(path).metadata or {}).get(META_KEY)
    return json.loads(raw) if raw else {}


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
