"""Staff manage products and vouchers; everyone else is refused."""

from models import Product, Voucher
from tests.helpers import (
    CREATE_ORDER,
    GraphQLClient,
    make_product,
    make_staff,
    make_workspace,
    order_input,
)

CREATE_PRODUCT = """
mutation P($input: CreateProductInput!) {
  createProduct(input: $input) {
    product { id name price { amount currency } capacity remaining active }
    errors { code message field }
  }
}
"""
UPDATE_PRODUCT = """
mutation U($input: UpdateProductInput!) {
  updateProduct(input: $input) {
    product { id name price { amount } capacity remaining active startsAt }
    errors { code message field }
  }
}
"""
CREATE_VOUCHER = """
mutation V($input: CreateVoucherInput!) {
  createVoucher(input: $input) {
    voucher { code percentOff amountOff { amount currency } maxUses uses }
    errors { code message field }
  }
}
"""
STAFF = "staff@acme.test"


async def test_staff_create_a_product_in_the_workspace_currency(api: GraphQLClient) -> None:
    shop = await make_workspace(default_currency="KWD")
    await make_staff(STAFF, shop)
    result = await api(
        CREATE_PRODUCT,
        {
            "input": {
                "workspaceId": str(shop.id),
                "name": " Gala ",
                "price": "12500",
                "capacity": 30,
            }
        },
        as_user=STAFF,
    )
    payload = result.data["createProduct"]
    assert payload["errors"] == []
    assert payload["product"] | {"id": None} == {
        "id": None,
        "name": "Gala",
        "price": {"amount": 12500, "currency": "KWD"},
        "capacity": 30,
        "remaining": 30,
        "active": True,
    }


async def test_customers_and_other_staff_cannot_manage_the_catalog(api: GraphQLClient) -> None:
    shop = await make_workspace()
    other = await make_workspace("other")
    await make_staff("staff@other.test", other)
    product = await make_product(shop)
    for email in ("buyer@example.com", "staff@other.test"):
        created = await api(
            CREATE_PRODUCT,
            {"input": {"workspaceId": str(shop.id), "name": "X", "price": 1}},
            as_user=email,
        )
        updated = await api(
            UPDATE_PRODUCT, {"input": {"productId": str(product.id), "price": 1}}, as_user=email
        )
        voucher = await api(
            CREATE_VOUCHER,
            {"input": {"workspaceId": str(shop.id), "code": "X", "percentOff": 100}},
            as_user=email,
        )
        assert [e["code"] for e in created.data["createProduct"]["errors"]] == ["FORBIDDEN"]
        assert [e["code"] for e in updated.data["updateProduct"]["errors"]] == ["NOT_FOUND"]
        assert [e["code"] for e in voucher.data["createVoucher"]["errors"]] == ["FORBIDDEN"]
    assert await Product.all().count() == 1
    assert (await Product.get(id=product.id)).price == 1000
    assert await Voucher.all().count() == 0


async def test_update_changes_only_given_fields_and_null_capacity_means_unlimited(
    api: GraphQLClient,
) -> None:
    shop = await make_workspace()
    await make_staff(STAFF, shop)
    product = await make_product(shop, name="Early", price=1000, capacity=10)

    renamed = await api(
        UPDATE_PRODUCT, {"input": {"productId": str(product.id), "name": "Late"}}, as_user=STAFF
    )
    unlimited = await api(
        UPDATE_PRODUCT, {"input": {"productId": str(product.id), "capacity": None}}, as_user=STAFF
    )

    assert renamed.data["updateProduct"]["product"]["price"] == {"amount": 1000}
    assert renamed.data["updateProduct"]["product"]["capacity"] == 10
    assert unlimited.data["updateProduct"]["product"]["name"] == "Late"
    assert unlimited.data["updateProduct"]["product"]["capacity"] is None
    assert unlimited.data["updateProduct"]["product"]["remaining"] is None


