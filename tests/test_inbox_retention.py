"""The inbox's upkeep: waiting webhooks retried with backoff under row claims, and
processed, rejected and expired rows pruned after their retention (times passed in)."""

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from app.jobs import background_jobs
from app.settings import Settings
from app.upkeep import Upkeep, prune_once, upkeep_from_settings
from gateways.base import InvalidWebhook
from models import IdempotencyKey, OutboxEvent, User, WebhookEvent
from resolvers.webhook_input import RejectionBudget
from resolvers.webhooks import (
    RetryPolicy,
    prune_webhooks,
    receive_webhook,
    retry_pending_webhooks,
)
from tests.helpers import GraphQLClient

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _early_body() -> str:
    """A verified sandbox event for a payment payql does not have (it keeps waiting)."""
    payment_id = str(uuid4())
    return json.dumps(
        {
            "id": f"evt_{uuid4().hex}",
            "type": "payment.succeeded",
            "data": {
                "reference": f"sbx_{payment_id}",
                "payment_id": payment_id,
                "status": "SUCCEEDED",
                "amount": 1500,
                "currency": "USD",
            },
        }
    )


async def _waiting(count: int, *, due: datetime, attempts: int = 1) -> list[WebhookEvent]:
    rows = []
    for _ in range(count):
        body = _early_body()
        rows.append(
            await WebhookEvent.create(
                gateway="SANDBOX",
                event_id=json.loads(body)["id"],
                event_type="payment.succeeded",
                raw_body=body,
                verified=True,
                attempts=attempts,
                next_attempt_at=due,
            )
        )
    return rows


async def _rejected() -> WebhookEvent:
    return await WebhookEvent.create(
        gateway="SANDBOX",
        event_id=f"rejected:{uuid4()}",
        raw_body="",
        excerpt="{",
        error="signature_missing",
    )


async def _processed() -> WebhookEvent:
    return await WebhookEvent.create(
        gateway="SANDBOX", event_id=f"evt_{uuid4().hex}", raw_body="{}", verified=True,
        processed=True, processed_at=datetime.now(UTC),
    )  # fmt: skip


# ------------------------------------------------------------------------------- retries
async def test_concurrent_retry_rounds_never_process_one_row_twice(api: GraphQLClient) -> None:
    rows = await _waiting(30, due=T0)
    gateways = api.app.state.gateways
    retry = RetryPolicy(batch=100)

    await asyncio.gather(
        *(retry_pending_webhooks(gateways=gateways, now=T0, retry=retry) for _ in range(4))
    )

    after = await WebhookEvent.filter(id__in=[row.id for row in rows])
    assert sorted(row.attempts for row in after) == [2] * 30  # each retried exactly once


async def test_a_waiting_row_is_retried_with_doubling_capped_delays(api: GraphQLClient) -> None:
    (row,) = await _waiting(1, due=T0)
    gateways = api.app.state.gateways
    retry = RetryPolicy(first=timedelta(seconds=2), cap=timedelta(seconds=30), max_attempts=50)
    now, delays = T0, []

    for _ in range(6):
        await retry_pending_webhooks(gateways=gateways, now=now, retry=retry)
        due = (await WebhookEvent.get(id=row.id)).next_attempt_at
        assert due is not None
        delays.append((due - now).total_seconds())
        assert (
            await retry_pending_webhooks(gateways=gateways, now=due - timedelta(0.1), retry=retry)
            == 0
        )
        now = due

    assert delays == [4, 8, 16, 30, 30, 30]  # attempts 2…7 after the first at receipt
    assert (await WebhookEvent.get(id=row.id)).attempts == 7


async def test_a_row_not_due_yet_is_left_alone(api: GraphQLClient) -> None:
    (row,) = await _waiting(1, due=T0 + timedelta(seconds=10))

    await retry_pending_webhooks(gateways=api.app.state.gateways, now=T0)

    assert (await WebhookEvent.get(id=row.id)).attempts == 1


async def test_a_row_is_given_up_loudly_after_the_last_attempt(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    (row,) = await _waiting(1, due=T0, attempts=4)
    retry = RetryPolicy(max_attempts=5)

    with caplog.at_level(logging.WARNING, logger="payql.webhooks"):
        await retry_pending_webhooks(gateways=api.app.state.gateways, now=T0, retry=retry)
        later = T0 + timedelta(days=1)
        await retry_pending_webhooks(gateways=api.app.state.gateways, now=later, retry=retry)

    given_up = await WebhookEvent.get(id=row.id)
    assert (given_up.attempts, given_up.next_attempt_at, given_up.processed) == (5, None, False)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"SANDBOX event {row.event_id} given up after 5 attempts: "
        f"not found yet: {given_up.error.removeprefix('not found yet: ')}"
    ]


async def test_a_claimed_row_is_hidden_from_later_rounds_for_its_lease(
    api: GraphQLClient,
) -> None:
    """A worker that dies mid-round leaves its claimed rows to others after the lease."""
    (row,) = await _waiting(1, due=T0)
    retry = RetryPolicy(lease=timedelta(minutes=5))
    await WebhookEvent.filter(id=row.id).update(next_attempt_at=T0 + retry.lease)

    gateways = api.app.state.gateways
    early = await retry_pending_webhooks(
        gateways=gateways, now=T0 + timedelta(minutes=4), retry=retry
    )
    await retry_pending_webhooks(gateways=gateways, now=T0 + timedelta(minutes=5), retry=retry)

    assert early == 0
    assert (await WebhookEvent.get(id=row.id)).attempts == 2


