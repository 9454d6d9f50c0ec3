"""Recorded events read once per process, however many subscribers ask.

A webhook that changes a payment publishes one message per topic; every
``workspaceEvents`` subscriber of that workspace then needs the same ``PaymentEvent``
row. Rows are append-only (never updated), so one read serves them all: the first
subscriber's query is shared with the others while it runs, and the row is kept in a
small LRU of recent events. Without it, every open dashboard costs an identical query
per event (fan-out latency, ``bench/README.md``). Entries are keyed by the
database client too, so two databases in one process (the tests) never share rows.
"""

import asyncio
from collections import OrderedDict
from typing import Any

from models.records import PaymentEvent

RECENT_EVENTS = 256

_Key = tuple[Any, int]
_recent: "OrderedDict[_Key, PaymentEvent | asyncio.Task[PaymentEvent | None]]" = OrderedDict()


async def recorded_event(event_id: int) -> PaymentEvent | None:
    """The event with ``event_id``, or None (not found is not remembered)."""
    key = (PaymentEvent._choose_db(), event_id)
    entry = _recent.get(key)
    if isinstance(entry, PaymentEvent):
        _recent.move_to_end(key)
        return entry
    if entry is None:
        # A task of its own: a subscriber that goes away does not cancel the others' read.
        entry = asyncio.ensure_future(PaymentEvent.get_or_none(id=event_id))
        entry.add_done_callback(lambda read: _settle(key, read))
        _recent[key] = entry
        while len(_recent) > RECENT_EVENTS:
            _recent.popitem(last=False)
    return await asyncio.shield(entry)


def _settle(key: _Key, read: "asyncio.Task[PaymentEvent | None]") -> None:
    if _recent.get(key) is not read:
        return
    row = None if read.cancelled() or read.exception() is not None else read.result()
    if row is None:
        del _recent[key]
    else:
        _recent[key] = row


class RecentIds:
    """The last ``limit`` event ids a subscription sent, to skip the ones that come again
    (an outbox row re-dispatched after a slow commit, or read again at a broker resync).

    Bounded: a workspace dashboard can stay open for weeks, and a set of every id it ever
    sent would grow with the workspace's traffic. Re-deliveries come seconds after the
    first one, so an id that fell out of the window does not come back in practice; if it
    did, the client would see that event twice, never miss one.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._ids: OrderedDict[int, None] = OrderedDict()
        self.forgotten_up_to = 0  # the largest id that fell out of the window

    def since(self, floor: int) -> int:
        """Where a re-read of history should start: after ``floor`` and after every id
        that fell out of the window (re-reading those would send them all again)."""
        return max(floor, self.forgotten_up_to)

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def add(self, event_id: int) -> None:
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self.limit:
            forgotten, _ = self._ids.popitem(last=False)
            self.forgotten_up_to = max(self.forgotten_up_to, forgotten)

    def __len__(self) -> int:
        return len(self._ids)
