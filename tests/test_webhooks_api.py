"""The webhook inbox: ``POST /webhooks/{gateway}`` with real signed sandbox deliveries."""

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from app.jobs import background_jobs
from app.upkeep import Upkeep
from gateways.base import GatewayState, PaymentResult
from gateways.signing import sign
from models import Order, Payment, PaymentEvent, WebhookEvent
from models.enums import OrderStatus, PaymentStatus
from resolvers.webhooks import RetryPolicy, retry_pending_webhooks
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input

BUYER = "ann@example.com"
HOSTED = """
mutation Pay($id: ID!) {
  initiatePayment(input: {orderId: $id, gateway: SANDBOX}) {
    payment { id reference status } errors { code }
  }
}
"""


async def _waiting_payment(api: GraphQLClient) -> dict[str, Any]:
    """An order with a hosted-checkout payment waiting for the buyer (no webhook pending)."""
    shop = await make_workspace()
    product = await make_product(shop, price=1500)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]
    paid = await api(HOSTED, {"id": order_id}, as_user=BUYER)
    payment = paid.data["initiatePayment"]["payment"]
    assert payment["status"] == "REQUIRES_ACTION"
    return {"order_id": order_id, **payment}


def _succeeded(
    api: GraphQLClient,
    payment: dict[str, Any],
    amount: int | None = 1500,
    currency: str | None = "USD",
) -> bytes:
    return api.sandbox.webhook_body(
        PaymentResult(
            state=GatewayState.SUCCEEDED,
            reference=payment["reference"],
            amount=amount,
            currency=currency,
        )
    )


def _failed(api: GraphQLClient, payment: dict[str, Any]) -> bytes:
    return api.sandbox.webhook_body(
        PaymentResult(
            state=GatewayState.FAILED,
            reference=payment["reference"],
            amount=1500,
            currency="USD",
            failure_code="card_declined",
        )
    )


