"""A stateful fake of Razorpay's HTTP API, served through ``httpx.MockTransport``.

It answers in the documented shapes (the JSON under ``tests/fixtures/razorpay`` is used as
the template of every entity it returns), checks HTTP Basic auth, remembers the orders,
payments and refunds it made, honours ``X-Refund-Idempotency`` and records every request.
The buyer's side of Checkout is played by :meth:`FakeRazorpay.buyer_pays` /
:meth:`FakeRazorpay.buyer_fails`, and what the browser brings back by
:meth:`FakeRazorpay.return_params`.

Knobs: ``fail_next`` (the next N requests time out before reaching "Razorpay"),
``lose_next`` (the next N *POST* requests are processed, then their answer is lost to a
timeout: reads are harmless to repeat, lost writes are what idempotency is for),
``refund_status`` (what new refunds report: ``processed`` or ``pending``) and
:meth:`FakeRazorpay.misreport` (the API reports other money for an order's payments).
"""

import base64
import copy
import hashlib
import hmac
import json
import secrets
import string
import time
from pathlib import Path
from typing import Any

import httpx

from gateways.razorpay import RazorpayGateway

FIXTURES = Path(__file__).parent / "fixtures" / "razorpay"
API_BASE = "https://api.razorpay.com/v1"
CHECKOUT_URL = "http://payql.test/payments/checkout/razorpay"
RETURN_URL = "http://payql.test/payments/return/razorpay"
_ALPHABET = string.ascii_letters + string.digits


