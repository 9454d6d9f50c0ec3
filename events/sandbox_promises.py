"""The sandbox's promised webhooks in the database (``gateways.sandbox.promises`` port)."""

from datetime import datetime, timedelta

from tortoise.expressions import F, Q, Subquery

from gateways.sandbox.promises import PromisedWebhook
from models.records import WebhookEvent
from models.sandbox import SandboxPromise

GATEWAY = "SANDBOX"


class DatabasePromiseStore:
    """:class:`~gateways.sandbox.promises.PromiseStore` over the ``sandbox_promise`` table.

    A promise its own process delivered is not deleted one by one (that would be a second
    statement on every sandbox payment): each recovery round first forgets, in one
    statement, the overdue promises whose event payql's inbox already holds verified.
    Claims are conditional updates (``claimed_until`` empty or past), so several workers
    recovering at once never hold the same promise."""

    async def add(self, promise: PromisedWebhook) -> None:
        await SandboxPromise.create(
            key=promise.key, body=promise.body.decode(), due_at=promise.due_at
        )

    async def delivered(self, key: str) -> None:
        """Nothing now: :meth:`claim_overdue` forgets it once the inbox has it."""

    async def claim_overdue(
        self, *, now: datetime, older_than: timedelta, lease: timedelta, limit: int
    ) -> list[PromisedWebhook]:
        overdue = now - older_than
        received = WebhookEvent.filter(gateway=GATEWAY, verified=True).values("event_id")
        await SandboxPromise.filter(key__in=Subquery(received), due_at__lte=overdue).delete()
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
        rows = (
            await SandboxPromise.filter(free, due_at__lte=overdue).order_by("due_at").limit(limit)
        )
        claimed = []
        for row in rows:
            taken = await SandboxPromise.filter(free, key=row.key).update(
                claimed_until=now + lease, attempts=F("attempts") + 1
            )
            if taken:
                claimed.append(PromisedWebhook(row.key, row.body.encode(), row.due_at))
        return claimed

    async def settle(self, key: str) -> None:
        await SandboxPromise.filter(key=key).delete()
