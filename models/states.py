"""The state machines of DESIGN.md §3, as data.

Order::

    PENDING ──► PAID ──► PARTIALLY_REFUNDED ──► REFUNDED
       │          └──────────────────────────────►┘
       ├──► CANCELLED ──► PAID   (a late payment succeeded and the seats could be held again)
       └──► EXPIRED ────► PAID   (same)

Payment::

    PENDING ──► REQUIRES_ACTION ──► PROCESSING ──► SUCCEEDED | FAILED
       │               └──► SUCCEEDED | FAILED | CANCELLED
       └──► PROCESSING | SUCCEEDED | FAILED | CANCELLED

Refund::

    PENDING ──► SUCCEEDED | FAILED

Anything not listed raises :class:`InvalidTransition`; callers log it and apply nothing.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from models.enums import OrderStatus, PaymentStatus, RefundStatus

S = TypeVar("S", bound=StrEnum)

ORDER_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED}),
    OrderStatus.PAID: frozenset({OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}),
    OrderStatus.PARTIALLY_REFUNDED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.REFUNDED: frozenset(),
    OrderStatus.CANCELLED: frozenset({OrderStatus.PAID}),
    OrderStatus.EXPIRED: frozenset({OrderStatus.PAID}),
}

PAYMENT_TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.REQUIRES_ACTION,
            PaymentStatus.PROCESSING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
        }
    ),
    PaymentStatus.REQUIRES_ACTION: frozenset(
        {
            PaymentStatus.PROCESSING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
        }
    ),
    PaymentStatus.PROCESSING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
    PaymentStatus.SUCCEEDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.CANCELLED: frozenset(),
}

REFUND_TRANSITIONS: Mapping[RefundStatus, frozenset[RefundStatus]] = {
    RefundStatus.PENDING: frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED}),
    RefundStatus.SUCCEEDED: frozenset(),
    RefundStatus.FAILED: frozenset(),
}

_TABLES: Mapping[type[StrEnum], Mapping[object, frozenset[object]]] = {
    OrderStatus: ORDER_TRANSITIONS,  # type: ignore[dict-item]
    PaymentStatus: PAYMENT_TRANSITIONS,  # type: ignore[dict-item]
    RefundStatus: REFUND_TRANSITIONS,  # type: ignore[dict-item]
}


class InvalidTransition(Exception):
    """A state change the machine does not allow."""

    def __init__(self, current: StrEnum, target: StrEnum) -> None:
        super().__init__(f"{type(current).__name__}: {current} -> {target} is not allowed")
        self.current = current
        self.target = target


def can_transition(current: S, target: S) -> bool:
    """True when ``current -> target`` is an allowed edge of its machine."""
    return target in _TABLES[type(current)][current]


def transition(current: S, target: S) -> S:
    """Return ``target`` if ``current -> target`` is allowed, else raise InvalidTransition.

    :raises InvalidTransition: the edge is not in the machine's table.
    """
    if not can_transition(current, target):
        raise InvalidTransition(current, target)
    return target
