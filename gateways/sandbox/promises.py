"""Webhooks the sandbox promised to send later, kept where a restart cannot lose them.

    create_payment / complete / create_refund
        └─ add(promise)            stored before the caller gets its answer
    this process, after the delay
        └─ send ─► delivered(key)  the usual path (a store may forget it later, in bulk)
    any worker's reconciliation round (the process above went away)
        └─ claim_overdue ─► send ─► settle(key)

A promise is its webhook's signed-later body, keyed by the event id inside it: a promise
sent twice (a worker died between sending and settling, or a slow sender crossed the
recovery) reaches payql's inbox as a duplicate of an event it already has, and is ignored.
Recovery claims each row with a conditional update and a lease, so workers do not send the
same promise at the same time. The store is a port: the database implementation lives
outside the gateway layer (``events/sandbox_promises.py``); :class:`MemoryPromiseStore`
serves a sandbox without a database.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PromisedWebhook:
    """One webhook the sandbox will send: its event id, its body and when it is due."""

    key: str
    body: bytes
    due_at: datetime


class PromiseStore(Protocol):
    async def add(self, promise: PromisedWebhook) -> None:
        """Keep ``promise`` until it is settled."""

    async def delivered(self, key: str) -> None:
        """Its own process sent the promise; the store may forget it now or later."""

    async def claim_overdue(
        self, *, now: datetime, older_than: timedelta, lease: timedelta, limit: int
    ) -> list[PromisedWebhook]:
        """Promises due before ``now - older_than`` that nobody holds, each now held by the
        caller for ``lease``."""

    async def settle(self, key: str) -> None:
        """Forget a promise that recovery sent."""


class MemoryPromiseStore:
    """Promises in process memory: what a sandbox without a database keeps."""

    def __init__(self) -> None:
        self.promises: dict[str, PromisedWebhook] = {}
        self._held_until: dict[str, datetime] = {}

    async def add(self, promise: PromisedWebhook) -> None:
        self.promises[promise.key] = promise

    async def delivered(self, key: str) -> None:
        await self.settle(key)

    async def claim_overdue(
        self, *, now: datetime, older_than: timedelta, lease: timedelta, limit: int
    ) -> list[PromisedWebhook]:
        claimed = []
        for key, promise in list(self.promises.items())[:limit]:
            held = self._held_until.get(key)
            if promise.due_at <= now - older_than and (held is None or held <= now):
                self._held_until[key] = now + lease
                claimed.append(promise)
        return claimed

    async def settle(self, key: str) -> None:
        self.promises.pop(key, None)
        self._held_until.pop(key, None)