async def _post(api: GraphQLClient, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return await api.http.post(
        "/webhooks/sandbox",
        content=body,
        headers=api.sandbox.signed_headers(body) if headers is None else headers,
    )


async def _state(payment: dict[str, Any]) -> tuple[PaymentStatus, OrderStatus, int]:
    row = await Payment.get(id=payment["id"])
    order = await Order.get(id=payment["order_id"])
    events = await PaymentEvent.filter(order_id=order.id).count()
    return row.status, order.status, events


async def test_a_signed_webhook_is_stored_applied_and_marked_processed(api: GraphQLClient) -> None:
    payment = await _waiting_payment(api)
    body = _succeeded(api, payment)

    response = await _post(api, body)

    assert response.status_code == 200
    assert response.json() == {"status": "processed"}
    status, order_status, _ = await _state(payment)
    assert (status, order_status) == (PaymentStatus.SUCCEEDED, OrderStatus.PAID)
    stored = await WebhookEvent.get(event_id=json.loads(body)["id"])
    assert stored.raw_body == body.decode()
    assert stored.verified
    assert stored.processed
    assert stored.event_type == "payment.succeeded"


async def test_a_duplicate_delivery_answers_200_and_changes_nothing(api: GraphQLClient) -> None:
    payment = await _waiting_payment(api)
    body = _succeeded(api, payment)
    await _post(api, body)
    before = await _state(payment)

    again = await _post(api, body)

    assert again.status_code == 200
    assert again.json() == {"status": "duplicate"}
    assert await _state(payment) == before
    assert await WebhookEvent.filter(verified=True).count() == 1
    assert (await Order.get(id=payment["order_id"])).amount_paid == 1500


async def test_concurrent_copies_of_one_delivery_credit_the_order_once(api: GraphQLClient) -> None:
    payment = await _waiting_payment(api)
    body = _succeeded(api, payment)

    responses = await asyncio.gather(*(_post(api, body) for _ in range(10)))

    assert {r.status_code for r in responses} == {200}
    assert (await Order.get(id=payment["order_id"])).amount_paid == 1500
    assert await PaymentEvent.filter(type="payment.succeeded").count() == 1
    assert await WebhookEvent.filter(verified=True).count() == 1


async def test_concurrent_distinct_reports_of_one_success_credit_the_order_once(
    api: GraphQLClient,
) -> None:
    """Gateways send one outcome as several events (Stripe: payment_intent.succeeded and
    charge.succeeded): different event ids, so only the payment row's lock keeps them from
    crediting twice."""
    payment = await _waiting_payment(api)
    bodies = [_succeeded(api, payment) for _ in range(10)]

    responses = await asyncio.gather(*(_post(api, body) for body in bodies))

    assert {r.status_code for r in responses} == {200}
    assert await WebhookEvent.filter(verified=True, processed=True).count() == 10
    assert (await Order.get(id=payment["order_id"])).amount_paid == 1500
    assert await PaymentEvent.filter(type="payment.succeeded").count() == 1
    assert await PaymentEvent.filter(type="order.paid").count() == 1


async def test_a_tampered_body_is_rejected_with_400_and_nothing_applied(
    api: GraphQLClient,
) -> None:
    payment = await _waiting_payment(api)
    body = _succeeded(api, payment, amount=1500)
    headers = api.sandbox.signed_headers(body)
    tampered = body.replace(b'"amount":1500', b'"amount":1')
    assert tampered != body
    before = await _state(payment)

    response = await _post(api, tampered, headers)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid webhook", "code": "signature_mismatch"}
    assert await _state(payment) == before
    rejected = await WebhookEvent.get()
    assert not rejected.verified
    assert not rejected.processed
    assert rejected.event_id.startswith("rejected:")  # the genuine event id stays free
    assert (await _post(api, body)).json() == {"status": "processed"}


async def test_missing_wrong_key_and_stale_signatures_are_rejected(api: GraphQLClient) -> None:
    payment = await _waiting_payment(api)
    body = _succeeded(api, payment)
    header = "Payql-Sandbox-Signature"
    stale = sign(body, api.settings.sandbox_secret, timestamp=int(time.time()) - 3600)

    codes = [
        (await _post(api, body, h)).json()["code"]
        for h in (
            {},
            {header: sign(body, "not-the-secret")},
            {header: stale},
            {header: "garbage"},
        )
    ]

    assert codes == [
        "signature_missing",
        "signature_mismatch",
        "signature_stale",
        "signature_malformed",
    ]
    assert (await _state(payment))[0] is PaymentStatus.REQUIRES_ACTION


async def test_a_signed_but_malformed_body_is_rejected(api: GraphQLClient) -> None:
    body = b'{"no": "type"}'

    response = await _post(api, body)

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


async def test_an_unknown_event_type_is_stored_and_ignored(api: GraphQLClient) -> None:
    payment = await _waiting_payment(api)
    before = await _state(payment)
    body = json.dumps({"id": "evt_other", "type": "customer.created", "data": {}}).encode()

    response = await _post(api, body)

    assert response.json() == {"status": "ignored"}
    assert await _state(payment) == before
    stored = await WebhookEvent.get(event_id="evt_other")
    assert stored.processed
    assert stored.event_type == "customer.created"


async def test_an_unknown_gateway_is_404(api: GraphQLClient) -> None:
    response = await api.http.post("/webhooks/nope", content=b"{}")

    assert response.status_code == 404
    assert await WebhookEvent.all().count() == 0


async def test_an_event_that_arrives_before_its_payment_is_kept_and_applied_later(
    api: GraphQLClient,
) -> None:
    # The gateway's webhook beats payql's own commit of the payment row.
    shop = await make_workspace()
    product = await make_product(shop, price=1500)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]
    payment_id = uuid4()
    body = json.dumps(
        {
            "id": "evt_early",
            "type": "payment.succeeded",
            "data": {
                "reference": f"sbx_{payment_id}",
                "payment_id": str(payment_id),
                "status": "SUCCEEDED",
                "amount": 1500,
                "currency": "USD",
            },
        }
    ).encode()

    early = await _post(api, body)
    assert early.status_code == 200
    assert early.json() == {"status": "pending"}
    waiting = await WebhookEvent.get(event_id="evt_early")
    assert not waiting.processed
    assert waiting.attempts == 1
    assert await retry_pending_webhooks(gateways=api.app.state.gateways, now=_now()) == 0

    order = await Order.get(id=order_id)
    await Payment.create(
        id=payment_id,
        order_id=order.id,
        workspace_id=order.workspace_id,
        gateway="SANDBOX",
        status=PaymentStatus.PROCESSING,
        amount=1500,
        currency="USD",
        attempt=1,
    )
    # A redelivery of the same event while it waits is not a "duplicate": it is applied.
    assert (await _post(api, body)).json() == {"status": "processed"}
    assert (await Order.get(id=order_id)).status is OrderStatus.PAID
    assert await retry_pending_webhooks(gateways=api.app.state.gateways, now=_now()) == 0


