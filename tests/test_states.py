"""Every pair of every state machine, against the table in DESIGN.md §3."""

from enum import StrEnum
from itertools import product

import pytest

from models.enums import OrderStatus, PaymentStatus, RefundStatus
from models.states import InvalidTransition, can_transition, transition

O, P, R = OrderStatus, PaymentStatus, RefundStatus
ALLOWED: set[tuple[StrEnum, StrEnum]] = {
    (O.PENDING, O.PAID),
    (O.PENDING, O.CANCELLED),
    (O.PENDING, O.EXPIRED),
    (O.PAID, O.PARTIALLY_REFUNDED),
    (O.PAID, O.REFUNDED),
    (O.PARTIALLY_REFUNDED, O.REFUNDED),
    (O.CANCELLED, O.PAID),
    (O.EXPIRED, O.PAID),
    *(
        (P.PENDING, t)
        for t in (P.REQUIRES_ACTION, P.PROCESSING, P.SUCCEEDED, P.FAILED, P.CANCELLED)
    ),
    *((P.REQUIRES_ACTION, t) for t in (P.PROCESSING, P.SUCCEEDED, P.FAILED, P.CANCELLED)),
    (P.PROCESSING, P.SUCCEEDED),
    (P.PROCESSING, P.FAILED),
    (R.PENDING, R.SUCCEEDED),
    (R.PENDING, R.FAILED),
}
PAIRS = [
    pair
    for machine in (OrderStatus, PaymentStatus, RefundStatus)
    for pair in product(list(machine), repeat=2)
]


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=lambda s: str(s))
def test_transition_table(current: StrEnum, target: StrEnum) -> None:
    if (current, target) in ALLOWED:
        assert can_transition(current, target)
        assert transition(current, target) is target
    else:
        assert not can_transition(current, target)
        with pytest.raises(InvalidTransition):
            transition(current, target)


def test_terminal_payment_states_have_no_way_out() -> None:
    for terminal in (P.SUCCEEDED, P.FAILED, P.CANCELLED):
        assert not any(can_transition(terminal, other) for other in PaymentStatus)
