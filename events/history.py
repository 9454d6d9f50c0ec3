"""Recorded events read once per process, however many subscribers ask.

A webhook that changes a payment publishes one message per topic; every
``workspaceEvents`` subscriber of that workspace then needs the same ``PaymentEvent``
row. Rows are append-only (never updated), so one read serves them all: the first
subscriber's query is shared with the others while it runs, and the row is kept in a
small LRU of recent events. Without it, 5,000 dashboards cost 5,000 identical queries
per event (measured by ``bench/``: fan-out latency in seconds). Entries are keyed by the
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
