"""Connection hygiene of ``payql serve`` (real processes, real sockets) and the hosted pages'
anti-framing headers (through the real ASGI app)."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from app.main import create_app
from app.settings import Settings
from gateways.registry import GatewayRegistry
from gateways.sandbox import Ticket
from tests.conftest import SECRET
from tests.fake_razorpay import FakeRazorpay
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input

PAYQL = str(Path(sys.executable).parent / "payql")
HEADER_TIMEOUT = 1.0
GRAPHQL_WS = Subprotocol("graphql-transport-ws")
GENEROUS = 30.0  # a client-side bound only: the server closes long before


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``payql serve`` in development on SQLite, with a one-second header timeout."""
    folder = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite://{folder / 'serve.sqlite3'}",
        "PAYQL_ENV": "development",
        "PAYQL_JWT_SECRET": SECRET,
        "PAYQL_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "PAYQL_KEEP_ALIVE_TIMEOUT": "1",
    }
    for name in ("REDIS_URL", "PAYQL_TEST_DATABASE_URL"):
        env.pop(name, None)
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [PAYQL, "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise AssertionError((folder / "serve.log").read_text())
            with suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("payql serve did not start")
        yield "127.0.0.1", port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (b"" from the start when
    it closes without answering). A client-side timeout means it never closed."""
    sock.settimeout(GENEROUS)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_connection_that_sends_nothing_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        assert _read_until_closed(sock) == b""


def test_a_connection_that_sends_half_a_header_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: payql\r\nX-Slow: ")
        assert _read_until_closed(sock) == b""


def test_half_a_second_request_on_a_kept_alive_connection_is_closed(
    server: tuple[str, int],
) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: payql\r\n\r\n")
        sock.settimeout(GENEROUS)
        first = b""
        while not first.endswith(b'{"status":"ok"}'):
            first += sock.recv(65536)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: pay")
        rest = _read_until_closed(sock)

    assert first.startswith(b"HTTP/1.1 200")
    assert rest == b""


def test_a_complete_request_is_answered(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: payql\r\nConnection: close\r\n\r\n")
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b'{"status":"ok"}')


def test_a_request_whose_headers_arrived_is_not_cut_by_the_header_timeout(
    server: tuple[str, int],
) -> None:
    body = b'{"query":"{ __typename }"}'
    with socket.create_connection(server) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: payql\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        time.sleep(HEADER_TIMEOUT * 2)  # the header timer fires while the body is awaited
        sock.sendall(body)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"__typename":"Query"' in answer


async def test_a_websocket_outlives_the_header_timeout(server: tuple[str, int]) -> None:
    host, port = server
    async with connect(f"ws://{host}:{port}/graphql", subprotocols=[GRAPHQL_WS]) as ws:
        await asyncio.sleep(HEADER_TIMEOUT * 3)  # the header timer has long fired
        await ws.send('{"type":"connection_init","payload":{}}')
        ack = await asyncio.wait_for(ws.recv(), GENEROUS)
    assert '"connection_ack"' in str(ack)


async def test_a_websocket_frame_over_the_body_limit_closes_the_socket(
    server: tuple[str, int],
) -> None:
    host, port = server
    async with connect(
        f"ws://{host}:{port}/graphql", subprotocols=[GRAPHQL_WS], max_size=None
    ) as ws:
        await ws.send("x" * (Settings().max_body_bytes + 1))
        await asyncio.wait_for(ws.wait_closed(), GENEROUS)
    assert ws.close_code == 1009  # message too big


# ------------------------------------------------------------------ anti-framing
def _assert_not_frameable(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_sandbox_pages_refuse_to_be_framed(api: GraphQLClient) -> None:
    ticket = Ticket(
        reference="sbx_1",
        payment_id=str(uuid4()),
        order_number="A-1",
        amount=500,
        currency="USD",
        kind="checkout",
        return_url="https://shop.example/thanks",
    )
    url = f"/sandbox/checkout/{api.sandbox.seal(ticket)}"

    page = await api.http.get(url)
    unknown = await api.http.get("/sandbox/checkout/not-a-ticket")

    assert page.status_code == 200
    assert unknown.status_code == 404
    for response in (page, unknown):
        _assert_not_frameable(response)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy  # no script may run on it
        assert "style-src 'unsafe-inline'" in policy  # its one inline style still applies


@pytest.fixture
async def razorpay(
    db: str, settings: Settings
) -> AsyncIterator[tuple[GraphQLClient, FakeRazorpay]]:
    fake = FakeRazorpay()
    registry = GatewayRegistry({"RAZORPAY": fake.gateway()})
    app = create_app(settings, manage_database=False, gateways=registry, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield GraphQLClient(http, settings, app=app), fake
    await registry.aclose()


async def test_the_hosted_checkout_and_return_pages_refuse_to_be_framed(
    razorpay: tuple[GraphQLClient, FakeRazorpay],
) -> None:
    api, fake = razorpay
    workspace = await make_workspace("framing", enabled_gateways=["RAZORPAY"])
    product = await make_product(workspace, currency="USD")
    created = await api(
        CREATE_ORDER, order_input(workspace, (product, 1)), as_user="buyer@example.com"
    )
    order_id = created.data["createOrder"]["order"]["id"]  # no success URL: a status page
    paid = await api(
        "mutation P($input: InitiatePaymentInput!) { initiatePayment(input: $input) "
        "{ payment { reference } nextAction { redirectUrl } errors { code } } }",
        {"input": {"orderId": order_id, "gateway": "RAZORPAY"}},
        as_user="buyer@example.com",
    )
    started = paid.data["initiatePayment"]
    reference = started["payment"]["reference"]

    checkout = await api.http.get(started["nextAction"]["redirectUrl"])
    fake.buyer_pays(reference)
    back = await api.http.post(
        "/payments/return/razorpay",
        params={"payql_reference": reference},
        data=fake.return_params(reference),
    )

    assert checkout.status_code == 200
    assert back.status_code == 200
    assert "payment SUCCEEDED" in back.text
    for page in (checkout, back):
        _assert_not_frameable(page)
