"""DataLoaders, named for what they load by which key; built fresh for every context."""

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from models import Dispute, OrderItem, Payment, PaymentEvent, Product, Refund, User, Workspace

M = TypeVar("M", bound=Model)


def _by_id(model: type[M]) -> DataLoader[UUID, M | None]:
    async def load(keys: Sequence[UUID]) -> list[M | None]:
        rows = {row.pk: row for row in await model.filter(id__in=list(keys))}
        return [rows.get(key) for key in keys]

    return DataLoader(load_fn=load)


def _many_by(model: type[M], column: str, order: str) -> DataLoader[UUID, list[M]]:
    async def load(keys: Sequence[UUID]) -> list[list[M]]:
        grouped: dict[UUID, list[M]] = defaultdict(list)
        rows = await model.filter(**{f"{column}__in": list(keys)}).order_by(order)
        for row in rows:
            grouped[getattr(row, column)].append(row)
        return [grouped.get(key, []) for key in keys]

    return DataLoader(load_fn=load)


class Loaders:
    """One context's loaders, each built on first use: a request or an idle websocket
    that needs none of them pays for none (thousands of dashboards stay small)."""

    @cached_property
    def workspace_by_id(self) -> DataLoader[UUID, Workspace | None]:
        return _by_id(Workspace)

    @cached_property
    def user_by_id(self) -> DataLoader[UUID, User | None]:
        return _by_id(User)

    @cached_property
    def items_by_order_id(self) -> DataLoader[UUID, list[OrderItem]]:
        return _many_by(OrderItem, "order_id", "created_at")

    @cached_property
    def payments_by_order_id(self) -> DataLoader[UUID, list[Payment]]:
        return _many_by(Payment, "order_id", "attempt")

    @cached_property
    def refunds_by_order_id(self) -> DataLoader[UUID, list[Refund]]:
        return _many_by(Refund, "order_id", "created_at")

    @cached_property
    def disputes_by_order_id(self) -> DataLoader[UUID, list[Dispute]]:
        return _many_by(Dispute, "order_id", "created_at")

    @cached_property
    def disputes_by_payment_id(self) -> DataLoader[UUID, list[Dispute]]:
        return _many_by(Dispute, "payment_id", "created_at")

    @cached_property
    def events_by_order_id(self) -> DataLoader[UUID, list[PaymentEvent]]:
        return _many_by(PaymentEvent, "order_id", "id")

    @cached_property
    def products_by_workspace_id(self) -> DataLoader[UUID, list[Product]]:
        return _many_by(Product, "workspace_id", "created_at")