def test_the_delays_follow_the_settings() -> None:
    settings = Settings(
        PAYQL_WEBHOOK_RETRY_MAX_ATTEMPTS=7, PAYQL_WEBHOOK_RETRY_MAX_DELAY=60,
        PAYQL_WEBHOOK_RETENTION_DAYS=3, PAYQL_REJECTED_WEBHOOK_RETENTION_DAYS=1,
        PAYQL_PRUNE_BATCH=50, PAYQL_PRUNE_INTERVAL=10, PAYQL_REJECTED_WEBHOOKS_PER_MINUTE=5,
        PAYQL_OUTBOX_RETENTION_DAYS=2,
    )  # fmt: skip

    upkeep = upkeep_from_settings(settings)

    assert (upkeep.retry.max_attempts, upkeep.retry.cap) == (7, timedelta(seconds=60))
    assert [upkeep.retry.delay(n).total_seconds() for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert (upkeep.processed_for, upkeep.rejected_for) == (timedelta(days=3), timedelta(days=1))
    assert upkeep.outbox_for == timedelta(days=2)
    assert (upkeep.batch, upkeep.prune_every, upkeep.rejected_per_minute) == (50, 10, 5)


# ------------------------------------------------------------------------------ retention
async def test_processed_and_rejected_rows_are_pruned_after_their_retention(db: str) -> None:
    processed, rejected = await _processed(), await _rejected()
    (waiting,) = await _waiting(1, due=T0)
    created = processed.created_at
    upkeep = Upkeep(processed_for=timedelta(days=30), rejected_for=timedelta(days=7))

    assert await prune_once(upkeep, now=created + timedelta(days=6)) == 0
    assert await prune_once(upkeep, now=created + timedelta(days=8)) == 1
    assert await WebhookEvent.filter(id=rejected.id).count() == 0
    assert await WebhookEvent.filter(id=processed.id).count() == 1
    assert await prune_once(upkeep, now=created + timedelta(days=31)) == 1

    assert [row.id for row in await WebhookEvent.all()] == [waiting.id]  # never pruned
    assert await prune_once(upkeep, now=created + timedelta(days=3650)) == 0


async def test_pruning_deletes_in_bounded_batches(db: str) -> None:
    for _ in range(7):
        await _rejected()
    now = datetime.now(UTC) + timedelta(days=8)
    kept, dropped = timedelta(days=30), timedelta(days=7)

    first = await prune_webhooks(now=now, batch=3, processed_for=kept, rejected_for=dropped)
    upkeep = Upkeep(batch=3, max_batches=1, processed_for=kept, rejected_for=dropped)
    rounds = await prune_once(upkeep, now=now)

    assert (first, rounds) == (3, 3)
    assert await WebhookEvent.all().count() == 1


async def test_expired_idempotency_keys_are_pruned_and_live_ones_kept(db: str) -> None:
    user = await User.create(email="ann@example.com")
    for key, expires in (("old", T0), ("live", T0 + timedelta(hours=1))):
        await IdempotencyKey.create(
            user_id=user.id, operation="createOrder", key=key, fingerprint="f", expires_at=expires
        )

    deleted = await prune_once(Upkeep(), now=T0 + timedelta(minutes=1))

    assert deleted == 1
    assert [key.key for key in await IdempotencyKey.all()] == ["live"]


async def test_the_background_jobs_prune(api: GraphQLClient) -> None:
    old = await _rejected()
    await WebhookEvent.filter(id=old.id).update(created_at=datetime.now(UTC) - timedelta(days=8))
    fresh = await _rejected()

    upkeep = Upkeep(prune_every=0.01)
    async with background_jobs(api.app.state.gateways, interval=60, upkeep=upkeep):
        for _ in range(200):
            if not await WebhookEvent.filter(id=old.id).exists():
                break
            await asyncio.sleep(0.01)

    assert [row.id for row in await WebhookEvent.all()] == [fresh.id]


# ----------------------------------------------------------------------- rejection budget
async def test_rejections_past_the_budget_are_refused_but_not_recorded(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    budget = RejectionBudget(per_minute=3)

    async def unsigned(at: datetime) -> str:
        with pytest.raises(InvalidWebhook) as refused:
            await receive_webhook(
                gateway=api.sandbox, body=b"{}", headers={}, now=at, rejections=budget
            )
        return refused.value.code

    with caplog.at_level(logging.WARNING, logger="payql.webhooks"):
        codes = [await unsigned(T0 + timedelta(seconds=n)) for n in range(6)]
        in_the_minute = await WebhookEvent.all().count()
        await unsigned(T0 + timedelta(minutes=1))

    assert codes == ["signature_missing"] * 6
    assert (in_the_minute, await WebhookEvent.all().count()) == (3, 4)
    over = [r for r in caplog.records if "not recording" in r.getMessage()]
    assert [r.getMessage() for r in over] == [
        "over 3 rejected SANDBOX webhooks this minute; counting, not recording, the rest"
    ]


async def test_dispatched_outbox_rows_are_pruned_and_waiting_ones_kept(db: str) -> None:
    sent = await OutboxEvent.create(topic="t", type="order.paid", dispatched_at=T0)
    waiting = await OutboxEvent.create(topic="t", type="order.paid")

    early = await prune_once(Upkeep(outbox_for=timedelta(days=7)), now=T0 + timedelta(days=6))
    later = await prune_once(Upkeep(outbox_for=timedelta(days=7)), now=T0 + timedelta(days=8))

    assert (early, later) == (0, 1)
    assert [row.id for row in await OutboxEvent.all()] == [waiting.id]
    assert not await OutboxEvent.filter(id=sent.id).exists()
