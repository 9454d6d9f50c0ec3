"""Reconciliation of payments stuck in flight: it backs off, caps its wait, gives up loudly
after a configurable age and never invents an outcome. Every round runs at an explicit
``now``; the gateway is a recording fake that cannot say where a payment stands."""

import itertools
import logging
from datetime import datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from gateways.base import GatewayState, PaymentResult
from gateways.registry import GatewayRegistry
from models.enums import PaymentStatus
from models.payment import Payment
from models.records import PaymentEvent
from resolvers.reconcile import backoff, reconcile_payments
from tests.fakes import RecordingGateway
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input

STALE = timedelta(minutes=2)
CAP = timedelta(minutes=30)
GIVE_UP = timedelta(hours=6)

ABANDONED = "payql_reconciliation_abandoned_total"


class UnsureGateway(RecordingGateway):
    """Never knows a payment's outcome; counts the look-ups, or answers once told to."""

    def __init__(self) -> None:
        super().__init__("SANDBOX")
        self.lookups: list[str] = []
        self.answer: PaymentResult | None = None

    async def fetch_payment(self, reference: str) -> PaymentResult:
        self.lookups.append(reference)
        if self.answer is not None:
            return self.answer
        return await super().fetch_payment(reference)


async def _stuck_payment(api: GraphQLClient) -> Payment:
    workspace = await make_workspace("recon")
    product = await make_product(workspace, price=1000)
    created = await api(
        CREATE_ORDER, order_input(workspace, (product, 1)), as_user="ann@example.com"
    )
    order = created.data["createOrder"]["order"]
    return await Payment.create(
        order_id=order["id"],
        workspace_id=workspace.id,
        gateway="SANDBOX",
        status=PaymentStatus.PROCESSING,
        amount=1000,
        currency="USD",
        reference="sbx_stuck",
    )


async def _round(gateway: UnsureGateway, now: datetime) -> int:
    return await reconcile_payments(
        gateways=GatewayRegistry({"SANDBOX": gateway}),
        now=now,
        stale_after=STALE,
        max_backoff=CAP,
        give_up_after=GIVE_UP,
    )


def test_the_wait_doubles_from_the_staleness_and_is_capped() -> None:
    waits = [backoff(n, stale_after=STALE, cap=CAP) for n in range(1, 8)]
    minutes = [w / timedelta(minutes=1) for w in waits]
    assert minutes == [2, 4, 8, 16, 30, 30, 30]
    assert backoff(10_000, stale_after=STALE, cap=CAP) == CAP  # no overflow
    assert backoff(1, stale_after=timedelta(0), cap=CAP) == timedelta(seconds=1)


async def test_a_payment_the_gateway_cannot_settle_is_asked_less_and_less_often(
    api: GraphQLClient,
) -> None:
    payment = await _stuck_payment(api)
    gateway = UnsureGateway()
    start = payment.updated_at

    # One round a minute for five hours: 300 rounds.
    asked = [await _round(gateway, start + timedelta(minutes=m)) for m in range(1, 301)]

    rounds_that_asked = [m for m, n in zip(range(1, 301), asked, strict=True) if n]
    # 2 min stale, then waits of 2, 4, 8, 16, then 30 (capped) minutes.
    assert rounds_that_asked[:6] == [2, 4, 8, 16, 32, 62]
    assert all(b - a == 30 for a, b in itertools.pairwise(rounds_that_asked[5:]))
    assert len(gateway.lookups) == len(rounds_that_asked) == 13
    row = await Payment.get(id=payment.id)
    assert row.status is PaymentStatus.PROCESSING  # unknown is not failed
    assert row.updated_at == payment.updated_at  # bookkeeping is not a change
    assert row.reconcile_attempts == 13


async def test_reconciliation_gives_up_loudly_after_the_configured_age(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    payment = await _stuck_payment(api)
    gateway = UnsureGateway()
    before = REGISTRY.get_sample_value(ABANDONED, {"gateway": "SANDBOX"}) or 0.0
    too_old = payment.created_at + GIVE_UP + timedelta(seconds=1)

    with caplog.at_level(logging.WARNING, logger="payql.reconcile"):
        first = await _round(gateway, too_old)
        again = await _round(gateway, too_old + timedelta(days=1))

    assert (first, again) == (0, 0)
    assert gateway.lookups == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert str(payment.id) in message
    assert "SANDBOX" in message
    assert "gave up" in message
    assert REGISTRY.get_sample_value(ABANDONED, {"gateway": "SANDBOX"}) == before + 1
    row = await Payment.get(id=payment.id)
    assert row.status is PaymentStatus.PROCESSING  # left for staff, no outcome invented
    assert row.reconcile_gave_up_at == too_old
    assert await PaymentEvent.filter(payment_id=payment.id).count() == 0


async def test_an_answer_found_by_reconciliation_is_applied_once(api: GraphQLClient) -> None:
    payment = await _stuck_payment(api)
    gateway = UnsureGateway()
    gateway.answer = PaymentResult(
        state=GatewayState.SUCCEEDED, reference="sbx_stuck", amount=1000, currency="USD"
    )
    later = payment.updated_at + STALE + timedelta(seconds=1)

    assert await _round(gateway, later) == 1
    assert await _round(gateway, later + timedelta(days=1)) == 0

    row = await Payment.get(id=payment.id)
    assert row.status is PaymentStatus.SUCCEEDED
    succeeded = PaymentEvent.filter(payment_id=payment.id, type="payment.succeeded")
    assert await succeeded.count() == 1
