"""Test harness: one database per session (SQLite by default, PostgreSQL on request).

- ``PAYQL_TEST_DATABASE_URL`` selects the database; a ``{}`` in it becomes a fresh database
  name (e.g. ``postgres://postgres@127.0.0.1:5432/payql_test_{}``). Unset: a SQLite file.
- ``PAYQL_TEST_POSTGRES_URL`` is the server used by PostgreSQL-only tests when the session
  runs on SQLite (default ``postgres://postgres@127.0.0.1:5432/``); unreachable: they skip.
- ``PAYQL_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) turns those skips into failures.
"""

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models

from app.db import dialect_of, tortoise_config
from app.gateways import build_registry
from app.main import create_app
from app.settings import Settings
from events.broker import Broker, current_broker, use_broker
from events.record import dispatch_marks
from events.redis_broker import RedisBroker
from gateways.sandbox import HttpWebhookSender, SandboxGateway
from resolvers.rate_limits import forget_counts
from tests.helpers import GraphQLClient, LiveServer

SECRET = "test-secret-4fQ9vK2mX7rB1nW8cZ5hJ3pL6tD0sGyE"  # passes the production rule


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("PAYQL_TEST_DATABASE_URL")
    if not url:
        return f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return url.replace("{}", f"payql_test_{secrets.token_hex(4)}")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def dialect(database_url: str) -> str:
    return dialect_of(database_url)


@pytest.fixture(scope="session")
async def orm(database_url: str) -> AsyncIterator[str]:
    """The schema, created once per session from the models; visible to every task."""
    await Tortoise.init(
        config=tortoise_config(database_url), _create_db=True, _enable_global_fallback=True
    )
    await Tortoise.generate_schemas(safe=False)
    try:
        yield database_url
    finally:
        if dialect_of(database_url) == "postgres":
            await Tortoise._drop_databases()
        else:
            await Tortoise.close_connections()


@pytest.fixture(scope="session", autouse=True)
async def broker() -> AsyncIterator[Broker]:
    """The in-memory broker, or with ``REDIS_URL`` set (as ``.ci/run`` does on PostgreSQL)
    the Redis broker, for the whole session: every live-update test then goes through Redis."""
    url = os.environ.get("REDIS_URL")
    previous = current_broker()
    if not url:
        yield previous
        return
    redis_broker = RedisBroker(url)
    await redis_broker.start()
    use_broker(redis_broker)
    try:
        yield redis_broker
    finally:
        use_broker(previous)
        await redis_broker.aclose()


@pytest.fixture
async def db(orm: str) -> str:
    """An empty database for each test."""
    dispatch_marks.forget()  # ids of rows about to be deleted
    await truncate_all_models()
    await forget_counts(os.environ.get("REDIS_URL"))  # rate-limit counters outlive the rows
    return orm


@pytest.fixture
def settings() -> Settings:
    return Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_ENV="development")


@pytest.fixture
async def api(db: str, settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The real ASGI app over httpx, sharing the test's database. The sandbox gateway posts
    its signed webhooks to the same app's ``/webhooks/sandbox`` (no background jobs run:
    tests drive retries themselves)."""
    sender = HttpWebhookSender("http://payql.test/webhooks/sandbox")
    registry = build_registry(settings, sandbox_sender=sender)
    app = create_app(settings, manage_database=False, gateways=registry, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    sender.transport = transport
    sandbox = registry.get("SANDBOX")
    assert isinstance(sandbox, SandboxGateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield GraphQLClient(http, settings, app=app, sandbox=sandbox)
        await sandbox.drain()  # nothing of this test may land in the next one


@asynccontextmanager
async def serving(**env: Any) -> AsyncIterator[LiveServer]:
    """payql served by a real uvicorn on a free loopback port, in the test's event loop.
    ``env`` adds settings; the sandbox's webhooks travel over real HTTP to that server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        PAYQL_JWT_SECRET=SECRET,
        PAYQL_ENV="development",
        PAYQL_PUBLIC_URL=base,
        PAYQL_LISTEN_URL=base,
        PAYQL_MAX_SUBSCRIPTIONS=3,
        **env,
    )
    registry = build_registry(settings)
    app = create_app(settings, manage_database=False, gateways=registry, run_jobs=False)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", ws="websockets-sansio")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    sandbox = registry.get("SANDBOX")
    assert isinstance(sandbox, SandboxGateway)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        try:
            yield LiveServer(
                base_url=base, client=GraphQLClient(http, settings, app=app, sandbox=sandbox)
            )
        finally:
            await sandbox.drain()
            server.should_exit = True
            await task
            await registry.aclose()
            sock.close()


@pytest.fixture
async def live(db: str) -> AsyncIterator[LiveServer]:
    """payql behind a real uvicorn, for websocket tests."""
    async with serving() as server:
        yield server


# ---------------------------------------------------------------------------- Stripe
STRIPE_WEBHOOK_SECRET = "whsec_payql_tests_" + "s" * 24


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Stripe-compatible server (the ``localstripe`` package) on a free port, for the
    whole session. ``--from-scratch``: nothing shared with another run. Its log is
    ``localstripe.log`` in the session's temporary folder."""
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("wb")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
async def stripe_live(db: str, localstripe: str) -> AsyncIterator[LiveServer]:
    """payql with STRIPE pointed at localstripe, served by uvicorn so localstripe's signed
    webhooks reach ``/webhooks/stripe`` over real HTTP."""
    async with serving(
        STRIPE_SECRET_KEY="sk_test_payql",
        STRIPE_PUBLISHABLE_KEY="pk_test_payql",
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        STRIPE_API_BASE=localstripe,
        STRIPE_MAX_NETWORK_RETRIES=0,
        STRIPE_SEND_REFUND_REASON=False,  # localstripe rejects `reason` on refunds
    ) as server:
        async with httpx.AsyncClient(base_url=localstripe) as http:
            registered = await http.post(
                "/_config/webhooks/payql",
                data={"url": f"{server.base_url}/webhooks/stripe", "secret": STRIPE_WEBHOOK_SECRET},
            )
            registered.raise_for_status()
        yield server


@pytest.fixture
def require_postgres_url() -> str:
    """A PostgreSQL server URL for tests that need one, else skip (or fail in CI)."""
    url = os.environ.get("PAYQL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")
    if not _reachable(url):
        reason = f"PostgreSQL not reachable at {url} (set PAYQL_TEST_POSTGRES_URL)"
        if os.environ.get("PAYQL_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return url


def _reachable(url: str) -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), 1):
            return True
    except OSError:
        return False


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get("PAYQL_TEST_DATABASE_URL") or "sqlite (temporary file)"
    return f"payql test database: {url}"


def pytest_sessionstart(session: pytest.Session) -> None:
    url = os.environ.get("PAYQL_TEST_DATABASE_URL", "")
    if (
        os.environ.get("PAYQL_REQUIRE_POSTGRES") == "1"
        and dialect_of(url or "sqlite:") != "postgres"
    ):
        raise pytest.UsageError(
            "PAYQL_REQUIRE_POSTGRES=1 but PAYQL_TEST_DATABASE_URL is not PostgreSQL"
        )


ROOT = Path(__file__).resolve().parent.parent
