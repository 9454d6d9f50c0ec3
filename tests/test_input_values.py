"""String, date and amount values from GraphQL are checked before they reach the database.

NUL bytes, lone surrogates, over-long strings and dates the database or Python's datetime
cannot hold are typed errors (``INVALID_INPUT`` with the field path) on every database;
PostgreSQL rejects them with an exception, which surfaced as INTERNAL_SERVER_ERROR.
"""

import json
from typing import Any

import pytest

from models import Product, Voucher
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    Response,
    make_product,
    make_staff,
    make_workspace,
)

STAFF = "clerk@example.com"
BUYER = "ann@example.com"

CREATE_PRODUCT = """
mutation P($input: CreateProductInput!) {
  createProduct(input: $input) { product { id } errors { code message field } }
}
"""
CREATE_VOUCHER = """
mutation V($input: CreateVoucherInput!) {
  createVoucher(input: $input) { voucher { id } errors { code message field } }
}
"""
NUL, SURROGATE = "\u0000", "\ud800"
ERRORS = "errors { code message field }"


async def _call(
    api: GraphQLClient, query: str, variables: dict[str, Any] | None = None, *, as_user: str
) -> Response:
    """POST as ``json.dumps`` writes it: ASCII, so lone surrogates travel as ``\\ud800``."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"Authorization": f"Bearer {api.token(as_user)}", "Content-Type": "application/json"}
    response = await api.http.post("/graphql", content=body, headers=headers)
    return Response(response.status_code, response.json())


async def _shop() -> Any:
    shop = await make_workspace()
    await make_staff(STAFF, shop)
    return shop


def _errors(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"name": f"Gala{NUL}"}, ["input", "name"]),
        ({"name": f"Gala{SURROGATE}"}, ["input", "name"]),
        ({"description": f"front row{NUL}"}, ["input", "description"]),
        ({"description": "x" * 20_001}, ["input", "description"]),
        ({"currency": "US" + NUL}, ["input", "currency"]),
        ({"startsAt": "9999-12-31T23:59:59-05:00"}, ["input", "startsAt"]),
        ({"startsAt": "9999-12-31T23:00:00+00:00"}, ["input", "startsAt"]),
    ],
)
async def test_bad_product_values_are_typed_errors(
    api: GraphQLClient, fields: dict[str, Any], path: list[str]
) -> None:
    shop = await _shop()
    draft = {"workspaceId": str(shop.id), "name": "Gala", "price": 1000, **fields}

    response = await _call(api, CREATE_PRODUCT, {"input": draft}, as_user=STAFF)

    assert response.errors == []
    payload = response.data["createProduct"]
    assert payload["product"] is None
    assert _errors(payload) == [("INVALID_INPUT", path)]
    assert await Product.all().count() == 0


async def test_a_nul_in_an_inline_literal_is_a_typed_error(api: GraphQLClient) -> None:
    shop = await _shop()
    literal = f'{{workspaceId: "{shop.id}", code: "SPRING\\u0000", percentOff: 10}}'
    document = f"mutation {{ createVoucher(input: {literal}) {{ voucher {{ id }} {ERRORS} }} }}"

    response = await _call(api, document, as_user=STAFF)

    assert response.errors == []
    assert _errors(response.data["createVoucher"]) == [("INVALID_INPUT", ["input", "code"])]
    assert await Voucher.all().count() == 0


async def test_a_far_future_voucher_window_is_a_typed_error(api: GraphQLClient) -> None:
    shop = await _shop()
    draft = {
        "workspaceId": str(shop.id),
        "code": "FOREVER",
        "percentOff": 10,
        "validUntil": "9999-12-31T23:59:59+00:00",
    }

    response = await _call(api, CREATE_VOUCHER, {"input": draft}, as_user=STAFF)

    assert _errors(response.data["createVoucher"]) == [("INVALID_INPUT", ["input", "validUntil"])]


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"voucherCode": "V" * 65}, ["input", "voucherCode"]),
        ({"voucherCode": f"SPRING{NUL}"}, ["input", "voucherCode"]),
        ({"metadata": {"seat": f"A1{NUL}"}}, ["input", "metadata", "seat"]),
        ({"metadata": {f"k{SURROGATE}": 1}}, ["input", "metadata"]),
        ({"metadata": {"rows": ["a", f"b{NUL}"]}}, ["input", "metadata", "rows", "1"]),
        ({"idempotencyKey": f"k{NUL}"}, ["input", "idempotencyKey"]),
        ({"successUrl": f"https://example.com/{NUL}"}, ["input", "successUrl"]),
    ],
)
async def test_bad_order_values_are_typed_errors(
    api: GraphQLClient, extra: dict[str, Any], path: list[str]
) -> None:
    shop = await _shop()
    item = await make_product(shop)
    order = {"workspaceId": str(shop.id), "items": [{"productId": str(item.id), "quantity": 1}]}

    response = await _call(api, CREATE_ORDER, {"input": {**order, **extra}}, as_user=BUYER)

    assert response.errors == []
    assert _errors(response.data["createOrder"]) == [("INVALID_INPUT", path)]
    await item.refresh_from_db()
    assert item.held == 0


@pytest.mark.parametrize(
    ("document", "variables", "path"),
    [
        ("query W($s: String) { workspace(slug: $s) { id } }", {"s": "s" * 65}, ["slug"]),
        ("query W($s: String) { workspace(slug: $s) { id } }", {"s": f"acme{NUL}"}, ["slug"]),
        ("query O($n: String) { order(number: $n) { id } }", {"n": f"PQ-{NUL}"}, ["number"]),
        ("query O($n: String) { order(number: $n) { id } }", {"n": "PQ-" * 30}, ["number"]),
        (
            "query L($q: String) { orders(filter: {search: $q}) { nodes { id } } }",
            {"q": f"ann{SURROGATE}"},
            ["filter", "search"],
        ),
        (
            "query L($a: String) { orders(after: $a) { nodes { id } } }",
            {"a": f"x{NUL}"},
            ["after"],
        ),
    ],
)
async def test_bad_query_arguments_are_typed_errors(
    api: GraphQLClient, document: str, variables: dict[str, Any], path: list[str]
) -> None:
    await _shop()

    response = await _call(api, document, variables, as_user=STAFF)

    assert response.status == 200
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in response.errors] == [
        ("INVALID_INPUT", path)
    ]


async def test_the_same_values_within_bounds_are_accepted(api: GraphQLClient) -> None:
    shop = await _shop()
    draft = {
        "workspaceId": str(shop.id),
        "name": "Gala \u00e9t\u00e9 \U0001f3ad",
        "price": 1000,
        "description": "x" * 20_000,
        "startsAt": "2999-12-31T00:00:00+00:00",
    }

    response = await _call(api, CREATE_PRODUCT, {"input": draft}, as_user=STAFF)

    assert response.data["createProduct"]["errors"] == []
    product = await Product.get(id=response.data["createProduct"]["product"]["id"])
    assert product.name == "Gala \u00e9t\u00e9 \U0001f3ad"


@pytest.mark.parametrize(
    ("document", "fields", "path"),
    [
        (CREATE_PRODUCT, {"name": "Gala", "price": str(2**63 - 1)}, ["input", "price"]),
        (CREATE_VOUCHER, {"code": "BIG", "amountOff": str(2**63 - 1)}, ["input", "amountOff"]),
    ],
)
async def test_amounts_past_any_price_are_typed_errors(
    api: GraphQLClient, document: str, fields: dict[str, Any], path: list[str]
) -> None:
    shop = await _shop()

    response = await _call(
        api, document, {"input": {"workspaceId": str(shop.id), **fields}}, as_user=STAFF
    )

    assert response.errors == []
    (payload,) = response.data.values()
    assert _errors(payload) == [("VALIDATION", path)]


async def test_a_naive_start_time_is_stored_without_an_error(api: GraphQLClient) -> None:
    shop = await _shop()
    draft = {
        "workspaceId": str(shop.id),
        "name": "Gala",
        "price": 1,
        "startsAt": "2030-01-01T20:00:00",
    }

    response = await _call(api, CREATE_PRODUCT, {"input": draft}, as_user=STAFF)

    assert response.errors == []
    assert response.data["createProduct"]["errors"] == []


MUTATIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "updateProduct": ("UpdateProductInput", {"productId": "{product}", "name": f"x{NUL}"}, "name"),
    "initiatePayment": (
        "InitiatePaymentInput",
        {"orderId": "{product}", "gateway": "SANDBOX", "paymentMethodToken": f"pm{NUL}"},
        "paymentMethodToken",
    ),
    "confirmPayment": (
        "ConfirmPaymentInput",
        {"paymentId": "{product}", "idempotencyKey": "k" * 256},
        "idempotencyKey",
    ),
    "requestRefund": (
        "RequestRefundInput",
        {"paymentId": "{product}", "description": f"why{SURROGATE}"},
        "description",
    ),
    "recordManualPayment": (
        "RecordManualPaymentInput",
        {"orderId": "{product}", "amount": 1, "note": f"cash{NUL}"},
        "note",
    ),
    "cancelOrder": ("CancelOrderInput", {"orderId": f"{NUL}"}, "orderId"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
async def test_every_mutation_checks_its_input_first(api: GraphQLClient, mutation: str) -> None:
    shop = await _shop()
    product = await make_product(shop)
    input_type, fields, name = MUTATIONS[mutation]
    values = {k: str(product.id) if v == "{product}" else v for k, v in fields.items()}
    document = f"mutation M($input: {input_type}!) {{ {mutation}(input: $input) {{ {ERRORS} }} }}"

    response = await _call(api, document, {"input": values}, as_user=STAFF)

    assert response.errors == []
    assert _errors(response.data[mutation]) == [("INVALID_INPUT", ["input", name])]
