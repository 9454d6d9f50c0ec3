"""GraphQL over HTTP per its spec (graphql.github.io/graphql-over-http): the graphql-http
audit against a live server, and each rule it checks, through the real app.

With ``Accept: application/graphql-response+json`` a request that fails before execution
(bad parameters, a document that does not parse or validate, variables that do not coerce)
is a 4xx without a ``data`` entry; with ``application/json`` (or no ``Accept``) parse and
validation failures stay 200 with ``"data": null``, as the spec's legacy rules say. Every
refusal, on every route, is JSON in GraphQL's error shape with ``extensions.code`` and
``extensions.requestId``.
"""

import json
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.main import create_app
from app.settings import Settings
from tests.conftest import serving
from tests.helpers import GraphQLClient
from tests.js import node

GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_the_graphql_http_audit_passes_every_must_and_should(db: str) -> None:
    async with serving() as server:
        code, out, err = await node.run("audit.mjs", f"{server.base_url}/graphql")
    assert code == 0, err
    results = [json.loads(line) for line in out.splitlines() if line.strip()]
    required = [r for r in results if r["name"].startswith(("MUST", "SHOULD"))]
    failing = [f"{r['id']} {r['name']}: {r['reason']}" for r in required if r["status"] != "ok"]
    assert len(required) == 36
    assert failing == [], "\n".join(failing)


async def _post(
    api: GraphQLClient, body: dict[str, Any], accept: str | None = GRAPHQL_RESPONSE
) -> Any:
    headers = {"accept": accept} if accept is not None else {}
    return await api.http.post("/graphql", json=body, headers=headers)


def _codes(body: dict[str, Any]) -> list[str | None]:
    return [error.get("extensions", {}).get("code") for error in body["errors"]]


async def test_graphql_response_json_is_answered_when_asked_for(api: GraphQLClient) -> None:
    asked = await _post(api, {"query": "{ __typename }"})
    legacy = await _post(api, {"query": "{ __typename }"}, accept="application/json")
    unsaid = await _post(api, {"query": "{ __typename }"}, accept=None)

    assert (asked.status_code, asked.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    assert asked.json()["data"] == {"__typename": "Query"}
    assert legacy.headers["content-type"] == "application/json"
    assert unsaid.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE),
        ("application/json;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("*/*", "application/json"),
        ("application/graphql-response+json;q=0", "application/json"),
        ("application/graphql-response+json;q=oops", "application/json"),
        ("text/html", "application/json"),
    ],
)
async def test_the_client_s_weights_pick_the_media_type(
    api: GraphQLClient, accept: str, media_type: str
) -> None:
    response = await _post(api, {"query": "{ __typename }"}, accept=accept)
    assert (response.status_code, response.headers["content-type"]) == (200, media_type)


FAILING_DOCUMENTS = [
    pytest.param({"query": "{"}, "GRAPHQL_PARSE_FAILED", id="parse"),
    pytest.param({"query": "{ nosuchfield }"}, "GRAPHQL_VALIDATION_FAILED", id="validation"),
    pytest.param(
        {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"},
        "GRAPHQL_VALIDATION_FAILED",
        id="aliases",
    ),
    pytest.param(
        {"query": "query Q($id: ID!) { order(id: $id) { id } }", "variables": {"id": None}},
        "BAD_USER_INPUT",
        id="variables",
    ),
]


@pytest.mark.parametrize(("body", "code"), FAILING_DOCUMENTS)
async def test_a_request_error_is_400_without_data_in_graphql_response_json(
    api: GraphQLClient, body: dict[str, Any], code: str
) -> None:
    response = await _post(api, body)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in response.json()
    assert _codes(response.json()) == [code]


@pytest.mark.parametrize(("body", "code"), FAILING_DOCUMENTS)
async def test_a_request_error_stays_200_with_null_data_in_application_json(
    api: GraphQLClient, body: dict[str, Any], code: str
) -> None:
    response = await _post(api, body, accept="application/json")
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json")
    assert response.json()["data"] is None
    assert _codes(response.json()) == [code]


async def test_a_too_costly_operation_keeps_its_code_and_is_a_request_error(db: str) -> None:
    async with serving(PAYQL_MAX_COST=1) as server:
        response = await server.client.http.post(
            "/graphql",
            json={"query": "{ __typename a: __typename }"},
            headers={"accept": GRAPHQL_RESPONSE},
        )
    assert response.status_code == 400
    assert "data" not in response.json()
    assert _codes(response.json()) == ["QUERY_TOO_COSTLY"]


async def test_field_errors_after_execution_started_are_200_with_data(api: GraphQLClient) -> None:
    nullable = await _post(api, {"query": '{ order(id: "x") { id } }'})
    non_null = await _post(api, {"query": "{ orders { edges { node { id } } } }"})

    assert nullable.status_code == 200
    assert nullable.json()["data"] == {"order": None}
    assert _codes(nullable.json()) == ["UNAUTHENTICATED"]
    assert non_null.status_code == 200
    assert non_null.json()["data"] is None  # the error reached the root: data is null, not absent
    assert _codes(non_null.json()) == ["UNAUTHENTICATED"]


def _refusal(response: Any, status: int, code: str) -> str:
    """The refusal's message, after checking its status, code and request id."""
    assert response.status_code == status
    body = response.json()
    assert list(body) == ["errors"]
    [error] = body["errors"]
    assert error["extensions"] == {"code": code, "requestId": response.headers["x-request-id"]}
    message: str = error["message"]
    return message


async def test_a_mutation_over_get_is_405_allowing_post(api: GraphQLClient) -> None:
    response = await api.http.get(
        "/graphql", params={"query": "mutation { __typename }"}, headers={"accept": "*/*"}
    )
    message = _refusal(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/json"
    assert "POST" in message


async def test_a_query_over_get_is_answered(api: GraphQLClient) -> None:
    response = await api.http.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE])
