"""FRED observations with every vintage (ALFRED real-time periods), and FRED CSV downloads.

- `client`: `/fred/series/observations` over httpx, paged, with backoff; the key redacted.
- `source`: `FredSource` on the feed seam (`cbi.feeds.base.run_feed`), `fred_job` (the
  registry's job), `normalize`, and `as_of` (what was known on a date; `fred_as_of.sql`).
- `files`: the CSV file import (`cbi ingest fred-files`).
"""

from __future__ import annotations

from cbi.feeds.fred.client import (OBSERVATIONS, PAGE_LIMIT, REALTIME_END, REALTIME_START,
                                   FredClient, FredError, fred_client, fred_error)
from cbi.feeds.fred.source import (FEED, TABLE, FredSource, as_of, fred_job, normalize,
                                   parse_date, parse_value, provenance)

__all__ = ["FEED", "OBSERVATIONS", "PAGE_LIMIT", "REALTIME_END", "REALTIME_START", "TABLE",
           "FredClient", "FredError", "FredSource", "as_of", "fred_client", "fred_error",
           "fred_job", "normalize", "parse_date", "parse_value", "provenance"]
