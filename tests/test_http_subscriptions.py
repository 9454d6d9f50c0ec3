"""Subscriptions over HTTP, against payql served by uvicorn: the graphql-sse protocol (the
reference client, in node) and Apollo's multipart subscriptions (parsed here per Apollo's
spec), each following a real sandbox payment to SUCCEEDED; the same token, limits and cost
as over websockets; and a subscription sent for a single JSON answer refused with a 406.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import serving
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    LiveServer,
    make_product,
    make_workspace,
    order_input,
)
from tests.js import node

BUYER = "ann@example.com"
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status } nextAction { redirectUrl } errors { code }
  }
}
"""
PAYMENT_STATUS = "subscription S($id: ID!) { paymentStatus(paymentId: $id) { id status } }"
MULTIPART = "multipart/mixed;subscriptionSpec=1.0"
STREAM_WAIT = 30  # seconds a stream may take before the test fails rather than hangs
# What Apollo Client sends for a subscription over HTTP.
APOLLO_ACCEPT = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'


async def _payment(client: GraphQLClient) -> dict[str, Any]:
    """A sandbox payment waiting for its hosted page: ``{payment, nextAction, errors}``."""
    shop = await make_workspace()
    product = await make_product(shop, price=1200)
    created = await client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    order_id = created.data["createOrder"]["order"]["id"]
    variables = {"input": {"orderId": order_id, "gateway": "SANDBOX"}}
    paid = (await client(PAY, variables, as_user=BUYER)).data["initiatePayment"]
    assert paid["errors"] == []
    assert paid["payment"]["status"] == "REQUIRES_ACTION"
    return paid  # type: ignore[no-any-return]


async def _click_pay(client: GraphQLClient, payment: dict[str, Any]) -> None:
    clicked = await client.http.post(payment["nextAction"]["redirectUrl"], data={"action": "pay"})
    assert clicked.status_code == 200


def _status(result: dict[str, Any]) -> str:
    return result["data"]["paymentStatus"]["status"]  # type: ignore[no-any-return]


async def test_the_graphql_sse_client_sees_a_payment_succeed(live: LiveServer) -> None:
    client = live.client
    payment = await _payment(client)
    variables = json.dumps({"id": payment["payment"]["id"]})

    script = await node.start(
        "sse.mjs",
        f"{live.base_url}/graphql",
        PAYMENT_STATUS,
        variables,
        env={"PAYQL_TOKEN": client.token(BUYER)},
    )
    first = json.loads(await script.line())  # subscribed: the payment as it is now
    await _click_pay(client, payment)
    code, rest, err = await script.finish()

    assert code == 0, err
    assert _status(first) == "REQUIRES_ACTION"
    *updates, last = [json.loads(line) for line in rest.splitlines()]
    assert [_status(update) for update in updates] == ["SUCCEEDED"]
    assert last == {"complete": True}


class MultipartParts:
    """The JSON parts of a multipart/mixed answer, read as Apollo Client reads Apollo's
    multipart HTTP protocol for subscriptions: each text before a ``\r\n--graphql``
    delimiter is a part (headers, a blank line, JSON), and ``--`` right after one closes the
    stream. ``{}`` is a heartbeat, ``{"payload": …}`` a result, ``{"errors": …}`` a
    transport error."""

    def __init__(self, response: httpx.Response) -> None:
        content_type = response.headers["content-type"]
        assert content_type.startswith("multipart/mixed;boundary=graphql;subscriptionSpec=1.0")
        self.chunks = response.aiter_text()
        self.buffer = ""
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        delimiter = "\r\n--graphql"
        while not self.closed:
            while delimiter not in self.buffer:
                self.buffer += await anext(self.chunks)
            part, self.buffer = self.buffer.split(delimiter, 1)
            self.closed = self.buffer.startswith("--")
            headers, _, body = part.partition("\r\n\r\n")
            if body.strip():
                assert "content-type: application/json" in headers.lower()
                yield json.loads(body)


async def _results(parts: MultipartParts) -> AsyncIterator[dict[str, Any]]:
    """The payloads, heartbeats skipped; a stream silent but for heartbeats past
    ``STREAM_WAIT`` seconds fails the test instead of hanging it."""
    async with asyncio.timeout(STREAM_WAIT):
        async for part in parts:
            assert "errors" not in part, part
            if part:
                yield part["payload"]


