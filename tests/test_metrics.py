"""``/metrics``: the Prometheus series move with what payql does, in one process and summed
over several uvicorn workers."""

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Route

from app.jobs import JobTimings, run_jobs_once
from app.logs import RequestTiming
from app.main import create_app
from app.metrics import (
    MULTIPROC_ENV,
    OperationMetrics,
    OperationNames,
    metrics,
    prepare_multiprocess_dir,
)
from app.settings import Settings
from gateways.registry import GatewayRegistry
from models import Payment, Workspace
from models.enums import PaymentStatus
from models.records import OutboxEvent
from resolvers.reconcile import reconcile_payments
from schema import build_schema
from tests.conftest import SECRET
from tests.fakes import RecordingGateway
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    LiveServer,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)
from tests.ws import LEGACY_WS, TRANSPORT_WS, graphql_ws

BUYER = "ann@example.com"
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id } errors { code } }
}
"""
Labels = dict[str, str]


def sample(text: str, name: str, labels: Labels | None = None) -> float:
    """The value of ``name`` with ``labels`` in a Prometheus text page (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and (labels or {}).items() <= found.labels.items():
                return float(found.value)
    return 0.0


async def scrape(api: GraphQLClient, **headers: str) -> str:
    response = await api.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


async def _paid_order(api: GraphQLClient, token: str, slug: str = "acme") -> None:
    shop = await make_workspace(slug)
    product = await make_product(shop, price=1200)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    pay = {
        "orderId": created.data["createOrder"]["order"]["id"],
        "gateway": "SANDBOX",
        "paymentMethodToken": token,
    }
    answer = await api(PAY, {"input": pay}, as_user=BUYER)
    assert answer.data["initiatePayment"]["errors"] == []
    await api.sandbox.drain()


# ---------------------------------------------------------------------------- one process
async def test_a_sandbox_payment_moves_the_payment_and_webhook_series(api: GraphQLClient) -> None:
    succeeded = {"gateway": "SANDBOX", "status": "SUCCEEDED"}
    processed = {"gateway": "SANDBOX", "outcome": "processed"}
    before = await scrape(api)

    await _paid_order(api, "pm_card_visa")
    await _paid_order(api, "pm_card_chargeDeclinedInsufficientFunds", "other")

    after = await scrape(api)
    moved = [
        sample(after, name, labels) - sample(before, name, labels)
        for name, labels in [
            ("payql_payments_total", succeeded),
            ("payql_payments_total", {"gateway": "SANDBOX", "status": "FAILED"}),
            ("payql_payments_total", {"gateway": "SANDBOX", "status": "PENDING"}),
            ("payql_webhooks_received_total", processed),
            ("payql_webhook_lag_seconds_count", {"gateway": "SANDBOX"}),
        ]
    ]
    assert moved == [1, 1, 2, 2, 2]


async def test_a_rejected_delivery_and_a_duplicate_are_counted(api: GraphQLClient) -> None:
    rejected = {"gateway": "SANDBOX", "outcome": "rejected"}
    duplicate = {"gateway": "SANDBOX", "outcome": "duplicate"}
    before = await scrape(api)
    body = b'{"id":"evt_metrics_1","type":"account.updated","data":{}}'
    headers = api.sandbox.signed_headers(body)

    refused = await api.http.post("/webhooks/sandbox", content=body)
    first = await api.http.post("/webhooks/sandbox", content=body, headers=headers)
    again = await api.http.post("/webhooks/sandbox", content=body, headers=headers)

    after = await scrape(api)
    assert [refused.status_code, first.status_code, again.status_code] == [400, 200, 200]
    assert again.json() == {"status": "duplicate"}
    delta = sample(after, "payql_webhooks_received_total", rejected) - sample(
        before, "payql_webhooks_received_total", rejected
    )
    dup = sample(after, "payql_webhooks_received_total", duplicate) - sample(
        before, "payql_webhooks_received_total", duplicate
    )
    assert (delta, dup) == (1, 1)


async def test_metrics_show_counts_never_ids_or_emails(api: GraphQLClient) -> None:
    await _paid_order(api, "pm_card_visa")
    payment = await Payment.first()
    assert payment is not None

    page = await scrape(api)

    assert str(payment.id) not in page
    assert str(payment.order_id) not in page
    assert BUYER not in page
    assert "sbx_" not in page
    assert SECRET not in page


async def test_job_rounds_count_runs_failures_and_read_the_outbox_backlog(
    api: GraphQLClient,
) -> None:
    gateways = api.app.state.gateways
    before = await scrape(api)
    await OutboxEvent.create(topic="workspace:x", type="order.created", payload={})
    await OutboxEvent.create(topic="workspace:x", type="order.paid", payload={})
    broken = JobTimings(outbox_delay=float("nan"))  # the outbox round raises on it

    await run_jobs_once(gateways, broken)

    after = await scrape(api)
    runs = {"job": "outbox_dispatch"}
    assert (
        sample(after, "payql_job_runs_total", runs) - sample(before, "payql_job_runs_total", runs)
        == 1
    )
    assert (
        sample(after, "payql_job_failures_total", runs)
        - sample(before, "payql_job_failures_total", runs)
        == 1
    )
    expiry = {"job": "hold_expiry"}
    assert (
        sample(after, "payql_job_runs_total", expiry)
        - sample(before, "payql_job_runs_total", expiry)
        == 1
    )
    assert sample(after, "payql_job_failures_total", expiry) == sample(
        before, "payql_job_failures_total", expiry
    )
    assert sample(after, "payql_outbox_backlog") == 2


async def test_reconciliation_giving_up_is_counted(api: GraphQLClient) -> None:
    shop = await make_workspace("recon")
    product = await make_product(shop, price=1000)
    created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    payment = await Payment.create(
        order_id=created.data["createOrder"]["order"]["id"],
        workspace_id=shop.id,
        gateway="SANDBOX",
        status=PaymentStatus.PROCESSING,
        amount=1000,
        currency="USD",
        reference="sbx_stuck",
        attempt=1,
    )
    before = await scrape(api)

    await reconcile_payments(
        gateways=GatewayRegistry({"SANDBOX": RecordingGateway("SANDBOX")}),
        now=payment.created_at + timedelta(days=2),
        stale_after=timedelta(minutes=2),
        max_backoff=timedelta(minutes=30),
        give_up_after=timedelta(days=1),
    )

    after = await scrape(api)
    name, labels = "payql_reconciliation_abandoned_total", {"gateway": "SANDBOX"}
    assert sample(after, name, labels) - sample(before, name, labels) == 1


LIVE = "payql_live_subscriptions"
EVENTS = "subscription W($id: ID!) { workspaceEvents(workspaceId: $id) { id type } }"
ORDER = "subscription O($id: ID!) { orderUpdates(orderId: $id) { id status } }"


async def _live_count(live: LiveServer, expected: float) -> float:
    """The gauge once it reads ``expected`` (the server counts as operations start/stop)."""
    value = -1.0
    for _ in range(200):
        value = sample(await scrape(live.client), LIVE)
        if value == expected:
            break
        await asyncio.sleep(0.02)
    return value


async def _order_and_staff(live: LiveServer) -> tuple[Workspace, str, str]:
    """A workspace, an order in it and its staff member's token."""
    shop = await make_workspace()
    product = await make_product(shop, price=900)
    staff = await make_staff("clerk@example.com", shop)
    created = await live.client(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
    return shop, created.data["createOrder"]["order"]["id"], live.client.token(staff.email)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_live_subscriptions_rise_and_fall_over_websockets(
    live: LiveServer, protocol: str
) -> None:
    shop, order_id, token = await _order_and_staff(live)
    before = sample(await scrape(live.client), LIVE)

    async with graphql_ws(live.ws_url, protocol) as ws:
        assert (await ws.init(token))["type"] == "connection_ack"
        # two identical workspaceEvents (one shared execution) and one orderUpdates
        await ws.subscribe("a", EVENTS, {"id": str(shop.id)})
        await ws.subscribe("b", EVENTS, {"id": str(shop.id)})
        await ws.subscribe("c", ORDER, {"id": order_id})
        during = await _live_count(live, before + 3)
        await ws.stop("a")
        await ws.stop("c")
        after_stops = await _live_count(live, before + 1)
    closed = await _live_count(live, before)

    assert (during, after_stops, closed) == (before + 3, before + 1, before)


async def test_a_subscription_over_server_sent_events_is_live_while_it_streams(
    live: LiveServer,
) -> None:
    _, order_id, token = await _order_and_staff(live)
    before = sample(await scrape(live.client), LIVE)
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    body = {"query": ORDER, "variables": {"id": order_id}}

    async with live.client.http.stream("POST", "/graphql", json=body, headers=headers) as stream:
        lines = stream.aiter_lines()
        while not (await anext(lines)).startswith("data:"):
            pass  # the first state has arrived
        during = await _live_count(live, before + 1)
    closed = await _live_count(live, before)

    assert (during, closed) == (before + 1, before)


async def test_operations_are_timed_by_type_and_bounded_name() -> None:
    schema = build_schema()
    schema.extensions = (*schema.extensions, OperationMetrics)
    page = Starlette(routes=[Route("/metrics", metrics)])
    page.state.settings = Settings(PAYQL_JWT_SECRET=SECRET)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=page), base_url="http://payql.test"
    ) as http:
        before = (await http.get("/metrics")).text
        await schema.execute("query Probe { __typename }")
        await schema.execute("{ __typename }")
        await schema.execute("{ nonsense ")
        after = (await http.get("/metrics")).text

    name = "payql_graphql_request_duration_seconds_count"
    moved = [
        sample(after, name, labels) - sample(before, name, labels)
        for labels in (
            {"operation_type": "query", "operation": "Probe"},
            {"operation_type": "query", "operation": "anonymous"},
            {"operation_type": "unknown", "operation": "unknown"},
        )
    ]
    assert moved == [1, 1, 1]


