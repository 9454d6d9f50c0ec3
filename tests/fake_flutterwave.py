"""A small stateful Flutterwave v3, served through ``httpx.MockTransport``.

It answers the four endpoints payql uses, in the documented shapes of
``tests/fixtures/flutterwave/*.json``, and remembers what it was asked: hosted links by
``tx_ref``, the transactions buyers made on them, and the refunds created, so verify, refund
and list calls answer consistently. It signs webhooks the way Flutterwave does, with code of
its own (not payql's). Every request is recorded in ``requests``.
"""

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from gateways.flutterwave import FlutterwaveGateway

FIXTURES = Path(__file__).parent / "fixtures" / "flutterwave"
API_BASE = "https://api.flutterwave.com/v3"
RETURN_URL = "http://payql.test/payments/return/flutterwave"
CREATED_AT = "2026-11-02T10:00:00.000Z"


def fixture(name: str) -> dict[str, Any]:
    """A documented body (``_doc`` removed)."""
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body.pop("_doc", None)
    return body  # type: ignore[no-any-return]


def number(value: str | Decimal) -> int | float:
    """A decimal as Flutterwave writes amounts in its answers: a JSON number."""
    decimal = Decimal(str(value))
    return int(decimal) if decimal == decimal.to_integral_value() else float(decimal)


