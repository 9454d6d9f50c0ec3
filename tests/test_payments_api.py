"""Taking payments through the real ASGI app and the sandbox gateway.

The sandbox answers ``initiatePayment`` synchronously and sends the outcome later as a
signed webhook to ``/webhooks/sandbox`` of the same app; ``api.sandbox.drain()`` waits for
those deliveries.
"""

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from models import Order, Payment, PaymentEvent
from models.enums import OrderStatus
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

BUYER = "ann@example.com"


class LostWebhooks:
    """A webhook sender whose deliveries never arrive (kept, to be delivered late)."""

    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, Mapping[str, str]]] = []

    async def send(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.bodies.append((body, headers))


INITIATE = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status attempt gateway reference failureCode amount { amount currency } }
    clientSecret
    nextAction { type redirectUrl }
    errors { code message field }
  }
}
"""

CONFIRM = """
mutation Confirm($input: ConfirmPaymentInput!) {
  confirmPayment(input: $input) {
    payment { id status failureCode }
    errors { code message field }
  }
}
"""

ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    status amountPaid { amount } balanceDue { amount } total { amount }
    payments { id status attempt failureCode }
    events { type fromStatus toStatus }
  }
}
"""


async def _order(api: GraphQLClient, price: int = 2500, **workspace: Any) -> dict[str, Any]:
    shop = await make_workspace(**workspace)
    product = await make_product(shop, price=price)
    created = await api(CREATE_ORDER, order_input(shop, (product, 2)), as_user=BUYER)
    order = created.data["createOrder"]["order"]
    assert order is not None, created.body
    return order  # type: ignore[no-any-return]


async def _pay(
    api: GraphQLClient, order_id: str, token: str | None = None, **extra: Any
) -> dict[str, Any]:
    as_user = extra.pop("as_user", BUYER)
    variables = {"input": {"orderId": order_id, "gateway": "SANDBOX", **extra}}
    if token is not None:
        variables["input"]["paymentMethodToken"] = token
    response = await api(INITIATE, variables, as_user=as_user)
    return response.data["initiatePayment"]  # type: ignore[no-any-return]


async def _read(api: GraphQLClient, order_id: str) -> dict[str, Any]:
    return (await api(ORDER, {"id": order_id}, as_user=BUYER)).data["order"]  # type: ignore[no-any-return]


async def test_a_card_payment_succeeds_by_webhook_and_pays_the_order(api: GraphQLClient) -> None:
    order = await _order(api)

    paid = await _pay(api, order["id"], "pm_card_visa")

    assert paid["errors"] == []
    assert paid["payment"]["status"] == "PROCESSING"  # the outcome comes by webhook
    assert paid["payment"]["amount"] == {"amount": 5000, "currency": "USD"}
    assert paid["payment"]["reference"].startswith("sbx_")
    assert paid["clientSecret"].startswith(paid["payment"]["reference"])
    assert (await Order.get(id=order["id"])).status is OrderStatus.PENDING

    await api.sandbox.drain()

    after = await _read(api, order["id"])
    assert after["status"] == "PAID"
    assert after["amountPaid"]["amount"] == 5000
    assert after["balanceDue"]["amount"] == 0
    assert [p["status"] for p in after["payments"]] == ["SUCCEEDED"]
    assert [(e["type"], e["toStatus"]) for e in after["events"]] == [
        ("order.created", "PENDING"),
        ("payment.created", "PENDING"),
        ("payment.processing", "PROCESSING"),
        ("payment.succeeded", "SUCCEEDED"),
        ("order.paid", "PAID"),
    ]


async def test_a_declined_card_fails_and_a_retry_with_another_card_succeeds(
    api: GraphQLClient,
) -> None:
    order = await _order(api)

    first = await _pay(api, order["id"], "pm_card_chargeDeclined")
    await api.sandbox.drain()
    failed = await _read(api, order["id"])
    assert failed["status"] == "PENDING"
    assert failed["payments"] == [
        {
            "id": first["payment"]["id"],
            "status": "FAILED",
            "attempt": 1,
            "failureCode": "card_declined",
        }
    ]

    second = await _pay(api, order["id"], "pm_card_visa")
    await api.sandbox.drain()

    assert second["payment"]["id"] != first["payment"]["id"]
    assert second["payment"]["attempt"] == 2
    after = await _read(api, order["id"])
    assert after["status"] == "PAID"
    assert after["amountPaid"]["amount"] == 5000  # only the successful attempt counts
    assert sorted(p["status"] for p in after["payments"]) == ["FAILED", "SUCCEEDED"]


