"""The sandbox's promised outcomes survive the process that promised them: stored before
the API answers, sent by another worker's recovery when overdue, applied exactly once.
(The same with real processes and kill -9: ``tests/test_production.py``.)"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.gateways import build_registry
from app.main import create_app
from app.settings import Settings
from events.sandbox_promises import DatabasePromiseStore
from gateways.registry import GatewayRegistry
from gateways.sandbox import HttpWebhookSender, PromisedWebhook, SandboxGateway
from gateways.sandbox.sender import WebhookNotDelivered
from models.enums import OrderStatus, PaymentStatus
from models.order import Order
from models.payment import Payment
from models.records import PaymentEvent, WebhookEvent
from models.sandbox import SandboxPromise
from resolvers.reconcile import deliver_overdue_outcomes
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input

BUYER = "buyer@example.com"
LEASE = timedelta(seconds=60)
PAY = """
mutation P($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } errors { code } }
}
"""


class UnreachableReceiver:
    """A webhook sender whose every delivery fails: the promising process never gets its
    webhook out (it died, or payql was down)."""

    def __init__(self) -> None:
        self.attempts = 0

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.attempts += 1
        raise WebhookNotDelivered("connection refused")


def _promise(key: str, due_at: datetime) -> PromisedWebhook:
    return PromisedWebhook(key=key, body=b'{"id":"%s"}' % key.encode(), due_at=due_at)


# ------------------------------------------------------------------ the store
async def test_only_overdue_unheld_promises_are_claimed_and_by_one_worker(db: str) -> None:
    store = DatabasePromiseStore()
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    await store.add(_promise("evt_overdue", now - timedelta(seconds=30)))
    await store.add(_promise("evt_recent", now - timedelta(seconds=5)))
    await store.add(_promise("evt_future", now + timedelta(seconds=5)))

    def claim(at: datetime) -> "asyncio.Future[list[PromisedWebhook]]":
        return asyncio.ensure_future(
            store.claim_overdue(now=at, older_than=timedelta(seconds=10), lease=LEASE, limit=10)
        )

    first, second = await asyncio.gather(claim(now), claim(now))
    held = await claim(now + timedelta(seconds=59))
    after_lease = await claim(now + LEASE)

    claimed = [p.key for p in first + second]
    assert claimed == ["evt_overdue"]  # once, by one of the two
    # evt_overdue is still held by its claimer; the two others are overdue by now.
    assert sorted(p.key for p in held) == ["evt_future", "evt_recent"]
    assert [p.key for p in after_lease] == ["evt_overdue"]  # its lease ran out
    row = await SandboxPromise.get(key="evt_overdue")
    assert row.attempts == 2
    assert row.body == '{"id":"evt_overdue"}'

    await store.settle("evt_overdue")
    assert await SandboxPromise.filter(key="evt_overdue").count() == 0


# ------------------------------------------------------------------ the gateway
@pytest.fixture
async def lost_delivery(db: str, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The real app whose sandbox can never deliver its own webhooks."""
    registry = build_registry(settings, sandbox_sender=UnreachableReceiver())
    app = create_app(settings, manage_database=False, gateways=registry, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    sandbox = registry.get("SANDBOX")
    assert isinstance(sandbox, SandboxGateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield GraphQLClient(http, settings, app=app, sandbox=sandbox)
        await sandbox.drain()


def _another_worker(client: GraphQLClient) -> SandboxGateway:
    """A second process's sandbox: same secret and database, its own memory, a sender that
    works."""
    sender = HttpWebhookSender(
        "http://payql.test/webhooks/sandbox", transport=httpx.ASGITransport(app=client.app)
    )
    return SandboxGateway(
        secret=client.settings.sandbox_secret,
        public_url="http://payql.test",
        sender=sender,
        promises=DatabasePromiseStore(),
    )


async def _processing_payment(client: GraphQLClient) -> tuple[str, str]:
    workspace = await make_workspace("durable")
    product = await make_product(workspace, price=1500)
    created = await client(CREATE_ORDER, order_input(workspace, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]
    paid = await client(
        PAY,
        {
            "input": {
                "orderId": order_id,
                "gateway": "SANDBOX",
                "paymentMethodToken": "pm_card_visa",
            }
        },
        as_user=BUYER,
    )
    payload = paid.data["initiatePayment"]
    assert payload["errors"] == []
    assert payload["payment"]["status"] == "PROCESSING"
    return order_id, payload["payment"]["id"]


async def test_an_outcome_is_stored_before_the_api_answers(lost_delivery: GraphQLClient) -> None:
    _, payment_id = await _processing_payment(lost_delivery)

    # No delivery has been attempted yet: the answer came first, the promise is stored.
    promises = await SandboxPromise.all()
    assert len(promises) == 1
    assert payment_id in promises[0].body
    assert '"type":"payment.succeeded"' in promises[0].body


async def test_an_outcome_its_process_never_sent_is_delivered_by_another_exactly_once(
    lost_delivery: GraphQLClient,
) -> None:
    order_id, payment_id = await _processing_payment(lost_delivery)
    await lost_delivery.sandbox.drain()  # every attempt of the first process failed
    stored = await SandboxPromise.get()
    worker = _another_worker(lost_delivery)
    overdue = datetime.now(UTC) + timedelta(minutes=1)

    sent = await deliver_overdue_outcomes(
        gateways=build_registry_with(worker), now=overdue, older_than=timedelta(seconds=10)
    )
    # Sent again (two workers' sends crossed): the inbox knows the event id.
    body = stored.body.encode()
    await worker.sender.send(body, worker.signed_headers(body))
    # Stored again (a worker died between sending and forgetting it): forgotten, not sent.
    await worker.promises.add(PromisedWebhook(stored.key, body, stored.due_at))
    again = await worker.deliver_overdue(now=overdue, older_than=timedelta(seconds=10))
    await worker.aclose()

    assert (sent, again) == (1, 0)
    payment = await Payment.get(id=payment_id)
    assert payment.status is PaymentStatus.SUCCEEDED
    assert (await Order.get(id=order_id)).status is OrderStatus.PAID
    succeeded = PaymentEvent.filter(payment_id=payment_id, type="payment.succeeded")
    assert await succeeded.count() == 1
    assert await WebhookEvent.filter(event_id=stored.key).count() == 1
    assert await SandboxPromise.all().count() == 0


async def test_an_outcome_not_yet_overdue_is_left_to_its_process(
    lost_delivery: GraphQLClient,
) -> None:
    await _processing_payment(lost_delivery)
    worker = _another_worker(lost_delivery)

    sent = await worker.deliver_overdue(now=datetime.now(UTC), older_than=timedelta(seconds=10))
    await worker.aclose()

    assert sent == 0
    assert await SandboxPromise.all().count() == 1


def build_registry_with(sandbox: SandboxGateway) -> GatewayRegistry:
    return GatewayRegistry({"SANDBOX": sandbox})


async def test_an_outcome_delivered_by_its_process_is_forgotten_not_sent_again(
    api: GraphQLClient,
) -> None:
    _, payment_id = await _processing_payment(api)
    await api.sandbox.drain()  # delivered and applied; one INSERT was all it cost
    kept = await SandboxPromise.all().count()
    worker = _another_worker(api)

    sent = await worker.deliver_overdue(
        now=datetime.now(UTC) + timedelta(minutes=1), older_than=timedelta(seconds=10)
    )
    await worker.aclose()

    assert kept == 1
    assert sent == 0
    assert await SandboxPromise.all().count() == 0
    assert (await Payment.get(id=payment_id)).status is PaymentStatus.SUCCEEDED
    succeeded = PaymentEvent.filter(payment_id=payment_id, type="payment.succeeded")
    assert await succeeded.count() == 1
