"""The sandbox's webhook events on the wire: JSON ``{"id", "type", "data"}``.

============  =================================================================
type          data
============  =================================================================
payment.*     reference, payment_id, status, amount, currency, failure_code,
              failure_message, fee
refund.*      reference, refund_id, status, amount, failure_code
dispute.*     reference, payment_reference, status, amount, currency, reason
============  =================================================================
"""

import json
import secrets
from typing import Any

from gateways.base import (
    DisputeResult,
    DisputeState,
    GatewayEvent,
    GatewayState,
    InvalidWebhook,
    PaymentResult,
    RefundResult,
    RefundState,
)


def payment_event(result: PaymentResult, *, payment_id: str | None) -> bytes:
    """A ``payment.<status>`` event for ``result``."""
    data: dict[str, Any] = {
        "reference": result.reference,
        "payment_id": payment_id,
        "status": result.state.value,
        "amount": result.amount,
        "currency": result.currency,
        "failure_code": result.failure_code,
        "failure_message": result.failure_message,
        "fee": result.fee,
    }
    return event(f"payment.{result.state.value.lower()}", data)


def refund_event(result: RefundResult) -> bytes:
    """A ``refund.<status>`` event for ``result``."""
    data = {
        "reference": result.reference,
        "refund_id": result.refund_id,
        "status": result.state.value,
        "amount": result.amount,
        "failure_code": result.failure_code,
    }
    return event(f"refund.{result.state.value.lower()}", data)


def dispute_event(dispute: DisputeResult) -> bytes:
    """A ``dispute.created`` (open) or ``dispute.closed`` event."""
    kind = "created" if dispute.state is DisputeState.OPEN else "closed"
    data = {
        "reference": dispute.reference,
        "payment_reference": dispute.payment_reference,
        "status": dispute.state.value,
        "amount": dispute.amount,
        "currency": dispute.currency,
        "reason": dispute.reason,
    }
    return event(f"dispute.{kind}", data)


def event(kind: str, data: dict[str, Any]) -> bytes:
    """The event's bytes, with a fresh unguessable id."""
    body = {"id": f"evt_{secrets.token_hex(12)}", "type": kind, "data": data}
    return json.dumps(body, separators=(",", ":")).encode()


def parse_event(body: bytes) -> GatewayEvent:
    """Turn a sandbox event's bytes into a GatewayEvent.

    :raises InvalidWebhook: the body is not a sandbox event.
    """
    try:
        event = json.loads(body)
        data = event.get("data") or {}
        kind = str(event["type"])
        if kind.startswith("refund."):
            return GatewayEvent(
                event_id=str(event["id"]),
                type=kind,
                refund=RefundResult(
                    state=RefundState(data["status"]),
                    reference=str(data["reference"]),
                    refund_id=data.get("refund_id"),
                    amount=int(data["amount"]),
                    failure_code=data.get("failure_code"),
                ),
            )
        if kind.startswith("dispute."):
            return GatewayEvent(
                event_id=str(event["id"]),
                type=kind,
                dispute=DisputeResult(
                    reference=str(data["reference"]),
                    payment_reference=str(data["payment_reference"]),
                    state=DisputeState(data["status"]),
                    amount=int(data["amount"]),
                    currency=str(data["currency"]),
                    reason=str(data.get("reason") or ""),
                ),
            )
        payment = None
        if kind.startswith("payment."):
            payment = PaymentResult(
                state=GatewayState(data["status"]),
                reference=str(data["reference"]),
                amount=int(data["amount"]),
                currency=str(data["currency"]),
                failure_code=data.get("failure_code"),
                failure_message=data.get("failure_message"),
                fee=int(data["fee"]) if data.get("fee") is not None else None,
            )
        return GatewayEvent(
            event_id=str(event["id"]),
            type=str(event["type"]),
            payment_id=data.get("payment_id"),
            payment=payment,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidWebhook("not a sandbox event", code="malformed_body") from None
