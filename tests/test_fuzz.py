"""The schema fuzzed: generated queries and mutations never get a 5xx or an unexpected error.

hypothesis-graphql builds operations from payql's own schema, both valid ones and ones with one
violation each (a wrong argument type, an unknown enum value, a missing argument), with strings
that include NUL bytes and any Unicode the UTF-8 codec allows. Each goes to the real ASGI app
as an anonymous caller, a customer, staff of the workspace or staff of another one, on the
session's database (SQLite, or PostgreSQL in CI). Random ids would stop almost every operation
at ``NOT_FOUND``, so a second run has the generated id arguments replaced by the ids of real
rows (the workspace, its product, an order, its payment) and reach the use cases and the
database, with every other string replaced by one that once reached the database unchecked
(a NUL byte, 5,000 characters, year 9999). Whatever it sends, payql answers with a typed
error or data: never a status of 500 or more, never ``INTERNAL_SERVER_ERROR``.

The example budget is fixed and the generation derandomized, so CI runs the same operations in
the same time every day; raise ``PAYQL_FUZZ_EXAMPLES`` locally to search further.
"""

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from schema import schema as payql_schema
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

EXAMPLES = int(os.environ.get("PAYQL_FUZZ_EXAMPLES", "60"))
SDL = graphql.build_schema(payql_schema.as_str())

CALLERS = (None, "buyer@example.com", "staff@acme.test", "staff@other.test")


def _string(text: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=text)


SCALARS = {
    "Long": st.integers(min_value=-(2**70), max_value=2**70).map(
        lambda n: graphql.IntValueNode(value=str(n))
    ),
    "DateTime": st.one_of(
        st.datetimes(
            min_value=datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis wants naive bounds
            max_value=datetime(9999, 12, 30),  # noqa: DTZ001
            timezones=st.just(UTC),
        ).map(lambda moment: _string(moment.isoformat())),
        st.text(max_size=30).map(_string),
    ),
    "JSON": st.one_of(
        st.text(max_size=50).map(_string),
        st.integers(min_value=-(2**70), max_value=2**70).map(
            lambda n: graphql.IntValueNode(value=str(n))
        ),
        st.booleans().map(lambda b: graphql.BooleanValueNode(value=b)),
    ),
}

OPERATIONS = st.one_of(
    queries(SDL, custom_scalars=SCALARS),
    queries(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
    mutations(SDL, custom_scalars=SCALARS),
    mutations(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
)


# Values the generator rarely draws on its own, each of which once reached the database.
HOSTILE = ("\x00", "nul\x00inside", "x" * 5000, "9999-12-31T23:59:59+00:00", "-1" * 40)


class Rewrite(graphql.Visitor):
    """Replaces id arguments and input fields with the ids of real rows, by their name
    (``id`` by the field it belongs to: ``order(id:)`` gets the order's), and, given a
    ``hostile`` string, every other string value with it."""

    def __init__(self, ids: Mapping[str, str], hostile: str | None) -> None:
        super().__init__()
        self.ids = ids
        self.hostile = hostile
        self.fields: list[str] = []

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
        self.fields.append(node.name.value)

    def leave_field(self, *_: Any) -> None:
        self.fields.pop()

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
        return self._known(node)

    def enter_object_field(self, node: graphql.ObjectFieldNode, *_: Any) -> Any:
        return self._known(node)

    def enter_string_value(self, node: graphql.StringValueNode, *_: Any) -> Any:
        if self.hostile is None or node.value in self.ids.values():
            return None
        return _string(self.hostile)

    def _known(self, node: graphql.ArgumentNode | graphql.ObjectFieldNode) -> Any:
        name = node.name.value
        if name == "id" and self.fields:
            name = f"{self.fields[-1]}Id"
        known = self.ids.get(name)
        if known is None:
            return None
        return node.__class__(name=node.name, value=_string(known))


@pytest.fixture
async def fuzz_api(api: GraphQLClient) -> tuple[GraphQLClient, dict[str, str]]:
    acme = await make_workspace("acme")
    other = await make_workspace("other")
    product = await make_product(acme, name="General Admission")
    await make_staff("staff@acme.test", acme)
    await make_staff("staff@other.test", other)
    created = await api(CREATE_ORDER, order_input(acme, (product, 1)), as_user=CALLERS[1])
    order = created.data["createOrder"]["order"]
    paid = await api(
        "mutation($id: ID!) { initiatePayment(input: {orderId: $id, gateway: SANDBOX}) "
        "{ payment { id } } }",
        {"id": order["id"]},
        as_user=CALLERS[1],
    )
    ids = {
        "workspaceId": str(acme.id),
        "productId": str(product.id),
        "orderId": order["id"],
        "paymentId": paid.data["initiatePayment"]["payment"]["id"],
    }
    return api, ids


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@FUZZ_SETTINGS
@given(operation=OPERATIONS, caller=st.sampled_from(CALLERS))
async def test_no_generated_operation_gets_a_server_error(
    fuzz_api: tuple[GraphQLClient, dict[str, str]], operation: str, caller: str | None
) -> None:
    await _assert_answered(fuzz_api[0], operation, caller)


@FUZZ_SETTINGS
@given(operation=OPERATIONS, caller=st.sampled_from(CALLERS), hostile=st.sampled_from(HOSTILE))
async def test_no_operation_on_real_rows_with_hostile_strings_gets_a_server_error(
    fuzz_api: tuple[GraphQLClient, dict[str, str]], operation: str, caller: str | None, hostile: str
) -> None:
    api, ids = fuzz_api
    rewritten = graphql.visit(graphql.parse(operation), Rewrite(ids, hostile))
    await _assert_answered(api, graphql.print_ast(rewritten), caller)


async def _assert_answered(api: GraphQLClient, operation: str, caller: str | None) -> None:
    response = await api.http.post(
        "/graphql",
        json={"query": operation},
        headers={"Authorization": f"Bearer {api.token(caller)}"} if caller else {},
    )
    assert response.status_code < 500, (response.status_code, operation, response.text[:500])
    body = response.json()
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL_SERVER_ERROR" not in codes, (operation, body)
