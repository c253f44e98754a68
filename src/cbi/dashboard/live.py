"""Live prices within seconds: one poller per root, shared by every viewer of the stream.

While a root has at least one subscriber, its poller asks the warehouse every
`live_poll_seconds` for the newest bar and the newest write (`live_mark.sql`, one cheap
query); when either moved it reads the live panel once and wakes every subscriber, which
sends it as a server-sent event. With no subscriber left, the poller stops.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

import anyio

from cbi.dashboard import data
from cbi.dashboard.cache import encode

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)


@dataclass
class Topic:
    root: str
    version: int = 0
    body: bytes = b""
    mark: tuple | None = None
    subscribers: int = 0
    task: asyncio.Task | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    error: str | None = None


class LiveHub:
    def __init__(self, wh: Warehouse, settings: Settings, clock: Callable[[], dt.datetime],
                 limiter: anyio.CapacityLimiter, poll_s: float,
                 simulated: Callable[[], bool] | None = None) -> None:
        self.wh, self.settings, self.clock, self.limiter = wh, settings, clock, limiter
        self.poll_s = max(0.05, float(poll_s))
        self.simulated = simulated or (lambda: False)
        self.topics: dict[str, Topic] = {}
        self.polls = 0

    def _read(self, topic: Topic, force: bool) -> bytes | None:
        """In a worker thread: the panel's JSON when the mark moved (or `force`), else None."""
        now = self.clock()
        self.polls += 1
        mark = data.live_mark(self.wh, topic.root, now)
        if not force and mark == topic.mark:
            return None
        topic.mark = mark
        panel = data.live_panel(self.wh, self.settings, topic.root, now)
        panel["simulated"] = panel["simulated"] or self.simulated()
        return encode(panel)

    async def _refresh(self, topic: Topic, force: bool = False) -> None:
        try:
            body = await anyio.to_thread.run_sync(self._read, topic, force, limiter=self.limiter)
            topic.error = None
        except Exception as exc:  # noqa: BLE001 - a bad poll must not end the stream
            log.warning("live poll for %s failed: %s", topic.root, exc)
            topic.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return
        if body is not None:
            async with topic.changed:
                topic.body, topic.version = body, topic.version + 1
                topic.changed.notify_all()

    async def _poll(self, topic: Topic) -> None:
        await self._refresh(topic, force=True)  # a (re)started poller reads the panel at once
        while topic.subscribers > 0:
            await asyncio.sleep(self.poll_s)
            await self._refresh(topic)

    async def subscribe(self, root: str) -> AsyncIterator[tuple[int, bytes]]:
        """(version, panel JSON) now, then each time the panel changes."""
        topic = self.topics.setdefault(root, Topic(root))
        topic.subscribers += 1
        try:
            if topic.task is None or topic.task.done():
                topic.task = asyncio.create_task(self._poll(topic))
            seen = 0
            while True:
                async with topic.changed:
                    await topic.changed.wait_for(lambda: topic.version > seen)
                seen = topic.version
                yield seen, topic.body
        finally:
            topic.subscribers -= 1
            if topic.subscribers <= 0 and topic.task is not None:
                topic.task.cancel()
                topic.task = None

    async def close(self) -> None:
        for topic in self.topics.values():
            if topic.task is not None:
                topic.task.cancel()
