"""Document limits: linear validation, byte-bounded caches, the cost limit, no suggestions.

Validation work is counted, not timed: the document's selection sets count every time a
rule iterates them, and stop the test once far more than a linear walk would need.
"""

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from graphql import (
    DocumentNode,
    GraphQLError,
    SelectionSetNode,
    get_introspection_query,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql.language import Visitor

from app.main import create_app
from app.settings import Settings
from schema import PayqlSchema, build_schema
from schema.cost import CostAnalysis
from schema.extensions import STRAWBERRY_RULES
from schema.limits import alias_limit, depth_limit, fragments_in
from tests.conftest import SECRET
from tests.helpers import GraphQLClient, make_product, make_workspace

BUYER = "ann@example.com"


# ------------------------------------------------------------------ linear validation
class CountingSelections(tuple[Any, ...]):
    """A selection tuple that counts each walk over it into a shared budget."""

    budget: list[int]

    def __iter__(self) -> Any:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise AssertionError("validation walked the document far more than linearly")
        return super().__iter__()


def counted(query: str, budget: int) -> tuple[DocumentNode, list[int]]:
    """``query`` parsed, each selection set counting the walks over it (at most ``budget``)."""
    left = [budget]

    class Count(Visitor):
        def leave_selection_set(self, node: SelectionSetNode, *_: Any) -> SelectionSetNode:
            selections = CountingSelections(node.selections)
            selections.budget = left
            return replace(node, selections=selections)

    document = visit(parse(query), Count())
    assert isinstance(document, DocumentNode)
    return document, left


def doubling_chain(n: int, leaf: str, wrap: str = "") -> str:
    """``n`` fragments, each spreading the previous one twice (2ⁿ copies of the first)."""
    lines = [f"query Chain {{ ...F{n} }}", f"fragment F0 on Query {{ {leaf} }}"]
    for k in range(1, n + 1):
        spreads = f"...F{k - 1} ...F{k - 1}"
        body = f"{wrap} {{ {spreads} }}" if wrap else spreads
        lines.append(f"fragment F{k} on Query {{ {body} }}")
    return "\n".join(lines)


RULES = (*specified_rules, depth_limit(12), alias_limit(30), *STRAWBERRY_RULES)
CHAINS = [
    pytest.param(doubling_chain(40, "a: __typename"), "aliases found", id="aliases"),
    pytest.param(doubling_chain(40, "me { email }", "me"), "maximum operation depth", id="depth"),
]


@pytest.mark.parametrize(("query", "refusal"), CHAINS)
def test_a_forty_fragment_doubling_chain_is_refused_after_a_linear_walk(
    query: str, refusal: str
) -> None:
    schema = build_schema()
    document, left = counted(query, budget=20 * query.count("{"))

    errors = validate(schema._schema, document, RULES)

    assert any(refusal in error.message for error in errors), errors
    assert left[0] >= 0  # (the budget raised otherwise)


def test_a_valid_doubling_chain_is_validated_and_costed_by_a_linear_walk() -> None:
    schema = build_schema()
    query = doubling_chain(40, "orders(first: 100) { nodes { id } }")
    document, left = counted(query, budget=20 * query.count("{"))
    operation = next(d for d in document.definitions if d.kind == "operation_definition")

    errors = validate(schema._schema, document, RULES)
    cost = CostAnalysis(
        schema._schema, fragments_in(document), variables=None, list_size=10
    ).operation(operation)  # type: ignore[arg-type]

    assert errors == []  # depth 2, no aliases: only its cost is too high
    assert cost == 2**40 * (1 + 100 * 2)
    assert left[0] >= 0


async def test_doubling_chains_over_http_are_refused(api: GraphQLClient) -> None:
    aliased = await api(doubling_chain(40, "a: __typename"))
    costly = await api(doubling_chain(40, "me { email }"), as_user=BUYER)

    assert aliased.body.get("data") is None
    assert [error["message"] for error in aliased.errors] == [f"{2**40} aliases found. Allowed: 30"]
    assert costly.body.get("data") is None
    assert costly.error_codes == ["QUERY_TOO_COSTLY"]
    assert costly.errors[0]["extensions"]["cost"] == 2**40 * 2


def test_depth_and_aliases_keep_their_meaning() -> None:
    schema = build_schema(max_depth=3, max_aliases=2)
    nested = "{ me { memberships { workspace { name } } } }"  # depth 3
    deeper = "{ me { memberships { workspace { products { name } } } } }"  # depth 4
    aliased = "fragment A on Query { x: __typename } { ...A ...A }"
    more = "fragment A on Query { x: __typename } { ...A ...A y: __typename }"

    def messages(query: str) -> list[str]:
        document = parse(query)
        rules = (depth_limit(3), alias_limit(2))
        return [error.message for error in validate(schema._schema, document, rules)]

    assert messages(nested) == []
    assert messages(deeper) == ["'anonymous' exceeds maximum operation depth of 3"]
    assert messages(aliased) == []
    assert messages(more) == ["3 aliases found. Allowed: 2"]


def test_fragment_cycles_are_left_to_graphql_core() -> None:
    schema = build_schema()
    query = "{ ...A } fragment A on Query { ...B me { email } } fragment B on Query { ...A }"

    errors = validate(schema._schema, parse(query), (*specified_rules, depth_limit(12)))

    assert [error.message for error in errors] == [
        "Cannot spread fragment 'A' within itself via 'B'."
    ]


# ------------------------------------------------------------------ documents and caches
def _client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, manage_database=False, run_jobs=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://payql.test")


def _schema_of(client: httpx.AsyncClient) -> PayqlSchema:
    app = client._transport.app  # type: ignore[attr-defined]
    route = next(r for r in app.routes if getattr(r, "path", None) == "/graphql")
    schema = route.endpoint.schema
    assert isinstance(schema, PayqlSchema)
    return schema


@pytest.fixture
async def small(db: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        PAYQL_JWT_SECRET=SECRET,
        PAYQL_MAX_QUERY_BYTES=2_000,
        PAYQL_MAX_TOKENS=100,
        PAYQL_DOCUMENT_CACHE_BYTES=500_000,
    )
    async with _client(settings) as client:
        yield client


async def test_many_distinct_documents_keep_the_cache_under_its_bound(
    small: httpx.AsyncClient,
) -> None:
    documents = _schema_of(small).documents
    for n in range(40):
        fields = " ".join(f"field_{n}_{i}: __typename" for i in range(20))  # ~520 characters
        answer = await small.post("/graphql", json={"query": f"{{ {fields} }}"})
        assert len(answer.json()["data"]) == 20

    assert 0 < len(documents) < 40
    assert documents.total_bytes <= documents.max_bytes == 500_000


async def test_a_document_over_the_length_limit_is_refused_and_not_cached(
    small: httpx.AsyncClient,
) -> None:
    documents = _schema_of(small).documents
    long = "{ __typename " + " " * 2_000 + "}"
    tokens = "{ " + "__typename " * 100 + "}"

    too_long = (await small.post("/graphql", json={"query": long})).json()
    too_many = (await small.post("/graphql", json={"query": tokens})).json()
    fine = (await small.post("/graphql", json={"query": "{ __typename }"})).json()

    assert too_long["data"] is None
    assert too_long["errors"][0]["message"] == (
        "Syntax Error: Source contains more than 2000 code points. Parsing aborted."
    )
    assert too_many["errors"][0]["message"] == (
        "Syntax Error: Document contains more than 100 tokens. Parsing aborted."
    )
    assert fine["data"] == {"__typename": "Query"}
    assert len(documents) == 1  # only the one that parsed


def test_the_cache_evicts_the_least_recently_used_past_its_bound() -> None:
    documents = build_schema(cache_bytes=1_000).documents  # two of these 500-byte entries
    first = documents.get("{ a }")
    second = documents.get("{ b }")
    assert documents.get("{ a }") is first  # a hit, and now the most recent
    documents.get("{ c }")

    assert (len(documents), documents.total_bytes) == (2, 1_000)
    assert documents.get("{ a }") is first
    assert documents.get("{ b }") is not second  # evicted, parsed again
    with pytest.raises(GraphQLError):
        documents.get("{ " * 10)


# ------------------------------------------------------------------ cost
ORDERS_PAGE = """
orders(first: 100) {
  edges { node {
    id number status total { amount currency formatted }
    items { productName quantity unitPrice { amount } }
    payments { id status amount { amount } refunds { id status amount { amount } } }
    refunds { id status amount { amount } }
  } }
}
"""
CATALOG = """
{
  workspace(slug: "acme") {
    id name feeBps taxBps
    products { id name remaining price { amount currency formatted } }
  }
}
"""


async def test_thirty_pages_of_a_hundred_orders_are_refused_before_execution(
    api: GraphQLClient,
) -> None:
    aliases = " ".join(f"p{n}: {ORDERS_PAGE}" for n in range(30))

    answer = await api(f"{{ {aliases} }}", as_user="staff@example.com")

    assert answer.body.get("data") is None
    [error] = answer.errors
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["maxCost"] == 100_000
    assert error["extensions"]["cost"] > 1_000_000
    assert answer.body["extensions"]["cost"] == error["extensions"]["cost"]


async def test_a_readme_query_passes_and_reports_its_cost(api: GraphQLClient) -> None:
    shop = await make_workspace()
    await make_product(shop)

    answer = await api(CATALOG)

    assert answer.errors == []
    assert answer.data["workspace"]["products"][0]["price"]["currency"] == "USD"
    # workspace 1 + 4 scalars + products (1 + 10 × (3 + price (1 + 3)))
    assert answer.body["extensions"] == {"cost": 1 + 4 + 1 + 10 * 7}


async def test_a_page_size_from_a_variable_is_costed_per_request(api: GraphQLClient) -> None:
    query = "query P($n: Int!) { orders(first: $n) { nodes { id } } }"

    small = await api(query, {"n": 5}, as_user=BUYER)
    large = await api(query, {"n": 100}, as_user=BUYER)
    again = await api(query, {"n": 5}, as_user=BUYER)

    # orders 1 + n × (nodes 1 + id 1)
    assert [r.body["extensions"]["cost"] for r in (small, large, again)] == [11, 201, 11]


async def test_the_cost_limit_is_a_setting(db: str) -> None:
    tight = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_MAX_COST=50)
    async with _client(tight) as client:
        answer = (await client.post("/graphql", json={"query": CATALOG})).json()

    assert answer["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 1 + 4 + 1 + 10 * 7,
        "maxCost": 50,
    }