async def test_a_second_initiate_while_one_is_in_flight_returns_it(api: GraphQLClient) -> None:
    order = await _order(api)

    first = await _pay(api, order["id"])  # hosted checkout: waits for the buyer
    again = await _pay(api, order["id"], "pm_card_visa")

    assert first["payment"]["status"] == "REQUIRES_ACTION"
    assert again["payment"]["id"] == first["payment"]["id"]
    assert again["nextAction"] == first["nextAction"]
    assert await Payment.filter(order_id=order["id"]).count() == 1


@pytest.mark.parametrize(
    ("button", "status", "code"),
    [("approve", "SUCCEEDED", None), ("fail", "FAILED", "authentication_failed")],
)
async def test_three_d_secure_approved_or_failed_on_the_sandbox_page(
    api: GraphQLClient, button: str, status: str, code: str | None
) -> None:
    order = await _order(api)
    paid = await _pay(api, order["id"], "pm_card_authenticationRequired")
    assert paid["payment"]["status"] == "REQUIRES_ACTION"
    assert paid["nextAction"]["type"] == "REDIRECT"
    url = paid["nextAction"]["redirectUrl"]
    assert "/sandbox/3ds/" in url

    page = await api.http.get(url)
    assert page.status_code == 200
    assert "Approve" in page.text
    assert "Fail" in page.text
    assert "$50.00" in page.text

    clicked = await api.http.post(url, data={"action": button})
    assert clicked.status_code == 200
    await api.sandbox.drain()

    after = await _read(api, order["id"])
    assert after["payments"][0]["status"] == status
    assert after["payments"][0]["failureCode"] == code
    assert after["status"] == ("PAID" if status == "SUCCEEDED" else "PENDING")


async def test_hosted_checkout_pays_and_sends_the_buyer_back(api: GraphQLClient) -> None:
    order = await _order(api)
    paid = await _pay(api, order["id"], returnUrl="https://shop.example/thanks?o=1")
    url = paid["nextAction"]["redirectUrl"]
    assert "/sandbox/checkout/" in url
    page = await api.http.get(url)
    assert "Pay" in page.text
    assert "Decline" in page.text
    assert order["number"] in page.text

    clicked = await api.http.post(url, data={"action": "pay"})
    await api.sandbox.drain()

    assert clicked.status_code == 303
    assert clicked.headers["location"] == (
        f"https://shop.example/thanks?o=1&payment_id={paid['payment']['id']}&outcome=ok"
    )
    assert (await _read(api, order["id"]))["status"] == "PAID"
    # A second click (or a replayed form post) changes nothing.
    await api.http.post(url, data={"action": "decline"})
    await api.sandbox.drain()
    assert (await _read(api, order["id"]))["payments"][0]["status"] == "SUCCEEDED"


async def test_a_forged_sandbox_page_link_is_refused(api: GraphQLClient) -> None:
    order = await _order(api)
    url = (await _pay(api, order["id"]))["nextAction"]["redirectUrl"]
    payload, _, _mac = url.rpartition(".")

    forged = await api.http.post(f"{payload}.{'0' * 32}", data={"action": "pay"})
    wrong_kind = await api.http.get(url.replace("/checkout/", "/3ds/"))
    await api.sandbox.drain()

    assert forged.status_code == 404
    assert wrong_kind.status_code == 404
    assert (await _read(api, order["id"]))["payments"][0]["status"] == "REQUIRES_ACTION"


async def test_a_processing_payment_succeeds_when_its_webhook_arrives(api: GraphQLClient) -> None:
    api.sandbox.processing_delay = 0.3
    order = await _order(api)

    paid = await _pay(api, order["id"], "pm_card_processing")
    assert paid["payment"]["status"] == "PROCESSING"
    assert (await _read(api, order["id"]))["payments"][0]["status"] == "PROCESSING"

    await api.sandbox.drain()

    assert (await _read(api, order["id"]))["status"] == "PAID"


