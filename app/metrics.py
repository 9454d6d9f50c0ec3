"""``/metrics``: payql's Prometheus series, correct with any number of uvicorn workers.

=============================================  =========  ====================================
series                                         kind       labels
=============================================  =========  ====================================
``payql_graphql_request_duration_seconds``     histogram  ``operation_type``, ``operation``
``payql_live_subscriptions``                   gauge      (summed over live workers)
``payql_payments_total``                       counter    ``gateway``, ``status``
``payql_refunds_total``                        counter    ``gateway``, ``status``
``payql_webhooks_received_total``              counter    ``gateway``, ``outcome``
``payql_webhook_lag_seconds``                  histogram  ``gateway``
``payql_outbox_backlog``                       gauge      (the latest reading of any worker)
``payql_job_runs_total``                       counter    ``job``
``payql_job_failures_total``                   counter    ``job``
``payql_reconciliation_abandoned_total``       counter    ``gateway``
=============================================  =========  ====================================

The series are defined where they are counted (``events/record.py``, ``resolvers/webhooks.py``,
``resolvers/reconcile.py``, ``app/jobs.py``) and here. They are counts and durations only: no
id, email, amount or token is ever a label. An operation's name is a label only while the
process has seen fewer than :data:`MAX_OPERATION_NAMES` distinct ones (then ``other``);
a document without a name is ``anonymous``, one that does not parse or names no operation
``unknown``.

Several workers: :func:`prepare_multiprocess_dir` (called by ``payql serve`` before uvicorn
starts its workers) points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh, empty directory; every
worker then writes its values there and ``/metrics``, answered by any worker, sums them.

With ``PAYQL_METRICS_TOKEN`` set, ``/metrics`` needs ``Authorization: Bearer <token>``
(401 otherwise); unset, it is open, like ``/healthz``.
"""

import atexit
import hmac
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.extensions import SchemaExtension

from app.logs import operation_var

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 100
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")

REQUEST_DURATION = Histogram(
    "payql_graphql_request_duration_seconds",
    "Time to answer a GraphQL query or mutation (parse, validate, execute).",
    ["operation_type", "operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LIVE_SUBSCRIPTIONS = Gauge(
    "payql_live_subscriptions",
    "GraphQL subscriptions open now.",
    multiprocess_mode="livesum",
)


class OperationNames:
    """The ``operation`` label of an operation name: itself while fewer than ``limit``
    distinct names were seen, else ``other`` (a client must not grow the series without
    bound)."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if name in self._seen or name == "unknown":
            return name
        if not _NAME.fullmatch(name) or len(self._seen) >= self.limit:
            return "other"
        self._seen.add(name)
        return name


operation_names = OperationNames()


class OperationMetrics(SchemaExtension):
    """Time every query and mutation into ``payql_graphql_request_duration_seconds`` and
    note the operation's name for the log lines of its request (``app/logs.py``)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        kind, name = self._operation()
        operation_var.set(name if _NAME.fullmatch(name) else None)
        if kind != "subscription":
            REQUEST_DURATION.labels(kind, operation_names.label(name)).observe(
                time.perf_counter() - started
            )

    def _operation(self) -> tuple[str, str]:
        """The operation's type and name, as far as the document tells them."""
        context = self.execution_context
        if context.graphql_document is None:
            return "unknown", "unknown"
        try:
            kind = context.operation_type.value
        except RuntimeError:  # no operation of that name in the document
            return "unknown", "unknown"
        return kind, context.operation_name or ""


def subscription_started() -> None:
    """Count one more live subscription (call when a subscriber's stream starts)."""
    LIVE_SUBSCRIPTIONS.inc()


def subscription_ended() -> None:
    """Count one fewer live subscription (call once when that stream ends, however)."""
    LIVE_SUBSCRIPTIONS.dec()


def prepare_multiprocess_dir(workers: int) -> str | None:
    """Before uvicorn starts ``workers`` processes: with more than one, set
    ``PROMETHEUS_MULTIPROC_DIR`` to a fresh empty directory (removed when this process
    exits) and return it; with one, unset it (a single process counts in memory)."""
    if workers <= 1:
        os.environ.pop(MULTIPROC_ENV, None)
        return None
    path = tempfile.mkdtemp(prefix="payql-metrics-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    os.environ[MULTIPROC_ENV] = path
    return path


_multiprocess_registry: CollectorRegistry | None = None


def metrics_registry() -> CollectorRegistry:
    """What ``/metrics`` shows: every worker's values in multiprocess mode, else this
    process's registry."""
    global _multiprocess_registry
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    if _multiprocess_registry is None:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        _multiprocess_registry = registry
    return _multiprocess_registry


async def metrics(request: Request) -> Response:
    """``GET /metrics``: the Prometheus text format; with ``PAYQL_METRICS_TOKEN`` set,
    only for ``Authorization: Bearer <that token>``."""
    token: str | None = request.app.state.settings.metrics_token
    if token and not _bearer_matches(request.headers.get("authorization"), token):
        error = {
            "message": "a valid metrics token is required",
            "extensions": {"code": "UNAUTHENTICATED"},
        }
        return JSONResponse(
            {"errors": [error]}, status_code=401, headers={"www-authenticate": "Bearer"}
        )
    # Reading every worker's files is disk work: off the event loop.
    body = await run_in_threadpool(generate_latest, metrics_registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
