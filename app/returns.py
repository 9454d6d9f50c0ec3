"""``GET|POST /payments/return/{gateway}``: where redirect gateways send the buyer back.

payql verifies the payment with the gateway's API, applies it, then redirects (303) to the
order's ``successUrl`` — or ``failureUrl`` when the payment failed or was cancelled — with
``order``, ``payment`` and ``status`` added to the query. An order without those URLs gets a
small page saying where the payment stands. A bad checkout signature is 400; a payment payql
does not have is 404; nothing is applied in either case.
"""

from datetime import UTC, datetime
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from gateways.base import GatewayNotSupported, InvalidWebhook
from gateways.registry import GatewayRegistry
from models.enums import OrderStatus, PaymentStatus
from models.order import Order
from models.payment import Payment
from resolvers.returns import ReturnNotFound, complete_return

MAX_FORM_BYTES = 16_384
# Pages where a buyer pays must not be framed by another site (clickjacking). The checkout
# page loads its gateway's script, so its policy restricts framing only.
NO_FRAMING = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
STATUS_PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
}


async def payment_return(request: Request) -> Response:
    registry: GatewayRegistry = request.app.state.gateways
    gateway = registry.get(request.path_params["gateway"])
    if gateway is None:
        return JSONResponse({"error": "unknown or disabled gateway"}, status_code=404)
    params = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return JSONResponse({"error": "form too large"}, status_code=413)
        params.update(parse_qsl(body.decode("utf-8", errors="replace")))
    try:
        outcome = await complete_return(gateway=gateway, params=params, now=datetime.now(UTC))
    except (InvalidWebhook, GatewayNotSupported) as exc:
        code = exc.code if isinstance(exc, InvalidWebhook) else "not_supported"
        return JSONResponse({"error": "invalid return", "code": code}, status_code=400)
    except ReturnNotFound:
        return JSONResponse({"error": "payment not found"}, status_code=404)
    payment, order = outcome.payment, outcome.order
    failed = payment.status in (PaymentStatus.FAILED, PaymentStatus.CANCELLED)
    target = order.failure_url if failed else order.success_url
    extra = {"order": order.number, "payment": str(payment.id), "status": payment.status.value}
    if target:
        return RedirectResponse(_with_query(target, extra), status_code=303)
    return HTMLResponse(
        f"<!doctype html><title>Payment {escape(payment.status.value)}</title>"
        f"<p>Order {escape(order.number)}: payment {escape(payment.status.value)}.</p>",
        status_code=200,
        headers=STATUS_PAGE_HEADERS,
    )


async def checkout_page(request: Request) -> Response:
    """``GET /payments/checkout/{gateway}/{reference}``: a page payql hosts for gateways whose
    checkout is a script rather than a URL (Razorpay Checkout). It shows only what the
    gateway's public checkout needs; the payment must exist and still be awaiting the buyer."""
    registry: GatewayRegistry = request.app.state.gateways
    gateway = registry.get(request.path_params["gateway"])
    render = getattr(gateway, "checkout_page", None)
    if gateway is None or render is None:
        return JSONResponse({"error": "no hosted checkout for this gateway"}, status_code=404)
    payment = await Payment.get_or_none(
        gateway=gateway.name, reference=request.path_params["reference"]
    )
    if payment is None or payment.status not in (
        PaymentStatus.PENDING,
        PaymentStatus.REQUIRES_ACTION,
    ):
        return JSONResponse({"error": "no payment awaiting checkout"}, status_code=404)
    order = await Order.get(id=payment.order_id)
    if order.status is not OrderStatus.PENDING:  # expired or cancelled meanwhile
        return JSONResponse({"error": "the order is no longer payable"}, status_code=404)
    html = render(
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        description=f"Order {order.number}",
    )
    return HTMLResponse(str(html), headers=NO_FRAMING)


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(extra.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
