"""An in-process TTL cache of encoded JSON bodies, with ETags and HTTP caching headers.

The dashboard's data changes every few minutes at most while many viewers ask for the same
routes, so each (route, parameters) pair is queried once per TTL and every other request is
answered from memory by the async handler, without touching a thread or the warehouse.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Hashable, Mapping

from starlette.requests import Request
from starlette.responses import Response


GZIP_MIN_BYTES = 2048  # smaller bodies go out as they are


@dataclass(frozen=True)
class Entry:
    body: bytes
    etag: str
    expires: float  # deadline on the cache's clock (monotonic seconds)
    gzipped: bytes | None = None  # the body gzipped once, for clients that accept it

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'


def make_entry(body: bytes, expires: float) -> Entry:
    """An entry with its ETag and, for a large body, its gzipped form (compressed once per
    fill, not per request)."""
    zipped = gzip.compress(body, 5, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
    return Entry(body, etag_of(body), expires, zipped)


def accepts_gzip(accept_encoding: str | None) -> bool:
    return accept_encoding is not None and "gzip" in accept_encoding.lower()


def _plain(value: Any) -> Any:
    """JSON-safe values: ISO dates, UTC timestamps with Z, NaN/inf as null."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _scalar(value: Any) -> Any:
    """`json`'s `default` hook: the non-JSON scalars the queries return (dates, timestamps)."""
    if type(value) is dt.date:
        return value.isoformat()
    if isinstance(value, dt.date):
        return _plain(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode(payload: Any) -> bytes:
    """Compact JSON. Fast path: the C encoder, calling `_scalar` only for dates and timestamps;
    a NaN or infinity anywhere (refused by allow_nan=False) falls back to the walk in `_plain`."""
    try:
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False, default=_scalar)
    except ValueError:
        text = json.dumps(_plain(payload), separators=(",", ":"), allow_nan=False)
    return text.encode()


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison: `*`, a list, and W/ prefixes all count."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag in tags


class ResponseCache:
    """TTL cache keyed by (route, params); one query in flight per key (no stampede)."""

    def __init__(self, ttl_seconds: int, max_entries: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = max(0, int(ttl_seconds))
        self.clock = clock
        self.max_entries = max_entries  # `since=` makes keys open-ended: bound the memory
        self._entries: dict[Hashable, Entry] = {}
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self.misses = 0

    @property
    def cache_control(self) -> str:
        if self.ttl == 0:
            return "no-cache"
        return f"public, s-maxage={self.ttl}"

    def _fresh(self, key: Hashable) -> Entry | None:
        entry = self._entries.get(key)
        return entry if entry is not None and entry.expires > self.clock() else None

    async def get(self, key: Hashable, produce: Callable[[], Awaitable[Any]]) -> Entry:
        if self.ttl == 0:  # caching off: every request queries
            self.misses += 1  # used once: compressing would not pay for itself
            body = encode(await produce())
            return Entry(body, etag_of(body), 0.0)
        entry = self._fresh(key)
        if entry is not None:
            return entry
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._fresh(key)  # another request filled it while this one waited
            if entry is not None:
                return entry
            self.misses += 1
            entry = make_entry(encode(await produce()), self.clock() + self.ttl)
            self._store(key, entry)
            return entry

    def _store(self, key: Hashable, entry: Entry) -> None:
        if len(self._entries) >= self.max_entries:
            now = self.clock()
            for old in [k for k, e in self._entries.items() if e.expires <= now]:
                del self._entries[old]
            while len(self._entries) >= self.max_entries:  # still full: drop the oldest
                del self._entries[next(iter(self._entries))]
            for old in [k for k, lock in self._locks.items()
                        if k not in self._entries and not lock.locked()]:
                del self._locks[old]
        self._entries[key] = entry

    def remember_url(self, request: Request, entry: Entry) -> None:
        """Also file the entry under its raw URL, so `CacheHits` answers repeats before routing."""
        if self.ttl:
            self._store(url_key(request.scope), entry)

    def respond(self, request: Request, entry: Entry) -> Response:
        status, body, headers = answer(entry, request.headers.get("if-none-match"),
                                       request.headers.get("accept-encoding"), self.cache_control)
        if status == 304:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    def clear(self) -> None:
        self._entries.clear()


def answer(entry: Entry, if_none_match: str | None, accept_encoding: str | None,
           cache_control: str) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) for a cached entry: 304 when the client's ETag matches, the
    gzipped body (with its own ETag) when the client accepts it and the body is large."""
    zipped = entry.gzipped is not None and accepts_gzip(accept_encoding)
    etag = entry.gzip_etag if zipped else entry.etag
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if entry.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if etag_matches(if_none_match, entry.etag) or (
            entry.gzipped is not None and etag_matches(if_none_match, entry.gzip_etag)):
        return 304, b"", headers
    if zipped and entry.gzipped is not None:  # (zipped implies a gzipped body)
        headers["Content-Encoding"] = "gzip"
        return 200, entry.gzipped, headers
    return 200, entry.body, headers


def url_key(scope: Mapping[str, Any]) -> tuple:
    return ("url", scope["path"], scope.get("query_string", b""))


class CacheHits:
    """ASGI middleware: a GET whose exact URL has a fresh entry is answered here, without
    routing or parameter parsing (the route validated it when it filled the entry)."""

    def __init__(self, app: Any, cache: ResponseCache) -> None:
        self.app, self.cache = app, cache

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        entry = None
        if scope["type"] == "http" and scope["method"] == "GET" and self.cache.ttl:
            entry = self.cache._fresh(url_key(scope))
        if entry is None:
            await self.app(scope, receive, send)
            return
        if_none_match = accept_encoding = None
        for k, v in scope["headers"]:
            if k == b"if-none-match":
                if_none_match = v.decode("latin-1")
            elif k == b"accept-encoding":
                accept_encoding = v.decode("latin-1")
        status, body, extra = answer(entry, if_none_match, accept_encoding, self.cache.cache_control)
        headers = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        if status == 200:
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
