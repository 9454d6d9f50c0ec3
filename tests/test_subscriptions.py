"""Live updates over real websockets, against payql served by uvicorn.

Both protocols (graphql-transport-ws and the legacy graphql-ws) are exercised; the sandbox
delivers its webhooks over real HTTP to the same server.
"""

from typing import Any

import pytest

from models import Payment
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    LiveServer,
    make_product,
    make_staff,
    make_workspace,
    order_input,
    wait_subscribed,
)
from tests.ws import LEGACY_WS, TRANSPORT_WS, graphql_ws

BUYER = "ann@example.com"
PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])

PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status } nextAction { redirectUrl } errors { code }
  }
}
"""
PAYMENT_STATUS = """
subscription S($id: ID!) { paymentStatus(paymentId: $id) { id status failureCode } }
"""
ORDER_UPDATES = """
subscription O($id: ID!) {
  orderUpdates(orderId: $id) { status amountPaid { amount } payments { status } }
}
"""
WORKSPACE_EVENTS = """
subscription W($id: ID!) { workspaceEvents(workspaceId: $id) { type fromStatus toStatus } }
"""


async def _order(client: GraphQLClient) -> tuple[Any, str]:
    shop = await make_workspace()
    product = await make_product(shop, price=1200)
    created = await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    return shop, created.data["createOrder"]["order"]["id"]


async def _pay(client: GraphQLClient, order_id: str, token: str | None = None) -> dict[str, Any]:
    variables: dict[str, Any] = {"input": {"orderId": order_id, "gateway": "SANDBOX"}}
    if token:
        variables["input"]["paymentMethodToken"] = token
    response = await client(PAY, variables, as_user=BUYER)
    payload = response.data["initiatePayment"]
    assert payload["errors"] == [], payload
    return payload  # type: ignore[no-any-return]


def _statuses(received: list[tuple[str, Any]], field: str) -> list[Any]:
    return [payload["data"][field]["status"] for kind, payload in received if kind == "next"]


@PROTOCOLS
async def test_payment_status_follows_checkout_to_succeeded_then_completes(
    live: LiveServer, protocol: str
) -> None:
    client = live.client
    _, order_id = await _order(client)
    payment = await _pay(client, order_id)
    token = client.token(BUYER)

    async with graphql_ws(live.ws_url, protocol) as ws:
        assert (await ws.init(token))["type"] == "connection_ack"
        await ws.subscribe("1", PAYMENT_STATUS, {"id": payment["payment"]["id"]})
        first = await ws.next_event()
        assert first[0] == "next"
        assert first[2]["data"]["paymentStatus"]["status"] == "REQUIRES_ACTION"

        clicked = await client.http.post(
            payment["nextAction"]["redirectUrl"], data={"action": "pay"}
        )
        assert clicked.status_code == 200
        rest = await ws.collect("1")

    assert _statuses(rest, "paymentStatus") == ["SUCCEEDED"]
    assert rest[-1][0] == "complete"
    order = await client(
        "query Q($id: ID!) { order(id: $id) { status } }", {"id": order_id}, as_user=BUYER
    )
    assert order.data["order"]["status"] == "PAID"


@PROTOCOLS
async def test_processing_then_webhook_reaches_the_subscriber(
    live: LiveServer, protocol: str
) -> None:
    client = live.client
    client.sandbox.processing_delay = 0.3
    _, order_id = await _order(client)
    payment = await _pay(client, order_id, "pm_card_processing")

    async with graphql_ws(live.ws_url, protocol) as ws:
        await ws.init(client.token(BUYER))
        await ws.subscribe("p", PAYMENT_STATUS, {"id": payment["payment"]["id"]})
        received = await ws.collect("p")

    assert _statuses(received, "paymentStatus") == ["PROCESSING", "SUCCEEDED"]


async def test_failed_three_d_secure_is_final(live: LiveServer) -> None:
    client = live.client
    _, order_id = await _order(client)
    payment = await _pay(client, order_id, "pm_card_authenticationRequired")

    async with graphql_ws(live.ws_url) as ws:
        await ws.init(client.token(BUYER))
        await ws.subscribe("3ds", PAYMENT_STATUS, {"id": payment["payment"]["id"]})
        assert (await ws.next_event())[2]["data"]["paymentStatus"]["status"] == "REQUIRES_ACTION"
        await client.http.post(payment["nextAction"]["redirectUrl"], data={"action": "fail"})
        received = await ws.collect("3ds")

    nexts = [p["data"]["paymentStatus"] for kind, p in received if kind == "next"]
    assert [(p["status"], p["failureCode"]) for p in nexts] == [("FAILED", "authentication_failed")]


@PROTOCOLS
async def test_staff_see_every_transition_in_order(live: LiveServer, protocol: str) -> None:
    client = live.client
    shop = await make_workspace()
    product = await make_product(shop, price=1200)
    staff = await make_staff("clerk@example.com", shop)

    async with graphql_ws(live.ws_url, protocol) as ws:
        await ws.init(client.token(staff.email))
        await ws.subscribe("w", WORKSPACE_EVENTS, {"id": str(shop.id)})
        await wait_subscribed(f"workspace:{shop.id}")

        created = await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        order_id = created.data["createOrder"]["order"]["id"]
        await _pay(client, order_id, "pm_card_chargeDeclined")
        await client.sandbox.drain()
        await _pay(client, order_id, "pm_card_visa")

        seen: list[tuple[str, str | None, str | None]] = []
        while not seen or seen[-1][0] != "order.paid":
            kind, _, payload = await ws.next_event()
            assert kind == "next", payload
            event = payload["data"]["workspaceEvents"]
            seen.append((event["type"], event["fromStatus"], event["toStatus"]))

    assert seen == [
        ("order.created", None, "PENDING"),
        ("payment.created", None, "PENDING"),
        ("payment.processing", "PENDING", "PROCESSING"),
        ("payment.failed", "PROCESSING", "FAILED"),
        ("payment.created", None, "PENDING"),
        ("payment.processing", "PENDING", "PROCESSING"),
        ("payment.succeeded", "PROCESSING", "SUCCEEDED"),
        ("order.paid", "PENDING", "PAID"),
    ]


REFUND = """
mutation R($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { status } errors { code } }
}
"""


async def _next_types(ws: Any, until: str) -> list[str]:
    """Collect ``workspaceEvents`` types until (and including) ``until``."""
    seen: list[str] = []
    while not seen or seen[-1] != until:
        kind, _, payload = await ws.next_event()
        assert kind == "next", payload
        seen.append(payload["data"]["workspaceEvents"]["type"])
    return seen


async def test_staff_see_disputes_and_refunds_live(live: LiveServer) -> None:
    client = live.client
    shop = await make_workspace()
    product = await make_product(shop, price=1200)
    staff = await make_staff("clerk@example.com", shop)

    async with graphql_ws(live.ws_url) as ws:
        await ws.init(client.token(staff.email))
        await ws.subscribe("w", WORKSPACE_EVENTS, {"id": str(shop.id)})
        await wait_subscribed(f"workspace:{shop.id}")

        created = await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        order_id = created.data["createOrder"]["order"]["id"]
        paid = await _pay(client, order_id, "pm_card_createDispute")
        opened = await _next_types(ws, "dispute.opened")

        payment = await Payment.get(id=paid["payment"]["id"])
        client.sandbox.close_dispute(payment.reference or "", won=True)
        closed = await _next_types(ws, "dispute.closed")

        refund = {"paymentId": str(payment.id), "amount": 200}
        answer = await client(REFUND, {"input": refund}, as_user=staff.email)
        assert answer.data["requestRefund"]["errors"] == []
        refunded = await _next_types(ws, "order.partially_refunded")

    assert opened[-3:] == ["payment.succeeded", "order.paid", "dispute.opened"]
    assert closed == ["dispute.closed"]
    assert refunded == ["refund.requested", "refund.succeeded", "order.partially_refunded"]


async def test_order_updates_reload_their_data_for_every_emission(live: LiveServer) -> None:
    client = live.client
    _, order_id = await _order(client)

    async with graphql_ws(live.ws_url) as ws:
        await ws.init(client.token(BUYER))
        await ws.subscribe("o", ORDER_UPDATES, {"id": order_id})
        _, _, first = await ws.next_event()
        assert first["data"]["orderUpdates"] == {
            "status": "PENDING",
            "amountPaid": {"amount": 0},
            "payments": [],
        }
        await _pay(client, order_id, "pm_card_visa")
        emissions: list[dict[str, Any]] = []
        while not emissions or emissions[-1]["status"] != "PAID":
            _, _, payload = await ws.next_event()
            emissions.append(payload["data"]["orderUpdates"])

    # Stale DataLoaders would keep showing the empty payment list of the first emission.
    # (Each emission re-reads the order, so the one for payment.created may already see
    # the PROCESSING answer that committed right after it.)
    assert emissions[0]["payments"] in ([{"status": "PENDING"}], [{"status": "PROCESSING"}])
    assert emissions[-1] == {
        "status": "PAID",
        "amountPaid": {"amount": 1200},
        "payments": [{"status": "SUCCEEDED"}],
    }


@PROTOCOLS
async def test_someone_elses_payment_yields_an_error_and_no_data(
    live: LiveServer, protocol: str
) -> None:
    client = live.client
    _, order_id = await _order(client)
    payment = await _pay(client, order_id)

    async with graphql_ws(live.ws_url, protocol) as ws:
        await ws.init(client.token("eve@example.com"))
        await ws.subscribe("x", PAYMENT_STATUS, {"id": payment["payment"]["id"]})
        received = await ws.collect("x")

    assert all(not (payload or {}).get("data") for _, payload in received)
    codes = _error_codes(received)
    assert codes == ["NOT_FOUND"]


@PROTOCOLS
async def test_subscribing_without_a_token_is_unauthenticated(
    live: LiveServer, protocol: str
) -> None:
    client = live.client
    _, order_id = await _order(client)

    async with graphql_ws(live.ws_url, protocol) as ws:
        await ws.init(None)
        await ws.subscribe("u", ORDER_UPDATES, {"id": order_id})
        received = await ws.collect("u")

    assert _error_codes(received) == ["UNAUTHENTICATED"]


async def test_a_customer_cannot_watch_a_workspace(live: LiveServer) -> None:
    client = live.client
    shop, _ = await _order(client)

    async with graphql_ws(live.ws_url) as ws:
        await ws.init(client.token(BUYER))
        await ws.subscribe("w", WORKSPACE_EVENTS, {"id": str(shop.id)})
        received = await ws.collect("w")

    assert _error_codes(received) == ["NOT_FOUND"]


async def test_subscriptions_per_connection_are_capped(live: LiveServer) -> None:
    client = live.client
    shop = await make_workspace()
    staff = await make_staff("clerk@example.com", shop)
    cap = live.client.settings.max_subscriptions_per_connection

    async with graphql_ws(live.ws_url) as ws:
        await ws.init(client.token(staff.email))
        for n in range(cap):
            await ws.subscribe(f"s{n}", WORKSPACE_EVENTS, {"id": str(shop.id)})
        await wait_subscribed(f"workspace:{shop.id}")  # identical subscriptions share one
        await ws.subscribe("over", WORKSPACE_EVENTS, {"id": str(shop.id)})
        kind, op_id, payload = await ws.next_event()

    assert (kind, op_id) == ("error", "over")
    assert "limit" in str(payload).lower()


def _error_codes(received: list[tuple[str, Any]]) -> list[str]:
    codes = []
    for kind, payload in received:
        errors = payload if kind == "error" else (payload or {}).get("errors") or []
        if isinstance(errors, dict):
            errors = [errors]
        codes += [e.get("extensions", {}).get("code") for e in errors]
    return codes
