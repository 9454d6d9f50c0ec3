"""Background work in every worker, safe to run in several at once (row claims and
conditional updates, no leader): outbox dispatch, hold expiry, retry of waiting webhooks,
resubmission of refunds the gateway never acknowledged, reconciliation of stuck payments;
and, less often, pruning of what is past its retention (``app/upkeep.py``).

Each round counts every job's runs and failures (``payql_job_runs_total``,
``payql_job_failures_total``, by job) and reads the outbox backlog (rows not yet
dispatched) into ``payql_outbox_backlog``."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from prometheus_client import Counter, Gauge

from app.upkeep import Upkeep, prune_forever
from events.record import dispatch_marks, dispatch_outbox
from gateways.registry import GatewayRegistry
from models.records import OutboxEvent
from resolvers.expiry import expire_holds
from resolvers.reconcile import deliver_overdue_outcomes, reconcile_payments
from resolvers.refunds import submit_stuck_refunds
from resolvers.webhooks import retry_pending_webhooks

logger = logging.getLogger("payql.jobs")

JOB_RUNS = Counter("payql_job_runs", "Background job rounds run.", ["job"])
JOB_FAILURES = Counter("payql_job_failures", "Background job rounds that failed.", ["job"])
# Every worker reads the same table: the latest reading is the backlog.
OUTBOX_BACKLOG = Gauge(
    "payql_outbox_backlog",
    "Outbox rows not yet dispatched to the broker.",
    multiprocess_mode="mostrecent",
)


@dataclass(frozen=True, slots=True)
class JobTimings:
    interval: float = 2.0  # seconds between rounds
    outbox_delay: float = 5.0  # an undispatched outbox row older than this is re-sent
    reconcile_after: float = 120.0  # a payment in flight unchanged this long is looked up
    reconcile_max_backoff: float = 3600.0  # the longest wait between two look-ups
    reconcile_give_up_after: float = 86_400.0  # a payment older than this is left to staff
    redeliver_after: float = 10.0  # a promised sandbox outcome this overdue is sent again


async def run_jobs_once(
    gateways: GatewayRegistry, timings: JobTimings | None = None, upkeep: Upkeep | None = None
) -> None:
    """One round of every job; one job failing does not stop the others."""
    timings = timings or JobTimings()
    upkeep = upkeep or Upkeep()
    now = datetime.now(UTC)
    jobs = (
        ("outbox dispatch", partial(_dispatch, delay=timings.outbox_delay)),
        ("hold expiry", expire_holds),
        ("webhook retry", partial(retry_pending_webhooks, retry=upkeep.retry)),
        ("refund resubmission", submit_stuck_refunds),
        ("reconciliation", partial(_reconcile, timings=timings)),
    )
    for name, job in jobs:
        label = name.replace(" ", "_")
        JOB_RUNS.labels(label).inc()
        try:
            await job(gateways=gateways, now=now)
        except Exception:  # a job must outlive one bad round; the error is logged in full
            JOB_FAILURES.labels(label).inc()
            logger.exception("%s round failed", name)
    await read_backlog()


async def read_backlog() -> None:
    """Set ``payql_outbox_backlog`` to the number of outbox rows not yet dispatched."""
    try:
        OUTBOX_BACKLOG.set(await OutboxEvent.filter(dispatched_at=None).count())
    except Exception:  # the database is down: the jobs said so already
        logger.warning("outbox backlog not read", exc_info=True)


async def _reconcile(*, gateways: GatewayRegistry, now: datetime, timings: JobTimings) -> int:
    await deliver_overdue_outcomes(
        gateways=gateways, now=now, older_than=timedelta(seconds=timings.redeliver_after)
    )
    return await reconcile_payments(
        gateways=gateways,
        now=now,
        stale_after=timedelta(seconds=timings.reconcile_after),
        max_backoff=timedelta(seconds=timings.reconcile_max_backoff),
        give_up_after=timedelta(seconds=timings.reconcile_give_up_after),
    )


async def _dispatch(*, gateways: GatewayRegistry, now: datetime, delay: float) -> int:
    return await dispatch_outbox(now=now, older_than=timedelta(seconds=delay))


async def _loop(gateways: GatewayRegistry, timings: JobTimings, upkeep: Upkeep) -> None:
    while True:
        await asyncio.sleep(timings.interval)
        await run_jobs_once(gateways, timings, upkeep)


async def _mark_dispatched(every: float) -> None:
    """Write this worker's waiting outbox marks well inside the outbox delay, whatever the
    job rounds cost: another worker's dispatcher re-sends a row still unmarked after it."""
    while True:
        await asyncio.sleep(every)
        await dispatch_marks.flush()  # nothing to write: no statement


@asynccontextmanager
async def background_jobs(
    gateways: GatewayRegistry,
    *,
    interval: float,
    timings: JobTimings | None = None,
    upkeep: Upkeep | None = None,
) -> AsyncIterator[None]:
    timings = timings or JobTimings(interval=interval)
    upkeep = upkeep or Upkeep()
    tasks = [
        asyncio.create_task(_loop(gateways, timings, upkeep)),
        asyncio.create_task(prune_forever(upkeep)),
        asyncio.create_task(_mark_dispatched(min(0.5, timings.outbox_delay / 4))),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
