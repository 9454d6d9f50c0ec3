"""DataLoaders, named for what they load by which key; built fresh for every context."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass
class Loaders:
    workspace_by_id: DataLoader[UUID, Workspace | None] = field(
        default_factory=lambda: _by_id(Workspace)
    )
    user_by_id: DataLoader[UUID, User | None] = field(default_factory=lambda: _by_id(User))
    items_by_order_id: DataLoader[UUID, list[OrderItem]] = field(
        default_factory=lambda: _many_by(OrderItem, "order_id", "created_at")
    )
    payments_by_order_id: DataLoader[UUID, list[Payment]] = field(
        default_factory=lambda: _many_by(Payment, "order_id", "attempt")
    )
    refunds_by_order_id: DataLoader[UUID, list[Refund]] = field(
        default_factory=lambda: _many_by(Refund, "order_id", "created_at")
    )
    disputes_by_order_id: DataLoader[UUID, list[Dispute]] = field(
        default_factory=lambda: _many_by(Dispute, "order_id", "created_at")
    )
    disputes_by_payment_id: DataLoader[UUID, list[Dispute]] = field(
        default_factory=lambda: _many_by(Dispute, "payment_id", "created_at")
    )
    events_by_order_id: DataLoader[UUID, list[PaymentEvent]] = field(
        default_factory=lambda: _many_by(PaymentEvent, "order_id", "id")
    )
    products_by_workspace_id: DataLoader[UUID, list[Product]] = field(
        default_factory=lambda: _many_by(Product, "workspace_id", "created_at")
    )