async def test_capacity_cannot_drop_below_seats_held(api: GraphQLClient) -> None:
    shop = await make_workspace()
    await make_staff(STAFF, shop)
    product = await make_product(shop, capacity=10)
    await api(CREATE_ORDER, order_input(shop, (product, 4)), as_user="buyer@example.com")

    refused = await api(
        UPDATE_PRODUCT, {"input": {"productId": str(product.id), "capacity": 3}}, as_user=STAFF
    )
    allowed = await api(
        UPDATE_PRODUCT, {"input": {"productId": str(product.id), "capacity": 4}}, as_user=STAFF
    )

    assert refused.data["updateProduct"]["errors"] == [
        {
            "code": "CAPACITY_BELOW_HELD",
            "message": "4 seats are already held or sold",
            "field": ["input", "capacity"],
        }
    ]
    assert allowed.data["updateProduct"]["product"]["remaining"] == 0


async def test_bad_product_input(api: GraphQLClient) -> None:
    shop = await make_workspace()
    await make_staff(STAFF, shop)
    cases = [
        ({"name": "", "price": 1}, "VALIDATION", ["input", "name"]),
        ({"name": "X", "price": -1}, "VALIDATION", ["input", "price"]),
        ({"name": "X", "price": 1, "capacity": -1}, "VALIDATION", ["input", "capacity"]),
        ({"name": "X", "price": 1, "currency": "XXQ"}, "INVALID_CURRENCY", ["input", "currency"]),
    ]
    for fields, code, field in cases:
        result = await api(
            CREATE_PRODUCT, {"input": {"workspaceId": str(shop.id), **fields}}, as_user=STAFF
        )
        assert [(e["code"], e["field"]) for e in result.data["createProduct"]["errors"]] == [
            (code, field)
        ]
    too_big = await api(
        CREATE_PRODUCT,
        {"input": {"workspaceId": str(shop.id), "name": "X", "price": 2**63}},
        as_user=STAFF,
    )
    assert "64 bits" in too_big.errors[0]["message"]
    assert await Product.all().count() == 0


async def test_vouchers(api: GraphQLClient) -> None:
    shop = await make_workspace(default_currency="JPY")
    await make_staff(STAFF, shop)

    fixed = await api(
        CREATE_VOUCHER,
        {"input": {"workspaceId": str(shop.id), "code": "yen500", "amountOff": 500, "maxUses": 2}},
        as_user=STAFF,
    )
    duplicate = await api(
        CREATE_VOUCHER,
        {"input": {"workspaceId": str(shop.id), "code": "YEN500", "percentOff": 5}},
        as_user=STAFF,
    )
    both = await api(
        CREATE_VOUCHER,
        {"input": {"workspaceId": str(shop.id), "code": "B", "percentOff": 5, "amountOff": 5}},
        as_user=STAFF,
    )
    over = await api(
        CREATE_VOUCHER,
        {"input": {"workspaceId": str(shop.id), "code": "C", "percentOff": 101}},
        as_user=STAFF,
    )

    assert fixed.data["createVoucher"]["voucher"] == {
        "code": "YEN500",
        "percentOff": None,
        "amountOff": {"amount": 500, "currency": "JPY"},
        "maxUses": 2,
        "uses": 0,
    }
    assert [e["code"] for e in duplicate.data["createVoucher"]["errors"]] == ["ALREADY_EXISTS"]
    assert [e["code"] for e in both.data["createVoucher"]["errors"]] == ["VALIDATION"]
    assert [e["field"] for e in over.data["createVoucher"]["errors"]] == [["input", "percentOff"]]
    assert await Voucher.all().count() == 1


async def test_a_fully_discounted_order_totals_zero(api: GraphQLClient) -> None:
    shop = await make_workspace(tax_bps=1000, fee_bps=300)
    await make_staff(STAFF, shop)
    product = await make_product(shop, price=5000)
    await api(
        CREATE_VOUCHER,
        {"input": {"workspaceId": str(shop.id), "code": "FREE", "percentOff": 100, "maxUses": 1}},
        as_user=STAFF,
    )
    first = await api(
        CREATE_ORDER, order_input(shop, (product, 1), voucherCode="free"), as_user="a@x.io"
    )
    second = await api(
        CREATE_ORDER, order_input(shop, (product, 1), voucherCode="FREE"), as_user="b@x.io"
    )
    order = first.data["createOrder"]["order"]
    assert (order["discount"]["amount"], order["total"]["amount"]) == (5000, 0)
    assert [e["code"] for e in second.data["createOrder"]["errors"]] == ["VOUCHER_USED_UP"]
