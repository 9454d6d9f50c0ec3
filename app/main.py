"""The Starlette application factory: routes, middleware and the database lifespan."""

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from tortoise import Tortoise, connections
from tortoise.contrib.starlette import RegisterTortoise

from app.db import tortoise_config
from app.gateways import build_registry
from app.graphiql import assets_routes
from app.graphql import LOCAL_ORIGIN, PayqlGraphQL, local_origins_allowed
from app.graphql_http import status_code_name
from app.jobs import JobTimings, background_jobs
from app.logs import RequestTiming, configure_logging
from app.metrics import OperationMetrics, metrics
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware, refusal
from app.returns import checkout_page, payment_return
from app.sandbox_pages import sandbox_page
from app.settings import Settings
from app.upkeep import upkeep_from_settings
from app.webhooks import webhook
from events.broker import current_broker, use_broker
from events.record import dispatch_marks
from events.redis_broker import RedisBroker
from gateways.registry import GatewayRegistry
from gateways.sandbox import SandboxGateway
from resolvers.rate_limits import RateLimiter, close_connections
from schema import build_schema


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers a query and, with ``REDIS_URL``, Redis answers PING."""
    body: dict[str, str] = {"status": "ok", "database": "up"}
    ready = True
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the reason is logged, not shown
        request.app.state.logger.warning("readyz: database unreachable: %s", type(exc).__name__)
        body["database"], ready = "down", False
    broker = current_broker()
    if isinstance(broker, RedisBroker):
        if await broker.ping():
            body["redis"] = "up"
        else:
            request.app.state.logger.warning("readyz: redis unreachable")
            body["redis"], ready = "down", False
    if not ready:
        body["status"] = "unavailable"
    return JSONResponse(body, status_code=200 if ready else 503)


async def http_refusal(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, a method the route does not take) as JSON
    in GraphQL's error shape, with the request id."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    response = refusal(exc.status_code, status_code_name(exc.status_code), exc.detail)
    response.headers.update(exc.headers or {})
    return response


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """A 500 as JSON, quoting the request id (the error itself is logged, never shown)."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    message = f"Unexpected error. Quote request id {request_id} when reporting it."
    extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    return JSONResponse(
        {"errors": [{"message": message, "extensions": extensions}]},
        status_code=500,
        headers={"x-request-id": request_id},
    )


def _cors(settings: Settings) -> list[Middleware]:
    """CORS for ``PAYQL_ALLOWED_ORIGINS`` and, unless ``PAYQL_ALLOW_LOCAL_ORIGINS`` is off,
    pages on ``http://localhost:*`` and ``http://127.0.0.1:*``; none at all without either."""
    local = local_origins_allowed(settings)
    if not settings.allowed_origins and not local:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_origin_regex=LOCAL_ORIGIN.pattern if local else None,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id"],
        )
    ]


@asynccontextmanager
async def _redis_broker(url: str) -> AsyncIterator[RedisBroker]:
    """This worker's one Redis pub/sub connection, installed as the process's broker."""
    broker = RedisBroker(url)
    await broker.start()
    previous = current_broker()
    use_broker(broker)
    try:
        yield broker
    finally:
        use_broker(previous)
        await broker.aclose()


def create_app(
    settings: Settings | None = None,
    *,
    manage_database: bool = True,
    gateways: GatewayRegistry | None = None,
    run_jobs: bool = True,
) -> Starlette:
    """Build the ASGI app. Tests pass ``manage_database=False`` and own the ORM themselves,
    and may pass their own gateway registry."""
    import logging

    settings = settings or Settings()
    gateways = gateways if gateways is not None else build_registry(settings)
    configure_logging(settings.log_format)
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_query_bytes=settings.max_query_bytes,
        cache_bytes=settings.document_cache_bytes,
        max_cost=settings.max_cost,
        list_size=settings.cost_list_size,
        introspection=settings.introspection_enabled,
        field_suggestions=settings.field_suggestions_enabled,
    )
    schema.extensions = (*schema.extensions, OperationMetrics)
    graphql = PayqlGraphQL(
        settings=settings,
        gateways=gateways,
        schema=schema,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=settings.allowed_origins,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if manage_database and not Tortoise.is_inited():
                config = tortoise_config(settings.database_url)
                await stack.enter_async_context(RegisterTortoise(app, config=config))
            # Unwound after the jobs stop and the sandbox drains, before the database closes.
            stack.push_async_callback(dispatch_marks.flush)
            stack.push_async_callback(close_connections)
            if settings.redis_url:
                await stack.enter_async_context(_redis_broker(settings.redis_url))
            if run_jobs:
                timings = JobTimings(
                    interval=settings.job_interval_seconds,
                    outbox_delay=settings.outbox_delay_seconds,
                    reconcile_after=settings.reconcile_after_seconds,
                    reconcile_max_backoff=settings.reconcile_max_backoff_seconds,
                    reconcile_give_up_after=settings.reconcile_give_up_after_seconds,
                    redeliver_after=settings.sandbox_redeliver_after_seconds,
                )
                await stack.enter_async_context(
                    background_jobs(
                        gateways,
                        interval=timings.interval,
                        timings=timings,
                        upkeep=upkeep_from_settings(settings),
                    )
                )
            yield
            sandbox = gateways.get("SANDBOX")
            if isinstance(sandbox, SandboxGateway):
                await sandbox.drain()  # deliver what was promised before going away
            await gateways.aclose()

    middleware = [
        Middleware(RequestTiming),  # first: the access log's duration covers everything
        Middleware(RequestIdMiddleware),
        *_cors(settings),  # inside the request id, outside the limits: refusals readable too
        Middleware(
            BodySizeLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            max_json_depth=settings.max_json_depth,
        ),
    ]
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *assets_routes(settings.graphiql_enabled),
            Route("/webhooks/{gateway}", webhook, methods=["POST"]),
            Route("/payments/return/{gateway}", payment_return, methods=["GET", "POST"]),
            Route("/payments/checkout/{gateway}/{reference}", checkout_page),
            Route("/sandbox/{kind:str}/{ticket:str}", sandbox_page, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: http_refusal, Exception: unexpected_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.gateways = gateways
    app.state.rate_limiter = RateLimiter.from_settings(settings)
    app.state.logger = logging.getLogger("payql.app")
    return app


# The collector's defaults (a young collection every 700 allocations) suit short scripts.
# A server holding thousands of websockets keeps a large, long-lived heap, and with the
# defaults every full collection walks all of it: long pauses while subscribers connect
# and during fan-out, each one a pause every request and frame waits behind (measured in
# bench/README.md, scenario f).
GC_THRESHOLDS = (50_000, 20, 10)


def create_served_app() -> Starlette:
    """The app as ``payql serve`` runs it (one per worker process): :func:`create_app`,
    then the collector tuned for a long-running server. Young collections run every
    50,000 allocations instead of 700, so short-lived objects die before they are
    promoted; everything built at start-up (modules, the schema, the ORM's metadata) is
    moved out of the collector's reach with :func:`gc.freeze`, so full collections walk
    only what was allocated since. Tests build their apps with :func:`create_app` and keep
    the interpreter's defaults."""
    app = create_app()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.collect()
    gc.freeze()
    return app