def test_operation_names_past_the_limit_are_other() -> None:
    names = OperationNames(limit=3)

    labels = [names.label(n) for n in ["A", "B", "A", "C", "D", None, "", "has space", "B"]]

    assert labels == ["A", "B", "A", "C", "other", "anonymous", "anonymous", "other", "B"]


async def test_a_metrics_token_is_required_when_set(db: str) -> None:
    settings = Settings(
        PAYQL_JWT_SECRET=SECRET, PAYQL_ENV="development", PAYQL_METRICS_TOKEN="m" * 32
    )
    app = create_app(settings, manage_database=False, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32})
        right = await http.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})

    assert [anonymous.status_code, wrong.status_code, right.status_code] == [401, 401, 200]
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "m" * 32 not in anonymous.text
    assert "payql_payments_total" in right.text


def test_one_worker_counts_in_memory_and_several_share_a_fresh_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "stale"
    stale.mkdir()
    monkeypatch.setenv(MULTIPROC_ENV, str(stale))

    assert prepare_multiprocess_dir(1) is None
    assert MULTIPROC_ENV not in os.environ
    first = prepare_multiprocess_dir(2)
    second = prepare_multiprocess_dir(2)

    assert first is not None
    assert second not in (None, first)
    assert os.environ[MULTIPROC_ENV] == second
    assert list(Path(second).iterdir()) == []


