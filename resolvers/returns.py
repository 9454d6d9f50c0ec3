"""A buyer back from a gateway's hosted checkout: verify with the gateway, then apply.

The browser's word is never taken. The return names a payment (and for Razorpay carries a
checkout signature the gateway checks); payql then asks the gateway's API for the payment
(``fetch_payment``: reference, status, amount and currency) and applies that answer through
``apply_gateway_answer``, where a success for other money fails the payment
(``amount_mismatch`` / ``currency_mismatch``).
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gateways.base import Gateway, GatewayOutcomeUnknown
from models.order import Order
from models.payment import Payment
from resolvers.payments import apply_gateway_answer

logger = logging.getLogger("payql.returns")


class ReturnNotFound(LookupError):
    """The return names a payment payql does not have."""


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    payment: Payment
    order: Order
    verified: bool  # False when the gateway could not be asked (its outcome is unknown)


async def complete_return(
    *, gateway: Gateway, params: Mapping[str, str], now: datetime
) -> ReturnOutcome:
    """Verify and apply a return from ``gateway``'s checkout.

    :raises InvalidWebhook: missing fields or a bad checkout signature (nothing applied).
    :raises GatewayNotSupported: the gateway has no return route.
    :raises ReturnNotFound: no payment of this gateway has that reference.
    """
    reference = gateway.return_reference(params)
    payment = await Payment.get_or_none(gateway=gateway.name, reference=reference)
    if payment is None:
        raise ReturnNotFound(f"{gateway.name} payment {reference}")
    verified = True
    try:
        result = await gateway.fetch_payment(reference)
    except GatewayOutcomeUnknown as exc:
        logger.warning(
            "%s return for %s: not verified yet (%s)", gateway.name, payment.id, exc.code
        )
        verified = False
    else:
        payment = await apply_gateway_answer(gateway, result, payment_id=payment.id, now=now)
    order = await Order.get(id=payment.order_id)
    return ReturnOutcome(payment=payment, order=order, verified=verified)
