"""HTTP input at the door: JSON nesting and size refusals as JSON with the request id,
which client request ids are kept, and log lines that stay short whatever they quote."""

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.logs import MAX_VALUE_CHARS, configure_logging
from app.middleware import BodySizeLimitMiddleware, RequestIdMiddleware, json_too_deep
from models import WebhookEvent
from tests.helpers import GraphQLClient

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def _refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    request_id = response.headers["x-request-id"]
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": code, "requestId": request_id}


# ------------------------------------------------------------------------------- nesting
@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
async def test_deep_json_to_graphql_is_a_400_with_the_request_id(
    api: GraphQLClient, deep: str
) -> None:
    body = '{"query": "query($m: JSON) { __typename }", "variables": {"m": ' + deep + "}}"

    response = await api.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    _refused(response, 400, "JSON_TOO_DEEP")


async def test_deep_json_to_a_webhook_is_a_400_and_stores_nothing(api: GraphQLClient) -> None:
    body = ('{"id": "evt_deep", "type": "payment.succeeded", "data": ' + DEEP_OBJECT + "}").encode()

    response = await api.http.post(
        "/webhooks/sandbox", content=body, headers=api.sandbox.signed_headers(body)
    )

    _refused(response, 400, "JSON_TOO_DEEP")
    assert await WebhookEvent.all().count() == 0


async def test_json_at_the_depth_limit_is_let_through(api: GraphQLClient) -> None:
    nested = "[" * 30 + "]" * 30  # 32 levels with the body and variables objects
    body = '{"query": "{ __typename }", "variables": {"m": ' + nested + "}}"

    response = await api.http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b'{"query": "{ a { b { c { d { e } } } } }"}', False),
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b"[[]" * 32 + b"]" * 32, True),  # never more than two openers in a row
        (b"[" + b"[]," * 10_000 + b"[]]", False),  # wide, not deep
        (json.dumps({"q": "[" * 500 + '\\"{' * 100}).encode(), False),  # brackets in strings
        (json.dumps({"q": "\\"} | {"r": [[[[1]]]]}).encode(), False),  # an escaped backslash
        (b"[" * 100, True),  # unclosed
    ],
    ids=["query", "at-limit", "over", "interleaved", "wide", "in-strings", "escapes", "unclosed"],
)
def test_json_depth_is_measured_outside_strings(body: bytes, deep: bool) -> None:
    assert json_too_deep(body, 32) is deep


async def test_input_past_the_recursion_limit_of_some_parser_is_a_400() -> None:
    async def recursing_app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise RecursionError("maximum recursion depth exceeded")

    app = RequestIdMiddleware(BodySizeLimitMiddleware(recursing_app, max_bytes=1000))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        response = await http.post("/graphql", content=b'{"query": "{ a }"}')

    _refused(response, 400, "INPUT_TOO_DEEP")


async def test_a_body_over_the_size_limit_is_a_413_json_answer(api: GraphQLClient) -> None:
    response = await api.http.post("/graphql", content=b"x" * (api.settings.max_body_bytes + 1))

    _refused(response, 413, "REQUEST_TOO_LARGE")


# --------------------------------------------------------------------------- request ids
@pytest.mark.parametrize(
    "incoming",
    ["abc-123", "7f0c2a8e-2b1d-4c7e-9a51-0d2f6f3b9c11", "client.retry:2", "A" * 64],
)
async def test_a_safe_client_request_id_is_kept(api: GraphQLClient, incoming: str) -> None:
    response = await api.http.get("/healthz", headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "bad id",
        "line\nbreak",
        "A" * 65,
        "-rf",
        "..",
        "caf\xe9",
        "a\x00b",
        "0123456789abcdef0123456789abcdef",  # shaped like payql's own
    ],
    ids=["space", "newline", "long", "option", "dots", "latin1", "nul", "payql-shaped"],
)
async def test_an_unsafe_client_request_id_is_replaced(api: GraphQLClient, incoming: str) -> None:
    response = await api.http.get(
        "/healthz", headers=[(b"X-Request-ID", incoming.encode("latin-1"))]
    )

    replaced = response.headers["x-request-id"]
    assert replaced != incoming
    assert len(replaced) == 32
    assert int(replaced, 16) >= 0


# ---------------------------------------------------------------------------------- logs
@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What payql's configured log handler writes."""
    configure_logging()
    (handler,) = logging.getLogger("payql").handlers
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_a_long_quoted_value_is_cut_in_the_log(log_lines: io.StringIO) -> None:
    value = "v" * 950_000

    logging.getLogger("payql.webhooks").warning("bad value %r from %s", value, "client")

    line = log_lines.getvalue()
    assert len(line) < MAX_VALUE_CHARS + 200
    assert f"…({len(value)} chars)' from client" in line


def test_a_long_exception_message_is_cut_in_the_traceback(log_lines: io.StringIO) -> None:
    logger = logging.getLogger("payql.graphql")
    try:
        raise ValueError("invalid input value " + "x" * 950_000)
    except ValueError:
        logger.exception("unexpected error (request id %s)", "req-1")

    text = log_lines.getvalue()
    assert len(text) < 5 * MAX_VALUE_CHARS
    assert "ValueError: invalid input value xxx" in text
    assert "chars)" in text
    assert "unexpected error (request id req-1)" in text


def test_short_values_are_logged_as_they_are(log_lines: io.StringIO) -> None:
    logging.getLogger("payql.jobs").info("%s round: %d rows, %r", "pruning", 3, {"a": 1})

    assert log_lines.getvalue().rstrip().endswith("pruning round: 3 rows, {'a': 1}")


async def test_deep_json_in_a_get_query_string_is_a_400(api: GraphQLClient) -> None:
    variables = "[" * 1200 + "]" * 1200

    response = await api.http.get(
        "/graphql", params={"query": "{ __typename }", "variables": variables}
    )

    _refused(response, 400, "INPUT_TOO_DEEP")  # no body to measure: the parser's limit
