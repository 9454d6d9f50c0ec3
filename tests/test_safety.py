"""Safe defaults: query limits, body size, masked errors, production switches, health."""

import logging
import socket
from typing import Any

import httpx
import pytest
import strawberry

from app.main import create_app
from app.settings import Settings
from events.broker import current_broker, use_broker
from events.redis_broker import RedisBroker
from schema.extensions import MaskUnexpectedErrors
from tests.conftest import SECRET
from tests.helpers import GraphQLClient


async def test_query_depth_is_limited(api: GraphQLClient) -> None:
    deep = "{ orders { edges { node { workspace { products { price { amount } } } } } } }"
    nested = "{ me { memberships { workspace { products { price { amount } } } } } }"
    ok = await api(nested, as_user="a@x.io")
    assert ok.errors == []
    too_deep = "{ orders { edges { node { items { id } " + "workspace { name } " * 1 + "} } } }"
    assert (await api(too_deep, as_user="a@x.io")).errors == []
    limited = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_MAX_QUERY_DEPTH=3)
    async with _client(limited) as client:
        response = await client.post("/graphql", json={"query": deep})
    assert "exceeds maximum operation depth" in response.json()["errors"][0]["message"]


async def test_aliases_and_tokens_are_limited(api: GraphQLClient) -> None:
    aliases = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"
    result = await api(aliases)
    assert "aliases" in result.errors[0]["message"].lower()
    tokens = "{ " + " ".join("__typename" for _ in range(3001)) + " }"
    result = await api(tokens)
    assert "token" in result.errors[0]["message"].lower()


async def test_large_bodies_get_413(api: GraphQLClient, db: str) -> None:
    small = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_MAX_BODY_BYTES=200)
    async with _client(small) as client:
        big = await client.post("/graphql", json={"query": "{ __typename }", "x": "y" * 500})
        chunked = await client.post(
            "/graphql",
            content=_chunks(b'{"query": "{ __typename }", "pad": "' + b"z" * 500 + b'"}'),
            headers={"content-type": "application/json"},
        )
        fine = await client.post("/graphql", json={"query": "{ __typename }"})
    assert big.status_code == 413
    assert chunked.status_code == 413
    assert fine.status_code == 200


async def _chunks(body: bytes) -> Any:
    for start in range(0, len(body), 64):
        yield body[start : start + 64]


async def test_unexpected_errors_are_masked_with_a_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @strawberry.type
    class Query:
        @strawberry.field(description="Always fails.")
        def boom(self) -> int:
            raise RuntimeError("database password is hunter2")

    schema = strawberry.Schema(query=Query, extensions=[MaskUnexpectedErrors])

    class Ctx:
        request_id = "req-123"

    with caplog.at_level(logging.ERROR, logger="payql.graphql"):
        result = await schema.execute("{ boom }", context_value=Ctx())

    assert result.errors is not None
    error = result.errors[0]
    assert "hunter2" not in error.message
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "req-123" in caplog.text
    assert "hunter2" in caplog.text  # the full error is in the log, not in the response


async def test_request_ids_are_returned_and_sane_ones_kept(api: GraphQLClient) -> None:
    generated = await api.http.get("/healthz")
    another = await api.http.get("/healthz")
    kept = await api.http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    replaced = await api.http.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert len(generated.headers["x-request-id"]) == 32
    assert another.headers["x-request-id"] != generated.headers["x-request-id"]
    assert kept.headers["x-request-id"] == "abc-123"
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"


async def test_development_has_graphiql_introspection_and_suggestions(api: GraphQLClient) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    introspection = await api("{ __schema { queryType { name } } }")
    suggestion = await api("{ ordr { id } }")
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert introspection.data == {"__schema": {"queryType": {"name": "Query"}}}
    assert "Did you mean" in suggestion.errors[0]["message"]


async def test_production_turns_off_graphiql_introspection_and_suggestions(db: str) -> None:
    production = Settings(PAYQL_ENV="production", PAYQL_JWT_SECRET=SECRET)
    async with _client(production) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
        suggestion = await client.post("/graphql", json={"query": "{ ordr { id } }"})
    assert page.status_code == 404
    assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "introspection has been disabled" in introspection.json()["errors"][0]["message"].lower()
    assert "Did you mean" not in suggestion.json()["errors"][0]["message"]


async def test_health_and_readiness(api: GraphQLClient) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    expected = {"status": "ok", "database": "up"}
    if isinstance(current_broker(), RedisBroker):
        expected["redis"] = "up"
    assert (ready.status_code, ready.json()) == (200, expected)


async def test_readiness_fails_when_redis_is_unreachable(api: GraphQLClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there
    down = RedisBroker(f"redis://127.0.0.1:{port}/0")
    previous = current_broker()
    use_broker(down)
    try:
        ready = await api.http.get("/readyz")
    finally:
        use_broker(previous)
        await down.aclose()

    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "up", "redis": "down"}


def _client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, manage_database=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payql.test")
