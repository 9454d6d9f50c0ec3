"""Signed sandbox webhooks, shaped as ``gateways.sandbox`` sends them."""

import json
import secrets

from bench.http import build_request
from gateways.signing import sign

SIGNATURE_HEADER = "Payql-Sandbox-Signature"
SANDBOX_FEE_BPS = 290


def succeeded_event(payment_id: str, reference: str, amount: int, currency: str) -> bytes:
    """A ``payment.succeeded`` event body with a fresh event id."""
    event = {
        "id": f"evt_{secrets.token_hex(12)}",
        "type": "payment.succeeded",
        "data": {
            "reference": reference,
            "payment_id": payment_id,
            "status": "SUCCEEDED",
            "amount": amount,
            "currency": currency,
            "failure_code": None,
            "failure_message": None,
            "fee": (amount * SANDBOX_FEE_BPS * 2 + 10_000) // 20_000,
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


def signed_request(body: bytes, *, secret: str, host: str) -> bytes:
    """``POST /webhooks/sandbox`` with a signature made now (re-deliveries are re-signed,
    as gateways do)."""
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)}
    return build_request("POST", "/webhooks/sandbox", host=host, headers=headers, body=body)