# ---------------------------------------------------------------------------- two workers
def served_app() -> Starlette:
    """The app as ``payql serve`` builds it, with the metrics extension and the request
    timing in place (a no-op once ``create_app`` adds them itself)."""
    app = create_app()
    for route in app.routes:
        schema = getattr(getattr(route, "endpoint", None), "schema", None)
        if schema is not None and OperationMetrics not in schema.extensions:
            schema.extensions = (*schema.extensions, OperationMetrics)
    if not any(getattr(m, "cls", None) is RequestTiming for m in app.user_middleware):
        app.add_middleware(RequestTiming)
    return app


SERVE = """
import sys
import uvicorn
from app.logs import uvicorn_log_config
from app.metrics import prepare_multiprocess_dir

port, workers, log_format = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
prepare_multiprocess_dir(workers)
uvicorn.run(
    "tests.test_metrics:served_app",
    factory=True,
    port=port,
    workers=workers,
    log_config=uvicorn_log_config(log_format),
)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


BUILD_SCHEMA = """
import sys
from tortoise import Tortoise, run_async
from app.db import tortoise_config

async def build() -> None:
    await Tortoise.init(config=tortoise_config(sys.argv[1]))
    await Tortoise.generate_schemas()

run_async(build())
"""


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database file with the models' tables, for servers in their own
    processes (built from the models, as the rest of the suite builds its database)."""
    url = f"sqlite://{tmp_path_factory.mktemp('served') / 'payql.sqlite3'}"
    command = [sys.executable, "-c", BUILD_SCHEMA, url]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return url


