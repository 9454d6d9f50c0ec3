"""Browser pages on other origins: CORS preflights and websocket handshakes.

Development allows ``http://localhost:<port>`` and ``http://127.0.0.1:<port>`` by default
(``PAYQL_ALLOW_LOCAL_ORIGINS``); production allows only ``PAYQL_ALLOWED_ORIGINS``.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from app.graphql import local_origins_allowed
from app.main import create_app
from app.settings import Settings
from tests.conftest import SECRET, serving
from tests.ws import TRANSPORT_WS, GraphQLWebSocket

FRONTEND = "http://localhost:5173"
STRONG = "sandbox-secret-7Hq2Lm9Xc4Vb1Nz8Kd3Rw6Tp0Ys5Jf"
PRODUCTION: dict[str, Any] = {"PAYQL_ENV": "production", "PAYQL_SANDBOX_WEBHOOK_SECRET": STRONG}


@asynccontextmanager
async def _client(**env: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(PAYQL_JWT_SECRET=SECRET, **env)
    app = create_app(settings, manage_database=False, run_jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        yield http


async def _preflight(http: httpx.AsyncClient, origin: str) -> httpx.Response:
    return await http.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize(
    "origin", [FRONTEND, "http://127.0.0.1:3000", "http://localhost", "http://localhost:65535"]
)
async def test_development_allows_local_pages_on_any_port(db: str, origin: str) -> None:
    async with _client(PAYQL_ENV="development") as http:
        preflight = await _preflight(http, origin)
        posted = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": origin}
        )

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert posted.headers["access-control-allow-origin"] == origin
    assert "x-request-id" in posted.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    "origin",
    [
        "https://localhost:5173",  # another scheme is another origin
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example:80",
        "http://evil.example/?http://localhost:1",
        "http://192.168.1.9:5173",
    ],
)
async def test_development_refuses_other_pages(db: str, origin: str) -> None:
    async with _client(PAYQL_ENV="development") as http:
        preflight = await _preflight(http, origin)

    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


async def test_production_refuses_local_pages(db: str) -> None:
    async with _client(**PRODUCTION) as http:
        preflight = await _preflight(http, FRONTEND)

    assert preflight.status_code == 405  # no CORS at all: the route takes GET and POST
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_production_allows_the_listed_origins_only(db: str) -> None:
    listed = {"PAYQL_ALLOWED_ORIGINS": ["https://shop.example.com"]}
    async with _client(**PRODUCTION, **listed) as http:
        allowed = await _preflight(http, "https://shop.example.com")
        local = await _preflight(http, FRONTEND)

    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.com"
    assert "access-control-allow-origin" not in local.headers


async def test_local_pages_can_be_turned_off_in_development(db: str) -> None:
    async with _client(PAYQL_ENV="development", PAYQL_ALLOW_LOCAL_ORIGINS="false") as http:
        preflight = await _preflight(http, FRONTEND)

    assert "access-control-allow-origin" not in preflight.headers


async def test_a_websocket_from_a_local_page_connects_in_development(db: str) -> None:
    async with (
        serving() as server,
        connect(
            server.ws_url,
            subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
            origin=FRONTEND,  # type: ignore[arg-type]
        ) as connection,
    ):
        ws = GraphQLWebSocket(connection, TRANSPORT_WS)
        ack = await ws.init(None)

    assert ack["type"] == "connection_ack"


async def test_a_websocket_from_another_page_is_refused_naming_the_setting(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    payql = logging.getLogger("payql.graphql")  # payql's loggers do not propagate to root
    payql.addHandler(caplog.handler)
    try:
        async with serving() as server:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(
                    server.ws_url,
                    subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
                    origin="https://elsewhere.example",  # type: ignore[arg-type]
                ):
                    pass
    finally:
        payql.removeHandler(caplog.handler)

    assert refused.value.response.status_code == 403
    messages = [r.getMessage() for r in caplog.records if "elsewhere.example" in r.getMessage()]
    assert len(messages) == 1
    assert "PAYQL_ALLOWED_ORIGINS" in messages[0]
    assert "`allowed_origins`" not in caplog.text


def test_local_pages_are_allowed_in_development_only() -> None:
    development = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_ENV="development")
    production = Settings(PAYQL_JWT_SECRET=SECRET, **PRODUCTION)
    production_on = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_ALLOW_LOCAL_ORIGINS=True, **PRODUCTION)

    assert local_origins_allowed(development)
    assert not local_origins_allowed(production)
    assert local_origins_allowed(production_on)


async def test_a_websocket_from_a_local_page_is_refused_when_they_are_off(db: str) -> None:
    async with serving(PAYQL_ALLOW_LOCAL_ORIGINS=False) as server:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                server.ws_url,
                subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
                origin=FRONTEND,  # type: ignore[arg-type]
            ):
                pass

    assert refused.value.response.status_code == 403