async def test_apollo_multipart_subscription_sees_a_payment_succeed(live: LiveServer) -> None:
    client = live.client
    payment = await _payment(client)
    body = {"query": PAYMENT_STATUS, "variables": {"id": payment["payment"]["id"]}}
    headers = {"accept": APOLLO_ACCEPT, "authorization": f"Bearer {client.token(BUYER)}"}

    statuses = []
    async with client.http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200
        parts = MultipartParts(response)
        async for result in _results(parts):
            statuses.append(_status(result))
            if statuses == ["REQUIRES_ACTION"]:
                await _click_pay(client, payment)

    assert statuses == ["REQUIRES_ACTION", "SUCCEEDED"]
    assert parts.closed


async def test_a_multipart_subscription_over_get_is_answered(live: LiveServer) -> None:
    client = live.client
    payment = await _payment(client)
    await _click_pay(client, payment)
    await client.sandbox.drain()  # the webhook applied: the stream opens on SUCCEEDED
    params = {"query": PAYMENT_STATUS, "variables": json.dumps({"id": payment["payment"]["id"]})}
    headers = {"accept": MULTIPART, "authorization": f"Bearer {client.token(BUYER)}"}

    async with client.http.stream("GET", "/graphql", params=params, headers=headers) as response:
        results = [result async for result in _results(MultipartParts(response))]

    assert [_status(result) for result in results] == ["SUCCEEDED"]


async def _sse_events(
    http: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> list[tuple[str, Any]]:
    """Every ``(event, data)`` of a graphql-sse stream, to its ``complete``."""
    headers = {"accept": "text/event-stream"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    events: list[tuple[str, Any]] = []
    async with (
        asyncio.timeout(STREAM_WAIT),
        http.stream("POST", "/graphql", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event is not None:
                data = line.removeprefix("data: ")
                events.append((event, json.loads(data) if data else None))
                if event == "complete":
                    break
    return events


def _codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result["errors"]]


async def test_an_sse_subscription_needs_a_token_as_over_websockets(live: LiveServer) -> None:
    payment = await _payment(live.client)
    body = {"query": PAYMENT_STATUS, "variables": {"id": payment["payment"]["id"]}}

    events = await _sse_events(live.client.http, body)

    [(kind, result), (last, _)] = events
    assert (kind, last) == ("next", "complete")
    assert _codes(result) == ["UNAUTHENTICATED"]


async def test_sse_subscriptions_are_held_to_the_document_limits_and_cost(db: str) -> None:
    aliases = "subscription { paymentStatus(paymentId: 1) { a: id b: id c: id d: id } }"
    async with serving(PAYQL_MAX_ALIASES=3) as server:
        too_many = await _sse_events(server.client.http, {"query": aliases})
    async with serving(PAYQL_MAX_COST=1) as server:
        too_costly = await _sse_events(
            server.client.http, {"query": PAYMENT_STATUS, "variables": {"id": "1"}}
        )

    assert _codes(too_many[0][1]) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "aliases" in too_many[0][1]["errors"][0]["message"]
    assert _codes(too_costly[0][1]) == ["QUERY_TOO_COSTLY"]
    assert [kind for kind, _ in too_many + too_costly] == ["next", "complete"] * 2


@pytest.mark.parametrize(
    "accept", [None, "application/json", "application/graphql-response+json", "*/*"]
)
async def test_a_subscription_asking_for_one_json_answer_is_406(
    api: GraphQLClient, accept: str | None
) -> None:
    headers = {"accept": accept} if accept else {}
    body = {"query": PAYMENT_STATUS, "variables": {"id": "1"}}
    posted = await api.http.post("/graphql", json=body, headers=headers)
    got = await api.http.get(
        "/graphql", params={"query": PAYMENT_STATUS, "variables": '{"id": "1"}'}, headers=headers
    )

    for response in (posted, got):
        assert response.status_code == 406
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "STREAM_REQUIRED"
        assert "text/event-stream" in error["message"]
        assert "multipart/mixed;subscriptionSpec=1.0" in error["message"]