async def test_the_background_job_retries_waiting_events(api: GraphQLClient) -> None:
    shop = await make_workspace()
    product = await make_product(shop, price=1500)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order = await Order.get(id=created.data["createOrder"]["order"]["id"])
    payment_id = uuid4()
    body = json.dumps(
        {
            "id": "evt_early",
            "type": "payment.succeeded",
            "data": {
                "reference": f"sbx_{payment_id}",
                "payment_id": str(payment_id),
                "status": "SUCCEEDED",
                "amount": 1500,
                "currency": "USD",
            },
        }
    ).encode()
    assert (await _post(api, body)).json() == {"status": "pending"}
    await Payment.create(
        id=payment_id,
        order_id=order.id,
        workspace_id=order.workspace_id,
        gateway="SANDBOX",
        status=PaymentStatus.PROCESSING,
        amount=1500,
        currency="USD",
        attempt=1,
    )

    soon = Upkeep(retry=RetryPolicy(first=timedelta(0)))
    async with background_jobs(api.app.state.gateways, interval=0.02, upkeep=soon):
        for _ in range(200):
            if (await WebhookEvent.get(event_id="evt_early")).processed:
                break
            await asyncio.sleep(0.02)

    assert (await WebhookEvent.get(event_id="evt_early")).processed
    assert (await Order.get(id=order.id)).status is OrderStatus.PAID


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        (1, "USD", "amount_mismatch"),
        (1500, "NGN", "currency_mismatch"),
        (1500, None, "currency_mismatch"),
    ],
)
async def test_a_success_for_other_money_fails_the_payment(
    api: GraphQLClient, amount: int | None, currency: str | None, code: str
) -> None:
    payment = await _waiting_payment(api)

    await _post(api, _succeeded(api, payment, amount=amount, currency=currency))

    row = await Payment.get(id=payment["id"])
    assert row.status is PaymentStatus.FAILED
    assert row.failure_code == code
    assert (await Order.get(id=payment["order_id"])).status is OrderStatus.PENDING


async def test_late_and_out_of_order_outcomes_never_move_a_payment_backwards(
    api: GraphQLClient,
) -> None:
    payment = await _waiting_payment(api)
    succeeded = _succeeded(api, payment)
    failed = _failed(api, payment)
    processing = api.sandbox.webhook_body(
        PaymentResult(
            state=GatewayState.PROCESSING,
            reference=payment["reference"],
            amount=1500,
            currency="USD",
        )
    )

    for body in (succeeded, processing, failed):
        assert (await _post(api, body)).status_code == 200

    row = await Payment.get(id=payment["id"])
    assert row.status is PaymentStatus.SUCCEEDED
    assert row.failure_code is None
    assert (await Order.get(id=payment["order_id"])).amount_paid == 1500


async def test_a_success_after_a_failure_is_flagged_for_a_person_not_credited(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    payment = await _waiting_payment(api)
    failed = _failed(api, payment)
    assert (await _post(api, failed)).status_code == 200

    with caplog.at_level(logging.INFO, logger="payql.payments"):
        await _post(api, _succeeded(api, payment))

    assert "SUCCEEDED after FAILED; check and refund by hand" in caplog.text
    assert (await Payment.get(id=payment["id"])).status is PaymentStatus.FAILED
    assert (await Order.get(id=payment["order_id"])).amount_paid == 0


async def test_a_repeated_success_changes_nothing_and_raises_no_alarm(
    api: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    payment = await _waiting_payment(api)
    await _post(api, _succeeded(api, payment))

    with caplog.at_level(logging.INFO, logger="payql.payments"):
        assert (await _post(api, _succeeded(api, payment))).status_code == 200

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (await Order.get(id=payment["order_id"])).amount_paid == 1500
    succeeded = await PaymentEvent.filter(payment_id=payment["id"], type="payment.succeeded")
    assert len(succeeded) == 1


def _now() -> datetime:
    return datetime.now(UTC)
