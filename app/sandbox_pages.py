"""The sandbox's hosted pages: checkout (Pay / Decline) and 3-D Secure (Approve / Fail).

Plain HTML, no JavaScript. A click makes the sandbox send its signed webhook, exactly as a
real gateway would after its own hosted page, then sends the buyer back to the return URL.
"""

from html import escape
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateways.sandbox import SandboxGateway, Ticket
from models.money import formatted

# No script, no frames: a page that takes a buyer's decision must not be framed by another
# site (clickjacking), and needs nothing but its own inline style.
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",  # the URL carries the payment's ticket
    "Cache-Control": "no-store",
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · payql sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:system-ui,sans-serif;background:#f4f4f8;display:grid;place-items:center;
min-height:100vh;margin:0}} main{{background:#fff;padding:2rem 2.5rem;border-radius:12px;
box-shadow:0 2px 12px #0002;max-width:26rem}} h1{{font-size:1.2rem}} .amount{{font-size:2rem;
margin:.5rem 0 1.5rem}} button{{font-size:1rem;padding:.6rem 1.4rem;margin-right:.6rem;
border-radius:8px;border:1px solid #888;cursor:pointer}} .primary{{background:#4b3fd1;
color:#fff;border-color:#4b3fd1}} small{{color:#666}}
</style></head>
<body><main>{body}</main></body></html>"""


def _sandbox(request: Request) -> SandboxGateway | None:
    gateway = request.app.state.gateways.get("SANDBOX")
    return gateway if isinstance(gateway, SandboxGateway) else None


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        PAGE.format(title=escape(title), body=body), status_code=status, headers=HEADERS
    )


async def sandbox_page(request: Request) -> Response:
    """GET shows the page; POST records the buyer's choice."""
    sandbox = _sandbox(request)
    ticket = sandbox.open(request.path_params["ticket"]) if sandbox else None
    kind = request.path_params["kind"]
    if sandbox is None or ticket is None or ticket.kind != kind:
        return _page("Unknown payment", "<h1>This payment link is not valid.</h1>", 404)
    if request.method == "POST":
        # A plain urlencoded form; parsed with the stdlib (no multipart support needed).
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        approve = form.get("action", [""])[0] in ("pay", "approve")
        await sandbox.complete(ticket, approve=approve)
        return _after(ticket, approve)
    return _page("Checkout" if kind == "checkout" else "3-D Secure", _form(ticket))


def _form(ticket: Ticket) -> str:
    amount = escape(formatted(ticket.amount, ticket.currency))
    order = escape(ticket.order_number)
    if ticket.kind == "checkout":
        heading, yes, no = f"Pay for order {order}", ("pay", "Pay"), ("decline", "Decline")
        note = "payql sandbox checkout: no real money moves."
    else:
        heading, yes, no = "Confirm it's you", ("approve", "Approve"), ("fail", "Fail")
        note = f"Simulated 3-D Secure check for order {order}."
    return (
        f"<h1>{heading}</h1><div class='amount'>{amount}</div>"
        "<form method='post'>"
        f"<button class='primary' name='action' value='{yes[0]}'>{yes[1]}</button>"
        f"<button name='action' value='{no[0]}'>{no[1]}</button></form>"
        f"<p><small>{note}</small></p>"
    )


def _after(ticket: Ticket, approve: bool) -> Response:
    if ticket.return_url:
        separator = "&" if "?" in ticket.return_url else "?"
        query = urlencode({"payment_id": ticket.payment_id, "outcome": "ok" if approve else "no"})
        return RedirectResponse(
            f"{ticket.return_url}{separator}{query}", status_code=303, headers=HEADERS
        )
    word = "submitted" if approve else "declined"
    return _page(
        "Done",
        f"<h1>Payment {word}.</h1><p>You can close this page; the app shows the result.</p>",
    )