class FakeFlutterwave:
    """Flutterwave's API as payql uses it, with the buyer's side as methods."""

    secret_key = "FLWSECK_TEST-payqlfake0123456789abcdef-X"
    public_key = "FLWPUBK_TEST-payqlfake0123456789abcdef-X"
    webhook_hash = "payql-flw-webhook-hash-7c1e2d9f"

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.secrets: tuple[str, ...] = (self.secret_key, self.webhook_hash)
        self.fail_next = 0  # >0: the next N requests time out before they arrive
        self.refund_status = "completed"  # the status new refunds are created with
        self.not_found_status = 400  # HTTP status of "No transaction was found"
        self.refunds_page_size = 10
        self.links: dict[str, dict[str, Any]] = {}  # tx_ref -> the POST /payments body
        self.transactions: dict[str, dict[str, Any]] = {}  # tx_ref -> transaction
        self.refunds: list[dict[str, Any]] = []
        self._lost: list[tuple[str, str]] = []
        self._ids = {"transaction": 4106581, "refund": 75923}
        self.transport = httpx.MockTransport(self._handle)

    def gateway(self, return_url: str = RETURN_URL) -> FlutterwaveGateway:
        return FlutterwaveGateway(
            secret_key=self.secret_key,
            public_key=self.public_key,
            webhook_hash=self.webhook_hash,
            return_url=return_url,
            api_base=API_BASE,
            transport=self.transport,
        )

    # ------------------------------------------------------------------ the buyer
    def buyer_pays(
        self, reference: str, *, amount: str | None = None, currency: str | None = None
    ) -> None:
        """The buyer completes checkout: a successful transaction (``amount``/``currency``
        override what Flutterwave then reports, in major units)."""
        self._transact(reference, "successful", amount=amount, currency=currency)

    def buyer_fails(self, reference: str) -> None:
        """The buyer's payment is declined."""
        self._transact(reference, "failed", response="Insufficient funds")

    def buyer_pending(self, reference: str) -> None:
        """The buyer paid with a method that settles later (mobile money, transfer)."""
        self._transact(reference, "pending", response="Transaction is pending")

    def _transact(
        self,
        reference: str,
        status: str,
        *,
        amount: str | None = None,
        currency: str | None = None,
        response: str = "Approved by Financial Institution",
    ) -> None:
        link = self.links[reference]
        existing = self.transactions.get(reference)
        transaction = existing or self._transaction(link)
        transaction.update(status=status, processor_response=response)
        if amount is not None:
            transaction.update(amount=number(amount), charged_amount=number(amount))
        if currency is not None:
            transaction["currency"] = currency
        self.transactions[reference] = transaction

    def _transaction(self, link: dict[str, Any]) -> dict[str, Any]:
        transaction: dict[str, Any] = fixture("verify_successful")["data"]
        transaction.pop("card", None)
        transaction.update(
            id=self._next("transaction"),
            tx_ref=link["tx_ref"],
            flw_ref=f"FLW-MOCK-{link['tx_ref'][:8]}",
            amount=number(link["amount"]),
            charged_amount=number(link["amount"]),
            currency=link["currency"],
            app_fee=0,
            created_at=CREATED_AT,
            meta=link.get("meta"),
        )
        transaction["customer"]["email"] = link["customer"]["email"]
        return transaction

    def return_params(self, reference: str) -> dict[str, str]:
        """What the buyer's browser brings back to ``redirect_url``."""
        transaction = self.transactions.get(reference)
        if transaction is None:
            return {"status": "cancelled", "tx_ref": reference}
        return {
            "status": str(transaction["status"]),
            "tx_ref": reference,
            "transaction_id": str(transaction["id"]),
        }

    # ------------------------------------------------------------------ webhooks
    def sign(self, body: bytes, *, secret: str | None = None) -> dict[str, str]:
        """Both schemes: v3's ``verif-hash`` and the body-bound ``flutterwave-signature``."""
        key = (secret or self.webhook_hash).encode()
        digest = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
        return {
            "content-type": "application/json",
            "verif-hash": secret or self.webhook_hash,
            "flutterwave-signature": digest,
        }

    def signed_payment_webhook(self, reference: str) -> tuple[bytes, dict[str, str]]:
        """``charge.completed`` for the payment: its transaction when the buyer made one,
        otherwise a success Flutterwave never recorded (a forged or replayed delivery)."""
        transaction = self.transactions.get(reference)
        if transaction is None:
            transaction = self._transaction(self.links[reference])
            transaction["status"] = "successful"
        payload = fixture("webhook_charge_completed")
        payload["data"] = {k: v for k, v in transaction.items() if k != "meta"}
        body = json.dumps(payload).encode()
        return body, self.sign(body)

    def signed_refund_webhook(self, refund_id: int) -> tuple[bytes, dict[str, str]]:
        """The flat refund webhook for a refund this fake created, with its status now."""
        refund = self._refund(refund_id)
        payload = fixture("webhook_refund")
        payload.update(
            id=refund["id"],
            AmountRefunded=refund["amount_refunded"],
            status=refund["status"],
            FlwRef=refund["flw_ref"],
            comments=refund["comments"],
            TransactionId=refund["tx_id"],
        )
        body = json.dumps(payload).encode()
        return body, self.sign(body)

    def settle_refund(self, refund_id: int, status: str) -> None:
        self._refund(refund_id)["status"] = status

    def _refund(self, refund_id: int) -> dict[str, Any]:
        return next(r for r in self.refunds if r["id"] == refund_id)

    def lose_response(self, method: str, path_suffix: str) -> None:
        """The next such request is processed, but its answer never arrives (timeout)."""
        self._lost.append((method, path_suffix))

    # ------------------------------------------------------------------ the API
    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise httpx.ReadTimeout("timed out", request=request)
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            return self._error(401, "Invalid authorization key")
        response = self._route(request)
        lost = (request.method, request.url.path)
        for method, suffix in self._lost:
            if lost[0] == method and lost[1].endswith(suffix):
                self._lost.remove((method, suffix))
                raise httpx.ReadTimeout("answer lost", request=request)
        return response

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v3")
        routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {
            ("POST", "/payments"): self._create_link,
            ("GET", "/transactions/verify_by_reference"): self._verify,
            ("GET", "/refunds"): self._list_refunds,
        }
        handler = routes.get((request.method, path))
        if handler is not None:
            return handler(request)
        parts = path.strip("/").split("/")
        if (
            request.method == "POST"
            and len(parts) == 3
            and parts[::2] == ["transactions", "refund"]
        ):
            return self._create_refund(request, parts[1])
        return self._error(404, "Route not found")

    def _create_link(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if not body.get("tx_ref") or not (body.get("customer") or {}).get("email"):
            return self._error(400, "tx_ref and customer.email are required")
        self.links[body["tx_ref"]] = body
        answer = fixture("payment_link_response")
        answer["data"]["link"] = (
            f"https://checkout.flutterwave.com/v3/hosted/pay/flwlnk-{body['tx_ref']}"
        )
        return httpx.Response(200, json=answer)

    def _verify(self, request: httpx.Request) -> httpx.Response:
        transaction = self.transactions.get(request.url.params.get("tx_ref", ""))
        if transaction is None:
            body = fixture("verify_not_found")
            return httpx.Response(self.not_found_status, json=body)
        answer = fixture("verify_successful")
        answer["data"] = copy.deepcopy(transaction)
        return httpx.Response(200, json=answer)

    def _create_refund(self, request: httpx.Request, transaction_id: str) -> httpx.Response:
        transaction = next(
            (t for t in self.transactions.values() if str(t["id"]) == transaction_id), None
        )
        if transaction is None or transaction["status"] != "successful":
            return self._error(400, "Transaction not found or not refundable")
        body = json.loads(request.content)
        amount = Decimal(str(body.get("amount", transaction["amount"])))
        refunded = sum(
            (
                Decimal(str(r["amount_refunded"]))
                for r in self.refunds
                if r["tx_id"] == transaction["id"]
            ),
            Decimal(0),
        )
        if amount <= 0 or refunded + amount > Decimal(str(transaction["amount"])):
            return self._error(400, "Refund amount is more than what is left to refund")
        refund = fixture("refunds_list")["data"][0]
        refund.update(
            id=self._next("refund"),
            amount_refunded=number(amount),
            status=self.refund_status,
            flw_ref=f"URF_{self._ids['refund']}",
            comments=body.get("comments"),
            created_at=CREATED_AT,
            updated_at=CREATED_AT,
            tx_id=transaction["id"],
        )
        self.refunds.append(refund)
        answer = fixture("refund_response")
        answer["data"].update(
            id=refund["id"],
            tx_id=refund["tx_id"],
            flw_ref=refund["flw_ref"],
            amount_refunded=refund["amount_refunded"],
            status=refund["status"],
            created_at=CREATED_AT,
        )
        return httpx.Response(200, json=answer)

    def _list_refunds(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.url.query.decode()))
        since = params.get("from", "")
        matching = [r for r in self.refunds if r["created_at"][:10] >= since]
        size = self.refunds_page_size
        page = int(params.get("page", "1"))
        pages = max(1, -(-len(matching) // size))
        answer = fixture("refunds_list")
        answer["meta"]["page_info"] = {
            "total": len(matching),
            "current_page": page,
            "total_pages": pages,
        }
        answer["data"] = copy.deepcopy(matching[(page - 1) * size : page * size])
        return httpx.Response(200, json=answer)

    def _error(self, status: int, message: str) -> httpx.Response:
        return httpx.Response(status, json={"status": "error", "message": message, "data": None})

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # ------------------------------------------------------------------ inspection
    def calls(self, method: str, path_suffix: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.endswith(path_suffix)]