async def test_the_ides_introspection_query_passes_in_development(api: GraphQLClient) -> None:
    query = get_introspection_query(descriptions=True, specified_by_url=True)

    answer = await api(query)

    assert answer.errors == []
    assert answer.body["extensions"] == {"cost": 1}  # introspection costs 1 per field


# ------------------------------------------------------------------ suggestions
HINTS = [
    pytest.param("{ ordr { id } }", None, id="field"),
    pytest.param('{ order(idd: "x") { id } }', None, id="argument"),
    pytest.param(
        "query($f: OrderFilterInpt) { orders(filter: $f) { nodes { id } } }", None, id="type"
    ),
    pytest.param("{ orders(filter: {status: PAIDD}) { nodes { id } } }", None, id="enum-literal"),
    pytest.param("{ orders(filter: {statuss: PAID}) { nodes { id } } }", None, id="input-field"),
    pytest.param(
        "query($s: OrderStatus) { orders(filter: {status: $s}) { nodes { id } } }",
        {"s": "PAIDD"},
        id="enum-variable",
    ),
    pytest.param(
        "query($f: OrderFilterInput) { orders(filter: $f) { nodes { id } } }",
        {"f": {"statuss": "PAID"}},
        id="input-variable",
    ),
]


@pytest.mark.parametrize(("query", "variables"), HINTS)
@pytest.mark.parametrize("env", ["development", "production"])
async def test_suggestions_appear_in_development_only(
    db: str, env: str, query: str, variables: dict[str, Any] | None
) -> None:
    settings = Settings(PAYQL_JWT_SECRET=SECRET, PAYQL_ENV=env, PAYQL_SANDBOX=False)
    async with _client(settings) as client:
        body = {"query": query, "variables": variables or {}}
        answer = (await client.post("/graphql", json=body)).json()

    messages = " ".join(error["message"] for error in answer["errors"])
    assert ("Did you mean" in messages) is (env == "development"), messages
