"""Websocket hygiene over real uvicorn: refused tokens, idle anonymous connections, message
and document limits, the cost limit; both protocols."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.auth import issue_token
from app.settings import Settings
from tests.conftest import serving
from tests.helpers import LiveServer, make_product, make_workspace
from tests.ws import LEGACY_WS, TRANSPORT_WS, GraphQLWebSocket, graphql_ws

BUYER = "ann@example.com"
PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
PAYMENT_STATUS = 'subscription { paymentStatus(paymentId: "p") { status } }'


@pytest.fixture
async def tight(db: str) -> AsyncIterator[LiveServer]:
    """payql with small limits: anonymous websockets idle out after 0.3 s."""
    async with serving(
        PAYQL_WS_IDLE_TIMEOUT=0.3,
        PAYQL_MAX_BODY_BYTES=5_000,
        PAYQL_MAX_QUERY_BYTES=1_000,
        PAYQL_MAX_COST=100,
    ) as server:
        yield server


async def _closed(ws: GraphQLWebSocket, wait: float = 5.0) -> tuple[int, str]:
    """The close code and reason the server sent (every message before it ignored)."""
    with pytest.raises(ConnectionClosed) as closed:
        await _drain(ws, wait)
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


async def _drain(ws: GraphQLWebSocket, wait: float) -> None:
    while True:
        await ws.receive(wait)


def _bad_tokens(settings: Settings) -> list[str]:
    expired = issue_token(settings, email=BUYER, ttl=timedelta(seconds=-60))
    foreign = issue_token(Settings(PAYQL_JWT_SECRET="another-" + "k" * 40), email=BUYER)
    return ["not-a-jwt", expired, foreign]


async def test_a_refused_token_closes_graphql_transport_ws_with_4403(live: LiveServer) -> None:
    for token in _bad_tokens(live.client.settings):
        async with graphql_ws(live.ws_url, TRANSPORT_WS) as ws:
            await ws.send(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
            )
            assert await _closed(ws) == (4403, "Forbidden")


async def test_a_refused_token_gets_connection_error_over_legacy_graphql_ws(
    live: LiveServer,
) -> None:
    for token in _bad_tokens(live.client.settings):
        async with graphql_ws(live.ws_url, LEGACY_WS) as ws:
            answer = await ws.init(token)
            code, _ = await _closed(ws)

        assert answer == {
            "type": "connection_error",
            "payload": {"message": "invalid or expired token"},
        }
        assert token not in json.dumps(answer)
        assert code == 1011


@PROTOCOLS
async def test_a_non_string_authorization_is_refused(live: LiveServer, protocol: str) -> None:
    async with graphql_ws(live.ws_url, protocol) as ws:
        await ws.send({"type": "connection_init", "payload": {"Authorization": 42}})
        if protocol == LEGACY_WS:
            assert (await ws.receive())["type"] == "connection_error"
        code, _ = await _closed(ws)

    assert code == (4403 if protocol == TRANSPORT_WS else 1011)


@PROTOCOLS
async def test_an_idle_anonymous_connection_is_closed(tight: LiveServer, protocol: str) -> None:
    async with graphql_ws(tight.ws_url, protocol) as ws:
        assert (await ws.init(None))["type"] == "connection_ack"
        assert await _closed(ws) == (1000, "idle")


@PROTOCOLS
async def test_a_connection_that_never_initialises_is_closed(
    tight: LiveServer, protocol: str
) -> None:
    async with graphql_ws(tight.ws_url, protocol) as ws:
        assert await _closed(ws) == (1000, "idle")


async def test_a_refused_token_on_the_upgrade_request_closes_with_4403(live: LiveServer) -> None:
    headers = {"Authorization": "Bearer not-a-jwt"}
    async with connect(
        live.ws_url,
        subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
        additional_headers=headers,
    ) as connection:
        ws = GraphQLWebSocket(connection, TRANSPORT_WS)
        await ws.send({"type": "connection_init", "payload": {}})
        assert await _closed(ws) == (4403, "Forbidden")


@PROTOCOLS
async def test_a_signed_in_connection_is_not_closed_when_idle(
    tight: LiveServer, protocol: str
) -> None:
    async with graphql_ws(tight.ws_url, protocol) as ws:
        assert (await ws.init(tight.client.token(BUYER)))["type"] == "connection_ack"
        with pytest.raises(TimeoutError):
            await ws.receive(wait=1.0)  # three idle timeouts: still open
        await ws.subscribe("1", PAYMENT_STATUS)
        kind, op_id, _ = await ws.next_event()

    assert (kind, op_id) == ("next", "1")  # answered (NOT_FOUND): the connection is open


async def test_an_anonymous_connection_with_an_operation_running_stays_open(
    tight: LiveServer,
) -> None:
    shop = await make_workspace()
    await make_product(shop)
    subscription = f'subscription {{ workspaceEvents(workspaceId: "{shop.id}") {{ type }} }}'

    async with graphql_ws(tight.ws_url, TRANSPORT_WS) as ws:
        await ws.init(None)
        await ws.subscribe("q", '{ workspace(slug: "acme") { name } }')
        kind, _, payload = await ws.next_event()
        await ws.subscribe("s", subscription)  # refused: anonymous, so it ends at once
        await ws.next_event()
        code, reason = await _closed(ws)

    assert (kind, payload["data"]) == ("next", {"workspace": {"name": "Acme"}})
    assert (code, reason) == (1000, "idle")


@PROTOCOLS
async def test_a_message_over_the_body_limit_closes_the_connection(
    tight: LiveServer, protocol: str
) -> None:
    async with graphql_ws(tight.ws_url, protocol) as ws:
        await ws.init(tight.client.token(BUYER))
        await ws.send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": "{ me { email } }", "pad": "x" * 6_000},
            }
        )
        assert await _closed(ws) == (1009, "message too big")


async def test_a_document_over_the_length_limit_is_refused_over_websockets(
    tight: LiveServer,
) -> None:
    long = "{ me { email } " + " " * 1_000 + "}"

    async with graphql_ws(tight.ws_url, TRANSPORT_WS) as ws:
        await ws.init(tight.client.token(BUYER))
        await ws.subscribe("1", long)
        code, reason = await _closed(ws)

    # graphql-transport-ws answers a document that does not parse by closing with 4400.
    assert code == 4400
    assert reason == "Syntax Error: Source contains more than 1000 code points. Parsing aborted."


async def test_a_costly_operation_is_refused_over_websockets(tight: LiveServer) -> None:
    # orderUpdates 1 + payments (1 + 10 × refunds (1 + 10 × id))
    costly = 'subscription { orderUpdates(orderId: "o") { payments { refunds { id } } } }'

    async with graphql_ws(tight.ws_url, LEGACY_WS) as legacy, graphql_ws(tight.ws_url) as ws:
        for client in (legacy, ws):
            await client.init(tight.client.token(BUYER))
            await client.subscribe("c", costly)
        answers = [await legacy.next_event(), await ws.next_event()]

    for kind, op_id, payload in answers:
        errors = payload if isinstance(payload, list) else [payload]
        assert (kind, op_id) == ("error", "c")
        assert errors[0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 112, "maxCost": 100}