async def test_confirm_recovers_a_lost_webhook_and_its_late_copy_changes_nothing(
    api: GraphQLClient,
) -> None:
    lost = LostWebhooks()
    real_sender, api.sandbox.sender = api.sandbox.sender, lost
    order = await _order(api)
    paid = await _pay(api, order["id"], "pm_card_visa")
    payment_id = paid["payment"]["id"]
    await api.sandbox.drain()  # the gateway decided, but its webhook never arrived
    assert len(lost.bodies) == 1
    assert (await _read(api, order["id"]))["status"] == "PENDING"

    confirmed = await api(CONFIRM, {"input": {"paymentId": payment_id}}, as_user=BUYER)

    assert confirmed.data["confirmPayment"]["payment"]["status"] == "SUCCEEDED"
    assert (await _read(api, order["id"]))["status"] == "PAID"

    # The webhook turns up after all: stored, applied as a no-op, no second credit.
    body, headers = lost.bodies[0]
    await real_sender.send(body, headers)
    types = [e.type for e in await PaymentEvent.filter(payment_id=payment_id).order_by("id")]
    assert types.count("payment.succeeded") == 1
    assert (await _read(api, order["id"]))["amountPaid"]["amount"] == 5000


async def test_confirm_while_processing_reports_processing(api: GraphQLClient) -> None:
    api.sandbox.processing_delay = 3.0  # still undecided when confirmPayment asks, even under load
    order = await _order(api)
    paid = await _pay(api, order["id"], "pm_card_processing")

    confirmed = await api(CONFIRM, {"input": {"paymentId": paid["payment"]["id"]}}, as_user=BUYER)

    assert confirmed.data["confirmPayment"]["payment"]["status"] == "PROCESSING"


async def test_confirm_never_takes_the_clients_word(api: GraphQLClient) -> None:
    order = await _order(api)
    paid = await _pay(api, order["id"])  # checkout page not visited: nothing decided

    confirmed = await api(CONFIRM, {"input": {"paymentId": paid["payment"]["id"]}}, as_user=BUYER)

    assert confirmed.data["confirmPayment"]["payment"]["status"] == "REQUIRES_ACTION"
    assert (await _read(api, order["id"]))["status"] == "PENDING"


async def test_confirm_of_someone_elses_payment_is_not_found(api: GraphQLClient) -> None:
    order = await _order(api)
    paid = await _pay(api, order["id"], "pm_card_visa")

    other = await api(
        CONFIRM, {"input": {"paymentId": paid["payment"]["id"]}}, as_user="eve@example.com"
    )

    assert other.data["confirmPayment"]["payment"] is None
    assert other.data["confirmPayment"]["errors"][0]["code"] == "NOT_FOUND"


async def test_client_secret_is_shown_only_to_the_orders_owner(api: GraphQLClient) -> None:
    order = await _order(api)
    shop_id = (await Order.get(id=order["id"])).workspace_id
    staff = await make_staff("clerk@example.com", await _workspace(shop_id))

    paid = await _pay(api, order["id"], as_user=staff.email)

    assert paid["errors"] == []
    assert paid["clientSecret"] is None
    assert (await Payment.get(id=paid["payment"]["id"])).client_secret


async def _workspace(workspace_id: Any) -> Any:
    from models import Workspace

    return await Workspace.get(id=workspace_id)