async def test_malformed_json_is_a_400_json_refusal(api: GraphQLClient, accept: str) -> None:
    response = await api.http.post(
        "/graphql",
        content=b'{ "not a JSON',
        headers={"content-type": "application/json", "accept": accept},
    )
    assert "JSON" in _refusal(response, 400, "BAD_REQUEST")
    assert response.headers["content-type"] == accept


@pytest.mark.parametrize("body", [{}, {"qeury": "{ __typename }"}, {"query": None}])
async def test_a_missing_query_is_a_400_json_refusal(
    api: GraphQLClient, body: dict[str, Any]
) -> None:
    response = await _post(api, body)
    assert "No GraphQL query" in _refusal(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("query", [1, ["{ __typename }"], {"a": 1}])
async def test_a_query_that_is_not_a_string_is_a_400_json_refusal(
    api: GraphQLClient, query: object
) -> None:
    response = await _post(api, {"query": query})
    assert "`query` must be a string" in _refusal(response, 400, "BAD_REQUEST")


async def test_an_unknown_operation_name_is_a_400_json_refusal(api: GraphQLClient) -> None:
    response = await _post(api, {"query": "query A { __typename }", "operationName": "B"})
    assert 'Unknown operation named "B"' in _refusal(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("content_type", [None, "text/plain"])
async def test_a_body_that_is_not_json_is_415(api: GraphQLClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await api.http.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
    )
    _refusal(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_an_unknown_route_is_a_404_json_refusal(api: GraphQLClient) -> None:
    response = await api.http.get("/nothing/here")
    assert _refusal(response, 404, "NOT_FOUND") == "Not Found"


async def test_a_method_a_route_does_not_take_is_a_405_json_refusal(api: GraphQLClient) -> None:
    graphql = await api.http.put("/graphql", json={"query": "{ __typename }"})
    health = await api.http.post("/healthz")

    _refusal(graphql, 405, "METHOD_NOT_ALLOWED")
    assert set(graphql.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    _refusal(health, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in health.headers["allow"]


async def test_an_unexpected_error_on_any_route_is_a_500_json_with_the_request_id(
    db: str, settings: Settings
) -> None:
    app = create_app(settings, manage_database=False, run_jobs=False)

    async def broken(request: Request) -> Response:
        raise RuntimeError("database password is hunter2")

    app.router.routes.append(Route("/broken", broken))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://payql.test") as http:
        response = await http.get("/broken", headers={"x-request-id": "req-500"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-500"
    assert response.json() == {
        "errors": [
            {
                "message": "Unexpected error. Quote request id req-500 when reporting it.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-500"},
            }
        ]
    }