def fixture(name: str) -> dict[str, Any]:
    """A documented body from ``tests/fixtures/razorpay`` (without the ``_doc`` keys)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    assert isinstance(data, dict)
    return {key: value for key, value in data.items() if not key.startswith("_")}


def razorpay_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(14))


def error_body(description: str, *, field: str | None = None) -> dict[str, Any]:
    body = fixture("error_bad_request")
    body["error"].update(description=description, field=field, metadata={})
    return body


class FakeRazorpay:
    """Razorpay's Orders, Payments and Refunds APIs, in memory."""

    def __init__(
        self,
        *,
        key_id: str = "rzp_test_payqlKey01",
        key_secret: str = "rzp_secret_" + "k" * 24,
        webhook_secret: str = "rzp_whsec_" + "w" * 24,
    ) -> None:
        self.key_id = key_id
        self.key_secret = key_secret
        self.webhook_secret = webhook_secret
        self.secrets: tuple[str, ...] = (key_secret, webhook_secret)
        self.requests: list[httpx.Request] = []
        self.fail_next = 0
        self.lose_next = 0
        self.refund_status = "processed"
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, list[dict[str, Any]]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[Any, str]] = {}
        self._misreported: dict[str, dict[str, Any]] = {}
        self._clock = int(time.time())
        self.transport = httpx.MockTransport(self._handle)

    def gateway(self, return_url: str = RETURN_URL) -> RazorpayGateway:
        return RazorpayGateway(
            key_id=self.key_id,
            key_secret=self.key_secret,
            webhook_secret=self.webhook_secret,
            return_url=return_url,
            checkout_url=CHECKOUT_URL,
            api_base=API_BASE,
            transport=self.transport,
        )

    # ------------------------------------------------------------------ the buyer
    def buyer_pays(self, reference: str) -> None:
        """The buyer completes Checkout: a captured payment for the order's amount."""
        order = self.orders[reference]
        self._payment(order, status="captured")
        order.update(status="paid", amount_paid=order["amount"], amount_due=0)

    def buyer_authorizes(self, reference: str) -> None:
        """The bank authorised the payment; Razorpay has not captured it yet."""
        self._payment(self.orders[reference], status="authorized")
        self.orders[reference]["status"] = "attempted"

    def buyer_fails(self, reference: str) -> None:
        """The buyer's payment is declined (the documented failed payment)."""
        self._payment(self.orders[reference], status="failed")
        self.orders[reference]["status"] = "attempted"

    def misreport(
        self, reference: str, *, amount: int | None = None, currency: str | None = None
    ) -> None:
        """From now on the API reports other money for this order's payments."""
        override = self._misreported.setdefault(reference, {})
        if amount is not None:
            override["amount"] = amount
        if currency is not None:
            override["currency"] = currency

    def return_params(self, reference: str) -> dict[str, str]:
        """The form Checkout posts to the callback URL after the buyer's last attempt."""
        payment = self.payments[reference][-1]
        if payment["status"] == "failed":
            metadata = {"payment_id": payment["id"], "order_id": reference}
            return {
                "error[code]": str(payment["error_code"]),
                "error[description]": str(payment["error_description"]),
                "error[source]": str(payment["error_source"]),
                "error[step]": str(payment["error_step"]),
                "error[reason]": str(payment["error_reason"]),
                "error[metadata]": json.dumps(metadata, separators=(",", ":")),
            }
        return {
            "razorpay_payment_id": payment["id"],
            "razorpay_order_id": reference,
            "razorpay_signature": self.checkout_signature(reference, payment["id"]),
        }

    def checkout_signature(self, order_id: str, payment_id: str) -> str:
        message = f"{order_id}|{payment_id}".encode()
        return hmac.new(self.key_secret.encode(), message, hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ webhooks
    def signed_payment_webhook(self, reference: str) -> tuple[bytes, dict[str, str]]:
        """An ``order.paid`` event for the order, signed as Razorpay signs it. It carries the
        order's captured payment; for an order nobody paid it *claims* one (a forgery signed
        with the right secret, which only the API's answer can expose)."""
        order = self.orders[reference]
        captured = [p for p in self.payments.get(reference, []) if p["captured"]]
        payment = captured[-1] if captured else self._payment(order, status="captured", keep=False)
        paid_order = {**order, "status": "paid", "amount_paid": order["amount"], "amount_due": 0}
        return self.signed_event("order.paid", {"payment": payment, "order": paid_order})

    def signed_refund_webhook(self, refund_id: str, kind: str) -> tuple[bytes, dict[str, str]]:
        """``refund.processed`` / ``refund.failed`` / ``refund.created`` for a refund made
        here; the refund's state follows the event."""
        refund = self.refunds[refund_id]
        if kind == "refund.processed":
            refund["status"] = "processed"
        elif kind == "refund.failed":
            refund["status"] = "failed"
        payment = self._payment_by_id(refund["payment_id"])
        return self.signed_event(kind, {"refund": refund, "payment": payment})

    def signed_dispute_webhook(
        self, reference: str, kind: str, status: str, *, with_payment: bool = True
    ) -> tuple[bytes, dict[str, str]]:
        """A ``payment.dispute.*`` event against the order's captured payment."""
        payment = next(p for p in self.payments[reference] if p["captured"])
        dispute = fixture("webhook_payment_dispute_created")["payload"]["dispute"]["entity"]
        dispute.update(
            id="disp_" + reference.removeprefix("order_"),
            payment_id=payment["id"],
            amount=payment["amount"],
            currency=payment["currency"],
            status=status,
            amount_deducted=payment["amount"] if status == "lost" else 0,
        )
        entities = (
            {"payment": payment, "dispute": dispute} if with_payment else {"dispute": dispute}
        )
        return self.signed_event(kind, entities)

    def signed_event(
        self, kind: str, entities: dict[str, dict[str, Any]], *, event_id: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Any event in the documented envelope, with Razorpay's two headers."""
        body = json.dumps(
            {
                "entity": "event",
                "account_id": "acc_BFQ7uQEaa7j2z7",
                "event": kind,
                "contains": list(entities),
                "payload": {name: {"entity": entity} for name, entity in entities.items()},
                "created_at": self._tick(),
            }
        ).encode()
        return body, {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": self.sign(body),
            "X-Razorpay-Event-Id": event_id or razorpay_id("evt"),
        }

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = (secret or self.webhook_secret).encode()
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ the API
    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise httpx.ReadTimeout("fake Razorpay timed out", request=request)
        response = self._route(request)
        if self.lose_next > 0 and request.method == "POST":
            self.lose_next -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return httpx.Response(401, json=error_body("The api key provided is invalid"))
        parts = request.url.path.removeprefix("/v1/").split("/")
        match request.method, parts:
            case "POST", ["orders"]:
                return self._create_order(json.loads(request.content))
            case "GET", ["orders"]:
                return self._find_orders(request.url.params.get("receipt"))
            case "GET", ["orders", order_id, "payments"]:
                return self._order_payments(order_id)
            case "POST", ["payments", payment_id, "refund"]:
                return self._refund(request, payment_id)
        return httpx.Response(
            400, json=error_body("The requested URL was not found on the server.")
        )

    def _create_order(self, body: dict[str, Any]) -> httpx.Response:
        amount, currency = body.get("amount"), body.get("currency")
        if not isinstance(amount, int) or amount < 100:
            return httpx.Response(
                400, json=error_body("The amount must be at least INR 1.00", field="amount")
            )
        if not isinstance(currency, str) or len(currency) != 3:
            return httpx.Response(
                400, json=error_body("The currency field is required.", field="currency")
            )
        order = fixture("order_create_response")
        order.update(
            id=razorpay_id("order"),
            amount=amount,
            amount_due=amount,
            amount_paid=0,
            attempts=0,
            currency=currency,
            receipt=body.get("receipt"),
            notes=body.get("notes") or [],
            status="created",
            created_at=self._tick(),
        )
        self.orders[order["id"]] = order
        self.payments[order["id"]] = []
        return httpx.Response(200, json=order)

    def _find_orders(self, receipt: str | None) -> httpx.Response:
        found = [o for o in self.orders.values() if receipt is None or o["receipt"] == receipt]
        return httpx.Response(
            200, json={"entity": "collection", "count": len(found), "items": found}
        )

    def _order_payments(self, order_id: str) -> httpx.Response:
        if order_id not in self.orders:
            return httpx.Response(400, json=error_body("The id provided does not exist"))
        override = self._misreported.get(order_id, {})
        items = [{**payment, **override} for payment in self.payments[order_id]]
        return httpx.Response(
            200, json={"entity": "collection", "count": len(items), "items": items}
        )

    def _refund(self, request: httpx.Request, payment_id: str) -> httpx.Response:
        body = json.loads(request.content)
        key = request.headers.get("x-refund-idempotency")
        if key is not None and key in self._idempotent:
            previous, refund_id = self._idempotent[key]
            if previous != body:
                return httpx.Response(
                    409, json=error_body("Different request with the same idempotency key")
                )
            return httpx.Response(200, json=self.refunds[refund_id])
        try:
            payment = self._payment_by_id(payment_id)
        except KeyError:
            return httpx.Response(400, json=error_body(f"{payment_id} is not a valid id"))
        amount = body.get("amount", payment["amount"] - payment["amount_refunded"])
        if not payment["captured"] or amount > payment["amount"] - payment["amount_refunded"]:
            return httpx.Response(
                400, json=error_body("The refund amount provided is greater than amount captured.")
            )
        refund = fixture("refund_create_response")
        refund.update(
            id=razorpay_id("rfnd"),
            amount=amount,
            currency=payment["currency"],
            payment_id=payment_id,
            notes=body.get("notes") or {},
            receipt=None,
            created_at=self._tick(),
            status=self.refund_status,
            speed_requested=body.get("speed", "normal"),
            speed_processed="normal" if self.refund_status == "processed" else None,
        )
        self.refunds[refund["id"]] = refund
        if key is not None:
            self._idempotent[key] = (body, refund["id"])
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] == payment["amount"]
        payment.update(refund_status="full" if full else "partial")
        if full:
            payment["status"] = "refunded"
        return httpx.Response(200, json=refund)

    # ------------------------------------------------------------------ helpers
    def _payment(self, order: dict[str, Any], *, status: str, keep: bool = True) -> dict[str, Any]:
        source = fixture("order_payments")["items"]
        payment: dict[str, Any] = copy.deepcopy(source[0] if status == "failed" else source[1])
        payment.update(
            id=razorpay_id("pay"),
            amount=order["amount"],
            currency=order["currency"],
            status=status,
            order_id=order["id"],
            captured=status == "captured",
            method="card",
            vpa=None,
            upi=None,
            fee=(order["amount"] * 2 // 100) if status == "captured" else None,
            tax=0 if status == "captured" else None,
            created_at=self._tick(),
        )
        if keep:
            self.payments[order["id"]].append(payment)
            order["attempts"] += 1
        return payment

    def _payment_by_id(self, payment_id: str) -> dict[str, Any]:
        for payments in self.payments.values():
            for payment in payments:
                if payment["id"] == payment_id:
                    return payment
        raise KeyError(payment_id)

    def _tick(self) -> int:
        self._clock += 1
        return self._clock
