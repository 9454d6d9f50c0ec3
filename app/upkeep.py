"""The inbox's upkeep settings, and the pruning job: processed and rejected inbound
webhooks, expired idempotency keys and dispatched outbox rows are deleted after their
retention, in bounded batches (a round never holds the database long), by every worker at
once (a row deleted twice is deleted once)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from tortoise.expressions import Subquery

from app.settings import Settings
from models.records import OutboxEvent
from resolvers.idempotency import prune_expired_keys
from resolvers.webhooks import DEFAULT_RETRY, RetryPolicy, prune_webhooks

logger = logging.getLogger("payql.jobs")


@dataclass(frozen=True, slots=True)
class Upkeep:
    """How waiting webhooks are retried and how long finished rows are kept."""

    retry: RetryPolicy = DEFAULT_RETRY
    rejected_per_minute: int = 60  # rejected deliveries recorded per gateway, worker, minute
    prune_every: float = 300.0  # seconds between pruning rounds
    processed_for: timedelta = timedelta(days=30)
    rejected_for: timedelta = timedelta(days=7)
    outbox_for: timedelta = timedelta(days=7)  # after dispatch; nothing reads them again
    batch: int = 1000
    max_batches: int = 10  # per table and round: the rest waits for the next round


def upkeep_from_settings(settings: Settings) -> Upkeep:
    """The upkeep the ``PAYQL_WEBHOOK_*`` and ``PAYQL_PRUNE_*`` settings describe."""
    return Upkeep(
        retry=RetryPolicy(
            max_attempts=settings.webhook_retry_max_attempts,
            cap=timedelta(seconds=settings.webhook_retry_max_delay_seconds),
        ),
        rejected_per_minute=settings.rejected_webhooks_per_minute,
        prune_every=settings.prune_interval_seconds,
        processed_for=timedelta(days=settings.webhook_retention_days),
        rejected_for=timedelta(days=settings.rejected_webhook_retention_days),
        outbox_for=timedelta(days=settings.outbox_retention_days),
        batch=settings.prune_batch,
    )


async def prune_once(upkeep: Upkeep, *, now: datetime) -> int:
    """One pruning round; returns how many rows were deleted."""
    pruners: tuple[Callable[..., Awaitable[int]], ...] = (
        partial(
            prune_webhooks, processed_for=upkeep.processed_for, rejected_for=upkeep.rejected_for
        ),
        prune_expired_keys,
        partial(prune_dispatched_outbox, older_than=upkeep.outbox_for),
    )
    deleted = 0
    for prune in pruners:
        for _ in range(upkeep.max_batches):
            some = await prune(now=now, batch=upkeep.batch)
            deleted += some
            if some < upkeep.batch:
                break
    return deleted


async def prune_dispatched_outbox(*, now: datetime, older_than: timedelta, batch: int) -> int:
    """Delete up to ``batch`` outbox rows dispatched more than ``older_than`` ago."""
    done = OutboxEvent.filter(dispatched_at__lt=now - older_than).order_by("id").limit(batch)
    return await OutboxEvent.filter(id__in=Subquery(done.values("id"))).delete()


async def prune_forever(upkeep: Upkeep) -> None:
    """Prune every ``upkeep.prune_every`` seconds; a failed round is logged and retried."""
    while True:
        await asyncio.sleep(upkeep.prune_every)
        try:
            await prune_once(upkeep, now=datetime.now(UTC))
        except Exception:  # the job must outlive one bad round; the error is logged in full
            logger.exception("pruning round failed")
