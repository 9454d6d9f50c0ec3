"""``payql serve`` on any port: the public URL follows the listener unless set, the sandbox
delivers its webhooks to this server's own address, and a public URL that leads elsewhere
is reported. Real ``payql serve`` processes on free ports, each over its own SQLite file."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import issue_token
from app.serving import PROBE_HEADER, ProbeEcho, own_url
from app.settings import Settings
from tests.conftest import SECRET
from tests.ws import graphql_ws

PAYQL = str(Path(sys.executable).parent / "payql")
BUYER = "buyer@example.com"
TOKENS = Settings(PAYQL_JWT_SECRET=SECRET)
CATALOG = '{ workspace(slug: "demo") { id products { id name } } }'
CREATE = """mutation C($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id } errors { code } } }"""
PAY = """mutation P($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } nextAction { redirectUrl } } }"""
PAYMENT_STATUS = "subscription S($id: ID!) { paymentStatus(paymentId: $id) { status } }"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """One ``payql serve --port N`` in development over a SQLite file of its own."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"serve-{self.port}.log"
        self.env = {
            "PATH": os.environ["PATH"],
            "DATABASE_URL": f"sqlite://{tmp_path / f'{self.port}.sqlite3'}",
            "PAYQL_ENV": "development",
            "PAYQL_JWT_SECRET": SECRET,
            "PAYQL_JOB_INTERVAL": "0.2",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.cwd = tmp_path  # no .env from the checkout
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> "Served":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220 (it starts; we poll below)
                [PAYQL, "serve", "--port", str(self.port)],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        async with httpx.AsyncClient(trust_env=False) as http:
            for _ in range(600):
                if self.process.poll() is not None:
                    raise AssertionError(f"payql serve exited:\n{self.log.read_text()}")
                with suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                await asyncio.sleep(0.1)
        raise AssertionError(f"payql serve did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    async def wait_for_line(self, *candidates: str) -> str:
        """The first of ``candidates`` to appear in the log (polled; the server keeps running)."""
        for _ in range(600):
            text = self.log.read_text()
            for candidate in candidates:
                if candidate in text:
                    return candidate
            await asyncio.sleep(0.1)
        raise AssertionError(f"none of {candidates} in:\n{self.log.read_text()}")


@asynccontextmanager
async def served(tmp_path: Path, **env: str) -> AsyncIterator[Served]:
    server = Served(tmp_path, **env)
    try:
        yield await server.start()
    finally:
        server.stop()


async def gql(server: Served, query: str, variables: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(timeout=20, trust_env=False) as http:
        response = await http.post(
            f"{server.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {issue_token(TOKENS, email=BUYER)}"},
        )
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def start_payment(server: Served) -> tuple[str, str]:
    """A VIP Pass order paid through the sandbox's hosted checkout: (payment id, its URL)."""
    catalog = (await gql(server, CATALOG))["workspace"]
    product = next(p for p in catalog["products"] if p["name"] == "VIP Pass")
    items = [{"productId": product["id"], "quantity": 1}]
    created = await gql(server, CREATE, {"input": {"workspaceId": catalog["id"], "items": items}})
    order_id = created["createOrder"]["order"]["id"]
    paid = await gql(server, PAY, {"input": {"orderId": order_id, "gateway": "SANDBOX"}})
    payload = paid["initiatePayment"]
    return payload["payment"]["id"], payload["nextAction"]["redirectUrl"]


async def pay_and_watch(server: Served, payment_id: str, checkout: str) -> list[str]:
    """Subscribe to the payment, pay on ``checkout``, return every status seen."""
    seen: list[str] = []
    async with graphql_ws(f"ws://127.0.0.1:{server.port}/graphql") as ws:
        await ws.init(issue_token(TOKENS, email=BUYER))
        await ws.subscribe("p", PAYMENT_STATUS, {"id": payment_id})
        while not seen or seen[-1] not in ("SUCCEEDED", "FAILED"):
            kind, _, payload = await ws.next_event(20)
            assert kind == "next", payload
            seen.append(payload["data"]["paymentStatus"]["status"])
            if seen == ["REQUIRES_ACTION"]:
                async with httpx.AsyncClient(trust_env=False) as http:
                    answer = await http.post(checkout, data={"action": "pay"})
                assert answer.status_code == 200
    return seen


async def test_a_sandbox_payment_on_any_port_succeeds_live_without_a_public_url(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as server:
        payment_id, checkout = await start_payment(server)
        seen = await pay_and_watch(server, payment_id, checkout)

    assert checkout.startswith(f"{server.url}/sandbox/checkout/")
    assert seen == ["REQUIRES_ACTION", "SUCCEEDED"]
    log = server.log.read_text()
    assert f"payql (development) on {server.url}/graphql" in log
    assert "sandbox webhook attempt" not in log  # the first delivery reached this server
    assert "PAYQL_PUBLIC_URL" not in log  # nothing to probe


async def test_a_public_url_elsewhere_is_warned_about_and_webhooks_still_arrive(
    tmp_path: Path,
) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with served(tmp_path, PAYQL_PUBLIC_URL=elsewhere) as server:
        warning = await server.wait_for_line("does not reach this server", "reaches this server")
        payment_id, checkout = await start_payment(server)
        # The buyer's browser would follow the public URL; the test reaches the page directly.
        direct = checkout.replace(elsewhere, server.url)
        seen = await pay_and_watch(server, payment_id, direct)

    assert warning == "does not reach this server"
    assert checkout.startswith(f"{elsewhere}/sandbox/checkout/")
    assert seen == ["REQUIRES_ACTION", "SUCCEEDED"]
    assert "sandbox webhook attempt" not in server.log.read_text()


async def test_a_public_url_reaching_this_server_another_way_is_not_warned_about(
    tmp_path: Path,
) -> None:
    server = Served(tmp_path)
    server.env["PAYQL_PUBLIC_URL"] = f"http://localhost:{server.port}/"  # another name for it
    try:
        await server.start()
        seen = await server.wait_for_line("does not reach this server", "reaches this server")
    finally:
        server.stop()
    assert seen == "reaches this server"


async def test_another_payql_on_the_public_url_does_not_pass_the_probe(tmp_path: Path) -> None:
    async with (
        served(tmp_path) as other,
        served(tmp_path, PAYQL_PUBLIC_URL=other.url) as server,
    ):
        seen = await server.wait_for_line("does not reach this server", "reaches this server")
    assert seen == "does not reach this server"


def test_serve_on_a_taken_port_fails_in_one_line_before_printing_anything(
    tmp_path: Path,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(
            [PAYQL, "serve", "--port", str(port)],
            cwd=tmp_path,
            env={
                "PATH": os.environ["PATH"],
                "DATABASE_URL": f"sqlite://{tmp_path / 'taken.sqlite3'}",
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2
    assert done.stdout == ""  # no tokens, no "open it in a browser"
    assert done.stderr.splitlines() == [
        f"payql: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert not (tmp_path / "taken.sqlite3").exists()  # nothing migrated either


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8101"),
        ("0.0.0.0", "http://127.0.0.1:8101"),  # noqa: S104
        ("::", "http://[::1]:8101"),
        ("::1", "http://[::1]:8101"),
        ("localhost", "http://localhost:8101"),
    ],
)
def test_own_url_reaches_a_wildcard_listener_through_loopback(host: str, url: str) -> None:
    assert own_url(host, 8101) == url


def test_the_public_url_follows_the_listener_unless_set() -> None:
    listening = {"PAYQL_LISTEN_URL": "http://127.0.0.1:8101", "_env_file": None}
    assert Settings(**listening).public_url == "http://127.0.0.1:8101"  # type: ignore[arg-type]
    chosen = Settings(PAYQL_PUBLIC_URL="https://pay.example.com", **listening)  # type: ignore[arg-type]
    assert chosen.public_url == "https://pay.example.com"
    assert chosen.listen_url == "http://127.0.0.1:8101"


async def test_the_probe_echo_answers_only_its_own_nonce() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = ProbeEcho(app, "nonce-1")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=wrapped), base_url="http://payql.test"
    ) as http:
        own = await http.get("/healthz", headers={PROBE_HEADER: "nonce-1"})
        other = await http.get("/healthz", headers={PROBE_HEADER: "nonce-2"})
        plain = await http.get("/healthz")
        elsewhere = await http.get("/graphql", headers={PROBE_HEADER: "nonce-1"})

    assert (own.status_code, own.headers[PROBE_HEADER], own.json()) == (
        200,
        "nonce-1",
        {"status": "ok"},
    )
    assert [r.status_code for r in (other, plain, elsewhere)] == [204, 204, 204]
    assert PROBE_HEADER not in other.headers
