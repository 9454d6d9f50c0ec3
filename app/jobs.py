"""Background work in every worker, safe to run in several at once (row claims and
conditional updates, no leader): hold expiry, retry of waiting webhooks, resubmission of
refunds the gateway never acknowledged."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from gateways.registry import GatewayRegistry
from resolvers.expiry import expire_holds
from resolvers.refunds import submit_stuck_refunds
from resolvers.webhooks import retry_pending_webhooks

logger = logging.getLogger("payql.jobs")


async def run_jobs_once(gateways: GatewayRegistry) -> None:
    """One round of every job; one job failing does not stop the others."""
    for name, job in (
        ("hold expiry", expire_holds),
        ("webhook retry", retry_pending_webhooks),
        ("refund resubmission", submit_stuck_refunds),
    ):
        try:
            await job(gateways=gateways, now=datetime.now(UTC))
        except Exception:  # a job must outlive one bad round; the error is logged in full
            logger.exception("%s round failed", name)


async def _loop(gateways: GatewayRegistry, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        await run_jobs_once(gateways)


@asynccontextmanager
async def background_jobs(gateways: GatewayRegistry, *, interval: float) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(gateways, interval))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
