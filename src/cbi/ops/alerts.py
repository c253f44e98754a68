"""Alerts: a failed job, a stale feed, a failed quality gate.

Each goes to the log, to an optional Slack-compatible webhook (JSON `{"text": …}` POST), and
into `ops.alerts`. One alert stays open per kind + subject: while it is open the same problem
only moves `last_seen_at`, so a feed stale for a day notifies once, not 288 times.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from cbi import calendar
from cbi.secrets import get_secret, redact

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)
ALERTS = "ops.alerts"
UTC = dt.timezone.utc
#: How far back the freshness check looks: older than this is stale whenever the market is
#: open (`calendar.open_minutes_between` counts at most 14 days too), so no check scans more.
FRESHNESS_WINDOW = dt.timedelta(days=14)
KINDS = ("job_failed", "job_abandoned", "stale_feed", "quality_gate")

_SCHEMA = pa.schema([
    ("alert_id", pa.string()), ("kind", pa.string()), ("subject", pa.string()),
    ("message", pa.string()), ("status", pa.string()),
    ("opened_at", pa.timestamp("us", tz="UTC")), ("last_seen_at", pa.timestamp("us", tz="UTC")),
    ("resolved_at", pa.timestamp("us", tz="UTC")), ("notified", pa.bool_()),
])


def _open(wh: Warehouse, kind: str, subject: str) -> dict | None:
    rows = wh.query_file("cbi.ops.sql", "open_alert.sql", {"kind": kind, "subject": subject})
    return rows.to_pylist()[0] if rows.num_rows else None


def raise_alert(wh: Warehouse, settings: Settings, kind: str, subject: str, message: str,
                now: dt.datetime | None = None) -> bool:
    """Open an alert, or touch the open one; True when this call opened (and notified) it."""
    now = now or dt.datetime.now(UTC)
    message = redact(message)
    existing = _open(wh, kind, subject)
    if existing:
        _save(wh, {**existing, "last_seen_at": now, "message": message})
        return False
    log.warning("ALERT %s %s: %s", kind, subject, message)
    notified = notify(settings, f":rotating_light: cbi {kind} — {subject}: {message}")
    _save(wh, {"alert_id": uuid.uuid4().hex, "kind": kind, "subject": subject,
               "message": message, "status": "open", "opened_at": now, "last_seen_at": now,
               "resolved_at": None, "notified": notified})
    return True


def _save(wh: Warehouse, alert: dict) -> None:
    wh.merge(ALERTS, pa.Table.from_pylist([alert], schema=_SCHEMA))


def resolve_alert(wh: Warehouse, kind: str, subject: str, now: dt.datetime | None = None) -> bool:
    """Close the open alert of a kind + subject, if any; True when one was closed."""
    existing = _open(wh, kind, subject)
    if not existing:
        return False
    _save(wh, {**existing, "status": "resolved", "resolved_at": now or dt.datetime.now(UTC)})
    log.info("alert %s %s resolved", kind, subject)
    return True


def open_alerts(wh: Warehouse) -> list[dict]:
    return wh.query_file("cbi.ops.sql", "open_alerts.sql").to_pylist()


def webhook_url(settings: Settings) -> str | None:
    return settings.alert_webhook_url or get_secret("ALERT_WEBHOOK_URL")


def notify(settings: Settings, text: str) -> bool:
    """POST to the webhook; a failing webhook is logged, never fatal (the alert stays recorded)."""
    url = webhook_url(settings)
    if not url:
        return False
    import httpx

    try:
        httpx.post(url, json={"text": redact(text)}, timeout=10).raise_for_status()
        return True
    except httpx.HTTPError as exc:
        log.error("alert webhook failed: %s", redact(f"{type(exc).__name__}: {exc}"))
        return False


# ---- staleness ------------------------------------------------------------------------------
@dataclass
class Freshness:
    feed: str
    subject: str
    last_at: dt.datetime | None
    open_minutes_since: float | None  # market minutes since the last bar (None: not a market feed)
    stale: bool
    note: str = ""
    written_at: dt.datetime | None = None  # when the feed's rows were last written


def feed_times(wh: Warehouse, now: dt.datetime) -> list[dict]:
    """Per feed and subject: the newest observation and the last write, in one query that
    reads minute bars from `now - FRESHNESS_WINDOW` only (the staleness rule and `cbi
    status` both answer from it)."""
    return wh.query_file("cbi.ops.sql", "freshness_observed.sql",
                         {"floor": now - FRESHNESS_WINDOW}).to_pylist()


def freshness(wh: Warehouse, settings: Settings, now: dt.datetime | None = None) -> list[Freshness]:
    """Per root: the newest bar and whether the market has been open long enough without one;
    then FRED and news with their newest observation (they publish on their own calendars)."""
    now = now or dt.datetime.now(UTC)
    times = feed_times(wh, now)
    bars = {r["subject"]: r for r in times if r["feed"] == "databento"}
    out = []
    for root in settings.roots:
        row = bars.get(root, {})
        out.append(_bar_freshness(root, row.get("observed_at"), now, settings.stale_after_minutes))
        out[-1].written_at = row.get("written_at")
    for row in times:
        if row["feed"] != "databento":
            out.append(Freshness(row["feed"], row["subject"], row["observed_at"], None, False,
                                 "publishes on its own calendar", row["written_at"]))
    return out


def _bar_freshness(root: str, last_at: dt.datetime | None, now: dt.datetime,
                   limit: int) -> Freshness:
    is_open = calendar.is_open(root, now)
    if last_at is None:
        return Freshness("databento", root, None, None, is_open,
                         f"no bar in the last {FRESHNESS_WINDOW.days} days")
    minutes = calendar.open_minutes_between(root, last_at, now)
    stale = is_open and minutes > limit
    note = "market open" if is_open else "market closed"
    return Freshness("databento", root, last_at, round(minutes, 1), stale, note)


def check_staleness(wh: Warehouse, settings: Settings,
                    now: dt.datetime | None = None) -> list[Freshness]:
    """Raise an alert for each stale feed, resolve it once bars flow again."""
    now = now or dt.datetime.now(UTC)
    report = freshness(wh, settings, now)
    for f in report:
        if f.feed != "databento":
            continue
        if f.stale:
            raise_alert(wh, settings, "stale_feed", f"databento {f.subject}",
                        f"no new {f.subject} bar for {f.open_minutes_since} market minutes "
                        f"(limit {settings.stale_after_minutes}); last {f.last_at}", now)
        else:
            resolve_alert(wh, "stale_feed", f"databento {f.subject}", now)
    return report
