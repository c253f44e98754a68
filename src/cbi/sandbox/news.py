"""A local stand-in for NewsAPI's `/v2/everything`: simulated soybean-oil headlines.

Deterministic in `seed`: `articles_per_day` (on average) per calendar day from 60 days before
`now` up to `now`, each from a template whose price direction is known, published at a
seeded time of day. A few URLs are served twice (syndication), so clients must dedupe.
Behaves like the developer plan: pageSize at most 100, results beyond the 100th give 426
`maximumResultsReached`, the key must be `SANDBOX_KEY` (X-Api-Key header or apiKey) or 401
`apiKeyInvalid`, a missing `q` gives 400 `parametersMissing`.
Faults (`fail_429`, `fail_500`, `malformed`, `retry_after_s`) as in `json_server`.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import lru_cache
from typing import Any

from cbi.sandbox.json_server import ApiError, Faults, JsonServer
from cbi.secrets import SANDBOX_KEYS

SANDBOX_KEY = SANDBOX_KEYS["NEWSAPI_KEY"]  # the fixed fake key (defined once in cbi.secrets)
MAX_RESULTS = 100
DAYS = 60
SOURCE = "Sandbox Wire (simulated)"
UTC = dt.timezone.utc

#: (headline, description): the direction each implies for soybean oil is plain to a trader.
TEMPLATES: tuple[tuple[str, str], ...] = (
    ("Soybean oil futures rally on strong biofuel demand", "Renewable diesel makers keep buying."),
    ("Soybean oil prices plunge as palm oil glut deepens", "Malaysian stocks build again."),
    ("Drought cuts soybean crop in Argentina", "Dryness persists across the pampas."),
    ("Bumper Brazil soybean harvest pressures prices", "Record crop expected."),
    ("Soyoil futures tumble after EPA proposes lower biofuel volumes", "Traders had hoped for more."),
    ("Soybean oil climbs to three-month high", "Funds add to long positions."),
    ("Soybean oil slips in quiet trade", "Volume thin ahead of the holiday."),
    ("Palm oil output surges, weighing on vegetable oils", "Production rose for a fourth month."),
    ("China boosts purchases of US soybeans", "Export sales jump."),
    ("Soybean oil steady ahead of USDA report", "Analysts expect little change."),
)


@lru_cache(maxsize=8)
def articles(seed: int, day: dt.date, per_day: int) -> tuple[dict, ...]:
    """The day's simulated articles (the same for a seed and day, whatever the time now)."""
    rng = random.Random(seed * 7919 + day.toordinal())
    out = []
    for n in range(rng.randint(max(per_day - 2, 0), per_day + 2)):
        title, description = TEMPLATES[rng.randrange(len(TEMPLATES))]
        published = dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(seconds=rng.randrange(86_400))
        url = f"https://news.sandbox.invalid/{day.isoformat()}/{n}"
        out.append({
            "source": {"id": None, "name": SOURCE}, "author": "Sandbox Desk",
            "title": title, "description": description, "url": url,
            "urlToImage": None, "publishedAt": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "content": (f"{title}. {description} " + "Simulated text. " * 20)[:200] + "… [+1200 chars]",
        })
        if rng.random() < 0.1:  # syndicated: the same URL again
            out.append(dict(out[-1]))
    return tuple(out)


class NewsServer(JsonServer):
    def __init__(self, host: str, port: int, faults: Faults, seed: int, per_day: int,
                 now: dt.datetime | None) -> None:
        super().__init__(host, port, faults)
        self.seed, self.per_day, self._now = seed, per_day, now

    @property
    def now(self) -> dt.datetime:
        return self._now or dt.datetime.now(UTC)

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"status": "error", "code": error.code, "message": error.message}

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if path != "/v2/everything":
            raise ApiError(404, "notFound", "Not found.")
        key = headers.get("X-Api-Key") or headers.get("x-api-key") or params.get("apiKey")
        if key != SANDBOX_KEY:
            raise ApiError(401, "apiKeyInvalid", "Your API key is invalid or incorrect. Check "
                           "your key, or go to https://newsapi.org to create a free API key.")
        if not params.get("q"):
            raise ApiError(400, "parametersMissing", "Required parameters are missing. Please set "
                           "any of the following parameters and try again: q, qInTitle, sources, domains.")
        page_size, page = _int(params, "pageSize", 100, 1, 100), _int(params, "page", 1, 1, 10_000)
        if (page - 1) * page_size >= MAX_RESULTS:
            raise ApiError(426, "maximumResultsReached", "You have requested too many results. "
                           "Developer accounts are limited to a max of 100 results.")
        found = self._search(_time(params, "from", self.now - dt.timedelta(days=DAYS)),
                             _time(params, "to", self.now))
        return 200, {"status": "ok", "totalResults": len(found),
                     "articles": found[(page - 1) * page_size: page * page_size]}

    def _search(self, start: dt.datetime, end: dt.datetime) -> list[dict]:
        first = max(start, self.now - dt.timedelta(days=DAYS)).date()
        found = []
        for k in range((min(end, self.now).date() - first).days + 1):
            for a in articles(self.seed, first + dt.timedelta(days=k), self.per_day):
                t = _parse(a["publishedAt"])
                if start <= t <= end and t <= self.now:
                    found.append(a)
        return sorted(found, key=lambda a: a["publishedAt"], reverse=True)


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _time(params: dict[str, str], name: str, default: dt.datetime) -> dt.datetime:
    if name not in params:
        return default
    try:
        t = _parse(params[name])
    except ValueError:
        raise ApiError(400, "parameterInvalid", f"The '{name}' parameter is not a valid ISO 8601 time.") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _int(params: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise ApiError(400, "parameterInvalid", f"The '{name}' parameter must be an integer.") from None
    if not lo <= value <= hi:
        raise ApiError(400, "parameterInvalid", f"The '{name}' parameter must be {lo}-{hi}.")
    return value


def start(seed: int = 7, host: str = "127.0.0.1", port: int = 0, articles_per_day: int = 6,
          now: dt.datetime | None = None, **faults: Any) -> NewsServer:
    """Start the NewsAPI stand-in in a background thread; `.url` is usable as news_base_url."""
    return NewsServer(host, port, Faults(**{'retry_after_s': 0, **faults}), seed, articles_per_day, now).start_thread()
