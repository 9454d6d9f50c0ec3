"""A small, stateful Paystack for tests: ``httpx.MockTransport`` answering the documented
shapes (``tests/fixtures/paystack``), remembering the transactions and refunds it made.

Drive it like the buyer and Paystack would: ``buyer_pays`` / ``buyer_fails`` decide a
checkout, ``settle_refund`` moves a queued refund, ``signed_*_webhook`` build deliveries
signed as Paystack signs them, ``return_params`` is what the buyer's browser brings back.
Faults: ``fail_next`` requests raise ``httpx.ReadTimeout`` before anything happens;
``lose_answer(method, path)`` carries the next such request out and then raises it (the
request landed, its answer was lost).
"""

import copy
import hashlib
import hmac
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from gateways.paystack import PaystackGateway

FIXTURES = Path(__file__).parent / "fixtures" / "paystack"
API_BASE = "https://api.paystack.test"
SUPPORTED = {"NGN", "GHS", "ZAR", "KES", "USD", "XOF", "EGP"}


def fixture(name: str) -> dict[str, Any]:
    """A documented body, without its ``_doc`` key."""
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    body.pop("_doc", None)
    return body


class FakePaystack:
    """Paystack's transaction, refund and webhook behaviour, in memory."""

    def __init__(
        self,
        *,
        secret_key: str = "sk_test_fake_" + "s" * 28,
        public_key: str = "pk_test_fake_" + "p" * 28,
    ) -> None:
        self.secret_key = secret_key
        self.public_key = public_key
        self.secrets: tuple[str, ...] = (secret_key,)
        self.requests: list[httpx.Request] = []
        self.fail_next = 0
        self.losses: dict[tuple[str, str], int] = {}
        self.transactions: dict[str, dict[str, Any]] = {}  # by reference
        self.refunds: list[dict[str, Any]] = []
        self.reported: dict[str, dict[str, Any]] = {}  # what Verify says instead (tests)
        self._ids = itertools.count(4_099_260_516)
        self.transport = httpx.MockTransport(self._handle)

    # ------------------------------------------------------------------ the contract
    def gateway(
        self, return_url: str = "http://payql.test/payments/return/paystack"
    ) -> PaystackGateway:
        return PaystackGateway(
            secret_key=self.secret_key,
            public_key=self.public_key,
            return_url=return_url,
            api_base=API_BASE,
            transport=self.transport,
        )

    def buyer_pays(self, reference: str) -> None:
        self._decide(reference, "success", "Successful")

    def buyer_fails(self, reference: str) -> None:
        self._decide(reference, "failed", "Declined")

    def signed_payment_webhook(self, reference: str) -> tuple[bytes, dict[str, str]]:
        """``charge.success`` for the transaction as it stands (documented shape)."""
        payload = fixture("webhook_charge_success")
        payload["data"].update(self._public(self.transactions[reference]))
        payload["data"]["status"] = "success"
        return self.sign(payload)

    def return_params(self, reference: str) -> dict[str, str]:
        return {"trxref": reference, "reference": reference}

    # ------------------------------------------------------------------ more driving
    def set_status(self, reference: str, status: str) -> None:
        """Any Paystack status (``ongoing``, ``pending``, ``reversed``, …)."""
        self._decide(reference, status, status.title())

    def report(self, reference: str, **fields: Any) -> None:
        """Make Verify report other ``amount`` / ``currency`` / ``status`` for a reference
        (a transaction that does not confirm what a webhook claims)."""
        self.reported[reference] = fields

    def lose_answer(self, method: str, path: str, times: int = 1) -> None:
        """The next ``times`` requests to ``method path`` happen, then time out."""
        self.losses[(method, path)] = times

    def settle_refund(self, refund_id: int, status: str) -> dict[str, Any]:
        refund = self._refund(refund_id)
        refund["status"] = status
        return refund

    def refund_webhook(self, refund_id: int, event: str) -> tuple[bytes, dict[str, str]]:
        """``refund.pending|processed|failed`` for one of the fake's refunds."""
        refund = self._refund(refund_id)
        name = {"refund.processing": "refund.pending"}.get(event, event).replace(".", "_")
        payload = fixture(f"webhook_{name}")
        payload["event"] = event
        payload["data"].update(
            status=event.split(".", 1)[1],
            transaction_reference=refund["transaction"]["reference"],
            amount=str(refund["amount"]),
            currency=refund["currency"],
            refund_reference=None if event == "refund.pending" else f"RRN{refund['id']}",
        )
        return self.sign(payload)

    def sign(
        self, payload: dict[str, Any], *, key: str | None = None
    ) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        digest = hmac.new((key or self.secret_key).encode(), body, hashlib.sha512).hexdigest()
        return body, {"x-paystack-signature": digest, "content-type": "application/json"}

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    # ------------------------------------------------------------------ the API
    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise httpx.ReadTimeout("fake Paystack timed out", request=request)
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            return httpx.Response(401, json={"status": False, "message": "Invalid key"})
        response = self._route(request)
        key = (request.method, request.url.path)
        if self.losses.get(key, 0) > 0:
            self.losses[key] -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/transaction/initialize":
            return self._initialize(json.loads(request.content))
        if request.method == "GET" and path.startswith("/transaction/verify/"):
            return self._verify(unquote(path.removeprefix("/transaction/verify/")))
        if request.method == "POST" and path == "/refund":
            return self._create_refund(json.loads(request.content))
        if request.method == "GET" and path == "/refund":
            return self._list_refunds(dict(request.url.params))
        return httpx.Response(404, json={"status": False, "message": "Not found"})

    def _initialize(self, body: dict[str, Any]) -> httpx.Response:
        reference = str(body.get("reference") or "")
        if reference in self.transactions:
            return httpx.Response(400, json=fixture("initialize_duplicate_reference"))
        amount = body.get("amount")
        if not isinstance(amount, int) or amount <= 0 or "@" not in str(body.get("email")):
            return httpx.Response(400, json={"status": False, "message": "Invalid parameters"})
        if body.get("currency") not in SUPPORTED:
            return httpx.Response(
                400, json={"status": False, "message": "Currency not supported by merchant"}
            )
        access_code = hashlib.sha256(reference.encode()).hexdigest()[:10]
        self.transactions[reference] = {
            "id": next(self._ids),
            "reference": reference,
            "amount": amount,
            "currency": body["currency"],
            "status": "abandoned",
            "gateway_response": "The transaction was not completed",
            "metadata": body.get("metadata") or "",
            "email": body["email"],
            "access_code": access_code,
            "callback_url": body.get("callback_url"),
        }
        answer = fixture("initialize_response")
        answer["data"] = {
            "authorization_url": f"https://checkout.paystack.com/{access_code}",
            "access_code": access_code,
            "reference": reference,
        }
        return httpx.Response(200, json=answer)

    def _verify(self, reference: str) -> httpx.Response:
        transaction = self.transactions.get(reference)
        if transaction is None:
            return httpx.Response(400, json=fixture("verify_not_found"))
        answer = fixture("verify_response")
        answer["data"].update(self._public(transaction))
        answer["data"].update(self.reported.get(reference, {}))
        return httpx.Response(200, json=answer)

    def _create_refund(self, body: dict[str, Any]) -> httpx.Response:
        key = str(body.get("transaction") or "")
        transaction = self.transactions.get(key) or next(
            (t for t in self.transactions.values() if str(t["id"]) == key), None
        )
        if transaction is None or transaction["status"] != "success":
            return _refused("Transaction not found or not refundable")
        refunded = sum(
            r["amount"] for r in self._refunds_of(transaction) if r["status"] != "failed"
        )
        amount = int(body.get("amount") or transaction["amount"] - refunded)
        if amount <= 0 or amount + refunded > transaction["amount"]:
            return _refused("Refund amount cannot be more than the transaction amount")
        answer = fixture("refund_create_response")
        refund = answer["data"]
        refund.update(
            id=next(self._ids),
            amount=amount,
            currency=transaction["currency"],
            status="pending",
            merchant_note=str(body.get("merchant_note") or ""),
            customer_note=str(body.get("customer_note") or ""),
        )
        refund["transaction"].update(
            id=transaction["id"],
            reference=transaction["reference"],
            amount=transaction["amount"],
            currency=transaction["currency"],
        )
        self.refunds.append(refund)
        return httpx.Response(200, json=copy.deepcopy(answer))

    def _list_refunds(self, params: dict[str, str]) -> httpx.Response:
        items = [
            self._listed(r)
            for r in self.refunds
            if ("transaction" not in params or str(r["transaction"]["id"]) == params["transaction"])
            and ("currency" not in params or r["currency"] == params["currency"])
        ]
        answer = fixture("refund_list_response")
        answer["data"] = list(reversed(items))  # newest first
        return httpx.Response(200, json=answer)

    # ------------------------------------------------------------------ helpers
    def _decide(self, reference: str, status: str, gateway_response: str) -> None:
        transaction = self.transactions[reference]
        transaction.update(status=status, gateway_response=gateway_response)

    def _public(self, transaction: dict[str, Any]) -> dict[str, Any]:
        return {
            key: transaction[key]
            for key in (
                "id",
                "reference",
                "amount",
                "currency",
                "status",
                "gateway_response",
                "metadata",
            )
        } | {"fees": transaction["amount"] // 100 if transaction["status"] == "success" else None}

    def _refunds_of(self, transaction: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for r in self.refunds if r["transaction"]["id"] == transaction["id"]]

    def _refund(self, refund_id: int) -> dict[str, Any]:
        return next(r for r in self.refunds if r["id"] == refund_id)

    def _listed(self, refund: dict[str, Any]) -> dict[str, Any]:
        """List Refunds' shape: ``transaction`` is the numeric id."""
        item: dict[str, Any] = fixture("refund_list_response")["data"][0]
        item.update(
            id=refund["id"],
            transaction=refund["transaction"]["id"],
            amount=refund["amount"],
            currency=refund["currency"],
            status=refund["status"],
            merchant_note=refund["merchant_note"],
            customer_note=refund["customer_note"],
        )
        return item


def _refused(message: str) -> httpx.Response:
    return httpx.Response(400, json={"status": False, "message": message})