@asynccontextmanager
async def uvicorn_workers(
    database_url: str, log: Path, *, workers: int, log_format: str = "text", **env: str
) -> AsyncIterator[str]:
    """uvicorn serving payql with ``workers`` processes, as ``payql serve`` runs it; the
    base URL. Its output goes to ``log``."""
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PAYQL_ENV": "development",
        "PAYQL_JWT_SECRET": SECRET,
        "PAYQL_JOB_INTERVAL": "0.2",
        "PAYQL_LOG_FORMAT": log_format,
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    environment.pop("PAYQL_TEST_DATABASE_URL", None)
    environment.pop(MULTIPROC_ENV, None)
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 (it starts; we poll below)
            [sys.executable, "-c", SERVE, str(port), str(workers), log_format],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        await _until_up(process, base, log, workers)
        yield base
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(5)


async def _until_up(process: subprocess.Popen[bytes], base: str, log: Path, workers: int) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited:\n{tail(log)}")
            started = tail(log, None).count("Application startup complete")
            with suppress(httpx.HTTPError):
                if started >= workers and (await http.get(f"{base}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"server did not start:\n{tail(log)}")


def tail(log: Path, chars: int | None = 3000) -> str:
    """The end of a server's output (all of it without ``chars``)."""
    text = log.read_text()
    return text if chars is None else text[-chars:]


async def _reject_until_both_workers_answered(base: str) -> int:
    """Post unsigned webhooks, each on a new connection, until two processes (told apart
    by their request ids' prefix) have answered; how many were posted."""
    answered: set[str] = set()
    posted = 0
    while len(answered) < 2:
        assert posted < 400, "every request reached the same worker"
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{base}/webhooks/sandbox", content=b"{}")
        assert response.status_code == 400
        answered.add(response.headers["x-request-id"][:16])
        posted += 1
    return posted


async def test_two_workers_show_the_sum_of_their_counts(sqlite_file: str, tmp_path: Path) -> None:
    rejected = {"gateway": "SANDBOX", "outcome": "rejected"}
    async with uvicorn_workers(sqlite_file, tmp_path / "two.log", workers=2) as base:
        posted = await _reject_until_both_workers_answered(base)
        pages = []
        for _ in range(6):  # whichever worker answers shows the same total
            async with httpx.AsyncClient() as http:
                pages.append((await http.get(f"{base}/metrics")).text)

    assert posted >= 2
    totals = [sample(page, "payql_webhooks_received_total", rejected) for page in pages]
    assert totals == [posted] * 6
