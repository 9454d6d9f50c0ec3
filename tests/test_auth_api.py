"""Authentication and visibility: customers see their own orders, staff their workspace."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from models.enums import Role
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

ORDER = "query One($id: ID, $number: String) { order(id: $id, number: $number) { id number } }"
ORDERS = """
query Many($first: Int!, $after: String, $filter: OrderFilterInput) {
  orders(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id number customer { email } workspace { slug } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ME = "{ me { email isAdmin memberships { role workspace { slug } } } }"


async def _order(api: GraphQLClient, email: str, slug: str = "acme") -> dict[str, str]:
    from models import Product, Workspace

    shop = await Workspace.get(slug=slug)
    product = await Product.filter(workspace_id=shop.id).first()
    assert product is not None
    result = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=email)
    order = result.data["createOrder"]["order"]
    return {"id": order["id"], "number": order["number"]}


async def test_protected_fields_need_a_token(api: GraphQLClient) -> None:
    for query in (ME, ORDER, "{ orders { edges { cursor } } }", '{ payment(id: "x") { id } }'):
        result = await api(query, {"id": "x"} if "$id" in query else None)
        assert result.error_codes == ["UNAUTHENTICATED"], query
        data = result.body["data"]
        assert data is None or set(data.values()) == {None}  # nothing leaks


async def test_bad_tokens_are_unauthenticated(api: GraphQLClient) -> None:
    now = datetime.now(UTC)
    forged = jwt.encode({"sub": "a@b.c", "exp": now + timedelta(hours=1)}, "wrong" * 10, "HS256")
    expired = jwt.encode(
        {"sub": "a@b.c", "exp": now - timedelta(hours=1)}, api.settings.signing_secret, "HS256"
    )
    no_expiry = jwt.encode({"sub": "a@b.c"}, api.settings.signing_secret, "HS256")
    unsigned = jwt.encode({"sub": "a@b.c", "exp": now + timedelta(hours=1)}, "", "none")
    for token in (forged, expired, no_expiry, unsigned, "garbage"):
        result = await api(ME, token=token)
        assert result.error_codes == ["UNAUTHENTICATED"]
        assert token not in str(result.body)  # never echo the token


async def test_a_remembered_token_still_expires(api: GraphQLClient) -> None:
    """Verified tokens are cached; expiry is checked on every use, and the cache is per key."""
    from app.auth import LEEWAY_SECONDS, InvalidToken, decode_token
    from app.settings import Settings

    expires = datetime.now(UTC) + timedelta(minutes=5)
    token = jwt.encode(
        {"sub": "cached@example.com", "exp": expires}, api.settings.signing_secret, "HS256"
    )
    assert decode_token(api.settings, token).email == "cached@example.com"
    assert decode_token(api.settings, token).email == "cached@example.com"  # from the cache

    later = expires.timestamp() + LEEWAY_SECONDS + 1
    with pytest.raises(InvalidToken, match="ExpiredSignatureError"):
        decode_token(api.settings, token, now=later)

    other = Settings(PAYQL_JWT_SECRET="another-secret-" + "x" * 32)
    with pytest.raises(InvalidToken, match="InvalidSignatureError"):
        decode_token(other, token)


async def test_non_bearer_header_is_unauthenticated(api: GraphQLClient) -> None:
    response = await api.http.post(
        "/graphql", json={"query": ME}, headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


async def test_me_shows_roles(api: GraphQLClient) -> None:
    shop = await make_workspace()
    await make_staff("staff@acme.test", shop, Role.OWNER)
    result = await api(ME, as_user="Staff@Acme.test")
    assert result.data["me"] == {
        "email": "staff@acme.test",
        "isAdmin": False,
        "memberships": [{"role": "OWNER", "workspace": {"slug": "acme"}}],
    }


async def test_someone_elses_order_looks_like_no_order(api: GraphQLClient) -> None:
    shop = await make_workspace()
    await make_product(shop)
    mine = await _order(api, "alice@example.com")

    by_owner = await api(ORDER, {"id": mine["id"]}, as_user="alice@example.com")
    by_number = await api(ORDER, {"number": mine["number"]}, as_user="alice@example.com")
    by_other = await api(ORDER, {"id": mine["id"]}, as_user="bob@example.com")
    by_other_number = await api(ORDER, {"number": mine["number"]}, as_user="bob@example.com")
    missing = await api(
        ORDER, {"id": "0b5a3f7e-6a43-4c8e-9b1a-1c2d3e4f5a6b"}, as_user="bob@example.com"
    )
    malformed = await api(ORDER, {"id": "not-an-id"}, as_user="bob@example.com")

    assert by_owner.data["order"] == mine
    assert by_number.data["order"] == mine
    assert by_other.body == missing.body == malformed.body == by_other_number.body
    assert by_other.data == {"order": None}


async def test_one_order_is_scoped_like_the_list(api: GraphQLClient) -> None:
    """order(id|number) reads with one prepared statement; it must see what orders sees."""
    from models import Membership

    acme = await make_workspace("acme")
    globex = await make_workspace("globex")
    await make_product(acme)
    await make_product(globex)
    staff = await make_staff("staff@acme.test", acme)
    in_acme = await _order(api, "alice@example.com", "acme")
    in_globex = await _order(api, "alice@example.com", "globex")

    async def sees(email: str, order: dict[str, str], admin: bool = False) -> bool:
        by_id = await api(ORDER, {"id": order["id"]}, as_user=email, admin=admin)
        by_number = await api(ORDER, {"number": order["number"]}, as_user=email, admin=admin)
        assert by_id.data["order"] == by_number.data["order"]
        return bool(by_id.data["order"] == order)

    assert await sees("staff@acme.test", in_acme)
    assert not await sees("staff@acme.test", in_globex)
    assert await sees("root@payql.test", in_globex, admin=True)
    assert not await sees("bob@example.com", in_acme)

    await Membership.filter(user_id=staff.id).delete()  # access revoked: at once
    assert not await sees("staff@acme.test", in_acme)


async def test_orders_are_scoped_to_customer_staff_and_admin(api: GraphQLClient) -> None:
    acme = await make_workspace("acme")
    globex = await make_workspace("globex")
    await make_product(acme)
    await make_product(globex)
    await make_staff("staff@acme.test", acme)
    alice_acme = await _order(api, "alice@example.com", "acme")
    alice_globex = await _order(api, "alice@example.com", "globex")
    bob_acme = await _order(api, "bob@example.com", "acme")

    async def visible(email: str, admin: bool = False) -> set[str]:
        result = await api(ORDERS, {"first": 50}, as_user=email, admin=admin)
        return {edge["node"]["id"] for edge in result.data["orders"]["edges"]}

    assert await visible("alice@example.com") == {alice_acme["id"], alice_globex["id"]}
    assert await visible("bob@example.com") == {bob_acme["id"]}
    assert await visible("staff@acme.test") == {alice_acme["id"], bob_acme["id"]}
    assert await visible("root@payql.test", admin=True) == {
        alice_acme["id"],
        alice_globex["id"],
        bob_acme["id"],
    }
    assert await visible("nobody@example.com") == set()


async def test_orders_paginate_newest_first_and_filter(api: GraphQLClient) -> None:
    await make_product(await make_workspace(), capacity=None)
    created = [await _order(api, "alice@example.com") for _ in range(5)]

    first = await api(ORDERS, {"first": 2}, as_user="alice@example.com")
    page = first.data["orders"]
    second = await api(
        ORDERS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, as_user="alice@example.com"
    )
    third = await api(
        ORDERS,
        {"first": 2, "after": second.data["orders"]["pageInfo"]["endCursor"]},
        as_user="alice@example.com",
    )

    ids = [e["node"]["id"] for p in (first, second, third) for e in p.data["orders"]["edges"]]
    assert ids == [o["id"] for o in reversed(created)]
    assert page["pageInfo"]["hasNextPage"] is True
    assert third.data["orders"]["pageInfo"]["hasNextPage"] is False

    search = await api(
        ORDERS,
        {"first": 10, "filter": {"search": created[2]["number"][-6:]}},
        as_user="alice@example.com",
    )
    assert [e["node"]["id"] for e in search.data["orders"]["edges"]] == [created[2]["id"]]
    pending = await api(
        ORDERS, {"first": 10, "filter": {"status": "PAID"}}, as_user="alice@example.com"
    )
    assert pending.data["orders"]["edges"] == []


async def test_page_size_is_capped_at_100(api: GraphQLClient) -> None:
    for first in (0, 101, 1000):
        result = await api(ORDERS, {"first": first}, as_user="alice@example.com")
        assert result.error_codes == ["BAD_USER_INPUT"]
        assert "between 1 and 100" in result.errors[0]["message"]
    bad_cursor = await api(ORDERS, {"first": 5, "after": "!!"}, as_user="alice@example.com")
    assert bad_cursor.error_codes == ["BAD_USER_INPUT"]


async def test_catalog_is_public_but_inactive_products_are_staff_only(api: GraphQLClient) -> None:
    shop = await make_workspace()
    await make_product(shop, name="On sale")
    await make_product(shop, name="Draft", active=False)
    await make_staff("staff@acme.test", shop)
    query = (
        '{ workspace(slug: "acme") { name products { name price { amount currency formatted } } } }'
    )

    anonymous = await api(query)
    staff = await api(query, as_user="staff@acme.test")

    assert [p["name"] for p in anonymous.data["workspace"]["products"]] == ["On sale"]
    assert [p["name"] for p in staff.data["workspace"]["products"]] == ["On sale", "Draft"]
    assert anonymous.data["workspace"]["products"][0]["price"] == {
        "amount": 1000,
        "currency": "USD",
        "formatted": "$10.00",
    }
