"""The number of SQL queries behind one ``orders`` page does not grow with the page size
(DataLoaders batch every nested list), and a sandbox order stays within its statement
budget. Counts, never timings."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tortoise import connections

from models import Order, Payment, Refund
from models.enums import OrderStatus, PaymentStatus, RefundReason, RefundStatus
from tests.helpers import CREATE_ORDER, GraphQLClient, make_product, make_workspace, order_input

BUYER = "ann@example.com"
ORDERS = """
query Orders($first: Int!) {
  orders(first: $first) {
    edges { node {
      id number status total { amount currency formatted }
      items { productName quantity unitPrice { amount } }
      payments { id status amount { amount } refunds { id status amount { amount } } }
      refunds { id status amount { amount } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
MAX_QUERIES = 5
PAY = """
mutation Pay($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { payment { id status } errors { code } }
}
"""
# createOrder + initiatePayment + the sandbox's payment.succeeded webhook, every statement
# but transaction control (45 before the write path was trimmed; bench/README.md). One of
# them stores the sandbox's promised webhook before the API answers, so a restart loses none.
WRITE_BUDGET = 33


@contextmanager
def counted_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every statement the default connection runs."""
    seen: list[str] = []
    client = type(connections.get("default"))
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
        original = getattr(client, name)

        async def wrapper(self: Any, query: str, *args: Any, _o: Any = original) -> Any:
            seen.append(query)
            return await _o(self, query, *args)

        monkeypatch.setattr(client, name, wrapper)
    yield seen


async def _orders(api: GraphQLClient, count: int) -> None:
    shop = await make_workspace()
    product = await make_product(shop, price=1000, capacity=1000)
    for _ in range(count):
        created = await api(CREATE_ORDER, order_input(shop, (product, 2)), as_user=BUYER)
        order = await Order.get(id=created.data["createOrder"]["order"]["id"])
        payment = await Payment.create(
            order_id=order.id,
            workspace_id=shop.id,
            gateway="SANDBOX",
            status=PaymentStatus.SUCCEEDED,
            amount=order.total,
            currency=order.currency,
            attempt=1,
            reference=f"sbx_{order.id}",
        )
        await Refund.create(
            payment_id=payment.id,
            order_id=order.id,
            workspace_id=shop.id,
            amount=100,
            currency=order.currency,
            status=RefundStatus.SUCCEEDED,
            reason=RefundReason.REQUESTED_BY_CUSTOMER,
        )
        await Order.filter(id=order.id).update(status=OrderStatus.PARTIALLY_REFUNDED)


@pytest.mark.parametrize("page", [10, 50])
async def test_an_orders_page_costs_the_same_few_queries_whatever_its_size(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    await _orders(api, 50)

    with counted_queries(monkeypatch) as queries:
        answer = await api(ORDERS, {"first": page}, as_user=BUYER)

    edges = answer.data["orders"]["edges"]
    assert len(edges) == page
    assert all(len(e["node"]["payments"][0]["refunds"]) == 1 for e in edges)
    assert len(queries) <= MAX_QUERIES, "\n".join(queries)


async def test_a_sandbox_order_stays_within_its_statement_budget(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await make_workspace()
    product = await make_product(shop, price=1000, capacity=None)
    await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)  # warm caches

    with counted_queries(monkeypatch) as queries:
        created = await api(CREATE_ORDER, order_input(shop, (product, 1)), as_user=BUYER)
        order_id = created.data["createOrder"]["order"]["id"]
        pay = {"orderId": order_id, "gateway": "SANDBOX", "paymentMethodToken": "pm_card_visa"}
        paid = await api(PAY, {"input": pay}, as_user=BUYER)
        assert paid.data["initiatePayment"]["payment"]["status"] == "PROCESSING"
        await api.sandbox.drain()  # its webhook arrives and is applied
        statements = list(queries)

    assert (await Order.get(id=order_id)).status is OrderStatus.PAID
    assert len(statements) <= WRITE_BUDGET, "\n".join(statements)
