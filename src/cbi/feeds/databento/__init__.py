"""Databento GLBX.MDP3 bars: Historical polling and backfill, and the Live stream.

- `client`: the official client, retries, the available end, one raw `get_range`.
- `dbn`: DBN records (the layout the sandbox also writes), decoding, records -> Arrow.
- `source`: `DatabentoSource` on the feed seam (`cbi.feeds.base.run_feed`): one root's chunks,
  the roll-up marker before each MERGE, roll-ups and settlements after, then the watermark.
- `live`: the Live stream (`run_live`), backfilling the gap from Historical on each connect;
  each flush of its buffered bars through `run_feed` (`LiveSource`).
- `cost`: what a backfill will cost, asked before anything is fetched.
- here: `poll_job` (the registry's job): every configured root through `run_feed`, each
  isolated from the others.

`poll_job` polls every configured root (parent symbology `ROOT.FUT`: every contract month
and calendar spread) from its watermark in ops.feed_cursors to the dataset's available end.
"""

from __future__ import annotations

import logging
from typing import Any

from cbi.config import Settings
from cbi.feeds.databento import cost as databento_cost
from cbi.feeds.databento.client import (FeedError, _call, _fetch, _plain_http, _utc, api_key,
                                        available_end, check_endpoints, historical, source_of)
from cbi.feeds.databento.dbn import (OHLCV_DTYPE, OHLCV_RTYPES, RTYPE, ZSTD_MAGIC, ZstdReader,
                                     decode_dbn, is_contract, records_array, symbol_map,
                                     to_arrow, unzstd)
from cbi.feeds.databento.live import LiveBuffer, LiveSource, run_live
from cbi.feeds.databento.source import (BACKFILL, FEED, QUARANTINE, SETTLEMENTS, TABLE,
                                        DatabentoSource, RecordsQuarantined, _root_alert,
                                        apply_settlements, backfills,
                                        check_root_name, get_settlements, plan, poll_root,
                                        quarantine, remember_backfill, settlement_rows)
from cbi.feeds import rollups
from cbi.feeds.validate import BarError, bar_limits, root_of
from cbi.secrets import redact, sandbox_mode
from cbi.warehouse.base import Warehouse

__all__ = ["BACKFILL", "FEED", "OHLCV_DTYPE", "OHLCV_RTYPES", "QUARANTINE", "RTYPE",
           "SETTLEMENTS", "TABLE", "ZSTD_MAGIC", "DatabentoSource", "FeedError", "LiveBuffer",
           "LiveSource",
           "RecordsQuarantined", "ZstdReader", "api_key", "apply_settlements",
           "available_end", "backfills", "check_endpoints", "check_root_name", "decode_dbn",
           "get_settlements", "historical", "is_contract", "plan", "poll_job", "poll_root",
           "quarantine", "records_array", "remember_backfill", "root_of", "run_live",
           "settlement_rows", "source_of", "symbol_map", "to_arrow", "unzstd", "_call",
           "_fetch", "_plain_http", "_utc"]

log = logging.getLogger(__name__)


def poll_job(wh: Warehouse, settings: Settings, **options: Any) -> dict[str, Any]:
    """Poll every configured root from its watermark to the available end (see module doc).
    Options: start, end (datetimes or ISO strings), roots, progress (a callable(str)).

    A backfill (`start` given) is remembered per root in ops.feed_cursors (feed
    `databento-backfill`) before anything is fetched, its progress moved after each commit,
    and dropped when the root has reached its end: a run without `start` first finishes every
    pending backfill, so a killed backfill resumed with `--end` alone loses nothing.
    One root's bad records are quarantined and that root stops (its watermark stays before
    the batch); the other roots proceed, `errors` (root -> message) says what failed, and an
    alert (job_failed, subject databento:ROOT) stays open until that root next succeeds."""
    check_endpoints(settings)
    finished = rollups.finish_pending(wh)
    client = historical(settings)
    end = available_end(client, settings)
    if options.get("end"):
        end = min(end, _utc(options["end"]))
    roots = [check_root_name(r) for r in (options.get("roots") or settings.roots)]
    start = _utc(options["start"]) if options.get("start") else None
    if start is not None:  # a backfill: quoted and capped before anything is fetched
        quoted = databento_cost.quote(client, settings, roots, start, end, _call)
        said = databento_cost.check(quoted, settings, roots, start, end)
        log.info("%s", said)
        if options.get("progress"):
            options["progress"](said)
        for root in roots:  # remembered before any fetch: a kill cannot lose the request
            remember_backfill(wh, root, start, end)
    limits = bar_limits(settings)
    totals: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "requests": 0, "roots": {},
                              "errors": {}, "rollups_finished": finished}
    for root in roots:
        counts: dict[str, Any]
        try:
            counts = poll_root(wh, client, settings, root, end, None, options.get("progress"),
                               limits=limits)
        except BarError as exc:  # isolation: this root stops, the others proceed
            log.error("databento %s: %s", root, redact(str(exc)))
            counts = {"rows_read": 0, "rows_written": 0, "requests": 0,
                      **getattr(exc, "counts", {}), "error": redact(str(exc))}
            totals["errors"][root] = counts["error"]
            _root_alert(wh, settings, root, counts["error"])
        else:
            _root_alert(wh, settings, root, None)
        totals["roots"][root] = counts
        for key in ("rows_read", "rows_written", "requests"):
            totals[key] += counts[key]
    totals["simulated"] = sandbox_mode(settings)
    return totals


