"""Production mode with real processes: several ``payql serve`` workers over one PostgreSQL
and one Redis. Each test gets a fresh database (migrated by the first worker, as ``payql
serve`` does) and its own workers; assertions read PostgreSQL directly.

Needs PostgreSQL and Redis (skipped with the reason when unreachable; ``.ci/run`` sets
``PAYQL_REQUIRE_POSTGRES=1``, which turns the skip into a failure).
"""

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from app.auth import issue_token
from app.settings import Settings
from tests.conftest import SECRET
from tests.ws import graphql_ws

pytestmark = pytest.mark.postgres

PAYQL = str(Path(sys.executable).parent / "payql")
BUYER = "buyer@example.com"  # the demo customer
REDIS = os.environ.get("PAYQL_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
TOKEN_SETTINGS = Settings(PAYQL_JWT_SECRET=SECRET)

PAYMENT_STATUS = "subscription S($id: ID!) { paymentStatus(paymentId: $id) { status } }"
ORDER_UPDATES = "subscription O($id: ID!) { orderUpdates(orderId: $id) { status } }"
CATALOG = '{ workspace(slug: "demo") { id products { id name } } }'
CREATE = """
mutation C($input: CreateOrderInput!) {
  createOrder(input: $input) { order { id } errors { code } }
}
"""
PAY = """
mutation P($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    payment { id status } nextAction { redirectUrl } errors { code }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis_reachable(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


@pytest.fixture
async def database(require_postgres_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards."""
    if not _redis_reachable(REDIS):
        reason = f"Redis not reachable at {REDIS}"
        if os.environ.get("PAYQL_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"payql_prod_{secrets.token_hex(4)}"
    server = require_postgres_url.rstrip("/")
    admin = await asyncpg.connect(f"{server}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Worker:
    """One ``payql serve`` process."""

    def __init__(
        self, database_url: str, redis_url: str, log: Path, *args: str, **env: str
    ) -> None:
        self.args = args
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/graphql"
        self.log = log
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PAYQL_ENV": "development",
            "PAYQL_JWT_SECRET": SECRET,
            "PAYQL_PUBLIC_URL": self.url,
            "PAYQL_SANDBOX_WEBHOOK_SECRET": "shared-by-every-worker-" + "w" * 16,
            "PAYQL_JOB_INTERVAL": "0.2",
            "PAYQL_OUTBOX_DELAY": "1",
            # These tests hold hundreds of seats as one buyer, and the limits' counters in
            # Redis outlive each test's database.
            "PAYQL_RATE_LIMITS": "false",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.env.pop("PAYQL_TEST_DATABASE_URL", None)
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> "Worker":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220 (it starts; we poll below)
                [PAYQL, "serve", "--port", str(self.port), *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"worker exited:\n{self.log.read_text()[-3000:]}")
                with suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                await asyncio.sleep(0.1)
        raise AssertionError(f"worker did not start:\n{self.log.read_text()[-3000:]}")

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(5)


@asynccontextmanager
async def workers(
    database_url: str, tmp_path: Path, count: int, redis_urls: list[str] | None = None
) -> AsyncIterator[list[Worker]]:
    """Start ``count`` workers one after the other (the first migrates and seeds)."""
    started: list[Worker] = []
    try:
        for n in range(count):
            redis_url = (redis_urls or [REDIS] * count)[n]
            worker = Worker(database_url, redis_url, tmp_path / f"worker{n}.log")
            started.append(await worker.start())
        yield started
    finally:
        for worker in started:
            worker.stop()


async def gql(worker: Worker, query: str, variables: dict[str, Any] | None = None) -> Any:
    token = issue_token(TOKEN_SETTINGS, email=BUYER)
    async with httpx.AsyncClient(timeout=20) as http:
        response = await http.post(
            f"{worker.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def checkout_payment(on: Worker, pay_on: Worker) -> tuple[str, str, str]:
    """An order created on ``on``, paid on ``pay_on`` through the sandbox's hosted checkout
    (no token): returns (order id, payment id, checkout URL, still unpaid)."""
    catalog = (await gql(on, CATALOG))["workspace"]
    product = next(p for p in catalog["products"] if p["name"] == "VIP Pass")
    created = await gql(
        on,
        CREATE,
        {
            "input": {
                "workspaceId": catalog["id"],
                "items": [{"productId": product["id"], "quantity": 1}],
            }
        },
    )
    order_id = created["createOrder"]["order"]["id"]
    paid = await gql(pay_on, PAY, {"input": {"orderId": order_id, "gateway": "SANDBOX"}})
    payload = paid["initiatePayment"]
    assert payload["errors"] == [], payload
    return order_id, payload["payment"]["id"], payload["nextAction"]["redirectUrl"]


async def statuses_until(ws: Any, op_id: str, final: set[str], wait: float = 20.0) -> list[str]:
    seen: list[str] = []
    while not seen or seen[-1] not in final:
        kind, _, payload = await ws.next_event(wait)
        assert kind == "next", payload
        data = payload["data"]
        seen.append(next(iter(data.values()))["status"])
    return seen


async def test_a_subscriber_on_one_worker_sees_a_webhook_delivered_to_another(
    database: str, tmp_path: Path
) -> None:
    async with workers(database, tmp_path, 2) as (a, b):
        order_id, payment_id, checkout = await checkout_payment(on=a, pay_on=b)
        async with graphql_ws(a.ws_url) as ws:
            await ws.init(issue_token(TOKEN_SETTINGS, email=BUYER))
            await ws.subscribe("p", PAYMENT_STATUS, {"id": payment_id})
            first = await statuses_until(ws, "p", {"REQUIRES_ACTION"})
            async with httpx.AsyncClient() as http:  # the buyer pays on B's checkout page
                assert (await http.post(checkout, data={"action": "pay"})).status_code == 200
            rest = await statuses_until(ws, "p", {"SUCCEEDED", "FAILED"})

        order = await gql(a, "query($id: ID!){ order(id: $id) { status } }", {"id": order_id})

    assert first == ["REQUIRES_ACTION"]
    assert rest == ["SUCCEEDED"]
    assert order["order"]["status"] == "PAID"
    assert "/webhooks/sandbox" in b.log.read_text()  # (logs complete: both have stopped)
    assert "/webhooks/sandbox" not in a.log.read_text()


async def test_a_change_committed_by_a_worker_killed_before_publishing_still_arrives(
    database: str, tmp_path: Path
) -> None:
    dead_redis = f"redis://127.0.0.1:{_free_port()}/0"  # C commits but can never publish
    async with workers(database, tmp_path, 2, redis_urls=[REDIS, dead_redis]) as (a, c):
        _, payment_id, checkout = await checkout_payment(on=a, pay_on=c)
        async with graphql_ws(a.ws_url) as ws:
            await ws.init(issue_token(TOKEN_SETTINGS, email=BUYER))
            await ws.subscribe("p", PAYMENT_STATUS, {"id": payment_id})
            assert await statuses_until(ws, "p", {"REQUIRES_ACTION"}) == ["REQUIRES_ACTION"]
            async with httpx.AsyncClient() as http:
                assert (await http.post(checkout, data={"action": "pay"})).status_code == 200
            await _until_committed(database, payment_id)
            c.signal(signal.SIGKILL)  # committed, never published, gone
            rest = await statuses_until(ws, "p", {"SUCCEEDED", "FAILED"})

        assert rest == ["SUCCEEDED"]
        assert "not published" in c.log.read_text()


async def _until_committed(database: str, payment_id: str, rounds: int = 200) -> None:
    connection = await asyncpg.connect(database)
    try:
        for _ in range(rounds):
            status = await connection.fetchval(
                "SELECT status FROM payment WHERE id = $1", payment_id
            )
            if status == "SUCCEEDED":
                return
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise AssertionError("the payment was never committed as SUCCEEDED")


async def test_two_workers_expire_200_orders_exactly_once(database: str, tmp_path: Path) -> None:
    async with workers(database, tmp_path, 2) as (a, b):
        catalog = (await gql(a, CATALOG))["workspace"]
        product = next(p for p in catalog["products"] if p["name"] == "General Admission")
        line = {
            "workspaceId": catalog["id"],
            "items": [{"productId": product["id"], "quantity": 1}],
        }
        created = await asyncio.gather(
            *(gql(a if n % 2 else b, CREATE, {"input": line}) for n in range(200))
        )
        assert all(c["createOrder"]["errors"] == [] for c in created)
        connection = await asyncpg.connect(database)
        try:
            await connection.execute(
                "UPDATE \"order\" SET hold_expires_at = now() - interval '1 minute'"
            )
            for _ in range(300):
                expired = await connection.fetchval(
                    "SELECT count(*) FROM \"order\" WHERE status = 'EXPIRED'"
                )
                if expired == 200:
                    break
                await asyncio.sleep(0.1)
            events = await connection.fetch(
                "SELECT order_id, count(*) AS n FROM payment_event "
                "WHERE type = 'order.expired' GROUP BY order_id"
            )
            held = await connection.fetchval(
                "SELECT held FROM product WHERE id = $1", product["id"]
            )
        finally:
            await connection.close()

    assert expired == 200
    assert len(events) == 200
    assert {row["n"] for row in events} == {1}
    assert held == 0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator["RedisServer"]:
    server = RedisServer(_free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class RedisServer:
    """A private redis-server, so this test can restart it without touching anyone else's."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _redis_reachable(self.url):
            if time.monotonic() > deadline:
                raise AssertionError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


async def test_subscriptions_recover_from_a_redis_restart(
    database: str, tmp_path: Path, own_redis: RedisServer
) -> None:
    async with workers(database, tmp_path, 2, redis_urls=[own_redis.url] * 2) as (a, b):
        order_id, payment_id, checkout = await checkout_payment(on=a, pay_on=b)
        async with graphql_ws(a.ws_url) as ws:
            await ws.init(issue_token(TOKEN_SETTINGS, email=BUYER))
            await ws.subscribe("p", PAYMENT_STATUS, {"id": payment_id})
            await ws.subscribe("o", ORDER_UPDATES, {"id": order_id})
            opened = [await ws.next_event(), await ws.next_event()]

            own_redis.stop()  # Redis goes away mid-test…
            async with httpx.AsyncClient() as http:  # …while the buyer pays on B
                assert (await http.post(checkout, data={"action": "pay"})).status_code == 200
            await _until_committed(database, payment_id)
            await asyncio.sleep(0.5)
            own_redis.start()  # …and comes back

            last: dict[str, str] = {}
            while last.get("p") != "SUCCEEDED" or last.get("o") != "PAID":
                kind, op_id, payload = await ws.next_event(30)
                if kind == "next" and op_id is not None:
                    last[op_id] = next(iter(payload["data"].values()))["status"]

    assert {op: p["data"] for _, op, p in opened} == {
        "p": {"paymentStatus": {"status": "REQUIRES_ACTION"}},
        "o": {"orderUpdates": {"status": "PENDING"}},
    }
    assert last == {"p": "SUCCEEDED", "o": "PAID"}


async def test_graceful_shutdown_closes_subscriptions_with_a_close_code(
    database: str, tmp_path: Path
) -> None:
    async with workers(database, tmp_path, 1) as (a,):
        order_id, _, _ = await checkout_payment(on=a, pay_on=a)
        async with graphql_ws(a.ws_url) as ws:
            await ws.init(issue_token(TOKEN_SETTINGS, email=BUYER))
            await ws.subscribe("o", ORDER_UPDATES, {"id": order_id})
            await ws.next_event()
            a.signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed):
                await ws.next_event(20)
            code = ws.connection.close_code
        assert a.process is not None
        # uvicorn re-raises the signal once its graceful shutdown is done
        assert a.process.wait(20) in (0, -signal.SIGTERM)
        assert "Finished server process" in a.log.read_text()

    assert code in (1001, 1012)


async def test_serve_workers_runs_that_many_processes(database: str, tmp_path: Path) -> None:
    worker = Worker(database, REDIS, tmp_path / "multi.log", "--workers", "2")
    await worker.start()
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                if worker.log.read_text().count("Application startup complete") >= 2:
                    break
                await asyncio.sleep(0.1)
            ready = await http.get(f"{worker.url}/readyz")
    finally:
        worker.stop()

    log = worker.log.read_text()
    assert log.count("Started server process") == 2
    assert ready.json() == {"status": "ok", "database": "up", "redis": "up"}


async def test_a_sandbox_outcome_promised_by_a_killed_worker_arrives_exactly_once(
    database: str, tmp_path: Path
) -> None:
    first = await Worker(database, REDIS, tmp_path / "killed.log").start()
    try:
        catalog = (await gql(first, CATALOG))["workspace"]
        product = next(p for p in catalog["products"] if p["name"] == "VIP Pass")
        line = {
            "workspaceId": catalog["id"],
            "items": [{"productId": product["id"], "quantity": 1}],
        }
        order_id = (await gql(first, CREATE, {"input": line}))["createOrder"]["order"]["id"]
        paying = {
            "orderId": order_id,
            "gateway": "SANDBOX",
            "paymentMethodToken": "pm_card_processing",
        }
        paid = (await gql(first, PAY, {"input": paying}))["initiatePayment"]
        first.signal(signal.SIGKILL)  # inside the sandbox's 2 s: its webhook never leaves
    finally:
        first.stop()
    payment_id = paid["payment"]["id"]
    connection = await asyncpg.connect(database)
    try:
        promised = await connection.fetchval("SELECT count(*) FROM sandbox_promise")
        before = await connection.fetchval("SELECT status FROM payment WHERE id = $1", payment_id)

        second = Worker(database, REDIS, tmp_path / "restarted.log")
        await second.start()
        try:
            await _until_committed(database, payment_id, rounds=1200)  # its recovery sends it
            await asyncio.sleep(1.0)  # a few more job rounds: nothing is sent twice
        finally:
            second.stop()
        succeeded = await connection.fetchval(
            "SELECT count(*) FROM payment_event WHERE payment_id = $1 AND type = $2",
            payment_id,
            "payment.succeeded",
        )
        left = await connection.fetchval("SELECT count(*) FROM sandbox_promise")
        order = await connection.fetchval('SELECT status FROM "order" WHERE id = $1', order_id)
    finally:
        await connection.close()

    assert paid["errors"] == []
    assert (promised, before) == (1, "PROCESSING")
    assert succeeded == 1
    assert left == 0
    assert order == "PAID"