async def test_same_idempotency_key_returns_the_same_payment(api: GraphQLClient) -> None:
    order = await _order(api)

    first = await _pay(api, order["id"], "pm_card_visa", idempotencyKey="pay-1")
    await api.sandbox.drain()
    again = await _pay(api, order["id"], "pm_card_visa", idempotencyKey="pay-1")
    reused = await _pay(api, order["id"], "pm_card_chargeDeclined", idempotencyKey="pay-1")

    assert again["payment"]["id"] == first["payment"]["id"]
    assert again["payment"]["status"] == "SUCCEEDED"  # the order is PAID now, yet no error
    assert reused["payment"] is None
    assert reused["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await Payment.filter(order_id=order["id"]).count() == 1


async def test_gateways_lists_what_the_workspace_enabled(api: GraphQLClient) -> None:
    shop = await make_workspace("with")
    none = await make_workspace("without", enabled_gateways=[])
    query = "query G($w: ID!) { gateways(workspaceId: $w) { name config } }"

    enabled = await api(query, {"w": str(shop.id)})
    disabled = await api(query, {"w": str(none.id)})

    assert [g["name"] for g in enabled.data["gateways"]] == ["SANDBOX"]
    assert enabled.data["gateways"][0]["config"]["mode"] == "test"
    assert "secret" not in str(enabled.data["gateways"]).lower()
    assert disabled.data["gateways"] == []


# --------------------------------------------------------------------------- bad input


async def _payments_and_events() -> tuple[int, int]:
    return await Payment.all().count(), await PaymentEvent.filter(
        type__startswith="payment."
    ).count()


async def test_paying_a_paid_order_is_refused(api: GraphQLClient) -> None:
    order = await _order(api)
    await _pay(api, order["id"], "pm_card_visa")
    await api.sandbox.drain()
    before = await _payments_and_events()

    again = await _pay(api, order["id"], "pm_card_visa")

    assert again["errors"][0]["code"] == "ORDER_NOT_PAYABLE"
    assert again["errors"][0]["field"] == ["input", "orderId"]
    assert await _payments_and_events() == before


async def test_paying_a_cancelled_order_is_refused(api: GraphQLClient) -> None:
    order = await _order(api)
    cancel = "mutation C($id: ID!) { cancelOrder(input: {orderId: $id}) { errors { code } } }"
    cancelled = await api(cancel, {"id": order["id"]}, as_user=BUYER)
    assert cancelled.data["cancelOrder"]["errors"] == []

    refused = await _pay(api, order["id"], "pm_card_visa")

    assert refused["errors"][0]["code"] == "ORDER_NOT_PAYABLE"
    assert await _payments_and_events() == (0, 0)


async def test_paying_after_the_hold_expired_is_refused(api: GraphQLClient) -> None:
    order = await _order(api)
    await Order.filter(id=order["id"]).update(
        hold_expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    refused = await _pay(api, order["id"], "pm_card_visa")

    assert refused["errors"][0]["code"] == "ORDER_NOT_PAYABLE"
    assert "expired" in refused["errors"][0]["message"]
    assert await _payments_and_events() == (0, 0)


async def test_a_gateway_the_workspace_did_not_enable_is_refused(api: GraphQLClient) -> None:
    order = await _order(api, enabled_gateways=["STRIPE"])

    refused = await _pay(api, order["id"], "pm_card_visa")
    stripe = await api(
        INITIATE,
        {"input": {"orderId": order["id"], "gateway": "STRIPE"}},
        as_user=BUYER,
    )

    assert refused["errors"] == [
        {
            "code": "GATEWAY_NOT_ENABLED",
            "message": "SANDBOX is not enabled for this workspace",
            "field": ["input", "gateway"],
        }
    ]
    # Stripe is enabled by the workspace but not configured on this server.
    assert stripe.data["initiatePayment"]["errors"][0]["code"] == "GATEWAY_NOT_ENABLED"
    assert await _payments_and_events() == (0, 0)


async def test_an_unknown_payment_method_token_is_refused(api: GraphQLClient) -> None:
    order = await _order(api)

    refused = await _pay(api, order["id"], "pm_card_made_up")

    assert refused["errors"][0]["code"] == "PAYMENT_METHOD_INVALID"
    assert refused["errors"][0]["field"] == ["input", "paymentMethodToken"]
    assert await _payments_and_events() == (0, 0)


async def test_someone_elses_order_looks_like_no_order(api: GraphQLClient) -> None:
    order = await _order(api)

    theirs = await _pay(api, order["id"], "pm_card_visa", as_user="eve@example.com")
    malformed = await _pay(api, "not-an-id", "pm_card_visa")

    assert theirs["errors"][0]["code"] == "NOT_FOUND"
    assert malformed["errors"][0]["code"] == "INVALID_ID"
    assert await _payments_and_events() == (0, 0)


async def test_initiate_without_a_token_is_unauthenticated(api: GraphQLClient) -> None:
    order = await _order(api)

    response = await api(INITIATE, {"input": {"orderId": order["id"], "gateway": "SANDBOX"}})

    assert response.error_codes == ["UNAUTHENTICATED"]
    assert await _payments_and_events() == (0, 0)


async def test_a_bad_return_url_is_refused(api: GraphQLClient) -> None:
    order = await _order(api)

    refused = await _pay(api, order["id"], returnUrl="javascript:alert(1)")

    assert refused["errors"][0] == {
        "code": "VALIDATION",
        "message": "must be an absolute http(s) URL",
        "field": ["input", "returnUrl"],
    }
    assert await _payments_and_events() == (0, 0)


async def test_the_sandbox_sender_keeps_at_most_its_concurrency_in_flight() -> None:
    from gateways.sandbox import HttpWebhookSender

    in_flight = most = 0
    delivered: list[bytes] = []

    async def gateway_endpoint(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        delivered.append(request.content)
        return httpx.Response(200)

    sender = HttpWebhookSender(
        "http://payql.test/webhooks/sandbox",
        transport=httpx.MockTransport(gateway_endpoint),
        concurrency=4,
    )
    bodies = [f"event {n}".encode() for n in range(30)]
    await asyncio.gather(*(sender.send(body, {}) for body in bodies))
    await sender.aclose()

    assert most == 4
    assert sorted(delivered) == sorted(bodies)
